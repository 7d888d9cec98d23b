"""Tokenizer fixtures: two trained SentencePiece BPE models and the ids the `sentencepiece` package
gives for them and for the sample LLaMA tokenizer. Every expected value here comes from
sentencepiece, never from VLPack.

    /tmp/venv/bin/python Fixtures/tokenizer/generate.py

Writes, next to this file:
  bpe32k.model    32000 pieces, BPE, byte_fallback, split_digits, identity normalization, the LLaMA
                  training options, trained on a generated multilingual corpus (fixed seed, one thread)
  options.model   a small BPE model with the defaults LLaMA turns off (remove_extra_whitespaces), no byte
                  fallback (unknown characters become <unk>), user-defined and control symbols
  sample-unused.model  the sample LLaMA tokenizer with some pieces its cases produce marked UNUSED
  cases.json      {"models": [{"name", "path", "spec" (normalizer/trainer fields), "cases": [{"text", "ids", "pieces", "decoded"}] (the listed texts, then
                   300 random ones over RANDOM_ALPHABET), "byteCases": [{"hex", "ids"}],
                   "pieceRoundTrip": {"failures": {id: ids of encode(decode([id]))}},
                   "scalars": {"batch": N, "exceptions": {scalar: decode(encode(chr(scalar)))},
                               "batchSHA256": [sha256 of the batch's ids joined by ","]}}]}
"""
import hashlib
import io
import json
import random
from pathlib import Path

import sentencepiece as spm

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCALAR_BATCH = 1024


def words(rng, alphabet, lo, hi, n):
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi))) for _ in range(n)]


def corpus_lines(seed=1234, lines=60000):
    """A deterministic multilingual corpus: syllable words per script (a Zipf-like choice among a
    fixed lexicon, so BPE finds real merges), CJK and emoji runs, digits, code and punctuation."""
    rng = random.Random(seed)
    r = lambda a, b: [chr(c) for c in range(a, b + 1)]
    latin = list("abcdefghijklmnopqrstuvwxyz") + list("éèêàçñöüäßøåłśžčř")
    scripts = {
        "latin": (latin, 2, 9), "cyrillic": (r(0x430, 0x44F), 2, 9), "greek": (r(0x3B1, 0x3C9), 2, 8),
        "arabic": (r(0x627, 0x64A), 2, 7), "hebrew": (r(0x5D0, 0x5EA), 2, 6), "devanagari": (r(0x915, 0x939) + r(0x93E, 0x94D), 2, 6),
        "thai": (r(0xE01, 0xE2E), 2, 7), "hangul": (r(0xAC00, 0xAC00 + 800), 1, 4), "kana": (r(0x3041, 0x3096) + r(0x30A1, 0x30FA), 2, 6),
        "armenian": (r(0x561, 0x586), 2, 8), "georgian": (r(0x10D0, 0x10F0), 2, 8), "tamil": (r(0xB95, 0xBB9), 2, 6),
    }
    lexicon = {k: words(rng, a, lo, hi, 3000) for k, (a, lo, hi) in scripts.items()}
    cjk = r(0x4E00, 0x4E00 + 4000)
    emoji = r(0x1F600, 0x1F64F) + r(0x1F300, 0x1F3FF) + ["👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽"]
    code = ["def f(x):", "return x + 1", "for (int i = 0; i < n; ++i) {", "}", "if x == None:", "import numpy as np",
            "let y = try body()", "console.log(\"hi\");", "<div class=\"a\">", "</div>", "#include <stdio.h>", "x[i] = y[j] * 2;"]
    out = []
    for _ in range(lines):
        kind = rng.random()
        if kind < 0.08:
            out.append("".join(rng.choice(cjk[: rng.choice([300, 1500, 4000])]) for _ in range(rng.randint(5, 40))))
        elif kind < 0.12:
            out.append("    " * rng.randint(0, 2) + rng.choice(code) + " " + rng.choice(code))
        else:
            lex = lexicon[rng.choice(list(lexicon))]
            ws = [lex[min(int(rng.paretovariate(1.1)) - 1, len(lex) - 1)] for _ in range(rng.randint(3, 15))]
            if rng.random() < 0.2:
                ws.insert(rng.randrange(len(ws)), str(rng.randint(0, 99999)))
            if rng.random() < 0.1:
                ws.insert(rng.randrange(len(ws)), rng.choice(emoji))
            out.append(" ".join(ws) + rng.choice([".", ",", "!", "?", ":", ""]))
    return out


def train(lines, **options):
    model = io.BytesIO()  # in memory: no temporary paths end up in the trainer_spec
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model, model_type="bpe", num_threads=1,
                                   shuffle_input_sentence=False, input_sentence_size=0, minloglevel=2, **options)
    return model.getvalue()


CASES = [
    "", " ", "  ", "\t", "\n", " \n ", "a", " a", "a ", "  leading", "trailing  ", "Hello world", "Hello  world",
    "Hello\tworld\n\nagain", "tabs\t\t\tand\r\nCRLF", "multiple     spaces    inside", "   \t \n  mixed runs  \t",
    "The quick brown fox jumps over the lazy dog.", "0", "42", "3.14159", "1234567890", "phone: +1 (555) 010-9999", "٣٤٥ ١٢",
    "Grüße aus München, ça va? Ñandú año.", "Привет, мир! Как дела?", "Γειά σου Κόσμε", "مرحبا بالعالم", "שלום עולם",
    "नमस्ते दुनिया", "স্বাগতম", "வணக்கம்", "ສະບາຍດີ", "สวัสดีชาวโลก", "Բարեւ աշխարհ", "გამარჯობა", "ሰላም ለዓለም", "ᚠᚢᚦᚨᚱᚲ",
    "你好，世界！", "日本語のテキストとカタカナ", "안녕하세요 세계", "𠀀𠀁𪚥 (astral CJK)", "ꦲꦏ꧀ꦱꦫ", "ᠮᠣᠩᠭᠣᠯ", "ᏣᎳᎩ",
    "emoji 😀 🙈 🎉", "family 👨‍👩‍👧‍👦 and 👩‍💻 coder", "flags 🇫🇷🇯🇵 🏳️‍🌈", "skin 👍🏽 👋🏿", "keycap 1️⃣ #️⃣",
    "combining e\u0301 a\u0308 n\u0303", "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇", "zero\u200bwidth\u200cjoin\u200dx", "bidi \u202eevil\u202c text", "\ufeffBOM",
    "\u2581 literal lower block \u2581\u2581", "\u2584\u2581\u0d81 (a combining mark after \u2581: fuzz finding)", "▁▁▁", "nbsp\u00a0here", "ideographic\u3000space", "\ufffd replacement \ufffd\ufffd",
    "control \x00 \x01 \x1f \x7f chars", "\u0085next line\u2028sep\u2029para", "max \U0010FFFF and private \ue000",
    "noncharacters \ufdd0 \uffff \U0001FFFE", "</s>", "<s> hello </s>", "<unk>", "<0x41>", "<pad>",
    "###", "###Human: Hello###Assistant:", "###Human: <Video><ImageHere></Video> What happens?###Assistant:",
    "[INST] <<SYS>>\n\n<</SYS>>\n\nDescribe the video. [/INST]", "[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi [/INST] Hello </s><s>[INST] more [/INST]",
    "Close your eyes, open your ears and you imagine only based on the sound that: <ImageHere>." + " " * 17 + "Close your ears",
    "def foo(bar):\n    return bar * 2  # comment\n", "for (int i = 0; i < 10; ++i) { printf(\"%d\\n\", i); }",
    "{\"key\": [1, 2.5, null, true], \"s\": \"\\u00e9\"}", "SELECT * FROM t WHERE a <> 'x';", "https://example.com/path?q=1&r=%20",
    "C:\\Users\\name\\file.txt", "~!@#$%^&*()_+-=[]{}|;':\",./<>?`", "a" * 300, "ab" * 200, " " * 100, "1" * 50,
    "mixed English и русский 和中文 و عربي", "ﷺ ﷽ ﬁ ﬂ Ⅻ ① ㎏ ｆｕｌｌｗｉｄｔｈ", "ⅰⅱⅲ ℌ ℍ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙",
]

# Extra cases for the options model: its user-defined and control symbols, whitespace runs it removes.
OPTIONS_CASES = ["<ImageHere>", "a<ImageHere>b", "  <AudioHere>  x  ", "<Image<ImageHere>Here>", "[INST] hi [/INST]",
                 "<ctrl> stays text", "x   y\t\tz", "unknown ✨ chars ✨✨ here", "◌ ✨ 中"]


# Raw byte inputs (sentencepiece's C++ API takes bytes): invalid UTF-8 is read byte by byte as U+FFFD.
BYTE_CASES = [b"\xff", b"a\xc3", b"\xc3", b"\xed\xa0\x80x", b"\xef\xbf\xbd", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xe0\x80\x80",
              b"ok \x80\x80 ok", b"\xf0\x9f\x98", b"\xf0\x9f\x98\x80\xf0", b" \xfe \xff "]


# Random short texts over an alphabet of the hard parts: whitespace kinds, ▁, pieces of user-defined and
# special symbols, several scripts, ZWJ, emoji, digits (fixed seed).
RANDOM_ALPHABET = [" ", " ", "  ", "\t", "\n", "\u2581", "\u00a0", "a", "e", "th", "in", "ing", "ab", "Z", "é", "ß", "и", "ж", "中", "文",
                   "の", "한", "ا", "ש", "ह", "ि", "ก", "😀", "\u200d", "👩", "\ufe0f", "0", "1", "42", "<", ">", "/", "s", "</s>", "<s>",
                   "<ImageHere>", "<Image", "Here>", "[INST]", "[/", "INST]", "<ctrl>", "#", "###", "\ufffd", "\U0010ffff", "\x00", "✨"]


def random_texts(seed=5, count=300):
    rng = random.Random(seed)
    return ["".join(rng.choice(RANDOM_ALPHABET) for _ in range(rng.randint(1, 24))) for _ in range(count)]


def byte_cases(sp):
    return [{"hex": b.hex(), "ids": sp.encode(b)} for b in BYTE_CASES]


def model_cases(sp, texts):
    cases = []
    for t in texts:
        ids = sp.encode(t)
        cases.append({"text": t, "ids": ids, "pieces": [sp.id_to_piece(i) for i in ids], "decoded": sp.decode(ids)})
    return cases


def piece_round_trip(sp):
    failures = {}
    for i in range(sp.get_piece_size()):
        ids = sp.encode(sp.decode([i]))
        if ids != [i]:
            failures[str(i)] = ids
    return {"failures": failures}


def scalars(sp):
    """Every scalar value alone (its exceptions: decode(encode(c)) != c, with what sentencepiece gives),
    then every other scalar in batches of SCALAR_BATCH consecutive ones (asserted to round-trip), each
    batch's ids hashed."""
    all_scalars = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    exceptions = {}
    for c in all_scalars:
        got = sp.decode(sp.encode(chr(c)))
        if got != chr(c):
            exceptions[str(c)] = got
    kept = [c for c in all_scalars if str(c) not in exceptions]
    hashes = []
    for start in range(0, len(kept), SCALAR_BATCH):
        text = "".join(map(chr, kept[start:start + SCALAR_BATCH]))
        ids = sp.encode(text)
        assert sp.decode(ids) == text, f"batch at {start} does not round-trip"
        hashes.append(hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest())
    return {"batch": SCALAR_BATCH, "exceptions": exceptions, "batchSHA256": hashes}


def with_unused_pieces(model_bytes, texts):
    """The model with every third multi-character normal piece that encoding `texts` produces marked
    UNUSED: sentencepiece then never emits them (it splits them back into what they were merged from)."""
    from sentencepiece import sentencepiece_model_pb2 as pb
    sp = spm.SentencePieceProcessor(model_proto=model_bytes)
    used = sorted({i for t in texts for i in sp.encode(t)})
    proto = pb.ModelProto()
    proto.ParseFromString(model_bytes)
    normal = [i for i in used if proto.pieces[i].type == pb.ModelProto.SentencePiece.NORMAL and len(proto.pieces[i].piece) > 1]
    for i in normal[::3]:
        proto.pieces[i].type = pb.ModelProto.SentencePiece.UNUSED
    return proto.SerializeToString()


def spec(model_bytes):
    """The normalizer_spec and trainer_spec fields that change encoding, as sentencepiece's own proto reads them."""
    from sentencepiece import sentencepiece_model_pb2 as pb
    m = pb.ModelProto()
    m.ParseFromString(model_bytes)
    n, t = m.normalizer_spec, m.trainer_spec
    return {"name": n.name, "charsmapBytes": len(n.precompiled_charsmap), "addDummyPrefix": n.add_dummy_prefix,
            "removeExtraWhitespaces": n.remove_extra_whitespaces, "escapeWhitespaces": n.escape_whitespaces,
            "hasDenormalizer": m.HasField("denormalizer_spec"), "modelType": t.model_type, "byteFallback": t.byte_fallback,
            "splitDigits": t.split_digits, "unkSurface": t.unk_surface}


def main():
    lines = corpus_lines()
    (HERE / "bpe32k.model").write_bytes(train(
        lines, vocab_size=32000, character_coverage=0.9995, byte_fallback=True, split_digits=True,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, add_dummy_prefix=True, remove_extra_whitespaces=False,
        normalization_rule_name="identity", allow_whitespace_only_pieces=True))
    (HERE / "options.model").write_bytes(train(
        [t for t in lines if all(ord(c) < 0x250 for c in t)][:4000], vocab_size=600, character_coverage=0.98, normalization_rule_name="identity",
        user_defined_symbols=["<ImageHere>", "<AudioHere>", "[INST]", "[/INST]"], control_symbols=["<ctrl>"]))
    (HERE / "sample-unused.model").write_bytes(with_unused_pieces((ROOT / "samples/llama-hf/tokenizer.model").read_bytes(), CASES))
    models = []
    for name, path, extra, full in [("sample", "samples/llama-hf/tokenizer.model", [], True),
                                    ("bpe32k", "tokenizer/bpe32k.model", [], True),
                                    ("options", "tokenizer/options.model", OPTIONS_CASES, False),
                                    ("sampleUnused", "tokenizer/sample-unused.model", [], False)]:
        sp = spm.SentencePieceProcessor(model_file=str(ROOT / path))
        entry = {"name": name, "path": path, "spec": spec((ROOT / path).read_bytes()), "cases": model_cases(sp, CASES + extra + random_texts()), "byteCases": byte_cases(sp),
                 "pieceRoundTrip": piece_round_trip(sp)}
        if full:
            entry["scalars"] = scalars(sp)
        models.append(entry)
        print(name, sp.get_piece_size(), "pieces;", len(entry["pieceRoundTrip"]["failures"]), "piece round-trip failures;",
              len(entry.get("scalars", {}).get("exceptions", {})), "scalar exceptions")
    (HERE / "cases.json").write_text(json.dumps({"sentencepiece": spm.__version__, "models": models}, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
