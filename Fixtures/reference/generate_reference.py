#!/usr/bin/env python3
"""Reference outputs of the Video-LLaMA vision branch from implementations independent of VLPack.

Two PyTorch implementations run on the same weights and inputs, in float32 on the CPU:

* **transformers** (the reference written to the file): `Blip2VisionModel` is EVA ViT-g as BLIP-2
  uses it (patch conv, cls + absolute positions, q/v bias with zero k bias, pre-LN blocks, exact GELU);
  its `post_layernorm` is skipped and LAVIS's `ln_vision` (eps 1e-5) applied instead.
  `Blip2QFormerModel` runs both Q-Formers (embedding LayerNorm on the queries, post-LN BERT layers,
  cross-attention every `cross_attention_frequency`-th layer, query-branch FFN).
* **plain** (`PlainVision` below): this file's own few lines of tensor code written from
  shared/spec/video-llama.md §3.1–3.4, straight from the LAVIS key names. It must agree with the
  transformers path (checked, rel. L2 < 1e-5) — a mapping mistake would show up as a disagreement.

The LAVIS checkpoints are mapped onto the transformers names (`map_eva`, `map_qformer`); every
mapped model is loaded with missing keys checked (only the unused text branch may be missing).

Modes:
  sample (default): the tiny sample checkpoints in Fixtures/samples → sample_vision.safetensors (committed)
  --full DIR: random weights at the real ViT-g / Q-Former sizes, written as LAVIS-style checkpoints
              (eva_vit_g.pth fp16 Linear/Conv, blip2 and VL `{"model": ...}` files) plus
              DIR/full_vision.safetensors for them; convert them with `vlpack convert` (not committed).
  --threads-spread: also run with 1 and 2 torch threads and print the spread (the noise floor).

Run: /tmp/venv/bin/python Fixtures/reference/generate_reference.py [--full DIR] [--frames T]
"""
import argparse
import math
import os
import sys
import types

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import Blip2QFormerConfig, Blip2QFormerModel, Blip2VisionConfig, Blip2VisionModel

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "..", "samples")
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


# ---------------------------------------------------------------------------------------------
# Loading the sample checkpoints (trusted fixtures; the trainer files hold one fixture class).

class RunConfig:
    """Stand-in for the fixture generator's config class pickled inside the trainer files."""

    def __setstate__(self, state):
        self.__dict__.update(state if isinstance(state, dict) else {})


RunConfig.__module__ = "vlfixture"
sys.modules["vlfixture"] = types.ModuleType("vlfixture")
sys.modules["vlfixture"].RunConfig = RunConfig
torch.serialization.add_safe_globals([RunConfig])


def load_state(path):
    sd = torch.load(path, map_location="cpu", weights_only=True)
    return sd["model"] if "model" in sd else sd


# ---------------------------------------------------------------------------------------------
# LAVIS names → transformers names.

def map_eva(eva, depth):
    out = {
        "embeddings.class_embedding": eva["cls_token"],
        "embeddings.position_embedding": eva["pos_embed"],
        "embeddings.patch_embedding.weight": eva["patch_embed.proj.weight"],
        "embeddings.patch_embedding.bias": eva["patch_embed.proj.bias"],
    }
    for i in range(depth):
        s, d = f"blocks.{i}.", f"encoder.layers.{i}."
        q, v = eva[s + "attn.q_bias"], eva[s + "attn.v_bias"]
        out[d + "self_attn.qkv.weight"] = eva[s + "attn.qkv.weight"]
        out[d + "self_attn.qkv.bias"] = torch.cat([q, torch.zeros_like(q), v])
        out[d + "self_attn.projection.weight"] = eva[s + "attn.proj.weight"]
        out[d + "self_attn.projection.bias"] = eva[s + "attn.proj.bias"]
        for a, b in (("norm1", "layer_norm1"), ("norm2", "layer_norm2"), ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2")):
            out[d + b + ".weight"] = eva[s + a + ".weight"]
            out[d + b + ".bias"] = eva[s + a + ".bias"]
    return {k: v.float() for k, v in out.items()}


def map_qformer(sd, prefix, layers, freq):
    """`prefix` is e.g. 'Qformer.bert.' or 'video_Qformer.bert.'."""
    out = {"layernorm.weight": sd[prefix + "embeddings.LayerNorm.weight"],
           "layernorm.bias": sd[prefix + "embeddings.LayerNorm.bias"]}
    for i in range(layers):
        s, d = f"{prefix}encoder.layer.{i}.", f"encoder.layer.{i}."
        names = [("attention.self.", "attention.attention."), ("attention.output.", "attention.output.")]
        if i % freq == 0:
            names += [("crossattention.self.", "crossattention.attention."), ("crossattention.output.", "crossattention.output.")]
        names += [("intermediate_query.", "intermediate_query."), ("output_query.", "output_query.")]
        for a, b in names:
            for k, v in sd.items():
                if k.startswith(s + a):
                    out[d + b + k[len(s + a):]] = v
    return {k: v.float() for k, v in out.items()}


def transformers_qformer(c, encoder_width, sd, prefix, freq):
    """transformers' Blip2QFormerModel at config `c` with the LAVIS weights under `prefix` mapped in."""
    return load_mapped(Blip2QFormerModel(Blip2QFormerConfig(
        hidden_size=c["hidden"], num_hidden_layers=c["layers"], num_attention_heads=c["heads"],
        intermediate_size=c["intermediate"], hidden_act="gelu", layer_norm_eps=1e-12,
        cross_attention_frequency=freq, encoder_hidden_size=encoder_width)),
        map_qformer(sd, prefix, c["layers"], freq))


def load_mapped(model, state):
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    # Only the Q-Former's text-branch FFN (`intermediate.`, `output.`) and the vision post-LN may be absent.
    bad = [k for k in missing if not (".intermediate.dense" in k or ".output.dense" in k and "_query" not in k
                                      or ".output.LayerNorm" in k and "attention" not in k and "_query" not in k
                                      or k.startswith("post_layernorm"))]
    assert not bad, bad
    return model.eval()


# ---------------------------------------------------------------------------------------------
# The transformers path.

class TransformersVision:
    def __init__(self, eva, blip2, vl, cfg):
        e, q, v = cfg["eva"], cfg["qformer"], cfg["video"]
        self.eva = load_mapped(Blip2VisionModel(Blip2VisionConfig(
            image_size=e["image_size"], patch_size=e["patch_size"], hidden_size=e["width"], intermediate_size=e["mlp"],
            num_hidden_layers=e["depth"], num_attention_heads=e["heads"], layer_norm_eps=1e-6, qkv_bias=True,
            hidden_act="gelu")), map_eva(eva, e["depth"]))
        self.ln_vision = (blip2["ln_vision.weight"].float(), blip2["ln_vision.bias"].float())
        self.qformer = transformers_qformer(q, e["width"], blip2, "Qformer.bert.", q["freq"])
        self.query_tokens = blip2["query_tokens"].float()
        self.video_qformer = transformers_qformer(v, q["hidden"], vl, "video_Qformer.bert.", 1)
        self.video_query_tokens = vl["video_query_tokens"].float()
        self.frame_pos = vl["video_frame_position_embedding.weight"].float()
        self.proj = (vl["llama_proj.weight"].float(), vl["llama_proj.bias"].float())

    @torch.no_grad()
    def encoder(self, frames):
        # hidden_states[-1] is the last block's output, before `post_layernorm`.
        out = self.eva(pixel_values=frames, output_hidden_states=True)
        return out.hidden_states[-1]

    @torch.no_grad()
    def ln(self, x):
        return F.layer_norm(x, x.shape[-1:], *self.ln_vision, eps=1e-5)

    @torch.no_grad()
    def blip2_qformer(self, image_embeds):
        t = image_embeds.shape[0]
        return self.qformer(query_embeds=self.query_tokens.expand(t, -1, -1), encoder_hidden_states=image_embeds,
                            encoder_attention_mask=torch.ones(image_embeds.shape[:2], dtype=torch.long)).last_hidden_state

    @torch.no_grad()
    def video(self, q_hidden):
        t, nq, h = q_hidden.shape
        memory = (q_hidden + self.frame_pos[:t].unsqueeze(1)).reshape(1, t * nq, h)
        out = self.video_qformer(query_embeds=self.video_query_tokens, encoder_hidden_states=memory,
                                 encoder_attention_mask=torch.ones(memory.shape[:2], dtype=torch.long)).last_hidden_state
        return out[0]

    @torch.no_grad()
    def llama_proj(self, v):
        return F.linear(v, *self.proj)


# ---------------------------------------------------------------------------------------------
# The plain path: spec §3.1–3.4 straight from the LAVIS names.

class PlainVision:
    def __init__(self, eva, blip2, vl, cfg):
        self.eva = {k: v.float() for k, v in eva.items()}
        self.blip2 = {k: v.float() for k, v in blip2.items()}
        self.vl = {k: v.float() for k, v in vl.items()}
        self.cfg = cfg

    @staticmethod
    def attention(q, k, v, heads, scale_before):
        b, n, c = q.shape
        d = c // heads
        q, k, v = (x.reshape(b, -1, heads, d).transpose(1, 2) for x in (q, k, v))
        s = (q * d ** -0.5) @ k.transpose(-1, -2) if scale_before else (q @ k.transpose(-1, -2)) / d ** 0.5
        return (s.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)

    @torch.no_grad()
    def encoder(self, x):
        w, e = self.eva, self.cfg["eva"]
        x = F.conv2d(x, w["patch_embed.proj.weight"], w["patch_embed.proj.bias"], stride=e["patch_size"])
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([w["cls_token"].expand(x.shape[0], -1, -1), x], 1) + w["pos_embed"]
        for i in range(e["depth"]):
            p = f"blocks.{i}."
            h = F.layer_norm(x, x.shape[-1:], w[p + "norm1.weight"], w[p + "norm1.bias"], eps=1e-6)
            bias = torch.cat([w[p + "attn.q_bias"], torch.zeros_like(w[p + "attn.q_bias"]), w[p + "attn.v_bias"]])
            q, k, v = F.linear(h, w[p + "attn.qkv.weight"], bias).chunk(3, -1)
            x = x + F.linear(self.attention(q, k, v, e["heads"], True), w[p + "attn.proj.weight"], w[p + "attn.proj.bias"])
            h = F.layer_norm(x, x.shape[-1:], w[p + "norm2.weight"], w[p + "norm2.bias"], eps=1e-6)
            h = F.gelu(F.linear(h, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"]))
            x = x + F.linear(h, w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])
        return x

    def qformer(self, w, p, queries, memory, layers, heads, freq):
        def lin(x, n):
            return F.linear(x, w[n + ".weight"], w[n + ".bias"])

        def ln(x, n):
            return F.layer_norm(x, x.shape[-1:], w[n + ".weight"], w[n + ".bias"], eps=1e-12)

        h = ln(queries, p + "embeddings.LayerNorm")
        for i in range(layers):
            s = f"{p}encoder.layer.{i}."
            a = self.attention(lin(h, s + "attention.self.query"), lin(h, s + "attention.self.key"),
                               lin(h, s + "attention.self.value"), heads, False)
            h = ln(h + lin(a, s + "attention.output.dense"), s + "attention.output.LayerNorm")
            if i % freq == 0:
                a = self.attention(lin(h, s + "crossattention.self.query"), lin(memory, s + "crossattention.self.key"),
                                   lin(memory, s + "crossattention.self.value"), heads, False)
                h = ln(h + lin(a, s + "crossattention.output.dense"), s + "crossattention.output.LayerNorm")
            f = F.gelu(lin(h, s + "intermediate_query.dense"))
            h = ln(h + lin(f, s + "output_query.dense"), s + "output_query.LayerNorm")
        return h

    @torch.no_grad()
    def ln(self, x):
        return F.layer_norm(x, x.shape[-1:], self.blip2["ln_vision.weight"], self.blip2["ln_vision.bias"], eps=1e-5)

    @torch.no_grad()
    def blip2_qformer(self, e):
        q = self.cfg["qformer"]
        queries = self.blip2["query_tokens"].expand(e.shape[0], -1, -1)
        return self.qformer(self.blip2, "Qformer.bert.", queries, e, q["layers"], q["heads"], q["freq"])

    @torch.no_grad()
    def video(self, q_hidden):
        t, nq, h = q_hidden.shape
        memory = (q_hidden + self.vl["video_frame_position_embedding.weight"][:t].unsqueeze(1)).reshape(1, t * nq, h)
        v = self.cfg["video"]
        return self.qformer(self.vl, "video_Qformer.bert.", self.vl["video_query_tokens"], memory, v["layers"], v["heads"], 1)[0]

    @torch.no_grad()
    def llama_proj(self, v):
        return F.linear(v, self.vl["llama_proj.weight"], self.vl["llama_proj.bias"])


# ---------------------------------------------------------------------------------------------

def run_stages(model, frames):
    out = {"input.frames": frames}
    out["vision.encoder.out"] = model.encoder(frames)
    out["vision.ln.out"] = model.ln(out["vision.encoder.out"])
    out["vision.qformer.out"] = model.blip2_qformer(out["vision.ln.out"])
    out["video.qformer.out"] = model.video(out["vision.qformer.out"])
    out["video.out"] = model.llama_proj(out["video.qformer.out"])
    return {k: v.contiguous().float() for k, v in out.items()}


def rel_l2(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm()).item()


def deterministic_frames(t, size, seed=1234):
    """Pixel values in [0, 1] from a seeded generator, CLIP-normalized like §4.1."""
    g = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (t, 3, size, size), generator=g).float() / 255
    mean, std = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return (pixels - mean) / std


def sample_config():
    import json
    c = json.load(open(os.path.join(SAMPLES, "convert-config.json")))
    e, q, v = c["eva_vit"], c["blip2_qformer"], c["video_branch"]
    return {"eva": e, "qformer": {"hidden": q["hidden"], "heads": q["heads"], "layers": q["layers"],
                                  "intermediate": q["intermediate"], "freq": q["cross_attention_freq"]},
            "video": {"hidden": v["hidden"], "heads": v["heads"], "layers": v["layers"], "intermediate": v["intermediate"]}}


FULL_CONFIG = {"eva": {"image_size": 224, "patch_size": 14, "width": 1408, "depth": 39, "heads": 16, "mlp": 6144},
               "qformer": {"hidden": 768, "heads": 12, "layers": 12, "intermediate": 3072, "freq": 2},
               "video": {"hidden": 768, "heads": 12, "layers": 2, "intermediate": 3072}}


class VariancePreserving:
    """Seeded random tensors drawn so that outputs depend on inputs: Linear/Conv weights N(0, 1/fan_in),
    biases N(0, 0.02²), norm weights N(1, 0.1²) (their biases as biases), tokens and tables N(0, 0.5²)."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def rnd(self, *shape, std):
        return torch.randn(*shape, generator=self.g) * std

    def weight(self, out, fan_in, *kernel):
        return self.rnd(out, fan_in, *kernel, std=(fan_in * math.prod(kernel)) ** -0.5)

    def bias(self, n):
        return self.rnd(n, std=0.02)

    def table(self, *shape):
        return self.rnd(*shape, std=0.5)

    def ln(self, n):
        return 1 + self.rnd(n, std=0.1), self.bias(n)

    def qformer(self, prefix, c, enc, freq):
        """LAVIS-named BERT Q-Former weights under `prefix` (cross-attention every `freq`-th layer)."""
        weight, bias, ln = self.weight, self.bias, self.ln
        H, I = c["hidden"], c["intermediate"]
        sd = {}
        sd[prefix + "embeddings.LayerNorm.weight"], sd[prefix + "embeddings.LayerNorm.bias"] = ln(H)
        sd[prefix + "embeddings.position_ids"] = torch.arange(512).unsqueeze(0)
        for i in range(c["layers"]):
            s = f"{prefix}encoder.layer.{i}."
            blocks = [("attention", H)] + ([("crossattention", enc)] if i % freq == 0 else [])
            for name, width in blocks:
                for k, w in (("query", H), ("key", width), ("value", width)):
                    sd[f"{s}{name}.self.{k}.weight"], sd[f"{s}{name}.self.{k}.bias"] = weight(H, w), bias(H)
                sd[f"{s}{name}.output.dense.weight"], sd[f"{s}{name}.output.dense.bias"] = weight(H, H), bias(H)
                sd[f"{s}{name}.output.LayerNorm.weight"], sd[f"{s}{name}.output.LayerNorm.bias"] = ln(H)
            sd[s + "intermediate_query.dense.weight"], sd[s + "intermediate_query.dense.bias"] = weight(I, H), bias(I)
            sd[s + "output_query.dense.weight"], sd[s + "output_query.dense.bias"] = weight(H, I), bias(H)
            sd[s + "output_query.LayerNorm.weight"], sd[s + "output_query.LayerNorm.bias"] = ln(H)
        return sd


def random_checkpoints(cfg, d_llm=4096, seed=7):
    """LAVIS-named random weights at `cfg` sizes: EVA Conv/Linear in fp16 like eva_vit_g.pth.

    Drawn variance-preserving (`VariancePreserving`), so that the branch output really depends on its
    input and storage loss cannot hide: with small-std weights the outputs become nearly
    input-independent and any quantization error looks small.
    """
    r = VariancePreserving(seed)
    rnd, weight, bias, table, ln = r.rnd, r.weight, r.bias, r.table, r.ln
    e, q, v = cfg["eva"], cfg["qformer"], cfg["video"]

    W, M, P = e["width"], e["mlp"], e["patch_size"]
    tokens = (e["image_size"] // P) ** 2 + 1
    eva = {"cls_token": table(1, 1, W), "pos_embed": table(1, tokens, W),
           "patch_embed.proj.weight": weight(W, 3, P, P).half(), "patch_embed.proj.bias": bias(W).half()}
    for i in range(e["depth"]):
        p = f"blocks.{i}."
        eva[p + "norm1.weight"], eva[p + "norm1.bias"] = ln(W)
        eva[p + "attn.q_bias"], eva[p + "attn.v_bias"] = bias(W), bias(W)
        eva[p + "attn.qkv.weight"] = weight(3 * W, W).half()
        eva[p + "attn.proj.weight"], eva[p + "attn.proj.bias"] = weight(W, W).half(), bias(W).half()
        eva[p + "norm2.weight"], eva[p + "norm2.bias"] = ln(W)
        eva[p + "mlp.fc1.weight"], eva[p + "mlp.fc1.bias"] = weight(M, W).half(), bias(M).half()
        eva[p + "mlp.fc2.weight"], eva[p + "mlp.fc2.bias"] = weight(W, M).half(), bias(W).half()

    blip2 = {"query_tokens": table(1, 32, q["hidden"])}
    blip2["ln_vision.weight"], blip2["ln_vision.bias"] = ln(W)
    blip2.update(r.qformer("Qformer.bert.", q, W, q["freq"]))
    vl = {"video_query_tokens": table(1, 32, v["hidden"]), "video_frame_position_embedding.weight": table(32, v["hidden"]),
          "llama_proj.weight": weight(d_llm, v["hidden"]), "llama_proj.bias": bias(d_llm)}
    vl.update(r.qformer("video_Qformer.bert.", v, q["hidden"], 1))
    return eva, blip2, vl


def time_full(folder, t, threads):
    """Median of 3 timed runs (after one warm-up) of frames → video.out, float32, `threads` threads."""
    import resource
    import time
    eva = load_state(os.path.join(folder, "eva_vit_g.pth"))
    blip2 = load_state(os.path.join(folder, "blip2_pretrained_flant5xxl.pth"))
    vl = load_state(os.path.join(folder, "VL_random.pth"))
    model = TransformersVision(eva, blip2, vl, FULL_CONFIG)
    del eva, blip2, vl
    frames = deterministic_frames(t, 224)
    run_stages(model, frames)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run_stages(model, frames)
        times.append(time.perf_counter() - start)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch {torch.__version__}, {threads} threads, {t} frames: runs {' '.join(f'{x:.2f}' for x in times)} s, "
          f"median {sorted(times)[1]:.2f} s, peak RSS {rss:.0f} MiB")


def official_video_frames(path, size, n_max):
    """Video-LLaMA's load_video + AlproVideoEvalProcessor at `size` (spec §4.1): decord resizes straight
    to size×size, n = min(n_max, vlen) frames at arange(0, vlen, vlen/n), uint8 → /255 → CLIP mean/std."""
    import decord
    import numpy as np
    vr = decord.VideoReader(path, height=size, width=size)
    vlen = len(vr)
    n = min(n_max, vlen)
    indices = np.arange(0, vlen, vlen / n).astype(int).tolist()
    frames = torch.from_numpy(vr.get_batch(indices).asnumpy()).float() / 255.0     # [T, S, S, 3]
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
    return (frames.permute(0, 3, 1, 2) - mean) / std


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", metavar="DIR", help="full-size random weights and reference into DIR")
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--video", metavar="FILE", help="take the frames from this video with the official loader "
                    "(decord VideoReader at the model's image size, uniform sampling, CLIP normalization) "
                    "and write sample_video.safetensors")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--threads-spread", action="store_true")
    ap.add_argument("--time", metavar="DIR", help="time the transformers path on DIR's full-size checkpoints (8 frames)")
    ap.add_argument("--skip-plain", action="store_true", help="skip the plain cross-check (slow at full size)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    if args.time:
        time_full(args.time, args.frames or 8, args.threads)
        return
    if args.full:
        cfg = FULL_CONFIG
        os.makedirs(args.full, exist_ok=True)
        eva, blip2, vl = random_checkpoints(cfg)
        torch.save(eva, os.path.join(args.full, "eva_vit_g.pth"))
        torch.save({"model": blip2}, os.path.join(args.full, "blip2_pretrained_flant5xxl.pth"))
        torch.save({"model": vl}, os.path.join(args.full, "VL_random.pth"))
        t = args.frames or 8
        out_path = os.path.join(args.full, "full_vision.safetensors")
    else:
        cfg = sample_config()
        eva = load_state(os.path.join(SAMPLES, "eva_vit_g.pth"))
        blip2 = load_state(os.path.join(SAMPLES, "blip2_pretrained_flant5xxl.pth"))
        vl = load_state(os.path.join(SAMPLES, "VL_tiny.pth"))
        t = args.frames or 2
        out_path = os.path.join(HERE, "sample_vision.safetensors")

    if args.video and not args.full:
        frames = official_video_frames(args.video, cfg["eva"]["image_size"], args.frames or 8)
        t = frames.shape[0]
        out_path = os.path.join(HERE, "sample_video.safetensors")
    else:
        frames = deterministic_frames(t, cfg["eva"]["image_size"])
    model = TransformersVision(eva, blip2, vl, cfg)
    ref = run_stages(model, frames)
    if args.full:
        # The output must depend on the input, or storage loss hides (see random_checkpoints).
        other = run_stages(model, deterministic_frames(t, cfg["eva"]["image_size"], seed=4321))
        for k in ("vision.qformer.out", "video.out"):
            print(f"input dependence {k:20s} rel. difference between two inputs {rel_l2(other[k], ref[k]):.3f}")
    if not args.skip_plain:
        plain = run_stages(PlainVision(eva, blip2, vl, cfg), frames)
        for k in ref:
            err = rel_l2(plain[k], ref[k])
            print(f"plain vs transformers {k:22s} rel_l2 {err:.3e}")
            assert err < 1e-5, k
    if args.threads_spread:
        runs = {}
        for n in (1, 2):
            torch.set_num_threads(n)
            runs[n] = run_stages(TransformersVision(eva, blip2, vl, cfg), frames)
        torch.set_num_threads(args.threads)
        for k in ref:
            a, b = runs[1][k], runs[2][k]
            print(f"torch 1 vs 2 threads {k:22s} max_abs {(a - b).abs().max().item():.3e} rel_l2 {rel_l2(a, b):.3e}")
    meta = {"generator": "Fixtures/reference/generate_reference.py", "implementation": "transformers Blip2VisionModel + Blip2QFormerModel",
            "torch": torch.__version__, "frames": str(t)}
    save_file(ref, out_path, metadata=meta)
    print("wrote", out_path, {k: tuple(v.shape) for k, v in ref.items()})


if __name__ == "__main__":
    main()
