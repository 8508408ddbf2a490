"""Analysis: accuracy tables, the Multilingual Transferability Index, the Parallel Scaling Law.

MTI (the paper publishes no formula; this is the pipeline's definition, kept in `mti`):

    gain(l) = (acc_after(l) - acc_before(l)) / acc_before(l)      relative gain per language
    MTI     = mean gain over languages NOT in the training set
              / mean gain over languages IN the training set

MTI > 1: languages the model never trained on gained more, relative to where they started,
than its training languages. Zero baselines: a relative gain from 0 is undefined, so a
language with acc_before < min_baseline is either skipped (with a warning; default) or has
its baseline raised to min_baseline ("floor"). If the training languages did not gain
(mean gain <= 0) the ratio is meaningless and MTI is NaN.

Parallel Scaling Law: f(X) = alpha * X^beta fitted with lmfit over X >= fit_min_x; the
Monolingual Generalization Gap is f(1) - observed(1), the First-Parallel Leap observed(2) -
observed(1).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pscale.parallel_sets import subset_languages

log = logging.getLogger(__name__)

INIT_RUN = "init"
#: Below this mean relative gain of the training languages, MTI is undefined (NaN).
_MIN_SEEN_GAIN = 1e-9
#: Runs of off-the-shelf reasoning models (config `observational`), e.g. obs-r1-distill.
OBSERVATIONAL_PREFIX = "obs-"
_RUN = re.compile(r"^(?P<method>[a-z]+)-(?P<budget>grow|fixed)-x(?P<x>\d+)$")

ACCURACY_COLUMNS = (
    "model", "subset", "method", "budget", "n_languages", "benchmark", "lang", "accuracy", "off_target_rate", "n",
)


def run_id(method: str, budget: str, x: int) -> str:
    """The name of a trained model: e.g. grpo-grow-x3."""
    return f"{method}-{budget}-x{x}"


def parse_run(run: str) -> tuple[str, str, int]:
    """(method, budget, X) of a run name; the initial model is ("none", "none", 0).

    Observational models count as English-trained: ("observational", "none", 1).
    """
    if run == INIT_RUN:
        return "none", "none", 0
    if run.startswith(OBSERVATIONAL_PREFIX):
        return "observational", "none", 1
    match = _RUN.match(run)
    if match is None:
        raise ValueError(f"not a run name: '{run}' (expected init or <method>-<budget>-x<X>)")
    return match["method"], match["budget"], int(match["x"])


def accuracy_table(score_files: list[tuple[str, str, str, Path]]) -> pl.DataFrame:
    """Accuracy (pass@1 averaged over samples) and off-target rate per (model, subset, benchmark, lang).

    `score_files` lists (model, run, benchmark, path). A response is off-target when its
    detected language differs from the query language ("und" included).
    """
    frames = []
    for model, run, benchmark, path in score_files:
        method, budget, x = parse_run(run)
        frames.append(
            pl.read_parquet(path)
            .group_by("lang")
            .agg(
                pl.col("correct").cast(pl.Float64).mean().alias("accuracy"),
                (pl.col("detected_lang") != pl.col("lang")).cast(pl.Float64).mean().alias("off_target_rate"),
                pl.len().cast(pl.Int64).alias("n"),
            )
            .with_columns(
                pl.lit(model).alias("model"),
                pl.lit(run).alias("subset"),
                pl.lit(method).alias("method"),
                pl.lit(budget).alias("budget"),
                pl.lit(x, dtype=pl.Int64).alias("n_languages"),
                pl.lit(benchmark).alias("benchmark"),
            )
        )
    return pl.concat(frames).select(ACCURACY_COLUMNS).sort("model", "n_languages", "subset", "benchmark", "lang")


@dataclass
class MTIResult:
    mti: float
    gain_seen: float
    gain_unseen: float
    skipped: list[str] = field(default_factory=list)


def relative_gains(
    before: Mapping[str, float], after: Mapping[str, float], zero_baseline: str = "skip", min_baseline: float = 0.01
) -> tuple[dict[str, float], list[str]]:
    """Relative gain per language, and the languages skipped for a (near-)zero baseline."""
    gains: dict[str, float] = {}
    skipped: list[str] = []
    for lang, acc_after in after.items():
        acc_before = before[lang]
        if acc_before < min_baseline:
            if zero_baseline == "skip":
                skipped.append(lang)
                continue
            if zero_baseline != "floor":
                raise ValueError(f"unknown zero_baseline rule '{zero_baseline}' (skip or floor)")
            acc_before = min_baseline
        gains[lang] = (acc_after - acc_before) / acc_before
    return gains, skipped


def mti(
    before: Mapping[str, float],
    after: Mapping[str, float],
    train_langs: set[str] | list[str],
    zero_baseline: str = "skip",
    min_baseline: float = 0.01,
) -> MTIResult:
    """The Multilingual Transferability Index (definition in the module docstring)."""
    gains, skipped = relative_gains(before, after, zero_baseline, min_baseline)
    seen = [g for lang, g in gains.items() if lang in train_langs]
    unseen = [g for lang, g in gains.items() if lang not in train_langs]
    gain_seen = float(np.mean(seen)) if seen else math.nan
    gain_unseen = float(np.mean(unseen)) if unseen else math.nan
    # A float-noise denominator (seen gains cancelling out) would give an absurd ratio.
    value = gain_unseen / gain_seen if seen and unseen and gain_seen > _MIN_SEEN_GAIN else math.nan
    return MTIResult(value, gain_seen, gain_unseen, skipped)


def mti_table(
    accuracy: pl.DataFrame, parallel_order: list[str], zero_baseline: str = "skip", min_baseline: float = 0.01
) -> pl.DataFrame:
    """MTI of every trained run against its model's initial accuracy, per benchmark."""
    rows: list[dict[str, Any]] = []
    for (model, benchmark), group in accuracy.group_by("model", "benchmark", maintain_order=True):
        before = {r["lang"]: r["accuracy"] for r in group.filter(pl.col("subset") == INIT_RUN).iter_rows(named=True)}
        if not before:
            raise ValueError(f"no accuracy of the initial model '{model}' on '{benchmark}'")
        for (subset,), run in group.filter(pl.col("subset") != INIT_RUN).group_by("subset", maintain_order=True):
            method, budget, x = parse_run(subset)
            after = {r["lang"]: r["accuracy"] for r in run.iter_rows(named=True)}
            result = mti(before, after, set(subset_languages(x, parallel_order)), zero_baseline, min_baseline)
            if result.skipped:
                log.warning(
                    "MTI %s/%s/%s: skipped %s (initial accuracy below %s)",
                    model, subset, benchmark, result.skipped, min_baseline,
                )
            rows.append(
                {
                    "model": model, "subset": subset, "method": method, "budget": budget, "n_languages": x,
                    "benchmark": benchmark, "mti": result.mti, "gain_seen": result.gain_seen,
                    "gain_unseen": result.gain_unseen, "skipped_languages": ",".join(result.skipped),
                }
            )
    return pl.DataFrame(rows).sort("model", "method", "budget", "n_languages", "benchmark")


def power_law(x: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    return alpha * np.power(x, beta)


def fit_power_law(x: list[float], y: list[float]) -> dict[str, float]:
    """Least-squares fit of y = alpha * x^beta with lmfit; stderr is NaN with < 3 points."""
    from lmfit import Model

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    if len(xs) < 2:
        raise ValueError(f"a power-law fit needs at least 2 finite points, got {len(xs)}")
    if np.all(ys > 0):  # start from the log-log line
        beta0, log_alpha0 = np.polyfit(np.log(xs), np.log(ys), 1)
        alpha0 = float(np.exp(log_alpha0))
    else:
        alpha0, beta0 = float(np.mean(ys)) or 1.0, 0.0
    result = Model(power_law).fit(ys, x=xs, alpha=alpha0, beta=float(beta0))
    alpha, beta = result.params["alpha"], result.params["beta"]

    def stderr(p: Any) -> float:
        return float(p.stderr) if p.stderr is not None else math.nan

    return {
        "alpha": float(alpha.value),
        "beta": float(beta.value),
        "alpha_stderr": stderr(alpha),
        "beta_stderr": stderr(beta),
        "r_squared": float(getattr(result, "rsquared", math.nan)),
        "n_points": len(xs),
    }


def _curve(points: dict[int, float], fit_min_x: int) -> dict[str, Any]:
    xs = sorted(x for x in points if x >= fit_min_x and math.isfinite(points[x]))
    fit = fit_power_law(xs, [points[x] for x in xs])
    observed_x1 = points.get(1, math.nan)
    predicted_x1 = fit["alpha"]  # f(1) = alpha
    leap = points.get(2, math.nan) - observed_x1
    return {
        **fit,
        "predicted_x1": predicted_x1,
        "observed_x1": observed_x1,
        "gap": predicted_x1 - observed_x1,
        "first_parallel_leap": leap,
        "first_parallel_leap_ratio": points.get(2, math.nan) / observed_x1 if observed_x1 else math.nan,
        "points": {str(x): points[x] for x in sorted(points)},
    }


def scaling_law(accuracy: pl.DataFrame, mti_frame: pl.DataFrame, fit_min_x: int = 2) -> dict[str, Any]:
    """Power-law fits of MTI and accuracy over X, one group per (model, method, budget).

    Per X, MTI is averaged over benchmarks and accuracy over benchmarks and languages.
    The first group is also reported at the top level (`mti`, `accuracy`). Observational
    models are not a series in X and are left out of the fits (they are in the tables).
    """
    groups: list[dict[str, Any]] = []
    trained = accuracy.filter((pl.col("subset") != INIT_RUN) & (pl.col("method") != "observational"))
    for (model, method, budget), part in trained.group_by("model", "method", "budget", maintain_order=True):
        acc_points = {
            int(r["n_languages"]): float(r["accuracy"])
            for r in part.group_by("n_languages").agg(pl.col("accuracy").mean()).iter_rows(named=True)
        }
        mti_part = mti_frame.filter(
            (pl.col("model") == model) & (pl.col("method") == method) & (pl.col("budget") == budget)
        )
        mti_points = {
            int(r["n_languages"]): float(r["mti"]) if r["mti"] is not None else math.nan
            for r in mti_part.group_by("n_languages").agg(pl.col("mti").fill_nan(None).mean()).iter_rows(named=True)
        }
        group: dict[str, Any] = {"model": model, "method": method, "budget": budget}
        for name, points in (("mti", mti_points), ("accuracy", acc_points)):
            try:
                group[name] = _curve(points, fit_min_x)
            except ValueError as err:
                log.warning("no %s fit for %s/%s/%s: %s", name, model, method, budget, err)
                group[name] = {"error": str(err), "points": {str(x): v for x, v in sorted(points.items())}}
        groups.append(group)
    if not groups:
        raise ValueError("no trained runs in the accuracy table: nothing to fit")
    return {"mti": groups[0]["mti"], "accuracy": groups[0]["accuracy"], "fit_min_x": fit_min_x, "groups": groups}
