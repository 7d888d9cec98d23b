#!/usr/bin/env python3
"""Fixtures for the reader defect classes: files that a reader could misread silently.

    /tmp/venv/bin/python Fixtures/generate_readers.py

Writes Fixtures/readers/ and Fixtures/readers/manifest.json, which holds both kinds of entries the
tests replay (formats as in Fixtures/README.md):

  "fixtures": valid files, with the tensors torch.load (or pickle.load) sees in them;
  "cases":    malformed files, with the VLPack rule that must refuse each one.

It reuses generate.py's helpers (manifests computed by torch, legacy key fixing, zip writing) and,
like it, never runs a payload and writes the same bytes on every run with the same torch version.
Each class of defect gets at least one real torch.save / pickle file, plus hand-built bytes where
torch cannot write the defect itself.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate as base  # noqa: E402
import torch  # noqa: E402

READERS = base.ROOT / "readers"
MAGIC = 0x1950A86A20F9469CFC6C


def legacy_content(seed: int) -> collections.OrderedDict:
    """Views of one storage, several dtypes and a plain value, as in good/legacy.pt."""
    g = base.gen(seed)
    b = torch.randn(3, 4, generator=g)
    return collections.OrderedDict([
        ("base", b), ("row1", b[1]), ("col0", b[:, 0]),
        ("ids", torch.arange(5, dtype=torch.int64)),
        ("half", torch.randn(3, generator=g).half()),
        ("note", "legacy format"),
    ])


def legacy_bytes(obj, protocol: int) -> bytes:
    b = io.BytesIO()
    torch.save(obj, b, _use_new_zipfile_serialization=False, pickle_protocol=protocol)
    return base.legacy_fix_keys(b.getvalue())


def manifest_plain_pickle(path: Path) -> dict:
    """A bare pickle holds no tensors. The root container is always descended (VLPack's rule,
    Fixtures/README.md), so each of its values is listed as skipped at its own key."""
    tensors, skipped = [], []
    for key, value in pickle.loads(path.read_bytes()).items():
        base.walk(value, key, tensors, skipped)
    return {"path": base.rel(path), "family": "unknown", "tensors": tensors, "skipped": skipped,
            "globals": base.pickle_globals_of_file(path)}


def manifest_torch_any(path: Path) -> dict:
    """torch's weights_only loader refuses some protocol-4/5 opcodes; compare with it when it loads."""
    try:
        return base.manifest_torch(path)
    except Exception:  # noqa: BLE001 - the unsafe path below is still torch's own reading
        return base.manifest_torch(path, safe_check=False)


def nested(depth: int, leaf):
    obj = leaf
    for i in range(depth):
        obj = {f"level{depth - i}": obj}
    return obj


def zip_with_data_pkl(entries, patch) -> bytes:
    """Rewrites a torch zip with `patch(data.pkl bytes)` in place of data.pkl (64-byte aligned)."""
    out = [(n, patch(p) if n.endswith("/data.pkl") else p) for n, p in entries]
    return base.write_zip(out)


def frame_pickle(declared_extra: int) -> bytes:
    """pickle.dumps(protocol=4) of a small dict, its FRAME length raised by `declared_extra`."""
    raw = pickle.dumps({"epoch": 3, "note": "framed"}, protocol=4)
    assert raw[2] == 0x95
    (length,) = struct.unpack("<Q", raw[3:11])
    assert length == len(raw) - 11
    return raw[:3] + struct.pack("<Q", length + declared_extra) + raw[11:]


def deep_list_by_mutation(depth: int) -> bytes:
    """Lists linked outermost first, each appended to its parent before it gets its own child, so
    that no container is deep when it is put inside another: the nesting exists only in the final
    graph. EMPTY_LIST, BINPUT 0 (the root), then per level: BINGET 0 (parent), EMPTY_LIST (child),
    BINPUT 0, APPEND, POP; the root is kept in memo 1."""
    out = bytearray(b"\x80\x02]q\x00q\x01")
    out += b"0"  # POP the root; memo 0 and 1 hold it
    for _ in range(depth):
        out += b"h\x00]q\x00a0"  # BINGET 0, EMPTY_LIST, BINPUT 0, APPEND, POP
    out += b"h\x01."  # BINGET 1 (the root), STOP
    assert pickle.loads(bytes(out)) is not None
    return bytes(out)


def main():
    import shutil
    shutil.rmtree(READERS, ignore_errors=True)
    READERS.mkdir(parents=True)
    fixtures, cases = [], []

    def good(name: str, data: bytes, manifest):
        p = READERS / name
        p.write_bytes(data)
        fixtures.append(manifest(p))

    def bad(name: str, data: bytes, kind: str, expect: str, desc: str):
        p = READERS / name
        p.write_bytes(data)
        cases.append({"path": base.rel(p), "kind": kind, "description": desc, "expect": expect, "canary": None,
                      "reference": base.reference_result(p, kind)})

    # 1. Legacy files of every binary pickle protocol (4 and 5 open with PROTO + FRAME).
    for protocol in (3, 4, 5):
        raw = legacy_bytes(legacy_content(40 + protocol), protocol)
        assert raw[:2] == bytes([0x80, protocol])
        assert protocol < 4 or raw[2] == 0x95, "protocol 4/5 legacy files start with a FRAME"
        good(f"legacy_protocol{protocol}.pt", raw, manifest_torch_any)

    # Pickles over 64 KiB are cut into several FRAMEs: each must be accepted.
    many = collections.OrderedDict((f"layer{i}.scale", torch.full((1,), float(i))) for i in range(1000))
    raw = legacy_bytes(many, 4)
    frames = sum(1 for op, _, _ in base.pickletools.genops(io.BytesIO(raw[raw.index(b"\x80\x04", 40):]))
                 if op.name == "FRAME")
    assert frames >= 2, frames
    good("legacy_protocol4_frames.pt", raw, manifest_torch_any)

    # 2. Bytes after STOP, and legacy files whose magic number is wrong.
    bad("pickle_trailing_bytes.pkl", pickle.dumps({"epoch": 3, "lr": 0.5}, protocol=2) + b"\x00tail bytes",
        "malformedPickle", "trailingBytes", "a bare pickle followed by 11 bytes that no format explains")
    bad("int_pickle_then_more.pkl", pickle.dumps(12345, protocol=4) + pickle.dumps({"x": 1}, protocol=4),
        "malformedPickle", "legacyBadMagic",
        "a pickle of an int followed by another pickle: stacked pickles, but not torch's magic number")
    for protocol in (2, 4):
        raw = legacy_bytes(legacy_content(50 + protocol), protocol)
        magic = pickle.dumps(MAGIC, protocol=protocol)
        assert raw.startswith(magic)
        off_by_one = pickle.dumps(MAGIC + 1, protocol=protocol)
        assert len(off_by_one) == len(magic)
        bad(f"legacy_magic_off_by_one_p{protocol}.pt", off_by_one + raw[len(magic):], "malformedPickle",
            "legacyBadMagic", f"legacy protocol-{protocol} file whose magic number is 0x1950a86a20f9469cfc6d")
    bad("legacy_trailing_bytes.pt", legacy_bytes(legacy_content(60), 2) + b"\x00" * 24, "malformedPickle",
        "trailingBytes", "a valid legacy file with 24 zero bytes after its last storage")
    entries = base.read_zip_entries(base.torch_save_named({"w": torch.ones(4)}, "trailing.pt"))
    bad("zip_data_pkl_trailing.pt", zip_with_data_pkl(entries, lambda p: p + b"\x80\x02N."), "malformedPickle",
        "trailingBytes", "torch zip whose data.pkl has a second pickle (PROTO 2, NONE, STOP) after its STOP")

    # 3. FRAME lengths that lie about the stream.
    bad("frame_past_end.pkl", frame_pickle(1000), "malformedPickle", "frameExceedsInput",
        "protocol-4 FRAME claims 1000 bytes more than the stream holds")
    inner = b"\x95" + struct.pack("<Q", 2) + b"N."
    bad("frame_overlap.pkl", b"\x80\x04\x95" + struct.pack("<Q", len(inner)) + inner, "malformedPickle",
        "frameOverlap", "a FRAME that starts inside the previous frame")

    # 4. Nesting depth (limit 100 levels).
    bad("deep_tuple_1m.pkl", b"\x80\x02]" + b"\x85" * 1_000_000 + b".", "pickleBomb", "nestingLimit",
        "an empty list wrapped in 1,000,000 one-element tuples")
    bad("deep_list_by_mutation.pkl", deep_list_by_mutation(1000), "pickleBomb", "nestingLimit",
        "1000 nested lists, each appended to its parent while still empty (no container is deep when nested)")
    p = READERS / "deep_dicts_torch.pt"
    base.save_torch(nested(150, {"w": torch.ones(2)}), p)
    cases.append({"path": base.rel(p), "kind": "pickleBomb", "description":
                  "torch.save of a tensor inside 150 nested dicts", "expect": "nestingLimit", "canary": None,
                  "reference": base.reference_result(p, "pickleBomb")})
    p = READERS / "nested_40_dicts.pt"
    base.save_torch(nested(40, {"w": torch.arange(3, dtype=torch.float32)}), p)
    fixtures.append(base.manifest_torch(p))

    # 5. One storage key declared twice with different types or sizes (torch.save refuses to write
    # this, so the data.pkl of a real save is patched: the second storage's key becomes the first's).
    def share_key(sd: dict, name: str, desc: str):
        raw = base.torch_save_named(sd, f"{name}.pt")
        entries = base.read_zip_entries(raw)
        prefix = entries[0][0].split("/")[0]

        def patch(pkl: bytes) -> bytes:
            a, b = b"X\x01\x00\x00\x000", b"X\x01\x00\x00\x001"
            assert pkl.count(a) == 1 and pkl.count(b) == 1
            return pkl.replace(b, a)
        kept = [(n, p) for n, p in entries if n != f"{prefix}/data/1"]
        bad(f"{name}.pt", zip_with_data_pkl(kept, patch), "malformedZip", "storageKeyConflict", desc)

    share_key({"a": torch.ones(4), "b": torch.ones(8).half()}, "storage_key_two_dtypes",
              "storage '0' declared as FloatStorage x 4 and HalfStorage x 8 (same 16 bytes)")
    share_key({"a": torch.ones(4), "b": torch.ones(2)}, "storage_key_two_sizes",
              "storage '0' declared as FloatStorage x 4 and FloatStorage x 2")
    share_key({"a": torch.zeros(16).to(torch.float8_e4m3fn), "b": torch.zeros(16).to(torch.float8_e5m2)},
              "untyped_storage_two_dtypes",
              "UntypedStorage '0' (16 bytes) viewed as float8_e4m3fn by one tensor and float8_e5m2 by another")

    # 6. Shard sets named by their index file (the same tensors as the folder).
    folder_entries = {f["path"]: f for f in base.json.loads((base.GOOD / "manifest.json").read_text())["fixtures"]}
    for folder, index in (("good/safetensors_sharded", "model.safetensors.index.json"),
                          ("good/bin_sharded", "pytorch_model.bin.index.json")):
        entry = dict(folder_entries[folder])
        entry["path"] = f"{folder}/{index}"
        fixtures.append(entry)

    # 7. A bare pickle of plain data: zero tensors (inspect warns, convert refuses).
    good("plain_data.pkl", pickle.dumps({"epoch": 3, "lr": 0.5, "names": ["a", "b"]}, protocol=2),
         manifest_plain_pickle)

    base.write_json(READERS / "manifest.json", {"fixtures": fixtures, "cases": cases})


if __name__ == "__main__":
    main()
