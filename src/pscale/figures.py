"""The paper's figures and the results summary, drawn from the pipeline's own tables and fits.

Every number is drawn with its bootstrap interval (error bars on points, bands on fits); the
summary says in words which effects are distinguishable from zero.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from pscale.analysis import INIT_RUN, OBSERVATIONAL_PREFIX, POOLED, parse_run, power_law
from pscale.errors import UserError
from pscale.tables import atomic_path, read_json, read_table

log = logging.getLogger(__name__)

#: The published MTI fit, alpha * X^beta (Yang et al., 2025), drawn for comparison.
PAPER_MTI_FIT = (2.00, 0.29)


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


def _run_order(runs: list[str]) -> list[str]:
    """The initial model first, trained runs by their number of languages, observational models last."""
    return sorted(
        set(runs), key=lambda run: (run != INIT_RUN, run.startswith(OBSERVATIONAL_PREFIX), parse_run(run)[2], run)
    )


# --------------------------------------------------------------------------------------------
# The Parallel Scaling Law


def plot_scaling_law(fits: dict[str, Any], output: Path) -> None:
    """MTI and accuracy against X: observed points with CIs, fitted law with its band, the X=1 gap,
    the First-Parallel Leap and the leave-one-X-out predictions."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    for ax, name, label in zip(axes, ("mti", "accuracy"), ("MTI", "accuracy (%)"), strict=True):
        scale = 100.0 if name == "accuracy" else 1.0
        for group in fits["groups"]:
            curve = group[name]
            tag = f"{group['model']} {group['method']}/{group['budget']}"
            xs = np.array([int(x) for x in curve["points"]])
            ys = np.array(list(curve["points"].values()), dtype=float) * scale
            ci = curve.get("points_ci", {})
            low = np.array([(ci.get(str(x)) or [None])[0] for x in xs], dtype=float) * scale
            high = np.array([(ci.get(str(x)) or [None, None])[1] for x in xs], dtype=float) * scale
            bars = ax.errorbar(xs, ys, yerr=_yerr(ys, low, high), fmt="o", capsize=3, label=f"{tag} observed (95% CI)")
            color = bars.lines[0].get_color()
            if "alpha" not in curve:
                continue
            band = curve.get("band")
            if band:
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
                label=f"fit {curve['alpha'] * scale:.3g}·X^{curve['beta']:.2f}{beta_text} (X≥{fits['fit_min_x']})",
            )
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
                ax.annotate(
                    "",
                    xy=(1, curve["observed_x1"] * scale),
                    xytext=(1, curve["predicted_x1"] * scale),
                    arrowprops={"arrowstyle": "<->", "color": "crimson"},
                )
                ax.text(
                    1.05,
                    (curve["observed_x1"] + curve["predicted_x1"]) / 2 * scale,
                    f"gap {curve['gap'] * scale:+.3g}",
                    color="crimson",
                    fontsize=8,
                )
                y2 = curve["points"].get("2")
                if y2 is not None and math.isfinite(y2):
                    ax.annotate(
                        "",
                        xy=(2, y2 * scale),
                        xytext=(1, curve["observed_x1"] * scale),
                        arrowprops={"arrowstyle": "->", "color": "darkorange", "ls": "--"},
                    )
                    ax.text(
                        1.5,
                        (curve["observed_x1"] + y2) / 2 * scale,
                        f"leap {curve['first_parallel_leap'] * scale:+.3g}",
                        color="darkorange",
                        fontsize=8,
                    )
        if name == "mti":
            alpha, beta = PAPER_MTI_FIT
            grid = np.linspace(1, 8, 50)
            ax.plot(grid, power_law(grid, alpha, beta), "--", color="gray", label=f"paper {alpha}·X^{beta}")
            if not any(
                np.isfinite(np.array(list(g["mti"]["points"].values()), dtype=float)).any() for g in fits["groups"]
            ):
                ax.text(
                    0.5,
                    0.5,
                    "MTI undefined for every run\n(see results/tables/mti.csv)",
                    transform=ax.transAxes,
                    ha="center",
                    color="crimson",
                )
        ax.set_xlabel("X (training languages, English included)")
        ax.set_ylabel(label)
        ax.set_title(f"Parallel Scaling Law: {label}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    _save(fig, output)


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
) -> None:
    """One panel per model: runs (rows) x languages (columns), averaged over benchmarks."""
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
        runs = _run_order(part["run"].to_list())
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
        ax.set_xticks(range(len(languages)), languages)
        ax.set_yticks(range(len(runs)), runs)
        ax.set_title(f"{model}: {title}", fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8)
    _save(fig, output)


def _mean_over_benchmarks(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return frame.group_by("model", "run", "lang", maintain_order=True).agg(pl.col(c).mean() for c in columns)


def plot_accuracy_heatmap(accuracy: pl.DataFrame, languages: list[str], output: Path) -> None:
    """Accuracy per run (rows) and language (columns), averaged over benchmarks, per model."""
    part = _mean_over_benchmarks(_pooled(accuracy), ["accuracy"])
    _heatmap(part, "accuracy", languages, output, "accuracy (%) by training set and query language")


def plot_off_target(accuracy: pl.DataFrame, languages: list[str], output: Path) -> None:
    """Off-target rate per run and query language, averaged over benchmarks."""
    part = _mean_over_benchmarks(_pooled(accuracy), ["off_target_rate"])
    _heatmap(part, "off_target_rate", languages, output, "off-target rate (%): responses not in the query language")


def plot_language_gain(gains: pl.DataFrame, languages: list[str], output: Path) -> None:
    """Gain over the initial model (accuracy points) per run and language; * = the benchmark-level
    95% CI excludes 0 on every benchmark."""
    part = (
        _pooled(gains)
        .with_columns(((pl.col("gain_ci_low") > 0) | (pl.col("gain_ci_high") < 0)).alias("significant"))
        .group_by("model", "run", "lang", maintain_order=True)
        .agg(pl.col("gain").mean(), pl.col("significant").all())
    )
    columns = [*languages, "seen", "unseen"]
    _heatmap(
        part,
        "gain",
        columns,
        output,
        "gain over the initial model (accuracy points; * = 95% CI excludes 0)",
        diverging=True,
        marks=lambda r: r["significant"],
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
    _series_plot(runs, "method", "budget", "grow", output, "RL vs SFT")


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


def plot_training_curves(histories: dict[str, Path], output: Path) -> None:
    """Mean reward per logged step of every GRPO run (from the trainer's log history)."""
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.5), constrained_layout=True)
    keys = ("reward", "rewards/accuracy_reward/mean", "rewards/format_reward/mean", "rewards/language_reward/mean")
    for run, path in histories.items():
        folder = Path(path).parent if Path(path).name == "log_history.json" else Path(path)
        records = read_json(path, "training log history", kind=list, redo=folder)
        history = [h for h in records if isinstance(h, dict) and "reward" in h]
        if not history:  # SFT runs log a loss, not rewards
            continue
        for ax, key in zip(axes, keys, strict=True):
            ax.plot([h["step"] for h in history], [float(h.get(key, np.nan)) for h in history], label=run)
    for ax, key in zip(axes, keys, strict=True):
        ax.set_title(key.replace("rewards/", "").replace("/mean", ""))
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6)
    _save(fig, output, dpi=110)


FIGURES = (
    "scaling_law",
    "accuracy_heatmap",
    "language_gain",
    "off_target",
    "mti_by_model",
    "rl_vs_sft",
    "grow_vs_fixed",
    "training_rewards",
)


def draw(
    figure: str,
    output: Path,
    *,
    accuracy: str | None = None,
    gains: str | None = None,
    runs: str | None = None,
    fits: str | None = None,
    histories: Mapping[str, Path] | None = None,
    languages: list[str] | None = None,
) -> None:
    """Draw one figure by name from the files it needs (`pscale figures`)."""

    def need(value: str | None, flag: str) -> str:
        if not value:
            raise UserError(f"figure {figure} needs --{flag}")
        return value

    def langs(frame: pl.DataFrame) -> list[str]:
        return languages or frame["lang"].unique(maintain_order=True).to_list()

    if figure == "scaling_law":
        plot_scaling_law(read_fits(need(fits, "fits")), output)
    elif figure in ("accuracy_heatmap", "off_target"):
        frame = read_csv(need(accuracy, "accuracy"))
        (plot_accuracy_heatmap if figure == "accuracy_heatmap" else plot_off_target)(frame, langs(frame), output)
    elif figure == "language_gain":
        frame = read_csv(need(gains, "gains"))
        plot_language_gain(frame, [x for x in langs(frame) if x not in ("seen", "unseen")], output)
    elif figure in ("mti_by_model", "rl_vs_sft", "grow_vs_fixed"):
        plotter = {"mti_by_model": plot_mti_by_model, "rl_vs_sft": plot_rl_vs_sft, "grow_vs_fixed": plot_grow_vs_fixed}
        plotter[figure](read_csv(need(runs, "runs")), output)
    elif figure == "training_rewards":
        histories = histories or {}
        plot_training_curves(
            {label: p / "log_history.json" if p.is_dir() else p for label, p in histories.items()}, output
        )
    else:
        raise UserError(f"unknown figure '{figure}' (one of {', '.join(FIGURES)})")


# --------------------------------------------------------------------------------------------
# The results summary (the report's first page)


def _num(value: Any, scale: float = 1.0, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "undefined"
    return f"{value * scale:.{digits}g}"


def _ci(ci: Any, scale: float = 1.0, digits: int = 3) -> str:
    if not ci or ci[0] is None or ci[1] is None or not all(math.isfinite(v) for v in ci):
        return "[CI undefined]"
    return f"[{ci[0] * scale:.{digits}g}, {ci[1] * scale:.{digits}g}]"


def _verdict(ci: Any) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return "cannot be judged (its interval is undefined)"
    if ci[0] > 1e-12:
        return "is distinguishable from 0 (positive: its 95% CI excludes 0)"
    if ci[1] < -1e-12:
        return "is distinguishable from 0 (negative: its 95% CI excludes 0)"
    return "is **not** distinguishable from 0 (its 95% CI includes 0)"


def summary_text(runs: pl.DataFrame, gains: pl.DataFrame, fits: dict[str, Any]) -> str:
    """Key numbers with their 95% CIs, and in words which effects are distinguishable from zero."""
    lines = ["Results summary", "===============", ""]
    n_reps = fits.get("bootstrap_replicates", 0)
    lines += [
        f"Intervals are {int(fits.get('confidence', 0.95) * 100)}% percentile intervals of a paired bootstrap "
        f"({n_reps} replicates): problem ids are resampled jointly across languages and across the initial and "
        "trained models, samples stay with their problem, and training seeds are resampled when there are several. "
        "Accuracy is a fraction of 1 below (the paper's 56.98 is a percentage).",
        "",
    ]
    for group in fits["groups"]:
        title = f"Scaling law: {group['model']}, {group['method']}, {group['budget']} budget"
        lines += [title, "-" * len(title), ""]
        for name, label in (("mti", "MTI"), ("accuracy", "Accuracy")):
            curve = group[name]
            if "alpha" not in curve:
                lines += [f"- **{label}**: no fit ({curve.get('error', 'no points')}).", ""]
                continue
            loo = curve.get("loo", {})
            leap_ci = curve.get("first_parallel_leap_ci")
            lines += [
                f"- **{label}**: f(X) = α·X^β with α = {_num(curve['alpha'])} {_ci(curve.get('alpha_ci'))}, "
                f"β = {_num(curve['beta'])} {_ci(curve.get('beta_ci'))}: β {_verdict(curve.get('beta_ci'))}.",
                f"- {label} Monolingual Generalization Gap f(1) − observed(1) = {_num(curve['gap'])} "
                f"{_ci(curve.get('gap_ci'))}: the gap {_verdict(curve.get('gap_ci'))}.",
                f"- {label} First-Parallel Leap observed(2) − observed(1) = {_num(curve['first_parallel_leap'])} "
                f"{_ci(leap_ci)}: the leap {_verdict(leap_ci)}.",
            ]
            if loo.get("points"):
                better = loo["mean_abs_error"] < loo["baseline_mean_abs_error"]
                lines.append(
                    f"- {label} leave-one-X-out: mean absolute error {_num(loo['mean_abs_error'])} against "
                    f"{_num(loo['baseline_mean_abs_error'])} for a flat line through the other points: the law "
                    f'predicts a left-out X {"better" if better else "**no better**"} than "no change with X".'
                )
            elif loo.get("error"):
                lines.append(f"- {label} leave-one-X-out: not possible ({loo['error']}).")
            lines.append("")
    pooled = _pooled(runs).filter(pl.col("run") != INIT_RUN)
    if pooled.height:
        title = "Runs (means over benchmarks; accuracy and gains in points, gains over the initial model)"
        lines += [title, "-" * len(title), "", ".. list-table::", "   :header-rows: 1", ""]
        header = ["model", "run", "accuracy", "gain, training languages", "gain, other languages", "MTI"]
        lines.append("   * - " + "\n     - ".join(header))
        for r in pooled.sort("model", "method", "budget", "n_languages").iter_rows(named=True):
            cells = [r["model"], r["run"]]
            for name, scale in (("accuracy", 100), ("gain_seen", 100), ("gain_unseen", 100), ("mti", 1)):
                ci = [r[f"{name}_ci_low"], r[f"{name}_ci_high"]]
                cells.append(f"{_num(r[name], scale)} {_ci(ci, scale)}")
            lines.append("   * - " + "\n     - ".join(cells))
        lines.append("")
        seen = pooled.filter(pl.col("gain_seen_ci_low").is_not_null() & (pl.col("method") != "observational"))
        if seen.height:
            up = seen.filter(pl.col("gain_seen_ci_low") > 0).height
            lines += [
                f"Post-training raised the mean accuracy of the training languages with a 95% CI above 0 in "
                f"{up} of {seen.height} runs.",
                "",
            ]
    return "\n".join(lines) + "\n"


def write_summary(runs: Path, gains: Path, fits: Path, output: Path) -> None:
    from pscale.tables import write_text

    write_text(summary_text(read_csv(runs), read_csv(gains), read_fits(fits)), output)
