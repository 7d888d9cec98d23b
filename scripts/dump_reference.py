#!/usr/bin/env python3
"""Write a VLPack reference file (Formats/REFERENCE.md) by running the official Video-LLaMA code.

Usage (from anywhere; float32, CPU, no autocast):

  python scripts/dump_reference.py --videollama /path/to/Video-LLaMA \
      --cfg-path /path/to/Video-LLaMA/eval_configs/video_llama_eval_withaudio.yaml \
      --video clip.mp4 --out clip_reference.safetensors [--frames 8] [--frames-from frames.safetensors]

The eval config names the checkpoints exactly as the official demo uses them (eva_vit_g.pth via the
LAVIS URL or a local path, blip2_pretrained_flant5xxl.pth, the VL checkpoint `ckpt`, the LLaMA folder,
ImageBind). The whole model is built as `demo_video.py` builds it, cast to float32 on the CPU, and
the vision branch is run step by step with the model's own modules — exactly the body of
`VideoLLAMA.encode_videoQformer_visual` — recording each intermediate; the script then checks that the
official function itself returns the same `video.out`.

Frames come from the official loader (`load_video`, decord, uniform sampling, 224×224) and the
official eval transform (CLIP mean/std), unless `--frames-from` supplies a safetensors file holding
`input.frames` [T,3,224,224] already normalized (to bypass decord's scaler when comparing against
another decoder).

Memory: the official constructor loads the LLaMA decoder too (7B in float32: ~27 GB); pass
`--llm-fp16` to keep it in float16 (it is not used by the vision branch).
"""
import argparse
import os
import sys

import torch


def build_model(args):
    sys.path.insert(0, args.videollama)
    from video_llama.common.config import Config
    from video_llama.common.registry import registry
    import video_llama.models  # noqa: F401  (registers the model classes)
    import video_llama.processors  # noqa: F401

    class Options:  # what the official demos pass to Config
        cfg_path = args.cfg_path
        options = args.options or []

    cfg = Config(Options())
    model_config = cfg.model_cfg
    model_config.device_8bit = 0
    model = registry.get_model_class(model_config.arch).from_config(model_config)
    model = model.to("cpu").eval()
    # Everything the vision branch touches in float32 (the EVA Linear/Conv weights are stored fp16).
    for m in (model.visual_encoder, model.ln_vision, model.Qformer, model.video_Qformer, model.llama_proj,
              model.video_frame_position_embedding):
        m.float()
    model.query_tokens.data = model.query_tokens.data.float()
    model.video_query_tokens.data = model.video_query_tokens.data.float()
    if not args.llm_fp16:
        model.llama_model.float()
    vis_cfg = cfg.datasets_cfg.webvid.vis_processor.train
    processor = registry.get_processor_class(vis_cfg.name).from_config(vis_cfg)
    return model, processor


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
    assert err == 0.0 or err < 1e-5 * out["video.out"].abs().max().item(), f"step-by-step differs from the official function: {err}"
    return {k: v.float().contiguous() for k, v in out.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videollama", required=True, help="checkout of github.com/DAMO-NLP-SG/Video-LLaMA")
    ap.add_argument("--cfg-path", required=True, help="an eval config of that checkout")
    ap.add_argument("--options", nargs="+", help="config overrides, as the official demos take them")
    ap.add_argument("--video", help="the video to embed")
    ap.add_argument("--frames", type=int, default=8, help="frames to sample (default 8, like the demo)")
    ap.add_argument("--frames-from", help="safetensors holding input.frames instead of --video")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--llm-fp16", action="store_true", help="leave the (unused) LLaMA in float16 to save memory")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if not args.video and not args.frames_from:
        ap.error("pass --video or --frames-from")
    torch.set_num_threads(args.threads)
    model, processor = build_model(args)
    frames = load_frames(args, processor)
    tensors = vision_stages(model, frames)
    from safetensors.torch import save_file
    save_file(tensors, args.out, metadata={"generator": "scripts/dump_reference.py", "torch": torch.__version__,
                                           "source": os.path.basename(args.video or args.frames_from),
                                           "config": os.path.basename(args.cfg_path)})
    for k, v in tensors.items():
        print(f"{k:22s} {tuple(v.shape)}")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
