"""Run: PYTHONPATH=/tmp/tf428 /tmp/venv/bin/python scripts/time_official_llm_prefill.py HF_LLAMA_DIR (not run by CI).

Official-side LLM prefill at the 7 B shape as Video-LLaMA runs it (transformers 4.28 LlamaForCausalLM,
torch_dtype=bfloat16, CPU): time of the first generated token for 237 input embedding rows."""
import sys, time, resource, torch
sys.path.insert(0, "/tmp/tf428")
import transformers
from transformers import LlamaForCausalLM
assert transformers.__version__ == "4.28.0"
torch.set_num_threads(2)
t0 = time.perf_counter()
model = LlamaForCausalLM.from_pretrained(sys.argv[1], torch_dtype=torch.bfloat16).eval()
print(f"load {time.perf_counter() - t0:.1f} s", flush=True)
g = torch.Generator().manual_seed(1)
embeds = (torch.randn(1, 237, 4096, generator=g) * 0.5).to(torch.bfloat16)
with torch.no_grad():
    for run in range(2):
        t = time.perf_counter()
        out = model.generate(inputs_embeds=embeds, max_new_tokens=1, do_sample=False)
        print(f"run {run}: first token {time.perf_counter() - t:.2f} s", flush=True)
print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
