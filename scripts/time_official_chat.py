"""The official side of issue #13's 7 B benchmark, in one process (not run by CI).

Run:
    /tmp/venv/bin/python scripts/time_official_chat.py --llama HF_LLAMA_DIR [--threads 2] [--max-new-tokens 64]

What runs: the official `Chat` class of the Video-LLaMA checkout, unmodified, exactly as
Fixtures/reference/generate_chat_reference.py --full builds it (its shims; the stand-in model whose branch
encoders are the independent modules at the released sizes in fp32 and whose `llama_model` is
transformers 4.28's LlamaForCausalLM), except that the LLM is loaded in **bfloat16, as
VideoLLAMA.__init__ does** (the parity references use float32). The demo's first turn: `upload_video`
of Fixtures/media/sample_av.mp4 (the official load_video; the sound's clips are the official loader's
precomputed mel, since torchaudio.load cannot run here), `ask("What is happening in the video?")`,
`answer(max_new_tokens=N)` with generate forced greedy (Chat.answer hard-codes do_sample=True).

Times (perf_counter, the same process): the upload (frame loading, the vision branch, the audio branch,
each also on its own), the prefill (answer() to the end of the LLM's first forward: prompt building,
tokenization and the 237-row prefill), time to first token = upload + prefill, the decode rate and the
whole answer, and peak RSS. One JSON line at the end.
"""
import argparse
import json
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "Fixtures", "reference")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama", required=True, help="a Hugging Face LLaMA folder at the 7 B shape "
                    "(scripts/make_random_llama.py --layers 32 --hidden 4096 --ffn 11008 --heads 32 --vocab 32000)")
    ap.add_argument("--videollama", default="/work/Video-LLaMA")
    ap.add_argument("--transformers", default="/tmp/tf428")
    ap.add_argument("--torchvision", default="/tmp/tv_overlay")
    ap.add_argument("--vision-dir", default="/tmp/quant")
    ap.add_argument("--audio-dir", default="/tmp/quant_audio")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    args = ap.parse_args()
    args.full, args.llm_dtype = True, "bfloat16"
    for extra in (args.transformers, args.torchvision):
        if os.path.isdir(extra):
            sys.path.insert(0, extra)
    sys.path.insert(0, REFERENCE)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch
    torch.set_num_threads(args.threads)
    import generate_chat_reference as gcr

    start = time.perf_counter()
    cv, chat, model, _recorder = gcr.build(args)
    built = time.perf_counter() - start
    gcr.log(f"built in {built:.1f} s (LLM {next(model.llama_model.parameters()).dtype})")

    # Stage clocks: the branch encoders, and the end of every LLM forward (the first is the prefill).
    stages = {"vision_s": 0.0, "audio_s": 0.0}
    for method, key in (("encode_videoQformer_visual", "vision_s"), ("encode_audioQformer", "audio_s")):
        inner = getattr(model, method)

        def timed(x, inner=inner, key=key):
            t = time.perf_counter()
            out = inner(x)
            stages[key] += time.perf_counter() - t
            return out
        setattr(model, method, timed)
    forward_ends = []
    model.llama_model.register_forward_hook(lambda *_: forward_ends.append(time.perf_counter()))

    conv = cv.default_conversation.copy()   # the Vicuna template, system "" as demo_audiovideo.py sets it
    conv.system = ""
    img_list = []
    t0 = time.perf_counter()
    with torch.no_grad():
        chat.upload_video(gcr.VIDEO, conv, img_list)
        upload = time.perf_counter() - t0
        chat.ask(gcr.QUESTION_1, conv)
        t1 = time.perf_counter()
        answer, ids = chat.answer(conv=conv, img_list=img_list, num_beams=1, temperature=1.0,
                                  max_new_tokens=args.max_new_tokens, max_length=2000)
        done = time.perf_counter()
    prefill = forward_ends[0] - t1
    decoded = len(forward_ends) - 1
    result = {
        "llm_dtype": "bfloat16", "llm_layers": model.llama_model.config.num_hidden_layers, "threads": args.threads,
        "prompt_rows": int(_recorder.record["embs"].shape[1]), "upload_s": upload, **stages,
        "load_video_and_rest_s": upload - stages["vision_s"] - stages["audio_s"], "prefill_s": prefill,
        "ttft_s": upload + prefill, "decode_tokens": decoded,
        "decode_tokens_per_s": decoded / (forward_ends[-1] - forward_ends[0]) if decoded else 0.0,
        "answer_s": done - t1, "total_s": done - t0, "build_s": built,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }
    gcr.log(f"answer: {answer!r}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
