"""The paper's figures and the results summary, drawn from the pipeline's own tables and fits.

Every number is drawn with its bootstrap interval (error bars on points, bands on fits); the
summary says in words which effects are distinguishable from zero.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.patches import Rectangle

from pscale.errors import UserError
from pscale.figure_registry import FIGURES
from pscale.fit import power_law
from pscale.parallel_sets import subset_languages
from pscale.runs import INIT_RUN, POOLED
from pscale.tables import atomic_path, read_json, read_table

log = logging.getLogger(__name__)

#: The published MTI fit, alpha * X^beta (Yang et al., 2025), drawn for comparison.
PAPER_MTI_FIT = (2.00, 0.29)
_LABEL_BOX = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8}


def read_csv(path: str | Path) -> pl.DataFrame:
    """A table of `pscale tables`, with `seed` as text ("all" or a seed number)."""
    return read_table(path, {"model": "string", "run": "string"}, what="table", csv_schema={"seed": pl.String})


def read_fits(path: str | Path) -> dict[str, Any]:
    """The scaling-law fits (`pscale fit`), checked: a damaged file is named with its REDO."""
    return read_json(path, "scaling-law fits", keys=("mti", "accuracy"))


def _pooled(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("seed") == POOLED)


def _save(fig: Any, output: Path, dpi: int = 120) -> None:
    """Written to a temporary file and renamed, so a killed job leaves no half-drawn figure."""
    with atomic_path(output) as tmp:
        fig.savefig(tmp, dpi=dpi, format=Path(output).suffix.lstrip(".") or "png")
    plt.close(fig)


def _yerr(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Error-bar lengths from an interval (0 where the interval is unknown)."""
    return np.nan_to_num(np.vstack([values - low, high - values]).clip(min=0))


def _run_facts(frame: pl.DataFrame) -> dict[str, tuple[str, int]]:
    """run -> (method, number of training languages), from the table's own columns: a run's name
    is only its label."""
    return dict(zip(frame["run"], zip(frame["method"], frame["n_languages"], strict=True), strict=True))


def _run_order(facts: dict[str, tuple[str, int]]) -> list[str]:
    """The initial model first, trained runs by their number of languages, observational models last."""
    return sorted(facts, key=lambda run: (run != INIT_RUN, facts[run][0] == "observational", facts[run][1], run))


# --------------------------------------------------------------------------------------------
# The Parallel Scaling Law


def plot_scaling_law(fits: dict[str, Any], output: Path) -> None:
    """MTI and accuracy against X: observed points with CIs and the fitted law of every group; the
    main group (the first: main model, GRPO, grow budget) also gets its band, the X=1 gap, the
    First-Parallel Leap and the leave-one-X-out predictions (the others' are in the summary: on one
    axis they would cover each other)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 5), constrained_layout=True)
    for ax, name, label in zip(axes, ("mti", "accuracy"), ("MTI", "accuracy (%)"), strict=True):
        scale = 100.0 if name == "accuracy" else 1.0
        shown: list[float] = []  # points and their CIs: the y range (a band can explode near X = 1)
        for group_index, group in enumerate(fits["groups"]):
            shown += _law_group(ax, group, name, scale, group_index, fits["fit_min_x"])
        if name == "mti":
            shown += _paper_mti(ax, fits)
        _law_axes(ax, fits, name, label, shown)
    _save(fig, output)


def _law_group(ax: Any, group: dict[str, Any], name: str, scale: float, index: int, fit_min_x: int) -> list[float]:
    """One group's points with CIs and its fitted law (band, leave-one-X-out, gap and leap for the
    main group, index 0); returns the values that set the y range."""
    curve = group[name]
    tag = f"{group['model']} {group['method']}/{group['budget']}"
    xs = np.array([int(x) for x in curve["points"]])
    ys = np.array(list(curve["points"].values()), dtype=float) * scale
    ci = curve.get("points_ci", {})
    low = np.array([(ci.get(str(x)) or [None])[0] for x in xs], dtype=float) * scale
    high = np.array([(ci.get(str(x)) or [None, None])[1] for x in xs], dtype=float) * scale
    dodge = 0.05 * index  # error bars of several groups side by side, not on top of each other
    bars = ax.errorbar(xs + dodge, ys, yerr=_yerr(ys, low, high), fmt="o", capsize=3, label=f"{tag} observed (95% CI)")
    shown = [v for v in (*ys, *low, *high) if math.isfinite(v)]
    color = bars.lines[0].get_color()
    if "alpha" not in curve:
        return shown
    band = curve.get("band")
    if band and index == 0:
        ax.fill_between(
            band["x"],
            np.array(band["low"], dtype=float) * scale,
            np.array(band["high"], dtype=float) * scale,
            color=color,
            alpha=0.15,
            lw=0,
        )
    grid = np.linspace(1, max(xs.max(), 2), 100)
    beta_ci = curve.get("beta_ci") or [None, None]
    beta_text = f" β∈[{beta_ci[0]:.2f}, {beta_ci[1]:.2f}]" if None not in beta_ci else ""
    ax.plot(
        grid,
        power_law(grid, curve["alpha"], curve["beta"]) * scale,
        "-",
        color=color,
        label=f"fit {curve['alpha'] * scale:.3g}·X^{curve['beta']:.2f}{beta_text} (X≥{fit_min_x})",
    )
    if index != 0:
        return shown
    loo = curve.get("loo", {})
    if loo.get("points"):
        mae = loo["mean_abs_error"] * scale
        ax.plot(
            [p["x"] for p in loo["points"]],
            [p["predicted"] * scale for p in loo["points"]],
            "x",
            color=color,
            ms=8,
            label=f"leave-one-X-out prediction (MAE {mae:.3g})",
        )
    if math.isfinite(curve["observed_x1"]):
        _gap_and_leap(ax, curve, scale)
    return shown


def _gap_and_leap(ax: Any, curve: dict[str, Any], scale: float) -> None:
    """The Monolingual Generalization Gap at X = 1 and the First-Parallel Leap to X = 2, labelled
    left of X = 1 and above the leap's midpoint: not on the error bars or on each other."""
    observed, predicted = curve["observed_x1"] * scale, curve["predicted_x1"] * scale
    gap = f"gap {curve['gap'] * scale:+.3g}"
    _labelled_arrow(ax, (1, predicted), (1, observed), "<->", "crimson", gap, (1, (observed + predicted) / 2), (-10, 0))
    y2 = curve["points"].get("2")
    if y2 is None or not math.isfinite(y2):
        return
    leap = f"leap {curve['first_parallel_leap'] * scale:+.3g}"
    at = (1.5, (observed + y2 * scale) / 2)
    _labelled_arrow(ax, (1, observed), (2, y2 * scale), "->", "darkorange", leap, at, (0, 12), ls="--")


def _labelled_arrow(
    ax: Any,
    tail: tuple[float, float],
    head: tuple[float, float],
    style: str,
    color: str,
    text: str,
    at: tuple[float, float],
    offset: tuple[float, float],
    **arrow: Any,
) -> None:
    """An arrow and its label, offset from `at` (right-aligned left of it, else centred above)."""
    ax.annotate("", xy=head, xytext=tail, arrowprops={"arrowstyle": style, "color": color, **arrow})
    left = offset[0] < 0
    ax.annotate(
        text,
        xy=at,
        xytext=offset,
        textcoords="offset points",
        ha="right" if left else "center",
        va="center" if left else "bottom",
        color=color,
        fontsize=8,
        bbox=_LABEL_BOX,
    )


def _paper_mti(ax: Any, fits: dict[str, Any]) -> list[float]:
    """The published MTI law for comparison (and a note when no run has an MTI)."""
    alpha, beta = PAPER_MTI_FIT
    grid = np.linspace(1, 8, 50)
    paper = power_law(grid, alpha, beta)
    ax.plot(grid, paper, "--", color="gray", label=f"paper {alpha}·X^{beta}")
    if not any(np.isfinite(np.array(list(g["mti"]["points"].values()), dtype=float)).any() for g in fits["groups"]):
        ax.text(
            0.5,
            0.5,
            "MTI undefined for every run\n(see results/tables/mti.csv)",
            transform=ax.transAxes,
            ha="center",
            color="crimson",
        )
    return [float(paper.min()), float(paper.max())]


def _law_axes(ax: Any, fits: dict[str, Any], name: str, label: str, shown: list[float]) -> None:
    if shown:
        bottom, top = min(shown), max(shown)
        pad = 0.12 * (top - bottom or abs(top) or 1.0)
        ax.set_ylim(bottom - pad, top + pad)
    ax.set_xlim(0.3, max([2, *(int(x) for g in fits["groups"] for x in g[name]["points"])]) + 0.5)
    ax.set_xlabel("X (training languages, English included)")
    ax.set_ylabel(label)
    ax.set_title(f"Parallel Scaling Law: {label}")
    ax.grid(alpha=0.3)
    # Below the axes: a legend inside would cover points of some group (and "best" is slow).
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)


# --------------------------------------------------------------------------------------------
# Per-language heatmaps


def _heatmap(
    frame: pl.DataFrame,
    value: str,
    languages: list[str],
    output: Path,
    title: str,
    *,
    scale: float = 100.0,
    diverging: bool = False,
    marks: Callable[[dict[str, Any]], bool] | None = None,
    parallel_order: list[str] | None = None,
) -> None:
    """One panel per model: runs (rows) x languages (columns), averaged over benchmarks. With
    `parallel_order`, each run's training languages are outlined (English for X = 1). Long on
    purpose: one matplotlib panel, set up call by call."""
    models = frame["model"].unique(maintain_order=True).to_list() or ["(none)"]
    n_runs = max(frame["run"].n_unique(), 1)
    fig, axes = plt.subplots(
        len(models),
        1,
        figsize=(2.5 + 0.6 * len(languages), (1.2 + 0.4 * n_runs) * len(models)),
        squeeze=False,
        constrained_layout=True,
    )
    for ax, model in zip(axes[:, 0], models, strict=True):
        part = frame.filter(pl.col("model") == model)
        facts = _run_facts(part)
        runs = _run_order(facts)
        grid = np.full((len(runs), len(languages)), np.nan)
        marked = np.zeros_like(grid, dtype=bool)
        for r in part.iter_rows(named=True):
            if r["lang"] in languages and r[value] is not None:
                i, j = runs.index(r["run"]), languages.index(r["lang"])
                grid[i, j] = scale * r[value]
                marked[i, j] = bool(marks(r)) if marks else False
        finite = grid[np.isfinite(grid)]
        if diverging:
            bound = max(1e-9, float(np.abs(finite).max()) if finite.size else 1.0)
            image = ax.imshow(grid, cmap="RdBu", aspect="auto", vmin=-bound, vmax=bound)
        else:
            image = ax.imshow(
                grid, cmap="viridis", aspect="auto", vmin=0, vmax=max(1.0, float(finite.max()) if finite.size else 1.0)
            )
        for i in range(len(runs)):
            for j in range(len(languages)):
                if np.isfinite(grid[i, j]):
                    text = f"{grid[i, j]:.0f}" + ("*" if marked[i, j] else "")
                    ax.text(
                        j,
                        i,
                        text,
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="k" if diverging else "w",
                        fontweight="bold" if marked[i, j] else "normal",
                    )
        if parallel_order is not None:
            for i, run in enumerate(runs):
                for lang in _training_languages(*facts[run], parallel_order):
                    if lang in languages:
                        ax.add_patch(
                            Rectangle((languages.index(lang) - 0.5, i - 0.5), 1, 1, fill=False, ec="orangered", lw=1.6)
                        )
        ax.set_xticks(range(len(languages)), languages)
        ax.set_yticks(range(len(runs)), runs)
        ax.set_title(f"{model}: {title}", fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8)
    _save(fig, output)


def _training_languages(method: str, x: int, parallel_order: list[str]) -> list[str]:
    """The languages a run trained on (none for the initial model; English for observational ones)."""
    if method == "none":
        return []
    return subset_languages(x, parallel_order)


def column_order(languages: list[str], parallel_order: list[str] | None) -> list[str]:
    """Heatmap columns: English, then the parallel languages in the order runs add them, then the rest."""
    if not parallel_order:
        return languages
    ordered = [lang for lang in ["en", *parallel_order] if lang in languages]
    return ordered + [lang for lang in languages if lang not in ordered]


def _mean_over_benchmarks(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    keys = ("model", "run", "method", "n_languages", "lang")  # method, n_languages: the run's, for the rows
    return frame.group_by(*keys, maintain_order=True).agg(pl.col(c).mean() for c in columns)


def plot_accuracy_heatmap(
    accuracy: pl.DataFrame, languages: list[str], output: Path, parallel_order: list[str] | None = None
) -> None:
    """Accuracy per run (rows) and language (columns), averaged over benchmarks, per model."""
    part = _mean_over_benchmarks(_pooled(accuracy), ["accuracy"])
    title = "accuracy (%) by training set and query language" + (" (□ = trained on)" if parallel_order else "")
    _heatmap(part, "accuracy", languages, output, title, parallel_order=parallel_order)


def plot_off_target(
    accuracy: pl.DataFrame, languages: list[str], output: Path, parallel_order: list[str] | None = None
) -> None:
    """Off-target rate per run and query language, averaged over benchmarks."""
    part = _mean_over_benchmarks(_pooled(accuracy), ["off_target_rate"])
    title = "off-target rate (%): responses not in the query language" + (" (□ = trained on)" if parallel_order else "")
    _heatmap(part, "off_target_rate", languages, output, title, parallel_order=parallel_order)


def plot_language_gain(
    gains: pl.DataFrame, languages: list[str], output: Path, parallel_order: list[str] | None = None
) -> None:
    """Gain over the initial model (accuracy points) per run and language; * = the benchmark-level
    95% CI excludes 0 on every benchmark."""
    part = (
        _pooled(gains)
        .with_columns(((pl.col("gain_ci_low") > 0) | (pl.col("gain_ci_high") < 0)).alias("significant"))
        .group_by("model", "run", "method", "n_languages", "lang", maintain_order=True)
        .agg(pl.col("gain").mean(), pl.col("significant").all())
    )
    columns = [*languages, "seen", "unseen"]
    _heatmap(
        part,
        "gain",
        columns,
        output,
        "gain over the initial model (accuracy points; * = 95% CI excludes 0"
        + ("; □ = trained on)" if parallel_order else ")"),
        diverging=True,
        marks=lambda r: r["significant"],
        parallel_order=parallel_order,
    )


# --------------------------------------------------------------------------------------------
# Comparisons of runs (per-run means over benchmarks, with CIs)


def _prefer(values: list[str], preferred: str) -> str:
    return preferred if preferred in values else values[0]


def _series_plot(runs: pl.DataFrame, by: str, fixed: str, preferred: str, output: Path, title: str) -> None:
    """Accuracy and MTI against X for the first (main) model: one line per value of `by`, the
    other factor (`fixed`) held at `preferred` when present, with 95% CIs."""
    part = _pooled(runs).filter((pl.col("run") != INIT_RUN) & (pl.col("method") != "observational"))
    model = part["model"][0] if part.height else "(none)"
    part = part.filter(pl.col("model") == model)
    level = _prefer(part[fixed].unique(maintain_order=True).to_list(), preferred) if part.height else ""
    part = part.filter(pl.col(fixed) == level)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for ax, name, label, scale in ((axes[0], "accuracy", "accuracy (%)", 100.0), (axes[1], "mti", "MTI", 1.0)):
        groups = part.sort("n_languages").group_by(by, maintain_order=True)
        for offset, ((value,), series) in enumerate(groups):
            xs = series["n_languages"].to_numpy() + 0.06 * offset  # dodge the error bars
            ys = series[name].cast(pl.Float64).fill_null(np.nan).to_numpy() * scale
            low = series[f"{name}_ci_low"].cast(pl.Float64).fill_null(np.nan).to_numpy() * scale
            high = series[f"{name}_ci_high"].cast(pl.Float64).fill_null(np.nan).to_numpy() * scale
            ax.errorbar(xs, ys, yerr=_yerr(ys, low, high), fmt="o-", capsize=3, label=str(value))
        ax.set_xlabel("X (training languages, English included)")
        ax.set_ylabel(label)
        ax.set_title(f"{title}: {label} ({model}, {fixed} {level}; 95% CI)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    _save(fig, output)


def plot_rl_vs_sft(runs: pl.DataFrame, output: Path) -> None:
    """GRPO against SFT on the same parallel sets (the main model; the grow budget when present)."""
    _series_plot(runs.filter(pl.col("method").is_in(["grpo", "sft"])), "method", "budget", "grow", output, "RL vs SFT")


def plot_ablations(runs: pl.DataFrame, output: Path) -> None:
    """GRPO against its ablations (config training.ablations: methods grpo_<name>) on the same sets."""
    part = runs.filter((pl.col("method") == "grpo") | pl.col("method").str.starts_with("grpo_"))
    _series_plot(part, "method", "budget", "grow", output, "GRPO ablations")


def plot_grow_vs_fixed(runs: pl.DataFrame, output: Path) -> None:
    """Growing against fixed training budget (total prompts constant as X grows), GRPO when present."""
    _series_plot(runs, "budget", "method", "grpo", output, "grow vs fixed budget")


def plot_mti_by_model(runs: pl.DataFrame, output: Path) -> None:
    """MTI per initial model against X (its first method and budget), and every observational model
    against its initial model, with 95% CIs."""
    pooled = _pooled(runs)
    trained = pooled.filter((pl.col("run") != INIT_RUN) & (pl.col("method") != "observational"))
    observed = pooled.filter(pl.col("method") == "observational")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True, gridspec_kw={"width_ratios": [3, 2]})
    if trained.height:
        first = {
            "method": _prefer(trained["method"].unique(maintain_order=True).to_list(), "grpo"),
            "budget": _prefer(trained["budget"].unique(maintain_order=True).to_list(), "grow"),
        }
        part = trained.filter((pl.col("method") == first["method"]) & (pl.col("budget") == first["budget"]))
        for (model,), series in part.sort("n_languages").group_by("model", maintain_order=True):
            xs = series["n_languages"].to_numpy()
            ys = series["mti"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            low = series["mti_ci_low"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            high = series["mti_ci_high"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            axes[0].errorbar(xs, ys, yerr=_yerr(ys, low, high), fmt="o-", capsize=3, label=model)
        axes[0].set_title(f"MTI by initial model ({first['method']}, {first['budget']} budget; 95% CI)", fontsize=9)
        axes[0].set_xlabel("X (training languages, English included)")
    axes[0].axhline(1.0, color="gray", lw=0.8, ls=":")
    axes[0].set_ylabel("MTI")
    axes[0].grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    if observed.height:
        labels = [f"{r['run'].removeprefix('obs-')}\n(vs {r['model']})" for r in observed.iter_rows(named=True)]
        ys = observed["mti"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        low = observed["mti_ci_low"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        high = observed["mti_ci_high"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        axes[1].errorbar(ys, np.arange(len(ys)), xerr=_yerr(ys, low, high), fmt="o", capsize=3)
        axes[1].set_yticks(range(len(ys)), labels, fontsize=7)
        axes[1].axvline(1.0, color="gray", lw=0.8, ls=":")
        axes[1].set_xlabel("MTI against its initial model")
        axes[1].set_title("off-the-shelf reasoning models (95% CI)", fontsize=9)
        axes[1].grid(alpha=0.3)
    else:
        axes[1].set_axis_off()
        axes[1].text(0.5, 0.5, "no observational models in the config", ha="center", transform=axes[1].transAxes)
    _save(fig, output)


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (NaN-aware) over `window` logged steps: per-step rewards of a few
    prompts are noisy, the trend is what a reader wants."""
    finite = np.isfinite(values)
    kernel = np.ones(window)
    total = np.convolve(np.where(finite, values, 0.0), kernel)[: len(values)]
    count = np.convolve(finite.astype(float), kernel)[: len(values)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _reward_history(path: Path) -> list[dict[str, Any]]:
    """The logged GRPO steps of a model's log history (empty for SFT, which logs a loss)."""
    folder = Path(path).parent if Path(path).name == "log_history.json" else Path(path)
    records = read_json(path, "training log history", kind=list, redo=folder)
    return [h for h in records if isinstance(h, dict) and "reward" in h]


def plot_training_curves(histories: Mapping[str, Sequence[Path]], output: Path) -> None:
    """Reward per logged step of every GRPO run (from the trainer's log history), one line per run
    with its seeds averaged (each seed faint), a moving average, every panel on the rewards' full
    0-1 range; the legend beside the panels, so many runs never hide the curves."""
    fig, axes = plt.subplots(1, 4, figsize=(18, 3.8), layout="constrained")
    keys = ("reward", "rewards/accuracy_reward/mean", "rewards/format_reward/mean", "rewards/language_reward/mean")
    curves = {label: [h for h in map(_reward_history, paths) if h] for label, paths in histories.items()}
    curves = {label: seeds for label, seeds in curves.items() if seeds}
    colours = plt.get_cmap("turbo")(np.linspace(0.05, 0.95, max(1, len(curves))))
    window = 1
    for colour, (label, seeds) in zip(colours, curves.items(), strict=False):
        length = min(map(len, seeds))
        steps = np.array([h["step"] for h in seeds[0][:length]], dtype=float)
        window = max(1, length // 10)
        for ax, key in zip(axes, keys, strict=True):
            smoothed = [_smooth(np.array([float(h.get(key, np.nan)) for h in seed[:length]]), window) for seed in seeds]
            if len(seeds) > 1:
                for curve in smoothed:
                    ax.plot(steps, curve, color=colour, lw=0.6, alpha=0.3)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a step no seed logged: NaN
                mean = np.nanmean(np.vstack(smoothed), axis=0)
            seeds_note = f" ({len(seeds)} seeds)" if len(seeds) > 1 else ""
            ax.plot(steps, mean, color=colour, lw=1.6, label=f"{label}{seeds_note}" if key == "reward" else None)
    for ax, key in zip(axes, keys, strict=True):
        ax.set_title(key.replace("rewards/", "").replace("/mean", "") + " (weighted sum)" * (key == "reward"))
        ax.set_xlabel("step")
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    fig.legend(
        loc="outside right upper",
        fontsize=7,
        title=f"moving average over {window} logged steps;\nseeds averaged (each seed faint)",
        title_fontsize=7,
    )
    _save(fig, output, dpi=110)


def draw(
    figure: str,
    output: Path,
    *,
    accuracy: str | None = None,
    gains: str | None = None,
    runs: str | None = None,
    fits: str | None = None,
    histories: Mapping[str, Sequence[Path]] | None = None,
    languages: list[str] | None = None,
    parallel_order: list[str] | None = None,
) -> None:
    """Draw one figure by name (pscale.figure_registry) from the files it needs (`pscale figures`)."""
    if figure not in FIGURES:
        raise UserError(f"unknown figure '{figure}' (one of {', '.join(FIGURES)})")
    spec = FIGURES[figure]
    given = {"accuracy": accuracy, "gains": gains, "runs": runs, "fits": fits, "histories": histories}
    missing = [name for name in spec.inputs if not given[name]]
    if missing:
        raise UserError(f"figure {figure} needs --{' --'.join(missing)}")
    plot: Callable[..., None] = globals()[spec.plot]

    def langs(frame: pl.DataFrame) -> list[str]:
        return column_order(languages or frame["lang"].unique(maintain_order=True).to_list(), parallel_order)

    if spec.inputs == ("fits",):
        plot(read_fits(str(fits)), output)
    elif spec.inputs == ("accuracy",):
        frame = read_csv(str(accuracy))
        plot(frame, langs(frame), output, parallel_order)
    elif spec.inputs == ("gains",):
        frame = read_csv(str(gains))
        plot(frame, [x for x in langs(frame) if x not in ("seen", "unseen")], output, parallel_order)
    elif spec.inputs == ("runs",):
        plot(read_csv(str(runs)), output)
    else:  # histories: a model folder's log_history.json, or the file itself
        logs = {
            label: [p / "log_history.json" if p.is_dir() else p for p in paths]
            for label, paths in (histories or {}).items()
        }
        plot(logs, output)


# --------------------------------------------------------------------------------------------
# The results summary (the report's first page)


def _num(value: Any, scale: float = 1.0, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "undefined"
    scaled = value * scale
    return f"{0.0 if abs(scaled) < 1e-9 else scaled:.{digits}g}"  # float noise (-6.94e-17) is 0


def _ci(ci: Any, scale: float = 1.0, digits: int = 3) -> str:
    if not ci or ci[0] is None or ci[1] is None or not all(math.isfinite(v) for v in ci):
        return "[CI undefined]"
    return f"[{_num(ci[0], scale, digits)}, {_num(ci[1], scale, digits)}]"


def _verdict(ci: Any, seeds_resampled: bool = True) -> str:
    """In words, whether an interval excludes 0. With one training seed the interval covers problem
    sampling only: a second seed (or another CPU) can move the point by more than that, so no verdict."""
    if not ci or ci[0] is None or ci[1] is None:
        return "cannot be judged (its interval is undefined)"
    if not seeds_resampled:
        return "is not judged (one training seed: the interval covers problem sampling only)"
    if ci[0] > 1e-12:
        return "is distinguishable from 0 (positive: its 95% CI excludes 0)"
    if ci[1] < -1e-12:
        return "is distinguishable from 0 (negative: its 95% CI excludes 0)"
    return "is **not** distinguishable from 0 (its 95% CI includes 0)"


def _value(value: Any, ci: Any, scale: float, unit: str = "") -> str:
    """A number with its interval, in the unit of the runs table (points for accuracy)."""
    return f"{_num(value, scale)}{unit} {_ci(ci, scale)}"


def _intervals_paragraph(fits: dict[str, Any]) -> list[str]:
    n_reps = fits.get("bootstrap_replicates", 0)
    text = (
        f"Intervals are {int(fits.get('confidence', 0.95) * 100)}% percentile intervals of a paired bootstrap "
        f"({n_reps} replicates): problem ids are resampled jointly across languages and across the initial and "
        "trained models, and samples stay with their problem. Accuracy, gains, the accuracy law's α, gap and "
        "leap are in points (percent); MTI and β have no unit."
    )
    if fits.get("min_seeds", 1) >= 2:
        text += f" Training seeds are resampled too (at least {fits['min_seeds']} seeds per run)."
    else:
        text += (
            " **One training seed per run**: the intervals cover problem sampling only, not training variance. "
            "A second seed, or the same seed on another CPU, can move a run by more than its interval, so this "
            "summary draws no verdict on whether an effect differs from 0; set `seeds` to two or more for one."
        )
    return [text, ""]


def _off_target_outside_english(accuracy: pl.DataFrame | None) -> dict[tuple[str, str], float]:
    """Each run's off-target rate, the mean over the non-English languages and benchmarks (seeds pooled)."""
    if accuracy is None or not accuracy.height:
        return {}
    off = (
        _pooled(accuracy)
        .filter(pl.col("lang") != "en")
        .group_by("model", "run", maintain_order=True)
        .agg(pl.col("off_target_rate").mean())
    )
    return {(m, r): v for m, r, v in off.iter_rows()}


def _headline(runs: pl.DataFrame, off_target: dict[tuple[str, str], float], seeds_resampled: bool) -> list[str]:
    """Key numbers first: the initial model, the gains and MTI per run, off-target rates."""
    lines: list[str] = []
    pooled = _pooled(runs)
    for model in pooled["model"].unique(maintain_order=True).to_list():
        part = pooled.filter(pl.col("model") == model)
        init = part.filter(pl.col("run") == INIT_RUN)
        head = f"**{model}**"
        if init.height:
            r = init.row(0, named=True)
            score = _value(r["accuracy"], [r["accuracy_ci_low"], r["accuracy_ci_high"]], 100)
            head += f": the initial model scores {score} points (mean over languages and benchmarks)"
        rates = {run: rate for (of_model, run), rate in off_target.items() if of_model == model}
        if rates.get(INIT_RUN) is not None:
            head += f"; outside English {_num(rates[INIT_RUN], 100)}% of its responses are off-target"
        trained = {r: v for r, v in rates.items() if r != INIT_RUN and v is not None}
        if trained:
            low, high = _num(min(trained.values()), 100), _num(max(trained.values()), 100)
            head += f", {low}% after training" if low == high else f", {low}–{high}% after training"
        lines += [head + ".", ""]
        trained_runs = part.filter((pl.col("run") != INIT_RUN) & (pl.col("method") != "observational"))
        for r in trained_runs.sort("method", "budget", "n_languages").iter_rows(named=True):
            seen = _value(r["gain_seen"], [r["gain_seen_ci_low"], r["gain_seen_ci_high"]], 100)
            unseen = _value(r["gain_unseen"], [r["gain_unseen_ci_low"], r["gain_unseen_ci_high"]], 100)
            lines.append(
                f"- {r['run']} (X = {r['n_languages']}): {seen} points in its training languages, {unseen} in the "
                f"others; MTI {_value(r['mti'], [r['mti_ci_low'], r['mti_ci_high']], 1)}."
            )
        if trained_runs.height:
            lines.append("")
        seen = trained_runs.filter(pl.col("gain_seen_ci_low").is_not_null())
        if seen.height:
            up = seen.filter(pl.col("gain_seen_ci_low") > 0).height
            if seeds_resampled:
                lines.append(
                    f"Post-training raised the mean accuracy of the training languages with a 95% CI above 0 in "
                    f"{up} of {seen.height} runs."
                )
            else:
                lines.append(
                    f"In {up} of {seen.height} runs the training-language gain's problem-sampling interval lies above "
                    "0; with one training seed this is not a verdict on training."
                )
            lines.append("")
    return lines


def summary_text(
    runs: pl.DataFrame, gains: pl.DataFrame, fits: dict[str, Any], accuracy: pl.DataFrame | None = None
) -> str:
    """Key numbers with their 95% CIs, and in words which effects are distinguishable from zero
    (only where the intervals include training variance: several seeds)."""
    seeds_resampled = fits.get("min_seeds", 1) >= 2
    lines = ["Results summary", "===============", ""]
    lines += _intervals_paragraph(fits)
    off_target = _off_target_outside_english(accuracy)
    lines += _headline(runs, off_target, seeds_resampled)
    for group in fits["groups"]:
        title = f"Scaling law: {group['model']}, {group['method']}, {group['budget']} budget"
        lines += [title, "-" * len(title), ""]
        group_seeds = group.get("n_seeds", 1) >= 2
        for name, label in (("mti", "MTI"), ("accuracy", "Accuracy")):
            curve = group[name]
            if "alpha" not in curve:
                lines += [f"- **{label}**: no fit ({curve.get('error', 'no points')}).", ""]
                continue
            scale, unit = (100.0, " points") if name == "accuracy" else (1.0, "")
            loo = curve.get("loo", {})
            leap_ci = curve.get("first_parallel_leap_ci")
            beta = _value(curve["beta"], curve.get("beta_ci"), 1)
            lines += [
                f"- **{label}**: f(X) = α·X^β with α = {_value(curve['alpha'], curve.get('alpha_ci'), scale)}, "
                f"β = {beta}: β {_verdict(curve.get('beta_ci'), group_seeds)}.",
                f"- {label} Monolingual Generalization Gap f(1) − observed(1) = "
                f"{_value(curve['gap'], curve.get('gap_ci'), scale, unit)}: the gap "
                f"{_verdict(curve.get('gap_ci'), group_seeds)}.",
                f"- {label} First-Parallel Leap observed(2) − observed(1) = "
                f"{_value(curve['first_parallel_leap'], leap_ci, scale, unit)}: the leap "
                f"{_verdict(leap_ci, group_seeds)}.",
            ]
            if loo.get("points"):
                better = loo["mean_abs_error"] < loo["baseline_mean_abs_error"]
                error, flat = _num(loo["mean_abs_error"], scale), _num(loo["baseline_mean_abs_error"], scale)
                how = "better" if better else "**no better**"
                lines.append(
                    f"- {label} leave-one-X-out: mean absolute error {error}{unit} against {flat}{unit} for a flat "
                    f'line through the other points: the law predicts a left-out X {how} than "no change with X".'
                )
            elif loo.get("error"):
                lines.append(f"- {label} leave-one-X-out: not judged ({loo['error']}).")
            lines.append("")
    pooled = _pooled(runs).filter(pl.col("run") != INIT_RUN)
    if pooled.height:
        title = "Runs (means over benchmarks; accuracy and gains in points over the initial model)"
        lines += [title, "-" * len(title), "", ".. list-table::", "   :header-rows: 1", ""]
        header = ["model", "run", "accuracy", "gain, training languages", "gain, other languages", "MTI"]
        header += ["off-target outside English (%)"] if off_target else []
        lines.append("   * - " + "\n     - ".join(header))
        for r in pooled.sort("model", "method", "budget", "n_languages").iter_rows(named=True):
            cells = [r["model"], r["run"]]
            for name, scale in (("accuracy", 100), ("gain_seen", 100), ("gain_unseen", 100), ("mti", 1)):
                ci = [r[f"{name}_ci_low"], r[f"{name}_ci_high"]]
                cells.append(f"{_num(r[name], scale)} {_ci(ci, scale)}")
            if off_target:
                cells.append(_num(off_target.get((r["model"], r["run"]), math.nan), 100))
            lines.append("   * - " + "\n     - ".join(cells))
        lines.append("")
    return "\n".join(lines) + "\n"


def write_headline(figure: Path, output: Path) -> None:
    """An reStructuredText image of `figure` with the picture inside (a data URI): the report's
    first page shows it wherever the report is opened. (Snakemake's `embeddedimage` directive
    links the file instead of embedding it, so the report would show a broken image.)"""
    import base64

    from pscale.tables import write_text

    # docutils joins the lines of an image URI (and refuses lines over 10,000 characters)
    uri = "data:image/png;base64," + base64.b64encode(figure.read_bytes()).decode("ascii")
    lines = "\n".join(f"   {uri[i : i + 76]}" for i in range(0, len(uri), 76))
    write_text(f".. image::\n{lines}\n   :width: 100%\n   :alt: {figure.name}\n", output)


def write_tables_html(tables: Mapping[str, Path], output: Path) -> None:
    """The result tables as one HTML page, so the report shows them inline (a browser downloads a
    CSV data link instead of showing it). The CSV files stay the machine-readable copies."""
    from pscale.tables import write_text

    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>parallel-scaling tables</title>",
        "<style>body{font-family:sans-serif;font-size:13px} table{border-collapse:collapse} "
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right} h2{margin-top:1.5em}</style></head><body>",
    ]
    with pl.Config(tbl_rows=-1, tbl_cols=-1, float_precision=4, fmt_str_lengths=80, tbl_hide_dataframe_shape=True):
        for name, path in tables.items():
            parts += [f"<h2>{name}</h2>", read_csv(path)._repr_html_()]
    parts.append("</body></html>")
    write_text("\n".join(parts), output)


def write_summary(runs: Path, gains: Path, fits: Path, output: Path, accuracy: Path | None = None) -> None:
    from pscale.tables import write_text

    acc = read_csv(accuracy) if accuracy else None
    write_text(summary_text(read_csv(runs), read_csv(gains), read_fits(fits), acc), output)
