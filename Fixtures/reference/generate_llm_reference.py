#!/usr/bin/env python3
"""Reference outputs of the sample LLaMA decoder from transformers' LlamaForCausalLM (independent of VLPack).

    /tmp/venv/bin/python Fixtures/reference/generate_llm_reference.py

Loads Fixtures/samples/llama-hf (fp16 weights) in float32 on the CPU, tokenizes a prompt with the
sentencepiece package (BOS first, as the official code's first segment), and writes
Fixtures/reference/sample_llm.safetensors (names in Formats/REFERENCE.md):

  input.ids       [L]     the prompt's token ids, as float32
  llm.logits      [L, V]  teacher-forced next-token logits at every prompt position
  llm.greedy_ids  [N]     transformers' greedy continuation (generate, do_sample=False), eos excluded
  llm.greedy_logits [N, V] the logits that chose each greedy id (verify's top-2 margin rule)
  llm.input_embeds  [L, d]  the embedding rows of the prompt (hidden_states[0])
  llm.layers.out    [layers, L, d] each decoder layer's output (hidden_states[1..layers]; the last
                            before the final norm, from a hook, since transformers' last entry is normed)

--weights bf16 rounds the fp16 weights to bfloat16 first (then computes in float32), for the
BF16 parity test (Fixtures/reference/sample_llm_bf16.safetensors).

--gguf FILE takes the weights from a GGUF instead, dequantized by the `gguf` package's own
dequantizers (independent of VLPack's) and the q/k rows permuted back from GGUF's rotary order: the
reference for a quantized file is transformers on exactly its stored values, so each stage is held to
the float rule. The quantized references are made from VLPack's own recipes and exports:

    vlpack convert Fixtures/samples/llama-hf -o /tmp/llm.vlpack
    for t in q8_0 q4_0 q4_k_m; do
      vlpack quantize /tmp/llm.vlpack -o /tmp/llm-$t.vlpack --type $t
      vlpack export /tmp/llm-$t.vlpack --to gguf -o /tmp/llm-$t.gguf
      python Fixtures/reference/generate_llm_reference.py --gguf /tmp/llm-$t.gguf --out Fixtures/reference/sample_llm_$t.safetensors
    done

The sample's 512-piece vocabulary has none of the official stop ids, so the run ends at N tokens.

The full-size parity check (not committed) runs the same code on a random model at the 7 B width:

    python scripts/make_random_llama.py /tmp/llama7w --layers 16 --hidden 4096 --ffn 11008 --heads 32
    python Fixtures/reference/generate_llm_reference.py --model /tmp/llama7w --out /tmp/llama7w-ref.safetensors
    vlpack convert /tmp/llama7w -o /tmp/llama7w.vlpack && vlpack verify /tmp/llama7w.vlpack --reference /tmp/llama7w-ref.safetensors
"""
import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "samples" / "llama-hf"
OUT = ROOT / "reference" / "sample_llm.safetensors"
PROMPT = "###Human: What is happening in the video? ###Assistant:"
NEW_TOKENS = 16


def load_gguf_weights(model, path):
    """Replaces every weight of `model` by the GGUF's, dequantized to float32 by the gguf package."""
    import numpy as np
    from gguf import GGUFReader
    from gguf.quants import dequantize

    heads = model.config.num_attention_heads
    names = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
    layer = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
             "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
             "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}
    params = dict(model.named_parameters())
    loaded = set()
    for t in GGUFReader(path).tensors:
        base, _, suffix = t.name.rpartition(".")
        parts = base.split(".")
        hf = f"model.layers.{parts[1]}.{layer[parts[2]]}" if parts[0] == "blk" else names[base]
        values = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(params[f"{hf}.{suffix}"].shape)
        if parts[0] == "blk" and parts[2] in ("attn_q", "attn_k"):
            # GGUF keeps q/k rows interleaved per head for its rotary; HF's rotate-half wants halves.
            rows, cols = values.shape
            values = values.reshape(heads, rows // heads // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)
        with torch.no_grad():
            params[f"{hf}.{suffix}"].copy_(torch.from_numpy(values.copy()))
        loaded.add(f"{hf}.{suffix}")
    assert loaded == set(params), set(params) ^ loaded


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(MODEL), help="HF LLaMA folder (default: the sample)")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--prompt", default=PROMPT)
    ap.add_argument("--new-tokens", type=int, default=NEW_TOKENS)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--weights", choices=["stored", "bf16"], default="stored")
    ap.add_argument("--gguf", help="take the weights from this GGUF (dequantized by the gguf package)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model_dir, out, prompt, new_tokens = Path(a.model), Path(a.out), a.prompt, a.new_tokens
    sp = spm.SentencePieceProcessor(model_file=str(model_dir / "tokenizer.model"))
    ids = [sp.bos_id()] + sp.encode(prompt)
    model = transformers.LlamaForCausalLM.from_pretrained(str(model_dir), torch_dtype=torch.float32)
    if a.weights == "bf16":
        # Parameters only: model.to() would also round the rotary inv_freq buffer to bfloat16.
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(torch.bfloat16).to(torch.float32))
    if a.gguf:
        load_gguf_weights(model, a.gguf)
    model.eval()
    layer_outputs = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: layer_outputs.append((out[0] if isinstance(out, tuple) else out)[0].clone()))
             for layer in model.model.layers]
    with torch.no_grad():
        x = torch.tensor([ids])
        forward = model(x, output_hidden_states=True)
        logits = forward.logits[0]
        input_embeds = forward.hidden_states[0][0]
    for h in hooks:
        h.remove()
    assert len(layer_outputs) == len(model.model.layers)
    # The hooked outputs are hidden_states[1..] (before the final norm for the last layer).
    for i in range(len(layer_outputs) - 1):
        assert torch.equal(layer_outputs[i], forward.hidden_states[i + 1][0])
    generated = model.generate(x, do_sample=False, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                               eos_token_id=None, pad_token_id=0)[0, len(ids):].tolist()
    assert len(generated) == new_tokens, generated
    # The greedy ids must be the argmax chain of the same model (a check of the reference itself).
    with torch.no_grad():
        full = model(torch.tensor([ids + generated])).logits[0]
    greedy_logits = full[len(ids) - 1:-1]
    assert greedy_logits.argmax(-1).tolist() == generated
    tensors = {
        "input.ids": torch.tensor(ids, dtype=torch.float32),
        "llm.logits": logits.float().contiguous(),
        "llm.greedy_ids": torch.tensor(generated, dtype=torch.float32),
        "llm.greedy_logits": greedy_logits.float().contiguous(),
        "llm.input_embeds": input_embeds.float().contiguous(),
        "llm.layers.out": torch.stack(layer_outputs).float().contiguous(),
    }
    meta = {"generator": "Fixtures/reference/generate_llm_reference.py", "torch": torch.__version__,
            "transformers": transformers.__version__, "prompt": prompt, "weights": a.gguf and os.path.basename(a.gguf) or a.weights, "template": "raw",
            "ids": json.dumps(ids), "greedy": json.dumps(generated)}
    save_file(tensors, str(out), metadata=meta)
    print(f"{out}: L={len(ids)} V={logits.shape[1]} greedy={generated}", file=sys.stderr)


if __name__ == "__main__":
    main()
