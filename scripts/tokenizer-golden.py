#!/usr/bin/env python3
"""tokenizer-golden.py: writes texts and tiktoken's token ids for them, for the Swift tokenizer's tests.

    tokenizer-golden.py OUTPUT [--vocabularies DIR] [--seed N]

Builds a deterministic corpus (the same bytes for the same seed and tiktoken version) of a few
thousand texts aimed at the split patterns' corners: short strings over one character of each
class the patterns distinguish, every scalar of planes 0 and 1 in context, emoji ZWJ sequences
and flags, combining marks, CRLF and lone CR, CJK and Thai, right-to-left and zero-width
characters, long runs of spaces, tabs, digits and punctuation mixed with newlines, source code,
JSON, URLs, contractions in mixed case, random scalars from every plane, and a few texts up to
1 MB. Encodes each with
tiktoken's encode_ordinary for cl100k_base and o200k_base, offline: the vocabularies are copied
from DIR (default Sources/Tokenizer/Vocabularies) into a private TIKTOKEN_CACHE_DIR under the
names tiktoken looks for (the SHA-1 of their download URL), so nothing is downloaded.

OUTPUT format (little-endian): b"TOKGOLD1", u32 text count, u32 encoding count E, then E times
(u8 name length, name); then per text: u32 byte length, UTF-8 bytes, then per encoding u32 id
count and the u32 ids; the count 0xFFFFFFFF (no ids follow) when tiktoken itself failed on the
text (fancy-regex overflows its backtracking stack on 1 MB of spaces with o200k_base).
"""

import argparse
import os
import random
import shutil
import struct
import sys
import tempfile

ENCODINGS = ["cl100k_base", "o200k_base"]
# sha1 of https://openaipublic.blob.core.windows.net/encodings/<name>.tiktoken
CACHE_NAMES = {
    "cl100k_base": "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
    "o200k_base": "fb374d419588a4632f3f557e76b4b70aebbca790",
}


def random_scalar(rng):
    """A random Unicode scalar, weighted towards the planes and blocks that occur in text."""
    r = rng.random()
    if r < 0.25:
        c = rng.randrange(0x20, 0x7F)
    elif r < 0.35:
        c = rng.choice([0x09, 0x0A, 0x0D, 0x20, 0x20, 0xA0, 0x85, 0x2028, 0x2029, 0x3000, 0x200B, 0x200D, 0xFEFF,
                        0x1680, 0x2000, 0x200A, 0x202F, 0x205F, 0x180E, 0x0B, 0x0C, 0x1C, 0x1F])
    elif r < 0.65:
        c = rng.randrange(0x80, 0x10000)
    elif r < 0.85:
        c = rng.randrange(0x10000, 0x20000)
    elif r < 0.92:
        c = rng.randrange(0x20000, 0x40000)
    else:
        c = rng.randrange(0x40000, 0x110000)
    if 0xD800 <= c < 0xE000:
        c = 0xFFFD
    return chr(c)


WORDS = ["the", "The", "THE", "don't", "DON'T", "it's", "It'S", "we'll", "We'Ll", "they've", "I'm", "I'M", "you'd",
         "she'S", "o'clock", "rock'n'roll", "l'été", "Grüße", "naïve", "Ωmega", "ΣΊΣΥΦΟΣ", "straße", "ǅemal", "ﬁne",
         "ſ", "'ſ", "'s", "'S", "'t", "'re", "'RE", "'ve", "'Ve", "'m", "'ll", "'LL", "'lL", "'d", "'D", "''", "'x"]

SAMPLES = [
    "Hello, world! How's it going? I'm fine — thanks.\n",
    "e\u0301t\u0301e\u0301 cafe\u0301 n\u0303 a\u0308\u0304 \u0301leading mark \u20dd\u20e3 x\u0489",
    "👨‍👩‍👧‍👦 👩🏽‍💻 🏳️‍🌈 🇯🇵🇺🇸🇩🇪 ❤️‍🔥 1️⃣ #️⃣ 🧑🏿‍🦯‍➡️",
    "line one\r\nline two\r\n\r\nthree\rfour\r\r\n\n\r five\t\r\n",
    "日本語のテキストです。漢字、ひらがな、カタカナ。中文文本：你好，世界！한국어 문장입니다.",
    "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ สวัสดีครับ",
    "שלום עולם \u200f مرحبا بالعالم \u200e العربية 123 \u202bembedded\u202c",
    "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom \u2060word joiner\u00ad soft hyphen",
    "def f(x):\n    return x ** 2  # square\n\nclass A:\n\tpass\n",
    "fn main() { let v: Vec<u8> = vec![1, 2, 3]; println!(\"{:?}\", v); }\n",
    "func f() async throws -> [UInt32] { try await x.map { $0 &+ 1 } }\n",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }\n",
    "SELECT id, name FROM users WHERE created_at >= '2024-01-01' AND NOT deleted;\n",
    "const x = async () => { await fetch(`https://example.com/api?q=${q}&n=10`); };\n",
    '{"id": 12345678901234567890, "name": "Ann", "tags": ["a","b"], "nested": {"x": -1.5e-10, "ok": true}}',
    "https://example.com/path/to/page.html?query=1&other=two#frag http://a.b/c//d///e",
    "$ ls -la /usr/local/bin//\n/etc/passwd\n//comment\n/*block*/\n\n/\n//\n",
    "Ünïcödé ÀÉÎÕÜ àéîõü ǅ ǈ ǋ ǲ ᾈ ᾉ ﬀ ﬃ ΆΈΉ ĲĳŒœ ẞß İı",
    "ℕ ℤ ℚ ℝ ½ ¾ ² ³ ⁴ ① ② Ⅻ ⅻ 〇 ٠١٢٣ ०१२ ௧௨ 𝟘𝟙𝟚 𐌠",
    "Mixed123abc456DEF7890ghi 1,234,567.89 3.14159 0x1F 1e10 2024-06-19T12:34:56Z",
    "   leading spaces and trailing   ",
    "\n\n\n",
    " ",
    "",
    "<|endoftext|> <|fim_prefix|> <|endofprompt|> <|im_start|>",
    "a" * 300,
    "Aa" * 150,
    "ab" * 200 + "AB" * 200,
]


def build_corpus(seed):
    rng = random.Random(seed)
    texts = list(SAMPLES)
    # Contractions in every case, in and out of words.
    for _ in range(300):
        parts = [rng.choice(WORDS) for _ in range(rng.randrange(1, 8))]
        seps = [rng.choice([" ", "", "\n", "  ", "'", "\t", "-", "’"]) for _ in parts]
        texts.append("".join(p + s for p, s in zip(parts, seps)))
    # Runs of spaces, tabs, digits, punctuation and newlines, mixed.
    pieces = [" ", "  ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "0", "12", "345", "!", "...", "?!", "/", "//",
              "a", "B", "é", "\u0301", "字", "😀", "'", "'s", "-", "_", "\\", "\f", "\v", "\u2028", "\u0085"]
    for _ in range(800):
        n = rng.randrange(1, 40)
        texts.append("".join(rng.choice(pieces) * rng.randrange(1, 6) for _ in range(n)))
    # Random scalars from all planes.
    for _ in range(1200):
        texts.append("".join(random_scalar(rng) for _ in range(rng.randrange(1, 60))))
    # Random scalars mixed with words and samples.
    for _ in range(600):
        items = []
        for _ in range(rng.randrange(1, 12)):
            k = rng.random()
            if k < 0.3:
                items.append(rng.choice(WORDS))
            elif k < 0.5:
                s = rng.choice(SAMPLES)
                a = rng.randrange(0, max(1, len(s)))
                items.append(s[a:a + rng.randrange(1, 40)])
            elif k < 0.8:
                items.append("".join(random_scalar(rng) for _ in range(rng.randrange(1, 6))))
            else:
                items.append(rng.choice(pieces) * rng.randrange(1, 20))
        texts.append("".join(items))
    # Short strings over one representative of each class the patterns tell apart (Lu, Ll, Lt,
    # Lm, Lo, Mn, Me, Mc, Nd, Nl, No, kinds of white space, CR, LF, the apostrophe and the
    # contraction letters in both cases, long s, punctuation, /, emoji, ZWJ): the alternatives'
    # backtracking corners, densely.
    soup = ["A", "Z", "a", "z", "ǅ", "ʰ", "字", "\u0301", "\u20dd", "\u0903", "1", "٣", "½", "Ⅻ", " ", "  ", "\t",
            "\u00a0", "\u3000", "\u2028", "\u0085", "\r", "\n", "\r\n", "'", "s", "S", "ſ", "t", "T", "l", "L", "e",
            "E", "v", "r", "R", "d", "m", "M", "!", "/", "//", "😀", "-", "\u200d", "\ufeff", "é", "Ω", "ß"]
    for _ in range(2000):
        texts.append("".join(rng.choice(soup) for _ in range(rng.randrange(1, 25))))
    # Whole samples concatenated.
    for _ in range(200):
        texts.append("".join(rng.sample(SAMPLES, rng.randrange(2, 6))))
    # Every scalar of planes 0 and 1 and of the newest CJK blocks, each in a few contexts that
    # tell letters (upper and lower case), marks, numbers, white space and the rest apart: a
    # Unicode table of another version shows here (Swift 6.3's own is 17.0, tiktoken's 16.0).
    sweep = [c for c in list(range(0x20, 0x20000)) + list(range(0x2A6C0, 0x2A800)) + list(range(0x2EBE0, 0x2EF00))
             + list(range(0x31340, 0x33500)) + list(range(0xE0000, 0xE0200)) if not 0xD800 <= c < 0xE000]
    for i in range(0, len(sweep), 512):
        texts.append("".join("a%sA %s1%s's\n" % (chr(c), chr(c), chr(c)) for c in sweep[i:i + 512]))
    # Long texts: a few up to 1 MB.
    texts.append(" " * 1_000_000)
    texts.append(" " * 700_000 + "x")
    texts.append("7" * 1_000_000)
    texts.append("a" * 1_000_000)
    texts.append("\n" * 200_000 + " " * 200_000 + "x")
    texts.append("!" * 300_000 + "\r\n" * 1000)
    texts.append("ab" * 250_000)
    texts.append("".join(random_scalar(rng) for _ in range(250_000)))
    texts.append("".join(rng.choice(SAMPLES) for _ in range(3000)))
    return texts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--vocabularies",
                        default=os.path.join(os.path.dirname(__file__), "..", "Sources", "Tokenizer", "Vocabularies"))
    parser.add_argument("--seed", type=int, default=20260619)
    args = parser.parse_args()

    cache = tempfile.mkdtemp(prefix="tiktoken-cache-")
    try:
        for name, cache_name in CACHE_NAMES.items():
            shutil.copyfile(os.path.join(args.vocabularies, name + ".tiktoken"), os.path.join(cache, cache_name))
        os.environ["TIKTOKEN_CACHE_DIR"] = cache
        os.environ.setdefault("RUST_BACKTRACE", "0")  # a panic is reported in one line below
        import tiktoken

        encodings = [tiktoken.get_encoding(name) for name in ENCODINGS]
        texts = build_corpus(args.seed)
        with open(args.output + ".tmp", "wb") as out:
            out.write(b"TOKGOLD1")
            out.write(struct.pack("<II", len(texts), len(ENCODINGS)))
            for name in ENCODINGS:
                out.write(struct.pack("<B", len(name)) + name.encode())
            failures = 0
            for index, text in enumerate(texts):
                data = text.encode("utf-8")
                out.write(struct.pack("<I", len(data)) + data)
                for encoding in encodings:
                    try:
                        ids = encoding.encode_ordinary(text)
                    except BaseException as error:  # pyo3's PanicException derives from BaseException
                        # fancy-regex gives up on some huge inputs (o200k_base, 1 MB of spaces:
                        # StackOverflow): no expectation then, marked by the count 0xFFFFFFFF.
                        print("tokenizer-golden: tiktoken %s failed on text %d (%d bytes): %s" % (
                            encoding.name, index, len(data), type(error).__name__), file=sys.stderr)
                        failures += 1
                        out.write(struct.pack("<I", 0xFFFFFFFF))
                        continue
                    out.write(struct.pack("<I", len(ids)))
                    out.write(struct.pack("<%dI" % len(ids), *ids))
        os.replace(args.output + ".tmp", args.output)
        print("tokenizer-golden: %d texts (%d MB), tiktoken %s, %s, %d without expectation -> %s" % (
            len(texts), sum(len(t.encode()) for t in texts) // 1_000_000, tiktoken.__version__,
            ", ".join(ENCODINGS), failures, args.output), file=sys.stderr)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
