#!/usr/bin/env python3
"""Independent reader for .vlpack files, written from Formats/VLPACK.md alone (stdlib + numpy).

    python3 vlpack_reader.py FILE [--list] [--json] [--hash]   list tensors (default)
    python3 vlpack_reader.py FILE --verify                     check every CRC; exit 1 on damage
    python3 vlpack_reader.py FILE --dump NAME                  print one tensor

As a module: ``f = vlpack_reader.open(path)``; ``f.tensors`` (list of dicts from the table),
``f.load(name)`` (numpy array viewing the mapping), ``f.raw(name)`` (uint8 view), ``f.verify()``.
"""
import builtins
import json
import mmap
import struct
import sys
import zlib

import numpy as np

MAGIC = b"VLPACK\0\0"
PREAMBLE = struct.Struct("<8sIIQIIQQ12sI")  # 64 bytes, see VLPACK.md section 2
assert PREAMBLE.size == 64
PLAIN = {  # table dtype -> (numpy dtype used by load, element size)
    "F64": ("<f8", 8), "F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2),
    "I64": ("<i8", 8), "I32": ("<i4", 4), "I16": ("<i2", 2), "I8": ("i1", 1),
    "U64": ("<u8", 8), "U32": ("<u4", 4), "U16": ("<u2", 2), "U8": ("u1", 1),
    "BOOL": ("?", 1), "F8_E4M3": ("u1", 1), "F8_E5M2": ("u1", 1),
}
BLOCKS = {"Q8_0": (32, 34), "Q4_0": (32, 18), "Q4_1": (32, 20), "Q4_K": (256, 144), "Q6_K": (256, 210)}
MAX_HEADER = 256 << 20


class VLPackError(Exception):
    """Raised with the rule name of VLPACK.md section 7 as ``rule``."""

    def __init__(self, rule, detail):
        super().__init__(f"{rule}: {detail}")
        self.rule = rule


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise VLPackError("invalidHeaderJSON", "duplicate key in header")
    return dict(pairs)


def _byte_count(dtype, shape):
    n = 1
    for d in shape:
        n *= d
    if dtype in PLAIN:
        return n * PLAIN[dtype][1]
    per, size = BLOCKS[dtype]
    if not shape or shape[-1] % per:
        return None
    return n // per * size


class VLPackFile:
    def __init__(self, path):
        self.path = path
        with builtins.open(path, "rb") as fh:
            size = fh.seek(0, 2)
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        m = self._map
        if size < 64:
            raise VLPackError("truncated", f"{size} bytes, the preamble needs 64")
        magic, version, flags, hlen, hcrc, align, doff, dlen, reserved, pcrc = PREAMBLE.unpack_from(m, 0)
        if magic != MAGIC:
            raise VLPackError("badMagic", repr(magic))
        if version != 1:
            raise VLPackError("unsupportedVersion", str(version))
        if zlib.crc32(m[0:60]) != pcrc:
            raise VLPackError("preambleChecksumMismatch", "bytes 0..<60")
        if flags:
            raise VLPackError("unsupportedFlags", hex(flags))
        if reserved != bytes(12):
            raise VLPackError("nonZeroReserved", "bytes 48..<60")
        if align not in (64, 4096):
            raise VLPackError("badAlignment", str(align))
        if hlen > MAX_HEADER:
            raise VLPackError("headerTooLarge", str(hlen))
        expected = (64 + hlen + align - 1) // align * align
        if doff != expected:
            raise VLPackError("dataOffsetMismatch", f"{doff} != {expected}")
        if size < doff + dlen:
            raise VLPackError("truncated", f"{size} bytes, layout needs {doff + dlen}")
        if size > doff + dlen:
            raise VLPackError("trailingBytes", f"{size} bytes, layout ends at {doff + dlen}")
        if m[64 + hlen:doff] != b" " * (doff - 64 - hlen):
            raise VLPackError("badHeaderPadding", "header padding is not all spaces")
        raw = m[64:64 + hlen]
        if zlib.crc32(raw) != hcrc:
            raise VLPackError("headerChecksumMismatch", "JSON bytes")
        try:
            header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates,
                                parse_constant=lambda c: _raise("invalidHeaderJSON", c))
        except (UnicodeDecodeError, ValueError) as e:
            raise VLPackError("invalidHeaderJSON", str(e)) from None
        if not isinstance(header, dict) or header.get("format") != "vlpack" or type(header.get("version")) is not int \
                or header["version"] != 1:
            raise VLPackError("invalidHeader", "format/version")
        for part in ("converter", "components", "tokenizer", "provenance", "metadata"):
            if not isinstance(header.setdefault(part, {}), dict):
                raise VLPackError("invalidHeader", f"{part} must be an object")
        self.alignment, self.data_offset, self.data_length = align, doff, dlen
        self.header = header
        self.tensors = self._check_table(header.get("tensors"))
        self._by_name = {t["name"]: t for t in self.tensors}
        ref = header["tokenizer"].get("model_tensor")
        if ref is not None and (not isinstance(ref, str) or self._by_name.get(ref, {}).get("dtype") != "U8"):
            raise VLPackError("badTensorReference", f"tokenizer.model_tensor {ref!r}")

    def _check_table(self, rows):
        if not isinstance(rows, list):
            raise VLPackError("invalidHeader", "tensors must be an array")
        names, prev_end, prev = set(), 0, None
        for i, t in enumerate(rows):
            if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not t["name"]:
                raise VLPackError("invalidHeader", f"tensors[{i}].name")
            name, dtype, shape = t["name"], t.get("dtype"), t.get("shape")
            if dtype not in PLAIN and dtype not in BLOCKS:
                raise VLPackError("unknownDType", f"{name}: {dtype!r}")
            if not isinstance(shape, list) or not all(type(d) is int for d in shape):
                raise VLPackError("invalidHeader", f"tensors[{i}].shape")
            count = None if any(d < 0 for d in shape) else _byte_count(dtype, shape)
            if count is None or count > 2**63 - 1:
                raise VLPackError("invalidShape", f"{name}: {shape}")
            off, nb = t.get("offset"), t.get("nbytes")
            if type(off) is not int or type(nb) is not int or off < 0 or nb < 0:
                raise VLPackError("invalidHeader", f"tensors[{i}].offset/nbytes")
            if nb != count:
                raise VLPackError("sizeMismatch", f"{name}: {nb} != {count}")
            if off % self.alignment:
                raise VLPackError("misalignedTensor", f"{name}: {off}")
            if off + nb > self.data_length:
                raise VLPackError("tensorOutOfBounds", name)
            if "source" in t and not (isinstance(t["source"], dict)
                                      and all(isinstance(t["source"].get(k), str) for k in ("file", "name", "dtype"))):
                raise VLPackError("invalidHeader", f"tensors[{i}].source")
            if not isinstance(t.get("quant", {}), dict):
                raise VLPackError("invalidHeader", f"tensors[{i}].quant")
            crc = t.get("crc32")
            if not isinstance(crc, str) or len(crc) != 8 or any(c not in "0123456789abcdef" for c in crc):
                raise VLPackError("invalidHeader", f"tensors[{i}].crc32")
            if name in names:
                raise VLPackError("duplicateTensor", name)
            if off < prev_end:
                raise VLPackError("overlappingTensors", f"{name} starts before the end of {prev}")
            names.add(name)
            prev_end, prev = off + nb, name
        return rows

    def raw(self, name):
        """The tensor's bytes as a 1-D uint8 array viewing the mapping (no copy)."""
        t = self._by_name[name]
        start = self.data_offset + t["offset"]
        return np.frombuffer(self._map, dtype=np.uint8, count=t["nbytes"], offset=start) if t["nbytes"] else np.zeros(0, np.uint8)

    def load(self, name):
        """Plain dtypes: an array of the tensor's shape (BF16 as uint16, F8 as uint8 bit patterns).
        Block-quantized dtypes: the raw blocks, shape (blocks, bytes per block), uint8."""
        t = self._by_name[name]
        raw = self.raw(name)
        if t["dtype"] in BLOCKS:
            return raw.reshape(-1, BLOCKS[t["dtype"]][1])
        return raw.view(np.dtype(PLAIN[t["dtype"]][0])).reshape(t["shape"])

    def verify(self):
        """[(tensor name or None, problem)] for every bad CRC and every non-zero padding run."""
        problems, cursor = [], 0
        for t in self.tensors:
            if t["offset"] > cursor and self._nonzero(cursor, t["offset"]):
                problems.append((None, f"nonZeroPadding at data offset {cursor}"))
            if zlib.crc32(self.raw(t["name"])) != int(t["crc32"], 16):
                problems.append((t["name"], "tensorChecksumMismatch"))
            cursor = max(cursor, t["offset"] + t["nbytes"])
        if self.data_length > cursor and self._nonzero(cursor, self.data_length):
            problems.append((None, f"nonZeroPadding at data offset {cursor}"))
        return problems

    def _nonzero(self, start, end):
        return any(self._map[self.data_offset + start:self.data_offset + end])


def _raise(rule, detail):
    raise VLPackError(rule, detail)


def open(path):  # noqa: A001 - the module's entry point mirrors the built-in on purpose
    return VLPackFile(path)


def main(argv):
    import argparse
    import hashlib
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--json", action="store_true", help="with --list: one JSON array")
    ap.add_argument("--hash", action="store_true", help="with --list: SHA-256 of each tensor's bytes")
    ap.add_argument("--verify", action="store_true")
    ap.add_argument("--dump", metavar="NAME")
    args = ap.parse_args(argv)
    try:
        f = open(args.file)
    except VLPackError as e:
        print(f"vlpack_reader: {args.file}: {e}", file=sys.stderr)
        return 2
    if args.verify:
        problems = f.verify()
        for name, what in problems:
            print(f"{args.file}: {what}" + (f": tensor {name!r}" if name else ""))
        print(f"{len(f.tensors)} tensors, {len(problems)} problems")
        return 1 if problems else 0
    if args.dump:
        np.set_printoptions(threshold=64)
        print(f.load(args.dump))
        return 0
    rows = []
    for t in f.tensors:
        row = {"name": t["name"], "dtype": t["dtype"], "shape": t["shape"], "nbytes": t["nbytes"]}
        if args.hash:
            row["sha256"] = hashlib.sha256(f.raw(t["name"])).hexdigest()
        rows.append(row)
    if args.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print("\t".join([r["name"], r["dtype"], str(r["shape"]), str(r["nbytes"])] + ([r["sha256"]] if args.hash else [])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
