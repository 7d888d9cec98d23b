#!/usr/bin/env bash
# Runs a command and reports its peak anonymous resident memory (RssAnon: heap and stacks, not the
# file pages it maps), sampled every 20 ms from /proc, plus wall time.
#   scripts/peak_rss_anon.sh vlpack convert ... -o out.vlpack
set -u
start=$(date +%s.%N)
"$@" &
pid=$!
peak=0
while kill -0 "$pid" 2>/dev/null; do
  kb=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  [ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
  sleep 0.02
done
wait "$pid"; status=$?
end=$(date +%s.%N)
printf 'peak RssAnon: %d KiB (%.1f MiB); wall: %.2f s; exit %d\n' "$peak" "$(echo "$peak/1024" | bc -l)" "$(echo "$end-$start" | bc -l)" "$status" >&2
exit $status
