#!/usr/bin/env python3
"""Write a random-weight LLaMA checkpoint folder in Hugging Face layout (not committed; needs numpy + safetensors).

    python scripts/make_random_llama.py OUT_DIR --layers 22 --hidden 2048 --ffn 5632 --heads 32 --vocab 32000 --dtype f16

Writes OUT_DIR/config.json, generation_config.json, model-0000k-of-0000n.safetensors + index (one shard
per few layers, so memory stays near one shard), and copies a 32000-piece SentencePiece model
(Fixtures/tokenizer/bpe32k.model) as tokenizer.model when the vocabulary is 32000.

Weights are drawn variance-preserving, as the project's full-size checks require: every Linear weight
N(0, 1/fan_in), RMSNorm weights N(1, 0.1²), token embeddings N(0, 0.5²) — so the logits depend on the
input and quantization error cannot hide behind input-independent outputs. Shapes used by the
benchmarks: ~1 B (22 × 2048 / 5632, TinyLlama's width with full multi-head attention) and the 7 B
shape (32 × 4096 / 11008, 32 heads).
"""
import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--ffn", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--dtype", choices=["f16", "f32"], default="f16")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--layers-per-shard", type=int, default=4)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    dtype = np.float16 if a.dtype == "f16" else np.float32
    rng = np.random.default_rng(a.seed)
    d, ffn, V = a.hidden, a.ffn, a.vocab

    def normal(std, *shape):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(dtype)

    def linear(rows, cols):
        return normal(1 / np.sqrt(cols), rows, cols)

    def norm():
        return (1 + rng.standard_normal(d, dtype=np.float32) * np.float32(0.1)).astype(dtype)

    groups = [list(range(i, min(i + a.layers_per_shard, a.layers))) for i in range(0, a.layers, a.layers_per_shard)]
    shards = len(groups) + 1
    weight_map = {}
    for k in range(shards):
        tensors = {}
        if k == 0:
            tensors["model.embed_tokens.weight"] = normal(0.5, V, d)
        if k == shards - 1:
            tensors["model.norm.weight"] = norm()
            tensors["lm_head.weight"] = linear(V, d)
        for i in groups[k] if k < len(groups) else []:
            p = f"model.layers.{i}."
            for name in ["q_proj", "k_proj", "v_proj", "o_proj"]:
                tensors[p + f"self_attn.{name}.weight"] = linear(d, d)
            tensors[p + "mlp.gate_proj.weight"] = linear(ffn, d)
            tensors[p + "mlp.up_proj.weight"] = linear(ffn, d)
            tensors[p + "mlp.down_proj.weight"] = linear(d, ffn)
            tensors[p + "input_layernorm.weight"] = norm()
            tensors[p + "post_attention_layernorm.weight"] = norm()
        name = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        save_file(tensors, str(out / name), metadata={"format": "pt"})
        weight_map.update({t: name for t in tensors})
        del tensors
    (out / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}, indent=2))
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
        "hidden_size": d, "intermediate_size": ffn, "num_hidden_layers": a.layers,
        "num_attention_heads": a.heads, "num_key_value_heads": a.heads, "vocab_size": V,
        "max_position_embeddings": 2048, "rms_norm_eps": 1e-6, "bos_token_id": 1, "eos_token_id": 2,
        "pad_token_id": 0, "tie_word_embeddings": False, "rope_scaling": None,
        "torch_dtype": "float16" if a.dtype == "f16" else "float32",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    (out / "generation_config.json").write_text(json.dumps({"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}))
    if V == 32000:
        shutil.copy(ROOT / "Fixtures" / "tokenizer" / "bpe32k.model", out / "tokenizer.model")
    params = V * d * 2 + a.layers * (4 * d * d + 3 * d * ffn + 2 * d) + d
    print(f"{out}: {a.layers} layers, hidden {d}, ffn {ffn}, heads {a.heads}, vocab {V}: {params / 1e9:.3f} B parameters, {a.dtype}")


if __name__ == "__main__":
    main()
