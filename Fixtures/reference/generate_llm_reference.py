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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(MODEL), help="HF LLaMA folder (default: the sample)")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--prompt", default=PROMPT)
    ap.add_argument("--new-tokens", type=int, default=NEW_TOKENS)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model_dir, out, prompt, new_tokens = Path(a.model), Path(a.out), a.prompt, a.new_tokens
    sp = spm.SentencePieceProcessor(model_file=str(model_dir / "tokenizer.model"))
    ids = [sp.bos_id()] + sp.encode(prompt)
    model = transformers.LlamaForCausalLM.from_pretrained(str(model_dir), torch_dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        x = torch.tensor([ids])
        logits = model(x).logits[0]
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
    }
    meta = {"generator": "Fixtures/reference/generate_llm_reference.py", "torch": torch.__version__,
            "transformers": transformers.__version__, "prompt": prompt, "template": "raw",
            "ids": json.dumps(ids), "greedy": json.dumps(generated)}
    save_file(tensors, str(out), metadata=meta)
    print(f"{out}: L={len(ids)} V={logits.shape[1]} greedy={generated}", file=sys.stderr)


if __name__ == "__main__":
    main()
