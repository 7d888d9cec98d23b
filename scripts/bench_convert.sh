#!/usr/bin/env bash
# Conversion throughput vs `cp` + `sync` of the same bytes, peak RssAnon, and open time of the output.
#   scripts/bench_convert.sh /tmp/large/hf-st /tmp/large/hf-bin
# Inputs: folders written by scripts/make_large_checkpoint.py (plus a tokenizer.model). Both the copy
# and the conversion read from a warm page cache and end on durable storage (VLPack fsyncs).
set -euo pipefail
shopt -s nullglob
here=$(cd "$(dirname "$0")/.." && pwd)
vlpack=${VLPACK:-$here/.build/release/vlpack}
out=${OUT_DIR:-/tmp/vlpack-bench}
mkdir -p "$out"
for input in "$@"; do
  bytes=$(cat "$input"/*.safetensors "$input"/*.bin | wc -c)
  cat "$input"/* > /dev/null                                   # warm the page cache
  rm -rf "$out/copy"; mkdir -p "$out/copy"
  t0=$(date +%s.%N); cp "$input"/* "$out/copy/"; sync; t1=$(date +%s.%N)
  rm -rf "$out/copy"; sync
  cp_s=$(echo "$t1 - $t0" | bc -l)
  rm -f "$out/model.vlpack"
  t0=$(date +%s.%N)
  "$here/scripts/peak_rss_anon.sh" "$vlpack" convert "$input" -o "$out/model.vlpack" 2> "$out/convert.err"
  t1=$(date +%s.%N)
  conv_s=$(echo "$t1 - $t0" | bc -l)
  open_ms=$("$vlpack" bench open "$out/model.vlpack")
  printf '%s: %.2f GB; cp+sync %.2f s (%.2f GB/s); convert %.2f s (%.2f GB/s); ratio %.2f; %s; open %s\n' \
    "$input" "$(echo "$bytes/1000000000" | bc -l)" "$cp_s" "$(echo "$bytes/1000000000/$cp_s" | bc -l)" "$conv_s" \
    "$(echo "$bytes/1000000000/$conv_s" | bc -l)" "$(echo "$cp_s/$conv_s" | bc -l)" "$(grep 'peak RssAnon' "$out/convert.err")" "$open_ms"
done
