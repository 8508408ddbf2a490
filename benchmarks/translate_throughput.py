"""Throughput of the openai translation backend against a rate-limited test server.

The test server (tests/fake_openai_server.py, real HTTP on 127.0.0.1) answers every chat
completion after `--latency` seconds (~1 s: a realistic translation of a paragraph) and
enforces `--rpm` requests per minute with 429 + Retry-After. In the same run, the stage
translates `--items` paragraphs into `--langs` (items x languages requests, ~1,000 by
default) with the pipeline's settings (rpm = the server's limit), and a plain sequential
loop -- one `client.chat.completions.create` after another -- translates a sample of
`--sequential` texts. The last line compares them:

    speedup_vs_sequential=<pipeline rate / sequential rate> rate_limit_utilization=<achieved RPM / limit>

Utilization is measured over the stage's whole wall time (setup, cache, validation and the
last response's latency included), so 1.0 is out of reach; the aim is >= 0.9.

    python benchmarks/translate_throughput.py                 # ~1 min at the defaults
    python benchmarks/translate_throughput.py --items 20 --latency 0.05   # a smoke test
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from fake_openai_server import FakeOpenAIServer  # noqa: E402

from pscale.languages import STUDY_LANGUAGES  # noqa: E402
from pscale.translate.options import merge_options  # noqa: E402
from pscale.translate.stage import translate_dataset  # noqa: E402
from pscale.translate.translator_prompt import load_prompt  # noqa: E402

KEY = "sk-benchmark"
LANGS = [lang for lang in STUDY_LANGUAGES if lang != "en"]


def paragraphs(n: int, seed: int = 0) -> list[str]:
    """Distinct word problems of ~350 characters, with numbers and LaTeX like MATH items."""
    rng = random.Random(seed)
    texts = []
    for i in range(n):
        a, b, c = rng.randint(10, 99), rng.randint(2, 12), rng.randint(1, 9)
        texts.append(
            f"A factory produces {a} widgets per hour and runs for {b} hours each day. On day {i + 1}, a machine "
            f"breaks down after {c} hours, and for the rest of the day the factory works at half speed. Let "
            f"$x = {a} \\cdot {c}$ be the number of widgets made before the failure. How many widgets does the "
            "factory produce on that day in total? Put the final answer in \\boxed{}."
        )
    return texts


def run(args: argparse.Namespace) -> tuple[float, float]:
    import openai

    work = Path(args.workdir or tempfile.mkdtemp(prefix="pscale-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    langs = args.langs.split(",")
    texts = paragraphs(args.items)
    source = work / "source.parquet"
    pl.DataFrame(
        {"id": [f"b{i:05d}" for i in range(len(texts))], "question": texts, "answer": ["0"] * len(texts)}
    ).write_parquet(source)
    os.environ["OPENAI_API_KEY"] = KEY

    with FakeOpenAIServer(api_key=KEY, latency=args.latency, rpm_limit=args.rpm) as server:
        # --- the pipeline ---------------------------------------------------------------------
        options = merge_options(
            {"backend": "openai", "openai": {"base_url": server.base_url}},
            {
                "rpm": args.rpm,
                "tpm": 1e9,
                "concurrency": args.concurrency,
                "timeout": max(30.0, 10 * args.latency),
                "cache": str(work / f"cache-{time.time_ns()}.sqlite"),
                "progress": False,
            },
        )
        outputs = {lang: work / "out" / f"{lang}.parquet" for lang in ["en", *langs]}
        start = time.monotonic()
        translate_dataset(source, outputs, "openai", options, "bench", work / "qc.parquet", work / "usage.json")
        pipeline_time = time.monotonic() - start
        pipeline_requests = len(server.chat_log())
        rejected = sum(1 for e in server.chat_log() if e["status"] == 429)
        translated = sum(pl.read_parquet(outputs[lang]).height for lang in langs)

        # --- the sequential loop (its own window at the server) --------------------------------
        server._window.clear()
        prompt = load_prompt(REPO / "resources" / "translation" / "prompts-v1.yaml")
        client = openai.OpenAI(
            api_key=KEY, base_url=server.base_url, max_retries=0, timeout=options["openai"]["timeout"]
        )
        start = time.monotonic()
        for i in range(args.sequential):
            lang = langs[i % len(langs)]
            client.chat.completions.create(
                model="gpt-4o-mini", messages=prompt.messages(lang, texts[i]), temperature=0.0
            )
        sequential_time = time.monotonic() - start
        client.close()

    pipeline_rate = pipeline_requests / pipeline_time
    sequential_rate = args.sequential / sequential_time
    utilization = pipeline_rate * 60 / args.rpm
    print(f"texts: {len(texts)} items x {len(langs)} languages = {len(texts) * len(langs)}, translated {translated}")
    print(f"server: latency {args.latency} s, limit {args.rpm} RPM; 429 responses during the pipeline: {rejected}")
    print(
        f"pipeline:   {pipeline_requests} requests in {pipeline_time:.1f} s = {pipeline_rate:.2f} req/s "
        f"({pipeline_rate * 60:.0f} RPM, concurrency {args.concurrency})"
    )
    print(f"sequential: {args.sequential} requests in {sequential_time:.1f} s = {sequential_rate:.2f} req/s")
    return pipeline_rate / sequential_rate, utilization


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100, help="paragraphs to translate (default %(default)s)")
    parser.add_argument("--langs", default=",".join(LANGS), help="target languages (default: all 10)")
    parser.add_argument("--sequential", type=int, default=50, help="texts in the sequential sample")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per request at the server")
    parser.add_argument("--rpm", type=int, default=1200, help="the server's requests-per-minute limit")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workdir", help="scratch folder (default: a new temporary one)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    speedup, utilization = run(args)
    print(f"speedup_vs_sequential={speedup:.2f} rate_limit_utilization={utilization:.3f}")


if __name__ == "__main__":
    main()
