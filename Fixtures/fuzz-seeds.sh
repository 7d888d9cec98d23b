#!/usr/bin/env bash
# Seeds a libFuzzer corpus folder for one parser from the committed fixtures.
#   Fixtures/fuzz-seeds.sh pickle|zip|safetensors|vlpack|tokenizer-encode CORPUS_DIR
set -euo pipefail
kind=$1 dest=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dest"
small() { find "$here" -type f -size -1024k "$@"; }
case $kind in
  pickle)
    # data.pkl records of every torch zip, plus the raw pickles of the hostile corpus.
    tmp=$(mktemp -d)
    while IFS= read -r f; do
      unzip -o -qq "$f" '*/data.pkl' -d "$tmp/$(basename "$f")" 2>/dev/null || true
    done < <(small \( -name '*.pt' -o -name '*.pth' -o -name '*.bin' \))
    find "$tmp" -name data.pkl | while IFS= read -r p; do cp "$p" "$dest/$(echo "$p" | md5sum | cut -c1-16).pkl"; done
    small -name '*.pkl' -exec cp {} "$dest/" \;
    rm -rf "$tmp" ;;
  zip)
    small \( -name '*.pt' -o -name '*.pth' -o -name '*.bin' -o -name '*.zip' \) -exec cp {} "$dest/" \; ;;
  safetensors)
    small -name '*.safetensors' -exec cp {} "$dest/" \; ;;
  vlpack)
    # No .vlpack is committed: convert the sample LLM (Q4_0, ~1.2 MB) with the built binary ($VLPACK).
    [ -n "$(ls "$dest")" ] || "${VLPACK:?set VLPACK to a vlpack binary}" convert "$here/samples/llama-hf" \
      --quantize q4_0 -o "$dest/sample-llm-q4_0.vlpack" > /dev/null ;;
  tokenizer-encode)
    # Every text and raw byte case of the tokenizer fixtures, one file each, plus the committed findings.
    python3 - "$here/tokenizer/cases.json" "$dest" <<'PY'
import hashlib, json, sys
for m in json.load(open(sys.argv[1]))["models"]:
    for raw in [c["text"].encode() for c in m["cases"]] + [bytes.fromhex(c["hex"]) for c in m["byteCases"]]:
        open(f"{sys.argv[2]}/{hashlib.sha1(raw).hexdigest()[:16]}", "wb").write(raw)
PY
    [ -d "$here/tokenizer/fuzz-findings" ] && cp "$here/tokenizer/fuzz-findings/"* "$dest/" 2>/dev/null || true ;;
  *) echo "unknown parser '$kind'" >&2; exit 2 ;;
esac
echo "$kind: $(ls "$dest" | wc -l) seeds in $dest"
