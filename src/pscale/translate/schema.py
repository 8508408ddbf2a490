"""The translation stage's contracts: the translated files, the QC table, the backend interface."""

from __future__ import annotations

from typing import Protocol

import polars as pl

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
    """Returns, per target language, a frame with `id`, `question` (+ `solution`, `choices`).

    After `translate`, a backend may describe the run in `qc` (rows of QC_SCHEMA) and `usage`.
    """

    def translate(self, source: pl.DataFrame, target_langs: list[str]) -> dict[str, pl.DataFrame]: ...
