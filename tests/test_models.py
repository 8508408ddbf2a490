"""Per-model evaluation settings (merged over `evaluation`) and the context-length check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pscale.errors import UserError
from pscale.models import check_context, evaluation_for_model

EVALUATION = {"backend": "vllm", "n_samples": 4, "temperature": 0.6, "top_p": 0.95, "max_new_tokens": 4096,
              "seed": 42, "vllm": {"tensor_parallel_size": 1, "gpu_memory_utilization": 0.9, "max_model_len": 8192}}


def test_a_models_block_overrides_only_what_it_names() -> None:
    spec = {"source": "hub", "path": "Qwen/Qwen2.5-Math-7B",
            "evaluation": {"max_model_len": 4096, "max_new_tokens": 3072, "dtype": "bfloat16",
                           "vllm": {"enforce_eager": True}}}
    merged = evaluation_for_model(EVALUATION, spec)
    assert merged["max_new_tokens"] == 3072 and merged["temperature"] == 0.6 and merged["n_samples"] == 4
    assert merged["vllm"] == {"tensor_parallel_size": 1, "gpu_memory_utilization": 0.9, "max_model_len": 4096,
                              "dtype": "bfloat16", "enforce_eager": True}
    assert EVALUATION["vllm"]["max_model_len"] == 8192  # the defaults are not modified
    assert evaluation_for_model(EVALUATION, {"source": "hub", "path": "x"}) == EVALUATION


def _model_dir(tmp_path: Path, config: dict) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_context_longer_than_the_model_stops_naming_both_numbers(tmp_path: Path) -> None:
    folder = _model_dir(tmp_path, {"model_type": "qwen2", "max_position_embeddings": 4096})
    with pytest.raises(UserError) as error:
        check_context(str(folder), {"max_model_len": 8192}, 4096)
    message = str(error.value)
    assert str(folder) in message and "8192" in message and "4096" in message and "\n" not in message
    check_context(str(folder), {"max_model_len": 4096}, 3072)  # fits
    check_context(str(folder), {}, 4096)  # vLLM takes the model's own length
    with pytest.raises(UserError, match="leaves no room for a prompt"):
        check_context(str(folder), {"max_model_len": 4096}, 4096)


def test_nested_text_config_is_read(tmp_path: Path) -> None:
    folder = _model_dir(tmp_path, {"text_config": {"max_position_embeddings": 2048}})
    with pytest.raises(UserError, match="2048"):
        check_context(str(folder), {"max_model_len": 4096})


def test_a_models_engine_typo_is_caught_by_the_config_check(repo: Path) -> None:
    import yaml

    from pscale.config import ConfigError, validate_config

    config = yaml.safe_load((repo / "experiments" / "paper.yaml").read_text())
    config["models"]["qwen2.5-math-7b"]["evaluation"]["vllm"] = {"max_num_seq": 8}
    with pytest.raises(ConfigError, match=r"models\.qwen2\.5-math-7b\.evaluation\.vllm\.max_num_seq.*max_num_seqs"):
        validate_config(config)
