"""Analysis: accuracy tables, gains and the Multilingual Transferability Index, with the
uncertainty of every one of them (the Parallel Scaling Law fitted to them: pscale.fit).

MTI (the paper publishes no formula; this is the pipeline's definition, kept in `mti`):

    gain(l) = (acc_after(l) - acc_before(l)) / acc_before(l)      relative gain per language
    MTI     = mean gain over languages NOT in the training set
              / mean gain over languages IN the training set

MTI > 1: languages the model never trained on gained more, relative to where they started,
than its training languages. Zero baselines: a relative gain from 0 is undefined, so a
language with acc_before < min_baseline is either skipped (with a warning; default) or has
its baseline raised to min_baseline ("floor"). If the training languages did not gain
(mean gain <= 0) the ratio is meaningless and MTI is NaN.

Uncertainty: a paired, nested bootstrap. The benchmarks are parallel (the same problem ids in
every language), so one resample of problem ids (multinomial weights per benchmark) is applied
to every language, to the initial model and to every trained model alike: differences between
them (gains, MTI) keep their pairing. Samples are nested within problems: a problem is
resampled together with all of its samples (resampling the samples again would count their
variance twice). With several training seeds, each replicate also resamples the seeds. Each
replicate recomputes every statistic exactly as on the data (the same `mti`; pscale.fit refits
the law on each), and 95% intervals are percentiles of the replicates. Everything is vectorised
over problems: one replicate of a score file is a weighted sum, `weights @ correct`.

What each score file scores comes with it (model, pscale.runs.Run, benchmark): the tables' `run`
is its seeds pooled (Run.pooled), its `seed` column the Run's seed, never a part of a name.
"""

from __future__ import annotations

import logging
import math
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
from pscale.runs import INIT_RUN, POOLED, Run

log = logging.getLogger(__name__)

#: Below this mean relative gain of the training languages, MTI is undefined (NaN).
_MIN_SEEN_GAIN = 1e-9

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
class _RunStats:
    """Accuracy point estimates and replicates of one (model, run, seed) on one benchmark."""

    point: np.ndarray  # (L,)
    reps: np.ndarray  # (B, L)
    off_target: np.ndarray  # (L,)
    lang_share: np.ndarray
    n: np.ndarray
    n_problems: np.ndarray


def _run_stats(mats: list[ScoreMatrix], weights: np.ndarray, draws: np.ndarray | None) -> _RunStats:
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
        return _RunStats(
            point=points.mean(0),
            reps=pooled_reps,
            off_target=sum(m.off_target.sum(0) for m in mats) / count,
            lang_share=sum(m.lang_share.sum(0) for m in mats) / count,
            n=count,
            n_problems=(mats[0].count > 0).sum(0).astype(float),
        )


def _accuracy_ci(run: _RunStats, confidence: float) -> tuple[np.ndarray, np.ndarray]:
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


@dataclass(frozen=True)
class _Options:
    """The settings of one analysis: the MTI's zero-baseline rule, the bootstrap, the intervals."""

    zero_baseline: str
    min_baseline: float
    replicates: int
    confidence: float

    def interval(self, reps: np.ndarray, min_finite: float) -> tuple[float, float]:
        """The percentile interval of one statistic's replicates; NaN without a bootstrap."""
        if not self.replicates:
            return math.nan, math.nan
        low, high = percentile_ci(reps[:, None], self.confidence, min_finite)[:, 0]
        return low, high


@dataclass
class _Scores:
    """Every score file, read once: per (lang, id) sums, by (model, run, benchmark) and seed."""

    files: dict[tuple[str, str, str], dict[int | None, pl.DataFrame]]
    #: The tables' run (seeds pooled: Run.pooled) -> its facts (method, budget, X), shared by its seeds.
    runs: dict[str, Run]
    #: benchmark -> problem id -> its row in the benchmark's matrices.
    problems: dict[str, dict[str, int]]
    #: The matrices' columns: English first, then alphabetical.
    languages: list[str]


def _read_score_files(score_files: list[tuple[str, Run, str, Path | pl.DataFrame]], on_target_share: float) -> _Scores:
    files: dict[tuple[str, str, str], dict[int | None, pl.DataFrame]] = {}
    runs: dict[str, Run] = {}
    ids: dict[str, set[str]] = {}
    languages: set[str] = set()
    for model, run, benchmark, path in score_files:
        grouped = read_scores(path if isinstance(path, pl.DataFrame) else Path(path), on_target_share)
        files.setdefault((model, run.pooled, benchmark), {})[run.seed] = grouped
        runs.setdefault(run.pooled, run)
        ids.setdefault(benchmark, set()).update(grouped["id"].to_list())
        languages.update(grouped["lang"].to_list())
    problems = {b: {i: k for k, i in enumerate(sorted(s))} for b, s in ids.items()}
    return _Scores(files, runs, problems, sorted(languages, key=lambda lang: (lang != "en", lang)))


def _pool_seeds(
    scores: _Scores, replicates: int, bootstrap_seed: int
) -> tuple[dict[tuple[str, str, str, str], _RunStats], dict[tuple[str, str], int]]:
    """Statistics per (model, run, seed, benchmark): pooled over the run's seeds (seed `all`) and,
    with several seeds, per seed; and the number of seeds pooled per (model, run)."""
    lang_index = {lang: j for j, lang in enumerate(scores.languages)}
    weights = {b: problem_weights(len(idx), replicates, bootstrap_seed, b) for b, idx in scores.problems.items()}
    stats: dict[tuple[str, str, str, str], _RunStats] = {}
    n_seeds: dict[tuple[str, str], int] = {}
    for (model, run, benchmark), per_seed in scores.files.items():
        n_seeds[(model, run)] = max(n_seeds.get((model, run), 0), len(per_seed))
        seeds = sorted(per_seed, key=lambda s: -1 if s is None else s)
        mats = [_matrix(per_seed[s], scores.problems[benchmark], lang_index) for s in seeds]
        draws = seed_draws(len(mats), replicates, bootstrap_seed) if len(mats) > 1 else None
        stats[(model, run, POOLED, benchmark)] = _run_stats(mats, weights[benchmark], draws)
        if len(mats) > 1:
            for s, m in zip(seeds, mats, strict=True):
                stats[(model, run, str(s), benchmark)] = _run_stats([m], weights[benchmark], None)
    return stats, n_seeds


def _accuracy_rows(
    keys: dict[str, Any], benchmark: str, stat: _RunStats, langs: list[str], confidence: float
) -> list[dict[str, Any]]:
    """accuracy.csv: one row per language the run was scored in."""
    low, high = _accuracy_ci(stat, confidence)
    return [
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
        for j, lang in enumerate(langs)
        if stat.n[j] != 0
    ]


@dataclass(frozen=True)
class _Comparison:
    """A trained run's statistics against its initial model's on one benchmark: what its MTI and
    gain rows are computed from (`use`: the languages both have scores in)."""

    keys: dict[str, Any]
    benchmark: str
    stat: _RunStats
    init: _RunStats
    langs: list[str]
    use: list[int]
    train: set[str]


def _mti_row(c: _Comparison, options: _Options) -> tuple[dict[str, Any], tuple[float, np.ndarray]]:
    """mti.csv's row of a trained run on a benchmark, and its MTI (point, replicates) for runs.csv."""
    keys, benchmark, stat, init, langs, use, train = c.keys, c.benchmark, c.stat, c.init, c.langs, c.use, c.train
    before, after = {langs[j]: init.point[j] for j in use}, {langs[j]: stat.point[j] for j in use}
    point = mti(before, after, train, options.zero_baseline, options.min_baseline)
    before, after = {langs[j]: init.reps[:, j] for j in use}, {langs[j]: stat.reps[:, j] for j in use}
    reps = mti(before, after, train, options.zero_baseline, options.min_baseline)
    if point.skipped and keys["seed"] == POOLED:
        log.warning(
            "MTI %s/%s/%s: skipped %s (initial accuracy below %s)",
            keys["model"],
            keys["run"],
            benchmark,
            point.skipped,
            options.min_baseline,
        )
    low, high = options.interval(reps.mti, min_finite=0.975)
    row = {
        **keys,
        "benchmark": benchmark,
        "mti": point.mti,
        "mti_ci_low": low,
        "mti_ci_high": high,
        "relative_gain_seen": point.gain_seen,
        "relative_gain_unseen": point.gain_unseen,
        "skipped_languages": ",".join(point.skipped),
    }
    return row, (point.mti, reps.mti)


def _gain_rows(c: _Comparison, options: _Options) -> tuple[list[dict[str, Any]], dict[str, tuple[float, np.ndarray]]]:
    """gains.csv's rows of a trained run on a benchmark: absolute gains in accuracy (fractions) with
    paired intervals, per language and pooled over the seen and the unseen languages; and the pooled
    ones (gain_seen, gain_unseen: point, replicates) for runs.csv."""
    keys, benchmark, stat, init, langs, use, train = c.keys, c.benchmark, c.stat, c.init, c.langs, c.use, c.train
    gain_point = stat.point - init.point
    gain_reps = stat.reps - init.reps
    seen = np.array([j in use and langs[j] in train for j in range(len(langs))])
    unseen = np.array([j in use and langs[j] not in train for j in range(len(langs))])
    columns = [(langs[j], gain_point[j], gain_reps[:, j]) for j in use]
    pooled: dict[str, tuple[float, np.ndarray]] = {}
    for name, mask in (("seen", seen), ("unseen", unseen)):
        if mask.any():
            pooled[f"gain_{name}"] = (float(gain_point[mask].mean()), gain_reps[:, mask].mean(axis=1))
            columns.append((name, *pooled[f"gain_{name}"]))
    rows = []
    for lang, value, rep in columns:
        low, high = options.interval(rep, min_finite=0.0)
        rows.append(
            {**keys, "benchmark": benchmark, "lang": lang, "gain": value, "gain_ci_low": low, "gain_ci_high": high}
        )
    return rows, pooled


def analyse(
    score_files: list[tuple[str, Run, str, Path | pl.DataFrame]],
    parallel_order: list[str],
    zero_baseline: str = "skip",
    min_baseline: float = 0.01,
    replicates: int = 1000,
    bootstrap_seed: int = 0,
    confidence: float = 0.95,
    on_target_share: float = 0.5,
) -> Tables:
    """Every table of the analysis from score files: (model, run, benchmark, path or frame), each run
    with its facts (pscale.runs.Run: method, budget, X, seed), so that the seed is a column of the
    tables, never read out of the run's name."""
    options = _Options(zero_baseline, min_baseline, replicates, confidence)
    scores = _read_score_files(score_files, on_target_share)
    stats, n_seeds = _pool_seeds(scores, replicates, bootstrap_seed)
    langs = scores.languages
    acc_rows: list[dict[str, Any]] = []
    mti_rows: list[dict[str, Any]] = []
    gain_rows: list[dict[str, Any]] = []
    per_run: dict[tuple[str, str, str], dict[str, list[Any]]] = {}
    for (model, run, seed, benchmark), stat in stats.items():
        facts = scores.runs[run]
        keys = {"model": model, "run": run, "method": facts.method, "budget": facts.budget}
        keys |= {"n_languages": facts.n_languages, "seed": seed}
        keys["n_seeds"] = n_seeds[(model, run)] if seed == POOLED else 1
        acc_rows += _accuracy_rows(keys, benchmark, stat, langs, confidence)
        present = stat.n > 0
        summary = per_run.setdefault((model, run, seed), {q: [] for q in REPLICATED} | {"keys": [keys]})
        summary["accuracy"].append((float(np.nanmean(stat.point[present])), np.nanmean(stat.reps[:, present], axis=1)))
        if run == INIT_RUN:
            continue
        init = stats.get((model, INIT_RUN, POOLED, benchmark))
        if init is None:
            raise UserError(f"no scores of the initial model '{model}' on '{benchmark}' (needed for {run})")
        use = [j for j, lang in enumerate(langs) if present[j] and init.n[j] > 0]
        train = set(subset_languages(facts.n_languages, parallel_order))
        comparison = _Comparison(keys, benchmark, stat, init, langs, use, train)
        mti_row, summary_mti = _mti_row(comparison, options)
        mti_rows.append(mti_row)
        summary["mti"].append(summary_mti)
        rows, pooled_gains = _gain_rows(comparison, options)
        gain_rows += rows
        for quantity, value in pooled_gains.items():
            summary[quantity].append(value)

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


def with_training(runs: pl.DataFrame, summaries: Mapping[tuple[str, Run], dict[str, Any]]) -> pl.DataFrame:
    """runs.csv with each run's steps, epochs and prompts seen (TRAINING_COLUMNS), from the training
    summaries by (model, run); a pooled row (seed `all`) gets the mean over its seeds.

    Without them a reader cannot tell whether two runs compared saw their data equally often."""
    by_row: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for (model, run), summary in summaries.items():
        by_row.setdefault((model, run.pooled, POOLED), []).append(summary)
        by_row.setdefault((model, run.pooled, str(run.seed)), []).append(summary)
    values: dict[str, list[float | None]] = {column: [] for column in TRAINING_COLUMNS}
    for row in runs.select("model", "run", "seed").iter_rows():
        found = by_row.get(row, [])
        for column in TRAINING_COLUMNS:
            values[column].append(sum(f[column] for f in found) / len(found) if found else None)
    return runs.with_columns(pl.Series(column, values[column], dtype=pl.Float64) for column in TRAINING_COLUMNS)
