"""Scoring: grade every generated response and identify its language (CPU only).

Separate from generation so that changing the grader or the language identifier re-scores
without regenerating. Output, one row per response:

    id, lang, sample, response, extracted (str, null if no answer), correct (bool),
    detected_lang (str; "und" if the response has no language)
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from tqdm.auto import tqdm

from pscale.grading import grade
from pscale.languages import STUDY_LANGUAGES, detect_language

SCORE_COLUMNS = ("id", "lang", "sample", "response", "extracted", "correct", "detected_lang")


def score_frame(
    generations: pl.DataFrame,
    languages: tuple[str, ...] = STUDY_LANGUAGES,
    require_boxed: bool = True,
    min_letters: int = 3,
) -> pl.DataFrame:
    extracted: list[str | None] = []
    correct: list[bool] = []
    detected: list[str] = []
    rows = generations.select("answer", "response", "n_choices").iter_rows()
    for gold, response, n_choices in tqdm(rows, total=generations.height, desc="score", unit="resp", mininterval=2):
        answer, ok = grade(gold, response, require_boxed, n_choices)
        extracted.append(answer)
        correct.append(ok)
        detected.append(detect_language(response, languages, min_letters))
    return generations.with_columns(
        pl.Series("extracted", extracted, dtype=pl.String),
        pl.Series("correct", correct, dtype=pl.Boolean),
        pl.Series("detected_lang", detected, dtype=pl.String),
    ).select(SCORE_COLUMNS)


def score_generations(
    generations: Path,
    output: Path,
    languages: list[str],
    require_boxed: bool = True,
    min_letters: int = 3,
) -> None:
    """Stage entry point."""
    from pscale.tables import read_table, write_parquet

    columns = {"id": "string", "lang": "string", "sample": "int", "answer": "string", "n_choices": "int",
               "response": "string"}
    generated = read_table(generations, columns, required=columns, what="generations file")
    frame = score_frame(generated, tuple(languages), require_boxed, min_letters)
    write_parquet(frame, output)  # atomic: a killed run leaves no file that looks complete
