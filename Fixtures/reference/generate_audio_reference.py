#!/usr/bin/env python3
"""Reference outputs of the Video-LLaMA audio branch from implementations independent of VLPack.

Float32 on the CPU, on the same weights and input:

* **ImageBind's own modules** for the audio tower: the official `ImageBindModel` class from the
  Video-LLaMA checkout (`video_llama/models/ImageBind/models/imagebind_model.py`), built with the
  checkpoint's audio sizes (the other towers tiny: they are never run), its audio keys loaded
  strictly, and its `get_audio_feature` called as `VideoLLAMA.encode_audioQformer` calls it:
  `audio.encoder.cls` is the returned `audio_feature` (head LayerNorm, CLS), `audio.encoder.out` the
  normalized × logit-scale embedding.
* **transformers' `Blip2QFormerModel`** for the audio Q-Former (AL checkpoint names mapped as in
  generate_reference.py), with `audio_position_embedding` rows 0..S−1 added to its memory, and
  `audio_llama_proj` as `F.linear`.

Shim (reported here, does not touch the forward): `timm.models.layers` is replaced by a module with
`DropPath` (identity; the model runs in eval mode, where timm's DropPath is the identity too) and
`trunc_normal_` (torch's; only used for the random init that the loaded weights overwrite), so the
official code runs without timm/torchvision.

Modes:
  sample (default): Fixtures/samples/imagebind_huge.pth + AL_tiny.pth → sample_audio.safetensors.
      The input is the official loader's clips of Fixtures/media/sample_av.mp4 at the sample's settings
      (32 mel × 44 frames, 8 clips of 2 s: `mel.tiny` in Fixtures/media/reference/audio, written by
      Fixtures/media/make_audio_reference.py), so `vlpack embed --video sample_av.mp4` can be checked
      end to end against it; `--mel-from seeded` uses N(0, 1) clips instead.
  --full DIR: variance-preserving random weights at the real ImageBind-huge audio / audio Q-Former
      sizes, written as DIR/imagebind_huge.pth (audio tower only) and DIR/AL_random.pth, plus
      DIR/full_audio.safetensors; convert them with `vlpack convert` (not committed).
  --time DIR [--audio FILE]: time the official path on DIR's full-size checkpoints (8 clips, --threads),
      from FILE through the official loader when given.

Run: /tmp/venv/bin/python Fixtures/reference/generate_audio_reference.py [--videollama DIR] [--full DIR]
"""
import argparse
import math
import os
import sys
import types

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate_reference import HERE, SAMPLES, VariancePreserving, load_state, rel_l2, transformers_qformer  # noqa: E402

DEFAULT_MEL = os.path.join(HERE, "..", "media", "reference", "audio", "sample_av.safetensors")
SAMPLE = {"width": 96, "depth": 2, "heads": 2, "mel_bins": 32, "target_length": 44, "out_dim": 128,
          "qformer": {"hidden": 96, "heads": 2, "layers": 2, "intermediate": 192, "queries": 8}, "clips": 8}
FULL = {"width": 768, "depth": 12, "heads": 12, "mel_bins": 128, "target_length": 204, "out_dim": 1024,
        "qformer": {"hidden": 768, "heads": 12, "layers": 2, "intermediate": 3072, "queries": 8}, "clips": 8}


def official_imagebind(videollama):
    """The official ImageBind module, imported from the checkout with the timm shim."""
    layers = types.ModuleType("timm.models.layers")

    class DropPath(torch.nn.Module):
        def __init__(self, drop_prob=0.0):
            super().__init__()

        def forward(self, x):
            assert not self.training, "the reference runs in eval mode"
            return x

    layers.DropPath, layers.trunc_normal_ = DropPath, torch.nn.init.trunc_normal_
    timm = types.ModuleType("timm")
    timm.models = types.ModuleType("timm.models")
    timm.models.layers = layers
    sys.modules.update({"timm": timm, "timm.models": timm.models, "timm.models.layers": layers})
    print("shim: timm.models.layers.{DropPath (eval identity), trunc_normal_ (init only)}")
    sys.path.insert(0, os.path.join(videollama, "video_llama", "models", "ImageBind"))
    from models import imagebind_model
    return imagebind_model


class OfficialAudio:
    def __init__(self, imagebind_model, ib, al, cfg):
        tiny = dict(embed_dim=32, num_blocks=1, num_heads=2)
        towers = {f"{m}_{k}": v for m in ("vision", "text", "depth", "thermal", "imu") for k, v in tiny.items()}
        self.model = imagebind_model.ImageBindModel(
            audio_embed_dim=cfg["width"], audio_num_blocks=cfg["depth"], audio_num_heads=cfg["heads"],
            audio_num_mel_bins=cfg["mel_bins"], audio_target_len=cfg["target_length"], out_embed_dim=cfg["out_dim"],
            **towers).eval()
        audio = {k: v.float() for k, v in ib.items() if ".audio." in k}
        own = {k for k in self.model.state_dict() if ".audio." in k}
        assert own == set(audio), (own ^ set(audio))
        missing, unexpected = self.model.load_state_dict(audio, strict=False)
        assert not unexpected and all(".audio." not in k for k in missing), (missing, unexpected)
        self.qformer = transformers_qformer(cfg["qformer"], cfg["out_dim"], al, "audio_Qformer.bert.", 1)
        self.query_tokens = al["audio_query_tokens"].float()
        self.position = al["audio_position_embedding.weight"].float()
        self.proj = (al["audio_llama_proj.weight"].float(), al["audio_llama_proj.bias"].float())

    @torch.no_grad()
    def run(self, mel):
        """mel [S, 1, F, T] → every stage, as encode_audioQformer computes it (B = 1)."""
        s = mel.shape[0]
        cls, final = self.model.get_audio_feature(mel.unsqueeze(0), modality_type="audio")
        memory = final + self.position[:s].unsqueeze(0)
        q = self.qformer(query_embeds=self.query_tokens, encoder_hidden_states=memory,
                         encoder_attention_mask=torch.ones(memory.shape[:2], dtype=torch.long)).last_hidden_state
        out = {"input.mel": mel, "audio.encoder.cls": cls[0], "audio.encoder.out": final[0],
               "audio.qformer.out": q[0], "audio.out": F.linear(q[0], *self.proj)}
        return {k: v.contiguous().float() for k, v in out.items()}


def random_checkpoints(cfg, d_llm=4096, seed=11):
    """ImageBind-named audio tower + AL-named branch, drawn variance-preserving (`VariancePreserving`:
    Linear/Conv N(0, 1/fan_in), biases N(0, 0.02²), norm weights N(1, 0.1²), tokens, positions and
    bias_k/bias_v N(0, 0.5²)); log_logit_scale = ln 20 as ImageBind initializes it."""
    r = VariancePreserving(seed)
    weight, bias, table, ln = r.weight, r.bias, r.table, r.ln
    W, D = cfg["width"], cfg["out_dim"]
    tokens = ((cfg["mel_bins"] - 16) // 10 + 1) * ((cfg["target_length"] - 16) // 10 + 1) + 1
    pre, trunk = "modality_preprocessors.audio.", "modality_trunks.audio.blocks."
    ib = {pre + "cls_token": table(1, 1, W), pre + "rgbt_stem.proj.weight": weight(W, 1, 16, 16),
          **dict(zip((pre + "rgbt_stem.norm_layer.weight", pre + "rgbt_stem.norm_layer.bias"), ln(W))),
          pre + "pos_embedding_helper.pos_embed": table(1, tokens, W)}
    for i in range(cfg["depth"]):
        b = f"{trunk}{i}."
        ib[b + "attn.in_proj_weight"], ib[b + "attn.in_proj_bias"] = weight(3 * W, W), bias(3 * W)
        ib[b + "attn.bias_k"], ib[b + "attn.bias_v"] = table(1, 1, W), table(1, 1, W)
        ib[b + "attn.out_proj.weight"], ib[b + "attn.out_proj.bias"] = weight(W, W), bias(W)
        for n in ("norm_1", "norm_2"):
            ib[f"{b}{n}.weight"], ib[f"{b}{n}.bias"] = ln(W)
        ib[b + "mlp.fc1.weight"], ib[b + "mlp.fc1.bias"] = weight(4 * W, W), bias(4 * W)
        ib[b + "mlp.fc2.weight"], ib[b + "mlp.fc2.bias"] = weight(W, 4 * W), bias(W)
    ib["modality_heads.audio.0.weight"], ib["modality_heads.audio.0.bias"] = ln(W)
    ib["modality_heads.audio.2.weight"] = weight(D, W)
    ib["modality_postprocessors.audio.1.log_logit_scale"] = torch.tensor(math.log(20.0))

    q = cfg["qformer"]
    H = q["hidden"]
    al = {"audio_query_tokens": table(1, q["queries"], H), "audio_position_embedding.weight": table(cfg["clips"], D),
          "audio_llama_proj.weight": weight(d_llm, H), "audio_llama_proj.bias": bias(d_llm)}
    al.update(r.qformer("audio_Qformer.bert.", q, D, 1))
    return ib, al


def seeded_mel(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(cfg["clips"], 1, cfg["mel_bins"], cfg["target_length"], generator=g)


def time_full(folder, imagebind_model, threads, audio=None, runs=5):
    """Median of `runs` timed runs (after one warm-up) of mel → audio.out on 8 clips, float32, as the
    official path computes it (`get_audio_feature` + audio Q-Former + projection); with `audio`, each
    run starts from that file through the official `load_and_transform_audio_data` (Fixtures/media/
    official_audio.py: the official function text, PyAV standing in for torchaudio.load)."""
    import json
    import resource
    import time
    ib = load_state(os.path.join(folder, "imagebind_huge.pth"))
    al = load_state(os.path.join(folder, "AL_random.pth"))
    model = OfficialAudio(imagebind_model, ib, al, FULL)
    del ib, al
    load = None
    if audio:
        sys.path.insert(0, os.path.join(HERE, "..", "media"))
        from official_audio import official
        load = lambda: official["load_and_transform_audio_data"]([audio], "cpu", clips_per_video=8)[0]  # noqa: E731
    mel = seeded_mel(FULL, 1234)
    model.run(load() if load else mel)
    times, media = [], []
    for _ in range(runs):
        start = time.perf_counter()
        if load:
            mel = load()
            media.append(time.perf_counter() - start)
        model.run(mel)
        times.append(time.perf_counter() - start)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"torch": torch.__version__, "threads": threads, "clips": 8, "audio": audio, "runs_s": times,
                      "median_s": sorted(times)[runs // 2], "media_median_s": sorted(media)[runs // 2] if media else None,
                      "peak_rss_mib": rss}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--videollama", default="/work/Video-LLaMA", help="the official Video-LLaMA checkout")
    ap.add_argument("--full", metavar="DIR", help="full-size random weights and reference into DIR")
    ap.add_argument("--mel-from", metavar="FILE", default=DEFAULT_MEL,
                    help="take the clips from this safetensors file (default: the official loader's clips of "
                         "Fixtures/media/sample_av.mp4 at the sample's settings); 'seeded' for N(0, 1) clips")
    ap.add_argument("--mel-key", default="mel.tiny", help="the tensor of --mel-from holding the clips")
    ap.add_argument("--out", metavar="FILE", help="output (default sample_audio.safetensors / DIR/full_audio.safetensors)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--time", metavar="DIR", help="time the official path on DIR's full-size checkpoints (8 clips)")
    ap.add_argument("--audio", metavar="FILE", help="with --time: start every run from FILE through the official loader "
                    "(needs torchaudio: PYTHONPATH=/tmp/ta_overlay, see Fixtures/media/make_audio_reference.py)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    imagebind_model = official_imagebind(args.videollama)
    if args.time:
        time_full(args.time, imagebind_model, args.threads, audio=args.audio)
        return

    if args.full:
        cfg = FULL
        os.makedirs(args.full, exist_ok=True)
        ib, al = random_checkpoints(cfg)
        torch.save(ib, os.path.join(args.full, "imagebind_huge.pth"))
        torch.save({"model": al}, os.path.join(args.full, "AL_random.pth"))
        out_path = args.out or os.path.join(args.full, "full_audio.safetensors")
    else:
        cfg = SAMPLE
        ib = load_state(os.path.join(SAMPLES, "imagebind_huge.pth"))
        al = load_state(os.path.join(SAMPLES, "AL_tiny.pth"))
        out_path = args.out or os.path.join(HERE, "sample_audio.safetensors")

    from_file = args.mel_from != "seeded" and not args.full
    mel = load_file(args.mel_from)[args.mel_key] if from_file else seeded_mel(cfg, 1234)
    model = OfficialAudio(imagebind_model, ib, al, cfg)
    ref = model.run(mel)
    # The output must depend on the input, or storage loss hides.
    other = model.run(seeded_mel(cfg, 4321))
    for k in ("audio.encoder.out", "audio.qformer.out", "audio.out"):
        print(f"input dependence {k:18s} rel. difference between two inputs {rel_l2(other[k], ref[k]):.3f}")
    meta = {"generator": "Fixtures/reference/generate_audio_reference.py",
            "implementation": "official ImageBindModel.get_audio_feature + transformers Blip2QFormerModel",
            "torch": torch.__version__, "clips": str(mel.shape[0]), "mel_from": f"{os.path.relpath(args.mel_from, os.path.join(HERE, '..', '..'))}:{args.mel_key}" if from_file else "seeded N(0,1)"}
    save_file(ref, out_path, metadata=meta)
    print("wrote", out_path, {k: tuple(v.shape) for k, v in ref.items()})


if __name__ == "__main__":
    main()
