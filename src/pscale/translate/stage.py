"""The translation stage: English source items -> one file per study language.

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

Empty or null source questions/answers stop the stage before anything is sent (naming the
file, column and first row), or, under `qc_policy: drop`, go to the QC table (reason
`empty_source`) and leave every language. Outputs are written atomically (temp file +
rename), and `usage.json` gets one record per run, whatever the outcome, with running totals.
Snakemake deletes a failed job's outputs, usage.json included, so the runs are kept in a
sibling file that is not an output, `<name>.history.json`, and usage.json is rebuilt from it.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from pscale.errors import UserError
from pscale.tables import TableError, read_table, write_json, write_parquet
from pscale.translate.schema import QC_SCHEMA, TRANSLATED_COLUMNS, TranslationBackend, empty_qc

log = logging.getLogger(__name__)


def read_source(path: Path) -> pl.DataFrame:
    """The English source items, checked against the source schema (empty texts: see `empty_source`)."""
    frame = read_table(
        path, {"id": "string", "question": "string", "answer": "string"}, non_empty=("id",), what="source file"
    )
    duplicated = frame.filter(pl.col("id").is_duplicated())["id"].unique().to_list()
    if duplicated:
        raise TableError(f"source file {path}: duplicate ids {duplicated[:5]}")
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
        raise TableError(f"translation into '{lang}' is missing {len(missing)} item(s), e.g. ids {missing[:5]}")
    blank = joined.filter(pl.col("question").str.strip_chars() == "")["id"].to_list()
    if blank:
        raise TableError(
            f"translation into '{lang}' has an empty question for {len(blank)} item(s), e.g. ids {blank[:5]}"
        )
    if "solution" not in joined.columns:
        joined = joined.with_columns(pl.lit(None, dtype=pl.String).alias("solution"))
    columns = list(TRANSLATED_COLUMNS) + (["choices"] if "choices" in joined.columns else [])
    return joined.with_columns(pl.lit(lang).alias("lang")).select(columns)


def empty_source(source: pl.DataFrame) -> pl.DataFrame:
    """Source rows whose question or answer is null or blank (they would become 'None' in every prompt)."""
    blank = [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in ("question", "answer")]
    return source.with_row_index("row").filter(blank[0] | blank[1])


def _source_qc(bad: pl.DataFrame, dataset: str) -> pl.DataFrame:
    rows = []
    for r in bad.iter_rows(named=True):
        field = "question" if not (r["question"] or "").strip() else "answer"
        rows.append(
            {
                "dataset": dataset,
                "id": r["id"],
                "lang": "en",
                "field": field,
                "reason": "empty_source",
                "detail": f"the source {field} is empty or null (row {r['row']})",
                "attempts": 0,
                "source": r[field],
                "output": None,
                "model": None,
                "prompt_version": None,
                "action": "dropped from all languages",
            }
        )
    return pl.DataFrame(rows, schema=QC_SCHEMA)


def usage_history_path(usage_output: Path) -> Path:
    """Where every run's usage is kept: next to usage.json, but not a Snakemake output (never deleted)."""
    return usage_output.with_name(f"{usage_output.stem}.history.json")


def record_usage(path: Path, run: dict[str, Any]) -> dict[str, Any]:
    """Appends this run's usage to `path` and rewrites the totals (atomically).

    The file accumulates across runs, so a rerun never hides what an earlier (failed) run
    paid; the totals take the larger of the runs' sum and the cache ledger (which also
    counts runs killed with -9 before they could write a record).
    """
    record: dict[str, Any] = {"runs": []}
    if path.exists():
        try:
            record = json.loads(path.read_text())
            if not isinstance(record.get("runs"), list):  # a file of the old single-run format
                record = {"runs": [record]}
        except (OSError, ValueError):
            kept = path.with_name(f"{path.name}.unreadable-{datetime.datetime.now():%Y%m%d-%H%M%S}")
            path.rename(kept)
            log.warning("usage record %s was unreadable; kept as %s, starting a new one", path, kept)
            record = {"runs": []}
    runs = [*record["runs"], run]
    totals: dict[str, Any] = {"runs": len(runs)}
    for key in ("http_requests", "retries", "completions", "prompt_tokens", "completion_tokens", "cost_usd"):
        totals[key] = round(sum(r.get(key, 0) or 0 for r in runs), 6)
    ledger = run.get("cache_ledger")
    if ledger:
        totals["cost_usd_cache_ledger"] = ledger["cost_usd"]
        totals["cost_usd"] = max(totals["cost_usd"], ledger["cost_usd"])
    updated = {"dataset": run.get("dataset"), "backend": run.get("backend"), "totals": totals, "runs": runs}
    write_json(updated, path, sort_keys=True)
    return updated


class Terminated(KeyboardInterrupt):
    """SIGTERM (Snakemake stopping a job, Slurm's time limit): unwinds so usage is still recorded."""


@contextlib.contextmanager
def _terminate_gracefully() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def translation_backend(name: str, options: dict[str, Any], dataset: str) -> TranslationBackend:
    """The backend `name`, from the validated `translation` section (pscale.translate.options.merge_options)."""
    if name == "reference":
        from pscale.translate.reference import ReferenceBackend

        return ReferenceBackend(Path(options["reference_corpus"].format(dataset=dataset)))
    if name == "openai":
        from pscale.translate.openai_backend import OpenAIBackend

        return OpenAIBackend(options["openai"], dataset=dataset)
    raise UserError(f"unknown translation backend '{name}' (choose reference or openai)")


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
    the QC table to `qc_output` and the API usage and cost to `usage_output` (when given).
    Long on purpose: the stage's steps in order (cache, requests, QC, outputs, usage), read top
    to bottom; each is a call into this package."""
    source = read_source(source_file)
    bad = empty_source(source)
    policy = options["openai"]["qc_policy"]
    source_qc = empty_qc()
    if bad.height:
        first = bad.row(0, named=True)
        column = "question" if not (first["question"] or "").strip() else "answer"
        if policy != "drop":
            raise TableError(
                f"source file {source_file}: {bad.height} item(s) have an empty or null question/answer, first "
                f"column '{column}' at row {first['row']} (id {first['id']!r}); fix the source, or set "
                "translation.openai.qc_policy: drop to leave them out (listed in the QC table)"
            )
        log.warning(
            "%d source item(s) of %s have an empty question/answer: dropped from every language (QC)",
            bad.height,
            dataset,
        )
        source = source.filter(~pl.col("id").is_in(bad["id"].to_list()))
        source_qc = _source_qc(bad, dataset)
    targets = [lang for lang in outputs if lang != "en"]
    engine = translation_backend(backend, options, dataset) if targets else None
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    outcome = "interrupted"
    try:
        with _terminate_gracefully():
            translations = engine.translate(source, targets) if engine is not None else {}
        outcome = "completed"
    except BaseException as err:
        outcome = f"failed: {type(err).__name__}: {str(err)[:300]}"
        raise
    finally:
        usage = getattr(engine, "usage", None) or {"dataset": dataset, "backend": backend, "http_requests": 0}
        usage = {
            **usage,
            "started": started,
            "outcome": outcome,
            "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        if usage_output is not None:
            history = usage_history_path(usage_output)
            write_json(record_usage(history, usage), usage_output, sort_keys=True)
            if outcome != "completed" and usage.get("http_requests"):
                log.warning("this run's API usage is recorded in %s (with every earlier run)", history)
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
    dropped = _apply_qc_policy(qc, backend, options, dataset, list(outputs), qc_output, source_qc)
    for lang, path in outputs.items():
        if lang == "en":
            frame = finalize(source, source, "en", dropped.get("en", frozenset()))
        else:
            frame = finalize(source, translations[lang], lang, dropped.get(lang, frozenset()))
        write_parquet(frame, path)
        log.info("wrote %s (%d items)", path, frame.height)


def _apply_qc_policy(
    qc: pl.DataFrame,
    backend: str,
    options: dict[str, Any],
    dataset: str,
    languages: list[str],
    qc_output: Path | None,
    source_qc: pl.DataFrame | None = None,
) -> dict[str, frozenset[str]]:
    """Writes the QC table; returns the ids to leave out per language, or raises under `fail`.

    `source_qc` rows (empty source texts, already left out of the source) are listed as they are.
    """
    policy, scope = options["openai"]["qc_policy"], options["openai"]["drop_scope"]
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
        listed = qc if source_qc is None or not source_qc.height else pl.concat([source_qc, qc])
        write_parquet(listed, qc_output)
    if qc.height == 0:
        return {}
    for row in qc.iter_rows(named=True):
        log.warning("QC %s/%s %s: %s -> %s", row["lang"], row["id"], row["field"], row["detail"], action)
    counts = qc.group_by("reason").len().sort("reason").iter_rows()
    summary = ", ".join(f"{reason} {n}" for reason, n in counts)
    items = qc.select("id", "lang").unique().height
    if policy == "fail":
        where = f" (listed in {qc_output} and above)" if qc_output is not None else " (listed above)"
        raise UserError(
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


def print_estimate(source_file: Path, languages: list[str], options: dict[str, Any], dataset: str) -> dict[str, Any]:
    """`pscale translate --estimate`: requests, tokens and dollars of the openai backend, without sending
    anything. `options` is the validated `translation` section. Work already in the cache is not counted."""
    from pscale.translate.openai_backend import OpenAIBackend

    targets = [lang for lang in languages if lang != "en"]
    plan = OpenAIBackend(options["openai"], dataset).dry_run(read_source(source_file), targets)
    print("\n".join(plan.lines))
    return plan.estimate
