#!/usr/bin/env python3
"""Expected outputs of transformers 4.28.0's logits processors and warpers (the version the official
Video-LLaMA code pins), for VLPack's LogitsWarper tests.

    python3 -m venv --system-site-packages /tmp/venv428
    /tmp/venv428/bin/pip install transformers==4.28.0 torch numpy
    /tmp/venv428/bin/python Fixtures/generation/generate_warpers.py

For each case: a logit vector (random, with ties, with very large and very small spreads), the ids
so far, and the parameters; transformers' chain is applied in its sampling order —
RepetitionPenaltyLogitsProcessor, MinLengthLogitsProcessor (processors), then TemperatureLogitsWarper,
TopKLogitsWarper, TopPLogitsWarper (warpers, min_tokens_to_keep = 1) — and the kept ids and the
softmax probabilities are written to warpers.json.
"""
import json
import random
from pathlib import Path

import torch
import transformers
from transformers.generation.logits_process import (LogitsProcessorList, MinLengthLogitsProcessor,
                                                    RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper,
                                                    TopKLogitsWarper, TopPLogitsWarper)

OUT = Path(__file__).resolve().parent / "warpers.json"
EOS = 2


def logits_for(rng: random.Random, kind: str, vocab: int) -> list[float]:
    if kind == "normal":
        return [rng.gauss(0, 3) for _ in range(vocab)]
    if kind == "ties":  # values on a coarse grid: many exact ties, also at the top-k/top-p borders
        return [round(rng.gauss(0, 2)) / 2 for _ in range(vocab)]
    if kind == "peaked":  # one dominant token
        v = [rng.gauss(0, 1) for _ in range(vocab)]
        v[rng.randrange(vocab)] += 25
        return v
    if kind == "flat":  # nearly uniform
        return [rng.uniform(-0.01, 0.01) for _ in range(vocab)]
    return [rng.uniform(-40, 40) for _ in range(vocab)]  # "wide"


def main():
    rng = random.Random(20261203)
    torch.manual_seed(0)
    cases = []
    kinds = ["normal", "ties", "peaked", "flat", "wide"]
    for i in range(150):
        vocab = rng.choice([8, 32, 50, 64, 128])
        kind = kinds[i % len(kinds)]
        logits = [float(torch.tensor(x, dtype=torch.float32)) for x in logits_for(rng, kind, vocab)]
        params = {
            "temperature": rng.choice([1.0, 1.0, 0.1, 0.7, 1.3, 2.0]),
            "top_k": rng.choice([50, 50, 0, 1, 5, 10, 200]),
            "top_p": rng.choice([0.9, 0.9, 1.0, 0.5, 0.99, 0.1]),
            "repetition_penalty": rng.choice([1.0, 1.0, 1.2, 0.8]),
            "min_length": rng.choice([1, 1, 10]),
        }
        sequence = [rng.randrange(vocab) for _ in range(rng.randrange(1, 12))]
        processors = LogitsProcessorList()
        if params["repetition_penalty"] != 1.0:
            processors.append(RepetitionPenaltyLogitsProcessor(penalty=params["repetition_penalty"]))
        if params["min_length"] > 0 and EOS < vocab:
            processors.append(MinLengthLogitsProcessor(params["min_length"], eos_token_id=EOS))
        warpers = LogitsProcessorList()
        if params["temperature"] != 1.0:
            warpers.append(TemperatureLogitsWarper(params["temperature"]))
        if params["top_k"] != 0:
            warpers.append(TopKLogitsWarper(top_k=params["top_k"], min_tokens_to_keep=1))
        if params["top_p"] < 1.0:
            warpers.append(TopPLogitsWarper(top_p=params["top_p"], min_tokens_to_keep=1))
        ids = torch.tensor([sequence])
        scores = torch.tensor([logits], dtype=torch.float32)
        scores = warpers(ids, processors(ids, scores))[0]
        probs = scores.softmax(-1)
        kept = [j for j in range(vocab) if scores[j] != float("-inf")]
        cases.append({"kind": kind, "logits": logits, "sequence": sequence, "params": params,
                      "kept": kept, "probabilities": [float(p) for p in probs]})
    OUT.write_text(json.dumps({"generator": "Fixtures/generation/generate_warpers.py",
                               "transformers": transformers.__version__, "torch": torch.__version__,
                               "eos_id": EOS, "cases": cases}) + "\n")
    print(f"{OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
