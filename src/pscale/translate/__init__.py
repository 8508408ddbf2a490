"""Translation stage: English source items -> one file per study language.

Backends (`reference`, `openai`) return translated text fields; this module owns the
output contract, so every backend writes the same schema:

    id (str), lang (str), question (str), answer (str), solution (str, nullable)
    [+ choices (list[str]) for multiple-choice datasets]

Gold answers are never translated: they are copied from the source.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

import polars as pl

log = logging.getLogger(__name__)

#: Columns every translated file has, in order (`choices` is added for multiple choice).
TRANSLATED_COLUMNS = ("id", "lang", "question", "answer", "solution")


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


def finalize(source: pl.DataFrame, translated: pl.DataFrame, lang: str) -> pl.DataFrame:
    """Joins translated text fields onto the source's ids and gold answers (never translated)."""
    keep = ["id", "question"] + [c for c in ("solution", "choices") if c in translated.columns]
    joined = source.select("id", "answer", *[c for c in ("solution", "choices") if c in source.columns and c not in keep]).join(
        translated.select(keep), on="id", how="left", coalesce=True
    )
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
) -> None:
    """Stage entry point: writes `outputs[lang]` for every language (English is the source)."""
    source = read_source(source_file)
    targets = [lang for lang in outputs if lang != "en"]
    translations = make_backend(backend, options, dataset).translate(source, targets) if targets else {}
    for lang, path in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = finalize(source, source, "en") if lang == "en" else finalize(source, translations[lang], lang)
        frame.write_parquet(path)
        log.info("wrote %s (%d items)", path, frame.height)
