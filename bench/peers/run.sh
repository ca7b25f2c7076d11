#!/usr/bin/env bash
# bench/peers/run.sh - put one corpus file through auditflow replay and
# through the tools users would pick instead (syslog-ng, rsyslog), one after
# another on this machine, and print each one's events/s and auditflow's
# ratio to each.
#
# Usage: bench/peers/run.sh BUILD_DIR [--json]
#   BUILD_DIR   a built CMake tree (auditflow, bench/bench_parse)
#   --json      print one JSON line instead of the table
# Environment:
#   RUNS=3              runs of each tool; the median run is reported
#   PEER_EVENTS=200000  records in the corpus (bench_parse --dump)
#   PEERS="auditflow syslog-ng syslog-ng-json rsyslog"   tools, in order
#   GEO_CITY=MMDB GEO_ASN=MMDB   databases for auditflow and syslog-ng's
#                       geoip2 (default: make-bench-mmdb.pl's pair in
#                       bench/out/, as bench/run.sh uses; GEO_DB_ARGS passes
#                       it options)
#   PEERS_DIR=DIR       where the peers' Debian packages are downloaded and
#                       unpacked (default bench/out/peers)
#   PEER_TIMEOUT=600    seconds after which one run counts as failed
#   RESULTS_MD=FILE     also write a Markdown section there
#
# In: the build tree and Debian's package archive (apt-get). Out: the table
# or JSON on stdout, progress on stderr; temporary files under a mkdtemp
# directory, removed at exit. Exit 0 on success, 1 when a run fails its
# checks, 2 on a usage or set-up problem (a missing package when not root).
#
# DESIGN: Debian's syslog-ng-core and rsyslog conflict with each other
# (both provide system-log-daemon), so they cannot both be installed, and
# installing either would replace the machine's own logger. So neither is
# installed: `apt-get download` fetches the .deb files and `dpkg-deb -x`
# unpacks them under PEERS_DIR (no maintainer scripts, so no service is
# ever started), and each binary is run from there with its module
# directory given on the command line. Only their shared libraries are
# installed with apt-get; they conflict with nothing.
#
# Every tool gets the same file, read from the page cache (it is read once
# before the first run), and the clock runs from the start of the process
# to the moment the output holds every record: syslog-ng reads the file
# from a pipe on its stdin and stops by itself at its end; rsyslog has no
# such mode, so its output file is followed (tail -f | head -n N) and the
# clock stops at its N-th line; auditflow stops by itself and its summary
# must count N events. Start-up is in every figure (0.01 to 0.13 s, see
# bench/README.md). Runs are interleaved (run 1 of every tool, then run 2...) so a
# slow phase of the machine does not fall on one tool only. CPU time (user
# + system, all threads, the feeding cat or following tail included) is
# reported beside the wall-clock figure, because the tools use a different
# number of threads: auditflow one per online CPU, syslog-ng and rsyslog
# their default threads.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "$0")" && pwd)"
bench="$(dirname "$here")"

# usage STATUS: the comment's usage lines, on stdout for --help.
usage() {
	if [ "$1" -eq 0 ]; then
		sed -n '7,21p' "$0" | sed 's/^# \{0,1\}//'
	else
		sed -n '7,21p' "$0" | sed 's/^# \{0,1\}//' >&2
	fi
	exit "$1"
}

build=""
json=0
for arg in "$@"; do
	case "$arg" in
	--json) json=1 ;;
	-h | --help) usage 0 ;;
	-*) usage 2 ;;
	*) build="$arg" ;;
	esac
done
if [ -z "$build" ] || [ ! -d "$build" ]; then
	usage 2
fi
build="$(cd "$build" && pwd)"
runs="${RUNS:-3}"
events="${PEER_EVENTS:-200000}"
peers="${PEERS:-auditflow syslog-ng syslog-ng-json rsyslog}"
peers_dir="${PEERS_DIR:-$bench/out/peers}"
limit="${PEER_TIMEOUT:-600}"
for v in "$runs" "$events" "$limit"; do
	case "$v" in
	'' | *[!0-9]* | 0)
		echo "bench/peers: RUNS, PEER_EVENTS and PEER_TIMEOUT are positive integers" >&2
		exit 2
		;;
	esac
done
for p in $peers; do
	case "$p" in
	auditflow | syslog-ng | syslog-ng-json | rsyslog) ;;
	*)
		echo "bench/peers: unknown tool in PEERS: $p" >&2
		exit 2
		;;
	esac
done
for bin in "$build/auditflow" "$build/bench/bench_parse"; do
	if [ ! -x "$bin" ]; then
		echo "bench/peers: $bin is missing; build the tree first" >&2
		exit 2
	fi
done

say() {
	echo "bench/peers: $*" >&2
}

fail() {
	say "$*"
	exit 1
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- packages ---

peer_pkgs="syslog-ng-core syslog-ng-mod-geoip2 rsyslog"

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# apt_root CMD...: run an apt-get command that needs root, refreshing the
# package lists once if it fails (a new machine may have none).
apt_root() {
	if "$@" >"$tmp/apt.log" 2>&1; then
		return 0
	fi
	apt-get update -qq >>"$tmp/apt.log" 2>&1 || true
	"$@" >>"$tmp/apt.log" 2>&1 || {
		cat "$tmp/apt.log" >&2
		return 1
	}
}

# deb_of PKG: the downloaded .deb of PKG (the highest version if several).
deb_of() {
	find "$peers_dir/debs" -maxdepth 1 -name "${1}_*.deb" | sort -V | tail -n 1
}

fetch_peers() {
	local pkg want="" list deps="" p
	mkdir -p "$peers_dir/debs"
	for pkg in $peer_pkgs; do
		[ -n "$(deb_of "$pkg")" ] || want="$want $pkg"
	done
	if [ -n "$want" ]; then
		say "downloading$want (apt-get download, into $peers_dir/debs)"
		# shellcheck disable=SC2086 # a list of package names
		if [ "$(id -u)" -eq 0 ]; then
			(cd "$peers_dir/debs" && apt_root apt-get download -qq $want) ||
				fail "apt-get download$want failed"
		else
			(cd "$peers_dir/debs" && apt-get download -qq $want) ||
				{
					say "apt-get download$want failed (as root this script would run apt-get update first)"
					exit 2
				}
		fi
	fi

	# Unpack again whenever the set of .deb files changed.
	list="$(for pkg in $peer_pkgs; do basename "$(deb_of "$pkg")"; done)"
	if [ ! -f "$peers_dir/root/.debs" ] || [ "$(cat "$peers_dir/root/.debs")" != "$list" ]; then
		rm -rf "$peers_dir/root"
		mkdir -p "$peers_dir/root"
		for pkg in $peer_pkgs; do
			dpkg-deb -x "$(deb_of "$pkg")" "$peers_dir/root"
		done
		printf '%s\n' "$list" >"$peers_dir/root/.debs"
	fi

	# Their run-time dependencies (first of each set of alternatives), less
	# the peers themselves.
	for p in $(for pkg in $peer_pkgs; do dpkg-deb -f "$(deb_of "$pkg")" Depends; done |
		tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/:[a-z0-9]+//; s/[[:space:]]//g' | sort -u); do
		case " $peer_pkgs " in *" $p "*) continue ;; esac
		deps="$deps $p"
	done
	# shellcheck disable=SC2086 # a list of package names
	need $deps
}

# need PKG...: install the Debian packages of the list that are missing
# (as root), or name them and exit 2.
need() {
	local p missing=""
	for p in "$@"; do
		installed "$p" || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	if [ "$(id -u)" -ne 0 ]; then
		say "missing Debian packages:$missing"
		say "install them with: sudo apt-get install -y --no-install-recommends$missing"
		exit 2
	fi
	say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086 # a list of package names
	apt_root apt-get install -y -qq --no-install-recommends $missing ||
		fail "apt-get install$missing failed"
}

# --- inputs ---

# geo_dbs: GEO_CITY/GEO_ASN, or the generated pair bench/run.sh uses.
geo_dbs() {
	if [ -n "${GEO_CITY:-}" ] || [ -n "${GEO_ASN:-}" ]; then
		if [ -z "${GEO_CITY:-}" ] || [ -z "${GEO_ASN:-}" ]; then
			say "set both GEO_CITY and GEO_ASN"
			exit 2
		fi
		city="$(realpath "$GEO_CITY")"
		asn="$(realpath "$GEO_ASN")"
		return 0
	fi
	local list
	need libmaxmind-db-writer-perl
	say "geo databases (make-bench-mmdb.pl, generated once into bench/out/)"
	# shellcheck disable=SC2086 # GEO_DB_ARGS is a list of words
	list="$(perl "$bench/make-bench-mmdb.pl" --out "$bench/out" ${GEO_DB_ARGS:-})"
	city="$(printf '%s\n' "$list" | sed -n 1p)"
	asn="$(printf '%s\n' "$list" | sed -n 2p)"
}

# fill TEMPLATE OUT NAME=VALUE...: copy a configuration template with its
# @NAME@ placeholders replaced.
fill() {
	local src="$1" dst="$2" kv script=""
	shift 2
	for kv in "$@"; do
		case "${kv#*=}" in
		*[\|\"\\\&]*) fail "a path holds a character the configurations cannot take: ${kv#*=}" ;;
		esac
		script="${script}s|@${kv%%=*}@|${kv#*=}|g;"
	done
	sed -e "$script" "$src" >"$dst"
}

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
# cpu_total C0 (EPOCHREALTIME as the last argument when given: rsyslog's
# end comes from a file).
since() {
	local t1="${3:-$EPOCHREALTIME}"
	cpu_children
	cpu="$(awk -v a="$2" -v b="$cpu_total" 'BEGIN { printf "%.3f", b - a }')"
	wall="$(awk -v a="$1" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')"
}

# Each run_TOOL sets wall (seconds) and cpu (seconds), or fails.

run_auditflow() {
	local c0 t0 ok
	rm -f "$tmp/auditflow.summary"
	cpu_children
	c0="$cpu_total"
	t0="$EPOCHREALTIME"
	timeout "$limit" "$build/auditflow" replay -c "$tmp/auditflow.yaml" \
		--geo-city "$city" --geo-asn "$asn" -o /dev/null \
		--summary "$tmp/auditflow.summary" --no-progress "$corpus" \
		2>"$tmp/auditflow.err" || {
		cat "$tmp/auditflow.err" >&2
		fail "auditflow replay failed"
	}
	since "$t0" "$c0"
	ok="$(sed -E -n 's/.*"events_ok":([0-9]+).*/\1/p' "$tmp/auditflow.summary")"
	[ "$ok" = "$events" ] || fail "auditflow counted ${ok:-no} events, not $events"
	sed -E -n 's/^ *geo: .* ([0-9]+) unknown,.*/\1/p' "$tmp/auditflow.err" >"$tmp/auditflow.unknown"
}

# run_syslog_ng geo|json
run_syslog_ng() {
	local conf="$tmp/syslog-ng-$1.conf" out="$tmp/syslog-ng.out" c0 t0 lines
	rm -f "$out" "$tmp/syslog-ng.persist" "$tmp/syslog-ng.pid" "$tmp/syslog-ng.ctl"
	cpu_children
	c0="$cpu_total"
	t0="$EPOCHREALTIME"
	# A pipe, not a redirection: syslog-ng cannot poll a regular file on
	# stdin (it asks for follow-freq(), which never ends).
	# shellcheck disable=SC2002
	cat "$corpus" | timeout "$limit" env LD_LIBRARY_PATH="$sng_lib" "$sng_bin" -F --no-caps \
		--module-path="$sng_mod" -f "$conf" -R "$tmp/syslog-ng.persist" \
		-p "$tmp/syslog-ng.pid" -c "$tmp/syslog-ng.ctl" 2>"$tmp/syslog-ng.err" || {
		cat "$tmp/syslog-ng.err" >&2
		fail "syslog-ng failed"
	}
	since "$t0" "$c0"
	lines="$(wc -l <"$out")"
	[ "$lines" -eq "$events" ] || fail "syslog-ng wrote $lines lines, not $events"
	# Checks, outside the clock: every line has an address; with geo, the
	# lines without a country are the addresses the databases lack.
	awk -F '\t' '$1 == "" { e++ } $2 == "" { g++ }
		END { printf "%d %d\n", e, g }' "$out" >"$tmp/syslog-ng-$1.check"
	[ "$(cut -d' ' -f1 "$tmp/syslog-ng-$1.check")" -eq 0 ] ||
		fail "syslog-ng: some lines have no address; the field pick is wrong"
}

run_rsyslog() {
	local conf="$tmp/rsyslog.conf" out="$tmp/rsyslog.out" c0 t0 pid lines
	rm -rf "$tmp/rsyslog.work" "$tmp/rsyslog.done"
	mkdir "$tmp/rsyslog.work"
	: >"$out"
	cpu_children
	c0="$cpu_total"
	t0="$EPOCHREALTIME"
	"$rs_bin" -n -f "$conf" -i "$tmp/rsyslog.pid" -M "$rs_mod" 2>"$tmp/rsyslog.err" &
	pid=$!
	# head ends at the N-th line; tail ends when rsyslogd does (or the
	# limit passes, and the line count below fails the run).
	timeout "$limit" tail -c +1 --pid="$pid" -f "$out" 2>/dev/null | {
		head -n "$events" >/dev/null
		printf '%s\n' "$EPOCHREALTIME" >"$tmp/rsyslog.done"
		kill "$pid" 2>/dev/null || true
	} || true
	wait "$pid" || true
	since "$t0" "$c0" "$(cat "$tmp/rsyslog.done")"
	lines="$(wc -l <"$out")"
	if [ "$lines" -ne "$events" ]; then
		cat "$tmp/rsyslog.err" >&2
		fail "rsyslog wrote $lines lines, not $events"
	fi
	awk -F '\t' '$1 == "" { e++ } END { print e + 0 }' "$out" >"$tmp/rsyslog.check"
	[ "$(cat "$tmp/rsyslog.check")" -eq 0 ] ||
		fail "rsyslog: some lines have no address; the field pick is wrong"
}

median() {
	sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) exit 1;
		      if (NR % 2) print v[(NR + 1) / 2];
		      else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- set-up ---

case " $peers " in
*" syslog-ng"* | *" rsyslog "*) fetch_peers ;;
esac
geo_dbs
for f in "$city" "$asn"; do
	[ -s "$f" ] || fail "geo database $f is missing"
done

say "corpus: $events records (bench_parse --dump)"
corpus="$tmp/corpus.jsonl"
"$build/bench/bench_parse" --dump "$corpus" --events "$events" >/dev/null
[ "$(wc -l <"$corpus")" -eq "$events" ] || fail "the corpus does not have $events lines"
corpus_bytes="$(stat -c %s "$corpus")"
# Into the page cache, so no tool pays for the first read.
cat "$corpus" "$city" "$asn" >/dev/null

# auditflow: every rule switched on by name (the names from --help, so a
# new rule is on too and a renamed one cannot be missed).
"$build/auditflow" replay --help 2>&1 |
	sed -E -n 's/^ *rules\.([a-z_]+)\.enabled .*/rules.\1.enabled: true/p' >"$tmp/auditflow.yaml"
rules="$(wc -l <"$tmp/auditflow.yaml")"
[ "$rules" -gt 0 ] || fail "found no rules in auditflow replay --help"
af_version="$("$build/auditflow" --version 2>&1 | awk '{ print $2; exit }')"

peer_root="$peers_dir/root"
sng_bin="$peer_root/usr/sbin/syslog-ng"
rs_bin="$peer_root/usr/sbin/rsyslogd"
case " $peers " in
*" syslog-ng"*)
	sng_mod="$(dirname "$(find "$peer_root" -name libgeoip2-plugin.so | head -n 1)")"
	sng_lib="$(dirname "$(find "$peer_root" -name 'libsyslog-ng-*.so.0' | head -n 1)")"
	sng_version="$(dpkg-deb -f "$(deb_of syslog-ng-core)" Version)"
	fill "$here/syslog-ng.conf.in" "$tmp/syslog-ng-geo.conf" OUT="$tmp/syslog-ng.out" \
		CITY="$city" ASN="$asn" GEO_PARSERS="parser(p_city); parser(p_asn);"
	fill "$here/syslog-ng.conf.in" "$tmp/syslog-ng-json.conf" OUT="$tmp/syslog-ng.out" \
		CITY="$city" ASN="$asn" GEO_PARSERS=""
	env LD_LIBRARY_PATH="$sng_lib" "$sng_bin" --module-path="$sng_mod" -s \
		-f "$tmp/syslog-ng-geo.conf" 2>"$tmp/syslog-ng.err" || {
		cat "$tmp/syslog-ng.err" >&2
		fail "syslog-ng rejects its configuration"
	}
	;;
esac
case " $peers " in
*" rsyslog "*)
	rs_mod="$(dirname "$(find "$peer_root" -name mmjsonparse.so | head -n 1)")"
	rs_version="$(dpkg-deb -f "$(deb_of rsyslog)" Version)"
	mkdir -p "$tmp/rsyslog.work"
	fill "$here/rsyslog.conf.in" "$tmp/rsyslog.conf" WORK="$tmp/rsyslog.work" \
		CORPUS="$corpus" OUT="$tmp/rsyslog.out"
	"$rs_bin" -N1 -f "$tmp/rsyslog.conf" -M "$rs_mod" >"$tmp/rsyslog.err" 2>&1 || {
		cat "$tmp/rsyslog.err" >&2
		fail "rsyslog rejects its configuration"
	}
	;;
esac

# --- runs ---

# A warning, not a refusal: how busy the CPUs were over the last second
# (the load average would still count this script's own set-up).
head -n 1 /proc/stat >"$tmp/stat"
sleep 1
head -n 1 /proc/stat >>"$tmp/stat"
busy="$(awk 'NR == 1 { for (i = 2; i <= NF; i++) t0 += $i; i0 = $5 + $6 }
	NR == 2 { for (i = 2; i <= NF; i++) t1 += $i; i1 = $5 + $6 }
	END { printf "%.0f", 100 * (1 - (i1 - i0) / (t1 - t0)) }' "$tmp/stat")"
if [ "$busy" -gt 10 ]; then
	say "the machine is not idle ($busy % of its CPU time busy just now): expect noisy figures"
fi

for i in $(seq 1 "$runs"); do
	for p in $peers; do
		case "$p" in
		auditflow) run_auditflow ;;
		syslog-ng) run_syslog_ng geo ;;
		syslog-ng-json) run_syslog_ng json ;;
		rsyslog) run_rsyslog ;;
		esac
		awk -v n="$events" -v w="$wall" -v c="$cpu" \
			'BEGIN { printf "%.1f %.6f %.3f\n", n / w, w, c }' >>"$tmp/runs.$p"
		say "run $i of $runs: $p $(awk -v n="$events" -v w="$wall" 'BEGIN { printf "%.0f events/s (%.3f s)", n / w, w }')"
	done
done

# --- report ---

# fig TOOL COLUMN: the median across runs (1 events/s, 2 wall s, 3 cpu s).
fig() {
	cut -d' ' -f"$2" "$tmp/runs.$1" | median
}

does() {
	case "$1" in
	auditflow) echo "replay: parse and normalize every schema, dedup, reorder, City+ASN enrichment, all $rules rules; alerts to /dev/null" ;;
	syslog-ng) echo "stdin (no-parse), json-parser, address pick, geoip2 City + geoip2 ASN, tab-separated line to a file" ;;
	syslog-ng-json) echo "the same without the two geoip2 parsers" ;;
	rsyslog) echo "imfile, mmjsonparse, address pick, tab-separated line to a file (no geo: Debian has no mmdblookup)" ;;
	esac
}

label() {
	case "$1" in
	auditflow) echo "auditflow $af_version" ;;
	syslog-ng) echo "syslog-ng $sng_version" ;;
	syslog-ng-json) echo "syslog-ng $sng_version, JSON only" ;;
	rsyslog) echo "rsyslog $rs_version" ;;
	esac
}

key() {
	printf '%s' "$1" | tr '-' '_'
}

af_eps=""
case " $peers " in *" auditflow "*) af_eps="$(fig auditflow 1)" ;; esac

# ratio TOOL: auditflow's events/s over TOOL's, or "-" without auditflow.
ratio() {
	if [ -z "$af_eps" ]; then
		echo "-"
	else
		awk -v a="$af_eps" -v b="$(fig "$1" 1)" 'BEGIN { printf "%.2f", a / b }'
	fi
}

unknown="$(cat "$tmp/auditflow.unknown" 2>/dev/null || true)"
sng_nogeo="$(cut -d' ' -f2 "$tmp/syslog-ng-geo.check" 2>/dev/null || true)"

if [ "$json" -eq 1 ]; then
	{
		printf '{"events":%s,"corpus_bytes":%s,"runs":%s,"online_cpus":%s' \
			"$events" "$corpus_bytes" "$runs" "$(nproc)"
		printf ',"city_db":"%s","asn_db":"%s","busy_before_pct":%s' \
			"$(basename "$city")" "$(basename "$asn")" "$busy"
		for p in $peers; do
			printf ',"%s":{"version":"%s","events_per_s":%.0f,"wall_s":%s,"cpu_s":%s,"auditflow_ratio":%s,"runs_events_per_s":[%s]}' \
				"$(key "$p")" "$(label "$p" | awk '{ print $2 }' | tr -d ,)" \
				"$(fig "$p" 1)" "$(fig "$p" 2)" "$(fig "$p" 3)" \
				"$(r="$(ratio "$p")"; [ "$r" = - ] && echo null || echo "$r")" \
				"$(cut -d' ' -f1 "$tmp/runs.$p" | paste -sd,)"
		done
		[ -n "$unknown" ] && printf ',"auditflow_geo_unknown":%s' "$unknown"
		[ -n "$sng_nogeo" ] && printf ',"syslog_ng_geo_unknown":%s' "$sng_nogeo"
		printf '}\n'
	}
else
	printf 'corpus: %s records, %.1f MB (%.0f B a record); median of %s runs; %s online CPUs\n' \
		"$events" "$(awk -v b="$corpus_bytes" 'BEGIN { print b / 1e6 }')" \
		"$(awk -v b="$corpus_bytes" -v n="$events" 'BEGIN { print b / n }')" "$runs" "$(nproc)"
	printf 'geo: %s, %s; CPUs %s %% busy in the second before the runs\n\n' \
		"$(basename "$city")" "$(basename "$asn")" "$busy"
	printf '%-38s %10s %8s %8s %12s\n' tool events/s "wall s" "cpu s" "auditflow x"
	for p in $peers; do
		printf '%-38s %10.0f %8.3f %8.2f %12s\n' "$(label "$p")" "$(fig "$p" 1)" \
			"$(fig "$p" 2)" "$(fig "$p" 3)" "$(ratio "$p")"
	done
	printf '\n'
	for p in $peers; do
		printf '%-38s %s\n' "$(label "$p")" "$(does "$p")"
	done
	if [ -n "$unknown" ] || [ -n "$sng_nogeo" ]; then
		printf '\nrecords with no geo answer: auditflow %s, syslog-ng %s\n' "${unknown:--}" "${sng_nogeo:--}"
	fi
fi

if [ -n "${RESULTS_MD:-}" ]; then
	{
		cat <<EOF
## auditflow against syslog-ng and rsyslog

The same corpus file through \`auditflow replay\` and through the tools users
would pick instead, from Debian's packages, configured to do only the part
of auditflow's work they can do (\`bench/peers/\`; what each does: see
"Peers" in [README.md](README.md)). The clock runs from the start of the process
until the output holds every record, start-up included.

- corpus: $events records (\`bench_parse --dump\`), $(awk -v b="$corpus_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB
- geo databases: \`$(basename "$city")\`, \`$(basename "$asn")\`
- method: median of $runs runs each, runs interleaved; $(nproc) online CPUs, $busy % busy in the second before the runs; CPU time is user + system of all the run's processes and threads

| tool | what it does | events/s | wall s | CPU s | auditflow's ratio |
| --- | --- | ---: | ---: | ---: | ---: |
EOF
		for p in $peers; do
			printf '| %s | %s | %.0f | %.3f | %.2f | %s |\n' "$(label "$p")" "$(does "$p")" \
				"$(fig "$p" 1)" "$(fig "$p" 2)" "$(fig "$p" 3)" \
				"$(r="$(ratio "$p")"; [ "$r" = - ] && echo - || echo "$r x")"
		done
		if [ -n "$unknown" ] && [ -n "$sng_nogeo" ]; then
			printf '\nRecords with no geo answer: auditflow %s, syslog-ng %s (the same addresses, missing from the databases).\n' "$unknown" "$sng_nogeo"
		fi
		printf '\nRuns, events/s:\n\n'
		for p in $peers; do
			printf -- '- %s: %s\n' "$(label "$p")" \
				"$(awk '{ printf "%s%.0f", (NR > 1 ? ", " : ""), $1 }' "$tmp/runs.$p")"
		done
	} >"$RESULTS_MD"
	say "wrote $RESULTS_MD"
fi
