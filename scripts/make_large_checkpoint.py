#!/usr/bin/env python3
"""Write a LLaMA-shaped fp16 checkpoint for benchmarks (not committed; needs torch + safetensors).

    python scripts/make_large_checkpoint.py OUT_DIR --layers 9 --hidden 4096 --ffn 11008 --vocab 32000

writes OUT_DIR/model.pth (one torch.save zip), OUT_DIR/model.safetensors, and the sharded forms
OUT_DIR/hf-bin/ (pytorch_model-0000k-of-0000n.bin + index) and OUT_DIR/hf-st/ (model-*.safetensors +
index, config.json), each holding the same tensors with HF LLaMA names. Copy any SentencePiece
tokenizer.model into the folders to convert them (the benchmark uses the sample's). 9 layers at 7B width is ~4.2 GB per copy.
Values are cheap deterministic patterns, not random: the benchmarks measure I/O and parsing.
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file


def llama_state_dict(layers, hidden, ffn, vocab):
    def tensor(*shape, seed):
        n = 1
        for d in shape:
            n *= d
        base = torch.arange(n, dtype=torch.float32).remainder_(251).sub_(125).mul_(0.001 * (1 + seed % 7))
        return base.to(torch.float16).reshape(shape)

    sd = {"model.embed_tokens.weight": tensor(vocab, hidden, seed=0)}
    for i in range(layers):
        p = f"model.layers.{i}."
        for j, name in enumerate(["q_proj", "k_proj", "v_proj", "o_proj"]):
            sd[p + f"self_attn.{name}.weight"] = tensor(hidden, hidden, seed=i * 10 + j)
        sd[p + "mlp.gate_proj.weight"] = tensor(ffn, hidden, seed=i * 10 + 5)
        sd[p + "mlp.up_proj.weight"] = tensor(ffn, hidden, seed=i * 10 + 6)
        sd[p + "mlp.down_proj.weight"] = tensor(hidden, ffn, seed=i * 10 + 7)
        sd[p + "input_layernorm.weight"] = torch.ones(hidden, dtype=torch.float16)
        sd[p + "post_attention_layernorm.weight"] = torch.ones(hidden, dtype=torch.float16)
    sd["model.norm.weight"] = torch.ones(hidden, dtype=torch.float16)
    sd["lm_head.weight"] = tensor(vocab, hidden, seed=99)
    return sd


def shard(sd, out_dir, shards, fmt):
    os.makedirs(out_dir, exist_ok=True)
    names = list(sd)
    per = (len(names) + shards - 1) // shards
    weight_map = {}
    for k in range(shards):
        part = {n: sd[n] for n in names[k * per:(k + 1) * per]}
        if fmt == "bin":
            fname = f"pytorch_model-{k + 1:05d}-of-{shards:05d}.bin"
            torch.save(part, os.path.join(out_dir, fname))
        else:
            fname = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
            save_file(part, os.path.join(out_dir, fname), metadata={"format": "pt"})
        weight_map.update({n: fname for n in part})
    total = sum(t.numel() * t.element_size() for t in sd.values())
    index = "pytorch_model.bin.index.json" if fmt == "bin" else "model.safetensors.index.json"
    hidden = sd["model.norm.weight"].shape[0]
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
              "intermediate_size": sd["model.layers.0.mlp.gate_proj.weight"].shape[0],
              "num_hidden_layers": sum(1 for n in sd if n.endswith("input_layernorm.weight")),
              "num_attention_heads": hidden // 128, "num_key_value_heads": hidden // 128,
              "vocab_size": sd["lm_head.weight"].shape[0], "rms_norm_eps": 1e-5,
              "max_position_embeddings": 4096, "torch_dtype": "float16"}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out_dir, index), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=9)
    ap.add_argument("--hidden", type=int, default=4096)
    ap.add_argument("--ffn", type=int, default=11008)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--only", choices=["pth", "safetensors", "hf-bin", "hf-st"], action="append")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    sd = llama_state_dict(a.layers, a.hidden, a.ffn, a.vocab)
    only = set(a.only or ["pth", "safetensors", "hf-bin", "hf-st"])
    if "pth" in only:
        torch.save(sd, os.path.join(a.out, "model.pth"))
    if "safetensors" in only:
        save_file(sd, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    if "hf-bin" in only:
        shard(sd, os.path.join(a.out, "hf-bin"), a.shards, "bin")
    if "hf-st" in only:
        shard(sd, os.path.join(a.out, "hf-st"), a.shards, "st")
    total = sum(t.numel() * t.element_size() for t in sd.values())
    print(f"{len(sd)} tensors, {total / 1e9:.2f} GB per copy in {a.out}")


if __name__ == "__main__":
    main()
