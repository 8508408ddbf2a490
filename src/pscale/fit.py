"""The Parallel Scaling Law: f(X) = alpha * X^beta fitted with lmfit over X >= fit_min_x, refitted
on every bootstrap replicate of the runs table (pscale.analysis) for its intervals, and checked by
leave-one-X-out.

The Monolingual Generalization Gap is f(1) - observed(1), the First-Parallel Leap observed(2) -
observed(1). One model (`power_law`), one optimiser (lmfit's least squares): the single fit with
its standard errors (`fit_power_law`) and the fits of every bootstrap replicate
(`fit_power_law_rows`) find the same minimum from the same log-log start.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from pscale.errors import UserError
from pscale.runs import INIT_RUN, POOLED

log = logging.getLogger(__name__)

#: Free parameters of f(X) = alpha * X^beta; leave-one-X-out needs n_params + 2 points.
N_LAW_PARAMS = 2
LOO_MIN_POINTS = N_LAW_PARAMS + 2
#: Smaller magnitudes are float noise, i.e. 0 (an all-zero curve has no exponent).
_ZERO = 1e-12
#: leastsq's stopping tolerances: its defaults (1.5e-8) stop in the flat valley of a noisy curve
#: (an MTI's) up to 1e-4 away from the minimum, and by how far depends on where the fit started.
_TOLERANCES = {"xtol": 1e-12, "ftol": 1e-12}
#: Residual evaluations before a replicate's fit is given up as failed (NaN). A curve the law fits
#: converges in tens; a noisy MTI replicate without a finite minimum (beta running off to +-inf)
#: would otherwise use leastsq's 6,000, tens of seconds over a bootstrap.
_MAX_EVALS = 500


def power_law(x: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    return alpha * np.power(x, beta)


def _loglog_start(xs: np.ndarray, ys: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The least-squares start of every row at once (numpy): the log-log line where every y > 0,
    else (mean y, 0), from which lmfit converges in a few steps."""
    logx = np.log(xs)[None, :]
    positive = np.where(mask, ys > 0, True).all(axis=1)
    logy = np.log(np.where(mask & (ys > 0), ys, 1.0))
    w = mask.astype(float)
    n = w.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = (w * logx).sum(1) / n
        my = (w * logy).sum(1) / n
        sxx = (w * (logx - mx[:, None]) ** 2).sum(1)
        beta = np.where(sxx > 0, (w * (logx - mx[:, None]) * (logy - my[:, None])).sum(1) / sxx, 0.0)
        alpha = np.exp(my - beta * mx)
        mean_y = (w * np.where(mask, ys, 0)).sum(1) / n
    alpha = np.where(positive, alpha, np.where(mean_y != 0, mean_y, 1.0))
    beta = np.where(positive, beta, 0.0)
    return alpha, beta


def _residual(params: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return power_law(x, params["alpha"].value, params["beta"].value) - y


def fit_power_law_rows(x: list[float] | np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares alpha, beta of y = alpha * x^beta for every row of y (bootstrap replicates, or
    one row), each by lmfit from its log-log start; NaN entries of y are left out of that row's fit.

    A row with fewer than two finite points, or all zero (beta undefined), gets NaN, and so does a
    row whose fit fails: lmfit stops on a step whose residuals overflow, or finds no minimum within
    _MAX_EVALS evaluations. The intervals count it as a failed replicate. `lmfit.minimize` without
    the covariance rather than `Model.fit`: the same least squares (leastsq), at 0.5 ms a fit
    instead of 1.5 ms (the paper's fit refits 48,000 replicates).
    """
    from lmfit import Parameters, minimize

    xs = np.asarray(x, dtype=float)
    ys = np.atleast_2d(np.asarray(y, dtype=float))
    mask = np.isfinite(ys)
    alpha0, beta0 = _loglog_start(xs, ys, mask)
    alpha, beta = np.full(len(ys), np.nan), np.full(len(ys), np.nan)
    curve = (mask.sum(1) >= 2) & np.any(mask & (np.abs(np.where(mask, ys, 0.0)) >= _ZERO), axis=1)
    params = Parameters()
    params.add("alpha")
    params.add("beta")
    for row in np.flatnonzero(curve):
        ok = mask[row]
        params["alpha"].value, params["beta"].value = alpha0[row], beta0[row]  # minimize fits a copy
        try:
            result = minimize(
                _residual, params, args=(xs[ok], ys[row, ok]), calc_covar=False, max_nfev=_MAX_EVALS, **_TOLERANCES
            )
        except ValueError:  # NaN residuals
            continue
        if result.success:
            alpha[row], beta[row] = result.params["alpha"].value, result.params["beta"].value
    return alpha, beta


def fit_power_law(x: list[float], y: list[float]) -> dict[str, float]:
    """Least-squares fit of y = alpha * x^beta with lmfit; stderr is NaN with < 3 points. Points
    no power law fits (least squares without a minimum) are a ValueError, as too few points are."""
    from lmfit import Model

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    if len(xs) < 2:
        raise ValueError(f"a power-law fit needs at least 2 finite points, got {len(xs)}")
    if np.all(np.abs(ys) < _ZERO):
        raise ValueError("every point is 0: alpha is 0 and the exponent beta is undefined")
    alpha0, beta0 = (float(v[0]) for v in _loglog_start(xs, ys[None, :], np.ones((1, len(xs)), bool)))
    result = Model(power_law).fit(ys, x=xs, alpha=alpha0, beta=beta0, max_nfev=_MAX_EVALS, fit_kws=_TOLERANCES)
    if not result.success:
        raise ValueError(
            f"no minimum within {_MAX_EVALS} evaluations (the exponent runs off): no power law fits these points"
        )
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


def leave_one_out(points: Mapping[int, float], fit_min_x: int) -> dict[str, Any]:
    """Leave-one-X-out: fit the law without X (on the other X >= fit_min_x), predict X.

    The error is predicted - observed; the baseline predicts X by the mean of the other points
    (a flat line), so a law that predicts no better than "nothing changes with X" shows it.
    With at most n_params + 1 = 3 points every left-out fit is an exact curve through 2 points:
    the comparison has no degree of freedom left to test, so no verdict is drawn.
    """
    xs = sorted(x for x in points if x >= fit_min_x and math.isfinite(points[x]))
    if len(xs) < LOO_MIN_POINTS:
        return {
            "error": f"{len(xs)} fitted points: leave-one-X-out needs at least {LOO_MIN_POINTS} for a "
            f"{N_LAW_PARAMS}-parameter law (each left-out fit would pass exactly through the rest), so no verdict"
        }
    rows = []
    for left_out in xs:
        rest = [x for x in xs if x != left_out]
        alpha, beta = fit_power_law_rows(rest, np.array([[points[x] for x in rest]]))
        predicted = float(power_law(np.float64(left_out), alpha[0], beta[0]))
        flat = float(np.mean([points[x] for x in rest]))
        rows.append(
            {
                "x": left_out,
                "observed": points[left_out],
                "predicted": predicted,
                "error": predicted - points[left_out],
                "baseline_error": flat - points[left_out],
            }
        )
    return {
        "points": rows,
        "mean_abs_error": float(np.mean([abs(r["error"]) for r in rows])),
        "baseline_mean_abs_error": float(np.mean([abs(r["baseline_error"]) for r in rows])),
    }


def _interval(values: np.ndarray, confidence: float) -> list[float | None]:
    finite = values[np.isfinite(values)]
    if len(values) == 0 or len(finite) < 0.975 * len(values):
        return [None, None]
    tail = (1 - confidence) / 2 * 100
    return [float(v) for v in np.percentile(finite, [tail, 100 - tail])]


def _excludes_zero(ci: list[float | None]) -> bool | None:
    """True when the interval excludes 0 (by more than float noise); None when it is undefined."""
    if ci[0] is None or ci[1] is None:
        return None
    return bool(ci[0] > _ZERO or ci[1] < -_ZERO)


def _curve(points: dict[int, float], reps: dict[int, np.ndarray], fit_min_x: int, confidence: float) -> dict[str, Any]:
    xs = sorted(x for x in points if x >= fit_min_x and math.isfinite(points[x]))
    fit = fit_power_law(xs, [points[x] for x in xs])
    observed_x1 = points.get(1, math.nan)
    predicted_x1 = fit["alpha"]  # f(1) = alpha
    leap = points.get(2, math.nan) - observed_x1
    curve: dict[str, Any] = {
        **fit,
        "predicted_x1": predicted_x1,
        "observed_x1": observed_x1,
        "gap": predicted_x1 - observed_x1,
        "first_parallel_leap": leap,
        "first_parallel_leap_ratio": points.get(2, math.nan) / observed_x1 if observed_x1 else math.nan,
        "points": {str(x): points[x] for x in sorted(points)},
    }
    if reps:
        n_reps = len(next(iter(reps.values())))
        nan = np.full(n_reps, np.nan)
        alpha, beta = fit_power_law_rows(xs, np.stack([reps.get(x, nan) for x in xs], axis=1))
        obs1, obs2 = reps.get(1, nan), reps.get(2, nan)
        curve["points_ci"] = {str(x): _interval(reps[x], confidence) for x in sorted(reps)}
        curve["alpha_ci"] = _interval(alpha, confidence)
        curve["beta_ci"] = _interval(beta, confidence)
        curve["gap_ci"] = _interval(alpha - obs1, confidence)
        curve["first_parallel_leap_ci"] = _interval(obs2 - obs1, confidence)
        curve["n_replicates"] = int(np.isfinite(beta).sum())
        grid = np.linspace(1, max(max(points), 2), 50)
        ok = np.isfinite(alpha) & np.isfinite(beta)
        band = power_law(grid[None, :], alpha[ok, None], beta[ok, None]) if ok.any() else np.empty((0, 50))
        tail = (1 - confidence) / 2 * 100
        low, high = np.percentile(band, [tail, 100 - tail], axis=0) if ok.any() else (grid * np.nan,) * 2
        curve["band"] = {"x": grid.tolist(), "low": list(map(float, low)), "high": list(map(float, high))}
    else:
        for key in ("alpha_ci", "beta_ci", "gap_ci", "first_parallel_leap_ci"):
            curve[key] = [None, None]
    curve["distinguishable_from_zero"] = {
        "beta": _excludes_zero(curve["beta_ci"]),
        "gap": _excludes_zero(curve["gap_ci"]),
        "first_parallel_leap": _excludes_zero(curve["first_parallel_leap_ci"]),
    }
    curve["loo"] = leave_one_out(points, fit_min_x)
    return curve


def _group(
    part: pl.DataFrame,
    replicates: Mapping[tuple[str, str, str], Mapping[str, np.ndarray]],
    fit_min_x: int,
    confidence: float,
) -> dict[str, Any]:
    """The MTI and accuracy curves of one (model, method, budget): its pooled rows of the runs table."""
    model, method, budget = part["model"][0], part["method"][0], part["budget"][0]
    seeds = part["n_seeds"].min() if "n_seeds" in part.columns else None
    group: dict[str, Any] = {"model": model, "method": method, "budget": budget, "n_seeds": int(seeds or 1)}
    for name in ("mti", "accuracy"):
        points: dict[int, float] = {}
        reps: dict[int, np.ndarray] = {}
        for r in part.iter_rows(named=True):
            x = int(r["n_languages"])
            points[x] = float(r[name]) if r[name] is not None else math.nan
            rep = replicates.get((model, r["run"], POOLED), {}).get(name)
            if rep is not None:
                reps[x] = rep
        try:
            group[name] = _curve(points, reps, fit_min_x, confidence)
        except ValueError as err:
            log.warning("no %s fit for %s/%s/%s: %s", name, model, method, budget, err)
            group[name] = {"error": str(err), "points": {str(x): v for x, v in sorted(points.items())}}
    return group


def scaling_law(
    runs: pl.DataFrame,
    replicates: Mapping[tuple[str, str, str], Mapping[str, np.ndarray]] | None = None,
    fit_min_x: int = 2,
    confidence: float = 0.95,
    models: list[str] | None = None,
) -> dict[str, Any]:
    """Power-law fits of MTI and accuracy over X, one group per (model, method, budget).

    `runs` is the runs table (per run: accuracy averaged over benchmarks and languages, MTI
    over benchmarks), pooled over seeds; `replicates` its bootstrap replicates, refitted one by
    one for the intervals. Groups are ordered by `models` (the config's order: the first is the
    main model), GRPO before SFT, grow before fixed; the first group is also reported at the top
    level (`mti`, `accuracy`). Observational models are not a series in X and are left out.
    """
    replicates = replicates or {}
    trained = runs.filter(
        (pl.col("seed") == POOLED) & (pl.col("run") != INIT_RUN) & (pl.col("method") != "observational")
    )
    groups = [
        _group(part, replicates, fit_min_x, confidence)
        for _, part in trained.group_by("model", "method", "budget", maintain_order=True)
    ]
    if not groups:
        raise UserError("no trained runs in the runs table: nothing to fit")
    order = list(models or [])
    groups.sort(
        key=lambda g: (
            order.index(g["model"]) if g["model"] in order else len(order),
            g["model"],
            g["method"] != "grpo",
            "_" in g["method"],  # ablations (grpo_nolang) after the methods
            g["method"],
            g["budget"] != "grow",
        )
    )
    n_reps = len(next(iter(next(iter(replicates.values())).values()))) if replicates else 0
    return {
        "mti": groups[0]["mti"],
        "accuracy": groups[0]["accuracy"],
        "fit_min_x": fit_min_x,
        "confidence": confidence,
        "bootstrap_replicates": n_reps,
        # Intervals include training variance only where every run pooled several seeds.
        "min_seeds": min(g["n_seeds"] for g in groups),
        "groups": groups,
    }
