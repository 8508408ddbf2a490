"""Translation stage: English source items -> one file per study language.

Backends (`reference`, `openai`) return translated text fields; this module owns the
output contract, so every backend writes the same schema:

    id (str), lang (str), question (str), answer (str), solution (str, nullable)
    [+ choices (list[str]) for multiple-choice datasets]

Gold answers are never translated: they are copied from the source.

Quality control: a backend may report texts that failed validation (`backend.qc`, rows of
QC_SCHEMA). The stage always writes that table (empty for the reference backend) and
applies `translation.openai.qc_policy`: `fail` stops the stage; `drop` leaves the item out,
from every language when `drop_scope` is `all_languages` (the default: files stay exactly
parallel, so parallel sets and per-language benchmark scores cover the same problems) or
only from the failing language when it is `language`. Nothing is dropped silently: every
dropped item is a row of the QC table with its reason and the action taken.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Protocol

import polars as pl

log = logging.getLogger(__name__)

#: Columns every translated file has, in order (`choices` is added for multiple choice).
TRANSLATED_COLUMNS = ("id", "lang", "question", "answer", "solution")

#: The QC table (results/translation/qc/<dataset>.parquet): one row per text field that
#: still failed validation after every attempt. `reason` is the check's code (language,
#: numbers, latex, length, wrapper, refusal, truncated, empty), `detail` its full message,
#: `output` the last rejected translation, `action` what the stage did about it.
QC_SCHEMA: dict[str, pl.DataType] = {
    "dataset": pl.String(),
    "id": pl.String(),
    "lang": pl.String(),
    "field": pl.String(),
    "reason": pl.String(),
    "detail": pl.String(),
    "attempts": pl.Int64(),
    "source": pl.String(),
    "output": pl.String(),
    "model": pl.String(),
    "prompt_version": pl.String(),
    "action": pl.String(),
}


def empty_qc() -> pl.DataFrame:
    return pl.DataFrame(schema=QC_SCHEMA)


class TranslationBackend(Protocol):
    """Returns, per target language, a frame with `id`, `question` (+ `solution`, `choices`)."""

    def translate(self, source: pl.DataFrame, target_langs: list[str]) -> dict[str, pl.DataFrame]: ...


def read_source(path: Path) -> pl.DataFrame:
    """The English source items, checked against the source schema."""
    frame = pl.read_parquet(path)
    missing = {"id", "question", "answer"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: source file lacks columns {sorted(missing)}")
    duplicated = frame.filter(pl.col("id").is_duplicated())["id"].unique().to_list()
    if duplicated:
        raise ValueError(f"{path}: duplicate ids {duplicated[:5]}")
    if "solution" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("solution"))
    return frame


def finalize(
    source: pl.DataFrame, translated: pl.DataFrame, lang: str, dropped: frozenset[str] = frozenset()
) -> pl.DataFrame:
    """Joins translated text fields onto the source's ids and gold answers (never translated).

    `dropped` ids (failed QC under the drop policy) are left out; any other missing id is an error.
    """
    if dropped:
        source = source.filter(~pl.col("id").is_in(list(dropped)))
    keep = ["id", "question"] + [c for c in ("solution", "choices") if c in translated.columns]
    carried = [c for c in ("solution", "choices") if c in source.columns and c not in keep]
    joined = source.select("id", "answer", *carried).join(translated.select(keep), on="id", how="left", coalesce=True)
    missing = joined.filter(pl.col("question").is_null())["id"].to_list()
    if missing:
        raise ValueError(f"translation into '{lang}' is missing {len(missing)} item(s), e.g. ids {missing[:5]}")
    if "solution" not in joined.columns:
        joined = joined.with_columns(pl.lit(None, dtype=pl.String).alias("solution"))
    columns = list(TRANSLATED_COLUMNS) + (["choices"] if "choices" in joined.columns else [])
    return joined.with_columns(pl.lit(lang).alias("lang")).select(columns)


def make_backend(name: str, options: dict[str, Any], dataset: str) -> TranslationBackend:
    if name == "reference":
        from pscale.translate.reference import ReferenceBackend

        return ReferenceBackend(Path(options["reference_corpus"].format(dataset=dataset)))
    if name == "openai":
        from pscale.translate.openai_backend import OpenAIBackend

        return OpenAIBackend(options["openai"], dataset=dataset)
    raise ValueError(f"unknown translation backend '{name}' (choose reference or openai)")


def translate_dataset(
    source_file: Path,
    outputs: dict[str, Path],
    backend: str,
    options: dict[str, Any],
    dataset: str,
    qc_output: Path | None = None,
    usage_output: Path | None = None,
) -> None:
    """Stage entry point: writes `outputs[lang]` for every language (English is the source),
    the QC table to `qc_output` and the API usage and cost to `usage_output` (when given)."""
    source = read_source(source_file)
    targets = [lang for lang in outputs if lang != "en"]
    engine = make_backend(backend, options, dataset) if targets else None
    try:
        translations = engine.translate(source, targets) if engine is not None else {}
    finally:
        usage = getattr(engine, "usage", None) or {"dataset": dataset, "backend": backend, "http_requests": 0}
        if usage_output is not None:
            usage_output.parent.mkdir(parents=True, exist_ok=True)
            usage_output.write_text(json.dumps(usage, indent=2, sort_keys=True) + "\n")
        if usage.get("http_requests"):
            log.info(
                "API usage: %d requests, %d input + %d output tokens, $%.4f",
                usage["http_requests"],
                usage.get("prompt_tokens", 0),
                usage.get("completion_tokens", 0),
                usage.get("cost_usd", 0.0),
            )
    qc = getattr(engine, "qc", None)
    qc = empty_qc() if qc is None else qc
    dropped = _apply_qc_policy(qc, backend, options, dataset, list(outputs), qc_output)
    for lang, path in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if lang == "en":
            frame = finalize(source, source, "en", dropped.get("en", frozenset()))
        else:
            frame = finalize(source, translations[lang], lang, dropped.get(lang, frozenset()))
        frame.write_parquet(path)
        log.info("wrote %s (%d items)", path, frame.height)


def _apply_qc_policy(
    qc: pl.DataFrame,
    backend: str,
    options: dict[str, Any],
    dataset: str,
    languages: list[str],
    qc_output: Path | None,
) -> dict[str, frozenset[str]]:
    """Writes the QC table; returns the ids to leave out per language, or raises under `fail`."""
    openai = options.get("openai") or {}
    policy, scope = openai.get("qc_policy", "fail"), openai.get("drop_scope", "all_languages")
    if qc.height == 0:
        action = ""
    elif policy == "fail":
        action = "stage failed (qc_policy: fail)"
    elif scope == "all_languages":
        action = "dropped from all languages"
    else:
        action = "dropped from this language"
    qc = qc.with_columns(pl.lit(action).alias("action")).select(list(QC_SCHEMA))
    if qc_output is not None:
        qc_output.parent.mkdir(parents=True, exist_ok=True)
        qc.write_parquet(qc_output)
    if qc.height == 0:
        return {}
    for row in qc.iter_rows(named=True):
        log.warning("QC %s/%s %s: %s -> %s", row["lang"], row["id"], row["field"], row["detail"], action)
    counts = qc.group_by("reason").len().sort("reason").iter_rows()
    summary = ", ".join(f"{reason} {n}" for reason, n in counts)
    items = qc.select("id", "lang").unique().height
    if policy == "fail":
        where = f" (listed in {qc_output} and above)" if qc_output is not None else " (listed above)"
        raise ValueError(
            f"translation of {dataset}: {items} item/language pair(s) failed QC after every attempt "
            f"[{summary}]{where}; raise translation.openai.max_attempts, fix the prompt, or set "
            "translation.openai.qc_policy: drop to leave them out"
        )
    if scope == "all_languages":
        ids = frozenset(qc["id"].to_list())
        log.warning("QC (%s): dropping %d item(s) from every language of %s", summary, len(ids), dataset)
        return {lang: ids for lang in languages}
    dropped: dict[str, frozenset[str]] = {}
    for lang in languages:
        dropped[lang] = frozenset(qc.filter(pl.col("lang") == lang)["id"].to_list())
    log.warning("QC (%s): dropping %d item/language pair(s) of %s", summary, items, dataset)
    return dropped
