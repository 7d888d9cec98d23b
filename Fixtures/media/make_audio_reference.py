"""Expected audio input from the OFFICIAL Video-LLaMA preprocessing, for VLMedia's audio tests.

What runs (spec §4.3): the text of `waveform2melspec`, `get_clip_timepoints` and
`load_and_transform_audio_data` taken from /work/Video-LLaMA/video_llama/models/ImageBind/data.py
(only those function bodies are exec'd: importing data.py would pull in its tokenizer, timm, PIL and
pytorchvideo's transforms), with
  - `torchaudio.functional.resample` and `torchaudio.compliance.kaldi.fbank` of torchaudio 2.11.1
    (pure Python; the PyPI wheel is a CUDA build, so its C++ extension libraries are removed from
    the install, which those two functions do not use);
  - `ConstantClipsPerVideoSampler` from pytorchvideo 0.1.5's own `data/clip_sampling.py` (loaded
    as a single file: `pytorchvideo.data` imports iopath and friends);
  - torchvision's `transforms.Normalize` restated (`_Normalize`; torchvision is not installed);
  - `torchaudio.load` replaced by `pyav_load` below. torchaudio 2.11's `load` resolves to torchcodec,
    whose PyPI wheel needs CUDA libraries and cannot load on this CPU-only machine. `pyav_load`
    does what torchaudio 0.12.1 (the version environment.yml pins) does for a container libsox
    cannot read (mp4, mkv): libavformat's best audio stream, every decoded frame, converted to
    planar float by libswresample (`aformat=sample_fmts=fltp`), channels kept, concatenated.
    PyAV 18.1 bundles FFmpeg 8.0. (torchaudio 0.12.1 decoded wav/flac/mp3 with libsox instead:
    identical for PCM and FLAC; for MP3 libsox/libmad differ — see README.)

Run after make_media.sh:
    PYTHONPATH=/tmp/ta_overlay /tmp/venv/bin/python Fixtures/media/make_audio_reference.py
(/tmp/ta_overlay: `pip install --no-deps --target /tmp/ta_overlay torchaudio==2.11.1
pytorchvideo==0.1.5 av`, then remove torchaudio/lib/*.so.)

Writes reference/audio/<stem>.safetensors (f32 tensors, metadata strings) and
reference/audio/{resampler,fbank}.safetensors (synthetic inputs and torchaudio's outputs).
"""
import json
import math
import os
import sys

import av
import torch
import torchaudio
import torchaudio.functional
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from official_audio import clip_sampling, official, pyav_load  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "reference", "audio")
os.makedirs(OUT, exist_ok=True)
torch.set_num_threads(2)


RELEASED = dict(num_mel_bins=128, target_length=204, clip_duration=2, clips_per_video=8)
TINY = dict(num_mel_bins=32, target_length=44, clip_duration=2, clips_per_video=8)
STRIDE = 29  # subsample stride for the released-settings mel of all but sample_av.mp4


def windows(x, n=512):
    """First, middle and last n samples per channel (the whole signal if shorter)."""
    length = x.shape[1]
    if length <= n:
        return {"head": x, "mid": x, "tail": x}, [0, 0, 0]
    mid = length // 2
    return {"head": x[:, :n], "mid": x[:, mid:mid + n], "tail": x[:, length - n:]}, [0, mid, length - n]


def clip_ranges(length, sr=16000, clip_duration=2, clips=8):
    sampler = clip_sampling.ConstantClipsPerVideoSampler(clip_duration=clip_duration, clips_per_video=clips)
    points = official["get_clip_timepoints"](sampler, length / sr)
    return [[int(a * sr), int(b * sr), str(a), str(b)] for a, b in points]


index = {"torchaudio": torchaudio.__version__, "pytorchvideo": "0.1.5 (data/clip_sampling.py)",
         "decoder": f"PyAV {av.__version__}, FFmpeg libavcodec {av.library_versions['libavcodec']}",
         "files": {}}
FILES = ["sample_av.mp4", "mono48k.mkv", "tone16k.wav", "tone8k.flac", "short.mp3",
         "pcm_s32le.wav", "pcm_u8.wav", "pcm_f64le.wav"]
for name in FILES:
    path = os.path.join(HERE, name)
    stem = os.path.splitext(name)[0]
    wave, sr = pyav_load(path)
    tensors, meta = {}, {"name": name, "sample_rate": str(sr), "channels": str(wave.shape[0]), "decoded_length": str(wave.shape[1])}
    w, offsets = windows(wave)
    for k, v in w.items():
        tensors[f"decoded.{k}"] = v.clone()
    meta["decoded_offsets"] = json.dumps(offsets)
    meta["decoded_sum"] = repr(float(wave.double().sum()))
    if not name.startswith("pcm_"):
        res = torchaudio.functional.resample(wave, orig_freq=sr, new_freq=16000) if sr != 16000 else wave
        r, roffsets = windows(res)
        for k, v in r.items():
            tensors[f"resampled.{k}"] = v.clone()
        meta["resampled_length"] = str(res.shape[1])
        meta["resampled_offsets"] = json.dumps(roffsets)
        meta["resampled_sum"] = repr(float(res.double().sum()))
        meta["resampled_sumsq"] = repr(float((res.double() ** 2).sum()))
        meta["clips"] = json.dumps(clip_ranges(res.shape[1]))
        mel = official["load_and_transform_audio_data"]([path], "cpu", **RELEASED)[0]  # [8,1,128,204]
        flat = mel.reshape(mel.shape[0], -1)
        tensors["mel.released.stats"] = torch.stack([flat.mean(1), flat.min(1).values, flat.max(1).values], 1).contiguous()
        if name == "sample_av.mp4":
            tensors["mel.released"] = mel.contiguous()
            tensors["mel.tiny"] = official["load_and_transform_audio_data"]([path], "cpu", **TINY)[0].contiguous()
        else:
            tensors["mel.released.sub"] = mel.reshape(-1)[::STRIDE].contiguous()
            meta["stride"] = str(STRIDE)
    save_file(tensors, os.path.join(OUT, stem + ".safetensors"), metadata=meta)
    index["files"][name] = {k: v for k, v in meta.items() if k != "name"}
    print(name, sr, tuple(wave.shape), meta.get("resampled_length"))

# The resampler on its own: a fixed-seed input read at several rates → 16 kHz.
g = torch.Generator().manual_seed(0)
x = (0.3 * torch.randn(2, 1201, generator=g) + torch.sin(torch.arange(1201) * 0.05)).to(torch.float32)
rs = {"input": x.contiguous()}
for orig in [44100, 48000, 8000, 22050, 32000, 11025]:
    rs[f"to16000.from{orig}"] = torchaudio.functional.resample(x, orig_freq=orig, new_freq=16000).contiguous()
rs["to44100.from16000"] = torchaudio.functional.resample(x, orig_freq=16000, new_freq=44100).contiguous()
save_file(rs, os.path.join(OUT, "resampler.safetensors"), metadata={"torchaudio": torchaudio.__version__})

# kaldi.fbank on its own, with ImageBind's arguments, on a fixed-seed 0.6 s waveform.
t = torch.arange(9600, dtype=torch.float64) / 16000
y = (0.4 * torch.sin(2 * math.pi * 440 * t) + 0.2 * torch.sin(2 * math.pi * 3100 * t)).to(torch.float32)
y = (y + 0.05 * torch.randn(9600, generator=g)).unsqueeze(0)
fb = {"input": y.contiguous()}
for bins in [128, 32]:
    fb[f"fbank.{bins}"] = torchaudio.compliance.kaldi.fbank(
        y, htk_compat=True, sample_frequency=16000, use_energy=False, window_type="hanning",
        num_mel_bins=bins, dither=0.0, frame_length=25, frame_shift=10).contiguous()
# The mel filters themselves (float32, as fbank builds them): the whole 32-bin bank, and each
# 128-bin filter's weight sum.
bank32, _ = torchaudio.compliance.kaldi.get_mel_banks(32, 512, 16000.0, 20.0, 8000.0, 100.0, -500.0, 1.0)
bank128, _ = torchaudio.compliance.kaldi.get_mel_banks(128, 512, 16000.0, 20.0, 8000.0, 100.0, -500.0, 1.0)
fb["melbank.32"] = bank32.to(torch.float32).contiguous()
fb["melbank.128.sums"] = bank128.to(torch.float32).sum(1).contiguous()
save_file(fb, os.path.join(OUT, "fbank.safetensors"), metadata={"torchaudio": torchaudio.__version__})

with open(os.path.join(OUT, "index.json"), "w") as f:
    json.dump(index, f, indent=1, sort_keys=True)
