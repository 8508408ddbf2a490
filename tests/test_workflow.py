"""The whole DAG end to end on a small config, then Snakemake's rerun semantics.

One session-scoped run in a temporary copy of the workflow; the dry-run tests edit one
config value each and check which rules Snakemake would rerun.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml
from helpers import job_counts

pytestmark = pytest.mark.slow

SMALL_CONFIG = {
    "languages": ["en", "es", "de", "ja"],
    "parallel_order": ["es", "de"],
    "subset_sizes": [1, 2, 3],
    "data": {"train_size": 16, "demo": {"n_train": 40, "n_test": 4}},
    "models": {
        "tiny": {
            "source": "scratch",
            "scratch": {
                "pretrain_steps": 20,  # (the schema's default, 300, is a real demo's: minutes here)
                "sft_steps": 20,
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_hidden_layers": 1,
                "vocab_size": 600,
            },
        }
    },
    "training": {
        "grpo": {
            "max_steps": 2,
            "per_device_train_batch_size": 8,
            "num_generations": 4,
            "max_completion_length": 16,
            "logging_steps": 1,
        }
    },
    "evaluation": {"n_samples": 2, "max_new_tokens": 16},
}
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(workdir: Path, *args: str, config: dict | None = None) -> subprocess.CompletedProcess:
    if config is not None:
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return subprocess.run([*SNAKEMAKE, "--cores", "2", *args], cwd=workdir, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, repo: Path) -> Path:
    work = tmp_path_factory.mktemp("pipeline")
    for name in ("Snakefile", "workflow", "resources", "envs"):
        src = repo / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    result = snakemake(work, config=SMALL_CONFIG)
    assert result.returncode == 0, result.stderr[-4000:]
    return work


def test_outputs_follow_the_contract(workdir: Path) -> None:
    accuracy = pl.read_csv(workdir / "results/tables/accuracy.csv")
    assert accuracy.columns == [
        "model",
        "run",
        "method",
        "budget",
        "n_languages",
        "seed",
        "benchmark",
        "lang",
        "accuracy",
        "ci_low",
        "ci_high",
        "off_target_rate",
        "lang_share",
        "n",
        "n_problems",
    ]
    assert (accuracy["seed"].cast(pl.String) == "all").all()  # one seed: the pooled rows only
    assert ((accuracy["ci_low"] <= accuracy["accuracy"]) & (accuracy["accuracy"] <= accuracy["ci_high"])).all()
    assert set(accuracy["run"]) == {"init", "grpo-grow-x1", "grpo-grow-x2", "grpo-grow-x3"}
    assert set(accuracy["lang"]) == {"en", "es", "de", "ja"}
    assert (accuracy["n"] == 4 * 2).all()
    mti = pl.read_csv(workdir / "results/tables/mti.csv")
    assert {"model", "run", "seed", "benchmark", "mti", "mti_ci_low", "mti_ci_high"} <= set(mti.columns)
    for table in ("gains", "runs"):
        assert pl.read_csv(workdir / f"results/tables/{table}.csv").height > 0
    # how long each run trained, from its training.json: comparable across X (same steps here)
    runs = pl.read_csv(workdir / "results/tables/runs.csv", schema_overrides={"seed": pl.String})
    trained = runs.filter(pl.col("run") != "init")
    assert trained["steps"].null_count() == 0 and trained["steps"].n_unique() == 1
    assert (trained["prompts_seen"] > 0).all() and (trained["epochs"] > 0).all()
    assert runs.filter(pl.col("run") == "init")["steps"].null_count() == 1
    fits = json.loads((workdir / "results/fits/scaling_law.json").read_text())
    for name in ("mti", "accuracy"):
        assert set(fits[name]["points"]) <= {"1", "2", "3"}
    # a 20-step model may score 0 everywhere: then there is honestly no exponent to fit
    accuracy_fit = fits["accuracy"]
    assert {"alpha_ci", "beta_ci", "gap_ci", "loo"} <= set(accuracy_fit) or "every point is 0" in accuracy_fit["error"]
    for figure in ("scaling_law", "accuracy_heatmap", "language_gain", "off_target", "training_rewards"):
        assert (workdir / f"results/figures/{figure}.png").stat().st_size > 1000
    assert not (workdir / "results/figures/rl_vs_sft.png").exists()  # no SFT runs in this config: skipped
    assert "Scaling law: tiny, grpo, grow budget" in (workdir / "results/summary.rst").read_text()
    scores = pl.read_parquet(workdir / "results/eval/scores/tiny/grpo-grow-x2-s0/demo_test.parquet")
    assert scores.columns == ["id", "lang", "sample", "response", "extracted", "correct", "detected_lang", "lang_share"]
    assert scores["lang_share"].is_between(0, 1).all()
    history = json.loads((workdir / "results/models/tiny/grpo-grow-x2-s0/log_history.json").read_text())
    assert any("rewards/accuracy_reward/mean" in h for h in history)
    assert (workdir / "results/logs/train/tiny/grpo-grow-x2-s0.log").read_text().strip()


def test_second_run_does_nothing(workdir: Path) -> None:
    result = snakemake(workdir, "-n", config=SMALL_CONFIG)
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def _with(**changes: dict) -> dict:
    config = json.loads(json.dumps(SMALL_CONFIG))
    for section, values in changes.items():
        config.setdefault(section, {})
        for key, value in values.items():
            if isinstance(value, dict):
                config[section].setdefault(key, {}).update(value)
            else:
                config[section][key] = value
    return config


#: Everything downstream of the score files.
ANALYSIS = {"tables": 1, "fit_scaling_law": 1, "figures": 1, "all": 1}


def test_grpo_change_reruns_training_and_downstream_only(workdir: Path) -> None:
    result = snakemake(workdir, "-n", config=_with(training={"grpo": {"learning_rate": 0.001}}))
    counts = job_counts(result.stdout)
    assert counts == {"train_grpo": 3, "generate": 3, "score": 6, **ANALYSIS}  # one generate job per run


def test_eval_sample_change_reruns_evaluation_and_analysis_only(workdir: Path) -> None:
    counts = job_counts(snakemake(workdir, "-n", config=_with(evaluation={"n_samples": 3})).stdout)
    assert counts == {"generate": 4, "score": 8, **ANALYSIS}


def test_on_target_share_reruns_the_analysis_only(workdir: Path) -> None:
    # the tables read on_target_share (the scores hold each response's lang_share): nothing re-scores
    counts = job_counts(snakemake(workdir, "-n", config=_with(analysis={"on_target_share": 0.6})).stdout)
    assert counts == ANALYSIS


def test_reward_grading_change_retrains(workdir: Path) -> None:
    # min_letters / require_boxed are read by the GRPO rewards too (training grades as evaluation does)
    counts = job_counts(snakemake(workdir, "-n", config=_with(scoring={"min_letters": 5})).stdout)
    assert counts == {"train_grpo": 3, "generate": 3, "score": 8, **ANALYSIS}


def test_new_seed_trains_evaluates_and_scores_only_its_runs(workdir: Path) -> None:
    counts = job_counts(snakemake(workdir, "-n", config={**SMALL_CONFIG, "seeds": [0, 1]}).stdout)
    assert counts == {"train_grpo": 3, "generate": 3, "score": 6, **ANALYSIS}


def test_an_ablation_trains_evaluates_and_scores_only_its_runs(workdir: Path) -> None:
    ablation = {"ablations": {"nolang": {"reward_weights": {"language": 0}, "subset_sizes": [1, 3]}}}
    result = snakemake(workdir, "-n", "-p", config=_with(training=ablation))
    assert job_counts(result.stdout) == {"train_grpo": 2, "generate": 2, "score": 4, **ANALYSIS}
    assert "models/tiny/grpo_nolang-grow-x3-s0" in result.stdout
    # trained as GRPO, with the ablation's weight and the others of training.reward_weights
    assert "train --method grpo_nolang" in result.stdout
    assert '"reward_weights":{"accuracy":0.8,"format":0.1,"language":0}' in result.stdout


def test_bootstrap_change_reruns_the_analysis_only(workdir: Path) -> None:
    counts = job_counts(snakemake(workdir, "-n", config=_with(analysis={"bootstrap_replicates": 500})).stdout)
    assert counts == ANALYSIS
    fit_only = job_counts(snakemake(workdir, "-n", config=_with(analysis={"fit_min_x": 1})).stdout)
    assert fit_only == {"fit_scaling_law": 1, "figures": 1, "all": 1}


def test_translation_runtime_settings_rerun_nothing(workdir: Path) -> None:
    # rate limits never rerun anything; the inactive openai backend's settings don't either
    changed = _with(translation={"openai": {"rpm": 10, "concurrency": 2, "model": "other-model"}})
    result = snakemake(workdir, "-n", config=changed)
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr


def test_demo_test_size_reruns_only_what_reads_the_test_sets(workdir: Path) -> None:
    # demo_train is drawn before the test sets: the initial model, the sets and the trainings stay
    counts = job_counts(snakemake(workdir, "-n", config=_with(data={"demo": {"n_test": 5}})).stdout)
    # check_prompts reads the test sets too (their prompts' lengths)
    assert counts == {"demo_data": 2, "translate": 2, "check_prompts": 1, "generate": 4, "score": 8, **ANALYSIS}


def _aside(path: Path) -> Path:
    aside = path.with_name(f"{path.name}.aside")
    path.rename(aside)
    return aside


def test_missing_model_or_generations_are_rebuilt_not_reported_done(workdir: Path) -> None:
    # what a failed or interrupted `make run REDO=<model>` leaves, or a deleted generations file
    model = workdir / "results/models/tiny/grpo-grow-x2-s0"
    aside = _aside(model)
    try:
        counts = job_counts(snakemake(workdir, "-n", config=SMALL_CONFIG).stdout)
    finally:
        aside.rename(model)
    assert counts == {"train_grpo": 1, "generate": 1, "score": 2, **ANALYSIS}
    generations = workdir / "results/eval/generations/tiny/init/demo_hard.parquet"
    aside = _aside(generations)
    try:
        counts = job_counts(snakemake(workdir, "-n", config=SMALL_CONFIG).stdout)
    finally:
        aside.rename(generations)
    assert counts == {"generate": 1, "score": 2, **ANALYSIS}


def test_unknown_benchmark_is_a_config_error(workdir: Path) -> None:
    result = snakemake(workdir, "-n", config=_with(data={"benchmarks": ["demo_test", "gsm8k"]}))
    assert result.returncode != 0 and "MissingInputException" not in result.stderr
    assert "config key 'data.benchmarks': ['gsm8k'] not in the demo corpus" in result.stderr + result.stdout


def test_bad_config_stops_before_any_job(workdir: Path) -> None:
    result = snakemake(workdir, "-n", config=_with(training={"grpo": {"learning_rate": "fast"}}))
    assert result.returncode != 0
    assert "training.grpo.learning_rate" in result.stderr + result.stdout


def test_grouping_switch_reruns_nothing(workdir: Path) -> None:
    # evaluation.group_benchmarks only schedules: the generate rule has the same inputs, params
    # and command in both groupings, so Snakemake has nothing to rerun
    result = snakemake(workdir, "-n", config=_with(evaluation={"group_benchmarks": False}))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Nothing to be done" in result.stdout + result.stderr, job_counts(result.stdout)


def test_a_per_benchmark_job_adopts_what_the_grouped_job_made(workdir: Path) -> None:
    # a generations file lost after the switch is made by a job of its own benchmark, which adopts
    # what the grouped job generated (pscale.receipts): nothing is generated again
    generations = workdir / "results/eval/generations/tiny/init/demo_test.parquet"
    before = generations.read_bytes()
    generations.unlink()
    target = str(generations.relative_to(workdir))
    result = snakemake(workdir, target, config=_with(evaluation={"group_benchmarks": False}))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "nothing was computed again" in (workdir / "results/logs/generate/tiny/init/demo_test.log").read_text()
    assert generations.read_bytes() == before


def test_report_builds(workdir: Path) -> None:
    snakemake(workdir, config=SMALL_CONFIG)  # restore the config of the finished run
    result = snakemake(workdir, "--report", "results/report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (workdir / "results/report.html").stat().st_size > 10_000


def test_lint_is_clean(workdir: Path) -> None:
    result = snakemake(workdir, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr
