#!/bin/sh
# reload-under-tsan.sh - a replay whose City database is replaced (by
# rename, as geoipupdate does) while it runs, with the binary built under
# ThreadSanitizer: the watcher thread swaps the set while the replay thread
# enriches. Passes when the run exits 0, TSan reports nothing, and events
# after the swap carry the new database's answer.
# Usage: tests/e2e/reload-under-tsan.sh PATH_TO_TSAN_AUDITFLOW
set -eu
bin=$1
here=$(cd "$(dirname "$0")/../.." && pwd)
scenario=$here/tests/data/geo/scenario
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cp "$scenario/city.mmdb" "$dir/city.mmdb"
i=0
while [ $i -lt 30 ]; do
	printf '{"CreationTime":"2025-08-25T13:00:%02d","Id":"r%d","Operation":"UserLoggedIn","Workload":"AzureActiveDirectory","UserId":"an@contoso.example","ClientIP":"198.51.100.7"}\n' $i $i
	i=$((i + 1))
done >"$dir/slow.jsonl"
printf 'geo:\n  reload_interval: 50ms\n' >"$dir/auditflow.yaml"

TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$bin" replay -c "$dir/auditflow.yaml" \
	--no-progress --speed 10 --geo-city "$dir/city.mmdb" --events-out "$dir/events.jsonl" \
	"$dir/slow.jsonl" 2>"$dir/stderr" &
pid=$!
sleep 1
cp "$scenario/city-v2.mmdb" "$dir/city.mmdb.new"
mv "$dir/city.mmdb.new" "$dir/city.mmdb"
status=0
wait $pid || status=$?
if [ $status -ne 0 ] || grep -q "ThreadSanitizer" "$dir/stderr"; then
	cat "$dir/stderr" >&2
	echo "reload-under-tsan: FAILED (exit $status)" >&2
	exit 1
fi
tail -n 1 "$dir/events.jsonl" | grep -q '"source.geo.country_iso_code":"NL"' || {
	echo "reload-under-tsan: the last event does not have the new answer" >&2
	exit 1
}
echo "reload-under-tsan: passed (replay swapped its database under TSan, no report)"
