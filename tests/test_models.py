"""Per-model evaluation settings (merged over `evaluation`) and the context-length check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pscale.errors import UserError
from pscale.models import check_context, evaluation_for_model

EVALUATION = {
    "backend": "vllm",
    "n_samples": 4,
    "temperature": 0.6,
    "top_p": 0.95,
    "max_new_tokens": 4096,
    "seed": 42,
    "vllm": {"tensor_parallel_size": 1, "gpu_memory_utilization": 0.9, "max_model_len": 8192},
}


def test_a_models_block_overrides_only_what_it_names() -> None:
    spec = {
        "source": "hub",
        "path": "Qwen/Qwen2.5-Math-7B",
        "evaluation": {
            "max_model_len": 4096,
            "max_new_tokens": 3072,
            "dtype": "bfloat16",
            "vllm": {"enforce_eager": True},
        },
    }
    merged = evaluation_for_model(EVALUATION, spec)
    assert merged["max_new_tokens"] == 3072 and merged["temperature"] == 0.6 and merged["n_samples"] == 4
    assert merged["vllm"] == {
        "tensor_parallel_size": 1,
        "gpu_memory_utilization": 0.9,
        "max_model_len": 4096,
        "dtype": "bfloat16",
        "enforce_eager": True,
    }
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


def test_fetch_records_a_local_folder_and_checks_its_context(tmp_path: Path) -> None:
    from pscale.models import fetch_model

    folder = _model_dir(tmp_path, {"model_type": "qwen2", "max_position_embeddings": 4096})
    (folder / "model.safetensors").write_bytes(b"weights")
    revision, snapshot = tmp_path / "out" / "REVISION", tmp_path / "out" / "SNAPSHOT"
    commit, where = fetch_model(
        str(folder), revision, snapshot, engine_options={"max_model_len": 4096}, max_new_tokens=3072
    )
    assert revision.read_text().strip() == commit and commit.startswith("local-")
    assert Path(snapshot.read_text().strip()) == folder.resolve() == where
    (folder / "model.safetensors").write_bytes(b"other weights")  # other weights, another revision
    assert fetch_model(str(folder), revision, snapshot)[0] != commit
    with pytest.raises(UserError, match="max_model_len 8192 exceeds its max_position_embeddings 4096"):
        fetch_model(str(folder), tmp_path / "R2", tmp_path / "S2", engine_options={"max_model_len": 8192})
    assert not (tmp_path / "R2").exists()


class _GatedHub:
    """A local HTTP server standing in for the hub: every repo answers as a gated one does."""

    def __enter__(self) -> str:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def _gated(self) -> None:
                body = b'{"error": "Access to model meta-llama/Llama-3.1-8B-Instruct is restricted."}'
                self.send_response(403)
                self.send_header("X-Error-Code", "GatedRepo")
                self.send_header("X-Error-Message", "Access to this model is restricted.")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = _gated

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_fetch_of_a_gated_model_stops_naming_the_login(tmp_path: Path) -> None:
    from pscale.models import fetch_model

    with _GatedHub() as endpoint, pytest.raises(UserError) as error:
        fetch_model(
            "meta-llama/Llama-3.1-8B-Instruct",
            tmp_path / "REVISION",
            tmp_path / "SNAPSHOT",
            cache_dir=str(tmp_path / "cache"),
            endpoint=endpoint,
        )
    message = str(error.value)
    assert "meta-llama/Llama-3.1-8B-Instruct is gated" in message and "hf auth login" in message
    assert "HF_TOKEN" in message and "\n" not in message and not (tmp_path / "REVISION").exists()
