#!/usr/bin/env python3
"""Write a VLPack reference file (Formats/REFERENCE.md) by running the official Video-LLaMA code.

Usage (from anywhere; float32, CPU, no autocast):

  python scripts/dump_reference.py --videollama /path/to/Video-LLaMA \
      [--cfg-path /path/to/Video-LLaMA/eval_configs/video_llama_eval_only_vl.yaml] \
      [--eva eva_vit_g.pth] [--blip2 blip2_pretrained_flant5xxl.pth] [--vl VL_checkpoint.pth] \
      [--llama LLAMA_HF_DIR] [--bert BERT_BASE_UNCASED_DIR] \
      (--video clip.mp4 [--frames 8] | --frames-from frames.safetensors) --out clip_reference.safetensors

The model is the official `VideoLLAMA`, built by the official `from_config` from an official eval
config (default: the checkout's `eval_configs/video_llama_eval_only_vl.yaml`), with the checkpoint
paths given here written into that config (`q_former_model`, `ckpt`, `llama_model`). It is moved to
the CPU, the vision branch is cast to float32 with the official `vit_to_cpu()` (EVA + ln_vision) and
`.float()` on the Q-Formers, query tokens, frame positions and `llama_proj`, and the body of the
official `VideoLLAMA.encode_videoQformer_visual` is run step by step with the model's own modules,
recording each intermediate; the script then checks that the official function itself returns the
same `video.out`. No official code is copied here: everything runs from the checkout.

What the script works around (only where needed; each is reported on stdout):
  * `create_eva_vit_g` always downloads eva_vit_g.pth from the LAVIS URL: with `--eva`, the official
    module's `download_cached_file` is redirected to the local file for that URL (everything else in
    `create_eva_vit_g` runs as written: `interpolate_pos_embed`, `load_state_dict(strict=False)`,
    `convert_weights_to_fp16`).
  * `init_tokenizer` / `init_Qformer` / `init_video_Qformer` call `from_pretrained("bert-base-uncased")`.
    With `--bert DIR` that name is redirected to DIR; otherwise the hub is tried, and if it cannot be
    reached the config falls back to `BertConfig()` (transformers' defaults are bert-base-uncased's
    config: 768 wide, 12 layers, 12 heads, 3072, eps 1e-12) and the BERT tokenizer to `None` (it is
    only used for training text; the vision branch never touches it).
  * The constructor always loads a LLaMA (tokenizer + `LlamaForCausalLM`, whose width sizes
    `llama_proj`). Without `--llama`, a stub is written to a temporary folder: a LLaMA config with
    `hidden_size` = the VL checkpoint's `llama_proj` output width, zero decoder layers, and the
    repository's sample SentencePiece tokenizer (Fixtures/samples/llama-hf). `video.out` does not
    depend on it (only its width is used).
  * `torchaudio` / `pytorchvideo` (imported at package import time by the ImageBind audio loader)
    are replaced by placeholder modules if they are not installed (no torchaudio wheel exists for
    every torch); calling anything from them raises.

After building, every parameter and buffer of the vision branch is checked against the checkpoint
files (the last file holding a name wins, as in the official load order EVA → BLIP-2 → VL): the
script fails if any parameter did not come from a file (e.g. a silently skipped key).

Frames come from the official loader (`load_video`, decord, uniform sampling, 224×224) and the
official eval transform (CLIP mean/std), unless `--frames-from` supplies a safetensors file holding
`input.frames` [T,3,224,224] already normalized (to feed exactly the frames of another reference).

Memory: with a real 7B LLaMA (`--llama`) the decoder is also loaded (bf16, ~13 GB; `--llm-fp16`
leaves it as loaded instead of casting it to float32). The stub needs a few MB.
"""
import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import types

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE_TOKENIZER = os.path.join(HERE, "..", "Fixtures", "samples", "llama-hf", "tokenizer.model")
EVA_URL_NAME = "eva_vit_g.pth"


def log(msg):
    print(f"[dump_reference] {msg}", flush=True)


class _Missing(types.ModuleType):
    """Placeholder for an optional package the vision branch never calls."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def unavailable(*a, **k):
            raise RuntimeError(f"{self.__name__}.{name} is a placeholder (package not installed)")
        return unavailable


def stub_missing_packages():
    import importlib.machinery
    import transformers  # noqa: F401  (its own availability checks must see the real state first)
    stubs = {"torchaudio": ["torchaudio"],
             "pytorchvideo": ["pytorchvideo", "pytorchvideo.transforms", "pytorchvideo.data",
                              "pytorchvideo.data.clip_sampling", "pytorchvideo.data.encoded_video"]}
    for top, names in stubs.items():
        if importlib.util.find_spec(top) is None:
            for n in names:
                sys.modules[n] = _Missing(n)
                sys.modules[n].__spec__ = importlib.machinery.ModuleSpec(n, None)
            log(f"{top} not installed: placeholder module (only the audio loader imports it)")


def patch_bert(bert_dir):
    """Redirect from_pretrained("bert-base-uncased") (see the module docstring)."""
    import transformers
    from transformers import BertConfig, BertTokenizer
    from video_llama.models.blip2 import Blip2Base

    orig_cfg = BertConfig.from_pretrained.__func__

    def cfg_from_pretrained(cls, name, *a, **k):
        if name == "bert-base-uncased":
            if bert_dir:
                return orig_cfg(cls, bert_dir, *a, **k)
            try:
                return orig_cfg(cls, name, *a, **k)
            except Exception as e:  # offline
                log(f"bert-base-uncased config unavailable ({type(e).__name__}): using BertConfig() defaults")
                return cls()
        return orig_cfg(cls, name, *a, **k)
    BertConfig.from_pretrained = classmethod(cfg_from_pretrained)

    if bert_dir:
        orig_tok = BertTokenizer.from_pretrained.__func__
        BertTokenizer.from_pretrained = classmethod(
            lambda cls, name, *a, **k: orig_tok(cls, bert_dir if name == "bert-base-uncased" else name, *a, **k))
    else:
        orig_init_tok = Blip2Base.init_tokenizer.__func__

        def init_tokenizer(cls):
            try:
                return orig_init_tok(cls)
            except Exception as e:
                log(f"bert-base-uncased tokenizer unavailable ({type(e).__name__}): model.tokenizer = None "
                    "(not used by the vision branch)")
                return None
        Blip2Base.init_tokenizer = classmethod(init_tokenizer)
    assert transformers.BertConfig is BertConfig


def patch_eva(eva_path):
    import video_llama.models.eva_vit as eva_vit
    orig = eva_vit.download_cached_file

    def download_cached_file(url, *a, **k):
        if url.rstrip("/").split("/")[-1] == EVA_URL_NAME:
            log(f"create_eva_vit_g: {url} -> {eva_path}")
            return eva_path
        return orig(url, *a, **k)
    eva_vit.download_cached_file = download_cached_file


def llama_width(vl_path):
    if vl_path:
        sd = torch.load(vl_path, map_location="cpu", mmap=True, weights_only=False)
        sd = sd.get("model", sd)
        if "llama_proj.weight" in sd:
            return sd["llama_proj.weight"].shape[0]
    return 4096


def write_llama_stub(width, folder):
    """A LLaMA folder the official constructor can load: `width` wide, no decoder layers."""
    import shutil
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaTokenizer
    shutil.copy(SAMPLE_TOKENIZER, os.path.join(folder, "tokenizer.model"))
    tok = LlamaTokenizer(os.path.join(folder, "tokenizer.model"))
    tok.save_pretrained(folder)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=width, intermediate_size=width,
                      num_hidden_layers=0, num_attention_heads=max(1, width // 128))
    LlamaForCausalLM(cfg).save_pretrained(folder)
    log(f"LLaMA stub: hidden_size {width}, 0 layers, vocab {len(tok)} in {folder}")
    return folder


def usable_config(path, tmp):
    """The shipped eval configs are templates: `llama_model: "ckpt/vicuna-13b/" or "ckpt/vicuna-7b/" ...`
    is not valid YAML. If the file does not parse, a copy with that one line blanked is used
    (llama_model is then set from --llama or the stub)."""
    from omegaconf import OmegaConf
    try:
        OmegaConf.load(path)
        return path
    except Exception as e:
        fixed = os.path.join(tmp, os.path.basename(path))
        with open(path) as f:
            lines = [("  llama_model: \"\"\n" if l.strip().startswith("llama_model:") else l) for l in f]
        with open(fixed, "w") as f:
            f.writelines(lines)
        OmegaConf.load(fixed)
        log(f"{os.path.basename(path)} is not valid YAML ({type(e).__name__}); using a copy with its "
            "llama_model line blanked")
        return fixed


def build_model(args, tmp):
    sys.path.insert(0, args.videollama)
    stub_missing_packages()
    from video_llama.common.config import Config
    from video_llama.common.registry import registry
    import video_llama.models  # noqa: F401  (registers the model classes)
    import video_llama.processors  # noqa: F401
    patch_bert(args.bert)
    if args.eva:
        patch_eva(args.eva)

    class Options:  # what the official demos pass to Config
        cfg_path = usable_config(args.cfg_path, tmp)
        options = args.options or []

    cfg = Config(Options())
    model_config = cfg.model_cfg
    model_config.device_8bit = 0
    if args.blip2:
        model_config.q_former_model = args.blip2
    if args.vl:
        model_config.ckpt = args.vl
    if args.llama:
        model_config.llama_model = args.llama
    elif not os.path.isdir(str(model_config.get("llama_model", ""))):
        model_config.llama_model = write_llama_stub(llama_width(model_config.get("ckpt", "")), tmp)
    log(f"from_config: vit_precision {model_config.get('vit_precision', 'fp16')}, "
        f"q_former_model {model_config.get('q_former_model')}, ckpt {model_config.get('ckpt')}, "
        f"llama_model {model_config.llama_model}, equip_audio_branch {model_config.get('equip_audio_branch')}")
    model = registry.get_model_class(model_config.arch).from_config(model_config)
    model = model.to("cpu").eval()
    model.vit_to_cpu()  # official: EVA + ln_vision to float32 on the CPU (EVA Linear/Conv weights are stored fp16)
    for m in (model.Qformer, model.video_Qformer, model.llama_proj, model.video_frame_position_embedding):
        m.float()
    model.query_tokens.data = model.query_tokens.data.float()
    model.video_query_tokens.data = model.video_query_tokens.data.float()
    if not args.llm_fp16:
        model.llama_model.float()
    vis_cfg = cfg.datasets_cfg.webvid.vis_processor.train
    processor = registry.get_processor_class(vis_cfg.name).from_config(vis_cfg)
    return model, processor, model_config


VISION_MODULES = ["visual_encoder", "ln_vision", "Qformer", "query_tokens", "video_Qformer",
                  "video_query_tokens", "video_frame_position_embedding", "llama_proj"]


def check_provenance(model, files):
    """Every vision-branch parameter must equal the entry of the last file that holds its name."""
    state = {k: v for k, v in model.state_dict().items() if k.split(".")[0] in VISION_MODULES}
    source = {}
    for label, path, prefix in files:
        sd = torch.load(path, map_location="cpu", mmap=True, weights_only=False)
        sd = sd.get("model", sd) if isinstance(sd, dict) else sd
        for k, v in sd.items():
            if prefix + k in state:
                source[prefix + k] = (label, v)
    counts, bad, missing = {}, [], []
    params = {k for k, _ in model.named_parameters()}
    for k, v in state.items():
        if k not in source:
            if k in params:
                missing.append(k)
            continue
        label, want = source[k]
        counts[label] = counts.get(label, 0) + 1
        if want.shape != v.shape or not torch.equal(want.to(v.dtype), v):
            bad.append(k)
    log("vision-branch tensors by source file: " + ", ".join(f"{n} {c}" for n, c in counts.items())
        + f"; buffers not in any file: {sum(1 for k in state if k not in source and k not in params)}")
    if missing or bad:
        raise SystemExit(f"parameters not loaded from the checkpoints: {missing[:10]}; differing: {bad[:10]}")


def load_frames(args, processor):
    if args.frames_from:
        from safetensors.torch import load_file
        frames = load_file(args.frames_from)["input.frames"].float()
        return frames[0] if frames.dim() == 5 else frames
    from video_llama.processors.video_processor import load_video
    video = load_video(video_path=args.video, n_frms=args.frames, height=224, width=224,
                       sampling="uniform", return_msg=False)      # uint8-valued float [3, T, 224, 224]
    video = processor.transform(video)                             # /255, CLIP normalize: [3, T, 224, 224]
    return video.permute(1, 0, 2, 3).contiguous()                  # [T, 3, 224, 224]


@torch.no_grad()
def vision_stages(model, frames):
    """encode_videoQformer_visual step by step (B = 1), with the model's own modules."""
    t = frames.shape[0]
    out = {"input.frames": frames}
    out["vision.encoder.out"] = model.visual_encoder(frames)                       # [T, 257, 1408]
    out["vision.ln.out"] = model.ln_vision(out["vision.encoder.out"])             # [T, 257, 1408]
    e = out["vision.ln.out"]
    q = model.Qformer.bert(query_embeds=model.query_tokens.expand(t, -1, -1), encoder_hidden_states=e,
                           encoder_attention_mask=torch.ones(e.shape[:-1], dtype=torch.long), return_dict=True)
    out["vision.qformer.out"] = q.last_hidden_state                                # [T, 32, 768]
    pos = model.video_frame_position_embedding(torch.arange(t)).unsqueeze(1)      # [T, 1, 768]
    memory = (out["vision.qformer.out"] + pos).reshape(1, -1, out["vision.qformer.out"].shape[-1])
    v = model.video_Qformer.bert(query_embeds=model.video_query_tokens, encoder_hidden_states=memory,
                                 encoder_attention_mask=torch.ones(memory.shape[:-1], dtype=torch.long), return_dict=True)
    out["video.qformer.out"] = v.last_hidden_state[0]                              # [32, 768]
    out["video.out"] = model.llama_proj(out["video.qformer.out"])                 # [32, d_llm]
    # The official function on the same frames ([1, 3, T, 224, 224]) must agree.
    official, _ = model.encode_videoQformer_visual(frames.permute(1, 0, 2, 3).unsqueeze(0))
    err = (official[0] - out["video.out"]).abs().max().item()
    log(f"official encode_videoQformer_visual vs step by step: max |diff| {err:.3g}")
    assert err == 0.0 or err < 1e-5 * out["video.out"].abs().max().item(), f"step-by-step differs from the official function: {err}"
    return {k: v.float().contiguous() for k, v in out.items()}


def official_commit(path):
    try:
        return subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videollama", required=True, help="checkout of github.com/DAMO-NLP-SG/Video-LLaMA")
    ap.add_argument("--cfg-path", help="an eval config of that checkout (default eval_configs/video_llama_eval_only_vl.yaml)")
    ap.add_argument("--options", nargs="+", help="config overrides, as the official demos take them")
    ap.add_argument("--eva", help="local eva_vit_g.pth (instead of the LAVIS download)")
    ap.add_argument("--blip2", help="blip2_pretrained_flant5xxl.pth (sets model.q_former_model)")
    ap.add_argument("--vl", help="VL checkpoint, e.g. VL_LLaMA_2_7B_Finetuned.pth (sets model.ckpt)")
    ap.add_argument("--llama", help="LLaMA HF folder (sets model.llama_model; default: a stub, see above)")
    ap.add_argument("--bert", help="local bert-base-uncased folder (config.json, vocab.txt)")
    ap.add_argument("--video", help="the video to embed")
    ap.add_argument("--frames", type=int, default=8, help="frames to sample (default 8, like the demo)")
    ap.add_argument("--frames-from", help="safetensors holding input.frames instead of --video")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--llm-fp16", action="store_true", help="do not cast the (unused) LLaMA to float32")
    ap.add_argument("--no-provenance", action="store_true", help="skip the parameters-vs-files check")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if not args.video and not args.frames_from:
        ap.error("pass --video or --frames-from")
    args.videollama = os.path.abspath(args.videollama)
    if not args.cfg_path:
        args.cfg_path = os.path.join(args.videollama, "eval_configs", "video_llama_eval_only_vl.yaml")
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model, processor, mcfg = build_model(args, tmp)
    if not args.no_provenance:
        files = []
        if args.eva:
            files.append(("eva", args.eva, "visual_encoder."))
        for label, key in (("blip2", "q_former_model"), ("vl", "ckpt"), ("vl2", "ckpt_2")):
            p = mcfg.get(key, "")
            if p and os.path.isfile(p):
                files.append((label, p, ""))
        check_provenance(model, files)
    frames = load_frames(args, processor)
    tensors = vision_stages(model, frames)
    import timm
    import transformers
    from safetensors.torch import save_file
    save_file(tensors, args.out, metadata={"generator": "scripts/dump_reference.py", "torch": torch.__version__,
                                           "transformers": transformers.__version__, "timm": timm.__version__,
                                           "implementation": "official Video-LLaMA " + official_commit(args.videollama),
                                           "frames": str(frames.shape[0]),
                                           "source": os.path.basename(args.video or args.frames_from),
                                           "config": os.path.basename(args.cfg_path)})
    for k, v in tensors.items():
        print(f"{k:22s} {tuple(v.shape)}")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
