"""The stages, and which config keys each reads: one table for the rules, the CLI and the code versions.

A stage is a `pscale` subcommand; its code is `cmd_<name>` in pscale.cli and every module that
reaches (pscale.codeversion hashes it into the rule's params). Its settings travel as one JSON
object, `--options`, built from the config keys listed here:

- by the workflow (`stage_options` in workflow/rules/common.smk), into each rule's params, so a
  config key reruns exactly the stages that list it and no other;
- by the CLI when a stage is run by hand with `--config` instead of `--options`;
- and `--options` given by hand is validated against the schema parts of the same keys.

An option named WHOLE stands for the whole object (the `scoring` section is score's options); a
key part in braces ({model}, {dataset}) is filled in from the job (a model's `scratch` block).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

#: The option name that makes one config key the stage's whole options object.
WHOLE = "*"


@dataclass(frozen=True)
class Stage:
    """A `pscale` subcommand: what it does and which config keys its options come from."""

    name: str
    help: str
    #: option -> dotted config key ({placeholder} parts filled per job); WHOLE: the object itself
    options: Mapping[str, str] = field(default_factory=dict)


STAGES: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        Stage("demo-data", "write the built-in multilingual arithmetic corpus"),
        Stage(
            "source", "load one hub (or local) dataset into the English source schema", {WHOLE: "data.hub.{dataset}"}
        ),
        Stage("translate", "translate one dataset's English source into every language", {WHOLE: "translation"}),
        Stage("parallel-set", "build the training set for X languages"),
        Stage(
            "init-model",
            "build the tiny Qwen2 + tokenizer and warm-start it (English SFT)",
            {WHOLE: "models.{model}.scratch"},
        ),
        Stage(
            "fetch-model", "download a hub model once (login node), record its commit and folder", {WHOLE: "evaluation"}
        ),
        Stage(
            "train",
            "post-train on one parallel set (GRPO, or SFT for the comparison arm)",
            {
                "grpo": "training.grpo",
                "sft": "training.sft",
                "reward_weights": "training.reward_weights",
                "scoring": "scoring",  # the rewards grade as scoring does: a change retrains
            },
        ),
        Stage(
            "check-prompts", "check that every prompt of every benchmark and language fits each model's context (CPU)"
        ),
        Stage("generate", "generate responses for one or more benchmarks in every language", {WHOLE: "evaluation"}),
        Stage("score", "grade responses (math-verify) and identify their language", {WHOLE: "scoring"}),
        Stage(
            "tables",
            "accuracy/off-target, MTI, gain and per-run tables with bootstrap CIs",
            {
                **{
                    key: f"analysis.{key}"
                    for key in (
                        "zero_baseline",
                        "min_baseline",
                        "bootstrap_replicates",
                        "bootstrap_seed",
                        "confidence",
                        "on_target_share",
                    )
                },
                "parallel_order": "parallel_order",
            },
        ),
        Stage(
            "fit",
            "fit the Parallel Scaling Law to MTI and accuracy, with bootstrap CIs",
            {"fit_min_x": "analysis.fit_min_x", "confidence": "analysis.confidence"},
        ),
        Stage("figures", "draw the paper's figures and the results summary"),
        Stage("plan", "GPU-hours, disk and translation API dollars of a config, before running it (no download)"),
    )
}

#: The training options each method reads (an SFT run does not rerun when GRPO settings change).
TRAINING_OPTIONS = {"grpo": ("grpo", "reward_weights", "scoring"), "sft": ("sft",)}


def _fill(key: str, names: Mapping[str, str]) -> list[str]:
    try:
        return [part.format(**names) for part in key.split(".")]
    except KeyError as err:
        raise KeyError(f"config key {key} needs {err.args[0]}=... (which one)") from None


def _lookup(config: Mapping[str, Any], key: str, names: Mapping[str, str]) -> Any:
    node: Any = config
    for part in _fill(key, names):
        node = node[part]
    return node


def stage_options(
    stage: str, config: Mapping[str, Any], only: tuple[str, ...] | None = None, **names: str
) -> dict[str, Any]:
    """The options object of `stage` read from a validated config (`only`: those options)."""
    options = STAGES[stage].options
    if WHOLE in options:
        return dict(_lookup(config, options[WHOLE], names))
    return {option: _lookup(config, key, names) for option, key in options.items() if only is None or option in only}


@cache
def _pointer(key: str) -> str:
    """The JSON pointer, in the config schema, of a dotted config key (a {placeholder} part is any
    entry of a mapping: its additionalProperties)."""
    from pscale.config import load_schema, schema_at

    schema = load_schema()
    pointer, node = "", schema
    for part in key.split("."):
        if "$ref" in node:
            pointer = node["$ref"][1:]
            node = schema_at(schema, pointer)
        pointer += "/additionalProperties" if part.startswith("{") else f"/properties/{part}"
        node = node["additionalProperties"] if part.startswith("{") else node["properties"][part]
    return node["$ref"][1:] if "$ref" in node and len(node) == 1 else pointer


def schema_part(stage: str, only: tuple[str, ...] | None = None) -> str | dict[str, str]:
    """Where `stage`'s options live in the config schema (pscale.config.validate_options' `part`)."""
    options = STAGES[stage].options
    if WHOLE in options:
        return _pointer(options[WHOLE])
    return {option: _pointer(key) for option, key in options.items() if only is None or option in only}
