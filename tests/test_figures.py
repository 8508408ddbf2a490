"""The paper's figure set and the results summary, drawn by `pscale figures` from real tables
(the analysis of synthetic score data with a known effect)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from synthetic import score_frame

from pscale.analysis import analyse, write_replicates
from pscale.cli import main
from pscale.figures import FIGURES, _verdict
from pscale.fit import scaling_law
from pscale.runs import initial_run, observational_run, trained_run

LANGS = ["en", "es", "ru", "ja"]
ORDER = ["es", "ru", "de", "fr", "bn", "th", "zh"]


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> Path:
    """Tables and fits of two models (one with an observational model), GRPO and SFT, both budgets,
    and a GRPO ablation (grpo_nolang) under the growing budget."""
    root = tmp_path_factory.mktemp("figures")
    rng = np.random.default_rng(0)
    difficulty = rng.random(40)
    files = []
    for model in ("a", "b"):
        files.append((model, initial_run(), "bench", score_frame({lang: 0.2 for lang in LANGS}, difficulty, 2, rng)))
        for method, budgets in (("grpo", ("grow", "fixed")), ("sft", ("grow", "fixed")), ("grpo_nolang", ("grow",))):
            for budget in budgets:
                for x in (1, 2, 3, 4):
                    acc = {lang: min(0.9, 0.25 * x**0.3 + (0.1 if lang == "en" else 0)) for lang in LANGS}
                    for seed in (0, 1) if model == "a" else (0,):  # model b: one training seed
                        run = trained_run(method, budget, x, seed)
                        files.append((model, run, "bench", score_frame(acc, difficulty, 2, rng)))
    reasoner = score_frame({lang: 0.5 for lang in LANGS}, difficulty, 2, rng)
    files.append(("a", observational_run("reasoner"), "bench", reasoner))
    tables = analyse(files, ORDER, replicates=100)
    for name in ("accuracy", "mti", "gains", "runs"):
        getattr(tables, name).write_csv(root / f"{name}.csv")
    write_replicates(tables.replicates, root / "bootstrap.parquet")
    (root / "fits.json").write_text(json.dumps(scaling_law(tables.runs, tables.replicates)))
    for seed in (0, 1):  # two seeds of one run: one line in the reward curves
        history = root / "models" / "a" / f"grpo-grow-x2-s{seed}"
        history.mkdir(parents=True)
        rows = [{"step": s, "reward": 0.1 * s + seed, "rewards/accuracy_reward/mean": 0.05 * s} for s in range(1, 5)]
        (history / "log_history.json").write_text(json.dumps(rows))
    return root


def test_every_figure_and_the_summary_are_drawn(analysed: Path) -> None:
    outputs = [analysed / "out" / f"figure-{i}.png" for i in range(len(FIGURES))]  # names come from --names
    code = main(
        [
            "figures",
            "--accuracy",
            str(analysed / "accuracy.csv"),
            "--gains",
            str(analysed / "gains.csv"),
            "--runs",
            str(analysed / "runs.csv"),
            "--fits",
            str(analysed / "fits.json"),
            "--histories",
            str(analysed / "models" / "a" / "grpo-grow-x2-s0"),
            str(analysed / "models" / "a" / "grpo-grow-x2-s1"),
            "--history-labels",
            "a/grpo-grow-x2",
            "a/grpo-grow-x2",
            "--languages",
            ",".join(LANGS),
            "--names",
            *FIGURES,
            "--output",
            *map(str, outputs),
            "--summary",
            str(analysed / "out" / "results.rst"),
            "--headline",
            "scaling_law",
            str(analysed / "out" / "headline.rst"),
        ]
    )
    assert code == 0
    # the report's first page embeds the picture (docutils refuses lines over 10,000 characters)
    headline = (analysed / "out" / "headline.rst").read_text().splitlines()
    assert headline[0] == ".. image::" and headline[1].strip().startswith("data:image/png;base64,")
    assert max(map(len, headline)) < 100 and len(headline) > 100
    for path in outputs:
        assert path.stat().st_size > 5000, path
    summary = (analysed / "out" / "results.rst").read_text()
    assert summary.startswith("Results summary")
    for group in ("a, grpo, grow budget", "b, sft, fixed budget"):
        assert f"Scaling law: {group}" in summary
    assert "leave-one-X-out" in summary
    assert ".. list-table::" in summary and "obs-reasoner" in summary
    assert "off-target outside English (%)" in summary and "grpo_nolang-grow-x2" in summary  # the ablation's row
    # Model a pooled two seeds: its fits get verdicts; model b had one: its fits get none.
    part_a = summary.split("Scaling law: a, grpo, grow budget")[1].split("Scaling law: b,")[0]
    part_b = summary.split("Scaling law: b, grpo, grow budget")[1].split("Scaling law:")[0]
    assert "distinguishable from 0" in part_a
    assert "distinguishable" not in part_b and "not judged (one training seed" in part_b
    assert "One training seed per run" in summary  # min over runs: b's runs have one


def test_a_one_seed_summary_claims_no_difference(tmp_path) -> None:
    """A strong effect with one training seed: the intervals cover problem sampling only, so the
    summary must not call any effect distinguishable (a second seed could overturn it)."""
    from pscale.figures import summary_text

    rng = np.random.default_rng(1)
    difficulty = rng.random(60)
    files = [("m", initial_run(), "b", score_frame({lang: 0.2 for lang in LANGS}, difficulty, 2, rng))]
    for x in (1, 2, 3, 4, 5):
        acc = {lang: min(0.95, 0.3 * x**0.5) for lang in LANGS}
        files.append(("m", trained_run("grpo", "grow", x, 0), "b", score_frame(acc, difficulty, 2, rng)))
    tables = analyse(files, ORDER, replicates=100)
    fits = scaling_law(tables.runs, tables.replicates)
    assert fits["min_seeds"] == 1 and fits["groups"][0]["n_seeds"] == 1
    summary = summary_text(tables.runs, tables.gains, fits, tables.accuracy)
    assert "distinguishable" not in summary
    assert "not a verdict on training" in summary and "problem sampling only" in summary
    assert "off-target" in summary


def test_unknown_figure_name_is_an_error(analysed: Path) -> None:
    out = str(analysed / "nope.png")
    with pytest.raises(SystemExit) as err:  # argparse names the choices (the figure registry)
        main(["figures", "--runs", str(analysed / "runs.csv"), "--names", "nope", "--output", out])
    assert err.value.code == 2
    assert (
        main(["figures", "--runs", str(analysed / "runs.csv"), "--names", "rl_vs_sft", "mti_by_model", "--output", out])
        == 1
    )  # a name without its file


def test_verdict_says_when_an_effect_is_not_distinguishable_from_zero() -> None:
    assert "**not** distinguishable" in _verdict([-0.1, 0.2])
    assert "not judged" in _verdict([0.05, 0.2], seeds_resampled=False)
    assert "positive" in _verdict([0.05, 0.2]) and "negative" in _verdict([-0.3, -0.01])
    assert "cannot be judged" in _verdict([None, None])


def test_fit_groups_follow_the_config_model_order(analysed: Path) -> None:
    """The main model (first in the config), GRPO and the grow budget lead, and are the top level."""
    from pscale.analysis import read_replicates
    from pscale.figures import read_csv

    fits = scaling_law(
        read_csv(analysed / "runs.csv"), read_replicates(analysed / "bootstrap.parquet"), models=["b", "a"]
    )
    order = [(g["model"], g["method"], g["budget"]) for g in fits["groups"]]
    assert order[:3] == [("b", "grpo", "grow"), ("b", "grpo", "fixed"), ("b", "sft", "grow")]
    assert fits["accuracy"] == fits["groups"][0]["accuracy"]
