#!/usr/bin/env python3
"""Chat-level reference files (issue #13): the official Video-LLaMA `Chat` class, run unmodified on the
sample model, recording what it feeds the LLM and what it gets back.

Run (CPU, float32, 1 thread; transformers 4.28 is put first on sys.path by --transformers):

    /tmp/venv/bin/python Fixtures/reference/generate_chat_reference.py \
        [--videollama /work/Video-LLaMA] [--transformers /tmp/tf428] [--torchvision /tmp/tv_overlay]

Needs in /tmp/venv: torch (2.13.0+cpu here), sentencepiece, safetensors, einops, omegaconf, Pillow,
decord 0.6.0, ftfy, regex, iopath (`pip install decord pillow omegaconf`); a transformers 4.28 tree
(`pip install --no-deps --target /tmp/tf428 transformers==4.28.0 tokenizers==0.13.3`); and torchvision
outside the venv (`pip install --no-deps --target /tmp/tv_overlay torchvision==0.28.0`: the wheel's C
ops do not load with the CPU torch, and an installed-but-broken torchvision breaks the venv's
transformers 5 imports; only its pure-Python `transforms` is used, see shim 1).
Written with torch 2.13.0+cpu, transformers 4.28.0, decord 0.6.0, torchvision 0.28.0, Pillow 13.0.0.

Writes Fixtures/reference/sample_chat_{av_vicuna,av_llama2,video,image,two_turn_1,two_turn_2,
two_turn_llama2_1,two_turn_llama2_2}.safetensors (the last two go beyond issue #13's list: the LLaMA-2
template's second turn). Reruns give equal tensors and metadata; the bytes differ only in the order of
the safetensors header's metadata entries (serialized from a hash map).

Checks printed (the run exits non-zero if the first fails):
  * per answer: a plain teacher-forced forward (inputs_embeds + the generated ids' embeddings, argmax of
    the logits) re-derives generate's greedy ids; the hooked per-step logits equal that forward's;
  * per answer (asserted): every token row of the spliced embeddings is embed_tokens(id) and every block
    row is the block, so `input.ids` describes `llm.input_embeds` exactly; Chat did not truncate;
  * the audio+video message is 267 characters and every audio+video prompt contains it;
  * Chat's frames equal generate_reference.official_video_frames(sample_av.mp4, 28); input.mel equals
    sample_audio.safetensors' and audio.out agrees with it; video.out recomputed by TransformersVision
    under the venv's own transformers (5.x, subprocess) agrees with the one recorded here.

What is official and runs unmodified (imported from the checkout, never copied):
  * `video_llama.conversation.conversation_video`: `Chat` (`upload_video`, `upload_video_without_audio`,
    `upload_img`, `ask`, `answer`, `get_context_emb`), `Conversation.get_prompt`, the templates
    `default_conversation` (Vicuna, `--model_type vicuna`) and `conv_llava_llama_2` (`--model_type llama_v2`),
    `StoppingCriteriaSub`, the answer post-processing (drop a leading 0, then a leading 1; cut at
    "###" / "</s>"; text after the last "Assistant:" / "ASSISTANT:").
  * `video_llama.processors.video_processor.load_video` (decord, uniform sampling, the timestamp
    message) and `AlproVideoEvalProcessor` (from_config with the eval config's values: n_frms 8,
    image_size 224 — its eval transform does not use image_size), `Blip2ImageEvalProcessor`.
  * The LLM and tokenizer: transformers 4.28.0 `LlamaForCausalLM` (Fixtures/samples/llama-hf, float32;
    the official code loads bfloat16) with its `generate`, and the slow `LlamaTokenizer(use_fast=False)`
    with pad_token := unk_token and `add_tokens(['<ImageHere>'], special_tokens=True)`,
    `add_tokens(['<AudioHere>'], special_tokens=True)` exactly as `VideoLLAMA.__init__` does (the
    sample's 512-piece vocabulary has neither: they become ids 512 and 513; they never reach the model,
    since get_context_emb splits the prompt on '<ImageHere>').
  * The demo's settings (demo_audiovideo.py): template per model type, system prompt "" for video
    uploads and "You are able to understand the visual content that the user provides. Follow the
    instructions carefully and explain your answers in detail." for images, `answer(conv, img_list,
    num_beams=1, temperature=1.0, max_new_tokens=..., max_length=2000)`; max_new_tokens is 32 here.

The stand-in model (`SampleVideoLLaMA`): the official `VideoLLAMA` cannot be built at the sample's
sizes (`create_eva_vit_g` hard-codes ViT-g), so `Chat` gets an object with what it touches:
`llama_model`, `llama_tokenizer`, `encode_videoQformer_visual(video) -> (embeds, atts)` and
`encode_audioQformer(audio) -> (embeds, atts)` (Chat's device is 'cpu'). The two encoders are
generate_reference.TransformersVision (transformers' Blip2VisionModel + Blip2QFormerModel on
eva_vit_g.pth / blip2_pretrained_flant5xxl.pth / VL_tiny.pth, config sample_config(); here run under
transformers 4.28) and generate_audio_reference.OfficialAudio (the official ImageBindModel's
get_audio_feature + Blip2QFormerModel on imagebind_huge.pth / AL_tiny.pth), applied to exactly the
tensors the official Chat passes them.

Shims and interceptions (each is printed when installed):
  1. torchvision: the PyPI wheel is a CUDA build whose C ops cannot load with the CPU torch, so
     `import torchvision` fails in its __init__ (registering `torchvision::nms`). If it fails, the
     package is registered without running its __init__ so that `torchvision.transforms` (pure
     Python: Compose, Resize on PIL, ToTensor, Normalize) imports from the installed files.
  2. `video_llama` and `video_llama.models` are registered without running their __init__ (they import
     every dataset builder, the full VideoLLAMA, runners and tasks: pandas, webdataset, ...; none is used
     by Chat). The modules Chat's own file imports run as written.
  3. torchaudio, pytorchvideo (imported by ImageBind/data.py at import time; torchaudio.load is not
     usable here anyway) and cv2 (randaugment, training only) are placeholder modules if missing:
     calling anything from them raises. timm.models.layers is generate_audio_reference's shim
     (DropPath = eval identity, trunc_normal_ for init only).
  4. `load_video` as Chat's module sees it is wrapped: the official function runs with height = width
     = the sample's image size (28) instead of Chat's hard-coded 224 (the tiny EVA has a 2×2 patch grid);
     everything else (n_frms 8, uniform sampling, return_msg) is passed through.
  5. `load_and_transform_audio_data` as Chat's module sees it is intercepted: Chat.upload_video calls it
     with the released settings (128 mel × 204 frames), which the tiny audio tower (32 × 44) cannot take.
     It returns instead `mel.tiny` [1, 8, 1, 32, 44] from Fixtures/media/reference/audio/sample_av.safetensors:
     the official loader's 8 clips of 2 s of the same file (waveform2melspec at the sample's mel settings,
     Fixtures/media/make_audio_reference.py). The call's arguments are asserted.
  6. `chat.image_vis_processor` is replaced after Chat.__init__ by the official
     `Blip2ImageEvalProcessor(image_size=28)` (Chat builds it with the default 224).
  7. `Chat.answer` hard-codes do_sample=True: `llama_model.generate` is wrapped to force do_sample=False
     (greedy; top_p / temperature then do nothing); every other argument is Chat's.
  8. Recording only (no change to what is computed): `chat.get_context_emb` is wrapped to record the
     prompt, the segment ids (a forward hook on `embed_tokens` during the call) and the returned spliced
     embeddings; a forward hook on `llama_model` records the raw logits of every generate step.

Tensors per file (F32; names of Formats/REFERENCE.md; d = 256, V = 512 for the sample):
  input.ids             [L]     the whole spliced sequence's token ids, −1 where an embedding row stands
  llm.input_embeds      [L, d]  what Chat passes to generate (get_context_emb's output)
  llm.logits            [1, V]  the logits at the last input position (the first generate step, raw)
  llm.greedy_ids        [N]     Chat.answer's output_token: generate's output with the leading 0/1 dropped
                                (a stop id 2 that ended generation is kept, as Chat returns it)
  llm.generate_output_ids [N+1] generate's raw output (4.28 puts the BOS 1 first with inputs_embeds)
  llm.greedy_logits     [N, V]  the raw logits (no logits processor) that chose each of llm.greedy_ids
  video.out             [Q, d]  the video block (image block for the image case)
  input.frames          [T, 3, 28, 28]  the frames that block was computed from (Chat's tensor)
  audio.out, input.mel  [8, d], [8, 1, 32, 44]  (audio cases)
Metadata: generator, case, turn, template, system, question, prompt, answer, blocks (JSON
[[kind, first row, rows], ...]), ids / generate_output (JSON), stop (why generation ended), upload,
media, video_message, torch, transformers, decord, shims.
The two-turn conversation is two files with the same names: _1 (first ask/answer) and _2 (the second,
whose prompt holds the first answer).

Full-size mode (issue #13's full-size parity check; outputs are not committed):

    /tmp/venv/bin/python Fixtures/reference/generate_chat_reference.py --full --llama LLAMA_DIR \
        --out /tmp/fullchat/ref [--vision-dir /tmp/quant] [--audio-dir /tmp/quant_audio] [--threads 2]

The same Chat calls and cases on the stand-in at the released sizes: TransformersVision with
generate_reference.FULL_CONFIG on --vision-dir's eva_vit_g.pth / blip2_pretrained_flant5xxl.pth /
VL_random.pth (generate_reference.py --full), OfficialAudio with generate_audio_reference.FULL on
--audio-dir's imagebind_huge.pth / AL_random.pth (generate_audio_reference.py --full), the LLM and
tokenizer from LLAMA_DIR (e.g. scripts/make_random_llama.py at the 7 B width cut to K layers).
Shims 4 and 6 are not installed (the official load_video and Blip2ImageEvalProcessor run at Chat's own
224); shim 5 returns `mel.released` [1, 8, 1, 128, 204] (the official loader's clips at the released
settings, precomputed in Fixtures/media/reference/audio/sample_av.safetensors) instead of mel.tiny.
Files are full_chat_<case>.safetensors, with the metadata above plus mode, llama, llama_layers,
llama_hidden, llama_vocab, vision_dir, audio_dir, threads. The end-of-run checks are reduced to the
cheap ones (input.frames vs official_video_frames at 224, input.mel vs mel.released); the peak RSS
is printed. `--cases a,b` runs a subset in either mode.
"""
import argparse
import importlib.machinery
import importlib.util
import json
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SAMPLES = os.path.join(ROOT, "Fixtures", "samples")
MEDIA = os.path.join(ROOT, "Fixtures", "media")
VIDEO = os.path.join(MEDIA, "sample_av.mp4")
IMAGE = os.path.join(MEDIA, "image.png")
MEL = os.path.join(MEDIA, "reference", "audio", "sample_av.safetensors")
QUESTION_1 = "What is happening in the video?"
QUESTION_2 = "What do you hear?"
IMAGE_QUESTION = "What is in the image?"
IMAGE_SYSTEM = ("You are able to understand the visual content that the user provides. "
                "Follow the instructions carefully and explain your answers in detail.")
SHIMS = []


def log(msg):
    print(f"[chat_reference] {msg}", flush=True)


def shim(msg):
    SHIMS.append(msg)
    log(f"shim: {msg}")


class _Missing(types.ModuleType):
    """Placeholder for a package the Chat path imports but never calls."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def unavailable(*a, **k):
            raise RuntimeError(f"{self.__name__}.{name} is a placeholder (package not usable here)")
        return unavailable


def bare_package(name, folder):
    m = types.ModuleType(name)
    m.__path__ = [folder]
    m.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
    m.__spec__.submodule_search_locations = [folder]
    sys.modules[name] = m
    return m


def install_shims(videollama):
    # 1. torchvision
    try:
        import torchvision  # noqa: F401
        from torchvision import transforms  # noqa: F401
    except Exception as e:
        for k in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
            del sys.modules[k]
        folder = os.path.dirname(importlib.util.find_spec("torchvision").origin)
        bare_package("torchvision", folder)
        from torchvision import transforms  # noqa: F401,F811
        shim(f"torchvision's __init__ fails ({type(e).__name__}: {str(e)[:60]}): package registered without "
             "it, torchvision.transforms (pure Python) imported from the installed files")
    # 3. placeholders
    for top, names in {"torchaudio": ["torchaudio"],
                       "pytorchvideo": ["pytorchvideo", "pytorchvideo.transforms", "pytorchvideo.data",
                                        "pytorchvideo.data.clip_sampling", "pytorchvideo.data.encoded_video"],
                       "cv2": ["cv2"]}.items():
        usable = importlib.util.find_spec(top) is not None
        if usable and top == "torchaudio":
            try:
                import torchaudio  # noqa: F401
            except Exception:
                usable = False
        if not usable:
            for n in names:
                sys.modules[n] = _Missing(n)
                sys.modules[n].__spec__ = importlib.machinery.ModuleSpec(n, None)
            shim(f"{top}: placeholder module (imported at import time by the official modules, never called)")
    from generate_audio_reference import official_imagebind
    imagebind_model = official_imagebind(videollama)   # installs and prints the timm shim
    SHIMS.append("timm.models.layers: DropPath (eval identity), trunc_normal_ (init only)")
    # 2. video_llama packages without their registration-everything __init__
    sys.path.insert(0, videollama)
    bare_package("video_llama", os.path.join(videollama, "video_llama"))
    bare_package("video_llama.models", os.path.join(videollama, "video_llama", "models"))
    shim("video_llama and video_llama.models registered without their __init__ (they import every "
         "builder/model/runner/task; Chat uses none)")
    return imagebind_model


# ---------------------------------------------------------------------------------------------

class SampleVideoLLaMA:
    """What Chat touches of VideoLLAMA, on the sample checkpoints (see the module docstring)."""

    def __init__(self, vision, audio, llama_model, llama_tokenizer):
        self.vision, self.audio = vision, audio
        self.llama_model, self.llama_tokenizer = llama_model, llama_tokenizer
        self.IMAGE_PATCH_TOKEN_ID = llama_tokenizer.get_vocab()["<ImageHere>"]
        self.AUDIO_PATCH_TOKEN_ID = llama_tokenizer.get_vocab()["<AudioHere>"]
        self.calls = []   # (kind, input tensor, output [1, Q, d])

    def encode_videoQformer_visual(self, image):
        import einops
        import torch
        from generate_reference import run_stages
        b, _, t, _, _ = image.size()
        assert b == 1
        frames = einops.rearrange(image, "b c t h w -> (b t) c h w").float()
        out = run_stages(self.vision, frames)["video.out"].unsqueeze(0)
        self.calls.append(("video", frames.clone(), out.clone()))
        return out, torch.ones(out.shape[:-1], dtype=torch.long)

    def encode_audioQformer(self, audio):
        import torch
        assert audio.shape[0] == 1
        out = self.audio.run(audio[0].float())["audio.out"].unsqueeze(0)
        self.calls.append(("audio", audio[0].clone(), out.clone()))
        return out, torch.ones(out.shape[:-1], dtype=torch.long)


class Recorder:
    """Wraps the official objects to record (never to change) what the Chat call computes."""

    def __init__(self, chat, model):
        import torch
        self.chat, self.model, self.torch = chat, model, torch
        self.record = None
        orig_ctx = chat.get_context_emb          # bound official method
        embed = model.llama_model.model.embed_tokens

        def get_context_emb(conv, img_list):
            seen = []
            h = embed.register_forward_hook(lambda _m, inp, _o: seen.append(inp[0].clone()))
            try:
                prompt = conv.get_prompt()
                out = orig_ctx(conv, img_list)
            finally:
                h.remove()
            self.record = {"prompt": prompt, "segments": [s[0].tolist() for s in seen],
                           "blocks": [b.clone() for b in img_list], "embs": out.detach().clone()}
            return out
        chat.get_context_emb = get_context_emb

        orig_generate = model.llama_model.generate
        step_logits = []
        model.llama_model.register_forward_hook(lambda _m, _i, o: step_logits.append(o.logits[0, -1].detach().clone()))

        def generate(*args, **kwargs):
            assert kwargs.get("do_sample") is True, "Chat.answer passes do_sample=True"
            kwargs["do_sample"] = False
            step_logits.clear()
            self.record["generate_kwargs"] = {k: (v if not torch.is_tensor(v) else list(v.shape))
                                              for k, v in kwargs.items() if k != "stopping_criteria"}
            self.record["generate_embeds"] = kwargs["inputs_embeds"].detach().clone()
            self.record["stopping_criteria"] = kwargs["stopping_criteria"]
            with torch.no_grad():
                out = orig_generate(*args, **kwargs)
            self.record["generate_output"] = out[0].tolist()
            self.record["step_logits"] = torch.stack(step_logits)
            return out
        model.llama_model.generate = generate
        shim("llama_model.generate wrapped: do_sample forced False (greedy); other arguments as Chat passes them")


# ---------------------------------------------------------------------------------------------

def build(args):
    import torch
    import transformers
    from safetensors.torch import load_file
    from transformers import LlamaForCausalLM, LlamaTokenizer

    assert transformers.__version__.startswith("4.28"), \
        f"transformers {transformers.__version__} (from {transformers.__file__}); want 4.28 (--transformers)"
    imagebind_model = install_shims(args.videollama)
    from generate_reference import TransformersVision, load_state, sample_config
    from generate_audio_reference import SAMPLE as AUDIO_CFG, OfficialAudio
    import video_llama.conversation.conversation_video as cv
    from video_llama.common.registry import registry
    from video_llama.processors import Blip2ImageEvalProcessor
    from omegaconf import OmegaConf

    if args.full:
        # --full: the towers and branches at the released sizes (variance-preserving random weights of
        # generate_reference.py --full / generate_audio_reference.py --full), the LLM from --llama.
        from generate_reference import FULL_CONFIG as cfg
        from generate_audio_reference import FULL as AUDIO_CFG  # noqa: F811
        vision_files = [os.path.join(args.vision_dir, n) for n in ("eva_vit_g.pth", "blip2_pretrained_flant5xxl.pth", "VL_random.pth")]
        audio_files = [os.path.join(args.audio_dir, n) for n in ("imagebind_huge.pth", "AL_random.pth")]
        llama_dir = args.llama
    else:
        cfg = sample_config()
        vision_files = [os.path.join(SAMPLES, n) for n in ("eva_vit_g.pth", "blip2_pretrained_flant5xxl.pth", "VL_tiny.pth")]
        audio_files = [os.path.join(SAMPLES, n) for n in ("imagebind_huge.pth", "AL_tiny.pth")]
        llama_dir = os.path.join(SAMPLES, "llama-hf")
    size = cfg["eva"]["image_size"]
    vision = TransformersVision(*(load_state(f) for f in vision_files), cfg)
    audio = OfficialAudio(imagebind_model, *(load_state(f) for f in audio_files), AUDIO_CFG)

    # The tokenizer and LLM exactly as VideoLLAMA.__init__ makes them (float32 instead of bfloat16, unless
    # the caller asks for the official bfloat16: scripts/time_official_chat.py).
    tok = LlamaTokenizer.from_pretrained(llama_dir, use_fast=False)
    if tok.pad_token is None:
        tok.pad_token = tok.unk_token
    tok.add_tokens(["<ImageHere>"], special_tokens=True)
    tok.add_tokens(["<AudioHere>"], special_tokens=True)
    llm = LlamaForCausalLM.from_pretrained(llama_dir, torch_dtype=getattr(torch, getattr(args, "llm_dtype", "float32"))).eval()
    for p in llm.parameters():
        p.requires_grad = False
    model = SampleVideoLLaMA(vision, audio, llm, tok)
    log(f"tokenizer: {len(tok)} entries, <ImageHere> = {model.IMAGE_PATCH_TOKEN_ID}, "
        f"<AudioHere> = {model.AUDIO_PATCH_TOKEN_ID}, pad = {tok.pad_token!r}")

    # 4. frames at the model's size (at the released size 224 the official load_video runs as Chat calls it)
    if size != 224:
        official_load_video = cv.load_video

        def load_video(video_path, n_frms, height, width, sampling, return_msg):
            assert (height, width) == (224, 224)
            return official_load_video(video_path=video_path, n_frms=n_frms, height=size, width=size,
                                       sampling=sampling, return_msg=return_msg)
        cv.load_video = load_video
        shim(f"conversation_video.load_video: the official load_video with height = width = {size} (Chat asks 224)")

    # 5. the audio clips: the official loader's (torchaudio.load is not usable here), precomputed
    mel_key = "mel.released" if args.full else "mel.tiny"
    mel = load_file(MEL)[mel_key]
    assert list(mel.shape) == [8, 1, AUDIO_CFG["mel_bins"], AUDIO_CFG["target_length"]], (mel_key, mel.shape)

    def load_and_transform_audio_data(paths, device, clips_per_video):
        assert list(paths) == [VIDEO] and device == "cpu" and clips_per_video == 8, (paths, device, clips_per_video)
        return mel.unsqueeze(0).clone()
    cv.load_and_transform_audio_data = load_and_transform_audio_data
    if args.full:
        shim("conversation_video.load_and_transform_audio_data: returns mel.released [1,8,1,128,204] (the official "
             "loader's clips of sample_av.mp4 at the released 128 mel x 204 frames, precomputed; torchaudio is "
             "not usable here)")
    else:
        shim("conversation_video.load_and_transform_audio_data: returns mel.tiny [1,8,1,32,44] (the official "
             "loader's clips of sample_av.mp4 at 32 mel x 44 frames) instead of 128 x 204")

    vis_processor = registry.get_processor_class("alpro_video_eval").from_config(
        OmegaConf.create({"name": "alpro_video_eval", "n_frms": 8, "image_size": 224}))
    chat = cv.Chat(model, vis_processor, device="cpu")
    if size != 224:
        chat.image_vis_processor = Blip2ImageEvalProcessor(image_size=size)
        shim(f"chat.image_vis_processor = Blip2ImageEvalProcessor(image_size={size}) (Chat.__init__ uses 224)")
    recorder = Recorder(chat, model)
    return cv, chat, model, recorder


def tensors_of(rec, model, calls):
    """The reference tensors of one answer, with the consistency checks."""
    import torch
    segs, blocks, embs = rec["segments"], rec["blocks"], rec["embs"][0]
    assert len(segs) == len(blocks) + 1
    assert torch.equal(rec["generate_embeds"], rec["embs"]), "Chat truncated the context (begin_idx > 0)"
    ids, layout, row = [], [], 0
    block_kind = []
    for b in blocks:
        match = [c for c in calls if c[2].shape == b.shape and torch.equal(c[2], b)]
        block_kind.append(match[0][0] if match else "?")
    for i, seg in enumerate(segs):
        ids += seg
        row += len(seg)
        if i < len(blocks):
            n = blocks[i].shape[1]
            layout.append([block_kind[i], row, n])
            ids += [-1] * n
            row += n
    assert row == embs.shape[0], (row, embs.shape)
    # Every row is what the ids say: token rows = embed_tokens(id), block rows = the block.
    with torch.no_grad():
        tok_rows = [i for i, x in enumerate(ids) if x >= 0]
        want = model.llama_model.model.embed_tokens(torch.tensor([ids[i] for i in tok_rows]))
        assert torch.equal(embs[tok_rows], want)
        for (kind, start, n), b in zip(layout, blocks):
            assert torch.equal(embs[start:start + n], b[0])

    raw = rec["generate_output"]
    new = raw[1:] if raw and raw[0] == model.llama_tokenizer.bos_token_id else raw
    step = rec["step_logits"]
    assert step.shape[0] >= len(new)
    # Sanity: a plain teacher-forced forward re-derives generate's greedy ids (argmax of raw logits).
    with torch.no_grad():
        gen_emb = model.llama_model.model.embed_tokens(torch.tensor(new, dtype=torch.long)) if new else embs[:0]
        full = model.llama_model(inputs_embeds=torch.cat([embs, gen_emb]).unsqueeze(0)).logits[0]
    forced = full[embs.shape[0] - 1: embs.shape[0] - 1 + len(new)]
    argmax = forced.argmax(-1).tolist()
    step_diff = (forced - step[:len(new)]).abs().max().item() if new else 0.0
    return {"ids": ids, "layout": layout, "new": new, "raw": raw, "forced": forced, "argmax": argmax,
            "step_diff": step_diff, "last_logits": step[0:1]}


def write_case(path, name, turn, chat_result, rec, model, calls, meta, upload):
    import torch
    import transformers
    from safetensors.torch import save_file
    answer_text, output_token = chat_result
    t = tensors_of(rec, model, calls)
    if upload == "upload_img":   # the image goes through encode_videoQformer_visual as a 1-frame video
        t["layout"] = [["image" if k == "video" else k, r, n] for k, r, n in t["layout"]]
    greedy = [int(x) for x in output_token.tolist()]
    # What Chat stripped: a leading 0, then a leading 1.
    expect = t["raw"][1:] if t["raw"][:1] == [0] else t["raw"]
    expect = expect[1:] if expect[:1] == [1] else expect
    assert greedy == expect, (greedy, t["raw"])
    assert greedy == t["new"], "the generate output did not start with exactly one BOS"
    ok = t["argmax"] == greedy
    log(f"{name}: L={len(t['ids'])} blocks={t['layout']} greedy(N={len(greedy)})={greedy}")
    log(f"{name}: CHECK teacher-forced argmax == generate's greedy ids: {ok}"
        f"{'' if ok else ' argmax=' + str(t['argmax'])}; hook logits vs forward max_abs {t['step_diff']:.2e}")
    stop = rec["stopping_criteria"]
    eos = model.llama_model.generation_config.eos_token_id
    if greedy and greedy[-1] == eos:
        why = f"eos {eos} (generation_config.eos_token_id)"
    elif len(greedy) >= rec["generate_kwargs"]["max_new_tokens"]:
        why = "max_new_tokens"
    else:
        why = "stopping criteria"
    video = [c for c in calls if c[0] == "video"]
    audio = [c for c in calls if c[0] == "audio"]
    tensors = {
        "input.ids": torch.tensor(t["ids"], dtype=torch.float32),
        "llm.input_embeds": rec["embs"][0].float().contiguous(),
        "llm.logits": t["last_logits"].float().contiguous(),
        "llm.greedy_ids": torch.tensor(greedy, dtype=torch.float32),
        "llm.generate_output_ids": torch.tensor(t["raw"], dtype=torch.float32),
        "llm.greedy_logits": t["forced"].float().contiguous(),
    }
    if video:
        tensors["input.frames"] = video[-1][1].float().contiguous()
        tensors["video.out"] = video[-1][2][0].float().contiguous()
    if audio:
        tensors["input.mel"] = audio[-1][1].float().contiguous()
        tensors["audio.out"] = audio[-1][2][0].float().contiguous()
    import decord
    md = {"generator": "Fixtures/reference/generate_chat_reference.py",
          "implementation": "official Video-LLaMA Chat (conversation_video.py) on a stand-in model: "
                            "transformers 4.28 LlamaForCausalLM/LlamaTokenizer, TransformersVision, OfficialAudio",
          "case": name, "turn": str(turn), "prompt": rec["prompt"], "answer": answer_text,
          "blocks": json.dumps(t["layout"]), "ids": json.dumps(t["ids"]),
          "greedy": json.dumps(greedy), "generate_output": json.dumps(t["raw"]),
          "generate_kwargs": json.dumps(rec["generate_kwargs"]), "stop": why,
          "greedy_check": "teacher-forced argmax equals generate" if ok else "MISMATCH",
          "torch": torch.__version__, "transformers": transformers.__version__, "decord": decord.__version__,
          "shims": json.dumps(SHIMS)}
    md.update(meta)
    write_case.last_stop = why
    save_file(tensors, path, metadata=md)
    log(f"wrote {os.path.relpath(path, ROOT)} " + str({k: tuple(v.shape) for k, v in tensors.items()}))
    return ok, greedy


CROSS_CHECK_CHILD = r"""
import sys, torch
sys.path.insert(0, sys.argv[1])
import transformers
from safetensors.torch import load_file
from generate_reference import SAMPLES, TransformersVision, load_state, rel_l2, run_stages, sample_config
import os
vision = TransformersVision(*(load_state(os.path.join(SAMPLES, n)) for n in
                              ("eva_vit_g.pth", "blip2_pretrained_flant5xxl.pth", "VL_tiny.pth")), sample_config())
for path in sys.argv[2:]:
    ref = load_file(path)
    out = run_stages(vision, ref["input.frames"])["video.out"]
    print(f"transformers {transformers.__version__}: {os.path.basename(path)} video.out rel_l2 {rel_l2(out, ref['video.out']):.2e}")
"""


def cross_checks_full(out_dir, prefix):
    """--full: the recorded branch inputs against the official loaders' (no second tower pass: too slow)."""
    import torch
    from safetensors.torch import load_file
    from generate_reference import official_video_frames
    av = load_file(os.path.join(out_dir, f"{prefix}av_vicuna.safetensors"))
    import decord
    decord.bridge.set_bridge("native")   # the official load_video switched decord to the torch bridge
    frames = official_video_frames(VIDEO, 224, 8)
    log(f"CHECK input.frames (Chat's tensor) vs generate_reference.official_video_frames(sample_av.mp4, 224): "
        f"max_abs {(frames - av['input.frames']).abs().max().item():.2e}")
    log(f"CHECK input.mel equal to mel.released of {os.path.relpath(MEL, ROOT)}: "
        f"{torch.equal(load_file(MEL)['mel.released'], av['input.mel'])}")


def cross_checks(out_dir):
    """Printed checks of the recorded branch inputs/outputs against the project's other references."""
    import subprocess
    import torch
    from safetensors.torch import load_file
    from generate_reference import official_video_frames, rel_l2
    av = load_file(os.path.join(out_dir, "sample_chat_av_vicuna.safetensors"))
    import decord
    decord.bridge.set_bridge("native")   # the official load_video switched decord to the torch bridge
    frames = official_video_frames(VIDEO, 28, 8)
    log(f"CHECK input.frames (Chat's tensor) vs generate_reference.official_video_frames(sample_av.mp4, 28): "
        f"max_abs {(frames - av['input.frames']).abs().max().item():.2e}")
    audio_ref = load_file(os.path.join(HERE, "sample_audio.safetensors"))
    log(f"CHECK input.mel equal to sample_audio.safetensors: {torch.equal(audio_ref['input.mel'], av['input.mel'])}; "
        f"audio.out rel_l2 vs sample_audio.safetensors (transformers 5 Q-Former) {rel_l2(av['audio.out'], audio_ref['audio.out']):.2e}")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    paths = [os.path.join(out_dir, f"sample_chat_{n}.safetensors") for n in ("av_vicuna", "image")]
    r = subprocess.run([sys.executable, "-c", CROSS_CHECK_CHILD, HERE, *paths], env=env, capture_output=True, text=True)
    for line in r.stdout.splitlines():
        log(f"CHECK {line} (TransformersVision without the 4.28 override)")
    if r.returncode:
        log(f"cross-check under the venv's transformers failed: {r.stderr.strip().splitlines()[-1:]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--videollama", default="/work/Video-LLaMA", help="the official Video-LLaMA checkout (read only)")
    ap.add_argument("--transformers", default="/tmp/tf428", help="a folder holding transformers 4.28 (first on sys.path)")
    ap.add_argument("--torchvision", default="/tmp/tv_overlay",
                    help="a folder holding torchvision (pip --target; kept out of the venv, see shim 1)")
    ap.add_argument("--out", default=None, help="output folder (default: this folder; required with --full)")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--full", action="store_true",
                    help="released sizes: towers/branches from --vision-dir / --audio-dir (FULL configs), the LLM "
                         "from --llama, frames at 224 (load_video as Chat calls it), mel.released; writes "
                         "full_chat_<case>.safetensors into --out (not committed)")
    ap.add_argument("--llama", help="with --full: a Hugging Face LLaMA folder (e.g. scripts/make_random_llama.py "
                                    "--hidden 4096 --ffn 11008 --heads 32 --vocab 32000 --layers K)")
    ap.add_argument("--vision-dir", default="/tmp/quant", help="with --full: eva_vit_g.pth, "
                    "blip2_pretrained_flant5xxl.pth, VL_random.pth (generate_reference.py --full)")
    ap.add_argument("--audio-dir", default="/tmp/quant_audio", help="with --full: imagebind_huge.pth, AL_random.pth "
                    "(generate_audio_reference.py --full)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the committed references: 1)")
    ap.add_argument("--cases", help="comma-separated case names to run (default: all)")
    args = ap.parse_args()
    if args.full and (not args.llama or not args.out):
        ap.error("--full needs --llama DIR and --out DIR")
    args.out = args.out or HERE
    os.makedirs(args.out, exist_ok=True)
    prefix = "full_chat_" if args.full else "sample_chat_"
    if args.transformers and os.path.isdir(args.transformers):
        sys.path.insert(0, args.transformers)
    if args.torchvision and os.path.isdir(args.torchvision):
        sys.path.insert(0, args.torchvision)
    sys.path.insert(0, HERE)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import resource
    import time
    import torch
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    cv, chat, model, rec = build(args)
    log(f"built in {time.perf_counter() - start:.1f} s; peak RSS so far "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")

    cases = [
        # (file suffix, template, upload, media, system as demo_audiovideo.py sets it, questions)
        ("av_vicuna", "vicuna", "upload_video", VIDEO, "", [QUESTION_1]),
        ("av_llama2", "llama_v2", "upload_video", VIDEO, "", [QUESTION_1]),
        ("video", "vicuna", "upload_video_without_audio", VIDEO, "", [QUESTION_1]),
        ("image", "vicuna", "upload_img", IMAGE, IMAGE_SYSTEM, [IMAGE_QUESTION]),
        ("two_turn", "vicuna", "upload_video", VIDEO, "", [QUESTION_1, QUESTION_2]),
        # Not in the list: the LLaMA-2 template's second turn ("... </s><s>[INST] ...").
        ("two_turn_llama2", "llama_v2", "upload_video", VIDEO, "", [QUESTION_1, QUESTION_2]),
    ]
    templates = {"vicuna": ("default_conversation", cv.default_conversation),
                 "llama_v2": ("conv_llava_llama_2", cv.conv_llava_llama_2)}
    av_message = None
    checks, summary = [], []
    if args.cases:
        wanted = args.cases.split(",")
        assert set(wanted) <= {c[0] for c in cases}, wanted
        cases = [c for c in cases if c[0] in wanted]
    extra_meta = {}
    if args.full:
        import json as _json
        llm_cfg = _json.load(open(os.path.join(args.llama, "config.json")))
        extra_meta = {"mode": "full", "llama": args.llama, "llama_layers": str(llm_cfg["num_hidden_layers"]),
                      "llama_hidden": str(llm_cfg["hidden_size"]), "llama_vocab": str(llm_cfg["vocab_size"]),
                      "vision_dir": args.vision_dir, "audio_dir": args.audio_dir, "threads": str(args.threads)}
    for name, model_type, upload, media, system, questions in cases:
        case_start = time.perf_counter()
        tname, template = templates[model_type]
        conv = template.copy()          # as demo_audiovideo.upload_imgorvideo
        conv.system = system
        img_list = []
        model.calls.clear()
        getattr(chat, upload)(media, conv, img_list)
        calls = list(model.calls)
        video_message = conv.messages[0][1]
        if upload == "upload_video":
            av_message = av_message or video_message
        for turn, q in enumerate(questions, 1):
            chat.ask(q, conv)
            result = chat.answer(conv=conv, img_list=img_list, num_beams=1, temperature=1.0,
                                 max_new_tokens=args.max_new_tokens, max_length=2000)
            suffix = f"{name}_{turn}" if len(questions) > 1 else name
            path = os.path.join(args.out, f"{prefix}{suffix}.safetensors")
            meta = {"template": f"{model_type}: {tname}", "system": conv.system, "question": q,
                    "questions_so_far": json.dumps(questions[:turn]), "upload": f"Chat.{upload}",
                    "media": os.path.relpath(media, ROOT), "upload_message": video_message,
                    "max_new_tokens": str(args.max_new_tokens)}
            meta.update(extra_meta)
            ok, greedy = write_case(path, suffix, turn, result, rec.record, model, calls, meta, upload)
            checks.append(ok)
            summary.append((suffix, rec.record["prompt"], greedy, result[0]))
            log(f"{suffix}: stop = {write_case.last_stop}; {time.perf_counter() - case_start:.1f} s since the upload; "
                f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")

    # Checks printed at the end.
    if av_message is None:   # --cases without an audio+video upload
        log(f"CHECK all teacher-forced greedy re-derivations equal generate's: {all(checks)}")
        sys.exit(0 if all(checks) else 1)
    log(f"CHECK the audio+video message is {len(av_message)} characters (spec §5.4: 267): {len(av_message) == 267}")
    for suffix, prompt, greedy, answer in summary:
        if suffix.startswith("av_") or suffix.startswith("two_turn"):
            log(f"CHECK {suffix}: prompt contains the {len(av_message)}-character message: {av_message in prompt}")
    for suffix, prompt, greedy, answer in summary:
        log(f"{suffix}: prompt[:300] = {prompt[:300]!r}")
        log(f"{suffix}: greedy = {greedy}; answer = {answer!r}")
    if args.full:
        if "av_vicuna" in [c[0] for c in cases]:
            cross_checks_full(args.out, prefix)
    else:
        cross_checks(args.out)
    log(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB; "
        f"{time.perf_counter() - start:.1f} s in all")
    log(f"CHECK all teacher-forced greedy re-derivations equal generate's: {all(checks)}")
    if not all(checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
