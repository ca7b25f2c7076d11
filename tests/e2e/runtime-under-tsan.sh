#!/bin/sh
# runtime-under-tsan.sh - the multi-threaded runtime (pipeline/runtime/)
# under ThreadSanitizer, through the real binary: a generated scenario with
# its geo databases, plus a small input of bad and repeated records so the
# dead-letter and duplicate paths run too, replayed with -j 1, 3 and 4 and
# batches of 256, 7 and 64 records, every sink writing to a file; then a
# paced replay stopped by SIGINT part-way; then a paced replay with
# checkpoints, stopped and resumed.
# Passes when every run exits 0 with no TSan report, the three runs raise
# the same alerts (and some), each summary's counts add up, and the
# interrupted run read fewer records than it was given.
# Usage: tests/e2e/runtime-under-tsan.sh PATH_TO_TSAN_AUDITFLOW
# Needs: perl with JSON::PP, and what scripts/gen-mmdb needs.
set -eu
bin=$1
here=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d)
pid=
trap 'if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi; rm -rf "$dir"' EXIT
TSAN_OPTIONS="halt_on_error=1 exitcode=66"
export TSAN_OPTIONS

fail() {
	echo "runtime-under-tsan: FAILED: $*" >&2
	exit 1
}

# A run's exit status and stderr: any TSan report fails the test, even
# one that did not change the status.
check_run() {
	if [ "$2" -ne 0 ] || grep -q "ThreadSanitizer" "$dir/$1.err"; then
		cat "$dir/$1.err" >&2
		fail "$1 (exit $2)"
	fi
}

# Print "events_in events_ok events_invalid" of a summary file, failing when its counts do
# not add up: in = ok + invalid + duplicates, invalid = the sum by reason,
# alerts = the sum by rule.
summary_counts() {
	perl -MJSON::PP -e '
		local $/;
		open my $f, "<", $ARGV[0] or die "$ARGV[0]: $!\n";
		my $s = decode_json(<$f>);
		my ($inv, $al) = (0, 0);
		$inv += $_ for values %{ $s->{invalid_by_reason} };
		$al += $_ for values %{ $s->{alerts_by_rule} };
		die "$ARGV[0]: counts do not add up\n"
		    unless $s->{events_in} == $s->{events_ok} + $s->{events_invalid} + $s->{duplicates}
		    && $inv == $s->{events_invalid} && $al == $s->{alerts};
		print "$s->{events_in} $s->{events_ok} $s->{events_invalid}\n";
	' "$1" || fail "summary $1"
}

sc=$dir/sc
"$bin" gen --scenario seed-incident --accounts 60 --days 10 --out "$sc" >"$dir/gen.err" 2>&1 ||
	{ cat "$dir/gen.err" >&2; fail "gen"; }
"$here/scripts/gen-mmdb" "$sc" >/dev/null || fail "gen-mmdb"
# Three unusable records and a copy of the first sign-in (a duplicate
# across inputs).
{
	printf '{"CreationTime":"2025-08-01T09:00:00","Id":"x",}\n'
	printf '{"hello":"world"}\n'
	printf '42\n'
	head -n 1 "$sc/signins.jsonl"
} >"$sc/bad.jsonl"

# replay NAME OPTION...: the four inputs, every output to a file.
replay() {
	name=$1
	shift
	status=0
	"$bin" replay -c "$sc/geo.yaml" --no-progress -o "$dir/$name.alerts" \
		--events-out "$dir/$name.events" --dlq "$dir/$name.dlq" \
		--summary "$dir/$name.summary" "$@" \
		"$sc/signins.jsonl" "$sc/audit.jsonl" "$sc/messagetrace.jsonl" "$sc/bad.jsonl" \
		2>"$dir/$name.err" || status=$?
	check_run "$name" "$status"
	sort "$dir/$name.alerts" >"$dir/$name.sorted"
	counts=$(summary_counts "$dir/$name.summary") || exit 1
	# shellcheck disable=SC2086 # three numbers: split them
	set -- $counts
	[ "$(wc -l <"$dir/$name.events")" -eq "$2" ] || fail "$name: not one event line per event"
	[ "$3" -eq 3 ] || fail "$name: $3 dead letters, not 3"
	[ "$(wc -l <"$dir/$name.dlq")" -eq "$3" ] || fail "$name: not one dead-letter line each"
}

replay j1 -j 1 --batch-size 256
replay j3 -j 3 --batch-size 7
replay j4 -j 4 --batch-size 64
[ -s "$dir/j1.sorted" ] || fail "the scenario raised no alert"
for run in j3 j4; do
	if ! cmp -s "$dir/j1.sorted" "$dir/$run.sorted"; then
		diff "$dir/j1.sorted" "$dir/$run.sorted" >&2 || true
		fail "$run raised other alerts than j1"
	fi
done

# Paced so the sign-ins' 10 days last about 2 s. SIGINT is taken by the
# replay only once its threads run (before that it would kill it), so wait
# for the first dead letters (bad.jsonl goes first and is not paced), then
# half a second more.
speed=$((10 * 86400 / 2))
"$bin" replay -c "$sc/geo.yaml" --no-progress -j 2 --batch-size 16 --speed "$speed" \
	-o "$dir/paced.alerts" --dlq "$dir/paced.dlq" --summary "$dir/paced.summary" \
	"$sc/bad.jsonl" "$sc/signins.jsonl" 2>"$dir/paced.err" &
pid=$!
tries=0
while [ ! -s "$dir/paced.dlq" ]; do
	tries=$((tries + 1))
	[ $tries -le 600 ] || fail "the paced replay wrote no dead letter in 60 s"
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
sleep 0.5
kill -INT "$pid" 2>/dev/null || true
status=0
wait "$pid" || status=$?
pid=
check_run paced "$status"
grep -q "interrupted" "$dir/paced.err" || fail "the paced replay ended before SIGINT"
counts=$(summary_counts "$dir/paced.summary") || exit 1
# shellcheck disable=SC2086 # three numbers: split them
set -- $counts
given=$(cat "$sc/bad.jsonl" "$sc/signins.jsonl" | wc -l)
[ "$1" -lt "$given" ] || fail "the interrupted replay read all $given records"


# Checkpoints: the four inputs paced at -j 3 with a checkpoint every 50 ms,
# stopped by SIGINT after its first checkpoint, then the same command
# without the pace, which resumes and reads to the end: the alerts of the
# two together are j1's.
ck() {
	${ck_exec:-} "$bin" replay -c "$sc/geo.yaml" --no-progress -j 3 --batch-size 7 --state-dir "$dir/state" \
		--checkpoint-interval 50ms -o "$dir/ck.alerts" --dlq "$dir/ck.dlq" "$@" \
		"$sc/signins.jsonl" "$sc/audit.jsonl" "$sc/messagetrace.jsonl" "$sc/bad.jsonl"
}
# Paced to about 6 s: a TSan build takes a while to write its first one.
# In a subshell that becomes the replay (exec), so SIGINT reaches it: a
# background shell ignores SIGINT.
(ck_exec=exec ck --speed $((10 * 86400 / 6)) --summary "$dir/ck1.summary") 2>"$dir/ck1.err" &
pid=$!
tries=0
while [ ! -s "$dir/state/checkpoint" ]; do
	tries=$((tries + 1))
	[ $tries -le 600 ] || fail "the paced replay wrote no checkpoint in 60 s"
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
sleep 0.3
kill -INT "$pid" 2>/dev/null || true
status=0
wait "$pid" || status=$?
pid=
check_run ck1 "$status"
grep -q "interrupted" "$dir/ck1.err" || fail "the checkpointed replay ended before SIGINT"
status=0
ck --summary "$dir/ck2.summary" 2>"$dir/ck2.err" || status=$?
check_run ck2 "$status"
grep -q "resuming from checkpoint" "$dir/ck2.err" || fail "the second run did not resume"
summary_counts "$dir/ck2.summary" >/dev/null || exit 1
sort "$dir/ck.alerts" >"$dir/ck.sorted"
if ! cmp -s "$dir/j1.sorted" "$dir/ck.sorted"; then
	diff "$dir/j1.sorted" "$dir/ck.sorted" >&2 || true
	fail "the stopped and resumed replay raised other alerts than j1"
fi

echo "runtime-under-tsan: passed ($(wc -l <"$dir/j1.sorted") alerts alike for -j 1/3/4" \
	"and for a stopped and resumed replay; interrupted after $1 of $given records; no TSan" \
	"report)"
