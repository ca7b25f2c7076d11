# auditflow - the README's two commands, and a few for developers.
#   make demo   install missing packages (as root), build, run the demo
#   make test   install missing packages (as root), build, run every test
# The real build is CMake; this file only drives it.

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Tests run one more at a time than there are cores: the Kafka tests spend
# most of their time waiting on the broker's timers (a group's first join
# takes 3 s), so a third test fills the gaps (CI: 19.8 min at -j 2).
TEST_JOBS ?= $(shell echo $$(( $(JOBS) + 1 )))
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all deps build demo test test-plain test-asan test-tsan fuzz bench format clean install

all: build

deps:
	@./scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	./scripts/demo $(BUILD)/auditflow

test: deps test-plain test-asan test-tsan fuzz

test-plain:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAF_TESTS=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS)

test-asan:
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAF_SANITIZE=ON -DAF_TESTS=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(TEST_JOBS)

# The enrich stage's readers and reloads under ThreadSanitizer. Criterion
# cannot run under TSan (its shared arena is mapped at random addresses
# inside TSan's reserved ranges, and past that its runner crashes;
# Snaipe/Criterion#274), so only test files with a main of their own for
# TSan run here: tests/pipeline/enrich/test_geo.c runs its swap scenarios,
# and tests/pipeline/runtime/tsan_ring_main.c (linked with the TSan-built
# afcore, with the flags AF_TSAN gives it) runs the ring's and the pool's
# threaded scenarios. Two scripts run the TSan-built auditflow itself:
# tests/e2e/reload-under-tsan.sh replaces a geo database during a replay,
# and tests/e2e/runtime-under-tsan.sh replays a generated scenario (with
# gen-mmdb's databases) through the multi-threaded runtime with -j 1, 3 and
# 4 and three batch sizes, every sink writing, checks that the alerts are
# the same, then stops a paced replay with SIGINT.
# TSan fails the test (exit 66) on any report; no suppressions are needed.
test-tsan:
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DAF_TSAN=ON -DAF_TESTS=ON >/dev/null
	@cmake --build build-tsan -j $(JOBS) --target pipeline_enrich_test_geo auditflow
	cd build-tsan && ctest --output-on-failure -R 'enrich_test_geo$$'
	$(CC) -std=c11 -D_GNU_SOURCE -g -Wall -Wextra -Werror -fsanitize=thread -fno-omit-frame-pointer \
		-I. tests/pipeline/runtime/tsan_ring_main.c tests/pipeline/runtime/ring_scenarios.c \
		build-tsan/libafcore.a -pthread \
		-o build-tsan/tsan_ring_main
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" ./build-tsan/tsan_ring_main
	./tests/e2e/reload-under-tsan.sh build-tsan/auditflow
	./tests/e2e/runtime-under-tsan.sh build-tsan/auditflow

# Each libFuzzer target of tests/fuzz for FUZZ_SECONDS (CI: 60) on a copy of
# its seed corpus, with its dictionary when it has one (tests/fuzz/NAME.dict),
# JOBS at a time (CI: 3 minutes for the five); fails when any finds
# something (scripts/fuzz-run says where the input is kept). Built in
# FUZZ_BUILD; skipped without clang.
#   fuzz_parse   the parse stage (a record)        tests/fuzz/corpus
#   fuzz_file    the file reader (a file)          tests/fuzz/corpus_file
#   fuzz_csv     the CSV splitter (CSV text)       tests/fuzz/corpus_csv
#   fuzz_config  the configuration loader (YAML)   tests/fuzz/corpus_config
#   fuzz_snapshot  a checkpoint's file and states  tests/fuzz/corpus_snapshot
FUZZ_BUILD ?= build-fuzz
ifeq ($(CI),true)
FUZZ_SECONDS ?= 60
else
FUZZ_SECONDS ?= 30
endif
FUZZ_RUNS = fuzz_parse:corpus fuzz_file:corpus_file fuzz_csv:corpus_csv fuzz_config:corpus_config \
	fuzz_snapshot:corpus_snapshot

fuzz:
	@if command -v clang >/dev/null 2>&1 && command -v clang++ >/dev/null 2>&1; then \
		CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug \
			-DAF_FUZZ=ON -DAF_TESTS=OFF >/dev/null && \
		cmake --build $(FUZZ_BUILD) -j $(JOBS) \
			--target $(foreach r,$(FUZZ_RUNS),$(firstword $(subst :, ,$(r)))) && \
		printf '%s\n' $(FUZZ_RUNS) | xargs -P $(JOBS) -I RUN sh -c \
			'run=RUN; t=$${run%%:*}; dict=tests/fuzz/$$t.dict; \
			[ -f $$dict ] && opt=-dict=$$dict || opt=; \
			exec ./scripts/fuzz-run $(FUZZ_BUILD)/tests/fuzz/$$t tests/fuzz/$${run#*:} \
				$(FUZZ_SECONDS) $$opt' || exit 1; \
	else echo "fuzz: clang not found, skipped"; fi

bench: build
	./bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cpp')

install: build
	cmake --install $(BUILD) --prefix $${PREFIX:-/usr/local}

clean:
	rm -rf build build-asan build-tsan build-fuzz
