from __future__ import annotations

import pytest
import yaml

from pscale.config import ConfigError, load_config, validate_config


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
    assert config["training"]["grpo"]["learning_rate"] == pytest.approx(2e-4)


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
