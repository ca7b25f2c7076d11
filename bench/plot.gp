# bench/plot.gp - draw results.md's plots with gnuplot (5.4 or later).
#
# Run by bench/run.sh after its stages, not by hand in normal use:
#   gnuplot VARS.gp bench/plot.gp
# where VARS.gp sets data = 'DIR', out = 'DIR', plots = 'throughput stages
# peers' and optionally sub and psub (gnuplot -e "..." works as well).
# In: the tab-separated tables run.sh writes into `data` (one row a line):
#   throughput.dat  threads, events/s, linear reference (1-thread events/s x threads)
#   stages.dat      row index, label, ns/event, kind (1 a stage alone, 2 end to
#                   end, 3 the floor: bare parse and look-ups, one thread)
#   peers.dat       row index, label, events/s, kind (1 auditflow, 2 another tool)
# `plots` names the ones to draw; `sub` and `psub` (the corpus of the bench,
# of the peers) and `machine` are lines put under the titles. Out: throughput.png, stages.png and
# peers.png in `out`; errors on stderr, exit status non-zero on failure.
#
# DESIGN: the bars are horizontal (boxxyerror), so long labels ("end to
# end, 2 threads", "syslog-ng 3.38, JSON only") read as they are, and the
# peers' log scale needs no box base at zero: each box starts at the left
# end of the axis.

if (!exists("data") || !exists("out") || !exists("plots")) {
	print "plot.gp: set data, out and plots first (a file before this one, or -e)"
	exit status 2
}
if (!exists("sub")) sub = ""
if (!exists("psub")) psub = ""
if (!exists("machine")) machine = ""

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 1100,600 font "sans,11" noenhanced
} else {
	set terminal png size 1100,600 noenhanced
}
set linetype 1 lc rgb "#3366aa" lw 2 pt 7 ps 1.3
set linetype 2 lc rgb "#cc6633" lw 2 pt 7 ps 1.3
set linetype 3 lc rgb "#999999" lw 2 pt 7 ps 1.3

# What every plot shares; `reset` between plots drops it (but keeps the
# terminal and the line types), so each plot evaluates it first.
common = 'reset; set datafile separator "\t"; ' . \
	'set style fill solid 0.85 border rgb "#333333"; ' . \
	'set border 3; set tics nomirror'

line_of(s) = (s eq "") ? "" : "\n" . s
title_of(t, s) = t . line_of(s) . line_of(machine)
wants(name) = strstrt(" " . plots . " ", " " . name . " ") > 0

# --- throughput.png: end-to-end events/s against worker threads ---
if (wants("throughput")) {
	file = data . "/throughput.dat"
	eval common
	set grid
	set key top left
	stats file using 1:2 nooutput
	set output out . "/throughput.png"
	set title title_of("auditflow bench: end-to-end throughput by worker threads", sub)
	set xlabel "worker threads (-j)"
	set ylabel "events/s (median run)"
	set xrange [0.5:STATS_max_x + 0.5]
	set xtics 1
	set yrange [0:*]
	set format y "%.1s %c"
	plot file using 1:3 with lines dt 2 lt 2 title "linear: 1-thread events/s x threads", \
	     file using 1:2 with linespoints lt 1 title "measured", \
	     file using 1:2:(sprintf("%.0f", $2)) with labels offset 0,1.2 notitle
	unset output
}

# --- stages.png: ns per event, each stage alone and end to end ---
if (wants("stages")) {
	file = data . "/stages.dat"
	eval common
	stats file using 3 nooutput
	n = STATS_records
	set output out . "/stages.png"
	set title title_of("auditflow bench: where the time goes (ns per event, lower is better)", sub)
	set xlabel "ns per event (end to end: wall time / events, all threads)"
	unset ylabel
	set xrange [0:STATS_max * 1.18]
	# top to bottom in the file's order (`reverse` would need autoscaling)
	set yrange [n - 0.4:-0.6]
	set ytics nomirror
	set grid x
	set key top right
	plot file using 3:1:(0):3:($1 - 0.35):($1 + 0.35):4:ytic(2) with boxxyerror lc variable notitle, \
	     NaN with boxes lt 1 title "one stage alone, one thread", \
	     NaN with boxes lt 2 title "end to end", \
	     NaN with boxes lt 3 title "floor: bare simdjson loop and mmdb look-ups, one thread", \
	     file using 3:1:(sprintf(" %.0f", $3)) with labels left notitle
	unset output
}

# --- peers.png: events/s per tool, log scale ---
if (wants("peers")) {
	file = data . "/peers.dat"
	eval common
	stats file using 3 nooutput
	n = STATS_records
	lo = 10 ** floor(log10(STATS_min) - 0.3)
	hi = STATS_max * 2.5
	set output out . "/peers.png"
	set title title_of("auditflow replay against syslog-ng and rsyslog: events/s on one file", psub)
	set xlabel "events/s (median run, log scale; higher is better)"
	unset ylabel
	set logscale x
	set xrange [lo:hi]
	set format x "%.0s %c"
	set yrange [n - 0.4:-0.6]
	set ytics nomirror
	set grid x mx
	set mxtics 10
	plot file using 3:1:(lo):3:($1 - 0.35):($1 + 0.35):4:ytic(2) with boxxyerror lc variable notitle, \
	     file using 3:1:(sprintf(" %.0f", $3)) with labels left notitle
	unset output
}
