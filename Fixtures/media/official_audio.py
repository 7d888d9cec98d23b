"""The OFFICIAL Video-LLaMA audio loader, runnable on this machine (shared by make_audio_reference.py
and scripts/bench_audio.py). See make_audio_reference.py for what runs and what stands in:
the exec'd text of data.py's `waveform2melspec`, `get_clip_timepoints`, `load_and_transform_audio_data`;
torchaudio 2.11.1 `functional.resample` / `compliance.kaldi.fbank`; pytorchvideo 0.1.5's
`data/clip_sampling.py`; `pyav_load` for `torchaudio.load`; `_Normalize` for torchvision's.
"""
import ast
import importlib.util
import logging
import math
import os
import types

import av
import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi
import torchaudio.functional

OFFICIAL = "/work/Video-LLaMA/video_llama/models/ImageBind/data.py"

spec = importlib.util.spec_from_file_location(
    "clip_sampling", os.path.join(os.path.dirname(importlib.util.find_spec("pytorchvideo").origin), "data", "clip_sampling.py"))
clip_sampling = importlib.util.module_from_spec(spec)
spec.loader.exec_module(clip_sampling)


def pyav_load(path):
    """torchaudio 0.12.1's ffmpeg load path (see the module comment)."""
    with av.open(path) as container:
        stream = container.streams.best("audio")
        if stream is None:
            raise RuntimeError(f"{path}: no audio stream")
        resampler = None
        chunks = []
        for frame in container.decode(stream):
            if resampler is None:
                resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=frame.sample_rate)
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray())
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray())
        return torch.from_numpy(np.concatenate(chunks, axis=1).astype(np.float32)), stream.sample_rate


class _Normalize:
    """torchvision's `transforms.Normalize(mean, std)` on a tensor, as torchvision.transforms.functional
    .normalize computes it (torchvision is not installed here): mean/std as tensors of the input's
    dtype, `tensor.sub(mean).div(std)`."""

    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, tensor):
        mean = torch.as_tensor(self.mean, dtype=tensor.dtype)
        std = torch.as_tensor(self.std, dtype=tensor.dtype)
        return tensor.clone().sub_(mean).div_(std)


transforms = types.SimpleNamespace(Normalize=_Normalize)


def official_functions():
    """exec the official function texts with the names they use."""
    tree = ast.parse(open(OFFICIAL).read())
    wanted = {"waveform2melspec", "get_clip_timepoints", "load_and_transform_audio_data"}
    nodes = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in wanted]
    nodes += [n for n in tree.body if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "DEFAULT_AUDIO_FRAME_SHIFT_MS" for t in n.targets)]
    assert len(nodes) == 4
    shim = types.SimpleNamespace(load=pyav_load, functional=torchaudio.functional, compliance=torchaudio.compliance)
    ns = {"torch": torch, "torchaudio": shim, "logging": logging, "math": math, "transforms": transforms,
          "ConstantClipsPerVideoSampler": clip_sampling.ConstantClipsPerVideoSampler}
    exec(compile(ast.Module(body=nodes, type_ignores=[]), OFFICIAL, "exec"), ns)
    return ns


official = official_functions()
