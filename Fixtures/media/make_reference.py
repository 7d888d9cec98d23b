"""Expected frames from the OFFICIAL Video-LLaMA preprocessing, for VLMedia's tests.

Video: decord 0.6.0 (PyPI wheel, which bundles FFmpeg 4.1) exactly as
`video_llama/processors/video_processor.py:load_video` calls it:
    vr = VideoReader(path, height=224, width=224); vlen = len(vr); n = min(8, vlen)
    indices = np.arange(0, vlen, vlen / n).astype(int); frames = vr.get_batch(indices)
The eval transform after that is lossless on uint8 (cast, /255, CLIP normalize), so the uint8
frames are the reference. Images: PIL `convert("RGB")` + torchvision `Resize((224,224), BICUBIC)`.

Each reference is stored as one lossless PNG (frames stacked vertically, T*224 rows) plus
`reference.json` (vlen, fps, indices, timestamps, message). Run with /tmp/venv/bin/python
after make_media.sh; needs decord, pillow, torchvision, numpy.
"""
import json
import os

import decord
import numpy as np
from PIL import Image
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "reference")
os.makedirs(OUT, exist_ok=True)
index = {"decord": decord.__version__, "videos": {}, "images": {}}

for name in ["hd709.mp4", "sd_untagged.mp4", "rotated90.mp4", "vfr.mkv", "odd317x179.mp4"]:
    vr = decord.VideoReader(os.path.join(HERE, name), height=224, width=224)
    vlen = len(vr)
    n = min(8, vlen)
    indices = np.arange(0, vlen, vlen / n).astype(int).tolist()
    frames = vr.get_batch(indices).asnumpy()  # [T,224,224,3] uint8
    fps = float(vr.get_avg_fps())
    sec = ", ".join([str(round(f / fps, 1)) for f in indices])
    stem = os.path.splitext(name)[0]
    Image.fromarray(frames.reshape(-1, 224, 3)).save(os.path.join(OUT, stem + ".frames.png"), optimize=True)
    full = decord.VideoReader(os.path.join(HERE, name))[0].shape  # rotation-aware native size
    index["videos"][name] = {
        "vlen": vlen, "fps": fps, "indices": indices, "frames": stem + ".frames.png",
        "native_hw": [int(full[0]), int(full[1])],
        "message": f"The video contains {len(indices)} frames sampled at {sec} seconds. ",
    }

resize = transforms.Resize((224, 224), interpolation=transforms.InterpolationMode.BICUBIC)
for name in ["image.png", "image.jpg"]:
    pil = Image.open(os.path.join(HERE, name)).convert("RGB")
    decoded_stem = os.path.splitext(name)[0] + "_" + name.rsplit(".", 1)[1]
    # PIL's own decode, so the decoder and the resize can be checked separately.
    pil.save(os.path.join(OUT, decoded_stem + ".decoded.png"), optimize=True)
    np_out = np.asarray(resize(pil))
    Image.fromarray(np_out).save(os.path.join(OUT, decoded_stem + ".resized.png"), optimize=True)
    index["images"][name] = {"size": list(pil.size), "decoded": decoded_stem + ".decoded.png",
                             "resized": decoded_stem + ".resized.png"}

# numpy's uniform sampling for a table of (vlen, n), including float edge cases with n+1 indices.
table = []
for vlen in list(range(1, 40)) + [49, 50, 60, 97, 100, 101, 203, 299, 300, 1001, 4799, 12345, 99991]:
    for n in sorted({min(8, vlen), min(4, vlen), min(32, vlen), min(7, vlen)}):
        table.append({"vlen": vlen, "n": n, "indices": np.arange(0, vlen, vlen / n).astype(int).tolist()})
index["sampling"] = table

with open(os.path.join(OUT, "reference.json"), "w") as f:
    json.dump(index, f, indent=1)
    f.write("\n")
print({k: v["indices"] for k, v in index["videos"].items()})
print("n+1 cases:", [(t["vlen"], t["n"]) for t in table if len(t["indices"]) != t["n"]])
