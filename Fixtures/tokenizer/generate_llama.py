"""Expected ids of transformers 4.28.0's slow LlamaTokenizer (use_fast=False), the layer Video-LLaMA puts
over SentencePiece: the text is split on special and added tokens before each part is encoded.

    /tmp/venv/bin/pip install --no-deps --target /tmp/tf428 transformers==4.28.0 tokenizers==0.13.3
    PYTHONPATH=/tmp/tf428 /tmp/venv/bin/python Fixtures/tokenizer/generate_llama.py

Loads Fixtures/samples/llama-hf as Video-LLaMA does (`LlamaTokenizer.from_pretrained(..., use_fast=False)`,
then `add_tokens(["<ImageHere>"], special_tokens=True)` and the same for `<AudioHere>`), and writes
llama-cases.json: {"transformers", "added": [{"content", "id"}], "cases": [{"text", "ids", "tokens"}],
"decodes": [{"ids", "text"}]} with `ids = encode(text, add_special_tokens=False)` (no BOS), `tokens =
tokenize(text)`, and `text = decode(ids)` (what the official `Chat.answer` calls) on the cases' ids, hand-made
lists with `<s>`/`</s>`/`<unk>`/added ids, and 200 random id lists.

It also writes llama-cases-plain.json from a copy of the folder whose tokenizer_config.json gives the
special tokens as plain strings (as older Vicuna folders do), where transformers strips the whitespace
on both sides of `<s>`/`</s>`/`<unk>`; "special" there lists the flags `convert` records for them.
"""
import shutil
import tempfile
import json
import sys
from pathlib import Path

import transformers
from transformers import LlamaTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import CASES, HERE, ROOT, random_texts  # noqa: E402

assert transformers.__version__ == "4.28.0", transformers.__version__

SPECIAL_CASES = [
    "a <ImageHere> b", " <ImageHere>  ", "\t<ImageHere>\n", "a<ImageHere><AudioHere>b", "<ImageHere>", "<s>", "</s>", "<unk>",
    "x </s> y<s>z", "<s><s> </s>", "<Image<ImageHere>Here>", "<ImageHere >", "x\u3000<AudioHere>\u00a0y", "x\u2028<ImageHere>\u0085y",
    "###Human: <Video><ImageHere></Video> What happens?###Assistant:",
    "[INST] <<SYS>>\n\n<</SYS>>\n\n<Video><ImageHere></Video> Describe it. [/INST] It is a cat. </s><s>[INST] more? [/INST]",
    "Close your eyes, open your ears and you imagine only based on the sound that: <ImageHere>." + " " * 17
    + "Close your ears, open your eyes and you see that <Video><ImageHere></Video>." + " " * 18
    + "Now answer my question based on what you have just seen and heard.",
]


def write_cases(folder, out, special):
    tok = LlamaTokenizer.from_pretrained(str(folder), use_fast=False)
    for t in ["<ImageHere>", "<AudioHere>"]:
        tok.add_tokens([t], special_tokens=True)
    added = [{"content": t, "id": tok.convert_tokens_to_ids(t)} for t in ["<ImageHere>", "<AudioHere>"]]
    texts = SPECIAL_CASES + CASES + random_texts(seed=11, count=200)
    cases = [{"text": t, "ids": tok.encode(t, add_special_tokens=False), "tokens": tok.tokenize(t)} for t in texts]
    for c in cases:  # with BOS, encode only prepends it
        assert tok.encode(c["text"]) == [tok.bos_token_id] + c["ids"]
    # decode(ids) as Chat.answer calls it: special tokens kept as text, added tokens joined with spaces.
    rng = __import__("random").Random(23)
    n = len(tok)
    id_lists = [c["ids"] for c in cases[:60]] + [[1], [2], [0], [1, 2], [5, 1, 1, 7], [187, 2, 173], [2, 444, 1, 339],
                                               [added[0]["id"]], [300, added[0]["id"], added[1]["id"], 301, 1]]
    id_lists += [[rng.randrange(n) for _ in range(rng.randrange(1, 24))] for _ in range(200)]
    decodes = [{"ids": ids, "text": tok.decode(ids)} for ids in id_lists]
    doc = {"transformers": transformers.__version__, "added": added, "special": special, "cases": cases, "decodes": decodes}
    (HERE / out).write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(out, len(cases), "cases; added", added)


def main():
    sample = ROOT / "samples/llama-hf"
    write_cases(sample, "llama-cases.json", [{"content": t, "lstrip": False, "rstrip": False} for t in ["<s>", "</s>", "<unk>"]])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "plain"
        shutil.copytree(sample, folder)
        config = json.loads((folder / "tokenizer_config.json").read_text())
        for key in ["bos_token", "eos_token", "unk_token"]:
            config[key] = config[key]["content"]
        (folder / "tokenizer_config.json").write_text(json.dumps(config))
        (folder / "special_tokens_map.json").write_text(json.dumps({k: config[k] for k in ["bos_token", "eos_token", "unk_token"]}))
        write_cases(folder, "llama-cases-plain.json", [{"content": t, "lstrip": True, "rstrip": True} for t in ["<s>", "</s>", "<unk>"]])


if __name__ == "__main__":
    main()
