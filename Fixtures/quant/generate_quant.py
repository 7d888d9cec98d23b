#!/usr/bin/env python3
"""Fixture generator for VLQuant (run by hand: /tmp/venv/bin/python Fixtures/quant/generate_quant.py).

Everything the Swift tests compare against comes from the `gguf` Python package (Q8_0/Q4_0/Q4_1
quantization, all dequantization) or from ggml's own K-quant reference quantizers (blocks produced
outside this repository, see README.md). This script never computes an expected value itself.

Inputs are made by a counter-based generator that Swift re-implements (Tests/VLQuantTests/
FixtureGenerator.swift). It only uses integer ops and correctly rounded IEEE f32 operations
(+, -, *, /, int->float conversion, all round-to-nearest-even), so both languages get
bit-identical floats; no transcendental functions are involved.

  mix64(z)        = SplitMix64 finalizer (shifts 30/27/31, multipliers BF58476D1CE4E5B9, 94D049BB133111EB)
  R(key, i)       = mix64(key + (i + 1) * 0x9E3779B97F4A7C15)         (all mod 2^64)
  KB, KE          = mix64(seed ^ 0xB10C), mix64(seed ^ 0xE1E7)        (block and element streams)
  element n:  r1 = R(KE, 2n), r2 = R(KE, 2n+1)
              a1 = r1 >> 40, a2 = (r1 >> 16) & 0xFFFFFF, a3 = r2 >> 40, a4 = (r2 >> 16) & 0xFFFFFF
              g  = f32(a1 + a2 + a3 - 25165824) * 2^-23     (Irwin-Hall(3): bell-shaped, std ~1)
              u  = f32(a4) * 2^-24                          (uniform [0, 1))
              v  = f32(a1 - 2^23) * 2^-23                   (uniform [-1, 1))
              h  = g / (u + 1/32)                            (heavy-tailed, |h| up to ~100)
  group b (of `group` elements): rb = R(KB, b); kind = rb & 3; e = ((rb >> 8) & 31) - 24; s = 2^e
              outlier position o = ((rb >> 16) & 0xFFFF) % group
  mode "mixed": kind 0 -> g*s, 1 -> h*s, 2 -> v*s, 3 -> g*s with element o multiplied by 64
  mode "normal": g * 2^-5          mode "heavy": h * 2^-9
"""
from __future__ import annotations

import hashlib
import json
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

HERE = os.path.dirname(os.path.abspath(__file__))
M64 = (1 << 64) - 1
GAMMA = np.uint64(0x9E3779B97F4A7C15)

BASIC_SEED = 20240601
BASIC_BLOCKS = 1 << 20          # 1,048,576 blocks of 32 = 33.5 M values
BASIC_SAMPLE_BLOCKS = 4096      # the first blocks' expected bytes are committed in full
CHUNK_BLOCKS = 1 << 16          # hash in chunks so memory stays bounded

BASIC_TYPES = {"Q8_0": T.Q8_0, "Q4_0": T.Q4_0, "Q4_1": T.Q4_1}

# K-quant fixture tensors (rows, cols, mode, seed, group). Inputs are regenerated, not committed.
K_TENSORS = [
    ("t4096_normal", 64, 4096, "normal", 101, 256),
    ("t4096_heavy", 64, 4096, "heavy", 102, 256),
    ("t11008_mixed", 32, 11008, "mixed", 103, 256),
]


def mix64(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def key(seed: int, salt: int) -> np.uint64:
    return mix64(np.array([(seed ^ salt) & M64], dtype=np.uint64))[0]


def stream(k: np.uint64, idx: np.ndarray) -> np.ndarray:
    return mix64(k + (idx.astype(np.uint64) + np.uint64(1)) * GAMMA)


def generate(seed: int, start: int, count: int, mode: str, group: int) -> np.ndarray:
    """Values [start, start+count) of the stream (element indices are global, so chunks agree)."""
    with np.errstate(over="ignore"):
        n = np.arange(start, start + count, dtype=np.uint64)
        ke, kb = key(seed, 0xE1E7), key(seed, 0xB10C)
        r1 = stream(ke, 2 * n)
        r2 = stream(ke, 2 * n + np.uint64(1))
    a1 = (r1 >> np.uint64(40)).astype(np.int64)
    a2 = ((r1 >> np.uint64(16)) & np.uint64(0xFFFFFF)).astype(np.int64)
    a3 = (r2 >> np.uint64(40)).astype(np.int64)
    a4 = ((r2 >> np.uint64(16)) & np.uint64(0xFFFFFF)).astype(np.int64)
    g = (a1 + a2 + a3 - 25165824).astype(np.float32) * np.float32(2.0**-23)
    u = a4.astype(np.float32) * np.float32(2.0**-24)
    v = (a1 - (1 << 23)).astype(np.float32) * np.float32(2.0**-23)
    h = g / (u + np.float32(1 / 32))
    if mode == "normal":
        return g * np.float32(2.0**-5)
    if mode == "heavy":
        return h * np.float32(2.0**-9)
    assert mode == "mixed"
    b = (n // np.uint64(group))
    with np.errstate(over="ignore"):
        rb = stream(kb, b)
    kind = (rb & np.uint64(3)).astype(np.int64)
    e = ((rb >> np.uint64(8)) & np.uint64(31)).astype(np.int64) - 24
    s = ((e + 127) << 23).astype(np.uint32).view(np.float32)
    outlier = (((rb >> np.uint64(16)) & np.uint64(0xFFFF)) % np.uint64(group)) == (n % np.uint64(group))
    out = np.where(kind == 1, h, np.where(kind == 2, v, g)) * s
    return np.where((kind == 3) & outlier, out * np.float32(64), out).astype(np.float32)


def sha(data: bytes | np.ndarray) -> str:
    return hashlib.sha256(bytes(data)).hexdigest()


# ---------------------------------------------------------------- crafted Q8_0/Q4_0/Q4_1 blocks

def nudge(x: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Moves each f32 by `steps` units in the last place (through the integer representation)."""
    out = x.copy()
    for _ in range(int(np.abs(steps).max(initial=0))):
        up = steps > 0
        down = steps < 0
        out = np.where(up, np.nextafter(out, np.float32(np.inf)), out)
        out = np.where(down, np.nextafter(out, np.float32(-np.inf)), out)
        steps = steps - np.sign(steps)
    return out.astype(np.float32)


def tie_values(rng, scale_inv: np.ndarray, targets: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """x with f32((x - offset) * scale_inv) at or next to `targets` (half-integers): the
    rounding boundaries of the reference quantizers. Exact ties and +-1..2 ulp neighbours."""
    x = (offset + targets / scale_inv).astype(np.float32)
    best = x.copy()
    for k in (-3, -2, -1, 1, 2, 3):
        cand = nudge(x, np.full(x.shape, k))
        hit = ((cand - offset).astype(np.float32) * scale_inv).astype(np.float32) == targets
        best = np.where(hit, cand, best)
    hit0 = ((x - offset).astype(np.float32) * scale_inv).astype(np.float32) == targets
    best = np.where(hit0, x, best)
    return nudge(best, rng.integers(-2, 3, size=best.shape) * (rng.random(best.shape) < 0.4))


def crafted_blocks() -> np.ndarray:
    rng = np.random.default_rng(7)
    blocks = []
    # Q8_0 ties: block max |x| = A at position 0, the rest near (k + 0.5) / id.
    for _ in range(300):
        a = np.float32(rng.uniform(0.01, 100.0)) * np.float32(rng.choice([1, -1]))
        d = np.float32(abs(a)) / np.float32(127)
        idv = np.float32(1) / d
        t = (rng.integers(-127, 127, size=31) + 0.5).astype(np.float32)
        x = tie_values(rng, np.full(31, idv, np.float32), t, np.zeros(31, np.float32))
        x = np.clip(x, -abs(a), abs(a))
        blocks.append(np.concatenate([[a], x]).astype(np.float32))
    # Q4_0 ties: the signed max at a random position sets d = max / -8.
    for _ in range(300):
        m = np.float32(rng.uniform(0.01, 100.0)) * np.float32(rng.choice([1, -1]))
        d = m / np.float32(-8)
        idv = np.float32(1) / d
        t = (rng.integers(-8, 8, size=31) + 0.5).astype(np.float32)
        x = tie_values(rng, np.full(31, idv, np.float32), t, np.zeros(31, np.float32))
        x = np.clip(x, -abs(m), abs(m))
        blk = np.insert(x, rng.integers(0, 32), m).astype(np.float32)
        blocks.append(blk)
    # Q4_1 ties: min and max at random positions, the rest near min + (k + 0.5) / id.
    for _ in range(300):
        lo = np.float32(rng.uniform(-50, 10))
        hi = np.float32(lo + np.float32(rng.uniform(0.01, 60)))
        d = (hi - lo) / np.float32(15)
        idv = np.float32(1) / d
        t = (rng.integers(0, 15, size=30) + 0.5).astype(np.float32)
        x = tie_values(rng, np.full(30, idv, np.float32), t, np.full(30, lo, np.float32))
        x = np.clip(x, lo, hi)
        blk = np.concatenate([[lo, hi], x]).astype(np.float32)
        blocks.append(rng.permutation(blk))
    # Exact ties with power-of-two steps: every element sits on a .5 boundary.
    for sc in (1.0, 0.125, 4.0):
        k = np.arange(-16, 16, dtype=np.float32)
        blocks.append(((k + np.float32(0.5)) * np.float32(sc)).astype(np.float32))
        blocks.append((np.concatenate([[127.0], np.arange(-127, 127, 8.2)[:31] + 0.5]) * sc).astype(np.float32))
    # Extremes.
    extremes = [
        np.zeros(32), np.full(32, 3.5), np.full(32, -3.5), np.full(32, 1e-30),
        np.concatenate([[1e4], np.full(31, 1e-3)]),              # one huge outlier
        np.concatenate([np.full(31, 1e-3), [-1e4]]),
        np.concatenate([[-7.0, 7.0], np.linspace(-6, 6, 30)]),    # max-negative first
        np.concatenate([[7.0, -7.0], np.linspace(-6, 6, 30)]),    # max-positive first
        np.concatenate([[-2.0], np.full(31, 2.0)]),
        np.full(32, 65504.0 * 127), np.full(32, -1e7),            # d overflows f16
        np.linspace(-1e-35, 1e-35, 32), np.full(32, 1e-35),       # d subnormal / zero in f16
        np.concatenate([[1.0], np.zeros(31)]), np.concatenate([[-1.0], np.zeros(31)]),
        np.linspace(0, 1, 32), np.linspace(-1, 0, 32), np.linspace(5, 6, 32),
        # f32 subnormals next to a normal maximum. (An all-subnormal block is left out on purpose:
        # 1/d overflows to inf there, x*inf rounds to inf/NaN, and ggml's C cast and numpy's
        # astype of that are both undefined; no real weight tensor has such a block.)
        np.concatenate([[1e-30], [(-1) ** i * 1e-40 * (i + 1) for i in range(31)]]),
        np.concatenate([[-1e-30], [(-1) ** i * 1e-40 * (i + 1) for i in range(31)]]),
    ]
    blocks += [np.asarray(e, dtype=np.float32) for e in extremes]
    return np.stack(blocks).astype(np.float32)


# ---------------------------------------------------------------- crafted K-quant tensor

def crafted_k_tensor() -> np.ndarray:
    """8 rows x 512: zeros, constants, a lone outlier, tiny values, alternation, a ramp, ties."""
    n = 512
    rows = [
        np.zeros(n), np.full(n, 0.75), np.full(n, -0.75),
        np.where(np.arange(n) == 77, 40.0, 0.01),
        np.full(n, 1e-20),                                   # below ggml's GROUP_MAX_EPS
        np.array([(-1) ** i * 0.5 for i in range(n)]),
        np.linspace(-3, 2, n),
        np.round(np.linspace(-16, 15, n)) * 0.0625,
    ]
    return np.stack(rows).astype(np.float32)


def k_inputs() -> dict[str, np.ndarray]:
    out = {}
    for name, rows, cols, mode, seed, group in K_TENSORS:
        out[name] = generate(seed, 0, rows * cols, mode, group).reshape(rows, cols)
    out["crafted"] = crafted_k_tensor()
    return out


# ---------------------------------------------------------------- main

def basic() -> dict:
    hashes = {t: hashlib.sha256() for t in BASIC_TYPES}
    dq_hashes = {t: hashlib.sha256() for t in BASIC_TYPES}
    for start in range(0, BASIC_BLOCKS, CHUNK_BLOCKS):
        x = generate(BASIC_SEED, start * 32, CHUNK_BLOCKS * 32, "mixed", 32).reshape(-1, 32)
        for name, qt in BASIC_TYPES.items():
            with np.errstate(all="ignore"):
                q = quants.quantize(x, qt)
                dq = quants.dequantize(q, qt)
            hashes[name].update(q.tobytes())
            dq_hashes[name].update(dq.astype(np.float32).tobytes())
            if start == 0:
                with open(os.path.join(HERE, f"basic_first{BASIC_SAMPLE_BLOCKS}_{name.lower()}.bin"), "wb") as f:
                    f.write(q[:BASIC_SAMPLE_BLOCKS].tobytes())
        print(f"  blocks {start + CHUNK_BLOCKS}/{BASIC_BLOCKS}", file=sys.stderr)
    crafted = crafted_blocks()
    crafted.tofile(os.path.join(HERE, "crafted_input.f32"))
    crafted_info = {}
    for name, qt in BASIC_TYPES.items():
        with np.errstate(all="ignore"):
            q = quants.quantize(crafted, qt)
            dq = quants.dequantize(q, qt)
        q.tofile(os.path.join(HERE, f"crafted_{name.lower()}.bin"))
        crafted_info[name] = {"dequant_sha256": sha(dq.astype(np.float32).tobytes())}
    return {
        "generator": {"seed": BASIC_SEED, "mode": "mixed", "group": 32, "blocks": BASIC_BLOCKS},
        "sample_blocks": BASIC_SAMPLE_BLOCKS,
        "crafted_blocks": int(crafted.shape[0]),
        "types": {n: {"quant_sha256": hashes[n].hexdigest(), "dequant_sha256": dq_hashes[n].hexdigest(),
                      "crafted": crafted_info[n]} for n in BASIC_TYPES},
    }


def write_k_inputs(folder: str) -> None:
    """Raw f32 inputs for the (uncommitted) ggml driver program described in README.md."""
    os.makedirs(folder, exist_ok=True)
    for name, arr in k_inputs().items():
        arr.tofile(os.path.join(folder, f"{name}.f32"))
        with open(os.path.join(folder, f"{name}.shape"), "w") as f:
            f.write(f"{arr.shape[0]} {arr.shape[1]}\n")


def kquant(folder: str) -> dict:
    """Reads ggml's blocks from `folder`, copies them into the fixtures and records what the gguf
    package makes of them (dequantization hash) plus ggml's per-tensor RMSE for information."""
    info = {}
    inputs = k_inputs()
    crafted = inputs["crafted"]
    crafted.tofile(os.path.join(HERE, "kquant_crafted_input.f32"))
    for name, arr in inputs.items():
        entry = {"rows": int(arr.shape[0]), "cols": int(arr.shape[1])}
        spec = next((t for t in K_TENSORS if t[0] == name), None)
        if spec:
            entry.update({"mode": spec[3], "seed": spec[4], "group": spec[5]})
        else:
            entry["input_file"] = "kquant_crafted_input.f32"
        for tname, qt in (("Q4_K", T.Q4_K), ("Q6_K", T.Q6_K)):
            with open(os.path.join(folder, f"{name}.{tname.lower()}"), "rb") as f:
                blob = f.read()
            fname = f"ggml_{name}_{tname.lower()}.bin"
            with open(os.path.join(HERE, fname), "wb") as f:
                f.write(blob)
            q = np.frombuffer(blob, dtype=np.uint8).reshape(arr.shape[0], -1)
            dq = quants.dequantize(q, qt).astype(np.float32)
            err = (dq.astype(np.float64) - arr.astype(np.float64))
            entry[tname] = {"file": fname, "gguf_dequant_sha256": sha(dq.tobytes()),
                            "ggml_rmse": float(np.sqrt(np.mean(err ** 2)))}
        info[name] = entry
    return info


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "basic"
    if cmd == "basic":
        meta = basic()
        with open(os.path.join(HERE, "basic_expected.json"), "w") as f:
            json.dump(meta, f, indent=1, sort_keys=True)
    elif cmd == "k-inputs":
        write_k_inputs(sys.argv[2])
    elif cmd == "kquant":
        meta = kquant(sys.argv[2])
        with open(os.path.join(HERE, "kquant_expected.json"), "w") as f:
            json.dump(meta, f, indent=1, sort_keys=True)
    else:
        sys.exit(f"usage: {sys.argv[0]} basic | k-inputs DIR | kquant DIR")
