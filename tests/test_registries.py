"""The stage table (pscale.stages) and the figure registry (pscale.figure_registry) are the one
place their facts live: every entry must resolve to real code, schema keys and caption files."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from pscale import cli, figures
from pscale.config import validate_config, validate_options
from pscale.figure_registry import FIGURES, figures_for
from pscale.stages import STAGES, TRAINING_OPTIONS, WHOLE, schema_part, stage_options

REPO = Path(__file__).resolve().parents[1]
CONFIG = validate_config(
    {"models": {"tiny": {"source": "scratch"}}, "data": {"hub": {"gsm": {"path": "openai/gsm8k"}}}}
)


@pytest.mark.parametrize("stage", list(STAGES))
def test_every_stage_is_a_subcommand_with_its_code(stage: str) -> None:
    assert hasattr(cli, f"cmd_{stage.replace('-', '_')}")
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "stage")
    assert stage in sub.choices
    assert ("--options" in sub.choices[stage].format_help()) == bool(STAGES[stage].options)


@pytest.mark.parametrize("stage", [s for s in STAGES if STAGES[s].options])
def test_stage_options_from_the_config_pass_their_own_schema(stage: str) -> None:
    """What the workflow passes as --options is what the stage validates against: one table."""
    names = {"model": "tiny", "dataset": "gsm"}
    keys = STAGES[stage].options
    needed = {k: v for k, v in names.items() if "{" + k + "}" in " ".join(keys.values())}
    groups = TRAINING_OPTIONS.values() if stage == "train" else [None]
    for only in groups:
        options = stage_options(stage, CONFIG, only, **needed)
        assert validate_options(options, schema_part(stage, only)) == options
        if WHOLE not in keys:
            assert set(options) == set(only or keys)


def test_a_key_outside_a_stages_table_is_not_in_its_options() -> None:
    changed = validate_config({**CONFIG, "analysis": {"fit_min_x": 4}})
    assert stage_options("tables", changed) == stage_options("tables", CONFIG)
    assert stage_options("fit", changed) != stage_options("fit", CONFIG)
    assert "on_target_share" not in stage_options("score", CONFIG)


@pytest.mark.parametrize("name", list(FIGURES))
def test_every_figure_has_a_plot_inputs_and_a_caption(name: str) -> None:
    figure = FIGURES[name]
    plot = getattr(figures, figure.plot)
    assert callable(plot) and "output" in inspect.signature(plot).parameters
    assert (REPO / "workflow" / "report" / figure.caption_file).is_file()
    assert set(figure.inputs) <= {"accuracy", "gains", "runs", "fits", "histories"}
    sub = next(a for a in cli.build_parser()._actions if a.dest == "stage").choices["figures"]
    assert name in sub.format_help()


def test_which_figures_a_config_draws() -> None:
    demo, skipped = figures_for(CONFIG)
    assert "scaling_law" in demo and "grow_vs_fixed" in skipped and "rl_vs_sft" in skipped
    both = validate_config({**CONFIG, "budgets": ["grow", "fixed"], "training": {"methods": ["grpo", "sft"]}})
    assert {"grow_vs_fixed", "rl_vs_sft"} <= set(figures_for(both)[0])
    assert "ablations" in skipped
    ablated = validate_config({**CONFIG, "training": {"ablations": {"nolang": {"reward_weights": {"language": 0}}}}})
    assert {"ablations", "training_rewards"} <= set(figures_for(ablated)[0])
    few = validate_config({**CONFIG, "subset_sizes": [1, 2]})
    assert "scaling_law" in figures_for(few)[1]
