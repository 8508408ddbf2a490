"""Per-model settings of the evaluation stage, and the context-length check.

Models differ in what an engine may ask of them: Qwen2.5-Math-7B has a 4,096-token context,
Qwen2.5-7B-Instruct 32,768, a 7B fits one GPU and a 70B needs tensor parallelism. A model's
`evaluation` block in the config overrides the `evaluation` defaults for that model only, and a
context longer than the model's is refused before an engine starts (vLLM would refuse it
only after loading the weights, on a GPU node, in every one of the model's jobs).

Light on purpose (no torch, no vllm): the workflow imports it at parse time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pscale.errors import UserError

#: Keys of a model's `evaluation` block that override the sampling settings of `evaluation`.
SAMPLING_KEYS = ("max_new_tokens", "temperature", "top_p", "batch_size", "stop")
#: Keys of a model's `evaluation` block that are vLLM engine arguments (`evaluation.vllm`).
ENGINE_KEYS = ("max_model_len", "tensor_parallel_size", "gpu_memory_utilization", "dtype")


def evaluation_for_model(evaluation: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The `evaluation` section with the model's own `evaluation` block merged over it.

    Sampling keys replace the defaults; engine keys (and the block's own `vllm` mapping) are
    merged into `vllm`, key by key, so a model changes only what it names.
    """
    own = spec.get("evaluation") or {}
    merged = {**evaluation, **{k: own[k] for k in SAMPLING_KEYS if k in own}}
    engine = {**(evaluation.get("vllm") or {}), **(own.get("vllm") or {})}
    engine.update({k: own[k] for k in ENGINE_KEYS if k in own})
    merged["vllm"] = engine
    return merged


def _model_config(model_path: str, revision: str | None = None) -> dict[str, Any] | None:
    """The model's config.json: from its folder, or the hub cache (one small download)."""
    folder = Path(model_path)
    if folder.is_dir():
        path = folder / "config.json"
        return json.loads(path.read_text()) if path.exists() else None
    from huggingface_hub import hf_hub_download

    return json.loads(Path(hf_hub_download(model_path, "config.json", revision=revision)).read_text())


def context_length(config: dict[str, Any]) -> int | None:
    """The longest sequence the model was built for (max_position_embeddings, also of a nested text_config)."""
    for section in (config, config.get("text_config") or {}):
        value = section.get("max_position_embeddings")
        if isinstance(value, int):
            return value
    return None


def check_context(
    model_path: str,
    engine_options: dict[str, Any] | None,
    max_new_tokens: int | None = None,
    revision: str | None = None,
    config: dict[str, Any] | None = None,
) -> None:
    """Stop with one sentence when the engine would ask for more context than the model has.

    `max_model_len` must not exceed the model's `max_position_embeddings`, and must leave room
    for a prompt after `max_new_tokens`. Without a `max_model_len` vLLM uses the model's own.
    """
    limit = (engine_options or {}).get("max_model_len")
    if limit is None:
        return
    config = config if config is not None else _model_config(model_path, revision)
    context = context_length(config or {})
    if context is not None and limit > context:
        raise UserError(
            f"model {model_path}: evaluation max_model_len {limit} exceeds its max_position_embeddings {context} "
            f"(config.json); set max_model_len to at most {context} in this model's `evaluation` block of the config"
        )
    if max_new_tokens is not None and max_new_tokens >= limit:
        raise UserError(
            f"model {model_path}: evaluation max_new_tokens {max_new_tokens} leaves no room for a prompt within "
            f"max_model_len {limit}; lower max_new_tokens in this model's `evaluation` block of the config"
        )


#: Weights and everything a loader reads; the rest of a repo (original/ checkpoints, other formats) is skipped.
FETCH_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "*.jinja", "*.py"]


def _folder_revision(folder: Path) -> str:
    """A local folder has no commit: a digest of its file names and sizes stands in for one."""
    import hashlib

    listing = sorted((str(p.relative_to(folder)), p.stat().st_size) for p in folder.rglob("*") if p.is_file())
    return "local-" + hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:16]


def fetch_model(
    path: str,
    revision_out: Path,
    snapshot_out: Path,
    revision: str | None = None,
    cache_dir: str | None = None,
    engine_options: dict[str, Any] | None = None,
    max_new_tokens: int | None = None,
    endpoint: str | None = None,
) -> tuple[str, Path]:
    """Stage entry point (login node): download a hub model once, record its commit and where it is.

    Writes the resolved commit to `revision_out` (REVISION) and the local snapshot folder to
    `snapshot_out` (SNAPSHOT); compute jobs load that folder with HF_HUB_OFFLINE=1, so every
    job of a study uses the same weights, also when the hub's `main` moves on. A local folder
    is used in place. Gated or missing repos stop here, in one sentence, not after queueing.
    """
    from pscale.tables import write_text

    folder = Path(path)
    if folder.is_dir():
        snapshot, commit = folder.resolve(), _folder_revision(folder)
    else:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import (
            GatedRepoError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        login = "log in with `hf auth login` (or export HF_TOKEN) on the node that runs Snakemake"
        try:
            snapshot = Path(
                snapshot_download(
                    path, revision=revision, cache_dir=cache_dir, allow_patterns=FETCH_PATTERNS, endpoint=endpoint
                )
            )
        except GatedRepoError as err:
            raise UserError(f"model {path} is gated on the hub: accept its terms on its page and {login}") from err
        except RevisionNotFoundError as err:
            raise UserError(f"model {path} has no revision '{revision}' on the hub (config `revision`)") from err
        except RepositoryNotFoundError as err:
            raise UserError(f"model {path} is not on the hub or is private: check `path`, or {login}") from err
        except LocalEntryNotFoundError as err:
            raise UserError(
                f"model {path} could not be downloaded (no network, or HF_HUB_OFFLINE=1) and is "
                "not in the cache: run Snakemake where the hub is reachable"
            ) from err
        commit = snapshot.name  # snapshot_download returns <cache>/models--org--name/snapshots/<commit>
    check_context(path, engine_options, max_new_tokens, config=_model_config(str(snapshot)))
    write_text(str(snapshot) + "\n", snapshot_out)
    write_text(commit + "\n", revision_out)
    return commit, snapshot
