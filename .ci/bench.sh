#!/usr/bin/env bash
# make bench: enrich generated alert NDJSON files offline with the sample
# feeds and print, per case, wall time, alerts/s, peak RSS and the ratio to
# `jq -c .` on the same file, each jq run right after the verdict run it is
# compared with (the machine is shared: only ratios from one run compare).
# Needs bin/verdict (make build) and jq.
#
# Cases (issue 13, item 8):
#   100k, 1M   alerts drawn from a pool of 50,000 indicators
#              goal for 1M: verdict/jq <= 0.5 and peak RSS <= 300 MiB
#   1M-unique  1M alerts drawn from a pool of 1.1M indicators, about 1M
#              unique IOCs in the batch; goal: peak RSS <= 600 MiB
#
# Environment:
#   BENCH_CASES    cases to run (default "100k 1M 1M-unique")
#   BENCH_REPEAT   runs per case (default 1); every run prints its own ratio,
#                  and the last line of a case gives the median and spread
#   BENCH_FORMATS  report formats (default json,txt,html, verdict's default)
#   BENCH_VERDICT  the binary to measure (default bin/verdict): an older build
#                  gives before/after figures from one machine and one hour
#   BENCH_PPROF    a directory: afterwards, profile each case in process
#                  (BenchmarkEnrichFile in pkg/triage) into
#                  DIR/<case>.{cpu,mem,peak-heap}.prof and keep DIR/triage.test;
#                  read them with `go tool pprof DIR/triage.test DIR/1M.cpu.prof`
#   BENCH_STRICT=1 exit 1 when a goal is missed
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench-out
mkdir -p "$out"
go build -o "$out/alertgen" ./cmd/alertgen
command -v jq >/dev/null || { echo "bench: jq is not installed (apt-get install jq)"; exit 1; }
cases=${BENCH_CASES:-"100k 1M 1M-unique"}
repeat=${BENCH_REPEAT:-1}
formats=${BENCH_FORMATS:-json,txt,html}
feeds=samples/feeds
bin=${BENCH_VERDICT:-bin/verdict}
missed=0

# spec CASE prints: alerts pool goal_ratio goal_rss_mib ("-" = no goal).
spec() {
  case "$1" in
    100k) echo "100000 50000 - -" ;;
    1M) echo "1000000 50000 0.5 300" ;;
    1M-unique) echo "1000000 1100000 - 600" ;;
    *) echo "bench: unknown case $1 (want 100k, 1M or 1M-unique)" >&2; exit 2 ;;
  esac
}

input() { # CASE -> generated file (made once, reused by later runs)
  read -r n pool _ _ <<<"$(spec "$1")"
  local f="$out/alerts-$n-u$pool.ndjson"
  [ -s "$f" ] || "$out/alertgen" gen -n "$n" -unique "$pool" -feed-ips "$feeds/et-compromised-ips.txt" -o "$f"
  echo "$f"
}

field() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$2"; }

printf '%-10s %-3s %9s %6s %9s %9s %12s %9s %9s %10s  %s\n' case run alerts MB iocs verdict_s alerts_per_s rss_MiB jq_s verdict/jq goal
for c in $cases; do
  read -r n pool goal_ratio goal_rss <<<"$(spec "$c")"
  f=$(input "$c")
  mb=$(du -mL "$f" | cut -f1)
  ratios=()
  rsses=()
  for ((r = 1; r <= repeat; r++)); do
    rm -rf "$out/cache" "$out/reports"
    v=$("$out/alertgen" measure -- "$bin" --quiet enrich --offline --cache-dir "$out/cache" \
          --feeds "$feeds" -o "$out/reports" --output-name "bench-$c" -f "$formats" "$f" | tail -1)
    j=$("$out/alertgen" measure -- sh -c "jq -c . '$f' >/dev/null" | tail -1)
    [ "$(field exit "$v")" = 0 ] || { echo "bench: verdict exited $(field exit "$v") on $f"; exit 1; }
    vs=$(field wall_seconds "$v")
    rss=$(field peak_rss_mib "$v")
    js=$(field wall_seconds "$j")
    iocs="-"
    if [ -s "$out/reports/bench-$c.json" ]; then
      iocs=$(head -c 4096 "$out/reports/bench-$c.json" | tr -d ' \n' | sed -nE 's/.*"iocs":\{"unique":([0-9]+).*/\1/p')
    fi
    ratio=$(echo "$vs / $js" | bc -l)
    ratios+=("$ratio")
    rsses+=("$rss")
    verdict=""
    if [ "$goal_ratio" != - ]; then
      if (($(echo "$ratio <= $goal_ratio" | bc -l))); then verdict+="ratio ok (<= $goal_ratio) "; else verdict+="RATIO MISSED (> $goal_ratio) "; fi
    fi
    if [ "$goal_rss" != - ]; then
      if (($(echo "$rss <= $goal_rss" | bc -l))); then verdict+="rss ok (<= $goal_rss MiB)"; else verdict+="RSS MISSED (> $goal_rss MiB)"; fi
    fi
    printf '%-10s %-3s %9s %6s %9s %9.2f %12.0f %9.1f %9.2f %10.2f  %s\n' "$c" "$r" "$n" "$mb" "$iocs" "$vs" \
      "$(echo "$n / $vs" | bc -l)" "$rss" "$js" "$ratio" "$verdict"
  done
  # The median decides the goal; min and max say how noisy the runs were.
  med_ratio=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
  med_rss=$(printf '%s\n' "${rsses[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
  if ((repeat > 1)); then
    printf '%-10s %-3s ratio median %.2f (min %.2f, max %.2f), rss median %.1f MiB (min %.1f, max %.1f)\n' "$c" med "$med_ratio" \
      "$(printf '%s\n' "${ratios[@]}" | sort -g | head -1)" "$(printf '%s\n' "${ratios[@]}" | sort -g | tail -1)" \
      "$med_rss" "$(printf '%s\n' "${rsses[@]}" | sort -g | head -1)" "$(printf '%s\n' "${rsses[@]}" | sort -g | tail -1)"
  fi
  if [ "$goal_ratio" != - ] && ! (($(echo "$med_ratio <= $goal_ratio" | bc -l))); then missed=1; fi
  if [ "$goal_rss" != - ] && ! (($(echo "$med_rss <= $goal_rss" | bc -l))); then missed=1; fi
done

if [ -n "${BENCH_PPROF:-}" ]; then
  mkdir -p "$BENCH_PPROF"
  pp=$(realpath "$BENCH_PPROF")
  go test -c -o "$pp/triage.test" ./pkg/triage
  for c in $cases; do
    f=$(realpath "$(input "$c")")
    echo "profiling $c into $pp/$c.*.prof"
    # The test binary runs in its package directory, as go test does.
    (cd pkg/triage && BENCH_ALERTS="$f" BENCH_FORMATS="$formats" BENCH_PEAK_HEAP="$pp/$c.peak-heap.prof" \
      "$pp/triage.test" -test.run='^$' -test.bench='^BenchmarkEnrichFile$' -test.benchtime=1x -test.benchmem \
      -test.cpuprofile="$pp/$c.cpu.prof" -test.memprofile="$pp/$c.mem.prof")
  done
fi

if [ "$missed" = 1 ]; then
  echo "bench: a goal was missed (median of $repeat run(s))"
  [ "${BENCH_STRICT:-}" = 1 ] && exit 1
fi
exit 0
