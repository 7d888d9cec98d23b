#!/usr/bin/env python3
"""Meta <-> HF LLaMA fixture: one tiny LLaMA-2-style model in Meta's original form (2 model-parallel
shards) and the HF form that transformers' OWN conversion script derives from it.

Run by hand (nothing in the build runs it):

    /tmp/venv/bin/python Fixtures/meta_hf/generate.py --convert-script PATH/convert_llama_weights_to_hf.py

PATH is transformers' `src/transformers/models/llama/convert_llama_weights_to_hf.py`, taken verbatim
from the huggingface/transformers repository (see README.md for the exact commit and the file's
sha256; the script is not shipped in the transformers 5.24 wheel or sdist, and it is not copied into
this repository). This script never permutes q/k itself: the HF tensors are whatever that script writes.

Steps:
  1. Deterministic weights (torch.manual_seed(0), single-threaded) for dim 256, n_layers 2, n_heads 4
     (head dim 64), multiple_of 256 (-> FFN 768), norm_eps 1e-5, vocab 512 = the pieces of
     Fixtures/samples/llama-meta/tokenizer.model. Every value is chosen exactly representable in both
     float16 and bfloat16 (rounded to bf16, magnitudes below 2^-14 flushed to 0): the Meta files are
     float16, and transformers' script loads the model with torch_dtype=torch.bfloat16 before saving,
     so the HF files are bfloat16. With such values that cast is lossless and the two forms hold the
     same numbers.
  2. meta/: consolidated.00.pth and consolidated.01.pth split the way Meta's model-parallel checkpoints
     are (wq/wk/wv/w1/w3/output along dim 0; wo/w2/tok_embeddings along dim 1; attention_norm,
     ffn_norm, norm and rope.freqs replicated), params.json, tokenizer.model.
  3. hf/: transformers' conversion code, imported from that file: `write_model(model_path=TMP,
     input_base_path=meta/, model_size=None, safe_serialization=True, llama_version="2", vocab_size=512,
     num_shards=2, instruct=False)`, exactly the call its main() makes after writing the tokenizer. main()
     itself cannot run under transformers 5.x (its write_tokenizer step calls LlamaTokenizerFast(path), and
     in 5.x that is LlamaTokenizer, whose first parameter is now a BPE vocab), so the tokenizer files come from
     `LlamaTokenizer.from_pretrained(meta/).save_pretrained(TMP)`, and tokenizer.model is copied from meta/
     (5.x saves only tokenizer.json/tokenizer_config.json; VLPack reads the SentencePiece model).
     write_model merges the shards, applies its own `permute` to wq/wk, loads the result into
     LlamaForCausalLM with torch_dtype=torch.bfloat16 and saves it with save_pretrained (safetensors).
  4. manifest.json: for every tensor of hf/*.safetensors, dtype, shape and sha256 of its contiguous
     little-endian bytes (computed by torch/safetensors, not by VLPack), and the same for meta/ shards.
  5. rope_check.json: in float32, layer-0 attention and full-model logits computed two ways and
     compared: (a) Meta's convention (llama/model.py: freqs_cis = polar(1, t*inv_freq), q/k viewed as
     complex numbers over interleaved pairs (2i, 2i+1)) on the merged Meta weights, written here;
     (b) transformers' LlamaAttention / LlamaForCausalLM (rotate-half convention) loaded from hf/.
     Asserts max|a-b| / max|b| <= 1e-5.

The output is deterministic for a given torch/transformers version (run it twice and compare).
Generated with Python 3.11, torch 2.15.0 (CPU), transformers 5.24.0, safetensors, sentencepiece.
"""
import argparse
import hashlib
import importlib.util
import json
import math
import shutil
import tempfile
from pathlib import Path

import sentencepiece as spm
import torch
from safetensors import safe_open

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SPM = ROOT / "Fixtures" / "samples" / "llama-meta" / "tokenizer.model"

DIM, N_LAYERS, N_HEADS, MULTIPLE_OF, NORM_EPS = 256, 2, 4, 256, 1e-5
HEAD_DIM = DIM // N_HEADS
FFN = MULTIPLE_OF * ((int(2 * (4 * DIM) / 3) + MULTIPLE_OF - 1) // MULTIPLE_OF)  # Meta's FeedForward: 768
N_SHARDS = 2
ROPE_BASE = 10000.0
TOLERANCE = 1e-5  # max|meta - hf| / max|hf| in float32

# Split dimension per Meta key for model parallelism (None = replicated), as in Meta's llama/model.py
# (ColumnParallelLinear splits the output dim 0, RowParallelLinear and ParallelEmbedding split dim 1).
def split_dim(name):
    if name.endswith(("attention.wq.weight", "attention.wk.weight", "attention.wv.weight",
                      "feed_forward.w1.weight", "feed_forward.w3.weight")) or name == "output.weight":
        return 0
    if name.endswith(("attention.wo.weight", "feed_forward.w2.weight")) or name == "tok_embeddings.weight":
        return 1
    return None


def representable(t):
    """Round to bf16, flush fp16 subnormal range to 0: the result is exact in fp16 and bf16."""
    t = t.to(torch.bfloat16).to(torch.float32)
    t[t.abs() < 2.0 ** -14] = 0.0
    assert torch.equal(t.to(torch.float16).to(torch.float32), t)
    assert torch.equal(t.to(torch.bfloat16).to(torch.float32), t)
    return t.to(torch.float16)


def meta_state_dict(vocab):
    g = torch.Generator().manual_seed(0)

    def w(*shape, scale=None):
        scale = scale if scale is not None else 1.0 / math.sqrt(shape[-1])
        return representable(torch.randn(*shape, generator=g) * scale)

    def norm(n):
        return representable(1.0 + 0.1 * torch.randn(n, generator=g))

    sd = {"tok_embeddings.weight": w(vocab, DIM, scale=1.0)}
    for i in range(N_LAYERS):
        p = f"layers.{i}."
        sd[p + "attention.wq.weight"] = w(DIM, DIM)
        sd[p + "attention.wk.weight"] = w(DIM, DIM)
        sd[p + "attention.wv.weight"] = w(DIM, DIM)
        sd[p + "attention.wo.weight"] = w(DIM, DIM)
        sd[p + "feed_forward.w1.weight"] = w(FFN, DIM)
        sd[p + "feed_forward.w2.weight"] = w(DIM, FFN)
        sd[p + "feed_forward.w3.weight"] = w(FFN, DIM)
        sd[p + "attention_norm.weight"] = norm(DIM)
        sd[p + "ffn_norm.weight"] = norm(DIM)
    sd["norm.weight"] = norm(DIM)
    sd["output.weight"] = w(vocab, DIM)
    # Meta's LLaMA-1 files carry rope.freqs (the inverse frequencies, head_dim/2 values); unused.
    sd["rope.freqs"] = (1.0 / (ROPE_BASE ** (torch.arange(0, HEAD_DIM, 2).float() / HEAD_DIM))).to(torch.float16)
    return sd


def shard(sd, n):
    shards = [dict() for _ in range(n)]
    for k, v in sd.items():
        d = split_dim(k)
        parts = [v] * n if d is None else torch.chunk(v, n, dim=d)
        for s, part in zip(shards, parts):
            s[k] = part.clone().contiguous()  # own storage per tensor, like Meta's files
    return shards


def merge(shards):
    return {k: (shards[0][k] if split_dim(k) is None else torch.cat([s[k] for s in shards], dim=split_dim(k)))
            for k in shards[0]}


def sha(t):
    t = t.contiguous()
    b = t.view(torch.uint8) if t.dtype != torch.bool else t.to(torch.uint8)
    return hashlib.sha256(b.numpy().tobytes()).hexdigest()  # numpy/torch on little-endian hosts


DT = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32"}


def entry(name, t):
    return {"name": name, "dtype": DT[t.dtype], "shape": list(t.shape), "nbytes": t.numel() * t.element_size(),
            "sha256": sha(t)}


# ---------------------------------------------------------------- Meta-convention forward (llama/model.py)

def precompute_freqs_cis(dim, end, theta=ROPE_BASE):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = torch.arange(end, device=freqs.device)
    freqs = torch.outer(t, freqs).float()
    return torch.polar(torch.ones_like(freqs), freqs)  # complex64


def apply_rotary_emb(xq, xk, freqs_cis):
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    fc = freqs_cis.view(1, xq_.shape[1], 1, xq_.shape[-1])
    xq_out = torch.view_as_real(xq_ * fc).flatten(3)
    xk_out = torch.view_as_real(xk_ * fc).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


def meta_rmsnorm(x, w, eps=NORM_EPS):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def meta_attention(m, i, x, freqs_cis):
    bsz, seqlen, _ = x.shape
    p = f"layers.{i}.attention."
    xq = (x @ m[p + "wq.weight"].T).view(bsz, seqlen, N_HEADS, HEAD_DIM)
    xk = (x @ m[p + "wk.weight"].T).view(bsz, seqlen, N_HEADS, HEAD_DIM)
    xv = (x @ m[p + "wv.weight"].T).view(bsz, seqlen, N_HEADS, HEAD_DIM)
    xq, xk = apply_rotary_emb(xq, xk, freqs_cis)
    xq, xk, xv = xq.transpose(1, 2), xk.transpose(1, 2), xv.transpose(1, 2)
    scores = xq @ xk.transpose(2, 3) / math.sqrt(HEAD_DIM)
    mask = torch.triu(torch.full((seqlen, seqlen), float("-inf")), diagonal=1)
    scores = torch.softmax((scores + mask).float(), dim=-1).type_as(xq)
    out = (scores @ xv).transpose(1, 2).contiguous().view(bsz, seqlen, -1)
    return out @ m[p + "wo.weight"].T


def meta_logits(m, tokens):
    seqlen = tokens.shape[1]
    fc = precompute_freqs_cis(HEAD_DIM, seqlen)
    h = m["tok_embeddings.weight"][tokens]
    for i in range(N_LAYERS):
        p = f"layers.{i}."
        h = h + meta_attention(m, i, meta_rmsnorm(h, m[p + "attention_norm.weight"]), fc)
        x = meta_rmsnorm(h, m[p + "ffn_norm.weight"])
        ff = torch.nn.functional.silu(x @ m[p + "feed_forward.w1.weight"].T) * (x @ m[p + "feed_forward.w3.weight"].T)
        h = h + ff @ m[p + "feed_forward.w2.weight"].T
    return meta_rmsnorm(h, m["norm.weight"]) @ m["output.weight"].T


def rope_check(meta_dir, hf_dir):
    from transformers import LlamaForCausalLM

    shards = [torch.load(meta_dir / f"consolidated.{k:02d}.pth", map_location="cpu", weights_only=True)
              for k in range(N_SHARDS)]
    m = {k: v.float() for k, v in merge(shards).items()}
    model = LlamaForCausalLM.from_pretrained(str(hf_dir), dtype=torch.float32, attn_implementation="eager")
    model.eval()

    g = torch.Generator().manual_seed(1)
    seqlen = 24
    x = torch.randn(1, seqlen, DIM, generator=g)
    tokens = torch.randint(0, m["tok_embeddings.weight"].shape[0], (1, seqlen), generator=g)
    with torch.no_grad():
        a_meta = meta_attention(m, 0, x, precompute_freqs_cis(HEAD_DIM, seqlen))
        pos = torch.arange(seqlen).unsqueeze(0)
        cos_sin = model.model.rotary_emb(x, pos)
        mask = torch.triu(torch.full((seqlen, seqlen), torch.finfo(torch.float32).min), diagonal=1)[None, None]
        a_hf = model.model.layers[0].self_attn(hidden_states=x, position_embeddings=cos_sin, attention_mask=mask)[0]
        l_meta = meta_logits(m, tokens)
        l_hf = model(input_ids=tokens).logits
        # Control: the same Meta-convention forward on the HF q/k weights (no inverse permutation) must
        # NOT match, so the check can tell the two conventions apart.
        hf_sd = model.state_dict()
        m_wrong = dict(m)
        m_wrong["layers.0.attention.wq.weight"] = hf_sd["model.layers.0.self_attn.q_proj.weight"]
        m_wrong["layers.0.attention.wk.weight"] = hf_sd["model.layers.0.self_attn.k_proj.weight"]
        a_wrong = meta_attention(m_wrong, 0, x, precompute_freqs_cis(HEAD_DIM, seqlen))

    def diff(a, b):
        d = (a - b).abs().max().item()
        return {"max_abs": d, "max_ref": b.abs().max().item(), "rel": d / b.abs().max().item()}

    result = {
        "description": "float32; meta = Meta llama/model.py convention (complex pairs (2i,2i+1), freqs_cis) on the "
                       "merged meta/ shards; hf = transformers LlamaForCausalLM (rotate-half) loaded from hf/. "
                       "rel = max|meta-hf| / max|hf|.",
        "tolerance_rel": TOLERANCE,
        "seqlen": seqlen, "seed": 1,
        "layer0_attention": diff(a_meta, a_hf),
        "logits": diff(l_meta, l_hf),
        "control_hf_qk_in_meta_convention": diff(a_wrong, a_hf),
        "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__},
    }
    assert result["layer0_attention"]["rel"] <= TOLERANCE, result
    assert result["logits"]["rel"] <= TOLERANCE, result
    assert result["control_hf_qk_in_meta_convention"]["rel"] > 1e-2, result
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--convert-script", required=True,
                    help="transformers' src/transformers/models/llama/convert_llama_weights_to_hf.py")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)

    sp = spm.SentencePieceProcessor(model_file=str(SPM))
    vocab = sp.get_piece_size()
    meta_dir, hf_dir = HERE / "meta", HERE / "hf"
    for d in (meta_dir, hf_dir):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)

    sd = meta_state_dict(vocab)
    for k, s in enumerate(shard(sd, N_SHARDS)):
        torch.save(s, meta_dir / f"consolidated.{k:02d}.pth")
    (meta_dir / "params.json").write_text(json.dumps(
        {"dim": DIM, "n_layers": N_LAYERS, "n_heads": N_HEADS, "multiple_of": MULTIPLE_OF, "norm_eps": NORM_EPS,
         "vocab_size": -1}, indent=2) + "\n")
    shutil.copyfile(SPM, meta_dir / "tokenizer.model")

    # transformers' own conversion. Its CLI (main()) cannot run under transformers 5.x: its first step,
    # write_tokenizer, calls LlamaTokenizerFast(path_to_tokenizer.model); in 5.x that class is LlamaTokenizer
    # and its first parameter is a BPE vocab, so it raises "`vocab` and `merges` must be both be from memory or both filenames".
    # So main()'s second step is called as main() calls it, with the vocab_size main() would pass
    # (len(tokenizer)); the tokenizer files are written by the 5.x API.
    script = Path(args.convert_script).resolve()
    spec = importlib.util.spec_from_file_location("convert_llama_weights_to_hf", script)
    conv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv)
    from transformers import LlamaTokenizer
    tok = LlamaTokenizer.from_pretrained(str(meta_dir))
    assert len(tok) == vocab, (len(tok), vocab)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "hf"
        conv.write_model(model_path=str(out), input_base_path=str(meta_dir), model_size=None,
                         safe_serialization=True, llama_version="2", vocab_size=len(tok), num_shards=N_SHARDS,
                         instruct=False)
        tok.save_pretrained(str(out))
        for f in sorted(out.iterdir()):
            if f.is_file():
                shutil.copyfile(f, hf_dir / f.name)
    # VLPack (like Video-LLaMA's slow LlamaTokenizer) reads the SentencePiece model itself.
    shutil.copyfile(SPM, hf_dir / "tokenizer.model")

    # manifest (torch/safetensors side of the check)
    hf_tensors = []
    for f in sorted(hf_dir.glob("*.safetensors")):
        with safe_open(str(f), framework="pt") as st:
            for name in st.keys():
                hf_tensors.append(dict(entry(name, st.get_tensor(name)), file=f.name))
    assert hf_tensors, "transformers' script wrote no safetensors files"
    meta_tensors = []
    for k in range(N_SHARDS):
        f = f"consolidated.{k:02d}.pth"
        for name, t in torch.load(meta_dir / f, map_location="cpu", weights_only=True).items():
            meta_tensors.append(dict(entry(name, t), file=f))
    manifest = {
        "description": "sha256 of each tensor's contiguous little-endian bytes, computed by torch/safetensors",
        "convert_script_sha256": hashlib.sha256(script.read_bytes()).hexdigest(),
        "hf": hf_tensors, "meta": meta_tensors,
    }
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")

    result = rope_check(meta_dir, hf_dir)
    (HERE / "rope_check.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
