"""`pscale plan`: GPU-hours, disk and API dollars of a config before it runs, from the config alone."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pscale.config import load_config, validate_config
from pscale.plan import build_plan, checkpoint_gb, jobs_per_node, training_warning_seconds
from pscale.training_length import training_steps

PAPER = Path("experiments/paper.yaml")
LAST_LINE = re.compile(r"^gpu_hours=(\d+\.\d) disk_gb=(\d+\.\d) api_usd=(\d+\.\d\d)$")


def run_plan(repo: Path, config: Path) -> tuple[int, str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "pscale.cli", "plan", "--configfile", str(config)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout, result.stderr


def totals(stdout: str) -> tuple[float, float, float]:
    match = LAST_LINE.match(stdout.strip().splitlines()[-1])
    assert match, stdout[-500:]
    return float(match[1]), float(match[2]), float(match[3])


@pytest.fixture(scope="module")
def paper(repo: Path) -> dict:
    return load_config(repo / PAPER)


def test_paper_plan_prints_every_family_and_the_totals_last(repo: Path) -> None:
    code, out, err = run_plan(repo, PAPER)
    assert code == 0, err
    gpu_hours, disk_gb, api_usd = totals(out)
    for family in ("translate", "train_grpo", "train_sft", "generate", "score", "total"):
        assert re.search(rf"^{family}\s+\d+", out, re.MULTILINE), family
    # thousands of H100-hours, terabytes of models and checkpoints, a few dollars of gpt-4o-mini
    assert 500 < gpu_hours < 20000 and disk_gb > 1000 and 0 < api_usd < 100
    assert "h100" in out and "time-limit warning" in out


def test_paper_plan_is_mostly_grpo_and_prices_translation_at_the_batch_rate(paper: dict) -> None:
    plan = build_plan(paper)
    families = plan.families
    assert families["train_grpo"].gpu_hours > 0.7 * plan.gpu_hours
    translate = families["translate"]
    list_price = (translate.api_input_tokens * 0.15 + translate.api_output_tokens * 0.60) / 1e6
    assert translate.api_usd == pytest.approx(list_price / 2)  # Batch API: half price
    assert translate.api_input_tokens > 1e6 and translate.api_output_tokens > 1e6


def test_paper_schedule_keeps_repetition_equal_across_runs_and_methods(paper: dict) -> None:
    """Every run makes the same number of passes over its own set; GRPO and SFT on the same set
    take the same steps and see the same prompts (issue 18: 16 passes at X = 1 but 2 at X = 8,
    64 for SFT, before)."""
    runs = build_plan(paper).runs
    # GRPO drops a pass's last incomplete round of 32 prompts, SFT keeps its last short batch
    assert all(1.95 <= run.epochs <= 2.1 for run in runs), [(r.method, r.budget, r.x, r.epochs) for r in runs]
    by_set: dict[tuple, dict[str, int]] = {}
    for run in runs:
        by_set.setdefault((run.model, run.budget, run.x), {})[run.method] = run.steps
    for methods in by_set.values():
        assert abs(methods["grpo"] - methods["sft"]) <= 0.05 * methods["grpo"], by_set
    steps = {(r.budget, r.x): r.steps for r in runs if r.method == "grpo"}
    assert steps[("grow", 8)] == 500 and steps[("grow", 1)] == steps[("fixed", 8)] == 62  # data grows, not repetition


def test_paper_training_jobs_share_a_node_and_are_warned_in_time(paper: dict) -> None:
    assert set(jobs_per_node(paper, "train").values()) == {2}  # two 4-GPU jobs on an 8-GPU node
    assert min(jobs_per_node(paper, "generate").values()) == 8
    assert not [check for check in build_plan(paper).checks if "plan.node" in check]
    step = build_plan(paper).sizing[0].step_s["grpo"]
    warning = training_warning_seconds(paper, "qwen2.5-7b-instruct")
    assert warning >= step + checkpoint_gb(paper, 7.62) / paper["plan"]["checkpoint_write_gb_per_s"]
    assert checkpoint_gb(paper, 7.62) == pytest.approx(106.68)  # 14 bytes per parameter under ZeRO-3


def test_one_more_seed_costs_training_and_evaluation_not_translation(paper: dict) -> None:
    one = build_plan(paper)
    two = build_plan(validate_config({**copy.deepcopy(paper), "seeds": [42, 43]}))
    for family in ("train_grpo", "train_sft"):
        assert two.families[family].gpu_hours == pytest.approx(2 * one.families[family].gpu_hours)
    assert two.families["translate"].api_usd == one.families["translate"].api_usd
    assert one.gpu_hours < two.gpu_hours < 2 * one.gpu_hours  # initial and observational models once


def test_throughput_table_is_overridable(paper: dict) -> None:
    slow = copy.deepcopy(paper)
    slow["plan"]["gpus"] = {"h100": {"train_tflops": 125.0}}
    assert build_plan(slow).families["train_sft"].gpu_hours == pytest.approx(
        2 * build_plan(paper).families["train_sft"].gpu_hours
    )
    slow["plan"]["gpu_type"] = "b200"
    with pytest.raises(ValueError, match=r"plan\.gpus\.b200"):
        build_plan(slow)


def test_demo_plan_runs_on_the_cpu_and_costs_no_api(repo: Path) -> None:
    code, out, err = run_plan(repo, Path("config.yaml"))
    assert code == 0, err
    gpu_hours, _, api_usd = totals(out)
    assert gpu_hours == 0 and api_usd == 0
    assert "backend reference: no API calls" in out
    assert "grpo-grow-x8: 3200 prompts, 150 steps, 0.19 epochs, 600 prompts seen" in out


def test_a_model_without_a_size_names_the_key(repo: Path, tmp_path: Path, paper: dict) -> None:
    raw = yaml.safe_load((repo / PAPER).read_text())
    raw["models"]["mystery"] = {"source": "hub", "path": "someone/Mystery-9B"}
    path = tmp_path / "mystery.yaml"
    path.write_text(yaml.safe_dump(raw))
    code, _, err = run_plan(repo, path)
    assert code == 1 and "plan.model_params_b.mystery" in err
    raw["plan"] = {"model_params_b": {"mystery": 9.0}}
    path.write_text(yaml.safe_dump(raw))
    code, out, err = run_plan(repo, path)
    assert code == 0, err and "mystery: 9.00B params" in out


@pytest.mark.parametrize(
    ("options", "rows", "expected"),
    [
        # GRPO: 4 GPUs x 2 x 32 accumulation = 256 completions = 32 prompts a step; a pass drops the remainder
        ({"per_device_train_batch_size": 2, "gradient_accumulation_steps": 32, "num_generations": 8,
          "num_train_epochs": 2}, 1000, (62, 1.984, 1984)),
        ({"per_device_train_batch_size": 2, "gradient_accumulation_steps": 32, "num_generations": 8,
          "max_steps": 500}, 8000, (500, 2.0, 16000)),
    ],
)  # fmt: skip
def test_grpo_steps_as_trl_counts_them(options: dict, rows: int, expected: tuple) -> None:
    steps, epochs, prompts = training_steps(options, "grpo", rows, world=4)
    assert (steps, round(epochs, 3), prompts) == expected
