"""Summarize a GGUF file as JSON with the `gguf` package: metadata (arrays by length and SHA-256 of
their JSON) and every tensor's name, type, shape (ggml order) and SHA-256 of its bytes.

Used to make Fixtures/gguf/sample-llm-f16.json from llama.cpp's own converter:
  python3 convert_hf_to_gguf.py Fixtures/samples/llama-hf --outtype f16 --outfile ref.gguf
  python3 Fixtures/gguf/summarize.py ref.gguf > Fixtures/gguf/sample-llm-f16.json
and by Tests/VLQuantizeTests (when python3 has gguf) to read back `vlpack export --to gguf`.
"""
import hashlib, json, sys
import gguf

def value(f):
    if not f.data:
        return None
    if f.types[0] == gguf.GGUFValueType.ARRAY:
        if f.types[1] == gguf.GGUFValueType.STRING:
            items = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
        else:
            items = [f.parts[i].tolist()[0] for i in f.data]
        return {"length": len(items), "sha256": hashlib.sha256(json.dumps(items).encode()).hexdigest()}
    if f.types[0] == gguf.GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode("utf-8")
    return f.parts[f.data[0]].tolist()[0]

r = gguf.GGUFReader(sys.argv[1])
out = {
    "metadata": {k: value(f) for k, f in r.fields.items() if not k.startswith("GGUF.")},
    "tensors": [{"name": t.name, "type": t.tensor_type.name, "shape": [int(d) for d in t.shape],
                 "sha256": hashlib.sha256(t.data.tobytes()).hexdigest()} for t in r.tensors],
}
print(json.dumps(out, indent=1, sort_keys=True))
