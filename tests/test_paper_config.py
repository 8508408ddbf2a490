"""The paper-scale configuration: valid, and `snakemake -n` plans the expected jobs here."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import job_counts

from pscale.config import load_config

PAPER = Path("experiments/paper.yaml")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, repo: Path) -> Path:
    work = tmp_path_factory.mktemp("paper")
    for name in ("Snakefile", "workflow", "resources", "envs", "experiments", "config.yaml"):
        src = repo / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    return work


def dry_run(workdir: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", str(PAPER), *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_paper_config_plans_every_job(workdir: Path) -> None:
    config = load_config(workdir / PAPER)
    n_models = len(config["models"])
    n_sets = len(config["subset_sizes"]) * len(config["budgets"])
    n_seeds = len(config["seeds"])
    n_trained = n_sets * len(config["training"]["methods"]) * n_seeds
    n_bench = len(config["data"]["benchmarks"])
    # X = 1 is the same English set under both budgets: fixed-x1 shares grow-x1's model and scores
    n_shared = n_seeds * len(config["training"]["methods"]) if {"grow", "fixed"} <= set(config["budgets"]) else 0
    n_evaluated = n_models * (1 + n_trained - n_shared) + len(config["observational"])
    expected = {
        "fetch_model": n_models + len(config["observational"]),  # each hub model downloaded once
        "hub_source": 1 + n_bench,
        "translate": 1 + n_bench,
        "parallel_set": n_sets - (1 if n_shared else 0),
        "train_grpo": n_models * (n_sets - (1 if n_shared else 0)) * n_seeds,
        "train_sft": n_models * (n_sets - (1 if n_shared else 0)) * n_seeds,
        "check_prompts": n_models,  # every prompt against each model's context, before generation
        "generate": n_evaluated,  # one engine start per model and run, every benchmark in it
        "score": n_evaluated * n_bench,
        "share_scores": n_models * n_shared,
        "tables": 1,
        "fit_scaling_law": 1,
        "figures": 1,
        "all": 1,
    }
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    counts = job_counts(dry_run(workdir, "--quiet", "rules"))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    assert counts == expected
    assert cpu_s < 10, f"the paper dry run took {cpu_s:.1f} s of CPU"
    # The numbers themselves, so a config edit that changes the study shows up here.
    assert expected["train_grpo"] == 90 and expected["generate"] == 189 and sum(expected.values()) == 1181


def test_per_benchmark_generation_is_a_switch(workdir: Path, tmp_path: Path) -> None:
    """evaluation.group_benchmarks: false gives one generation job per benchmark again."""
    import yaml

    config = yaml.safe_load((workdir / PAPER).read_text())
    config["evaluation"]["group_benchmarks"] = False
    per_benchmark = workdir / "experiments" / "per_benchmark.yaml"
    per_benchmark.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--configfile", str(per_benchmark)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout)
    assert counts["generate"] == counts["score"] == 756


def test_paper_jobs_use_hub_models_vllm_and_accelerate(workdir: Path) -> None:
    out = dry_run(
        workdir,
        "--printshellcmds",
        "--forceall",
        "results-paper/eval/generations/qwen2.5-math-7b/obs-deepseek-r1-distill-qwen-7b/aime24.parquet",
        "results-paper/models/qwen2.5-7b-instruct/grpo-grow-x2-s42",
    )
    generate = next(line for line in out.splitlines() if "pscale generate" in line)
    # hub models are fetched once (fetch_model) and loaded offline from the recorded snapshot
    assert '--model "$(cat results-paper/models/obs-deepseek-r1-distill-qwen-7b/SNAPSHOT)"' in generate
    assert generate.startswith("HF_HUB_OFFLINE=1 ") or " HF_HUB_OFFLINE=1 " in generate
    assert '"backend":"vllm"' in generate and "--chat-template auto" in generate
    train = next(line for line in out.splitlines() if "train --method grpo" in line)
    assert "accelerate launch --num_processes 4 --main_process_port 0" in train and "-m pscale.cli train" in train
    assert "--gpus 4" in train and "--gpus 1" in generate  # a job without usable GPUs stops at once
    assert '--model "$(cat results-paper/models/qwen2.5-7b-instruct/SNAPSHOT)"' in train and '"use_vllm":true' in train
    fetch = [line for line in out.splitlines() if "pscale fetch-model" in line]
    assert any("--model deepseek-ai/DeepSeek-R1-Distill-Qwen-7B" in line for line in fetch)
    assert any("--model Qwen/Qwen2.5-7B-Instruct" in line for line in fetch)
    assert '"seed":42' in train  # the run's seed (config `seeds`) is TRL's seed
    assert re.search(r"rule train_grpo:.*?resources:[^\n]*gpu=4", out, re.DOTALL)
    assert "rule init_model" not in out  # hub models are loaded, not built


def test_per_model_evaluation_overrides_reach_generate(workdir: Path) -> None:
    """Qwen2.5-Math-7B's 4,096-token context (its own `evaluation` block) and the defaults elsewhere."""
    out = dry_run(
        workdir,
        "--printshellcmds",
        "--forceall",
        "results-paper/eval/generations/qwen2.5-math-7b/grpo-grow-x2-s42/aime24.parquet",
        "results-paper/eval/generations/qwen2.5-math-7b/obs-deepseek-r1-distill-qwen-7b/aime24.parquet",
        "results-paper/eval/generations/qwen2.5-7b-instruct/init/aime24.parquet",
    )
    lines = [line for line in out.splitlines() if "pscale generate" in line]
    math = [line for line in lines if "qwen2.5-math-7b" in line and "obs-" not in line]
    thinker = [line for line in lines if "obs-deepseek-r1-distill-qwen-7b" in line]
    others = [line for line in lines if line not in math + thinker]
    assert math and all('"max_model_len":4096' in line and '"max_new_tokens":3072' in line for line in math)
    # the reasoning models at open-r1's lengths (a 32,768-token context)
    assert len(thinker) == 1 and '"max_model_len":32768' in thinker[0] and '"max_new_tokens":30720' in thinker[0]
    assert len(others) == 1 and '"max_model_len":8192' in others[0] and '"max_new_tokens":4096' in others[0]
    for line in lines:  # the format is asked for; the prompt check's dropped problems are left out
        assert " --format-prompt" in line and "--dropped results-paper/eval/prompt_check/" in line, line
        assert "--benchmarks math500 aime24 aime25 gpqa_diamond" in line  # both groupings: the same inputs
    check = [line for line in out.splitlines() if "pscale check-prompts" in line]
    assert len(check) == 2 and all('"too_long":"drop"' in line and " --format-prompt" in line for line in check)
    (math_check,) = [line for line in check if "--model-name qwen2.5-math-7b" in line]
    for name in ("qwen2.5-math-7b", "obs-deepseek-r1-distill-qwen-7b", "obs-openr1-qwen-7b"):
        assert f'"$(cat results-paper/models/{name}/SNAPSHOT)"' in math_check


def test_paper_training_options_are_valid_trl_configs(repo: Path, tmp_path: Path) -> None:
    """Every GRPO/SFT option of the paper config is a field TRL accepts (use_vllm included)."""
    from trl import GRPOConfig, SFTConfig

    training = load_config(repo / PAPER)["training"]
    cpu = {"use_cpu": True, "bf16": False, "output_dir": str(tmp_path)}
    grpo = GRPOConfig(**{**training["grpo"], **cpu})
    assert grpo.use_vllm and grpo.vllm_mode == "colocate" and grpo.num_generations == 8
    assert SFTConfig(**{**training["sft"], **cpu}).max_length == 4096


def test_demo_and_paper_configs_keep_their_outputs_apart(workdir: Path) -> None:
    """results_dir: every output of the paper config goes under results-paper/, none under the
    demo's results/ (a paper dry run in a demo folder used to plan to overwrite the demo's tables)."""
    out = dry_run(workdir, "--printshellcmds")
    outputs = [line.split(":", 1)[1] for line in out.splitlines() if line.startswith(("    output:", "    log:"))]
    assert outputs and all(path.strip().startswith("results-paper/") for line in outputs for path in line.split(","))
    config = load_config(workdir / PAPER)
    assert config["translation"]["openai"]["cache"] == "results-paper/translation/cache/{dataset}.sqlite"
