"""The paper's figures, one entry each: read by the rules (which figures a config draws, their
report category and caption), by `pscale figures` (its --names help, which plot draws a name and
the files it needs) and by the report. Light on purpose (no matplotlib): the workflow imports it
when it parses the Snakefile. The plots themselves are in pscale.figures; each report caption is
workflow/report/<name>.rst.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One figure: what draws it, from which `pscale figures` inputs, and where the report files it."""

    name: str
    #: the function of pscale.figures that draws it
    plot: str
    #: the `pscale figures` inputs it reads (flag names without --)
    inputs: tuple[str, ...]
    #: the report category it is listed under
    category: str
    #: one line on what it shows (the CLI help; the report's caption is workflow/report/<name>.rst)
    caption: str
    #: why a validated config has nothing to draw in it (None: it is drawn)
    skip: Callable[[Mapping[str, Any]], str | None] = lambda config: None

    @property
    def caption_file(self) -> str:
        return f"{self.name}.rst"


def _methods(config: Mapping[str, Any]) -> set[str]:
    """The training methods of a config's runs; an ablation's runs are GRPO runs."""
    return set(config["training"]["methods"]) | ({"grpo"} if config["training"].get("ablations") else set())


FIGURES: dict[str, Figure] = {
    figure.name: figure
    for figure in (
        Figure(
            "scaling_law",
            "plot_scaling_law",
            ("fits",),
            "Scaling law",
            "MTI and accuracy against X with the fitted power law, the gap and the leap",
            lambda c: (
                None
                if sum(x >= c["analysis"]["fit_min_x"] for x in c["subset_sizes"]) >= 2
                else "needs two subset_sizes >= analysis.fit_min_x"
            ),
        ),
        Figure(
            "accuracy_heatmap",
            "plot_accuracy_heatmap",
            ("accuracy",),
            "Per language",
            "accuracy per run and language, training languages outlined",
        ),
        Figure(
            "language_gain",
            "plot_language_gain",
            ("gains",),
            "Per language",
            "accuracy gain over the initial model per language, with intervals",
        ),
        Figure(
            "off_target",
            "plot_off_target",
            ("accuracy",),
            "Per language",
            "share of answers not in the query language per run and language",
        ),
        Figure(
            "mti_by_model",
            "plot_mti_by_model",
            ("runs",),
            "Comparisons",
            "MTI against X for every model (and observational models)",
            lambda c: (
                None if len(c["models"]) > 1 or c["observational"] else "needs several models or observational models"
            ),
        ),
        Figure(
            "rl_vs_sft",
            "plot_rl_vs_sft",
            ("runs",),
            "Comparisons",
            "GRPO against SFT on the same parallel sets",
            lambda c: (
                None if {"grpo", "sft"} <= set(c["training"]["methods"]) else "needs training.methods grpo and sft"
            ),
        ),
        Figure(
            "ablations",
            "plot_ablations",
            ("runs",),
            "Comparisons",
            "GRPO against its ablations (training.ablations) on the same parallel sets",
            lambda c: None if c["training"].get("ablations") else "needs training.ablations",
        ),
        Figure(
            "grow_vs_fixed",
            "plot_grow_vs_fixed",
            ("runs",),
            "Comparisons",
            "a growing against a fixed training budget",
            lambda c: None if {"grow", "fixed"} <= set(c["budgets"]) else "needs budgets grow and fixed",
        ),
        Figure(
            "training_rewards",
            "plot_training_curves",
            ("histories",),
            "Training",
            "GRPO reward curves per run, smoothed",
            lambda c: None if "grpo" in _methods(c) else "needs GRPO runs",
        ),
    )
}


def figures_for(config: Mapping[str, Any]) -> tuple[list[str], dict[str, str]]:
    """The figures a validated config draws, in registry order, and why each other one is skipped."""
    reasons = {name: figure.skip(config) for name, figure in FIGURES.items()}
    return [name for name, why in reasons.items() if why is None], {n: w for n, w in reasons.items() if w is not None}


#: The figure on the report's first page, and the one used when the config has too few X for a fit.
HEADLINE_FIGURES = ("scaling_law", "accuracy_heatmap")
