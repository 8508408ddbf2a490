"""Analysis: accuracy tables, the Multilingual Transferability Index, the Parallel Scaling Law,
and the uncertainty of every one of them.

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

Uncertainty: a paired, nested bootstrap. The benchmarks are parallel (the same problem ids in
every language), so one resample of problem ids (multinomial weights per benchmark) is applied
to every language, to the initial model and to every trained model alike: differences between
them (gains, MTI) keep their pairing. Samples are nested within problems: a problem is
resampled together with all of its samples (resampling the samples again would count their
variance twice). With several training seeds, each replicate also resamples the seeds. Each
replicate recomputes every statistic exactly as on the data (the same `mti`, the same fit), and
95% intervals are percentiles of the replicates. Everything is vectorised over problems: one
replicate of a score file is a weighted sum, `weights @ correct`.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pscale.errors import UserError
from pscale.parallel_sets import subset_languages

log = logging.getLogger(__name__)

INIT_RUN = "init"
#: The `seed` value of rows pooled over training seeds (the headline rows; the only rows of
#: the initial and observational models, and of trained runs with a single seed).
POOLED = "all"
#: Below this mean relative gain of the training languages, MTI is undefined (NaN).
_MIN_SEEN_GAIN = 1e-9
#: Smaller magnitudes are float noise, i.e. 0 (an all-zero curve has no exponent).
_ZERO = 1e-12
#: Runs of off-the-shelf reasoning models (config `observational`), e.g. obs-r1-distill.
OBSERVATIONAL_PREFIX = "obs-"
_METHOD, BUDGET_PATTERN, _OBSERVED_NAME = "[a-z]+", "grow|fixed", "[a-z0-9._-]+"
_RUN = re.compile(rf"^(?P<method>{_METHOD})-(?P<budget>{BUDGET_PATTERN})-x(?P<x>[0-9]+)(?:-s(?P<seed>[0-9]+))?$")
#: Every evaluated run's name, as a regular expression without groups (the workflow's `run`
#: wildcard): init, <method>-<budget>-x<X>-s<seed> (run_id), obs-<name>.
RUN_PATTERN = rf"{INIT_RUN}|{_METHOD}-(?:{BUDGET_PATTERN})-x[0-9]+-s[0-9]+|{OBSERVATIONAL_PREFIX}{_OBSERVED_NAME}"

_KEYS = ("model", "run", "method", "budget", "n_languages", "seed")
ACCURACY_COLUMNS = (
    *_KEYS,
    "benchmark",
    "lang",
    "accuracy",
    "ci_low",
    "ci_high",
    "off_target_rate",
    "lang_share",
    "n",
    "n_problems",
)
#: mti.csv's gains are relative (the MTI's numerator and denominator); runs.csv's gain_seen and
#: gain_unseen are absolute (accuracy differences): distinct names for distinct quantities.
MTI_COLUMNS = (
    *_KEYS,
    "benchmark",
    "mti",
    "mti_ci_low",
    "mti_ci_high",
    "relative_gain_seen",
    "relative_gain_unseen",
    "skipped_languages",
)
GAIN_COLUMNS = (*_KEYS, "benchmark", "lang", "gain", "gain_ci_low", "gain_ci_high")
RUN_COLUMNS = (
    *_KEYS,
    "n_seeds",
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "mti",
    "mti_ci_low",
    "mti_ci_high",
    "gain_seen",
    "gain_seen_ci_low",
    "gain_seen_ci_high",
    "gain_unseen",
    "gain_unseen_ci_low",
    "gain_unseen_ci_high",
)
#: How long each trained run trained (pscale.train's training.json): appended to runs.csv; null for
#: the initial and observational models; the mean over seeds in a pooled row.
TRAINING_COLUMNS = ("steps", "epochs", "prompts_seen")
#: Quantities of runs.csv whose bootstrap replicates go to the replicate file (read by `fit`).
REPLICATED = ("accuracy", "mti", "gain_seen", "gain_unseen")


def run_id(method: str, budget: str, x: int, seed: int | None = None) -> str:
    """The name of a trained model: e.g. grpo-grow-x3-s0 (seed 0); without a seed, its training set."""
    base = f"{method}-{budget}-x{x}"
    return base if seed is None else f"{base}-s{seed}"


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
        raise UserError(f"not a run name: '{run}' (expected init or <method>-<budget>-x<X>[-s<seed>])")
    return match["method"], match["budget"], int(match["x"])


def split_seed(run: str) -> tuple[str, int | None]:
    """(run without its seed, seed): grpo-grow-x3-s1 -> ("grpo-grow-x3", 1); init and observational runs
    have no seed."""
    match = _RUN.match(run)
    if match is None or match["seed"] is None:
        return run, None
    return run[: match.start("seed") - 2], int(match["seed"])


# --------------------------------------------------------------------------------------------
# MTI


@dataclass
class MTIResult:
    mti: Any  # float, or an array over bootstrap replicates
    gain_seen: Any
    gain_unseen: Any
    skipped: list[str] = field(default_factory=list)


def _nanmean(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis ignoring NaN; NaN (no warning) where nothing is finite."""
    finite = np.isfinite(values)
    count = finite.sum(axis=-1)
    total = np.where(finite, values, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _scalar(value: np.ndarray) -> Any:
    return float(value) if np.ndim(value) == 0 else value


def mti(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    train_langs: set[str] | list[str],
    zero_baseline: str = "skip",
    min_baseline: float = 0.01,
) -> MTIResult:
    """The Multilingual Transferability Index (definition in the module docstring).

    `before`/`after` map language -> accuracy: a float, or an array of bootstrap replicates
    (the same shape for every language), so that each replicate is judged by this one
    definition. With arrays, the zero-baseline rule applies per replicate.
    """
    if zero_baseline not in ("skip", "floor"):
        raise UserError(f"unknown zero_baseline rule '{zero_baseline}' (skip or floor)")
    langs = list(after)
    acc_before = np.stack([np.asarray(before[lang], dtype=float) for lang in langs], axis=-1)
    acc_after = np.stack([np.asarray(after[lang], dtype=float) for lang in langs], axis=-1)
    low = acc_before < min_baseline
    base = np.where(low, min_baseline, acc_before)
    gains = (acc_after - base) / base
    skipped: list[str] = []
    if zero_baseline == "skip":
        gains = np.where(low, np.nan, gains)
        ever = low.reshape(-1, len(langs)).any(axis=0)
        skipped = [lang for lang, s in zip(langs, ever, strict=True) if s]
    seen = np.array([lang in train_langs for lang in langs])
    gain_seen = _nanmean(gains[..., seen]) if seen.any() else np.full(gains.shape[:-1], np.nan)
    gain_unseen = _nanmean(gains[..., ~seen]) if (~seen).any() else np.full(gains.shape[:-1], np.nan)
    # A float-noise denominator (seen gains cancelling out) would give an absurd ratio.
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(gain_seen > _MIN_SEEN_GAIN, gain_unseen / gain_seen, np.nan)
    return MTIResult(_scalar(value), _scalar(gain_seen), _scalar(gain_unseen), skipped)


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
            acc_before = min_baseline
        gains[lang] = (acc_after - acc_before) / acc_before
    return gains, skipped


# --------------------------------------------------------------------------------------------
# Intervals


def percentile_ci(replicates: np.ndarray, confidence: float = 0.95, min_finite: float = 0.975) -> np.ndarray:
    """Percentile interval over axis 0; NaN where fewer than `min_finite` of the replicates are finite.

    A statistic undefined in more than a few replicates (an MTI whose training languages did not
    gain in some resamples) has no bounded interval: say so (NaN) rather than hide the failures.
    """
    reps = np.asarray(replicates, dtype=float)
    tail = (1 - confidence) / 2 * 100
    finite = np.isfinite(reps)
    ok = finite.mean(axis=0) >= min_finite if reps.shape[0] else np.zeros(reps.shape[1:], bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: NaN, judged by `ok`
        bounds = np.nanpercentile(np.where(finite, reps, np.nan), [tail, 100 - tail], axis=0)
    return np.where(ok, bounds, np.nan)


def wilson(p: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion p out of n independent trials."""
    from statistics import NormalDist

    if n <= 0 or not math.isfinite(p):
        return math.nan, math.nan
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def problem_weights(n_problems: int, replicates: int, seed: int, key: str) -> np.ndarray:
    """(replicates, n_problems) multinomial resampling counts of one benchmark's problems.

    Seeded by the bootstrap seed and the benchmark name only, so every model and run evaluated on
    the benchmark gets the same resamples (the pairing) and reruns reproduce them.
    """
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    return rng.multinomial(n_problems, np.full(n_problems, 1 / n_problems), size=replicates).astype(float)


def seed_draws(n_seeds: int, replicates: int, seed: int) -> np.ndarray:
    """(replicates, n_seeds) indices of the training seeds drawn with replacement per replicate."""
    rng = np.random.default_rng([seed, 1_000_003, n_seeds])
    return rng.integers(0, n_seeds, size=(replicates, n_seeds))


# --------------------------------------------------------------------------------------------
# Score files -> problem x language matrices


@dataclass
class ScoreMatrix:
    """One score file as (problem, language) sums: correct, samples, off-target, lang share."""

    correct: np.ndarray
    count: np.ndarray
    off_target: np.ndarray
    lang_share: np.ndarray


def read_scores(path: Path | pl.DataFrame, on_target_share: float = 0.5) -> pl.DataFrame:
    """Per (lang, id): sums of correct, samples, off-target responses and language share.

    A response is off-target when the share of its letters in the query language
    (`lang_share`) is below `on_target_share`; score files without `lang_share` fall back to
    the whole-response label (`detected_lang != lang`, share 1 or 0).
    """
    if isinstance(path, pl.DataFrame):
        schema = path.schema
    else:
        try:
            schema = pl.read_parquet_schema(path)
        except Exception as err:  # truncated or not Parquet: name the file, say how to redo it
            raise UserError(f"score file {path} cannot be read ({err}): run `make run REDO={path}`") from None
    has_share = "lang_share" in schema
    columns = ["id", "lang", "correct", *(["lang_share"] if has_share else ["detected_lang"])]
    missing = [c for c in columns if c not in schema]
    if missing:
        raise UserError(f"score file {path} lacks column(s) {missing}: run `make run REDO={path}`")
    frame = path.select(columns) if isinstance(path, pl.DataFrame) else pl.read_parquet(path, columns=columns)
    share = (
        pl.col("lang_share").cast(pl.Float64).fill_null(0.0)
        if has_share
        else (pl.col("detected_lang") == pl.col("lang")).cast(pl.Float64)
    )
    return (
        frame.with_columns(pl.col("id").cast(pl.String), share.alias("_share"))
        .group_by("lang", "id")
        .agg(
            pl.col("correct").cast(pl.Float64).sum().alias("correct"),
            pl.len().cast(pl.Float64).alias("count"),
            (pl.col("_share") < on_target_share).cast(pl.Float64).sum().alias("off_target"),
            pl.col("_share").sum().alias("lang_share"),
        )
    )


def _matrix(grouped: pl.DataFrame, ids: dict[str, int], langs: dict[str, int]) -> ScoreMatrix:
    shape = (len(ids), len(langs))
    rows = np.array([ids[i] for i in grouped["id"].to_list()], dtype=int)
    cols = np.array([langs[lang] for lang in grouped["lang"].to_list()], dtype=int)
    out = {}
    for name in ("correct", "count", "off_target", "lang_share"):
        values = np.zeros(shape)
        values[rows, cols] = grouped[name].to_numpy()
        out[name] = values
    return ScoreMatrix(**out)


# --------------------------------------------------------------------------------------------
# Tables with intervals


@dataclass
class Tables:
    accuracy: pl.DataFrame
    mti: pl.DataFrame
    gains: pl.DataFrame
    runs: pl.DataFrame
    #: (model, run, seed) -> quantity -> (replicates,) array, for the rows of `runs`.
    replicates: dict[tuple[str, str, str], dict[str, np.ndarray]]


@dataclass
class _Run:
    """Accuracy point estimates and replicates of one (model, run, seed) on one benchmark."""

    point: np.ndarray  # (L,)
    reps: np.ndarray  # (B, L)
    off_target: np.ndarray  # (L,)
    lang_share: np.ndarray
    n: np.ndarray
    n_problems: np.ndarray


def _run_stats(mats: list[ScoreMatrix], weights: np.ndarray, draws: np.ndarray | None) -> _Run:
    """Pooled over seeds: the mean of per-seed accuracies; replicates resample problems (and seeds)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        points = np.stack([m.correct.sum(0) / m.count.sum(0) for m in mats])  # (S, L)
        reps = np.stack([(weights @ m.correct) / (weights @ m.count) for m in mats])  # (S, B, L)
    if len(mats) == 1:
        pooled_reps = reps[0]
    else:
        assert draws is not None
        replicate = np.arange(reps.shape[1])[:, None]
        pooled_reps = reps[draws, replicate].mean(axis=1)  # (B, S draws, L) -> (B, L)
    count = sum(m.count.sum(0) for m in mats)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _Run(
            point=points.mean(0),
            reps=pooled_reps,
            off_target=sum(m.off_target.sum(0) for m in mats) / count,
            lang_share=sum(m.lang_share.sum(0) for m in mats) / count,
            n=count,
            n_problems=(mats[0].count > 0).sum(0).astype(float),
        )


def _accuracy_ci(run: _Run, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap; Wilson over problems where the bootstrap is degenerate (0% or 100%:
    every problem's samples agree, so the problems are the independent trials)."""
    if run.reps.shape[0]:
        low, high = percentile_ci(run.reps, confidence, min_finite=0.0)
    else:
        low, high = np.full_like(run.point, np.nan), np.full_like(run.point, np.nan)
    low, high = np.array(low), np.array(high)
    for j, p in enumerate(run.point):
        if math.isfinite(p) and not (low[j] < high[j]):
            low[j], high[j] = wilson(float(p), float(run.n_problems[j]), confidence)
    return low, high


def analyse(
    score_files: list[tuple[str, str, str, Path | pl.DataFrame]],
    parallel_order: list[str],
    zero_baseline: str = "skip",
    min_baseline: float = 0.01,
    replicates: int = 1000,
    bootstrap_seed: int = 0,
    confidence: float = 0.95,
    on_target_share: float = 0.5,
) -> Tables:
    """Every table of the analysis from score files (model, run, benchmark, path or frame)."""
    # Read every file once: per (lang, id) sums.
    by_key: dict[tuple[str, str, str], dict[int | None, pl.DataFrame]] = {}
    ids: dict[str, set[str]] = {}
    langs_seen: set[str] = set()
    for model, scored_run, benchmark, path in score_files:
        run, seed = split_seed(scored_run)
        parse_run(run)  # a clear error for a label that is not a run
        grouped = read_scores(path if isinstance(path, pl.DataFrame) else Path(path), on_target_share)
        by_key.setdefault((model, run, benchmark), {})[seed] = grouped
        ids.setdefault(benchmark, set()).update(grouped["id"].to_list())
        langs_seen.update(grouped["lang"].to_list())
    langs = sorted(langs_seen, key=lambda lang: (lang != "en", lang))
    lang_index = {lang: j for j, lang in enumerate(langs)}
    id_index = {b: {i: k for k, i in enumerate(sorted(s))} for b, s in ids.items()}
    weights = {b: problem_weights(len(idx), replicates, bootstrap_seed, b) for b, idx in id_index.items()}

    stats: dict[tuple[str, str, str, str], _Run] = {}  # (model, run, seed, benchmark)
    n_seeds: dict[tuple[str, str], int] = {}  # training seeds pooled per (model, run)
    for (model, run, benchmark), per_seed in by_key.items():
        n_seeds[(model, run)] = max(n_seeds.get((model, run), 0), len(per_seed))
        seeds = sorted(per_seed, key=lambda s: -1 if s is None else s)
        mats = [_matrix(per_seed[s], id_index[benchmark], lang_index) for s in seeds]
        draws = seed_draws(len(mats), replicates, bootstrap_seed) if len(mats) > 1 else None
        stats[(model, run, POOLED, benchmark)] = _run_stats(mats, weights[benchmark], draws)
        if len(mats) > 1:
            for s, m in zip(seeds, mats, strict=True):
                stats[(model, run, str(s), benchmark)] = _run_stats([m], weights[benchmark], None)

    acc_rows: list[dict[str, Any]] = []
    mti_rows: list[dict[str, Any]] = []
    gain_rows: list[dict[str, Any]] = []
    per_run: dict[tuple[str, str, str], dict[str, list[Any]]] = {}
    for (model, run, seed, benchmark), stat in stats.items():
        method, budget, x = parse_run(run)
        keys = {"model": model, "run": run, "method": method, "budget": budget, "n_languages": x, "seed": seed}
        keys["n_seeds"] = n_seeds[(model, run)] if seed == POOLED else 1
        low, high = _accuracy_ci(stat, confidence)
        for j, lang in enumerate(langs):
            if stat.n[j] == 0:
                continue
            acc_rows.append(
                {
                    **keys,
                    "benchmark": benchmark,
                    "lang": lang,
                    "accuracy": stat.point[j],
                    "ci_low": low[j],
                    "ci_high": high[j],
                    "off_target_rate": stat.off_target[j],
                    "lang_share": stat.lang_share[j],
                    "n": int(stat.n[j]),
                    "n_problems": int(stat.n_problems[j]),
                }
            )
        present = stat.n > 0
        summary = per_run.setdefault((model, run, seed), {q: [] for q in REPLICATED} | {"keys": [keys]})
        summary["accuracy"].append((float(np.nanmean(stat.point[present])), np.nanmean(stat.reps[:, present], axis=1)))
        if run == INIT_RUN:
            continue
        init = stats.get((model, INIT_RUN, POOLED, benchmark))
        if init is None:
            raise UserError(f"no scores of the initial model '{model}' on '{benchmark}' (needed for {run})")
        use = [j for j, lang in enumerate(langs) if present[j] and init.n[j] > 0]
        train = set(subset_languages(x, parallel_order))
        point = mti(
            {langs[j]: init.point[j] for j in use},
            {langs[j]: stat.point[j] for j in use},
            train,
            zero_baseline,
            min_baseline,
        )
        reps = mti(
            {langs[j]: init.reps[:, j] for j in use},
            {langs[j]: stat.reps[:, j] for j in use},
            train,
            zero_baseline,
            min_baseline,
        )
        if point.skipped and seed == POOLED:
            log.warning(
                "MTI %s/%s/%s: skipped %s (initial accuracy below %s)",
                model,
                run,
                benchmark,
                point.skipped,
                min_baseline,
            )
        mti_low, mti_high = percentile_ci(reps.mti[:, None], confidence)[:, 0] if replicates else (math.nan,) * 2
        mti_rows.append(
            {
                **keys,
                "benchmark": benchmark,
                "mti": point.mti,
                "mti_ci_low": mti_low,
                "mti_ci_high": mti_high,
                "relative_gain_seen": point.gain_seen,
                "relative_gain_unseen": point.gain_unseen,
                "skipped_languages": ",".join(point.skipped),
            }
        )
        summary["mti"].append((point.mti, reps.mti))
        # Absolute gains in accuracy (fractions) with paired intervals, per language and pooled.
        gain_point = stat.point - init.point
        gain_reps = stat.reps - init.reps
        seen = np.array([j in use and langs[j] in train for j in range(len(langs))])
        unseen = np.array([j in use and langs[j] not in train for j in range(len(langs))])
        columns = [(langs[j], gain_point[j], gain_reps[:, j]) for j in use]
        for name, mask in (("seen", seen), ("unseen", unseen)):
            if mask.any():
                value = (float(gain_point[mask].mean()), gain_reps[:, mask].mean(axis=1))
                columns.append((name, *value))
                summary[f"gain_{name}"].append(value)
        for lang, value, rep in columns:
            lo, hi = percentile_ci(rep[:, None], confidence, min_finite=0.0)[:, 0] if replicates else (math.nan,) * 2
            gain_rows.append(
                {**keys, "benchmark": benchmark, "lang": lang, "gain": value, "gain_ci_low": lo, "gain_ci_high": hi}
            )

    run_rows, run_reps = _run_summaries(per_run, replicates, confidence)
    order = ("model", "n_languages", "run", "seed")
    return Tables(
        accuracy=_frame(acc_rows, ACCURACY_COLUMNS).sort(*order, "benchmark", "lang"),
        mti=_frame(mti_rows, MTI_COLUMNS).sort(*order, "benchmark"),
        gains=_frame(gain_rows, GAIN_COLUMNS).sort(*order, "benchmark", "lang"),
        runs=_frame(run_rows, RUN_COLUMNS).sort(*order),
        replicates=run_reps,
    )


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pl.DataFrame:
    schema = {
        c: (
            pl.String
            if c in ("model", "run", "method", "budget", "seed", "benchmark", "lang", "skipped_languages")
            else pl.Int64
            if c in ("n_languages", "n_seeds", "n", "n_problems")
            else pl.Float64
        )
        for c in columns
    }
    return pl.DataFrame(rows, schema=schema, strict=False).select(columns) if rows else pl.DataFrame(schema=schema)


def _run_summaries(
    per_run: dict[tuple[str, str, str], dict[str, list[Any]]], replicates: int, confidence: float
) -> tuple[list[dict[str, Any]], dict[tuple[str, str, str], dict[str, np.ndarray]]]:
    """Per run: means over benchmarks (MTI: of the finite ones), with intervals from the replicates."""
    rows: list[dict[str, Any]] = []
    reps_out: dict[tuple[str, str, str], dict[str, np.ndarray]] = {}
    for key, values in per_run.items():
        row: dict[str, Any] = dict(values["keys"][0])
        reps_out[key] = {}
        for quantity in REPLICATED:
            parts = values[quantity]
            if not parts:
                row |= {quantity: None, f"{quantity}_ci_low": None, f"{quantity}_ci_high": None}
                continue
            point = float(_nanmean(np.array([p for p, _ in parts], dtype=float)))
            rep = _nanmean(np.stack([r for _, r in parts], axis=-1))
            min_finite = 0.975 if quantity == "mti" else 0.0
            low, high = percentile_ci(rep[:, None], confidence, min_finite)[:, 0] if replicates else (math.nan,) * 2
            row |= {quantity: point, f"{quantity}_ci_low": low, f"{quantity}_ci_high": high}
            reps_out[key][quantity] = rep
        rows.append(row)
    return rows, reps_out


def write_replicates(replicates: dict[tuple[str, str, str], dict[str, np.ndarray]], path: Path) -> None:
    """The bootstrap replicates of every runs.csv quantity, for `fit` (one row per run and quantity)."""
    from pscale.tables import write_parquet

    rows = [
        {"model": m, "run": r, "seed": seed, "quantity": q, "replicates": values.astype(float).tolist()}
        for (m, r, seed), quantities in replicates.items()
        for q, values in quantities.items()
    ]
    schema = {
        "model": pl.String,
        "run": pl.String,
        "seed": pl.String,
        "quantity": pl.String,
        "replicates": pl.List(pl.Float64),
    }
    write_parquet(pl.DataFrame(rows, schema=schema), path)


def read_replicates(path: Path) -> dict[tuple[str, str, str], dict[str, np.ndarray]]:
    out: dict[tuple[str, str, str], dict[str, np.ndarray]] = {}
    from pscale.tables import read_table

    columns = {"model": "string", "run": "string", "seed": "string", "quantity": "string", "replicates": "list"}
    frame = read_table(path, columns, required=columns, what="bootstrap replicates")
    for r in frame.iter_rows(named=True):
        out.setdefault((r["model"], r["run"], r["seed"]), {})[r["quantity"]] = np.array(r["replicates"], dtype=float)
    return out


# --------------------------------------------------------------------------------------------
# The Parallel Scaling Law


#: Free parameters of f(X) = alpha * X^beta; leave-one-X-out needs n_params + 2 points.
N_LAW_PARAMS = 2
LOO_MIN_POINTS = N_LAW_PARAMS + 2


def power_law(x: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    return alpha * np.power(x, beta)


def _start(xs: np.ndarray, ys: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form start per row: the log-log least-squares line where every y > 0, else (mean y, 0)."""
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


def fit_power_law_batch(
    x: list[float] | np.ndarray, y: np.ndarray, iterations: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares alpha, beta of y = alpha * x^beta for every row of y at once (Levenberg-Marquardt,
    vectorised over rows; NaN entries of y are left out of that row's fit). Rows with fewer than two
    finite points get NaN. The same minimum as `fit_power_law` (lmfit), fast enough for bootstrap
    replicates."""
    xs = np.asarray(x, dtype=float)
    ys = np.atleast_2d(np.asarray(y, dtype=float))
    mask = np.isfinite(ys)
    yz = np.where(mask, ys, 0.0)
    alpha, beta = _start(xs, ys, mask)
    lam = np.full(len(ys), 1e-3)
    logx = np.log(xs)[None, :]

    def rss(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (np.where(mask, yz - a[:, None] * xs[None, :] ** b[:, None], 0.0) ** 2).sum(1)

    current = rss(alpha, beta)
    for _ in range(iterations):
        xb = xs[None, :] ** beta[:, None]
        resid = np.where(mask, yz - alpha[:, None] * xb, 0.0)
        ja = np.where(mask, xb, 0.0)
        jb = np.where(mask, alpha[:, None] * xb * logx, 0.0)
        aa, ab, bb = (ja * ja).sum(1), (ja * jb).sum(1), (jb * jb).sum(1)
        ga, gb = (ja * resid).sum(1), (jb * resid).sum(1)
        a11, a22 = aa * (1 + lam), bb * (1 + lam)
        det = a11 * a22 - ab * ab
        with np.errstate(invalid="ignore", divide="ignore"):
            da = np.where(det != 0, (a22 * ga - ab * gb) / det, 0.0)
            db = np.where(det != 0, (a11 * gb - ab * ga) / det, 0.0)
        new_a, new_b = alpha + da, beta + db
        trial = rss(new_a, new_b)
        better = np.isfinite(trial) & (trial <= current)
        alpha, beta = np.where(better, new_a, alpha), np.where(better, new_b, beta)
        current = np.where(better, trial, current)
        lam = np.where(better, lam / 3, lam * 4)
        if np.all(lam > 1e10):  # no step improves any row any more
            break
    few = (mask.sum(1) < 2) | np.all(~mask | (np.abs(yz) < _ZERO), axis=1)  # all-zero rows: beta undefined
    return np.where(few, np.nan, alpha), np.where(few, np.nan, beta)


def fit_power_law(x: list[float], y: list[float]) -> dict[str, float]:
    """Least-squares fit of y = alpha * x^beta with lmfit; stderr is NaN with < 3 points."""
    from lmfit import Model

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    if len(xs) < 2:
        raise ValueError(f"a power-law fit needs at least 2 finite points, got {len(xs)}")
    if np.all(np.abs(ys) < _ZERO):
        raise ValueError("every point is 0: alpha is 0 and the exponent beta is undefined")
    alpha0, beta0 = (float(v[0]) for v in fit_power_law_batch(xs, ys[None, :]))  # closed-form start, refined
    result = Model(power_law).fit(ys, x=xs, alpha=alpha0, beta=beta0)
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
        alpha, beta = fit_power_law_batch(rest, np.array([[points[x] for x in rest]]))
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
        alpha, beta = fit_power_law_batch(xs, np.stack([reps.get(x, nan) for x in xs], axis=1))
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
    groups: list[dict[str, Any]] = []
    trained = runs.filter(
        (pl.col("seed") == POOLED) & (pl.col("run") != INIT_RUN) & (pl.col("method") != "observational")
    )
    for (model, method, budget), part in trained.group_by("model", "method", "budget", maintain_order=True):
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
        groups.append(group)
    if not groups:
        raise UserError("no trained runs in the runs table: nothing to fit")
    order = list(models or [])
    groups.sort(
        key=lambda g: (
            order.index(g["model"]) if g["model"] in order else len(order),
            g["model"],
            g["method"] != "grpo",
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


def with_training(runs: pl.DataFrame, summaries: dict[tuple[str, str], dict[str, Any]]) -> pl.DataFrame:
    """runs.csv with each run's steps, epochs and prompts seen (TRAINING_COLUMNS), from the training
    summaries by (model, run with its seed); a pooled row (seed `all`) gets the mean over its seeds.

    Without them a reader cannot tell whether two runs compared saw their data equally often."""
    by_run: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for (model, run), summary in summaries.items():
        base, seed = split_seed(run)
        by_run.setdefault((model, base), []).append(summary)
        by_run.setdefault((model, f"{base}\0{seed}"), []).append(summary)
    values: dict[str, list[float | None]] = {column: [] for column in TRAINING_COLUMNS}
    for model, run, seed in runs.select("model", "run", "seed").iter_rows():
        found = by_run.get((model, run if seed == POOLED else f"{run}\0{seed}"), [])
        for column in TRAINING_COLUMNS:
            values[column].append(sum(f[column] for f in found) / len(found) if found else None)
    return runs.with_columns(pl.Series(column, values[column], dtype=pl.Float64) for column in TRAINING_COLUMNS)
