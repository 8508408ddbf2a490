"""How long the analysis of the paper configuration takes: `pscale tables` + `pscale fit`.

Builds synthetic score files of the paper's shape (experiments/paper.yaml: 6 initial models,
GRPO and SFT on X = 1..8 under both budgets, 3 observational models; MATH500, AIME24, AIME25,
GPQA-Diamond in 11 languages, 4 samples per question: 804 files, ~6.7M responses), then runs
the two analysis commands exactly as the workflow does, with the default 1,000 bootstrap
replicates, and prints their wall time:

    python benchmarks/analysis_speed.py            # prints analysis_s=<seconds>

The budget (issue 7) is under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from pscale.languages import STUDY_LANGUAGES as LANGUAGES
from pscale.runs import Run, facts_json, initial_run, observational_run, trained_run

BENCHMARKS = {"math500": 500, "aime24": 30, "aime25": 30, "gpqa_diamond": 198}
MODELS = [
    "qwen2.5-7b-instruct",
    "qwen2.5-7b",
    "qwen2.5-math-7b",
    "qwen2.5-1.5b-instruct",
    "qwen2.5-3b-instruct",
    "llama-3.1-8b-instruct",
]
OBSERVATIONAL = {
    "deepseek-r1-distill-qwen-7b": "qwen2.5-math-7b",
    "openr1-qwen-7b": "qwen2.5-math-7b",
    "s1": "qwen2.5-7b-instruct",
}
SAMPLES = 4


def runs_of(model: str) -> list[Run]:
    trained = [trained_run(m, b, x, 42) for m in ("grpo", "sft") for b in ("grow", "fixed") for x in range(1, 9)]
    observed = [observational_run(name) for name, base in OBSERVATIONAL.items() if base == model]
    return [initial_run(), *trained, *observed]


def write_files(root: Path, seed: int = 0) -> list[tuple[Run, Path]]:
    """804 score files, each with its run; a run's accuracy rises with X and differs by language."""
    rng = np.random.default_rng(seed)
    files = []
    for benchmark, m in BENCHMARKS.items():
        n = m * len(LANGUAGES) * SAMPLES
        skeleton = pl.DataFrame(
            {
                "id": np.tile(np.repeat([f"{benchmark}-{i}" for i in range(m)], SAMPLES), len(LANGUAGES)),
                "lang": np.repeat(LANGUAGES, m * SAMPLES),
                "sample": np.tile(np.arange(SAMPLES), m * len(LANGUAGES)),
            }
        )
        difficulty = np.tile(np.repeat(rng.random(m), SAMPLES), len(LANGUAGES))
        lang_level = np.repeat(rng.uniform(0.3, 1.0, len(LANGUAGES)), m * SAMPLES)
        for model in MODELS:
            for run in runs_of(model):
                x = run.n_languages if run.seed is not None else 0
                acc = 0.3 + 0.03 * x + (0.1 if run.method == "observational" else 0.0)
                p = 0.8 * (difficulty < acc * lang_level) + 0.2 * acc * lang_level
                frame = skeleton.with_columns(
                    pl.Series("response", [""] * n),
                    pl.lit(None, dtype=pl.String).alias("extracted"),
                    pl.Series("correct", rng.random(n) < p),
                    pl.col("lang").alias("detected_lang"),
                    pl.Series("lang_share", rng.uniform(0.3, 1.0, n)),
                )
                path = root / "scores" / model / run.name / f"{benchmark}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                frame.write_parquet(path)
                files.append((run, path))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        files = write_files(root)
        paths = [path for _, path in files]
        print(f"wrote {len(paths)} score files in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        options = {"bootstrap_replicates": args.replicates}  # the rest: the schema's defaults
        tables = root / "tables"
        commands = [
            [
                "pscale",
                "tables",
                "--scores",
                *map(str, paths),
                "--labels",
                json.dumps([[p.parent.parent.name, p.parent.name, p.stem] for p in paths]),
                "--run-facts",
                facts_json(dict.fromkeys(run for run, _ in files)),
                "--accuracy-out",
                str(tables / "accuracy.csv"),
                "--mti-out",
                str(tables / "mti.csv"),
                "--gains-out",
                str(tables / "gains.csv"),
                "--runs-out",
                str(tables / "runs.csv"),
                "--replicates-out",
                str(tables / "bootstrap.parquet"),
                "--options",
                json.dumps(options),
            ],
            [
                "pscale",
                "fit",
                "--runs",
                str(tables / "runs.csv"),
                "--replicates",
                str(tables / "bootstrap.parquet"),
                "--output",
                str(root / "scaling_law.json"),
                "--options",
                "{}",
            ],
        ]
        timings = []
        for command in commands:
            started = time.perf_counter()
            subprocess.run(command, check=True)
            timings.append(time.perf_counter() - started)
        fits = json.loads((root / "scaling_law.json").read_text())
        print(f"tables_s={timings[0]:.1f} fit_s={timings[1]:.1f} groups={len(fits['groups'])}", file=sys.stderr)
        print(f"analysis_s={sum(timings):.1f}")


if __name__ == "__main__":
    main()
