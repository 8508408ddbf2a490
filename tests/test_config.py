from __future__ import annotations

import pytest
import yaml

from pscale.config import ConfigError, load_config, load_schema, validate_config, validate_options
from pscale.languages import LANGUAGE_NAMES, STUDY_LANGUAGES


def test_defaults_filled_in_every_section() -> None:
    config = validate_config({})
    assert config["languages"][0] == "en" and len(config["languages"]) == 11
    assert config["training"]["reward_weights"] == {"accuracy": 0.8, "format": 0.1, "language": 0.1}
    assert config["training"]["grpo"]["num_generations"] == 8
    assert config["models"]["tiny"]["scratch"]["hidden_size"] == 128
    assert config["analysis"]["zero_baseline"] == "skip"


def test_user_values_kept_and_nested_defaults_added() -> None:
    config = validate_config({"training": {"grpo": {"max_steps": 7}}})
    assert config["training"]["grpo"]["max_steps"] == 7
    assert config["training"]["grpo"]["learning_rate"] == pytest.approx(1e-6)


#: Settings of the study the schema's defaults share with experiments/paper.yaml: a config that
#: leaves one out runs the paper's value, never one sized for the CPU demo.
PAPER_DEFAULTS = [
    ("languages",), ("parallel_order",), ("subset_sizes",), ("training", "reward_weights"),
    *(("training", "grpo", key) for key in ("num_train_epochs", "learning_rate", "num_generations",
                                            "max_completion_length", "temperature")),
    *(("training", "sft", key) for key in ("num_train_epochs", "learning_rate")),
    *(("evaluation", key) for key in ("n_samples", "temperature", "max_new_tokens")),
]  # fmt: skip


def _get(config: dict, path: tuple[str, ...]):
    for key in path:
        config = config[key]
    return config


@pytest.mark.parametrize("path", PAPER_DEFAULTS, ids=".".join)
def test_defaults_are_the_papers_settings(repo, path: tuple[str, ...]) -> None:
    assert _get(validate_config({}), path) == _get(load_config(repo / "experiments" / "paper.yaml"), path)


def test_the_demo_sets_what_it_sizes_down(repo) -> None:
    """config.yaml states every value it runs at demo size (the defaults are a real run's)."""
    raw = yaml.safe_load((repo / "config.yaml").read_text())
    defaults = validate_config({})
    for path in [
        ("training", "grpo", "max_completion_length"),
        ("training", "grpo", "learning_rate"),
        ("evaluation", "max_new_tokens"),
        ("evaluation", "n_samples"),
        ("subset_sizes",),
    ]:
        assert _get(raw, path) != _get(defaults, path), path


def test_the_study_languages_are_one_list(repo) -> None:
    """pscale.languages.STUDY_LANGUAGES is the list; the schema (which cannot import it) and every
    per-language resource are checked against it (the demo templates: tests/test_demo_data.py)."""
    schema = load_schema()
    assert schema["properties"]["languages"]["default"] == list(STUDY_LANGUAGES)
    assert schema["$defs"]["language"]["enum"] == list(STUDY_LANGUAGES)
    assert set(schema["properties"]["parallel_order"]["default"]) < set(STUDY_LANGUAGES) - {"en"}
    assert list(LANGUAGE_NAMES) == list(STUDY_LANGUAGES)
    prompts = yaml.safe_load((repo / "resources" / "prompts.yaml").read_text())
    assert set(prompts["instruction"]) == set(prompts["force_language"]) == set(STUDY_LANGUAGES)
    assert set(prompts["format_system"]) == set(STUDY_LANGUAGES)
    for path in (repo / "resources" / "translation").glob("prompts-*.yaml"):
        assert set(yaml.safe_load(path.read_text())["languages"]) == set(STUDY_LANGUAGES) - {"en"}, path


def test_options_by_hand_are_validated_with_the_schemas_defaults() -> None:
    assert validate_options({"n_samples": 3}, "/properties/evaluation") == {
        **validate_config({})["evaluation"],
        "n_samples": 3,
    }
    spec = validate_options({"path": "x.parquet"}, "/$defs/hub_dataset")
    assert spec == {"path": "x.parquet", "split": "train", "question_field": "problem", "answer_field": "answer"}
    parts = {"order": "/properties/parallel_order", "share": "/properties/analysis/properties/on_target_share"}
    assert validate_options({}, parts) == {"order": validate_config({})["parallel_order"], "share": 0.5}
    with pytest.raises(ConfigError, match=r"'order.0'.*'xx'"):
        validate_options({"order": ["xx"]}, parts)
    with pytest.raises(ConfigError, match=r"unknown.*'n_sample'"):
        validate_options({"n_sample": 3}, "/properties/evaluation")


def test_a_moved_key_names_its_new_place() -> None:
    moved = r"'scoring.on_target_share' has moved: write it as 'analysis.on_target_share'"
    with pytest.raises(ConfigError, match=moved):
        validate_config({"scoring": {"on_target_share": 0.6}})


def test_unknown_key_is_named_with_allowed_keys() -> None:
    with pytest.raises(ConfigError) as err:
        validate_config({"trainng": {}})
    assert "'trainng'" in str(err.value) and "training" in str(err.value)


def test_nested_unknown_key_names_its_path() -> None:
    with pytest.raises(ConfigError, match=r"evaluation.*n_sample"):
        validate_config({"evaluation": {"n_sample": 3}})


def test_bad_enum_value_lists_choices() -> None:
    with pytest.raises(ConfigError) as err:
        validate_config({"budgets": ["grow", "shrink"]})
    message = str(err.value)
    assert "budgets.1" in message and "'shrink'" in message and "fixed" in message


def test_wrong_type_names_key() -> None:
    with pytest.raises(ConfigError, match=r"training.grpo.learning_rate"):
        validate_config({"training": {"grpo": {"learning_rate": "fast"}}})


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"languages": ["es", "en"]}, "English must come first"),
        ({"parallel_order": ["en", "es"]}, "must not contain 'en'"),
        ({"languages": ["en", "es"], "parallel_order": ["es", "de"]}, "['de'] are not in 'languages'"),
        ({"parallel_order": ["es"], "subset_sizes": [1, 2, 3]}, "[3] exceed"),
        ({"training": {"grpo": {"per_device_train_batch_size": 12}}}, "multiple of num_generations"),
        ({"data": {"source": "hub"}}, "no entry for dataset"),
        ({"models": {"big": {"source": "hub"}}}, "'path' is a required property"),
        (
            {
                "subset_sizes": [1, 2],
                "training": {"ablations": {"nolang": {"reward_weights": {"language": 0}, "subset_sizes": [1, 3]}}},
            },
            "'training.ablations.nolang.subset_sizes': [3] are not in 'subset_sizes'",
        ),
        (
            {"training": {"ablations": {"nolang": {"reward_weights": {"accuracy": 0, "format": 0, "language": 0}}}}},
            "'training.ablations.nolang.reward_weights': the weights",
        ),
        ({"training": {"ablations": {"No-Lang": {"reward_weights": {"language": 0}}}}}, "does not match"),
    ],
)
def test_cross_key_rules(config: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert fragment in str(err.value)


def test_shipped_configs_validate(repo) -> None:
    for path in [repo / "config.yaml", *sorted((repo / "experiments").glob("*.yaml"))]:
        load_config(path)


def test_load_config_reports_file(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"subset_sizes": [0]}))
    with pytest.raises(ConfigError, match=r"(?s)c.yaml.*subset_sizes.0"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_training_length_is_steps_or_epochs_not_both() -> None:
    """num_train_epochs (the default: 2 passes) or max_steps; TRL would let max_steps win silently."""
    assert validate_config({})["training"]["grpo"]["num_train_epochs"] == 2
    steps = validate_config({"training": {"grpo": {"max_steps": 7}, "sft": {"max_steps": 9}}})["training"]
    assert "num_train_epochs" not in steps["grpo"] and "num_train_epochs" not in steps["sft"]
    with pytest.raises(ConfigError, match=r"'training.sft.max_steps' and 'training.sft.num_train_epochs': set one"):
        validate_config({"training": {"sft": {"max_steps": 9, "num_train_epochs": 1}}})


def test_report_to_is_checked_against_transformers_integrations() -> None:
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK

    allowed = load_schema()["$defs"]["report_to"]["oneOf"][0]["enum"]
    assert set(allowed) == {"none", *INTEGRATION_TO_CALLBACK}  # `all` is left out: it logs to whatever is installed
    config = validate_config({"training": {"grpo": {"report_to": ["wandb", "tensorboard"]}}})
    assert config["training"]["grpo"]["report_to"] == ["wandb", "tensorboard"]
    assert config["training"]["sft"]["report_to"] == "none"
    with pytest.raises(ConfigError, match=r"'training.sft.report_to': 'wandbb' is not allowed; choose one of"):
        validate_config({"training": {"sft": {"report_to": "wandbb"}}})
