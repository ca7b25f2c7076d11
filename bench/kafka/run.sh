#!/usr/bin/env bash
# bench/kafka/run.sh - consume one corpus from the embedded broker with
# `auditflow run` (the whole pipeline) and with kcat (bytes to /dev/null),
# one after another on this machine, and print each one's records/s and
# auditflow's ratio to kcat's.
#
# Usage: bench/kafka/run.sh AUDITFLOW [--results FILE]
#   AUDITFLOW       the auditflow binary, or a build directory holding it
#   --results FILE  also write a Markdown section there
# Environment:
#   RUNS=3          runs of each consumer; the median run is reported
#   ACCOUNTS=300 DAYS=14 SEED=1   the corpus (auditflow gen, seed-incident)
#   PART_MIB=2.5    estimated zstd MiB per partition; the broker keeps 5
#   THREADS=0       auditflow run -j (0: one worker per online CPU)
#   AF_ARGS=...     more arguments for auditflow run (e.g. "-X
#                   queued.max.messages.kbytes=65536"), shown in the report
#   KAFKA_TIMEOUT=600  seconds after which one run counts as failed
#
# In: the auditflow binary, kcat, perl's MaxMind::DB::Writer (for
# scripts/gen-mmdb) and zstd or gzip (to size the partitions). Out: the
# table on stdout, progress on stderr; a broker and temporary files under a
# mkdtemp directory, both gone at exit. Exit 0 on success, 1 when a run
# fails its checks, 2 on a usage or set-up problem.
#
# DESIGN: three topics, as scripts/demo and a real tenant have them
# (signins, audit, messagetrace: three exports), each file spread line by
# line over its partitions (split -n r/N, one `kcat -P -p` per partition),
# so every partition holds an even, time-ordered share. kcat's simple
# consumer (-C) reads one topic only (a second -t replaces the first), so
# the bare figure is one `kcat -C` per topic, all three started together,
# timed from the first start to the last exit. A second reference, `kcat
# -G` subscribed to the three topics, is one consumer-group member like
# auditflow, with the same assignor (cooperative-sticky).
#
# DESIGN: the consumer-group join. The mock cluster answers a new group's
# first JoinGroup after about 3 s, whatever the client; kcat -C joins no
# group and does not pay it. auditflow prints no first-record time, so the
# join is taken from the kcat -G run of the same round: kcat prints "Group
# ... rebalanced" on stderr when it gets its partitions, and the time from
# its start to that line is the join (metadata, JoinGroup, SyncGroup), the
# same librdkafka and assignor as auditflow's. It is not a zero-message
# consumer's whole run, which would also count the end-of-partition wait
# and the leave that kcat -C pays as well. The warm-up run of auditflow
# takes -X debug=cgrp and reports its own join, as a check on that figure.
# Nothing is subtracted from the main figures; the "without the join"
# rates are wall time minus the join.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$(dirname "$here")")"

# usage STATUS: the comment's usage lines, on stdout for --help.
usage() {
	if [ "$1" -eq 0 ]; then
		sed -n '7,17p' "$0" | sed 's/^# \{0,1\}//'
	else
		sed -n '7,17p' "$0" | sed 's/^# \{0,1\}//' >&2
	fi
	exit "$1"
}

bin=""
results=""
while [ $# -gt 0 ]; do
	case "$1" in
	--results)
		[ $# -ge 2 ] || usage 2
		results="$2"
		shift
		;;
	-h | --help) usage 0 ;;
	-*) usage 2 ;;
	*) bin="$1" ;;
	esac
	shift
done
[ -n "$bin" ] || usage 2
[ -d "$bin" ] && bin="$bin/auditflow"
if [ ! -x "$bin" ] || [ -d "$bin" ]; then
	echo "bench/kafka: $bin is not an executable; build the tree first" >&2
	exit 2
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
if [ -n "$results" ] && ! results_dir="$(cd "$(dirname "$results")" 2>/dev/null && pwd)"; then
	echo "bench/kafka: the directory of $results does not exist" >&2
	exit 2
fi
[ -z "$results" ] || results="$results_dir/$(basename "$results")"

runs="${RUNS:-3}"
accounts="${ACCOUNTS:-300}"
days="${DAYS:-14}"
seed="${SEED:-1}"
threads="${THREADS:-0}"
limit="${KAFKA_TIMEOUT:-600}"
part_mib="${PART_MIB:-2.5}"
af_args="${AF_ARGS:-}"
for v in "$runs" "$accounts" "$days" "$limit"; do
	case "$v" in
	'' | *[!0-9]* | 0)
		echo "bench/kafka: RUNS, ACCOUNTS, DAYS and KAFKA_TIMEOUT are positive integers" >&2
		exit 2
		;;
	esac
done
case "$seed$threads" in
'' | *[!0-9]*)
	echo "bench/kafka: SEED and THREADS are integers" >&2
	exit 2
	;;
esac
if ! awk -v m="$part_mib" 'BEGIN { exit !(m + 0 > 0 && m + 0 <= 5) }'; then
	echo "bench/kafka: PART_MIB is a number of MiB above 0 and at most 5" >&2
	exit 2
fi

say() {
	echo "bench/kafka: $*" >&2
}

fail() {
	say "$*"
	exit 1
}

# --- set-up checks ---

if ! command -v kcat >/dev/null 2>&1; then
	say "kcat is missing (Debian: apt-get install kcat)"
	exit 2
fi
if ! perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null; then
	say "perl's MaxMind::DB::Writer::Tree is missing (Debian: libmaxmind-db-writer-perl; make deps installs it)"
	exit 2
fi
if command -v zstd >/dev/null 2>&1; then
	squeeze="zstd -3 -q -c"
	squeezer=zstd
else
	# gzip packs JSON less tightly than zstd: more partitions, never fewer.
	squeeze="gzip -6 -c"
	squeezer=gzip
fi

tmp="$(mktemp -d)"
broker=""
cleanup() {
	if [ -n "$broker" ]; then
		kill "$broker" 2>/dev/null || true
		wait "$broker" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- measuring ---

# cpu_children: set cpu_total to the user + system seconds of the children
# this shell has waited for (the `times` builtin, run in this shell: in a
# command substitution it would count a subshell's).
cpu_children() {
	times >"$tmp/times"
	cpu_total="$(awk 'NR == 2 {
		s = 0
		for (i = 1; i <= 2; i++) {
			split($i, p, "m"); sub("s", "", p[2]); s += p[1] * 60 + p[2]
		}
		printf "%.3f\n", s
	}' "$tmp/times")"
}

# since T0 C0: set wall and cpu to what passed since EPOCHREALTIME T0 and
# cpu_total C0.
since() {
	local t1="$EPOCHREALTIME"
	cpu_children
	cpu="$(awk -v a="$2" -v b="$cpu_total" 'BEGIN { printf "%.3f", b - a }')"
	wall="$(awk -v a="$1" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')"
}

# stamp: each line of stdin with the EPOCHREALTIME it arrived at.
stamp() {
	local l
	while IFS= read -r l; do
		printf '%s %s\n' "$EPOCHREALTIME" "$l"
	done
}

median() {
	sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) exit 1;
		      if (NR % 2) print v[(NR + 1) / 2];
		      else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- the corpus ---

topics="signins audit messagetrace"
say "corpus: auditflow gen --scenario seed-incident --accounts $accounts --days $days --seed $seed"
"$bin" gen --scenario seed-incident --accounts "$accounts" --days "$days" --seed "$seed" \
	--out "$tmp/gen" >/dev/null 2>"$tmp/gen.err" || {
	cat "$tmp/gen.err" >&2
	fail "auditflow gen failed"
}
"$root/scripts/gen-mmdb" "$tmp/gen" >/dev/null 2>"$tmp/gen-mmdb.err" || {
	cat "$tmp/gen-mmdb.err" >&2
	fail "scripts/gen-mmdb failed"
}

# Enrichment (geo.yaml names the City, ASN and Anonymous-IP databases and
# the corporate list) and every rule switched on by name (the names from
# --help, so a new rule is on too and a renamed one cannot be missed).
cp "$tmp/gen/geo.yaml" "$tmp/auditflow.yaml"
"$bin" run --help 2>&1 |
	sed -E -n 's/^ *rules\.([a-z_]+)\.enabled .*/rules.\1.enabled: true/p' >"$tmp/rules.yaml"
rules="$(wc -l <"$tmp/rules.yaml")"
[ "$rules" -gt 0 ] || fail "found no rules in auditflow run --help"
cat "$tmp/rules.yaml" >>"$tmp/auditflow.yaml"
af_version="$("$bin" --version 2>&1 | awk '{ print $2; exit }')"
kcat_version="$(kcat -V 2>&1 | sed -n -E 's/^Version ([^ ]+) .*librdkafka ([^ ]+) .*/\1 (librdkafka \2)/p')"

# Partitions: each file's size once packed in 1 MB pieces (about what one
# producer batch holds) over PART_MIB; the broker drops what goes past
# 5 MiB a partition, and the count check below would fail the run.
declare -A n_of p_of packed_of
records=0
bytes=0
broker_topics=()
for t in $topics; do
	f="$tmp/gen/$t.jsonl"
	n="$(wc -l <"$f")"
	b="$(stat -c %s "$f")"
	# shellcheck disable=SC2086 # squeeze is a command and its options
	packed="$(split -b 1000000 --filter="$squeeze | wc -c" "$f" | awk '{ s += $1 } END { print s + 0 }')"
	p="$(awk -v s="$packed" -v m="$part_mib" 'BEGIN { p = int(s / (m * 1048576)) + 1; print p }')"
	n_of[$t]="$n"
	p_of[$t]="$p"
	packed_of[$t]="$packed"
	records=$((records + n))
	bytes=$((bytes + b))
	broker_topics+=(--topic "$t:$p")
done

say "broker: auditflow broker ${broker_topics[*]}"
"$bin" broker "${broker_topics[@]}" --bootstrap-file "$tmp/bootstrap" \
	>"$tmp/broker.out" 2>"$tmp/broker.err" &
broker=$!
i=0
while [ ! -s "$tmp/bootstrap" ]; do
	i=$((i + 1))
	if [ $i -gt 400 ] || ! kill -0 "$broker" 2>/dev/null; then
		cat "$tmp/broker.err" >&2
		fail "the broker did not start"
	fi
	sleep 0.05
done
addr="$(head -n 1 "$tmp/bootstrap")"

say "producing $records records with kcat -P -z zstd, one producer per partition"
for t in $topics; do
	p="${p_of[$t]}"
	mkdir -p "$tmp/parts"
	split -n "r/$p" -d -a 4 "$tmp/gen/$t.jsonl" "$tmp/parts/$t."
	for ((i = 0; i < p; i++)); do
		part="$tmp/parts/$t.$(printf '%04d' "$i")"
		timeout "$limit" kcat -P -b "$addr" -t "$t" -p "$i" -z zstd -X linger.ms=50 \
			-l "$part" 2>"$tmp/produce.err" || {
			cat "$tmp/produce.err" >&2
			fail "kcat -P into $t [$i] failed"
		}
	done
done
rm -rf "$tmp/parts"

# Every record must still be there (the broker drops silently past 5 MiB).
for t in $topics; do
	want="${n_of[$t]}"
	got="$(timeout "$limit" kcat -C -b "$addr" -t "$t" -o beginning -e -q -f '\n' | wc -l)"
	[ "$got" -eq "$want" ] ||
		fail "topic $t holds $got of its $want records: the broker dropped some; lower PART_MIB (now $part_mib) for more partitions"
done

# Into the page cache, so no run pays for the first read.
cat "$tmp/gen/"*.mmdb "$tmp/gen/corporate.txt" >/dev/null

# --- the consumers ---

# run_kcat_c: the three topics with one bare kcat -C each, at once.
run_kcat_c() {
	local c0 t0 t pids=() ok=1
	cpu_children
	c0="$cpu_total"
	t0="$EPOCHREALTIME"
	for t in $topics; do
		timeout "$limit" kcat -C -b "$addr" -t "$t" -o beginning -e -q >/dev/null 2>"$tmp/kcat-c.$t.err" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || ok=0
	done
	since "$t0" "$c0"
	if [ "$ok" -ne 1 ]; then
		cat "$tmp"/kcat-c.*.err >&2
		fail "kcat -C failed"
	fi
}

# run_kcat_g GROUP: kcat -G on the three topics; sets join (seconds from
# its start to its assignment) and checks that it read every record (the
# end offsets it reports, every partition starting at offset 0).
run_kcat_g() {
	local c0 t0 got
	cpu_children
	c0="$cpu_total"
	t0="$EPOCHREALTIME"
	# shellcheck disable=SC2086 # topics is a list of names
	{ timeout "$limit" kcat -b "$addr" -G "$1" -e \
		-X partition.assignment.strategy=cooperative-sticky \
		-X auto.offset.reset=earliest $topics 2>&1 >/dev/null || echo "bench-kafka-exit-status $?"; } |
		stamp >"$tmp/kcat-g.err"
	since "$t0" "$c0"
	if grep -q ' bench-kafka-exit-status ' "$tmp/kcat-g.err"; then
		cut -d' ' -f2- "$tmp/kcat-g.err" >&2
		fail "kcat -G failed"
	fi
	join="$(awk -v t0="$t0" '/ rebalanced/ { printf "%.6f", $1 - t0; exit }' "$tmp/kcat-g.err")"
	[ -n "$join" ] || fail "kcat -G printed no assignment"
	got="$(sed -E -n 's/.*Reached end of topic ([^ ]+) \[([0-9]+)\] at offset ([0-9]+).*/\1 \2 \3/p' \
		"$tmp/kcat-g.err" | awk '{ if ($3 > e[$1 " " $2]) e[$1 " " $2] = $3 }
		END { for (k in e) s += e[k]; print s + 0 }')"
	[ "$got" -eq "$records" ] || fail "kcat -G read to offset $got in all, not $records"
}

# run_auditflow GROUP: auditflow run on the three topics; sets
# summary_wall (its own wall_s) and alerts, and checks it counted every
# record.
run_auditflow() {
	local c0 t0 n
	rm -f "$tmp/summary.json"
	cpu_children
	c0="$cpu_total"
	t0="$EPOCHREALTIME"
	# shellcheck disable=SC2086 # AF_ARGS is a list of words
	timeout "$limit" "$bin" run -c "$tmp/auditflow.yaml" -b "$addr" -t signins -t audit \
		-t messagetrace -G "$1" --offset beginning -e -o /dev/null -j "$threads" \
		--summary "$tmp/summary.json" $af_args 2>"$tmp/auditflow.err" || {
		cat "$tmp/auditflow.err" >&2
		fail "auditflow run failed"
	}
	since "$t0" "$c0"
	n="$(sed -E -n 's/.*"events_in":([0-9]+).*/\1/p' "$tmp/summary.json")"
	[ "$n" = "$records" ] || fail "auditflow run counted ${n:-no} records, not $records"
	summary_wall="$(sed -E -n 's/.*"wall_s":([0-9.]+).*/\1/p' "$tmp/summary.json")"
	alerts="$(sed -E -n 's/.*"alerts":([0-9]+).*/\1/p' "$tmp/summary.json")"
}

# Warm-up, untimed: auditflow once with librdkafka's group log, its lines
# stamped as they come, to time its own join (start to the JoinGroup
# response) as a check on kcat's.
say "warm-up: auditflow run -X debug=cgrp (untimed)"
t0="$EPOCHREALTIME"
# shellcheck disable=SC2086 # AF_ARGS is a list of words
{ timeout "$limit" "$bin" run -c "$tmp/auditflow.yaml" -b "$addr" -t signins -t audit \
	-t messagetrace -G "bench-warm-$$" --offset beginning -e -o /dev/null -j "$threads" \
	$af_args -X debug=cgrp 2>&1 >/dev/null || echo "bench-kafka-exit-status $?"; } | stamp >"$tmp/warm.err"
if grep -q ' bench-kafka-exit-status ' "$tmp/warm.err"; then
	cut -d' ' -f2- "$tmp/warm.err" | grep -v 'librdkafka: [A-Z]*: \[thrd' >&2
	fail "auditflow run (warm-up) failed"
fi
af_join="$(awk -v t0="$t0" '/JoinGroup response/ { printf "%.3f", $1 - t0; exit }' "$tmp/warm.err")"
[ -n "$af_join" ] || af_join="-"

# How busy the CPUs were over the last second: a warning, not a refusal.
head -n 1 /proc/stat >"$tmp/stat"
sleep 1
head -n 1 /proc/stat >>"$tmp/stat"
busy="$(awk 'NR == 1 { for (i = 2; i <= NF; i++) t0 += $i; i0 = $5 + $6 }
	NR == 2 { for (i = 2; i <= NF; i++) t1 += $i; i1 = $5 + $6 }
	END { printf "%.0f", 100 * (1 - (i1 - i0) / (t1 - t0)) }' "$tmp/stat")"
if [ "$busy" -gt 10 ]; then
	say "the machine is not idle ($busy % of its CPU time busy just now): expect noisy figures"
fi

# Runs interleaved, so a slow phase of the machine does not fall on one
# consumer only; each consumer group is new.
: >"$tmp/runs.kcat_c"
: >"$tmp/runs.kcat_g"
: >"$tmp/runs.auditflow"
for i in $(seq 1 "$runs"); do
	run_kcat_c
	printf '%s %s\n' "$wall" "$cpu" >>"$tmp/runs.kcat_c"
	say "run $i of $runs: kcat -C x3 $(awk -v n="$records" -v w="$wall" 'BEGIN { printf "%.0f records/s (%.3f s)", n / w, w }')"

	run_kcat_g "bench-kcat-$$-$i"
	printf '%s %s %s\n' "$wall" "$cpu" "$join" >>"$tmp/runs.kcat_g"
	kjoin="$join"
	say "run $i of $runs: kcat -G $(awk -v n="$records" -v w="$wall" -v j="$join" 'BEGIN { printf "%.0f records/s (%.3f s, join %.3f s)", n / w, w, j }')"

	run_auditflow "bench-auditflow-$$-$i"
	# The join of this round's kcat -G stands for auditflow's.
	printf '%s %s %s %s %s\n' "$wall" "$cpu" "$kjoin" "$summary_wall" "$alerts" >>"$tmp/runs.auditflow"
	say "run $i of $runs: auditflow run $(awk -v n="$records" -v w="$wall" 'BEGIN { printf "%.0f records/s (%.3f s)", n / w, w }')"
done

# --- report ---

# fig CONSUMER COLUMN: the median across runs of one column.
fig() {
	cut -d' ' -f"$2" "$tmp/runs.$1" | median
}

# rate SECONDS: records per second.
rate() {
	awk -v n="$records" -v s="$1" 'BEGIN { printf "%.0f", n / s }'
}

# per_run CONSUMER [JOIN_COLUMN]: each run's records/s (without the join
# when a column is given), comma-separated.
per_run() {
	awk -v n="$records" -v j="${2:-0}" \
		'{ printf "%s%.0f", (NR > 1 ? ", " : ""), n / ($1 - (j ? $j : 0)) }' "$tmp/runs.$1"
}

# Each run's rates without the join, then their median (the median of
# differences, not the difference of medians).
nojoin() {
	awk -v n="$records" '{ print n / ($1 - $3) }' "$tmp/runs.$1" | median
}

kc_wall="$(fig kcat_c 1)"
kc_cpu="$(fig kcat_c 2)"
kg_wall="$(fig kcat_g 1)"
kg_cpu="$(fig kcat_g 2)"
join_med="$(fig kcat_g 3)"
af_wall="$(fig auditflow 1)"
af_cpu="$(fig auditflow 2)"
af_own="$(fig auditflow 4)"
kc_rate="$(rate "$kc_wall")"
kg_rate="$(rate "$kg_wall")"
af_rate="$(rate "$af_wall")"
af_own_rate="$(rate "$af_own")"
kg_nojoin="$(printf '%.0f' "$(nojoin kcat_g)")"
af_nojoin="$(printf '%.0f' "$(nojoin auditflow)")"
alerts="$(fig auditflow 5)"

# nruns: "1 run", "N runs".
nruns() {
	if [ "$runs" = 1 ]; then echo "1 run"; else echo "$runs runs"; fi
}

# pct A B: A / B as a percentage.
pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f %%", 100 * a / b }'
}

ratio_bare="$(pct "$af_rate" "$kc_rate")"
ratio_bare_nojoin="$(pct "$af_nojoin" "$kc_rate")"
ratio_group="$(pct "$af_rate" "$kg_rate")"
ratio_group_nojoin="$(pct "$af_nojoin" "$kg_nojoin")"
verdict="$(awk -v a="$af_rate" -v b="$kc_rate" 'BEGIN { print (a >= 0.8 * b) ? "met" : "not met" }')"
verdict_nojoin="$(awk -v a="$af_nojoin" -v b="$kc_rate" 'BEGIN { print (a >= 0.8 * b) ? "met" : "not met" }')"

parts_line=""
packed_all=0
for t in $topics; do
	parts_line="$parts_line${parts_line:+, }$t:${p_of[$t]}"
	packed_all=$((packed_all + packed_of[$t]))
done
cpu_model="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
af_cmd="auditflow run -c geo.yaml+rules -b ADDR -t signins -t audit -t messagetrace -G GROUP --offset beginning -e -o /dev/null -j $threads${af_args:+ $af_args}"

printf 'corpus: %s records, %.1f MB of JSON (%.0f B a record), seed-incident %s accounts x %s days, seed %s\n' \
	"$records" "$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" \
	"$(awk -v b="$bytes" -v n="$records" 'BEGIN { print b / n }')" "$accounts" "$days" "$seed"
printf 'broker: auditflow broker, topics %s (%s estimate %.1f MB packed); produced with kcat -P -z zstd\n' \
	"$parts_line" "$squeezer" "$(awk -v b="$packed_all" 'BEGIN { print b / 1e6 }')"
printf 'median of %s, interleaved; %s online CPUs, %s %% busy in the second before the runs\n\n' \
	"$(nruns)" "$(nproc)" "$busy"
printf '%-44s %10s %8s %8s %8s %14s\n' consumer records/s "wall s" "cpu s" "join s" "rec/s no join"
printf '%-44s %10s %8.3f %8.2f %8s %14s\n' "kcat -C, one per topic, at once (bare)" \
	"$kc_rate" "$kc_wall" "$kc_cpu" - -
printf '%-44s %10s %8.3f %8.2f %8.3f %14s\n' "kcat -G, one group member, three topics" \
	"$kg_rate" "$kg_wall" "$kg_cpu" "$join_med" "$kg_nojoin"
printf '%-44s %10s %8.3f %8.2f %8.3f %14s\n' "auditflow run (enrich, $rules rules)" \
	"$af_rate" "$af_wall" "$af_cpu" "$join_med" "$af_nojoin"
printf '%-44s %10s %8.3f\n' "  the same, by its summary's wall_s" "$af_own_rate" "$af_own"
printf '\n'
printf 'auditflow / kcat -C:                   %s (goal 80 %%: %s)\n' "$ratio_bare" "$verdict"
printf 'auditflow without the join / kcat -C:  %s (%s)\n' "$ratio_bare_nojoin" "$verdict_nojoin"
printf 'auditflow / kcat -G:                   %s; both without the join: %s\n' "$ratio_group" "$ratio_group_nojoin"
printf '\njoin: start to assignment of the same round'"'"'s kcat -G (fresh group); auditflow'"'"'s own\n'
printf '      (warm-up probe, -X debug=cgrp, start to JoinGroup response): %s s\n' "$af_join"
printf 'auditflow: %s alerts a run; %s\n' "$alerts" "$af_cmd"
printf 'kcat %s; auditflow %s\n' "$kcat_version" "$af_version"

if [ -n "$results" ]; then
	{
		cat <<EOF
## Kafka in: \`auditflow run\` against kcat

The same topics of the embedded broker (\`auditflow broker\`, librdkafka's mock
cluster) consumed from the beginning to their end by \`auditflow run\`, doing
all of its work, and by kcat writing the bare messages to /dev/null
(\`bench/kafka/run.sh\`). The clock runs from the start of the process until it
exits, start-up, group join and shutdown included; nothing is subtracted in
the first column.

- corpus: $records records, $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB of JSON, \`auditflow gen --scenario seed-incident --accounts $accounts --days $days --seed $seed\`; geo databases from \`scripts/gen-mmdb\`
- topics: $parts_line (partitions sized at $part_mib MiB of $squeezer-packed records each; the mock keeps 5), each file spread line by line over its partitions and produced with \`kcat -P -z zstd\`; every record checked present
- auditflow: \`$af_cmd\`, City, ASN and Anonymous-IP enrichment, corporate list, all $rules rules; its summary must count every record
- method: median of $(nruns), interleaved (kcat -C, kcat -G, auditflow), a new consumer group each; $(nproc) online CPUs (${cpu_model:-unknown CPU}), $busy % busy in the second before the runs; CPU time is user + system of the run's processes
- versions: auditflow $af_version, kcat $kcat_version

| consumer | records/s | wall s | CPU s | join s | records/s without the join |
| --- | ---: | ---: | ---: | ---: | ---: |
| kcat -C, one per topic, all three at once (bare) | $kc_rate | $(printf '%.3f' "$kc_wall") | $(printf '%.2f' "$kc_cpu") | - | - |
| kcat -G, one group member on the three topics | $kg_rate | $(printf '%.3f' "$kg_wall") | $(printf '%.2f' "$kg_cpu") | $(printf '%.3f' "$join_med") | $kg_nojoin |
| auditflow run | $af_rate | $(printf '%.3f' "$af_wall") | $(printf '%.2f' "$af_cpu") | $(printf '%.3f' "$join_med") | $af_nojoin |
| auditflow run, by its summary's \`wall_s\` | $af_own_rate | $(printf '%.3f' "$af_own") | | | |

- **auditflow / kcat -C: $ratio_bare** (goal 80 %: $verdict); auditflow without the join / kcat -C: $ratio_bare_nojoin
- auditflow / kcat -G: $ratio_group; both without the join: $ratio_group_nojoin

kcat's simple consumer reads one topic a process, so the bare figure is three
of them at once, timed from the first start to the last exit. The join is the
time from the start of the same round's \`kcat -G\` (same librdkafka, same
cooperative-sticky assignor, a new group) to its assignment: the mock answers
a new group's first JoinGroup after about 3 s, and kcat -C joins no group.
auditflow's own join, from a probe run with \`-X debug=cgrp\`: $af_join s.
\`wall_s\` is auditflow's clock from its start to the end of the pipeline,
before the final commit and leave. auditflow raised $alerts alerts a run.

Runs, records/s:

- kcat -C: $(per_run kcat_c)
- kcat -G: $(per_run kcat_g) (without the join: $(per_run kcat_g 3))
- auditflow run: $(per_run auditflow) (without the join: $(per_run auditflow 3))
EOF
	} >"$results"
	say "wrote $results"
fi
