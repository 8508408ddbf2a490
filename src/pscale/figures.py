"""The paper's figures, drawn from the pipeline's own tables and fits."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from pscale.analysis import INIT_RUN, power_law

#: Published fits (Yang et al., 2025); the MTI curve is drawn for comparison.
PAPER_FITS = {"mti": (2.00, 0.29), "accuracy": (56.98, 0.02)}


def plot_scaling_law(fits: dict[str, Any], output: Path) -> None:
    """MTI and accuracy against X: observed points, fitted power law, the X=1 gap marked."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, name, label in zip(axes, ("mti", "accuracy"), ("MTI", "accuracy (%)"), strict=True):
        scale = 100.0 if name == "accuracy" else 1.0
        for group in fits["groups"]:
            curve = group[name]
            tag = f"{group['model']} {group['method']}/{group['budget']}"
            xs = np.array([int(x) for x in curve["points"]])
            ys = np.array(list(curve["points"].values()), dtype=float) * scale
            (line,) = ax.plot(xs, ys, "o", label=f"{tag} observed")
            if "alpha" not in curve:
                continue
            grid = np.linspace(1, max(xs.max(), 2), 100)
            ax.plot(
                grid, power_law(grid, curve["alpha"], curve["beta"]) * scale, "-", color=line.get_color(),
                label=f"fit {curve['alpha'] * scale:.3g}·X^{curve['beta']:.2f} (X≥{fits['fit_min_x']})",
            )
            if math.isfinite(curve["observed_x1"]):
                ax.annotate(
                    "", xy=(1, curve["observed_x1"] * scale), xytext=(1, curve["predicted_x1"] * scale),
                    arrowprops={"arrowstyle": "<->", "color": "crimson"},
                )
                ax.text(1.08, (curve["observed_x1"] + curve["predicted_x1"]) / 2 * scale,
                        f"gap {curve['gap'] * scale:+.3g}", color="crimson", fontsize=8)
        if name == "mti":
            alpha, beta = PAPER_FITS["mti"]
            grid = np.linspace(1, 8, 50)
            ax.plot(grid, power_law(grid, alpha, beta), "--", color="gray", label=f"paper {alpha}·X^{beta}")
            if not any(np.isfinite(list(g["mti"]["points"].values())).any() for g in fits["groups"]):
                ax.text(0.5, 0.5, "MTI undefined for every run\n(see results/tables/mti.csv)",
                        transform=ax.transAxes, ha="center", color="crimson")
        ax.set_xlabel("X (training languages, English included)")
        ax.set_ylabel(label)
        ax.set_title(f"Parallel Scaling Law: {label}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=120)
    plt.close(fig)


def plot_accuracy_heatmap(accuracy: pl.DataFrame, languages: list[str], output: Path) -> None:
    """Accuracy per run (rows) and language (columns), averaged over benchmarks, per model."""
    models = accuracy["model"].unique(maintain_order=True).to_list()
    n_runs = accuracy["subset"].n_unique()
    fig, axes = plt.subplots(len(models), 1, figsize=(2.0 + 0.6 * len(languages), (1.0 + 0.4 * n_runs) * len(models)),
                             squeeze=False, constrained_layout=True)
    for ax, model in zip(axes[:, 0], models, strict=True):
        part = (
            accuracy.filter(pl.col("model") == model)
            .group_by("subset", "n_languages", "lang")
            .agg(pl.col("accuracy").mean())
        )
        runs = (
            part.select("subset", "n_languages").unique().sort("n_languages", "subset")["subset"].to_list()
        )
        runs = [INIT_RUN, *[r for r in runs if r != INIT_RUN]] if INIT_RUN in runs else runs
        grid = np.full((len(runs), len(languages)), np.nan)
        for r in part.iter_rows(named=True):
            if r["lang"] in languages:
                grid[runs.index(r["subset"]), languages.index(r["lang"])] = 100 * r["accuracy"]
        image = ax.imshow(grid, cmap="viridis", aspect="auto", vmin=0, vmax=max(1.0, np.nanmax(grid)))
        for i in range(len(runs)):
            for j in range(len(languages)):
                if np.isfinite(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.0f}", ha="center", va="center", color="w", fontsize=7)
        ax.set_xticks(range(len(languages)), languages)
        ax.set_yticks(range(len(runs)), runs)
        ax.set_title(f"{model}: accuracy (%) by training set and query language")
        fig.colorbar(image, ax=ax, shrink=0.8)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=120)
    plt.close(fig)


def plot_training_curves(histories: dict[str, Path], output: Path) -> None:
    """Mean reward per logged step of every GRPO run (from the trainer's log history)."""
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.5), constrained_layout=True)
    keys = ("reward", "rewards/accuracy_reward/mean", "rewards/format_reward/mean", "rewards/language_reward/mean")
    for run, path in histories.items():
        history = [h for h in json.loads(Path(path).read_text()) if "reward" in h]
        if not history:  # SFT runs log a loss, not rewards
            continue
        for ax, key in zip(axes, keys, strict=True):
            ax.plot([h["step"] for h in history], [float(h.get(key, np.nan)) for h in history], label=run)
    for ax, key in zip(axes, keys, strict=True):
        ax.set_title(key.replace("rewards/", "").replace("/mean", ""))
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    plt.close(fig)
