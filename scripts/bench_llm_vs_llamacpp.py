#!/usr/bin/env python3
"""VLPack's LLM decoder against llama-bench, same machine, same minutes, same threads (not run by CI).

    python scripts/bench_llm_vs_llamacpp.py --vlpack .build/release/vlpack --llama-bench PATH/llama-bench \
        --rounds 3 MODEL-f16.vlpack:MODEL-f16.gguf MODEL-q8_0.vlpack:MODEL-q8_0.gguf ...

Each GGUF is `vlpack export --to gguf` of the .vlpack beside it (the same weights, byte for byte).
Per pair and round, alternating the two tools so that both see the same machine load:
  - prefill: `vlpack bench llm --prompt-tokens 512 --gen-tokens 1` vs `llama-bench -p 512 -n 0`
  - decode:  `vlpack bench llm --prompt-tokens 1 --gen-tokens 128` vs `llama-bench -p 0 -n 128`
    (llama-bench's tg128 starts from an empty context; so does this decode, after one prompt token)
and peak RSS of each process (/usr/bin/time). VLPack's peak RSS is taken from `vlpack generate` on
--prompt-file (raw template, greedy, 32 new tokens), which also gives its time-to-first-token: `bench
llm` allocates a large buffer to measure the memory bandwidth, which would count in its own RSS.
Prints a Markdown table with the best round of each
(the machine is shared; the best is the least disturbed) and the medians.
"""
import argparse
import json
import re
import statistics
import subprocess


def timed(cmd):
    p = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M"] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    rss = int(re.findall(r"MAXRSS (\d+)", p.stderr)[-1]) * 1024
    return p.stdout, rss


def vlpack(binary, model, pp, tg, threads):
    out, rss = timed([binary, "bench", "llm", model, "--prompt-tokens", str(pp), "--gen-tokens", str(tg), "--threads", str(threads), "--json"])
    j = json.loads(out)
    return j, rss


def llama(binary, model, pp, tg, threads):
    out, rss = timed([binary, "-m", model, "-t", str(threads), "-p", str(pp), "-n", str(tg), "-r", "1", "-o", "json"])
    rows = json.loads(out)
    return rows[0]["avg_ts"], rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vlpack", required=True)
    ap.add_argument("--llama-bench", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pp", type=int, default=512)
    ap.add_argument("--tg", type=int, default=128)
    ap.add_argument("--prompt-file", required=True, help="prompt for the TTFT / peak-RSS run (e.g. ~150 tokens)")
    ap.add_argument("pairs", nargs="+", help="MODEL.vlpack:MODEL.gguf")
    a = ap.parse_args()
    print("| weights | VLPack pp | llama.cpp pp | ratio | VLPack tg | llama.cpp tg | ratio | VLPack GB/s | llama.cpp GB/s | read GB/s | VLPack RSS | llama.cpp RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for pair in a.pairs:
        vp, gg = pair.split(":")
        r = {k: [] for k in ["vpp", "lpp", "vtg", "ltg", "bw", "vrss", "lrss", "gflops", "sgemm"]}
        weight_bytes = None
        for _ in range(a.rounds):
            j, _ = vlpack(a.vlpack, vp, a.pp, 1, a.threads)
            r["vpp"].append(j["pp_tokens_per_s"]); r["gflops"].append(j["pp_gflops"]); r["sgemm"].append(j["gemm"]["gflops"])
            t, rss = llama(a.llama_bench, gg, a.pp, 0, a.threads)
            r["lpp"].append(t); r["lrss"].append(rss)
            j, rss = vlpack(a.vlpack, vp, 1, a.tg, a.threads)
            r["vtg"].append(j["tg_tokens_per_s"]); r["bw"].append(j["memory_read_gb_per_s"]); weight_bytes = j["weight_bytes_per_token"]
            t, rss = llama(a.llama_bench, gg, 0, a.tg, a.threads)
            r["ltg"].append(t); r["lrss"].append(rss)
        out, rss = timed([a.vlpack, "generate", vp, "--prompt", open(a.prompt_file).read(), "--template", "raw", "--greedy",
                          "--max-new-tokens", "32", "--threads", str(a.threads), "--json"])
        g = json.loads(out)
        r["vrss"].append(rss); r["ttft"] = [g["timings"]["ttft_s"]]; r["prompt_tokens"] = [len(g["prompt_ids"])]
        best = {k: max(v) for k, v in r.items()}
        med = {k: statistics.median(v) for k, v in r.items()}
        gib = 1 << 30
        print(f"| {vp} | {best['vpp']:.1f} | {best['lpp']:.1f} | {best['vpp'] / best['lpp']:.2f} | {best['vtg']:.2f} | {best['ltg']:.2f} | "
              f"{best['vtg'] / best['ltg']:.2f} | {weight_bytes * best['vtg'] / 1e9:.1f} | {weight_bytes * best['ltg'] / 1e9:.1f} | {best['bw']:.1f} | "
              f"{max(r['vrss']) / gib:.2f} GiB | {max(r['lrss']) / gib:.2f} GiB |")
        print(f"|   medians | {med['vpp']:.1f} | {med['lpp']:.1f} | {med['vpp'] / med['lpp']:.2f} | {med['vtg']:.2f} | {med['ltg']:.2f} | "
              f"{med['vtg'] / med['ltg']:.2f} | | | {med['bw']:.1f} | | |")
        print(f"<!-- {vp}: time to first token {g['timings']['ttft_s']:.3f} s for a {len(g['prompt_ids'])}-token prompt -->")
        print(f"<!-- {vp}: all rounds {json.dumps(r)}; VLPack prefill GFLOP/s best {best['gflops']:.1f}, same-process sgemm best {best['sgemm']:.1f} -->", flush=True)


if __name__ == "__main__":
    main()
