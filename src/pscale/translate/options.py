"""Which `translation` settings change the translations, and which only change how they are made.

Snakemake reruns a job when its params change, and a rerun of the translation stage reruns
every training and evaluation job downstream. Only *content* settings may therefore be
params; *runtime* settings (rate limits, concurrency, timeouts, prices, the cache path...)
travel separately (`--runtime-options`, or the environment variable the workflow sets) and
are not a rerun trigger. Kept in the
package, not in the Snakefile, so the split is tested and the CLI can merge it back.
"""

from __future__ import annotations

import copy
from typing import Any

from pscale.config import validate_config

#: Keys of `translation.openai` that never change a translation, only speed, cost or bookkeeping.
RUNTIME_KEYS: frozenset[str] = frozenset(
    {
        "api_key_env",
        "mode",
        "concurrency",
        "rpm",
        "tpm",
        "timeout",
        "max_retries",
        "backoff_base",
        "backoff_max",
        "poll_interval",
        "batch_max_requests",
        "prices",
        "cache",
        "progress",
    }
)


def split_options(translation: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(content, runtime) parts of a validated `translation` section.

    Only the active backend's settings are content: with the reference backend, editing the
    openai block never reruns a demo run, and with the openai backend, reference_corpus is ignored.
    """
    backend = translation.get("backend")
    openai = translation.get("openai", {})
    runtime = {k: copy.deepcopy(v) for k, v in openai.items() if k in RUNTIME_KEYS}
    content: dict[str, Any] = {"backend": backend}
    if backend == "openai":
        content["openai"] = {k: copy.deepcopy(v) for k, v in openai.items() if k not in RUNTIME_KEYS}
    else:
        content.update({k: copy.deepcopy(v) for k, v in translation.items() if k not in ("backend", "openai")})
    return content, runtime


def merge_options(content: dict[str, Any], runtime: dict[str, Any] | None = None) -> dict[str, Any]:
    """The full `translation` section from its two parts, validated, defaults filled in: the one
    validation of the stage's options (the stage and its backends read them as they are)."""
    merged = copy.deepcopy(content)
    if runtime:
        merged.setdefault("openai", {}).update(copy.deepcopy(runtime))
    return validate_config({"translation": merged})["translation"]
