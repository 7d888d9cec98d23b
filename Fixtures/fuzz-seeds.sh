#!/usr/bin/env bash
# Seeds a libFuzzer corpus folder for one parser from the committed fixtures.
#   Fixtures/fuzz-seeds.sh pickle|zip|safetensors|vlpack|tokenizer-model|json|tokenizer-encode CORPUS_DIR
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
  tokenizer-model)
    # The sample SentencePiece model and cut-down variants: truncated inside a piece, cut at the
    # end of the first pieces (field boundaries, so still valid), and the trainer_spec alone.
    src="$here/samples/llama-hf/tokenizer.model"
    cp "$src" "$dest/sample.model"
    head -c 1000 "$src" > "$dest/truncated-1000.model"
    head -c 7 "$src" > "$dest/truncated-7.model"
    python3 - "$src" "$dest" <<'PY'
import sys
data, dest = open(sys.argv[1], 'rb').read(), sys.argv[2]
def varint(i):
    v = s = 0
    while True:
        b = data[i]; i += 1; v |= (b & 0x7F) << s; s += 7
        if b < 0x80: return v, i
i, ends, spec = 0, [], None
while i < len(data):
    key, j = varint(i)
    assert key & 7 == 2, "every top-level field of a ModelProto is length-delimited"
    n, j = varint(j)
    if key >> 3 == 2: spec = data[i:j + n]
    i = j + n; ends.append(i)
for k in (1, 4, 16):
    open(f"{dest}/first-{k}-pieces.model", 'wb').write(data[:ends[k - 1]])
if spec: open(f"{dest}/trainer-spec-only.model", 'wb').write(spec)
PY
    ;;
  json)
    # Every JSON file under 64 KiB of the fixtures and the model maps (maps, configs, manifests):
    # larger ones only slow each execution down.
    { find "$here" -type f -size -64k -name '*.json'; find "$here/../Formats/maps" -name '*.json'; } | while IFS= read -r f; do
      cp "$f" "$dest/$(echo "$f" | md5sum | cut -c1-16).json"
    done ;;
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
