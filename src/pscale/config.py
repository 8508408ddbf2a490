"""Load and validate the pipeline config against its JSON Schema, filling in defaults.

The same function serves the Snakefile and the `pscale` console script, so a stage run by
hand on a GPU node sees exactly the settings the workflow would give it. Errors name the
offending key and what is allowed, before any job starts.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from pscale.errors import UserError

#: The schema, shipped inside the package (workflow/schemas/config.schema.yaml links to it).
SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")


class ConfigError(UserError):
    """The config breaks the schema or a cross-key rule; the message names the key."""


def _extend_with_defaults(validator_class: type) -> type:
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema) -> Iterator:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_DefaultFillingValidator = _extend_with_defaults(jsonschema.Draft202012Validator)


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "<top level>"


#: Keys that moved to another section: old dotted path -> new one.
MOVED_KEYS = {"scoring.on_target_share": "analysis.on_target_share"}


def _describe(error: jsonschema.ValidationError) -> str:
    where = _key_path(error)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        moved = [f"{where}.{key}" for key in unknown if f"{where}.{key}" in MOVED_KEYS]
        if moved:
            return "; ".join(f"config key '{old}' has moved: write it as '{MOVED_KEYS[old]}'" for old in moved)
        closest = {key: difflib.get_close_matches(key, allowed, n=1, cutoff=0.6) for key in unknown}
        hints = [
            f"'{close[0]}'" + (f" for '{key}'" if len(unknown) > 1 else "") for key, close in closest.items() if close
        ]
        hint = f"; did you mean {', '.join(hints)}?" if hints else ""
        return (
            f"config key '{where}': unknown key(s) {unknown}{hint}; allowed: {allowed}"
            if where != "<top level>"
            else f"unknown config key(s) {unknown}{hint}; allowed: {allowed}"
        )
    if error.validator == "enum":
        return f"config key '{where}': {error.instance!r} is not allowed; choose one of {error.validator_value}"
    if error.validator in ("oneOf", "anyOf") and error.context:
        # e.g. report_to: a name or a list of names; say what is wrong with the closest alternative
        return _describe(jsonschema.exceptions.best_match(error.context))
    return f"config key '{where}': {error.message}"


def validate_config(config: Mapping[str, Any], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """Returns a validated deep copy of `config` with every default filled in.

    Raises ConfigError listing every problem (one per line), each naming its key.
    """
    schema = schema if schema is not None else load_schema()
    filled = copy.deepcopy(dict(config))
    validator = _DefaultFillingValidator(schema)
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(_describe(e) for e in errors))
    _check_cross_keys(filled)
    _place_results(filled, schema)
    return filled


def _place_results(config: dict[str, Any], schema: dict[str, Any]) -> None:
    """Paths left at their `results/...` default follow `results_dir` (a config's own folder)."""
    root = config["results_dir"].rstrip("/")
    if root == "results":
        return
    translation = schema["properties"]["translation"]["properties"]
    for section, key, default in (
        (config["translation"], "reference_corpus", translation["reference_corpus"]["default"]),
        (config["translation"]["openai"], "cache", translation["openai"]["properties"]["cache"]["default"]),
    ):
        if section.get(key) == default:
            section[key] = root + default[len("results") :]


#: Where a stage's options live in the schema: a JSON pointer ("/properties/scoring",
#: "/$defs/hub_dataset"), or for options gathered from several places, {option key: pointer, or
#: an inline schema}.
Part = str | Mapping[str, "str | dict[str, Any]"]


def schema_at(schema: dict[str, Any], pointer: str) -> dict[str, Any]:
    node = schema
    for key in pointer.strip("/").split("/"):
        node = node[key]
    return node


def validate_options(options: Mapping[str, Any], part: Part, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A stage's options (one part of the config, as `pscale <stage> --options` takes them)
    validated against that part of the schema, with its defaults filled in: a stage reads the
    same complete, checked settings whether they come from a config file or by hand.

    Checks what the part's schema says (keys, types, values), not the relations between
    sections (`validate_config` checks those for the whole config).
    """
    schema = schema if schema is not None else load_schema()
    if isinstance(part, str):
        body = schema_at(schema, part)
    else:
        properties = {key: schema_at(schema, where) if isinstance(where, str) else where for key, where in part.items()}
        body = {"type": "object", "additionalProperties": False, "properties": properties}
    filled = copy.deepcopy(dict(options))
    validator = _DefaultFillingValidator({**body, "$defs": schema["$defs"]})
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ConfigError("invalid options:\n  " + "\n  ".join(_describe(e) for e in errors))
    return filled


def _check_cross_keys(config: dict[str, Any]) -> None:
    """Rules JSON Schema cannot express: relations between keys."""
    problems: list[str] = []
    languages = config["languages"]
    if languages[0] != "en":
        problems.append(f"config key 'languages': English must come first, got {languages}")
    order = config["parallel_order"]
    if "en" in order:
        problems.append("config key 'parallel_order': must not contain 'en' (English is always in the set)")
    missing = [lang for lang in order if lang not in languages]
    if missing:
        problems.append(f"config key 'parallel_order': {missing} are not in 'languages' {languages}")
    too_big = [x for x in config["subset_sizes"] if x > len(order) + 1]
    if too_big:
        problems.append(f"config key 'subset_sizes': {too_big} exceed 1 + len(parallel_order) = {len(order) + 1}")
    if config["data"]["source"] == "hub":
        hub = config["data"]["hub"]
        for name in [config["data"]["train_dataset"], *config["data"]["benchmarks"]]:
            if name not in hub:
                problems.append(f"config key 'data.hub': no entry for dataset '{name}'")
    for entry in config["observational"]:
        if entry["base"] not in config["models"]:
            problems.append(
                f"config key 'observational': '{entry['name']}' has base '{entry['base']}', "
                f"which is not a key of 'models' {sorted(config['models'])}"
            )
    problems.extend(_check_names(config))
    problems.extend(_check_data(config))
    problems.extend(_check_architectures(config))
    fit_min_x, sizes = config["analysis"]["fit_min_x"], config["subset_sizes"]
    if all(x < fit_min_x for x in sizes):
        problems.append(
            f"config key 'analysis.fit_min_x': {fit_min_x} is above every X in subset_sizes {sizes}, "
            "so the scaling-law fit would have no point; lower it"
        )
    problems.extend(_check_training(config))
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


#: A name that becomes a folder or file name (models, observational models, datasets): no
#: separators, no spaces, no leading dot or dash.
PATH_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _check_names(config: dict[str, Any]) -> list[str]:
    """Names that end up as path parts (results/models/<model>/..., <dataset>.parquet)."""
    named = [("models", name) for name in config["models"]]
    named += [("observational", entry["name"]) for entry in config["observational"]]
    named += [("data.train_dataset", config["data"]["train_dataset"])]
    named += [("data.benchmarks", name) for name in config["data"]["benchmarks"]]
    return [
        f"config key '{where}': {name!r} cannot be a file or folder name (use letters, digits, '_', '.' and '-', "
        "starting with a letter or digit)"
        for where, name in named
        if not PATH_PART.match(str(name))
    ]


def _check_data(config: dict[str, Any]) -> list[str]:
    """Datasets that exist, and a train_size the training dataset can give."""
    from pscale.data.demo_datasets import DEMO_DATASETS

    data, problems = config["data"], []
    if data["source"] == "demo":
        for where, names in (("data.train_dataset", [data["train_dataset"]]), ("data.benchmarks", data["benchmarks"])):
            unknown = [name for name in names if name not in DEMO_DATASETS]
            if unknown:
                problems.append(
                    f"config key '{where}': {unknown} not in the demo corpus {list(DEMO_DATASETS)} "
                    "(data.source is demo; hub datasets need data.source: hub and a data.hub entry)"
                )
        known, where = data["demo"]["n_train"], "data.demo.n_train"
    else:
        known = (data["hub"].get(data["train_dataset"]) or {}).get("sample")
        where = f"data.hub.{data['train_dataset']}.sample"
    if data["train_size"] is not None and known is not None and data["train_size"] > known:
        problems.append(
            f"config key 'data.train_size': {data['train_size']} problems, but the training dataset has "
            f"{known} ({where}); lower train_size or raise {where}"
        )
    return problems


def _check_architectures(config: dict[str, Any]) -> list[str]:
    """A scratch model's shape that transformers would reject only inside the job (after the
    old model was deleted): attention heads must split the hidden size, KV heads the heads."""
    problems = []
    for name, spec in config["models"].items():
        if spec["source"] != "scratch":
            continue
        arch, where = spec["scratch"], f"models.{name}.scratch"
        hidden, heads, kv = arch["hidden_size"], arch["num_attention_heads"], arch["num_key_value_heads"]
        if hidden % heads:
            problems.append(
                f"config key '{where}.num_attention_heads': {heads} heads do not divide hidden_size {hidden}"
            )
        elif (hidden // heads) % 2:
            problems.append(
                f"config key '{where}.num_attention_heads': head size hidden_size/heads = {hidden}/{heads} = "
                f"{hidden // heads} is odd; rotary position embeddings need an even head size"
            )
        if heads % kv:
            problems.append(
                f"config key '{where}.num_key_value_heads': {kv} KV heads do not divide num_attention_heads {heads}"
            )
    return problems


def _unknown_keys(where: str, keys: Iterable[str], allowed: frozenset[str], library: str) -> list[str]:
    """One line per key `library` would reject, with the closest valid name (difflib)."""
    problems = []
    for key in sorted(set(keys) - allowed):
        close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        problems.append(f"config key '{where}.{key}': not an argument of {library}{hint}")
    return problems


#: Options the pipeline sets itself (from other config keys or the job's paths).
_PIPELINE_SET = {
    "output_dir": "the pipeline sets it to the job's work folder (results/work/...)",
    "reward_weights": "set training.reward_weights instead",
    "resume_from_checkpoint": "the pipeline resumes from the newest complete checkpoint itself",
}


def _check_training(config: dict[str, Any]) -> list[str]:
    """TRL/vLLM option names and values that cannot train, caught before Snakemake deletes any output.

    Field names come from `pscale.option_fields` (no trl/vllm import: `snakemake -n` stays fast).
    """
    from pscale.option_fields import GRPO_FIELDS, GRPO_VALUES, SFT_FIELDS, SFT_VALUES, VLLM_FIELDS

    problems: list[str] = []
    training = config["training"]
    grpo, sft = training["grpo"], training["sft"]
    problems += _unknown_keys("training.grpo", grpo, GRPO_FIELDS, "trl.GRPOConfig")
    problems += _unknown_keys("training.sft", sft, SFT_FIELDS, "trl.SFTConfig")
    vllm = config.get("evaluation", {}).get("vllm") or {}
    problems += _unknown_keys("evaluation.vllm", vllm, VLLM_FIELDS, "vllm.LLM (engine arguments)")
    for name in ("model", "revision", "generation_config"):
        if name in vllm:
            problems.append(f"config key 'evaluation.vllm.{name}': set by the pipeline (per model), remove it")
    own = [(f"models.{name}", spec) for name, spec in config.get("models", {}).items()]
    own += [(f"observational.{entry['name']}", entry) for entry in config.get("observational", [])]
    for where, spec in own:  # a model's own engine arguments (pscale.models.evaluation_for_model)
        extra = (spec.get("evaluation") or {}).get("vllm") or {}
        problems += _unknown_keys(f"{where}.evaluation.vllm", extra, VLLM_FIELDS, "vllm.LLM (engine arguments)")
    for section, options, allowed in (("grpo", grpo, GRPO_VALUES), ("sft", sft, SFT_VALUES)):
        for key, values in allowed.items():
            value = options.get(key)
            if isinstance(value, str) and value not in values:
                close = difflib.get_close_matches(value, sorted(values), n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'? " if close else ""
                problems.append(
                    f"config key 'training.{section}.{key}': {value!r} is not a value TRL accepts; {hint}"
                    f"choose one of {sorted(values)}"
                )
        for key, why in _PIPELINE_SET.items():
            if key in options:
                problems.append(f"config key 'training.{section}.{key}': {why}")
        if "max_steps" in options and "num_train_epochs" in options:
            # TRL would silently let max_steps win; the config states one training length
            problems.append(
                f"config keys 'training.{section}.max_steps' and 'training.{section}.num_train_epochs': "
                "set one of them (steps, or passes over the parallel set), not both"
            )
    if "grpo" in training["methods"]:
        weights = training["reward_weights"]
        if sum(weights.values()) <= 0:
            problems.append(
                f"config key 'training.reward_weights': the weights {weights} sum to 0, so GRPO would have no "
                "reward to learn from; give at least one a positive weight"
            )
    problems += _check_ablations(config)
    if "grpo" in training["methods"] or training["ablations"]:
        problems += _check_grpo_batch(grpo, config.get("resources", {}).get("train", {}).get("gpu") or 1)
    return problems


def _check_ablations(config: dict[str, Any]) -> list[str]:
    """Each ablation runs at X and budgets the main runs have (their parallel sets are built), and
    its weights (training.reward_weights with its changes) leave GRPO a reward."""
    problems = []
    for name, ablation in config["training"]["ablations"].items():
        key = f"config key 'training.ablations.{name}"
        for part, allowed in (("subset_sizes", config["subset_sizes"]), ("budgets", config["budgets"])):
            extra = [value for value in ablation.get(part, []) if value not in allowed]
            if extra:
                problems.append(f"{key}.{part}': {extra} are not in '{part}' {allowed}")
        weights = {**config["training"]["reward_weights"], **ablation["reward_weights"]}
        if sum(weights.values()) <= 0:
            problems.append(f"{key}.reward_weights': the weights {weights} sum to 0, so GRPO would have no reward")
    return problems


def _check_grpo_batch(grpo: dict[str, Any], world_size: int) -> list[str]:
    """TRL's own GRPOConfig rule, checked up front: every generation batch holds whole prompt groups."""
    problems = []
    per_device, num_generations = grpo["per_device_train_batch_size"], grpo["num_generations"]
    world_size = max(1, int(world_size))
    if "generation_batch_size" in grpo and "steps_per_generation" in grpo:
        problems.append(
            "config keys 'training.grpo.generation_batch_size' and 'training.grpo.steps_per_generation': "
            "set one of them, not both"
        )
        return problems
    global_batch = per_device * world_size
    if grpo.get("generation_batch_size") is not None:
        generation_batch = grpo["generation_batch_size"]
        if generation_batch % global_batch:
            problems.append(
                f"config key 'training.grpo.generation_batch_size': {generation_batch} must be a multiple of "
                f"per_device_train_batch_size x GPUs = {per_device} x {world_size} = {global_batch}"
            )
        key = "generation_batch_size"
    else:
        steps = grpo.get("steps_per_generation") or grpo.get("gradient_accumulation_steps") or 1
        generation_batch = global_batch * steps
        key = "per_device_train_batch_size"
    if generation_batch % num_generations:
        problems.append(
            f"config key 'training.grpo.{key}': the generation batch ({generation_batch} completions) must be a "
            f"multiple of num_generations ({num_generations}) so every prompt gets its whole group"
            + (
                f"; e.g. per_device_train_batch_size: {num_generations * max(1, round(per_device / num_generations))}"
                if key == "per_device_train_batch_size"
                else ""
            )
        )
    return problems


def load_config(path: str | Path) -> dict[str, Any]:
    """Reads a YAML config file and validates it (defaults filled in)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path}: top level must be a mapping, got {type(raw).__name__}")
    try:
        return validate_config(raw)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
