from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from pscale.analysis import accuracy_table, fit_power_law, mti, mti_table, parse_run, run_id, scaling_law

ORDER = ["es", "ru", "de"]


def test_run_names_round_trip() -> None:
    assert parse_run(run_id("grpo", "fixed", 3)) == ("grpo", "fixed", 3)
    assert parse_run("init") == ("none", "none", 0)
    with pytest.raises(ValueError, match="not a run name"):
        parse_run("grpo-x3")


def test_mti_known_value() -> None:
    before = {"en": 0.5, "es": 0.2, "ja": 0.1, "te": 0.4}
    after = {"en": 0.6, "es": 0.3, "ja": 0.2, "te": 0.5}
    # gains: en 0.2, es 0.5 (seen: mean 0.35); ja 1.0, te 0.25 (unseen: mean 0.625)
    result = mti(before, after, {"en", "es"})
    assert result.gain_seen == pytest.approx(0.35)
    assert result.gain_unseen == pytest.approx(0.625)
    assert result.mti == pytest.approx(0.625 / 0.35)


def test_mti_zero_baseline_rules() -> None:
    before = {"en": 0.5, "ja": 0.0, "te": 0.2}
    after = {"en": 1.0, "ja": 0.1, "te": 0.3}
    skipped = mti(before, after, {"en"}, zero_baseline="skip", min_baseline=0.05)
    assert skipped.skipped == ["ja"]
    assert skipped.mti == pytest.approx(0.5 / 1.0)
    floored = mti(before, after, {"en"}, zero_baseline="floor", min_baseline=0.05)
    assert floored.skipped == []
    assert floored.mti == pytest.approx(((0.1 - 0.05) / 0.05 + 0.5) / 2 / 1.0)


def test_mti_undefined_when_training_languages_did_not_gain() -> None:
    assert math.isnan(mti({"en": 0.5, "ja": 0.5}, {"en": 0.4, "ja": 0.6}, {"en"}).mti)
    # seen gains that cancel to float noise (+0.1 and -0.1 relative) must not explode the ratio
    cancelled = mti({"en": 0.3, "es": 0.7, "ja": 0.5}, {"en": 0.33, "es": 0.63, "ja": 0.6}, {"en", "es"})
    assert abs(cancelled.gain_seen) < 1e-9 and math.isnan(cancelled.mti)


def test_power_law_fit_recovers_coefficients() -> None:
    xs = np.array([2, 3, 4, 5, 6, 7, 8], dtype=float)
    fit = fit_power_law(xs.tolist(), (2.0 * xs**0.29).tolist())
    assert fit["alpha"] == pytest.approx(2.0, rel=1e-4)
    assert fit["beta"] == pytest.approx(0.29, rel=1e-4)
    rng = np.random.default_rng(0)
    noisy = fit_power_law(xs.tolist(), (56.98 * xs**0.02 * (1 + 0.002 * rng.standard_normal(len(xs)))).tolist())
    assert abs(noisy["alpha"] - 56.98) < 4 * noisy["alpha_stderr"] + 0.5
    assert abs(noisy["beta"] - 0.02) < 4 * noisy["beta_stderr"] + 0.005
    assert noisy["beta_stderr"] > 0


def test_fit_needs_two_points() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        fit_power_law([2.0], [1.0])


def _scores(tmp_path, model: str, run: str, bench: str, rows: list[tuple[str, bool, str]]):
    path = tmp_path / model / run / f"{bench}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "id": [f"q{i}" for i in range(len(rows))],
            "lang": [r[0] for r in rows],
            "sample": [0] * len(rows),
            "response": ["r"] * len(rows),
            "extracted": ["1"] * len(rows),
            "correct": [r[1] for r in rows],
            "detected_lang": [r[2] for r in rows],
        }
    ).write_parquet(path)
    return (model, run, bench, path)


def test_accuracy_table_counts(tmp_path) -> None:
    files = [
        _scores(tmp_path, "m", "init", "b", [("en", True, "en"), ("en", False, "en"), ("ja", False, "en")]),
        _scores(tmp_path, "m", "grpo-grow-x2", "b", [("en", True, "en"), ("ja", True, "und")]),
    ]
    table = accuracy_table(files)
    row = table.filter((pl.col("subset") == "init") & (pl.col("lang") == "en")).row(0, named=True)
    assert row["accuracy"] == pytest.approx(0.5) and row["off_target_rate"] == 0 and row["n"] == 2
    ja = table.filter((pl.col("subset") == "grpo-grow-x2") & (pl.col("lang") == "ja")).row(0, named=True)
    assert ja["accuracy"] == 1.0 and ja["off_target_rate"] == 1.0 and ja["n_languages"] == 2


def _accuracy_frame(values: dict[str, dict[str, float]]) -> pl.DataFrame:
    rows = []
    for subset, per_lang in values.items():
        method, budget, x = parse_run(subset)
        for lang, acc in per_lang.items():
            rows.append(
                {"model": "m", "subset": subset, "method": method, "budget": budget, "n_languages": x,
                 "benchmark": "b", "lang": lang, "accuracy": acc, "off_target_rate": 0.0, "n": 10}
            )
    return pl.DataFrame(rows)


def test_mti_table_uses_subset_languages() -> None:
    acc = _accuracy_frame(
        {
            "init": {"en": 0.5, "es": 0.2, "ru": 0.2, "ja": 0.1},
            "grpo-grow-x2": {"en": 0.6, "es": 0.3, "ru": 0.3, "ja": 0.2},
        }
    )
    table = mti_table(acc, ORDER)
    # seen = en, es: gains 0.2, 0.5; unseen = ru, ja: gains 0.5, 1.0
    assert table["mti"][0] == pytest.approx(0.75 / 0.35)


def test_scaling_law_gap_and_leap() -> None:
    values = {"init": {"en": 0.1, "ja": 0.1}}
    for x in (1, 2, 3, 4):
        values[run_id("grpo", "grow", x)] = {"en": 0.2 * x**0.5, "ja": 0.2 * x**0.5}
    values["grpo-grow-x1"] = {"en": 0.1, "ja": 0.1}  # observed X=1 below the law
    acc = _accuracy_frame(values)
    order = ["ja", "ru", "de"]
    fits = scaling_law(acc, mti_table(acc, order), fit_min_x=2)
    curve = fits["accuracy"]
    assert curve["alpha"] == pytest.approx(0.2, rel=1e-3) and curve["beta"] == pytest.approx(0.5, rel=1e-3)
    assert curve["observed_x1"] == pytest.approx(0.1)
    assert curve["gap"] == pytest.approx(0.1, rel=1e-3)
    assert curve["first_parallel_leap"] == pytest.approx(0.2 * 2**0.5 - 0.1)
    assert fits["groups"][0]["model"] == "m"
