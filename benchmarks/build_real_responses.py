"""Build tests/data/real_responses/sample.jsonl.xz: real model responses to multilingual benchmarks.

The grader and the per-response language share must hold on what models really write, not on
probes written next to a fix. This draws a deterministic sample (seed 16) of published model
generations from a pinned snapshot of BatsResearch/crosslingual-test-time-scaling (Yong et al.
2025, arXiv 2505.05408):

* MGSM (math, every study language + en) answered by s1.1-14B told to reason in a given language
  (``experiments/language_forcing/artifacts/14B_NxN/<query>/s1_infer_8000_<forced>.jsonl``);
* Global-MMLU (multiple choice, bn de en fr ja sw zh) answered by s1.1-32B, 8,000 thinking tokens
  (lm-evaluation-harness ``samples_*.jsonl``);
* a stress stratum of MGSM responses whose last box is not a plain integer, or that have none.

    python benchmarks/build_real_responses.py --mirror DIR/BatsResearch+crosslingual-test-time-scaling/repo

The mirror is a bare clone; files are read with ``git show <commit>:<path>``. The hand labels live
next to the sample in ``labels.jsonl`` (see the README there), keyed by ``id``.
"""

from __future__ import annotations

import argparse
import json
import lzma
import random
import re
import subprocess
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "real_responses"
REPO = "BatsResearch/crosslingual-test-time-scaling"
COMMIT = "39ef97cd56671bf835348805038b0f3c662e5f57"
LANGS = ("en", "es", "fr", "de", "ru", "zh", "ja", "th", "sw", "bn", "te")
MMLU_LANGS = ("en", "fr", "de", "zh", "ja", "sw", "bn")
MMLU_DIR = "experiments/crossdomain/artifacts/global_mmlu/s1.1-32B-global_mmlu_8000"
NXN_DIR = "experiments/language_forcing/artifacts/14B_NxN"
MATH_PER_FILE = 6  # two files (forced language = query language, and another) per query language
MC_PER_LANG = 10
STRESS_PER_LANG = 5  # plus one response without a box, per query language


def _show(mirror: Path, path: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(mirror), "show", f"{COMMIT}:{path}"], check=True, capture_output=True, text=True
    ).stdout


def _files(mirror: Path, folder: str) -> list[str]:
    out = subprocess.run(
        ["git", "--git-dir", str(mirror), "ls-tree", "-r", "--name-only", COMMIT, folder],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted(out.split())


def _present(mirror: Path, path: str) -> bool:
    """Whether the snapshot holds the file's content (large files may be listed but absent)."""
    spec = f"{COMMIT}:{path}"
    return (
        subprocess.run(["git", "--git-dir", str(mirror), "cat-file", "-e", spec], capture_output=True).returncode == 0
    )


def _jsonl(text: str) -> list[dict[str, Any]]:
    if text.startswith("version https://git-lfs"):
        return []  # an LFS pointer: the generations are not in the snapshot
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def math_rows(mirror: Path, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for query in LANGS:
        forced_all = [
            f.rsplit("_", 1)[1].removesuffix(".jsonl")
            for f in _files(mirror, f"{NXN_DIR}/{query}")
            if f.endswith(".jsonl") and _present(mirror, f)
        ]
        others = [lang for lang in forced_all if lang != query]
        picks = ([query] if query in forced_all else []) + rng.sample(others, 2 if query not in forced_all else 1)
        for forced in picks[:2]:
            path = f"{NXN_DIR}/{query}/s1_infer_8000_{forced}.jsonl"
            records = _jsonl(_show(mirror, path))
            if not records:
                continue
            for index in sorted(rng.sample(range(len(records)), MATH_PER_FILE)):
                record = records[index]
                response = record["output"].split("<|im_start|>assistant\n", 1)[-1]
                rows.append(
                    {
                        "id": f"mgsm/{query}/{forced}/{index}",
                        "benchmark": "mgsm",
                        "model": "simplescaling/s1.1-14B",
                        "path": path,
                        "row": index,
                        "query_lang": query,
                        "forced_lang": forced,
                        "gold": str(record["gold_answer"]),
                        "choices": None,
                        "response": response,
                    }
                )
    return rows


def choice_rows(mirror: Path, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    files = [f for f in _files(mirror, MMLU_DIR) if "/samples_" in f and _present(mirror, f)]
    for lang in MMLU_LANGS:
        pool = []
        for path in files:
            if f"samples_global_mmlu_{lang}_" not in path:
                continue
            for record in _jsonl(_show(mirror, path)):
                pool.append((path, record))
        for path, record in rng.sample(pool, MC_PER_LANG):
            doc = record["doc"]
            rows.append(
                {
                    "id": f"global_mmlu/{lang}/{doc['sample_id']}",
                    "benchmark": "global_mmlu",
                    "model": "simplescaling/s1.1-32B",
                    "path": path,
                    "row": record["doc_id"],
                    "query_lang": lang,
                    "forced_lang": None,
                    "gold": doc["answer"],
                    "choices": [doc[f"option_{x}"] for x in "abcd"],
                    "response": record["resps"][0][0],
                }
            )
    return rows


def _last_box(text: str) -> str | None:
    """The raw content of the last \\boxed{...} (brace-matched), for choosing the stress stratum only."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, end = 1, start + 7
    while end < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        end += 1
    return text[start + 7 : end - 1]


def stress_rows(mirror: Path, rng: random.Random, taken: set[str]) -> list[dict[str, Any]]:
    """MGSM responses whose last box is not a plain integer (decimals, decimal commas, fractions,
    units, words) or that have no box: the surface forms the grader must read. Chosen by the box's
    form, never by the grade."""
    rows = []
    for query in LANGS:
        odd: list[dict[str, Any]] = []
        unboxed: list[dict[str, Any]] = []
        for path in _files(mirror, f"{NXN_DIR}/{query}"):
            if not path.endswith(".jsonl") or not _present(mirror, path):
                continue
            forced = path.rsplit("_", 1)[1].removesuffix(".jsonl")
            for index, record in enumerate(_jsonl(_show(mirror, path))):
                row_id = f"mgsm/{query}/{forced}/{index}"
                if row_id in taken:
                    continue
                response = record["output"].split("<|im_start|>assistant\n", 1)[-1]
                box = _last_box(response)
                row = {
                    "id": row_id,
                    "benchmark": "mgsm",
                    "model": "simplescaling/s1.1-14B",
                    "path": path,
                    "row": index,
                    "query_lang": query,
                    "forced_lang": forced,
                    "gold": str(record["gold_answer"]),
                    "choices": None,
                    "response": response,
                }
                if box is None:
                    unboxed.append(row)
                elif not re.fullmatch(r"-?\d+", box.strip()):
                    odd.append(row)
        rows += rng.sample(odd, STRESS_PER_LANG) + rng.sample(unboxed, 1)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirror", type=Path, required=True, help=f"bare clone of {REPO}")
    args = parser.parse_args()
    rng = random.Random(16)
    rows = math_rows(args.mirror, rng) + choice_rows(args.mirror, rng)
    rows += stress_rows(args.mirror, rng, {row["id"] for row in rows})
    OUT.mkdir(parents=True, exist_ok=True)
    with lzma.open(OUT / "sample.jsonl.xz", "wt", encoding="utf-8", preset=9) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} responses -> {OUT / 'sample.jsonl.xz'}")


if __name__ == "__main__":
    main()
