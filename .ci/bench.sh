#!/usr/bin/env bash
# make bench: enrich generated 100k and 1M alert NDJSON files offline with the
# sample feeds, and report alerts/s, peak RSS and the ratio to `jq -c .` on
# the same file. Needs bin/verdict (make build) and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench-out
mkdir -p "$out"
go build -o "$out/alertgen" ./cmd/alertgen
command -v jq >/dev/null || { echo "bench: jq is not installed (apt-get install jq)"; exit 1; }
sizes=${BENCH_SIZES:-"100000 1000000"}
formats=${BENCH_FORMATS:-json,txt,html}
printf '%-9s %-10s %9s %12s %10s %9s %12s\n' alerts MB verdict_s alerts_per_s rss_MiB jq_s verdict/jq
for n in $sizes; do
  f="$out/alerts-$n.ndjson"
  [ -s "$f" ] || "$out/alertgen" gen -n "$n" -unique 50000 -feed-ips samples/feeds/et-compromised-ips.txt -o "$f"
  mb=$(du -m "$f" | cut -f1)
  rm -rf "$out/cache" "$out/reports"
  v=$("$out/alertgen" measure -- bin/verdict --quiet enrich --offline --cache-dir "$out/cache" \
        --feeds samples/feeds -o "$out/reports" --output-name "bench-$n" -f "$formats" "$f" | tail -1)
  j=$("$out/alertgen" measure -- sh -c "jq -c . '$f' >/dev/null" | tail -1)
  vs=$(sed -E 's/.*wall_seconds=([0-9.]+).*/\1/' <<<"$v")
  rss=$(sed -E 's/.*peak_rss_mib=([0-9.]+).*/\1/' <<<"$v")
  code=$(sed -E 's/.*exit=([0-9]+).*/\1/' <<<"$v")
  js=$(sed -E 's/.*wall_seconds=([0-9.]+).*/\1/' <<<"$j")
  [ "$code" = 0 ] || { echo "verdict exited $code on $f"; exit 1; }
  printf '%-9s %-10s %9.2f %12.0f %10.1f %9.2f %12.2f\n' "$n" "$mb" "$vs" "$(echo "$n / $vs" | bc -l)" "$rss" "$js" "$(echo "$vs / $js" | bc -l)"
done
