#!/usr/bin/env bash
# Draws the CSV of sop_compare as a PNG: for each workload, every engine's
# figure as a multiple of the best peer's (1 = as good as the best of LMDB,
# LevelDB, RocksDB and SQLite; above 1 is better, for every row: latency and
# space are inverted so that higher is better everywhere).
#   benchmarks/plot_compare.sh compare.csv docs/compare.png
# Needs gnuplot (Debian: gnuplot-nox).
set -euo pipefail
csv=${1:-compare.csv}
png=${2:-compare.png}
table=$(mktemp)
trap 'rm -f "$table"' EXIT

# CSV rows: "workload",unit,engine,value,ratio -> one line per workload with
# the ratios of SOP LMDB LevelDB RocksDB SQLite (inverted where lower is better).
awk -F, '
  NR == 1 { next }
  $3 == "bare fdatasync" { next }
  {
    w = $1; gsub(/"/, "", w); unit = $2; r = $5 + 0
    if (unit == "us" || unit == "x raw") r = (r > 0) ? 1 / r : 0
    if (!(w in seen)) { seen[w] = 1; order[++n] = w }
    ratio[w, $3] = r
  }
  END {
    split("SOP LMDB LevelDB RocksDB SQLite", engines, " ")
    for (i = 1; i <= n; i++) {
      w = order[i]; line = "\"" w "\""
      for (e = 1; e <= 5; e++) line = line " " ((w, engines[e]) in ratio ? ratio[w, engines[e]] : 0)
      print line
    }
  }' "$csv" > "$table"

gnuplot <<GNUPLOT
set terminal pngcairo size 1600,900 font "sans,10"
set output "$png"
set title "SOP and its peers, each figure / the best peer's (higher is better; log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [0.03:3]
set ytics (0.03, 0.1, 0.3, 1, 3)
set grid ytics
set xtics rotate by -40 left
set key top right
set bmargin 12
set rmargin 10
plot "$table" using 2:xtic(1) title "SOP", \
     "" using 3 title "LMDB", "" using 4 title "LevelDB", \
     "" using 5 title "RocksDB", "" using 6 title "SQLite"
GNUPLOT
echo "wrote $png"
