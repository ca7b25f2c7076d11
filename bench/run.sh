#!/usr/bin/env bash
# bench/run.sh - run the benchmarks, write bench/results.md and its plots.
#
# Usage: bench/run.sh BUILD_DIR        (`make bench` builds, then calls this)
# Environment:
#   RUNS=5          runs of each benchmark; results.md shows the median run
#   PARSE_ARGS=...  extra arguments for bench_parse (e.g. "--events 50000")
#   GEO_ARGS=...    extra arguments for bench_geo (e.g. "--lookups 200000")
#   GEO_CITY=MMDB GEO_ASN=MMDB
#                   run the geo benchmark (and the peers) on these files
#                   (GeoLite2's, say) instead of the generated pair
#   GEO_DB_ARGS=... arguments for make-bench-mmdb.pl ("--networks 200000");
#                   it writes into bench/out/ once and reuses the files
#   DETECT_ARGS=... extra arguments for bench_detect (e.g. "--mem-accounts 200000")
#   PIPELINE_ARGS=... extra arguments for auditflow bench (e.g.
#                   "--accounts 500 --days 3", "-j 4"; default: its defaults)
#   PEER_RUNS=N     runs of each tool in the peers stage (default: RUNS);
#                   PEER_EVENTS, PEERS, PEERS_DIR, PEER_TIMEOUT go to
#                   bench/peers/run.sh as they are (see its header)
#   KAFKA_RUNS=N    runs of each consumer in the kafka stage (default: RUNS)
#   STAGES="parse geo detect pipeline peers kafka"  the stages to run, in
#                   order (default: all; peers and kafka take a minute or two)
#   RESULTS=FILE    where to write (default: bench/results.md); the plots
#                   (throughput.png, stages.png, peers.png) go beside it
#   PLOTS=0         draw no plots (default 1: with gnuplot, installed with
#                   apt-get when missing and run as root, else skipped)
#
# Each run of bench_parse already reports the median of its timed passes;
# this script runs it RUNS times, one after another on an otherwise idle
# machine, and takes the median of each figure across runs, so one noisy
# run (a neighbour, a frequency change) does not move the result. The
# pipeline and peers stages take their medians themselves (--runs, RUNS)
# and are run once. It asserts nothing about speed: it records it, with
# the machine it ran on.
#
# Exit status: 0, 1 when a benchmark fails (for the peers stage, after
# results.md is written, with the failure in its section), 2 on a usage or
# set-up problem. Plots never fail the run: without gnuplot they are left
# out and results.md says why.
#
# Adding a stage: write run_<stage> (JSON lines into "$tmp/<stage>.N") and
# section_<stage> (its Markdown), and list the stage in STAGES; a plot
# takes a table in "$tmp/plot/", a block in bench/plot.gp and a link in
# the section.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${1:-}"
if [ -z "$build" ] || [ ! -d "$build" ]; then
	echo "usage: bench/run.sh BUILD_DIR (a configured and built CMake tree)" >&2
	exit 2
fi
build="$(cd "$build" && pwd)"
runs="${RUNS:-5}"
results="${RESULTS:-$here/results.md}"
STAGES="${STAGES:-parse geo detect pipeline peers kafka}"
plots="${PLOTS:-1}"
if ! results_dir="$(cd "$(dirname "$results")" 2>/dev/null && pwd)"; then
	echo "run.sh: the directory of $results does not exist" >&2
	exit 2
fi
case "$runs" in
'' | *[!0-9]* | 0)
	echo "run.sh: RUNS is a positive integer" >&2
	exit 2
	;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- reading the benchmarks' one-line JSON ---

# json_obj FILE NAME: the text inside the object "NAME":{...} (flat objects
# only, which is what the benchmarks write).
json_obj() {
	sed -E -n "s/.*\"$2\":\\{([^}]*)\\}.*/\\1/p" "$1"
}

# json_top FILE: the object's own keys, every nested object emptied out
# (so "threads":2 is not taken from inside "threads_2":{...}).
json_top() {
	sed -E 's/^[[:space:]]*\{//; s/\}[[:space:]]*$//; :a; s/\{[^{}]*\}//g; ta' "$1"
}

# json_val TEXT KEY: the value of "KEY": in TEXT, quotes removed.
json_val() {
	printf '%s\n' "$1" | sed -E -n "s/.*\"$2\":\"?([^\",}]*)\"?.*/\\1/p"
}

median() {
	sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) exit 1;
		      if (NR % 2) print v[(NR + 1) / 2];
		      else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# median_of STAGE OBJECT KEY: the median across runs of one figure (OBJECT
# "" for a top-level key).
median_of() {
	for f in "$tmp/$1".*; do
		if [ -n "$2" ]; then
			json_val "$(json_obj "$f" "$2")" "$3"
		else
			json_val "$(cat "$f")" "$3"
		fi
	done | median
}

# --- stages ---

run_parse() {
	local bin="$build/bench/bench_parse"
	if [ ! -x "$bin" ]; then
		echo "run.sh: $bin is missing; build the tree first (make build)" >&2
		exit 2
	fi
	for i in $(seq 1 "$runs"); do
		echo "run.sh: parse benchmark, run $i of $runs" >&2
		# shellcheck disable=SC2086 # PARSE_ARGS is a list of words
		"$bin" --json --breakdown ${PARSE_ARGS:-} >"$tmp/parse.$i"
	done
}

section_parse() {
	local first="$tmp/parse.1" top kernel ratio
	top="$(cat "$first")"
	kernel="$(json_obj "$first" kernel)"
	ratio="$(median_of parse "" ratio)"
	cat <<EOF
## Parse stage, single thread

Our parse stage (\`af_parse_record\`: JSON extraction, schema mapping, time and
address parsing, lower-casing, hashing) against a bare simdjson On-Demand loop
that reads the same fields from the same bytes (\`bench/parse_bare.cpp\`).

- corpus: $(json_val "$top" events) records, $(json_val "$top" avg_record_bytes) B average, $(json_val "$top" accounts) accounts, seed $(json_val "$top" seed)
- simdjson stage 1 kernel (chosen at run time): ours $(json_val "$kernel" ours), bare $(json_val "$kernel" bare)
- method: median of $runs runs; each run's figure is the median of its $(json_val "$top" passes) timed passes, after a warm-up pass that checks every record parses and both sides read the same values

| side | events/s | ns/event | MB/s |
| --- | ---: | ---: | ---: |
| ours (\`af_parse_record\`) | $(printf '%.0f' "$(median_of parse ours events_per_s)") | $(printf '%.1f' "$(median_of parse ours ns_per_event)") | $(printf '%.1f' "$(median_of parse ours mb_per_s)") |
| bare simdjson loop | $(printf '%.0f' "$(median_of parse bare events_per_s)") | $(printf '%.1f' "$(median_of parse bare ns_per_event)") | $(printf '%.1f' "$(median_of parse bare mb_per_s)") |
| ours: extraction only | $(printf '%.0f' "$(median_of parse ours_extract events_per_s)") | $(printf '%.1f' "$(median_of parse ours_extract ns_per_event)") | $(printf '%.1f' "$(median_of parse ours_extract mb_per_s)") |
| **ours / bare** | **$(awk -v r="$ratio" 'BEGIN { printf "%.1f %%", 100 * r }')** | | |

The ratio is the median of the runs' own ratios; the goal is 70 % or more.
"Extraction only" is the first half of our stage (the shim's one-pass walk
with the record spec, no mapper), to show where our time goes.

Runs, ours / bare events/s (ratio):

EOF
	for f in "$tmp"/parse.*; do
		printf -- '- %.0f / %.0f (%.1f %%)\n' \
			"$(json_val "$(json_obj "$f" ours)" events_per_s)" \
			"$(json_val "$(json_obj "$f" bare)" events_per_s)" \
			"$(awk -v r="$(json_val "$(cat "$f")" ratio)" 'BEGIN { print 100 * r }')"
	done
}

# The geo databases: GEO_CITY/GEO_ASN if given, else the generated pair
# (make-bench-mmdb.pl reuses bench/out/ while it is up to date). Without
# perl's MaxMind::DB::Writer the stage is skipped and results.md says why.
geo_skip=""
geo_dbs() {
	if [ -n "${GEO_CITY:-}" ] || [ -n "${GEO_ASN:-}" ]; then
		if [ -z "${GEO_CITY:-}" ] || [ -z "${GEO_ASN:-}" ]; then
			echo "run.sh: set both GEO_CITY and GEO_ASN" >&2
			exit 2
		fi
		geo_city="$GEO_CITY"
		geo_asn="$GEO_ASN"
		return 0
	fi
	if ! perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null; then
		geo_skip="perl's MaxMind::DB::Writer::Tree is missing (Debian: libmaxmind-db-writer-perl) and GEO_CITY/GEO_ASN were not given"
		return 1
	fi
	local list
	echo "run.sh: geo databases (generated once into bench/out/)" >&2
	# shellcheck disable=SC2086 # GEO_DB_ARGS is a list of words
	list="$(perl "$here/make-bench-mmdb.pl" --out "$here/out" ${GEO_DB_ARGS:-})"
	geo_city="$(printf '%s\n' "$list" | sed -n 1p)"
	geo_asn="$(printf '%s\n' "$list" | sed -n 2p)"
}

run_geo() {
	local bin="$build/bench/bench_geo"
	if [ ! -x "$bin" ]; then
		echo "run.sh: $bin is missing; build the tree first (make build)" >&2
		exit 2
	fi
	if ! geo_dbs; then
		echo "run.sh: geo benchmark skipped: $geo_skip" >&2
		return 0
	fi
	for i in $(seq 1 "$runs"); do
		echo "run.sh: geo benchmark, run $i of $runs" >&2
		# shellcheck disable=SC2086 # GEO_ARGS is a list of words
		"$bin" --json --geo-city "$geo_city" --geo-asn "$geo_asn" ${GEO_ARGS:-} >"$tmp/geo.$i"
	done
}

# pct FRACTION: "12.3 %"
pct() {
	awk -v r="$1" 'BEGIN { printf "%.1f %%", 100 * r }'
}

# db_line JSON_OBJECT: "`file` (type, N nodes, X MB)"
db_line() {
	printf '`%s` (%s, %s nodes, %s MB)' "$(basename "$(json_val "$1" path)")" \
		"$(json_val "$1" type)" "$(json_val "$1" nodes)" \
		"$(awk -v b="$(json_val "$1" bytes)" 'BEGIN { printf "%.1f", b / 1e6 }')"
}

section_geo() {
	if [ -n "$geo_skip" ]; then
		printf '## Geo enrichment, single thread\n\nNot run: %s.\n' "$geo_skip"
		return 0
	fi
	local first="$tmp/geo.1" top mix ratio goal verdict
	top="$(cat "$first")"
	mix="$(json_obj "$first" mix)"
	ratio="$(median_of geo "" ratio)"
	goal="$(json_val "$top" goal)"
	verdict="$(awk -v r="$ratio" -v g="$goal" 'BEGIN { print (r <= g) ? "met" : "**not met**" }')"
	cat <<EOF

## Geo enrichment, single thread

City+ASN look-ups for a Zipf-distributed address mix, three ways, and the
enrich stage on the parse benchmark's corpus (\`bench/bench_geo.c\`).

- databases: City $(db_line "$(json_obj "$first" city_db)"), ASN $(db_line "$(json_obj "$first" asn_db)")
- mix: $(json_val "$top" lookups) look-ups over $(json_val "$top" addresses) addresses, Zipf s = $(json_val "$top" zipf), seed $(json_val "$top" seed); by look-ups $(pct "$(json_val "$mix" v6_share)") IPv6, $(pct "$(json_val "$mix" not_found_share)") with no answer from either database
- caches: $(json_val "$top" cache_entries) entries per reader cache; batches of $(json_val "$top" batch) events, one epoch section each
- corpus: $(json_val "$top" events) parsed records, $(json_val "$top" accounts) accounts
- method: median of $runs runs; each run's figure is the median of its $(json_val "$top" passes) timed passes, after a warm-up pass; every cached answer is checked against the uncached one before and after the timed passes

| City+ASN per address | look-ups/s | ns/look-up |
| --- | ---: | ---: |
| bare: \`MMDB_lookup_sockaddr\` x 2 (tree walks only) | $(printf '%.0f' "$(median_of geo bare lookups_per_s)") | $(printf '%.1f' "$(median_of geo bare ns_per_lookup)") |
| full: \`af_geo_db_lookup\` + \`af_geo_db_decode\` x 2, no cache | $(printf '%.0f' "$(median_of geo full lookups_per_s)") | $(printf '%.1f' "$(median_of geo full ns_per_lookup)") |
| cached: \`af_geo_enrich\` (hub, reader, caches) | $(printf '%.0f' "$(median_of geo cached lookups_per_s)") | $(printf '%.1f' "$(median_of geo cached ns_per_lookup)") |
| **cached / bare** (time per look-up) | **$(pct "$ratio")** | |

Goal: cached at most $(pct "$goal") of bare: $verdict. (Full / bare: $(pct "$(median_of geo "" ratio_full)").)
The ratio is the median of the runs' own ratios.

| enrich stage on the parse corpus | events/s | ns/event |
| --- | ---: | ---: |
| \`af_geo_enrich\` per parsed event | $(printf '%.0f' "$(median_of geo stage events_per_s)") | $(printf '%.1f' "$(median_of geo stage ns_per_event)") |

Cache hit rates in the timed passes (median of runs): address mix, address
cache $(pct "$(median_of geo cache addr_hit_rate)"), record cache $(pct "$(median_of geo cache record_hit_rate)") of the tree walks made;
corpus, address cache $(pct "$(median_of geo stage_cache addr_hit_rate)"), record cache $(pct "$(median_of geo stage_cache record_hit_rate)"). First (cold)
pass over the mix: address cache $(pct "$(median_of geo cache_cold addr_hit_rate)"), record cache $(pct "$(median_of geo cache_cold record_hit_rate)").

Runs, cached / bare ns per look-up (ratio); stage ns per event:

EOF
	for f in "$tmp"/geo.*; do
		printf -- '- %.1f / %.1f (%.1f %%); %.1f\n' \
			"$(json_val "$(json_obj "$f" cached)" ns_per_lookup)" \
			"$(json_val "$(json_obj "$f" bare)" ns_per_lookup)" \
			"$(awk -v r="$(json_val "$(cat "$f")" ratio)" 'BEGIN { print 100 * r }')" \
			"$(json_val "$(json_obj "$f" stage)" ns_per_event)"
	done
}

run_detect() {
	local bin="$build/bench/bench_detect"
	if [ ! -x "$bin" ]; then
		echo "run.sh: $bin is missing; build the tree first (make build)" >&2
		exit 2
	fi
	for i in $(seq 1 "$runs"); do
		echo "run.sh: detect benchmark, run $i of $runs" >&2
		# shellcheck disable=SC2086 # DETECT_ARGS is a list of words
		"$bin" --json ${DETECT_ARGS:-} >"$tmp/detect.$i"
	done
}

section_detect() {
	local first="$tmp/detect.1" top geo state mem by_rule
	# top-level keys only: "accounts" is also a key of state and memory
	top="$(sed -E 's/\{[^{}]*\}//g' "$first")"
	geo="$(json_obj "$first" geo)"
	state="$(json_obj "$first" state)"
	mem="$(json_obj "$first" memory)"
	# "new_country":12,"new_asn":3 -> new_country 12, new_asn 3
	by_rule="$(json_obj "$first" alerts_by_rule | sed -E 's/"([a-z_]+)":([0-9]+)/\1 \2/g; s/,/, /g')"
	cat <<EOF

## Detect stage, single thread

The detect stage (\`af_shard_apply\`: the account and address tables, all
$(json_val "$top" rules) rules, learning) over the parse benchmark's corpus, parsed beforehand,
each event given a synthetic geo drawn from a fixed table of places by a hash
of its source address (\`bench/bench_detect.c\`).

- corpus: $(json_val "$top" events) records, $(json_val "$top" accounts) accounts, seed $(json_val "$top" seed); $(json_val "$top" reordered) records were earlier than the one before them and were put in event time order (stable sort) first
- geo: $(json_val "$geo" places) places; by events $(pct "$(json_val "$geo" hosting_share)") from hosting addresses, $(pct "$(json_val "$geo" anonymous_share)") from VPN, Tor or anonymous ones
- method: median of $runs runs; each run's figure is the median of its $(json_val "$top" passes) timed passes, each on a fresh shard made and freed outside the clock, after a warm-up pass; every pass must raise the same alerts (count, per rule, checksum of ids and times) and keep the same state as the warm-up, or the run fails

| stage | events/s | ns/event | page faults per pass |
| --- | ---: | ---: | ---: |
| \`af_shard_apply\` | $(printf '%.0f' "$(median_of detect detect events_per_s)") | $(printf '%.1f' "$(median_of detect detect ns_per_event)") | $(printf '%.0f' "$(median_of detect detect faults_per_pass)") |

Each pass starts from an empty shard, so its time includes the first touch
of the table pages its accounts and addresses take (the page faults above).

Alerts per pass: $(json_val "$(json_obj "$first" alerts)" per_pass) ($by_rule).
State after a pass: $(json_val "$state" accounts) accounts and $(json_val "$state" addresses) addresses held; evictions $(json_val "$state" account_evictions) and $(json_val "$state" address_evictions), expirations $(json_val "$state" account_expirations) and $(json_val "$state" address_expirations), HLL blocks refused $(json_val "$state" hll_refused).

**Memory per account**: a shard whose caps hold $(json_val "$mem" accounts) accounts, each given
$(json_val "$mem" events_per_account) events (two sign-ins from two addresses, an Exchange send, its
message trace row).

| | bytes |
| --- | ---: |
| resident per account: (RSS after the events - RSS after \`af_shard_new\`) / accounts | $(printf '%.1f' "$(median_of detect memory bytes_per_account)") |
| allocated per account: \`af_shard_stats\` bytes / accounts (address table and HLL pool at their default caps included) | $(printf '%.1f' "$(median_of detect memory alloc_per_account)") |
| of which the account table's own allocation per entry | $(printf '%.1f' "$(median_of detect memory table_bytes_per_account)") |
| \`sizeof(struct af_account)\`, the hot state | $(json_val "$mem" sizeof_account) |
| \`sizeof(struct af_account_cold)\` | $(json_val "$mem" sizeof_account_cold) |
| resident after \`af_shard_new\`, whole shard (probe arrays and HLL pool, written at creation) | $(awk -v b="$(median_of detect memory creation_bytes)" 'BEGIN { printf "%.1f MB", b / 1e6 }') |

Runs, events/s (ns/event); resident bytes per account:

EOF
	for f in "$tmp"/detect.*; do
		printf -- '- %.0f (%.1f); %.1f\n' \
			"$(json_val "$(json_obj "$f" detect)" events_per_s)" \
			"$(json_val "$(json_obj "$f" detect)" ns_per_event)" \
			"$(json_val "$(json_obj "$f" memory)" bytes_per_account)"
	done
}

run_pipeline() {
	local bin="$build/auditflow"
	if [ ! -x "$bin" ]; then
		echo "run.sh: $bin is missing; build the tree first (make build)" >&2
		exit 2
	fi
	echo "run.sh: pipeline benchmark (auditflow bench, median of $runs runs)" >&2
	# shellcheck disable=SC2086 # PIPELINE_ARGS is a list of words
	"$bin" bench --json --runs "$runs" ${PIPELINE_ARGS:-} >"$tmp/pipeline.1"
}

# pipeline_threads: the end-to-end runs' thread counts, ascending.
pipeline_threads() {
	grep -o '"threads_[0-9]*":' "$tmp/pipeline.1" | tr -dc '0-9\n' | sort -n
}

# nruns N: "1 run", "N runs".
nruns() {
	if [ "$1" = 1 ]; then echo "1 run"; else echo "$1 runs"; fi
}

# mb BYTES: decimal megabytes, one decimal.
mb() {
	awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'
}

# ms SECONDS: milliseconds, two decimals.
ms() {
	awk -v s="$1" 'BEGIN { printf "%.2f", 1e3 * s }'
}

# build_path: BUILD_DIR as a reader would type it (relative to the
# checkout when inside it).
build_path() {
	case "$build" in
	"$root"/*) printf '%s' "${build#"$root"/}" ;;
	*) printf '%s' "$build" ;;
	esac
}

# rate_row LABEL JSON_OBJECT: "| LABEL | events/s | ns/event | MB/s |"
rate_row() {
	printf '| %s | %.0f | %.1f | %.1f |\n' "$1" "$(json_val "$2" events_per_s)" \
		"$(json_val "$2" ns_per_event)" "$(json_val "$2" mb_per_s)"
}

section_pipeline() {
	local f="$tmp/pipeline.1" top corpus detect enrich floor addrs geo peak t e same
	top="$(json_top "$f")"
	corpus="$(json_obj "$f" corpus)"
	detect="$(json_obj "$f" detect)"
	enrich="$(json_obj "$f" enrich)"
	floor="$(json_obj "$f" floor)"
	if [ "$(json_val "$corpus" addresses)" = 0 ]; then
		addrs="the generator's own"
	else
		addrs="$(json_val "$corpus" addresses) for the Entra sign-ins, drawn Zipf-wise within their networks"
	fi
	if [ "$(json_val "$corpus" geo)" = built ]; then
		geo="databases built for the corpus's $(json_val "$corpus" networks) networks"
	else
		geo="the databases given in PIPELINE_ARGS"
	fi
	if [ "$(json_val "$top" peak_rss_per_run)" = true ]; then
		peak="the process's peak during each run (reset before it)"
	else
		peak="the process's peak so far (the kernel would not reset it)"
	fi
	cat <<EOF

## The whole pipeline (\`auditflow bench\`)

An invented organisation's audit logs (the seed-incident scenario of
\`auditflow gen\`, merged by event time) held in memory, with geo databases
for its networks. Framing, parse, enrich and detect are timed alone, on one
thread each, batch by batch as the runtime runs them; the floor, one thread:
per record a bare simdjson On-Demand loop reading the fields the mappers read
(\`bench/parse_bare.cpp\`) and a bare \`MMDB_lookup_sockaddr\` on its client
address in each of the City and ASN databases ($(json_val "$floor" databases) here); then the whole runtime
(reader, parse, enrich, detection shards, alerts to a file) at 1 to
$(json_val "$top" threads) worker threads.

- corpus: $(json_val "$corpus" records) records, $(mb "$(json_val "$corpus" bytes)") MB ($(awk -v b="$(json_val "$corpus" bytes)" -v n="$(json_val "$corpus" records)" 'BEGIN { printf "%.0f", b / n }') B a record), $(json_val "$corpus" scenario) scenario: $(json_val "$corpus" accounts) accounts x $(json_val "$corpus" days) days, seed $(json_val "$corpus" seed); $(json_val "$corpus" distinct_addresses) distinct client addresses ($addrs); $(json_val "$corpus" invalid) records the parser refuses
- geo: $geo
- JSON kernel $(json_val "$top" parse_kernel); batches of $(json_val "$top" batch_records) records; $(json_val "$top" online_cpus) online CPUs
- method: every figure is the median of $(nruns "$(json_val "$top" runs)"), measured interleaved (one round of every figure per run)

| stage, one thread | events/s | ns/event | MB/s |
| --- | ---: | ---: | ---: |
$(rate_row "framing (file reader)" "$(json_obj "$f" framing)")
$(rate_row parse "$(json_obj "$f" parse)")
$(rate_row enrich "$enrich")
$(rate_row detect "$detect")
$(rate_row "floor: bare parse and look-ups" "$floor")

| end to end | events/s | ns/event | MB/s | batch p50 ms | batch p99 ms | peak RSS MB | alerts | speedup | end to end / floor, per core |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
EOF
	for t in $(pipeline_threads); do
		e="$(json_obj "$f" "threads_$t")"
		same=""
		[ "$(json_val "$e" same_alerts)" = true ] || same=" **(not 1 thread's)**"
		printf '| %s thread%s | %.0f | %.1f | %.1f | %s | %s | %.0f | %s%s | %.2fx | %.2fx |\n' \
			"$t" "$([ "$t" -gt 1 ] && echo s)" "$(json_val "$e" events_per_s)" \
			"$(json_val "$e" ns_per_event)" "$(json_val "$e" mb_per_s)" \
			"$(ms "$(json_val "$e" batch_p50_s)")" "$(ms "$(json_val "$e" batch_p99_s)")" \
			"$(mb "$(json_val "$e" peak_rss_bytes)")" "$(json_val "$e" alerts)" "$same" \
			"$(json_val "$e" speedup)" "$(json_val "$e" floor_ratio)"
	done
	printf '\n'
	if [ "$(json_val "$top" alerts_identical)" = true ]; then
		printf 'Alerts: the same on every thread count and run.\n'
	else
		printf '**Alerts differ between thread counts or runs**; the runtime should raise the same alerts whatever the thread count.\n'
	fi
	cat <<EOF
Speedup: events/s over the 1-thread figure. Peak RSS: $peak, the corpus's $(mb "$(json_val "$corpus" bytes)") MB included.

**Against the floor**: end to end / floor, per core is threads x the end-to-end ns/event over the floor's ns/event: how many times the floor's time one core spends on each event (the floor runs on one core). On one thread, parse + enrich + detect cost $(awk -v r="$(json_val "$floor" stage_sum_ratio)" 'BEGIN { printf "%.2f", r }')x the floor. The floor made $(json_val "$floor" lookups) look-ups ($(json_val "$floor" found) answered); it leaves out framing, finding and parsing the address (done before its clock), reading values from the databases, the Anonymous-IP database, the corporate list, detection and threads.

**Bytes per account**: $(json_val "$detect" state_resident_bytes_per_account) resident bytes an account while detecting ($(json_val "$detect" accounts) accounts held; the tables reserve $(mb "$(json_val "$detect" state_reserved_bytes)") MB at their caps).
Enrich: $(awk -v h="$(json_val "$enrich" address_cache_hits)" -v n="$(json_val "$enrich" lookups)" 'BEGIN { printf "%.1f %%", n ? 100 * h / n : 0 }') of $(json_val "$enrich" lookups) look-ups answered by the address cache, $(json_val "$enrich" records_decoded) records decoded, $(json_val "$enrich" not_found) not found.

To reproduce (\`run.sh\` adds \`--json\`):

\`\`\`
$(build_path)/auditflow bench --runs $runs${PIPELINE_ARGS:+ $PIPELINE_ARGS}
\`\`\`
EOF
	plot_link throughput "End-to-end events/s against worker threads, with the linear reference"
	plot_link stages "ns per event: each stage alone on one thread, and end to end per thread count"
}

# suite NAME RUNS COMMAND...: run a suite script (bench/NAME/run.sh) with
# RUNS runs, its stdout into $tmp/NAME.1, its progress shown and kept for
# the reason of a failure; on failure NAME_fail says why ("" when it ran)
# and the files it wrote are dropped.
suite() {
	local name="$1" n="$2" rc=0
	shift 2
	echo "run.sh: $name (bench/$name/run.sh, median of $n runs)" >&2
	RUNS="$n" "$@" 2>&1 >"$tmp/$name.1" | tee "$tmp/$name.err" >&2 || rc=${PIPESTATUS[0]}
	printf -v "${name}_fail" '%s' ""
	if [ "$rc" -ne 0 ]; then
		printf -v "${name}_fail" 'bench/%s/run.sh exited with status %s: %s' "$name" "$rc" \
			"$(grep -v '^[[:space:]]*$' "$tmp/$name.err" | tail -n 1 | sed "s/^bench\/$name: //")"
		# 2 is a set-up problem (a package missing, not root): a skip, as
		# for the geo stage. Anything else is a failed run.
		[ "$rc" -eq 2 ] || status=1
		rm -f "$tmp/$name.1" "$tmp/$name.md"
		local why="${name}_fail"
		echo "run.sh: $name stage not run: ${!why}" >&2
	fi
}

peers_fail=""
run_peers() {
	RESULTS_MD="$tmp/peers.md" suite peers "${PEER_RUNS:-$runs}" "$here/peers/run.sh" "$build" --json
}

kafka_fail=""
run_kafka() {
	suite kafka "${KAFKA_RUNS:-$runs}" "$here/kafka/run.sh" "$build" --results "$tmp/kafka.md"
}

section_kafka() {
	printf '\n'
	if [ -n "$kafka_fail" ]; then
		printf '## Kafka in: `auditflow run` against kcat\n\nNot run: %s.\n' "$kafka_fail"
		return 0
	fi
	cat "$tmp/kafka.md"
}

section_peers() {
	printf '\n'
	if [ -n "$peers_fail" ]; then
		printf '## auditflow against syslog-ng and rsyslog\n\nNot run: %s.\n' "$peers_fail"
		return 0
	fi
	cat "$tmp/peers.md"
	plot_link peers "events/s per tool on the same file, log scale"
}

# --- plots ---

# Why no plots were drawn ("" when gnuplot ran).
plots_skip=""

# plot_link NAME ALT: the Markdown image link to NAME.png, when this run
# drew it (the header says why plots are missing).
plot_link() {
	if [ -s "$tmp/plot/$1.png" ]; then
		printf '\n![%s](%s.png)\n' "$2" "$1"
	fi
}

# have_gnuplot: gnuplot is there, or installed now (as root); else
# plots_skip says why.
have_gnuplot() {
	command -v gnuplot >/dev/null 2>&1 && return 0
	if [ "$(id -u)" -ne 0 ]; then
		plots_skip="gnuplot is missing; install it with: sudo apt-get install -y --no-install-recommends gnuplot-nox"
		echo "run.sh: $plots_skip" >&2
		return 1
	fi
	echo "run.sh: installing gnuplot-nox (apt-get) for the plots" >&2
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		gnuplot-nox >"$tmp/apt.log" 2>&1; then
		# A new machine may have no package lists yet.
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$tmp/apt.log" 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			gnuplot-nox >>"$tmp/apt.log" 2>&1 || true
	fi
	if ! command -v gnuplot >/dev/null 2>&1; then
		tail -n 5 "$tmp/apt.log" >&2
		plots_skip="gnuplot is missing and apt-get install gnuplot-nox failed"
		echo "run.sh: $plots_skip" >&2
		return 1
	fi
}

# plot_tables: the tables bench/plot.gp reads, from this run's JSON, and
# the list of plots to draw (in $want).
plot_tables() {
	local d="$tmp/plot" f="$tmp/pipeline.1" t one i p key label kind
	want=""
	if [ -s "$f" ]; then
		one="$(json_val "$(json_obj "$f" threads_1)" events_per_s)"
		for t in $(pipeline_threads); do
			printf '%s\t%s\t%s\n' "$t" "$(json_val "$(json_obj "$f" "threads_$t")" events_per_s)" \
				"$(awk -v o="$one" -v t="$t" 'BEGIN { printf "%.1f", o * t }')"
		done >"$d/throughput.dat"
		{
			i=0
			for p in framing parse enrich detect; do
				label="$p"
				[ "$p" = framing ] && label="framing (file reader)"
				printf '%s\t%s\t%s\t1\n' "$i" "$label" "$(json_val "$(json_obj "$f" "$p")" ns_per_event)"
				i=$((i + 1))
			done
			if grep -q '"floor":{' "$f"; then
				printf '%s\tfloor: bare parse and look-ups\t%s\t3\n' "$i" \
					"$(json_val "$(json_obj "$f" floor)" ns_per_event)"
				i=$((i + 1))
			fi
			for t in $(pipeline_threads); do
				printf '%s\tend to end, %s thread%s\t%s\t2\n' "$i" "$t" "$([ "$t" -gt 1 ] && echo s)" \
					"$(json_val "$(json_obj "$f" "threads_$t")" ns_per_event)"
				i=$((i + 1))
			done
		} >"$d/stages.dat"
		want="throughput stages"
	fi
	f="$tmp/peers.1"
	if [ -s "$f" ]; then
		i=0
		for p in auditflow syslog-ng syslog-ng-json rsyslog; do
			key="$(printf '%s' "$p" | tr '-' '_')"
			grep -q "\"$key\":{" "$f" || continue
			label="$p $(json_val "$(json_obj "$f" "$key")" version)"
			kind=2
			case "$p" in
			auditflow) kind=1 ;;
			syslog-ng-json) label="syslog-ng $(json_val "$(json_obj "$f" "$key")" version), JSON only" ;;
			esac
			printf '%s\t%s\t%s\t%s\n' "$i" "$label" \
				"$(json_val "$(json_obj "$f" "$key")" events_per_s)" "$kind"
			i=$((i + 1))
		done >"$d/peers.dat"
		[ "$i" -gt 0 ] && want="$want peers"
	fi
}

# draw_plots: the PNGs into "$tmp/plot/"; any failure only leaves them out.
draw_plots() {
	local d="$tmp/plot" sub="" psub="" machine c top
	mkdir -p "$d"
	plot_tables
	[ -n "$want" ] || return 0
	if [ "$plots" = 0 ]; then
		plots_skip="PLOTS=0"
		return 0
	fi
	have_gnuplot || return 0
	# "Intel(R) Xeon(R) Processor" without its marks: the line is short.
	machine="$(printf '%s' "${cpu_model:-unknown CPU}" | sed -E 's/ ?\((R|TM|tm)\)//g'), $(nproc) online CPUs; commit ${commit/ (with uncommitted changes)/ (uncommitted changes)}; $(date -u '+%Y-%m-%d')"
	if [ -s "$tmp/pipeline.1" ]; then
		c="$(json_obj "$tmp/pipeline.1" corpus)"
		top="$(json_top "$tmp/pipeline.1")"
		sub="$(json_val "$c" records) records ($(mb "$(json_val "$c" bytes)") MB), $(json_val "$c" accounts) accounts x $(json_val "$c" days) days; median of $(nruns "$(json_val "$top" runs)")"
	fi
	if [ -s "$tmp/peers.1" ]; then
		top="$(json_top "$tmp/peers.1")"
		psub="$(json_val "$top" events) records ($(mb "$(json_val "$top" corpus_bytes)") MB); median of $(nruns "$(json_val "$top" runs)")"
	fi
	# The variables as a gnuplot file: no quoting through a command line
	# (quotes and backslashes, which gnuplot strings would take, dropped).
	{
		printf "data = '%s'\n" "$d"
		printf "out = '%s'\n" "$d"
		printf "plots = '%s'\n" "$want"
		printf "sub = '%s'\n" "$(printf '%s' "$sub" | tr -d "'\"\\\\")"
		printf "psub = '%s'\n" "$(printf '%s' "$psub" | tr -d "'\"\\\\")"
		printf "machine = '%s'\n" "$(printf '%s' "$machine" | tr -d "'\"\\\\")"
	} >"$d/vars.gp"
	echo "run.sh: plots ($want) with gnuplot" >&2
	if ! gnuplot "$d/vars.gp" "$here/plot.gp" 2>"$d/gnuplot.err"; then
		cat "$d/gnuplot.err" >&2
		plots_skip="gnuplot failed (its message was on run.sh's stderr)"
		echo "run.sh: $plots_skip; results.md links only the plots drawn" >&2
	fi
}

# --- the machine ---

cpu_model="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ "$commit" != unknown ] && [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	commit="$commit (with uncommitted changes)"
fi
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null)"
compiler="$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)"

status=0
for stage in $STAGES; do
	"run_$stage"
done
draw_plots

{
	cat <<EOF
# Benchmark results

Written by \`bench/run.sh\`; do not edit by hand. What each benchmark measures
and how to run it: [README.md](README.md).

| | |
| --- | --- |
| date | $(date -u '+%Y-%m-%d %H:%M UTC') |
| commit | $commit |
| CPU | ${cpu_model:-unknown} |
| online CPUs (nproc) | $(nproc) |
| kernel | $(uname -sr) |
| build | ${build_type:-unknown}, ${compiler:-unknown compiler} |
EOF
	if [ -n "$plots_skip" ]; then
		printf '| plots | not drawn: %s |\n' "$plots_skip"
	fi
	printf '\n'
	for stage in $STAGES; do
		"section_$stage"
	done
} | cat -s >"$tmp/results.md"
mv "$tmp/results.md" "$results"
echo "run.sh: wrote $results" >&2
for name in throughput stages peers; do
	if [ -s "$tmp/plot/$name.png" ]; then
		mv "$tmp/plot/$name.png" "$results_dir/$name.png"
		echo "run.sh: wrote $results_dir/$name.png" >&2
	fi
done
cat "$results"
exit "$status"
