"""Benchmark inputs for the tokenizer (not committed): 1 MB texts, their prefixes, and sentencepiece's
own encode time and ids (hashed) on each, for `TokenizerBench` to compare against.

    /tmp/venv/bin/python Fixtures/tokenizer/bench.py /tmp/tokbench
    VLTOKENIZER_BENCH=/tmp/tokbench swift test --filter TokenizerBench
"""
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import sentencepiece as spm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import ROOT, corpus_lines  # noqa: E402

SIZE = 1_000_000


def clip(text, size):
    raw = text.encode()[:size]
    return raw.decode(errors="ignore")  # cut on a character boundary


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    multilingual = clip("\n".join(corpus_lines(seed=99, lines=40000)), SIZE)
    rng = random.Random(7)
    nospace = "".join(rng.choice("abcdefghij") for _ in range(SIZE))  # one 1 MB "word": no whitespace to split on
    texts = {}
    for name, text in [("multilingual", multilingual), ("nospace", nospace)]:
        for part in [8, 4, 2, 1]:
            texts[f"{name}-{SIZE // part // 1000}k"] = clip(text, SIZE // part)
    results = []
    for model in ["samples/llama-hf/tokenizer.model", "tokenizer/bpe32k.model"]:
        sp = spm.SentencePieceProcessor(model_file=str(ROOT / model))
        for name, text in texts.items():
            (out / f"{name}.txt").write_text(text)
            best = float("inf")
            for _ in range(7):
                t0 = time.perf_counter()
                ids = sp.encode(text)
                best = min(best, time.perf_counter() - t0)
            digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()
            results.append({"model": model, "text": f"{name}.txt", "bytes": len(text.encode()), "ids": len(ids),
                            "sha256": digest, "sentencepieceSeconds": best})
            print(f"{model:40} {name:18} {len(text.encode()):>8} B {len(ids):>8} ids  sentencepiece {best * 1000:8.1f} ms")
    (out / "bench.json").write_text(json.dumps({"sentencepiece": spm.__version__, "runs": results}, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
