#!/usr/bin/env python3
"""VLPack test-fixture generator.

Run by hand from the repository root (or anywhere):

    /tmp/venv/bin/python Fixtures/generate.py              # regenerate everything
    /tmp/venv/bin/python Fixtures/generate.py --prove-live # also prove payload liveness (needs root + unshare)

It rewrites, deterministically (fixed seeds, fixed zip/tar timestamps, single-threaded torch
and sentencepiece), everything under Fixtures/ except this script, prove_live.py and README.md:

  good/     real torch.save / safetensors files covering every dtype and serialisation variant,
            + good/manifest.json (tensor names, dtypes, shapes, nbytes, sha256, skipped values, globals)
  samples/  tiny random-weight models in the released Video-LLaMA file layouts (key names of the
            real files, tiny dims), + samples/manifest.json, + samples/tiny-config.json
  hostile/  malicious and malformed inputs + hostile/manifest.json (expected rejection rule per file)

The manifests are computed with torch / safetensors / pickletools, independently of VLPack:
tensors are re-loaded from the written files with torch.load (or safetensors) and hashed.
Manifest format (good/ and samples/):

  {"fixtures": [{"path": "<relative to Fixtures/>", "family": "unknown" | "<family>",
                 "tensors": [{"name", "dtype", "shape", "nbytes", "sha256"}],
                 "skipped": [{"path", "type"}],
                 "globals": ["module.name", ...]}]}

  name     nested dict keys joined with "." (list/tuple indices in decimal)
  dtype    F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL F8_E4M3 F8_E5M2
  sha256   SHA-256 of the tensor's contiguous little-endian bytes (bool as 0/1 bytes)
  skipped  every non-tensor value that is not a container holding a tensor, reported once at its
           key path; type = builtin name (int float str bool NoneType bytes dict list tuple set),
           collections.OrderedDict, or module.QualName (e.g. vlfixture.RunConfig)
  globals  every GLOBAL / STACK_GLOBAL in the pickle(s), "module.name", sorted unique
           ([] for safetensors; union over shards for .bin shard folders)

Hostile manifest: {"cases": [{"path", "kind", "description", "expect", "canary", "reference", ...}]}
("reference" records what torch 2.x weights_only / the safetensors reference said about the file).

Nothing in this script executes a payload: payload files are written as bytes (or pickled, which
does not run __reduce__ results). Liveness is proven only by prove_live.py inside a throwaway mount
namespace with a private tmpfs on /tmp.
"""
from __future__ import annotations

import argparse
import collections
import copy
import hashlib
import io
import json
import math
import os
import pickle
import pickletools
import random
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import types
import zipfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

ROOT = Path(__file__).resolve().parent
GOOD = ROOT / "good"
SAMPLES = ROOT / "samples"
HOSTILE = ROOT / "hostile"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# ----------------------------------------------------------------------------------------------
# The custom class used as the "config" entry of trainer checkpoints: module `vlfixture`.
# ----------------------------------------------------------------------------------------------
vlfixture = types.ModuleType("vlfixture")
sys.modules["vlfixture"] = vlfixture


class RunConfig:
    """Stand-in for a trainer's config object (pickled by reference as vlfixture.RunConfig)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


RunConfig.__module__ = "vlfixture"
RunConfig.__qualname__ = "RunConfig"
vlfixture.RunConfig = RunConfig


# ----------------------------------------------------------------------------------------------
# Manifest helpers
# ----------------------------------------------------------------------------------------------
DTYPE_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
    torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2",
}


def tensor_entry(name: str, t: torch.Tensor) -> dict:
    t = t.detach()
    c = t.contiguous().reshape(-1)
    raw = c.view(torch.uint8).numpy().tobytes() if c.numel() else b""
    nbytes = t.numel() * t.element_size()
    assert len(raw) == nbytes, (name, len(raw), nbytes)
    return {"name": name, "dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape),
            "nbytes": nbytes, "sha256": hashlib.sha256(raw).hexdigest()}


def type_name(v) -> str:
    t = type(v)
    if t is collections.OrderedDict:
        return "collections.OrderedDict"
    if t.__module__ == "builtins":
        return t.__qualname__
    return f"{t.__module__}.{t.__qualname__}"


def has_tensor(v) -> bool:
    if isinstance(v, torch.Tensor):
        return True
    if isinstance(v, dict):
        return any(has_tensor(x) for x in v.values())
    if isinstance(v, (list, tuple)):
        return any(has_tensor(x) for x in v)
    return False


def walk(obj, prefix: str, tensors: list, skipped: list):
    def join(k):
        return f"{prefix}.{k}" if prefix else str(k)

    if isinstance(obj, torch.Tensor):
        tensors.append(tensor_entry(prefix, obj))
    elif isinstance(obj, dict) and has_tensor(obj):
        for k, v in obj.items():
            walk(v, join(k), tensors, skipped)
    elif isinstance(obj, (list, tuple)) and has_tensor(obj):
        for i, v in enumerate(obj):
            walk(v, join(i), tensors, skipped)
    else:
        skipped.append({"path": prefix, "type": type_name(obj)})


def scan_globals(data: bytes, count: int | None = 1) -> list[str]:
    """Globals referenced by `count` consecutive pickles at the start of `data` (None = all)."""
    f = io.BytesIO(data)
    out = set()
    n = 0
    while count is None or n < count:
        if f.tell() >= len(data):
            break
        strs: list = []
        memo: dict = {}
        last = None
        for op, arg, _pos in pickletools.genops(f):
            name = op.name
            pushed = None
            if name in ("GLOBAL", "INST"):
                mod, _, nm = arg.partition(" ")
                out.add(f"{mod}.{nm}")
            elif name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE",
                          "STRING", "BINSTRING", "SHORT_BINSTRING"):
                pushed = arg
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                pushed = memo.get(int(arg))
            elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[int(arg)] = last
            elif name == "MEMOIZE":
                memo[len(memo)] = last
            elif name == "STACK_GLOBAL":
                out.add(f"{strs[-2]}.{strs[-1]}")
            if pushed is not None:
                strs.append(pushed)
            if name not in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE", "FRAME"):
                last = pushed
        n += 1
    return sorted(out)


def torch_scan_globals(pkl: bytes) -> list[str]:
    """torch's own scanner (protocol-2 opcodes only)."""
    from torch._weights_only_unpickler import get_globals_in_pkl
    return sorted(get_globals_in_pkl(io.BytesIO(pkl)))


def pickle_globals_of_file(path: Path) -> list[str]:
    raw = path.read_bytes()
    if raw[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(path) as z:
            name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
            pkl = z.read(name)
        g = scan_globals(pkl)
        try:
            tg = torch_scan_globals(pkl)
        except Exception:  # protocol 4/5 opcodes are outside torch's scanner
            tg = None
        if tg is not None:
            assert tg == g, (path, tg, g)
        return g
    # legacy stacked pickles: magic, protocol, sys_info, main, storage-key list
    return scan_globals(raw, count=5)


def rel(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


def manifest_torch(path: Path, family="unknown", obj=None, safe_check=True) -> dict:
    if obj is None:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    st, ss = [], []
    if safe_check:  # the file must also load through torch's safe (weights_only) path, identically
        with torch.serialization.safe_globals([RunConfig]):
            safe = torch.load(path, map_location="cpu", weights_only=True)
        walk(safe, "", st, ss)
    tensors, skipped = [], []
    walk(obj, "", tensors, skipped)
    assert not safe_check or (st, ss) == (tensors, skipped), path
    return {"path": rel(path), "family": family, "tensors": tensors, "skipped": skipped,
            "globals": pickle_globals_of_file(path)}


def safetensors_header(path: Path) -> dict:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n])


def manifest_safetensors_tensors(path: Path) -> list:
    from safetensors.torch import load_file
    d = load_file(str(path))
    hdr = safetensors_header(path)
    names = sorted((k for k in hdr if k != "__metadata__"), key=lambda k: hdr[k]["data_offsets"][0])
    return [tensor_entry(k, d[k]) for k in names]


def write_json(path: Path, obj):
    path.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


# ----------------------------------------------------------------------------------------------
# Zip helpers (rewriting torch zips while keeping entry names; 64-byte aligned stored entries)
# ----------------------------------------------------------------------------------------------
def read_zip_entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def write_zip(entries, compress=False, align=64) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, payload in entries:
            zi = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            zi.create_system = 0
            zi.external_attr = 0
            if compress:
                zi.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(zi, payload, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            else:
                zi.compress_type = zipfile.ZIP_STORED
                pos = buf.tell()
                pad = (-(pos + 30 + len(name.encode()))) % align
                if 0 < pad < 4:
                    pad += align
                if pad:
                    zi.extra = b"FB" + struct.pack("<H", pad - 4) + b"Z" * (pad - 4)
                z.writestr(zi, payload)
    return buf.getvalue()


def torch_save_bytes(obj, **kw) -> bytes:
    b = io.BytesIO()
    torch.save(obj, b, **kw)
    return b.getvalue()


def torch_save_named(obj, filename: str, **kw) -> bytes:
    """torch.save to a temporary file called `filename` (sets the archive prefix); return bytes."""
    with tempfile.TemporaryDirectory() as td:
        torch.save(obj, os.path.join(td, filename), **kw)
        return Path(td, filename).read_bytes()


def save_torch(obj, path: Path, **kw):
    """torch.save to a path (archive prefix = file stem, like a real save)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, str(path), **kw)


class _StorageScan(pickle.Unpickler):
    """Reads our own (trusted) data.pkl to map storage keys to storage type names."""

    def __init__(self, f):
        super().__init__(f)
        self.keys = {}

    def find_class(self, module, name):
        if name.endswith("Storage"):
            return f"{module}.{name}"
        if module == "torch._utils" and name.startswith("_rebuild"):
            return lambda *a: None
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        return lambda *a, **k: None  # never import/call anything else (payload files pass here)

    def persistent_load(self, pid):
        self.keys[pid[2]] = pid[1]
        return None


ITEMSIZE = {"Double": 8, "Float": 4, "Half": 2, "BFloat16": 2, "Long": 8, "Int": 4, "Short": 2,
            "Char": 1, "Byte": 1, "Bool": 1}


def legacy_fix_keys(raw: bytes) -> bytes:
    """Legacy torch.save names storages by memory address (str(storage._cdata)). Replace the keys
    by stable same-length strings numbered in order of first appearance in the main pickle, then
    rewrite the sorted key list and the raw storage records in the new order, so that re-runs are
    byte-identical. The result is exactly what torch would have written for those keys. Any pickle
    protocol from 2 up: keys are BINUNICODE (protocol 2-3) or SHORT_BINUNICODE (4-5) strings, and
    the key list is re-pickled with the file's own protocol (new keys keep the old lengths, so
    protocol 4 FRAME lengths stay right)."""
    protocol = raw[1]
    f = io.BytesIO(raw)
    for _ in range(3):  # magic, protocol, sys_info
        for _op in pickletools.genops(f):
            pass
    main_start = f.tell()
    for _op in pickletools.genops(f):
        pass
    main_end = f.tell()
    keys = pickle.load(f)  # storage keys sorted as strings
    sc = _StorageScan(io.BytesIO(raw[main_start:main_end]))
    sc.load()
    types_ = {k: v.split(".")[-1][:-len("Storage")] for k, v in sc.keys.items()}
    first_seen = []
    for op, arg, _pos in pickletools.genops(io.BytesIO(raw[main_start:main_end])):
        if op.name in ("BINUNICODE", "SHORT_BINUNICODE") and arg in keys and arg not in first_seen:
            first_seen.append(arg)
    assert sorted(keys) == keys and set(keys) == set(first_seen) == set(types_), (keys, first_seen)
    records = {}
    for k in keys:
        (numel,) = struct.unpack("<q", f.read(8))
        records[k] = struct.pack("<q", numel) + f.read(numel * ITEMSIZE[types_[k]])
    assert f.read() == b""
    width = max(len(k) for k in keys)
    new = {k: str(10 ** (width - 1) + i) for i, k in enumerate(first_seen)}
    main = raw[main_start:main_end]
    def string_op(text: str) -> bytes:
        if protocol >= 4:
            return b"\x8c" + bytes([len(text)]) + text.encode()
        return b"X" + struct.pack("<I", len(text)) + text.encode()

    for k, nk in new.items():
        a, b = string_op(k), string_op(nk)
        assert main.count(a) >= 1, k
        main = main.replace(a, b)
    inv = {nk: k for k, nk in new.items()}
    new_keys = sorted(new.values())
    out = raw[:main_start] + main + pickle.dumps(new_keys, protocol=protocol)
    for nk in new_keys:
        out += records[inv[nk]]
    return out


# ----------------------------------------------------------------------------------------------
# A. good/
# ----------------------------------------------------------------------------------------------
def gen(seed):
    return torch.Generator().manual_seed(seed)


def all_dtype_tensors(seed=1):
    g = gen(seed)
    return collections.OrderedDict([
        ("f64", torch.randn(3, 5, generator=g, dtype=torch.float64)),
        ("f32", torch.randn(4, 6, generator=g)),
        ("f16", torch.randn(2, 3, 4, generator=g).half()),
        ("bf16", torch.randn(5, 7, generator=g).bfloat16()),
        ("i64", torch.randint(-2**62, 2**62, (6,), generator=g, dtype=torch.int64)),
        ("i32", torch.randint(-2**31, 2**31 - 1, (2, 5), generator=g, dtype=torch.int32)),
        ("i16", torch.randint(-2**15, 2**15 - 1, (9,), generator=g, dtype=torch.int16)),
        ("i8", torch.randint(-128, 127, (3, 3), generator=g, dtype=torch.int8)),
        ("u8", torch.randint(0, 255, (17,), generator=g, dtype=torch.uint8)),
        ("bool", torch.rand(2, 7, generator=g) < 0.5),
    ])


def fp8_tensors(seed=2):
    g = gen(seed)
    return collections.OrderedDict([
        ("f8_e4m3", (torch.randn(4, 8, generator=g) * 4).to(torch.float8_e4m3fn)),
        ("f8_e5m2", (torch.randn(3, 5, generator=g) * 4).to(torch.float8_e5m2)),
    ])


def generate_good():
    from safetensors.torch import save_file
    shutil.rmtree(GOOD, ignore_errors=True)
    GOOD.mkdir(parents=True)
    fixtures = []

    # every dtype, one torch zip
    p = GOOD / "dtypes.pt"
    save_torch(all_dtype_tensors(), p)
    fixtures.append(manifest_torch(p))

    # float8 through torch.save: UntypedStorage + _rebuild_tensor_v3
    p = GOOD / "float8.pt"
    save_torch(fp8_tensors(), p)
    fixtures.append(manifest_torch(p))

    # every dtype incl. float8 in one safetensors file
    p = GOOD / "dtypes.safetensors"
    d = dict(all_dtype_tensors())
    d.update(fp8_tensors())
    save_file(d, str(p), metadata={"format": "pt"})
    fixtures.append({"path": rel(p), "family": "unknown", "tensors": manifest_safetensors_tensors(p),
                     "skipped": [], "globals": []})

    # shared storage: base, slice with storage_offset, flat view, strided column view
    g = gen(3)
    base = torch.randn(4, 6, generator=g)
    p = GOOD / "shared_storage.pt"
    save_torch(collections.OrderedDict([
        ("base", base),
        ("rows_1_3", base[1:3]),          # storage_offset 6, contiguous
        ("flat", base.view(24)),          # same storage, different shape
        ("col_2", base[:, 2]),            # storage_offset 2, stride (6,)
        ("alias", base),                  # the very same tensor twice
    ]), p)
    fixtures.append(manifest_torch(p))

    # non-contiguous
    g = gen(4)
    m = torch.randn(3, 5, generator=g)
    p = GOOD / "noncontiguous.pt"
    save_torch(collections.OrderedDict([
        ("transposed", m.t()),                                        # stride (1,5)
        ("permuted", torch.arange(24, dtype=torch.int32).reshape(2, 3, 4).permute(2, 0, 1)),
        ("every_other", torch.arange(20, dtype=torch.float64)[::2]),  # stride (2,), owns storage of 20
    ]), p)
    fixtures.append(manifest_torch(p))

    # empty tensor and 0-d tensors
    p = GOOD / "empty_and_scalar.pt"
    save_torch(collections.OrderedDict([
        ("empty", torch.empty(0, 3)),
        ("scalar_f32", torch.tensor(3.25)),
        ("scalar_i64", torch.tensor(-7, dtype=torch.int64)),
        ("scalar_bool", torch.tensor(True)),
    ]), p)
    fixtures.append(manifest_torch(p))

    # nn.Parameter values
    g = gen(5)
    p = GOOD / "parameters.pt"
    save_torch(collections.OrderedDict([
        ("weight", torch.nn.Parameter(torch.randn(4, 3, generator=g))),
        ("bias", torch.nn.Parameter(torch.randn(4, generator=g))),
        ("frozen", torch.nn.Parameter(torch.randn(2, 2, generator=g), requires_grad=False)),
        ("plain", torch.randn(2, generator=g)),
    ]), p)
    fixtures.append(manifest_torch(p))

    # trainer checkpoint
    p = GOOD / "trainer_checkpoint.pth"
    save_torch(trainer_checkpoint(small_model_sd(6), seed=6), p)
    fixtures.append(manifest_torch(p))

    # pickle protocols 4 and 5
    for proto in (4, 5):
        p = GOOD / f"protocol{proto}.pt"
        sd = small_model_sd(10 + proto)
        sd["meta"] = {"name": "protocol test", "protocol": proto, "raw": b"\x00\x01bytes"}
        save_torch(sd, p, pickle_protocol=proto)
        # torch's weights_only unpickler rejects protocol-4/5 opcodes (FRAME, STACK_GLOBAL, ...)
        fixtures.append(manifest_torch(p, safe_check=False))

    # saved through a buffer: archive/ prefix
    p = GOOD / "bytesio.pt"
    p.write_bytes(torch_save_bytes(small_model_sd(20)))
    fixtures.append(manifest_torch(p))

    # deflate-recompressed zip (same entry names)
    p = GOOD / "deflate.pt"
    raw = torch_save_bytes(small_model_sd(21))
    p.write_bytes(write_zip(read_zip_entries(raw), compress=True))
    fixtures.append(manifest_torch(p))

    # torch-1.12-style zip: no byteorder / .format_version / .storage_alignment /
    # .data/serialization_id; 12 storages written in string-sorted key order (0,1,10,11,2,..)
    p = GOOD / "torch112_style.pt"
    g = gen(22)
    sd12 = collections.OrderedDict((f"layer{i}.weight", torch.randn(2, i + 1, generator=g))
                                   for i in range(12))
    ents = dict(read_zip_entries(torch_save_named(sd12, p.name)))
    pre = "torch112_style/"
    keep = [(pre + "data.pkl", ents[pre + "data.pkl"])]
    for k in sorted(str(i) for i in range(12)):
        keep.append((pre + f"data/{k}", ents[pre + f"data/{k}"]))
    keep.append((pre + "version", ents[pre + "version"]))
    p.write_bytes(write_zip(keep))
    fixtures.append(manifest_torch(p))

    # big-endian storages (byteorder = "big", data records byte-swapped)
    p = GOOD / "bigendian.pt"
    g = gen(23)
    be = collections.OrderedDict([
        ("f64", torch.randn(3, generator=g, dtype=torch.float64)),
        ("f32", torch.randn(2, 3, generator=g)),
        ("f16", torch.randn(5, generator=g).half()),
        ("bf16", torch.randn(4, generator=g).bfloat16()),
        ("i64", torch.tensor([1, -2, 2**40], dtype=torch.int64)),
        ("i32", torch.tensor([1, -2, 2**30], dtype=torch.int32)),
        ("i16", torch.tensor([1, -2, 300], dtype=torch.int16)),
        ("u8", torch.tensor([1, 2, 250], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True])),
    ])
    ents = read_zip_entries(torch_save_named(be, p.name))
    pkl = next(b for n, b in ents if n.endswith("/data.pkl"))
    sc = _StorageScan(io.BytesIO(pkl))
    sc.load()
    out = []
    for n, b in ents:
        if n.endswith("/byteorder"):
            b = b"big"
        elif "/data/" in n:
            key = n.rsplit("/", 1)[1]
            isz = ITEMSIZE[sc.keys[key].split(".")[-1][:-len("Storage")]]
            b = np.frombuffer(b, dtype=np.uint8).reshape(-1, isz)[:, ::-1].tobytes()
        out.append((n, b))
    p.write_bytes(write_zip(out))
    back = torch.load(p, weights_only=True)
    for k, v in be.items():
        assert torch.equal(back[k], v), k
    fixtures.append(manifest_torch(p, obj=back))

    # legacy stacked-pickle format, with views of one storage
    p = GOOD / "legacy.pt"
    g = gen(24)
    lb = torch.randn(3, 4, generator=g)
    legacy_obj = collections.OrderedDict([
        ("base", lb), ("row1", lb[1]), ("col0", lb[:, 0]),
        ("ids", torch.arange(5, dtype=torch.int64)),
        ("half", torch.randn(3, generator=g).half()),
        ("note", "legacy format"),
    ])
    b = io.BytesIO()
    torch.save(legacy_obj, b, _use_new_zipfile_serialization=False)
    p.write_bytes(legacy_fix_keys(b.getvalue()))
    fixtures.append(manifest_torch(p))

    # safetensors single file
    p = GOOD / "single.safetensors"
    sdst = {k: v.contiguous() for k, v in small_model_sd(25).items()}
    save_file(sdst, str(p), metadata={"format": "pt"})
    fixtures.append({"path": rel(p), "family": "unknown", "tensors": manifest_safetensors_tensors(p),
                     "skipped": [], "globals": []})

    # safetensors, 3 shards + index
    folder = GOOD / "safetensors_sharded"
    folder.mkdir()
    sd = small_model_sd(26, layers=3)
    fixtures.append(write_sharded(folder, sd, 3, "safetensors"))

    # .bin, 2 shards + index
    folder = GOOD / "bin_sharded"
    folder.mkdir()
    sd = small_model_sd(27, layers=2)
    fixtures.append(write_sharded(folder, sd, 2, "bin"))

    write_json(GOOD / "manifest.json", {"fixtures": fixtures})


def small_model_sd(seed, layers=2, width=8):
    g = gen(seed)
    sd = collections.OrderedDict()
    sd["embed.weight"] = torch.randn(16, width, generator=g)
    for i in range(layers):
        sd[f"layers.{i}.linear.weight"] = torch.randn(width, width, generator=g)
        sd[f"layers.{i}.linear.bias"] = torch.randn(width, generator=g)
        sd[f"layers.{i}.norm.weight"] = torch.ones(width)
    sd["head.weight"] = torch.randn(4, width, generator=g)
    return sd


def write_sharded(folder: Path, sd, nshards: int, kind: str) -> dict:
    from safetensors.torch import save_file
    keys = list(sd.keys())
    per = math.ceil(len(keys) / nshards)
    groups = [keys[i * per:(i + 1) * per] for i in range(nshards)]
    weight_map = {}
    tensors = []
    globs = set()
    total = 0
    for i, grp in enumerate(groups):
        if kind == "safetensors":
            fn = f"model-{i + 1:05d}-of-{nshards:05d}.safetensors"
            save_file({k: sd[k].contiguous() for k in grp}, str(folder / fn), metadata={"format": "pt"})
            tensors += manifest_safetensors_tensors(folder / fn)
        else:
            fn = f"pytorch_model-{i + 1:05d}-of-{nshards:05d}.bin"
            save_torch(collections.OrderedDict((k, sd[k]) for k in grp), folder / fn)
            tt, sk = [], []
            walk(torch.load(folder / fn, weights_only=True), "", tt, sk)
            assert not sk
            tensors += tt
            globs |= set(pickle_globals_of_file(folder / fn))
        for k in grp:
            weight_map[k] = fn
            total += sd[k].numel() * sd[k].element_size()
    idx = "model.safetensors.index.json" if kind == "safetensors" else "pytorch_model.bin.index.json"
    write_json(folder / idx, {"metadata": {"total_size": total},
                              "weight_map": dict(sorted(weight_map.items()))})
    return {"path": rel(folder), "family": "unknown", "tensors": tensors, "skipped": [],
            "globals": sorted(globs)}


def trainer_checkpoint(model_sd, seed, buffers=None):
    """{"model","optimizer","config","scaler","epoch"} like Video-LLaMA's runner_base._save_checkpoint,
    with a real AdamW state after one step over the float parameters."""
    torch.manual_seed(seed)
    params = collections.OrderedDict((k, torch.nn.Parameter(v.detach().clone().float()))
                                     for k, v in model_sd.items())
    opt = torch.optim.AdamW(list(params.values()), lr=1e-4, weight_decay=0.05, betas=(0.9, 0.999))
    g = gen(seed + 1000)
    loss = sum(((p * torch.randn(p.shape, generator=g)).sum()) for p in params.values())
    loss.backward()
    opt.step()
    model = collections.OrderedDict()
    for k, v in model_sd.items():
        model[k] = params[k].detach().to(v.dtype).clone()
    if buffers:
        model.update(buffers)
    cfg = RunConfig(run={"task": "video_text_pretrain", "lr_sched": "linear_warmup_cosine_lr",
                         "init_lr": 1e-4, "max_epoch": 5, "seed": 42, "amp": True},
                    model={"arch": "video_llama", "model_type": "pretrain_vicuna",
                           "num_query_token": 8, "frozen_llama_proj": False},
                    datasets={"webvid": {"batch_size": 4}})
    return {"model": model, "optimizer": opt.state_dict(), "config": cfg,
            "scaler": {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                       "growth_interval": 2000, "_growth_tracker": 0},
            "epoch": 3}


# ----------------------------------------------------------------------------------------------
# B. samples/  (tiny random-weight models in the released layouts)
# ----------------------------------------------------------------------------------------------
TINY = {
    "eva_vit_g": {
        "file": "eva_vit_g.pth", "img_size": 28, "patch_size": 14, "num_patches": 4, "tokens": 5,
        "embed_dim": 160, "depth": 2, "extra_unused_blocks": [2], "num_heads": 2, "head_dim": 80,
        "mlp_hidden": 704, "qkv_bias": "q_bias and v_bias only", "layer_norm_eps": 1e-6,
        "final_norm_in_file": True, "head_in_file": False,
        "dtypes": "Conv2d/Linear weight+bias fp16; cls_token, pos_embed, q_bias, v_bias, LayerNorm fp32",
        "real": {"embed_dim": 1408, "depth": 39, "num_heads": 16, "head_dim": 88, "mlp_hidden": 6144,
                 "img_size": 224, "num_patches": 256},
    },
    "blip2_qformer": {
        "file": "blip2_pretrained_flant5xxl.pth", "wrapper": "model",
        "hidden": 96, "num_heads": 2, "head_dim": 48, "num_layers": 2, "cross_attention_freq": 2,
        "cross_attention_layers": [0], "intermediate": 384, "encoder_width": 160,
        "num_query_tokens": 8, "max_position_embeddings": 64, "layer_norm_eps": 1e-12,
        "ln_vision_eps": 1e-5, "t5_proj_out": 256, "dtype": "fp32",
        "real": {"hidden": 768, "num_heads": 12, "num_layers": 12, "intermediate": 3072,
                 "encoder_width": 1408, "num_query_tokens": 32, "max_position_embeddings": 512,
                 "t5_proj_out": 4096},
    },
    "imagebind": {
        "file": "imagebind_huge.pth", "out_embed_dim": 128, "dtype": "fp32",
        "audio": {"width": 96, "blocks": 2, "num_heads": 2, "head_dim": 48, "mlp_hidden": 384,
                  "num_mel_bins": 32, "target_length": 44, "kernel": 16, "stride": 10,
                  "patch_grid": [2, 3], "tokens": 7, "add_bias_kv": True, "stem_ln_eps": 1e-5,
                  "block_ln_eps": 1e-6, "head_ln_eps": 1e-6, "logit_scale_init": 20.0},
        "vision": {"width": 32, "blocks": 1, "num_heads": 2, "mlp_hidden": 128, "img_size": 28,
                   "kernel": [2, 14, 14], "video_frames": 2, "tokens": 5, "add_bias_kv": False,
                   "pre_transformer_ln": True},
        "text": {"width": 64, "blocks": 1, "num_heads": 2, "mlp_hidden": 256, "vocab": 256,
                 "context_length": 16, "add_bias_kv": False, "logit_scale_init": 14.2857,
                 "logit_scale_learnable": True},
        "omitted_towers": ["depth", "thermal", "imu"],
        "real": {"audio": {"width": 768, "blocks": 12, "num_heads": 12, "num_mel_bins": 128,
                           "target_length": 204, "tokens": 229}, "out_embed_dim": 1024},
    },
    "video_llama_vl": {
        "file": "VL_tiny.pth", "format": "trainer checkpoint {model, optimizer, config, scaler, epoch}",
        "video_qformer": {"hidden": 96, "num_heads": 2, "num_layers": 2, "cross_attention_layers": [0, 1],
                          "intermediate": 192, "encoder_width": 96, "num_query_tokens": 8,
                          "max_position_embeddings": 64, "layer_norm_eps": 1e-12},
        "video_frame_position_embedding": [8, 96], "llama_proj": [256, 96],
        "buffers": ["Qformer.bert.embeddings.position_ids", "video_Qformer.bert.embeddings.position_ids",
                    "llama_model.model.layers.{0,1}.self_attn.rotary_emb.inv_freq"],
        "archive_prefix": "checkpoint_4/ (saved as checkpoint_4.pth, renamed, like runner_base)",
        "real": {"hidden": 768, "encoder_width": 768, "num_query_tokens": 32,
                 "video_frame_position_embedding": [32, 768]},
    },
    "video_llama_al": {
        "file": "AL_tiny.pth", "format": "trainer checkpoint {model, optimizer, config, scaler, epoch}",
        "audio_qformer": {"hidden": 96, "num_heads": 2, "num_layers": 2, "cross_attention_layers": [0, 1],
                          "intermediate": 192, "encoder_width": 128, "num_query_tokens": 8,
                          "max_position_embeddings": 64, "layer_norm_eps": 1e-12},
        "audio_position_embedding": [8, 128], "audio_llama_proj": [256, 96],
        "buffers": ["{Qformer,video_Qformer,audio_Qformer}.bert.embeddings.position_ids",
                    "llama_model.model.layers.{0,1}.self_attn.rotary_emb.inv_freq",
                    "audio_encoder.modality_preprocessors.text.mask",
                    "audio_encoder.modality_postprocessors.audio.1.log_logit_scale"],
        "archive_prefix": "checkpoint_2/",
        "real": {"hidden": 768, "encoder_width": 1024, "num_query_tokens": 8,
                 "audio_position_embedding": [8, 1024]},
    },
    "llama": {
        "hf_folder": "llama-hf", "meta_folder": "llama-meta", "hidden_size": 256,
        "intermediate_size": 768, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 4, "head_dim": 64, "vocab_size": 512, "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0, "max_position_embeddings": 2048, "tie_word_embeddings": False,
        "dtype_hf": "fp16 weights, fp32 rotary_emb.inv_freq buffers", "dtype_meta": "fp16, rope.freqs fp32",
        "meta_params": {"dim": 256, "n_layers": 2, "n_heads": 4, "multiple_of": 256,
                        "norm_eps": 1e-6, "vocab_size": -1},
        "meta_hf_relation": "same weights; Meta wq/wk = inverse of convert_llama_weights_to_hf permute "
                            "(HF_row[h*64 + c*32 + i] = Meta_row[h*64 + 2i + c])",
        "hf_shards": {"max_shard_size_bytes": 2000000, "files": 2},
        "tokenizer": {"type": "SentencePiece BPE, byte_fallback", "vocab_size": 512,
                      "unk": 0, "bos": 1, "eos": 2, "pad": None},
    },
    "conventions": {
        "llm_widths": "multiples of 256",
        "qformer_intermediate": "BLIP-2 Q-Former 4 x hidden (384) like BERT; video/audio Q-Formers 2 x hidden (192) "
                                "to keep the trainer checkpoints (params + 2 AdamW moments) small", "vision_widths": "multiples of 32, not of 256",
        "init": "weights ~ N(0, 0.02) (patch/stem convs N(0,0.05)), biases ~ N(0, 0.02), "
                "LayerNorm/RMSNorm weights 1 + N(0, 0.1), LayerNorm biases N(0, 0.1) (nothing is "
                "exactly 0/1 so swapped tensors are detectable)",
    },
}


class Init:
    def __init__(self, seed):
        self.g = gen(seed)

    def w(self, *shape, std=0.02):
        return torch.randn(*shape, generator=self.g) * std

    def ln_w(self, n):
        return 1.0 + 0.1 * torch.randn(n, generator=self.g)

    def ln_b(self, n):
        return 0.1 * torch.randn(n, generator=self.g)


def position_ids(n):
    # like BertEmbeddings: arange(n).expand((1, -1)) -> stride (0, 1) is saved as such
    return torch.arange(n).expand((1, -1))


def inv_freq(head_dim):
    return 1.0 / (10000 ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))


def qformer_layer(sd, prefix, init: Init, hidden, inter, cross, enc_width):
    def lin(name, out_f, in_f):
        sd[f"{prefix}.{name}.weight"] = init.w(out_f, in_f)
        sd[f"{prefix}.{name}.bias"] = init.w(out_f)

    def ln(name):
        sd[f"{prefix}.{name}.weight"] = init.ln_w(hidden)
        sd[f"{prefix}.{name}.bias"] = init.ln_b(hidden)

    for n in ("query", "key", "value"):
        lin(f"attention.self.{n}", hidden, hidden)
    lin("attention.output.dense", hidden, hidden)
    ln("attention.output.LayerNorm")
    if cross:
        lin("crossattention.self.query", hidden, hidden)
        lin("crossattention.self.key", hidden, enc_width)
        lin("crossattention.self.value", hidden, enc_width)
        lin("crossattention.output.dense", hidden, hidden)
        ln("crossattention.output.LayerNorm")
    lin("intermediate_query.dense", inter, hidden)
    lin("output_query.dense", hidden, inter)
    ln("output_query.LayerNorm")


def qformer(sd, prefix, init, hidden, inter, layers, cross_layers, enc_width, max_pos, with_pos_ids=True):
    if with_pos_ids:
        sd[f"{prefix}.bert.embeddings.position_ids"] = position_ids(max_pos)
    sd[f"{prefix}.bert.embeddings.LayerNorm.weight"] = init.ln_w(hidden)
    sd[f"{prefix}.bert.embeddings.LayerNorm.bias"] = init.ln_b(hidden)
    for i in range(layers):
        qformer_layer(sd, f"{prefix}.bert.encoder.layer.{i}", init, hidden, inter, i in cross_layers, enc_width)


def sample_eva():
    c = TINY["eva_vit_g"]
    init = Init(100)
    D, M = c["embed_dim"], c["mlp_hidden"]
    sd = collections.OrderedDict()
    sd["cls_token"] = init.w(1, 1, D)
    sd["pos_embed"] = init.w(1, c["tokens"], D)
    sd["patch_embed.proj.weight"] = init.w(D, 3, c["patch_size"], c["patch_size"], std=0.05).half()
    sd["patch_embed.proj.bias"] = init.w(D).half()
    for i in range(c["depth"] + len(c["extra_unused_blocks"])):
        b = f"blocks.{i}"
        sd[f"{b}.norm1.weight"] = init.ln_w(D)
        sd[f"{b}.norm1.bias"] = init.ln_b(D)
        sd[f"{b}.attn.q_bias"] = init.w(D)
        sd[f"{b}.attn.v_bias"] = init.w(D)
        sd[f"{b}.attn.qkv.weight"] = init.w(3 * D, D).half()
        sd[f"{b}.attn.proj.weight"] = init.w(D, D).half()
        sd[f"{b}.attn.proj.bias"] = init.w(D).half()
        sd[f"{b}.norm2.weight"] = init.ln_w(D)
        sd[f"{b}.norm2.bias"] = init.ln_b(D)
        sd[f"{b}.mlp.fc1.weight"] = init.w(M, D).half()
        sd[f"{b}.mlp.fc1.bias"] = init.w(M).half()
        sd[f"{b}.mlp.fc2.weight"] = init.w(D, M).half()
        sd[f"{b}.mlp.fc2.bias"] = init.w(D).half()
    sd["norm.weight"] = init.ln_w(D)
    sd["norm.bias"] = init.ln_b(D)
    return sd


def sample_blip2():
    c = TINY["blip2_qformer"]
    init = Init(200)
    H = c["hidden"]
    sd = collections.OrderedDict()
    sd["query_tokens"] = init.w(1, c["num_query_tokens"], H)
    sd["ln_vision.weight"] = init.ln_w(c["encoder_width"])
    sd["ln_vision.bias"] = init.ln_b(c["encoder_width"])
    qformer(sd, "Qformer", init, H, c["intermediate"], c["num_layers"], c["cross_attention_layers"],
            c["encoder_width"], c["max_position_embeddings"])
    sd["t5_proj.weight"] = init.w(c["t5_proj_out"], H)
    sd["t5_proj.bias"] = init.w(c["t5_proj_out"])
    return {"model": sd}


def ib_block(sd, prefix, init, W, mlp, bias_kv):
    sd[f"{prefix}.attn.in_proj_weight"] = init.w(3 * W, W)
    sd[f"{prefix}.attn.in_proj_bias"] = init.w(3 * W)
    if bias_kv:
        sd[f"{prefix}.attn.bias_k"] = init.w(1, 1, W)
        sd[f"{prefix}.attn.bias_v"] = init.w(1, 1, W)
    sd[f"{prefix}.attn.out_proj.weight"] = init.w(W, W)
    sd[f"{prefix}.attn.out_proj.bias"] = init.w(W)
    sd[f"{prefix}.norm_1.weight"] = init.ln_w(W)
    sd[f"{prefix}.norm_1.bias"] = init.ln_b(W)
    sd[f"{prefix}.mlp.fc1.weight"] = init.w(mlp, W)
    sd[f"{prefix}.mlp.fc1.bias"] = init.w(mlp)
    sd[f"{prefix}.mlp.fc2.weight"] = init.w(W, mlp)
    sd[f"{prefix}.mlp.fc2.bias"] = init.w(W)
    sd[f"{prefix}.norm_2.weight"] = init.ln_w(W)
    sd[f"{prefix}.norm_2.bias"] = init.ln_b(W)


def text_mask(n):
    return torch.empty(n, n).fill_(float("-inf")).triu_(1)


def sample_imagebind():
    c = TINY["imagebind"]
    a, v, t = c["audio"], c["vision"], c["text"]
    out = c["out_embed_dim"]
    init = Init(300)
    sd = collections.OrderedDict()
    P = "modality_preprocessors"
    # preprocessors (ImageBind order: vision, text, audio, ...)
    sd[f"{P}.vision.cls_token"] = init.w(1, 1, v["width"])
    sd[f"{P}.vision.rgbt_stem.proj.1.weight"] = init.w(v["width"], 3, *v["kernel"], std=0.05)
    sd[f"{P}.vision.pos_embedding_helper.pos_embed"] = init.w(1, v["tokens"], v["width"])
    sd[f"{P}.text.pos_embed"] = init.w(1, t["context_length"], t["width"])
    sd[f"{P}.text.mask"] = text_mask(t["context_length"])
    sd[f"{P}.text.token_embedding.weight"] = init.w(t["vocab"], t["width"])
    sd[f"{P}.audio.cls_token"] = init.w(1, 1, a["width"])
    sd[f"{P}.audio.rgbt_stem.proj.weight"] = init.w(a["width"], 1, a["kernel"], a["kernel"], std=0.05)
    sd[f"{P}.audio.rgbt_stem.norm_layer.weight"] = init.ln_w(a["width"])
    sd[f"{P}.audio.rgbt_stem.norm_layer.bias"] = init.ln_b(a["width"])
    sd[f"{P}.audio.pos_embedding_helper.pos_embed"] = init.w(1, a["tokens"], a["width"])
    # trunks
    T = "modality_trunks"
    sd[f"{T}.vision.pre_transformer_layer.0.weight"] = init.ln_w(v["width"])
    sd[f"{T}.vision.pre_transformer_layer.0.bias"] = init.ln_b(v["width"])
    for i in range(v["blocks"]):
        ib_block(sd, f"{T}.vision.blocks.{i}", init, v["width"], v["mlp_hidden"], False)
    for i in range(t["blocks"]):
        ib_block(sd, f"{T}.text.blocks.{i}", init, t["width"], t["mlp_hidden"], False)
    for i in range(a["blocks"]):
        ib_block(sd, f"{T}.audio.blocks.{i}", init, a["width"], a["mlp_hidden"], True)
    # heads
    Hd = "modality_heads"
    sd[f"{Hd}.vision.0.weight"] = init.ln_w(v["width"])
    sd[f"{Hd}.vision.0.bias"] = init.ln_b(v["width"])
    sd[f"{Hd}.vision.2.weight"] = init.w(out, v["width"])
    sd[f"{Hd}.text.proj.0.weight"] = init.ln_w(t["width"])
    sd[f"{Hd}.text.proj.0.bias"] = init.ln_b(t["width"])
    sd[f"{Hd}.text.proj.1.weight"] = init.w(out, t["width"])
    sd[f"{Hd}.audio.0.weight"] = init.ln_w(a["width"])
    sd[f"{Hd}.audio.0.bias"] = init.ln_b(a["width"])
    sd[f"{Hd}.audio.2.weight"] = init.w(out, a["width"])
    # postprocessors (vision: L2-normalize only, no parameters)
    sd["modality_postprocessors.text.1.log_logit_scale"] = torch.nn.Parameter(
        torch.ones([]) * math.log(t["logit_scale_init"]))
    sd["modality_postprocessors.audio.1.log_logit_scale"] = torch.ones([]) * math.log(a["logit_scale_init"])
    return sd


LLM = TINY["llama"]


def llama_buffers():
    return collections.OrderedDict(
        (f"llama_model.model.layers.{i}.self_attn.rotary_emb.inv_freq", inv_freq(LLM["head_dim"]))
        for i in range(LLM["num_hidden_layers"]))


def sample_vl():
    c = TINY["video_llama_vl"]
    q = c["video_qformer"]
    init = Init(400)
    sd = collections.OrderedDict()
    buffers = set()
    sd["video_query_tokens"] = init.w(1, q["num_query_tokens"], q["hidden"])
    sd["Qformer.bert.embeddings.position_ids"] = position_ids(TINY["blip2_qformer"]["max_position_embeddings"])
    for k, v in llama_buffers().items():
        sd[k] = v
    sd["llama_proj.weight"] = init.w(*c["llama_proj"])
    sd["llama_proj.bias"] = init.w(c["llama_proj"][0])
    sd["video_frame_position_embedding.weight"] = init.w(*c["video_frame_position_embedding"])
    qformer(sd, "video_Qformer", init, q["hidden"], q["intermediate"], q["num_layers"],
            q["cross_attention_layers"], q["encoder_width"], q["max_position_embeddings"])
    buffers = {k for k in sd if k.endswith("position_ids") or k.endswith("inv_freq")}
    return sd, buffers


def sample_al():
    c = TINY["video_llama_al"]
    q = c["audio_qformer"]
    init = Init(500)
    sd = collections.OrderedDict()
    sd["audio_query_tokens"] = init.w(1, q["num_query_tokens"], q["hidden"])
    sd["Qformer.bert.embeddings.position_ids"] = position_ids(TINY["blip2_qformer"]["max_position_embeddings"])
    for k, v in llama_buffers().items():
        sd[k] = v
    sd["video_Qformer.bert.embeddings.position_ids"] = position_ids(q["max_position_embeddings"])
    ib = TINY["imagebind"]
    sd["audio_encoder.modality_preprocessors.text.mask"] = text_mask(ib["text"]["context_length"])
    sd["audio_encoder.modality_postprocessors.audio.1.log_logit_scale"] = \
        torch.ones([]) * math.log(ib["audio"]["logit_scale_init"])
    sd["audio_position_embedding.weight"] = init.w(*c["audio_position_embedding"])
    qformer(sd, "audio_Qformer", init, q["hidden"], q["intermediate"], q["num_layers"],
            q["cross_attention_layers"], q["encoder_width"], q["max_position_embeddings"])
    sd["audio_llama_proj.weight"] = init.w(*c["audio_llama_proj"])
    sd["audio_llama_proj.bias"] = init.w(c["audio_llama_proj"][0])
    buffers = {k for k in sd if k.endswith("position_ids") or k.endswith("inv_freq")
               or k.startswith("audio_encoder.")}
    return sd, buffers


def trainer_from_sd(sd, buffers, seed):
    params = collections.OrderedDict((k, v) for k, v in sd.items() if k not in buffers)
    ck = trainer_checkpoint(params, seed)
    model = collections.OrderedDict()
    for k, v in sd.items():
        model[k] = v if k in buffers else ck["model"][k]
    ck["model"] = model
    return ck


def save_renamed(obj, path: Path, save_name: str):
    """torch.save under `save_name` (its stem becomes the archive prefix), then rename to `path`."""
    tmp = path.parent / save_name
    save_torch(obj, tmp)
    tmp.rename(path)


WORDS = ("the a an video audio frame frames image picture sound music voice man woman child dog cat "
         "car street room table window light red blue green yellow black white small large old new "
         "is are was were has have shows playing walking running talking singing sitting standing "
         "holding looking watching speaking in on at with near behind under over of and but while "
         "then first next finally describe what who where when why how many there this that these "
         "those scene camera moves slowly quickly background foreground people group two three four "
         "five second seconds minute clip clips sample sampled contains answer question human "
         "assistant please explain detail carefully hear see eyes ears close open only based "
         "guitar piano drum bird bird's water river tree trees sky cloud clouds sun night day "
         "morning evening kitchen cooking food plate cup coffee tea book reading writing computer "
         "screen phone call laughing crying applause crowd stage dance dancing ball game player "
         "team score goal field grass snow rain wind road bridge city building house door").split()


def training_text(n=4000, seed=7):
    r = random.Random(seed)
    lines = []
    for i in range(n):
        k = r.randint(4, 16)
        s = " ".join(r.choice(WORDS) for _ in range(k))
        s = s[0].upper() + s[1:]
        tail = r.choice([".", ".", "?", "!", ","])
        if r.random() < 0.2:
            s = f"###Human: {s}{tail} ###Assistant:"
        elif r.random() < 0.1:
            s = f"[INST] {s}{tail} [/INST]"
        elif r.random() < 0.1:
            s = f"The video contains {r.randint(1, 32)} frames sampled at {r.randint(0, 99) / 10} seconds."
        else:
            s = s + tail
        lines.append(s)
    return "\n".join(lines) + "\n"


def train_tokenizer(out_model: Path):
    import sentencepiece as spm
    model = io.BytesIO()  # in-memory corpus and output: no temp paths end up in the trainer_spec
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_text().splitlines()), model_writer=model, model_type="bpe",
        vocab_size=LLM["vocab_size"], character_coverage=1.0, byte_fallback=True, split_digits=True,
        num_threads=1, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, add_dummy_prefix=True,
        remove_extra_whitespaces=False, normalization_rule_name="identity",
        allow_whitespace_only_pieces=True, shuffle_input_sentence=False, input_sentence_size=0,
        minloglevel=2)
    out_model.write_bytes(model.getvalue())
    sp = spm.SentencePieceProcessor(model_file=str(out_model))
    assert sp.get_piece_size() == LLM["vocab_size"]
    assert (sp.id_to_piece(0), sp.id_to_piece(1), sp.id_to_piece(2)) == ("<unk>", "<s>", "</s>")


def llama_hf_state_dict():
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(hidden_size=LLM["hidden_size"], intermediate_size=LLM["intermediate_size"],
                      num_hidden_layers=LLM["num_hidden_layers"],
                      num_attention_heads=LLM["num_attention_heads"],
                      num_key_value_heads=LLM["num_key_value_heads"], vocab_size=LLM["vocab_size"],
                      rms_norm_eps=LLM["rms_norm_eps"], tie_word_embeddings=False,
                      max_position_embeddings=LLM["max_position_embeddings"])
    with torch.device("meta"):
        model = LlamaForCausalLM(cfg)
    init = Init(600)
    sd = collections.OrderedDict()
    for k, v in model.state_dict().items():  # real HF key names and order
        if k.endswith("norm.weight") or k.endswith("layernorm.weight"):
            t = init.ln_w(v.shape[0])
        else:
            t = init.w(*v.shape)
        sd[k] = t.half()
        if k.endswith("self_attn.o_proj.weight"):  # older conversions kept this fp32 buffer
            sd[k.replace("o_proj.weight", "rotary_emb.inv_freq")] = inv_freq(LLM["head_dim"])
    return sd


def hf_to_meta_qk(w, n_heads):
    d_out, d_in = w.shape
    return w.view(n_heads, 2, d_out // n_heads // 2, d_in).transpose(1, 2).reshape(d_out, d_in)


def meta_to_hf_qk(w, n_heads):  # convert_llama_weights_to_hf.permute
    d_out, d_in = w.shape
    return w.view(n_heads, d_out // n_heads // 2, 2, d_in).transpose(1, 2).reshape(d_out, d_in)


def generate_samples():
    shutil.rmtree(SAMPLES, ignore_errors=True)
    SAMPLES.mkdir(parents=True)
    fixtures = []

    p = SAMPLES / "eva_vit_g.pth"
    save_torch(sample_eva(), p)
    fixtures.append(manifest_torch(p, "eva-vit-g"))

    p = SAMPLES / "blip2_pretrained_flant5xxl.pth"
    save_torch(sample_blip2(), p)
    fixtures.append(manifest_torch(p, "blip2-qformer"))

    p = SAMPLES / "imagebind_huge.pth"
    save_torch(sample_imagebind(), p)
    fixtures.append(manifest_torch(p, "imagebind-huge"))

    p = SAMPLES / "VL_tiny.pth"
    sd, bufs = sample_vl()
    save_renamed(trainer_from_sd(sd, bufs, 401), p, "checkpoint_4.pth")
    fixtures.append(manifest_torch(p, "videollama-vl"))

    p = SAMPLES / "AL_tiny.pth"
    sd, bufs = sample_al()
    save_renamed(trainer_from_sd(sd, bufs, 501), p, "checkpoint_2.pth")
    fixtures.append(manifest_torch(p, "videollama-al"))

    # ---- LLaMA, HF layout
    hf = SAMPLES / "llama-hf"
    hf.mkdir()
    train_tokenizer(hf / "tokenizer.model")
    sd = llama_hf_state_dict()
    limit = LLM["hf_shards"]["max_shard_size_bytes"]
    shards, cur, size = [], collections.OrderedDict(), 0
    for k, v in sd.items():  # huggingface_hub greedy packing in key order
        nb = v.numel() * v.element_size()
        if cur and size + nb > limit:
            shards.append(cur)
            cur, size = collections.OrderedDict(), 0
        cur[k] = v
        size += nb
    shards.append(cur)
    assert len(shards) == 2, len(shards)
    weight_map, tensors, globs = {}, [], set()
    for i, sh in enumerate(shards):
        fn = f"pytorch_model-{i + 1:05d}-of-{len(shards):05d}.bin"
        save_torch(sh, hf / fn)
        tt, sk = [], []
        walk(torch.load(hf / fn, weights_only=True), "", tt, sk)
        assert not sk
        tensors += tt
        globs |= set(pickle_globals_of_file(hf / fn))
        for k in sh:
            weight_map[k] = fn
    write_json(hf / "pytorch_model.bin.index.json",
               {"metadata": {"total_size": sum(v.numel() * v.element_size() for v in sd.values())},
                "weight_map": dict(sorted(weight_map.items()))})
    write_json(hf / "config.json", {
        "architectures": ["LlamaForCausalLM"], "bos_token_id": 1, "eos_token_id": 2,
        "hidden_act": "silu", "hidden_size": LLM["hidden_size"], "initializer_range": 0.02,
        "intermediate_size": LLM["intermediate_size"],
        "max_position_embeddings": LLM["max_position_embeddings"], "model_type": "llama",
        "num_attention_heads": LLM["num_attention_heads"],
        "num_hidden_layers": LLM["num_hidden_layers"],
        "num_key_value_heads": LLM["num_key_value_heads"], "pad_token_id": 0, "pretraining_tp": 1,
        "rms_norm_eps": LLM["rms_norm_eps"], "rope_scaling": None, "tie_word_embeddings": False,
        "torch_dtype": "float16", "transformers_version": "4.31.0.dev0", "use_cache": True,
        "vocab_size": LLM["vocab_size"]})
    write_json(hf / "generation_config.json", {
        "_from_model_config": True, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
        "transformers_version": "4.31.0.dev0"})
    tok = lambda s: {"__type": "AddedToken", "content": s, "lstrip": False, "normalized": True,  # noqa: E731
                     "rstrip": False, "single_word": False}
    write_json(hf / "tokenizer_config.json", {
        "add_bos_token": True, "add_eos_token": False, "bos_token": tok("<s>"),
        "clean_up_tokenization_spaces": False, "eos_token": tok("</s>"), "legacy": False,
        "model_max_length": 1000000000000000019884624838656, "pad_token": None,
        "padding_side": "right", "sp_model_kwargs": {}, "tokenizer_class": "LlamaTokenizer",
        "unk_token": tok("<unk>")})
    write_json(hf / "special_tokens_map.json", {
        "bos_token": {"content": "<s>", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
        "eos_token": {"content": "</s>", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
        "unk_token": {"content": "<unk>", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}})
    fixtures.append({"path": rel(hf), "family": "llama-hf", "tensors": tensors, "skipped": [],
                     "globals": sorted(globs)})

    # ---- LLaMA, Meta layout (same weights; wq/wk un-permuted)
    meta = SAMPLES / "llama-meta"
    meta.mkdir()
    shutil.copy(hf / "tokenizer.model", meta / "tokenizer.model")
    nh = LLM["num_attention_heads"]
    m = collections.OrderedDict()
    m["tok_embeddings.weight"] = sd["model.embed_tokens.weight"]
    m["norm.weight"] = sd["model.norm.weight"]
    m["output.weight"] = sd["lm_head.weight"]
    for i in range(LLM["num_hidden_layers"]):
        h = f"model.layers.{i}."
        L = f"layers.{i}."
        wq = hf_to_meta_qk(sd[h + "self_attn.q_proj.weight"], nh)
        wk = hf_to_meta_qk(sd[h + "self_attn.k_proj.weight"], nh)
        assert torch.equal(meta_to_hf_qk(wq, nh), sd[h + "self_attn.q_proj.weight"])
        m[L + "attention.wq.weight"] = wq
        m[L + "attention.wk.weight"] = wk
        m[L + "attention.wv.weight"] = sd[h + "self_attn.v_proj.weight"]
        m[L + "attention.wo.weight"] = sd[h + "self_attn.o_proj.weight"]
        m[L + "feed_forward.w1.weight"] = sd[h + "mlp.gate_proj.weight"]
        m[L + "feed_forward.w2.weight"] = sd[h + "mlp.down_proj.weight"]
        m[L + "feed_forward.w3.weight"] = sd[h + "mlp.up_proj.weight"]
        m[L + "attention_norm.weight"] = sd[h + "input_layernorm.weight"]
        m[L + "ffn_norm.weight"] = sd[h + "post_attention_layernorm.weight"]
    m["rope.freqs"] = inv_freq(LLM["head_dim"])
    m = collections.OrderedDict((k, v.clone()) for k, v in m.items())  # own storages
    save_torch(m, meta / "consolidated.00.pth")
    write_json(meta / "params.json", LLM["meta_params"])
    f = manifest_torch(meta / "consolidated.00.pth", "llama-meta")
    f["path"] = rel(meta)
    fixtures.append(f)

    write_json(SAMPLES / "tiny-config.json", TINY)
    write_json(SAMPLES / "manifest.json", {"fixtures": fixtures})


# ----------------------------------------------------------------------------------------------
# C. hostile/
# ----------------------------------------------------------------------------------------------
def canary(case):
    return f"/tmp/vlpack-canary-{case}"


def op_str(s: str) -> bytes:  # BINUNICODE
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


class Reduce:
    """Pickles as `func(*args)` (pickling never calls func)."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


class TinyScripted(torch.nn.Module):
    """Scripted for the TorchScript fixture (no Final constants: nn.Linear's are emitted in
    hash-seed-dependent order, which would make the archive non-reproducible)."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.arange(4, dtype=torch.float32).reshape(2, 2))

    def forward(self, x):
        return x @ self.weight + 1.0


def hostile_base_sd():
    return collections.OrderedDict([("weight", torch.arange(16, dtype=torch.float32).reshape(4, 4)),
                                    ("bias", torch.arange(4, dtype=torch.float32))])


def patch_eocd_cd_offset(data: bytearray, new_off: int):
    e = data.rfind(b"PK\x05\x06")
    if struct.unpack_from("<I", data, e + 16)[0] != 0xFFFFFFFF:
        struct.pack_into("<I", data, e + 16, new_off)
    z = data.rfind(b"PK\x06\x06")
    if z >= 0:
        struct.pack_into("<Q", data, z + 48, new_off)


def patch_local_offset(data: bytearray, entry_suffix: str, new_off: int):
    e = data.rfind(b"PK\x05\x06")
    z = data.rfind(b"PK\x06\x06")
    cd = struct.unpack_from("<Q", data, z + 48)[0] if z >= 0 else struct.unpack_from("<I", data, e + 16)[0]
    pos = cd
    while data[pos:pos + 4] == b"PK\x01\x02":
        n, x, c = struct.unpack_from("<HHH", data, pos + 28)
        name = bytes(data[pos + 46:pos + 46 + n]).decode()
        if name.endswith(entry_suffix):
            usz, csz, loc = (struct.unpack_from("<I", data, pos + o)[0] for o in (24, 20, 42))
            if loc != 0xFFFFFFFF:
                struct.pack_into("<I", data, pos + 42, new_off & 0xFFFFFFFF)
                return
            q = pos + 46 + n
            end = q + x
            while q < end:
                hid, hl = struct.unpack_from("<HH", data, q)
                if hid == 1:
                    r = q + 4 + (8 if usz == 0xFFFFFFFF else 0) + (8 if csz == 0xFFFFFFFF else 0)
                    struct.pack_into("<Q", data, r, new_off)
                    return
                q += 4 + hl
            raise AssertionError("no zip64 extra")
        pos += 46 + n + x + c
    raise AssertionError(entry_suffix)


def st_file(header: bytes | str, data: bytes = b"", n: int | None = None) -> bytes:
    if isinstance(header, str):
        header = header.encode()
    return struct.pack("<Q", len(header) if n is None else n) + header + data


def st_hdr(d: dict) -> str:
    s = json.dumps(d, separators=(",", ":"))
    return s + " " * ((-len(s) - 8) % 8)


def legacy_tar_bytes() -> bytes:
    """Legacy tar format (≈ torch 0.1.x): members sys_info, pickle, storages, tensors."""
    storage_key, tensor_key = 1, 2
    numel = 6
    data = struct.pack("<6f", *[0.5 * i for i in range(numel)])
    storages = io.BytesIO()
    pickle.dump(1, storages, protocol=2)
    pickle.dump((storage_key, "cpu", torch.FloatStorage), storages, protocol=2)
    storages.write(struct.pack("<q", numel) + data)
    pickle.dump([], storages, protocol=2)
    tensors = io.BytesIO()
    pickle.dump(1, tensors, protocol=2)
    pickle.dump((tensor_key, storage_key, "torch.FloatTensor"), tensors, protocol=2)
    tensors.write(struct.pack("<i", 2) + b"\0" * 4 + struct.pack("<2q", 2, 3) + struct.pack("<2q", 3, 1)
                  + struct.pack("<q", 0))

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return str(tensor_key) if obj is MARKER else None

    MARKER = object()
    main = io.BytesIO()
    P(main, protocol=2).dump({"weight": MARKER})
    sys_info = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                             "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, b in (("sys_info", sys_info), ("pickle", main.getvalue()),
                        ("storages", storages.getvalue()), ("tensors", tensors.getvalue())):
            ti = tarfile.TarInfo(name)
            ti.size = len(b)
            ti.mtime = 0
            ti.mode = 0o644
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            tar.addfile(ti, io.BytesIO(b))
    return out.getvalue()


def reference_result(path: Path, kind: str) -> str:
    """What the reference implementations say (never executes code: weights_only / safetensors)."""
    import safetensors
    from torch import _weights_only_unpickler as wou
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            load_file(str(path))
        elif path.suffix == ".pkl":
            wou.Unpickler(io.BytesIO(path.read_bytes()), encoding="utf-8").load()
        else:
            torch.load(path, weights_only=True)
        return "loads"
    except Exception as e:  # noqa: BLE001
        lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
        key = [ln for ln in lines if any(w in ln for w in ("GLOBAL", "Unsupported", "blocked"))]
        msg = (key or lines or [""])[0]
        lib = f"safetensors {safetensors.__version__}" if path.suffix == ".safetensors" else \
            f"torch {torch.__version__.split('+')[0]} weights_only"
        return f"{lib}: {type(e).__name__}: {msg[:200]}"


def generate_hostile():
    shutil.rmtree(HOSTILE, ignore_errors=True)
    HOSTILE.mkdir(parents=True)
    cases = []

    def add(name, data: bytes | None, kind, expect, desc, can=None, **extra):
        p = HOSTILE / name
        if data is not None:
            p.write_bytes(data)
        c = {"path": rel(p), "kind": kind, "description": desc, "expect": expect, "canary": can}
        c.update(extra)
        cases.append(c)

    # ---- code execution payloads -----------------------------------------------------------
    def sh(case):
        return f"touch {canary(case)}"

    n = "os_system_reduce"
    add(f"{n}.pkl", b"\x80\x02cos\nsystem\n" + op_str(sh(n)) + b"\x85R.", "codeExecution",
        "forbiddenGlobal", "PROTO 2; GLOBAL 'os system'; BINUNICODE cmd; TUPLE1; REDUCE -> os.system('touch canary')",
        canary(n))
    n = "posix_system_reduce"
    add(f"{n}.pkl", b"\x80\x02cposix\nsystem\n" + op_str(sh(n)) + b"\x85R.", "codeExecution",
        "forbiddenGlobal", "GLOBAL 'posix system' + REDUCE (what pickle writes for os.system on Linux)",
        canary(n))
    n = "builtins_eval"
    add(f"{n}.pkl", b"\x80\x02cbuiltins\neval\n" + op_str(f"open({canary(n)!r}, 'w').close()") + b"\x85R.",
        "codeExecution", "forbiddenGlobal", "GLOBAL 'builtins eval' + REDUCE on a Python expression that creates the canary",
        canary(n))
    n = "builtins_exec"
    add(f"{n}.pkl", b"\x80\x02c__builtin__\nexec\n" + op_str(f"import os\nos.system({sh(n)!r})") + b"\x85R.",
        "codeExecution", "forbiddenGlobal",
        "GLOBAL '__builtin__ exec' (protocol-2 name, mapped to builtins.exec by fix_imports) + REDUCE on statements",
        canary(n))
    n = "subprocess_reduce"
    add(f"{n}.pkl", b"\x80\x02csubprocess\ncall\n]q\x00(" + op_str("touch") + op_str(canary(n)) + b"e\x85R.",
        "codeExecution", "forbiddenGlobal",
        "GLOBAL 'subprocess call' + REDUCE with an argv list built by EMPTY_LIST/MARK/APPENDS", canary(n))
    n = "subprocess_stack_global"
    add(f"{n}.pkl", pickle.dumps(Reduce(subprocess.check_call, (["touch", canary(n)],)), protocol=4),
        "codeExecution", "forbiddenGlobal",
        "protocol 4 (FRAME, SHORT_BINUNICODE 'subprocess' 'check_call', MEMOIZE, STACK_GLOBAL) + REDUCE, written by CPython's pickler",
        canary(n))
    n = "statedict_value_payload"
    sd = hostile_base_sd()
    sd["training_args"] = Reduce(os.system, (sh(n),))
    sd["head.weight"] = torch.ones(2, 4)
    p = HOSTILE / f"{n}.pt"
    save_torch(sd, p)
    add(p.name, None, "codeExecution", "forbiddenGlobal",
        "valid torch.save zip whose state dict has a value (between tensors) that reduces to posix.system(cmd)",
        canary(n))
    n = "zip_injected_payload"
    raw = torch_save_bytes(hostile_base_sd())
    ents = []
    for name, b in read_zip_entries(raw):
        if name.endswith("/data.pkl"):
            assert b[:2] == b"\x80\x02"
            b = b"\x80\x02cos\nsystem\n" + op_str(sh(n)) + b"\x85R0" + b[2:]
        ents.append((name, b))
    add(f"{n}.pt", write_zip(ents), "codeExecution", "forbiddenGlobal",
        "fickling-style injection: data.pkl of an otherwise valid torch zip starts with GLOBAL os.system + REDUCE + POP, "
        "then the original state dict (loads normally under pickle after running the command)", canary(n))
    n = "legacy_payload"
    sd = hostile_base_sd()
    sd["_hook"] = Reduce(os.system, (sh(n),))
    b = io.BytesIO()
    torch.save(sd, b, _use_new_zipfile_serialization=False)
    add(f"{n}.pt", legacy_fix_keys(b.getvalue()), "codeExecution", "forbiddenGlobal",
        "legacy stacked-pickle file (magic, protocol, sys_info, main, keys, raw storages) whose main pickle reduces to posix.system",
        canary(n))
    n = "load_from_bytes_nested"
    inner = collections.OrderedDict([("w", torch.ones(2)), ("x", Reduce(os.system, (sh(n),)))])
    add(f"{n}.pkl", pickle.dumps(Reduce(torch.storage._load_from_bytes, (torch_save_bytes(inner),)), protocol=2),
        "codeExecution", "forbiddenGlobal",
        "GLOBAL 'torch.storage _load_from_bytes' + REDUCE on bytes (via _codecs.encode) holding a torch zip whose data.pkl "
        "calls posix.system; _load_from_bytes runs torch.load(weights_only=False) on it (nested unpickle)", canary(n))
    n = "inst_opcode"
    add(f"{n}.pkl", b"(S'" + sh(n).encode() + b"'\nios\nsystem\n.", "codeExecution", "forbiddenOpcode",
        "protocol 0: MARK; STRING cmd; INST 'os system' (INST names the callable itself, no GLOBAL)", canary(n))
    n = "obj_opcode"
    add(f"{n}.pkl", b"(cos\nsystem\n" + op_str(sh(n)) + b"o.", "codeExecution", "forbiddenOpcode",
        "protocol 1: MARK; GLOBAL 'os system'; BINUNICODE cmd; OBJ. A reader that rejects the GLOBAL before reaching OBJ "
        "reports forbiddenGlobal instead (also acceptable)", canary(n), alsoAccept=["forbiddenGlobal"])

    # ---- malformed zips (from a real torch.save file) ------------------------------------
    base = bytearray(torch_save_bytes(hostile_base_sd()))
    add("zip_truncated.pt", bytes(base[:len(base) // 2]), "malformedZip", "zipEndRecordMissing",
        "real torch.save zip cut in half: no end-of-central-directory record")
    d = bytearray(base)
    patch_eocd_cd_offset(d, len(d) + 4096)
    add("zip_cd_offset_past_eof.pt", bytes(d), "malformedZip", "entryOutOfBounds",
        "central-directory offset (ZIP64 EOCD record, and the classic EOCD when not 0xFFFFFFFF) points 4096 bytes past EOF")
    d = bytearray(base)
    patch_local_offset(d, "/data/0", len(d) + 4096)
    add("zip_local_offset_past_eof.pt", bytes(d), "malformedZip", "entryOutOfBounds",
        "central-directory entry for data/0 has a local-header offset 4096 bytes past EOF")
    ents = read_zip_entries(bytes(base))
    add("zip_missing_record.pt", write_zip([(n_, b_) for n_, b_ in ents if not n_.endswith("/data/0")]),
        "malformedZip", "recordMissing", "zip rewritten without the data/0 record that data.pkl references")
    add("zip_short_record.pt", write_zip([(n_, b_[:-8] if n_.endswith("/data/0") else b_) for n_, b_ in ents]),
        "malformedZip", "storageSizeMismatch",
        "data/0 holds 56 bytes but the persistent id says FloatStorage numel 16 (64 bytes)")
    ents2 = []
    for name, b in ents:
        if name.endswith("/data.pkl"):
            # first tensor ("weight"): storage numel 16, size (4,4): storage_offset 0 -> 8
            i = b.index(b"QK\x00")
            b = b[:i] + b"QK\x08" + b[i + 3:]
        ents2.append((name, b))
    add("zip_view_out_of_bounds.pt", write_zip(ents2), "malformedZip", "viewOutOfBounds",
        "data.pkl edited: tensor 'weight' [4,4] stride (4,1) at storage_offset 8 in a 16-element storage (needs 24)")
    scripted = torch.jit.script(TinyScripted())
    p = HOSTILE / "torchscript.pt"
    torch.jit.save(scripted, str(p))
    add(p.name, None, "unsupportedFormat", "torchScriptArchive",
        "torch.jit.save of a tiny scripted module (weight [2,2]): zip with constants.pkl and code/")
    p = HOSTILE / "legacy_tar.pt"
    p.write_bytes(legacy_tar_bytes())
    chk = torch.load(p, weights_only=False)  # our own bytes, no payload: proves the tar is well formed
    assert torch.equal(chk["weight"], torch.tensor([[0, .5, 1], [1.5, 2, 2.5]]))
    add(p.name, None, "unsupportedFormat", "legacyTarFormat",
        "legacy tar format (members sys_info, pickle, storages, tensors; one FloatStorage, one [2,3] tensor); "
        "torch.load(weights_only=False) reads it, weights_only=True refuses it")

    # ---- pickle bombs / malformed pickles -----------------------------------------------
    add("deep_mark.pkl", b"\x80\x02" + b"(" * 1_000_000 + b"N.", "pickleBomb", "markLimit",
        "1,000,000 nested MARK opcodes, then NONE, STOP")
    add("memo_missing.pkl", b"\x80\x02h\x05.", "malformedPickle", "memoMissing", "BINGET 5 with an empty memo")
    add("memo_huge_index.pkl", b"\x80\x02Nr\xff\xff\xff\xff.", "malformedPickle", "memoLimit",
        "LONG_BINPUT 0xFFFFFFFF (must not size a memo array from it)")
    add("binunicode_4gb.pkl", b"\x80\x02X\xff\xff\xff\xffabc.", "malformedPickle", "lengthExceedsInput",
        "BINUNICODE declaring 4,294,967,295 bytes with 4 bytes left")
    add("no_stop.pkl", b"\x80\x02}q\x00(X\x01\x00\x00\x00aK\x01u", "malformedPickle", "truncated",
        "dict built with SETITEMS but the stream ends without STOP")
    bomb = ["leaf"]
    for _ in range(30):
        bomb = [bomb, bomb]
    sd = hostile_base_sd()
    sd["metadata"] = {"bomb": bomb}
    p = HOSTILE / "memo_sharing_bomb.pt"
    save_torch(sd, p)
    assert len(p.read_bytes()) < 4096
    add(p.name, None, "pickleBomb", "ok",
        "valid torch zip state dict (weight [4,4], bias [4]) whose 'metadata.bomb' is a 30-level list where each level "
        "references the previous one twice through the memo (BINGET): 2^30 leaves if deep-copied, ~30 objects if "
        "memo entries are shared by reference. Must load without blow-up")

    # ---- malformed safetensors -----------------------------------------------------------
    good_hdr = st_hdr({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})
    add("st_header_too_small.safetensors", b"\x10\x00\x00\x00\x00", "malformedSafetensors", "headerTooSmall",
        "5-byte file (needs at least the 8-byte header length)")
    add("st_header_too_large.safetensors", st_file(good_hdr, b"\0" * 8, n=100_000_001), "malformedSafetensors",
        "headerTooLarge", "header length N = 100,000,001 (> 100 MB cap); file is tiny")
    add("st_header_past_eof.safetensors", st_file(good_hdr, b"\0" * 8, n=4096), "malformedSafetensors",
        "invalidHeaderLength", "N = 4096 but only ~40 bytes follow")
    h = b'{"a\xff\xfe":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    h += b" " * ((-len(h)) % 8)
    add("st_invalid_utf8.safetensors", st_file(h, b"\0" * 8), "malformedSafetensors", "invalidHeader",
        "header bytes are not valid UTF-8 (0xFF 0xFE in a key)")
    add("st_not_json.safetensors", st_file("{not json at all}       ", b"\0" * 8), "malformedSafetensors",
        "invalidHeaderJSON", "header is UTF-8 but not JSON")
    dup = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}'
    add("st_duplicate_key.safetensors", st_file(dup + " " * ((-len(dup)) % 8), b"\0" * 16), "malformedSafetensors",
        "duplicateKey", "tensor name 'a' appears twice (serde keeps the last; Python json keeps the last)")
    add("st_gap.safetensors", st_file(st_hdr({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                              "b": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}),
                                      b"\0" * 24), "malformedSafetensors", "invalidOffset",
        "8-byte hole between tensor a [0,8) and tensor b [16,24)")
    add("st_overlap.safetensors", st_file(st_hdr({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}),
                                          b"\0" * 12), "malformedSafetensors", "invalidOffset",
        "tensor b [4,12) overlaps tensor a [0,8)")
    add("st_end_before_begin.safetensors", st_file(st_hdr({"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}}),
                                                   b"\0" * 8), "malformedSafetensors", "invalidOffset",
        "data_offsets [8, 0]: end < begin")
    add("st_size_mismatch.safetensors", st_file(st_hdr({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 12]}}),
                                                b"\0" * 12), "malformedSafetensors", "tensorSizeMismatch",
        "shape [2] F32 needs 8 bytes, data_offsets span 12")
    big = 1 << 32
    add("st_shape_overflow.safetensors", st_file(st_hdr({"a": {"dtype": "F32", "shape": [big, big, big],
                                                                "data_offsets": [0, 8]}}), b"\0" * 8),
        "malformedSafetensors", "validationOverflow", "shape [2^32, 2^32, 2^32]: element count overflows 64 bits")
    add("st_trailing_bytes.safetensors", st_file(good_hdr, b"\0" * 8 + b"JUNK" * 4), "malformedSafetensors",
        "metadataIncompleteBuffer", "16 bytes after the end of the last tensor (file not fully indexed)")
    add("st_unknown_dtype.safetensors", st_file(st_hdr({"a": {"dtype": "F13", "shape": [2], "data_offsets": [0, 8]}}),
                                                b"\0" * 8), "malformedSafetensors", "unknownDType",
        "dtype 'F13' does not exist")

    for c in cases:
        c["reference"] = reference_result(ROOT / c["path"], c["kind"])
    for c in cases:
        if c["canary"]:
            assert not os.path.exists(c["canary"]), f"canary fired outside the sandbox: {c['canary']}"
    write_json(HOSTILE / "manifest.json", {"canary_prefix": "/tmp/vlpack-canary-", "cases": cases})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["good", "samples", "hostile"], action="append")
    ap.add_argument("--prove-live", action="store_true",
                    help="after generating, run prove_live.py (sandboxed) and write hostile/LIVENESS.md")
    args = ap.parse_args()
    parts = args.only or ["good", "samples", "hostile"]
    if "good" in parts:
        generate_good()
    if "samples" in parts:
        generate_samples()
    if "hostile" in parts:
        generate_hostile()
    if args.prove_live:
        subprocess.run([sys.executable, str(ROOT / "prove_live.py")], check=True)


if __name__ == "__main__":
    main()
