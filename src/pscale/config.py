"""Load and validate the pipeline config against its JSON Schema, filling in defaults.

The same function serves the Snakefile and the `pscale` console script, so a stage run by
hand on a GPU node sees exactly the settings the workflow would give it. Errors name the
offending key and what is allowed, before any job starts.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

#: The schema shipped with the workflow.
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
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


def _describe(error: jsonschema.ValidationError) -> str:
    where = _key_path(error)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        return (
            f"config key '{where}': unknown key(s) {unknown}; allowed: {allowed}"
            if where != "<top level>"
            else f"unknown config key(s) {unknown}; allowed: {allowed}"
        )
    if error.validator == "enum":
        return f"config key '{where}': {error.instance!r} is not allowed; choose one of {error.validator_value}"
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
        problems.append(
            f"config key 'subset_sizes': {too_big} exceed 1 + len(parallel_order) = {len(order) + 1}"
        )
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
    grpo = config["training"]["grpo"]
    if grpo["per_device_train_batch_size"] % grpo["num_generations"] and "generation_batch_size" not in grpo:
        problems.append(
            "config key 'training.grpo.per_device_train_batch_size': must be a multiple of "
            f"num_generations ({grpo['num_generations']}), got {grpo['per_device_train_batch_size']}"
        )
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


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
