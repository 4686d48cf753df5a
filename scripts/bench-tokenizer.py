#!/usr/bin/env python3
"""bench-tokenizer.py: the Swift tokenizer against tiktoken, side by side, on the same texts.

    bench-tokenizer.py --bench-binary PATH [--encodings LIST] [--seconds S] [--vocabularies DIR]

Builds a deterministic mixed corpus of a few MB, cut into message-sized texts: English prose
(this repository's README), source code (its Swift, Python and shell sources, SQL schema and
OpenAPI document), CJK, Thai and Arabic sentences, and chat lines with emoji. Writes it as a
TOKTEXT1 file, times tiktoken's encode_ordinary over every text (one thread, best of the
repetitions that fit in --seconds, at least 3), runs `research-store-bench tokenize` on the same
file for each encoding, checks both produced the same number of tokens, and prints one table:
MB/s of each, the ratio, the Swift tokenizer's vocabulary load time and its resident set before
and after loading. tiktoken reads the vendored vocabularies from a private cache directory
(the names are the SHA-1 of their download URLs), so nothing is downloaded.
"""

import argparse
import glob
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CACHE_NAMES = {
    "cl100k_base": "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
    "o200k_base": "fb374d419588a4632f3f557e76b4b70aebbca790",
}

CJK = ["今天天气很好，我们去公园散步吧。", "这个数据库服务需要在上下文预算内计算令牌数量。", "東京の桜は四月に満開になります。",
       "このテキストはトークナイザーの速度を測るためのものです。", "한국어 문장도 포함되어 있습니다. 감사합니다!",
       "机器学习模型的输入被切分成子词单元。", "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ", "مرحبا بالعالم، هذا نص عربي للاختبار."]
CHAT = ["ok 👍", "lol 😂😂 that's great", "see you tomorrow! 🎉🎉", "can't wait 🚀 #launch", "❤️ thanks so much!!",
        "hmm… not sure 🤔", "👨‍👩‍👧‍👦 family trip 🇯🇵🇫🇷", "done ✅ — pushed to main", "it's 3:45pm, running late 🏃‍♀️💨"]


def corpus(seed=42):
    """Texts of a few hundred bytes to a few KB, about 4 MB in all."""
    rng = random.Random(seed)
    sources = []
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        prose = f.read()
    sources.append(("prose", prose))
    code = []
    for pattern in ["Sources/**/*.swift", "Tests/**/*.swift", "scripts/*", "*.sql", "openapi.yaml", "migrations/*"]:
        for path in sorted(glob.glob(os.path.join(REPO, pattern), recursive=True)):
            if os.path.isfile(path) and "Vocabularies" not in path and "ScalarClass+UCD" not in path:
                try:
                    with open(path, encoding="utf-8") as f:
                        code.append(f.read())
                except UnicodeDecodeError:
                    pass
    sources.append(("code", "\n".join(code)))
    texts = []
    for name, text in sources:
        i = 0
        while i < len(text):
            n = rng.randrange(200, 4000)
            texts.append(text[i:i + n])
            i += n
    for _ in range(1500):
        texts.append("".join(rng.choice(CJK) for _ in range(rng.randrange(3, 30))))
    for _ in range(3000):
        texts.append(" ".join(rng.choice(CHAT) for _ in range(rng.randrange(1, 12))))
    # About 4 MB: repeat the whole set, as a server sees the same kinds of text again.
    total = sum(len(t.encode()) for t in texts)
    reps = max(1, 4_000_000 // max(total, 1))
    texts = texts * reps
    rng.shuffle(texts)
    return texts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-binary", required=True)
    parser.add_argument("--encodings", default="o200k_base,cl100k_base")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--vocabularies", default=os.path.join(REPO, "Sources", "Tokenizer", "Vocabularies"))
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="bench-tokenizer-")
    try:
        for name, cache_name in CACHE_NAMES.items():
            shutil.copyfile(os.path.join(args.vocabularies, name + ".tiktoken"), os.path.join(work, cache_name))
        os.environ["TIKTOKEN_CACHE_DIR"] = work
        import tiktoken

        texts = corpus()
        data = [t.encode("utf-8") for t in texts]
        total = sum(len(d) for d in data)
        path = os.path.join(work, "texts.bin")
        with open(path, "wb") as out:
            out.write(b"TOKTEXT1" + struct.pack("<I", len(data)))
            for d in data:
                out.write(struct.pack("<I", len(d)) + d)
        print("bench-tokenizer: %d texts, %.2f MB, tiktoken %s" % (len(texts), total / 1e6, tiktoken.__version__),
              file=sys.stderr)

        rows = []
        for name in args.encodings.split(","):
            encoding = tiktoken.get_encoding(name)
            encoding.encode_ordinary("warm up")
            best, runs, tokens, started = float("inf"), 0, 0, time.perf_counter()
            while runs < 3 or time.perf_counter() - started < args.seconds:
                began = time.perf_counter()
                tokens = sum(len(encoding.encode_ordinary(t)) for t in texts)
                best = min(best, time.perf_counter() - began)
                runs += 1
            tiktoken_mbps = total / best / 1e6
            out = subprocess.run(
                [args.bench_binary, "tokenize", "--encoding", name, "--texts", path, "--seconds", str(args.seconds)],
                check=True, capture_output=True, text=True, env=dict(os.environ, TOKENIZER_VOCABULARY_DIR=args.vocabularies))
            line = next(l for l in out.stdout.splitlines() if l.startswith("RESULT "))
            result = dict(kv.split("=", 1) for kv in line.split()[1:])
            if int(result["tokens"]) != tokens:
                sys.exit("bench-tokenizer: %s: Swift counted %s tokens, tiktoken %d" % (name, result["tokens"], tokens))
            rows.append((name, tokens, tiktoken_mbps, float(result["mb_per_s"]), float(result["count_mb_per_s"]),
                         float(result["load_ms"]), int(result["rss_before_kib"]), int(result["rss_after_kib"])))

        print("%-12s %9s %14s %12s %7s %12s %8s %18s" % (
            "encoding", "tokens", "tiktoken MB/s", "Swift MB/s", "ratio", "count() MB/s", "load ms", "RSS before→after"))
        for name, tokens, tk, sw, count, load, before, after in rows:
            print("%-12s %9d %14.1f %12.1f %6.2fx %12.1f %8.1f %9.1f→%.1f MiB" % (
                name, tokens, tk, sw, sw / tk, count, load, before / 1024, after / 1024))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
