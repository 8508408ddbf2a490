"""Scoring: grade every generated response and measure its language (CPU only).

Separate from generation so that changing the grader or the language identifier re-scores
without regenerating. Input: a generations file (`pscale.generate.GENERATION_COLUMNS`); its
`choices` column (the option texts the prompt showed) lets a box holding an option's text count,
and a file without it is graded by option letters only. Output, one row per response:

    id, lang, sample, response,
    extracted (str, null if no answer: the last box's content, normalised),
    correct (bool),
    detected_lang (str: the dominant language among all the identifier knows; "und" if none),
    lang_share (float in [0, 1]: share of the response's letters in the query language `lang`)

A response is on-target when ``lang_share >= analysis.on_target_share``: the tables compute the
off-target rate, so that threshold is not scoring's (a change re-scores nothing).
Grading rules: :mod:`pscale.grading`; language: :mod:`pscale.languages`.

Rows are scored in chunks by a pool of processes (one per thread of the stage), not threads:
math-verify's timeouts use ``signal.alarm``, which works only on a process's main thread.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from pscale.errors import UserError
from pscale.grading import ScoringSettings, gold_letter, grade, parse_gold
from pscale.languages import STUDY_LANGUAGES, dominant_language, language_shares

log = logging.getLogger(__name__)

SCORE_COLUMNS = ("id", "lang", "sample", "response", "extracted", "correct", "detected_lang", "lang_share")
CHUNK_ROWS = 2000

#: gold answer, response, n_choices, query language, option texts (None for math, or when the
#: generations file predates its `choices` column: letters only then)
Row = tuple[str, str, int, str, tuple[str, ...] | None]
Scored = tuple[str | None, bool, str, float]  # extracted, correct, detected_lang, lang_share


def score_response(
    gold: str,
    response: str,
    n_choices: int,
    lang: str,
    settings: ScoringSettings,
    choices: tuple[str, ...] | None = None,
) -> Scored:
    extracted, correct = grade(gold, response, settings.require_boxed, n_choices, lang, choices)
    shares = language_shares(response, settings.min_letters)
    return extracted, correct, dominant_language(shares), shares.get(lang, 0.0)


def _score_chunk(rows: list[Row], settings: ScoringSettings) -> list[Scored]:
    return [
        score_response(gold, response, n_choices, lang, settings, choices)
        for gold, response, n_choices, lang, choices in rows
    ]


def _chunks(rows: list[Row], size: int) -> Iterator[list[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def check_gold(generations: pl.DataFrame, dataset: str) -> None:
    """Stop on a gold answer no reader can parse, naming the item (it would score every response 0)."""
    columns = ["id", "answer", "n_choices"]
    items = generations.select(columns).unique(maintain_order=True)
    if "choices" in generations.columns:  # the options' number must be what the letters count
        shown = generations.select(*columns, n_shown=pl.col("choices").list.len())
        wrong = shown.filter(pl.col("n_shown").is_not_null() & (pl.col("n_shown") != pl.col("n_choices")))
        if wrong.height:
            item_id, _answer, n_choices, n_shown = wrong.row(0)
            raise UserError(
                f"dataset '{dataset}', item {item_id}: {n_shown} option texts in column 'choices' but "
                f"n_choices is {n_choices}"
            )
    for item_id, answer, n_choices in items.iter_rows():
        try:
            if n_choices:
                gold_letter(answer, n_choices)
            elif len(parse_gold(answer)) < 2:  # math-verify returns [expression, text]; text alone: unparsed
                raise ValueError(f"math-verify cannot parse the gold answer {answer!r}")
        except ValueError as error:
            raise UserError(f"dataset '{dataset}', item {item_id}: {error}") from None


def score_rows(
    rows: list[Row], settings: ScoringSettings, workers: int = 1, chunk_rows: int = CHUNK_ROWS
) -> list[Scored]:
    """Score rows in order, in `workers` processes when there are at least two chunks of work."""
    if workers <= 1 or len(rows) < 2 * chunk_rows:
        return _score_chunk(rows, settings)
    size = max(1, min(chunk_rows, len(rows) // (4 * workers) + 1))
    # Build the lookup tables and load the identifier once, here: forked workers inherit them.
    _score_chunk([("1", "\\boxed{1} warm up", 0, "en", None), ("A", "\\boxed{A}", 4, "en", None)], settings)
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = pool.map(_score_chunk, _chunks(rows, size), [settings] * (len(rows) // size + 1))
        return [scored for chunk in results for scored in chunk]


def score_frame(
    generations: pl.DataFrame,
    settings: ScoringSettings | None = None,
    workers: int = 1,
    dataset: str = "generations",
) -> pl.DataFrame:
    settings = settings or ScoringSettings.from_config()
    check_gold(generations, dataset)
    options = (
        [tuple(c) if c is not None else None for c in generations["choices"].to_list()]
        if "choices" in generations.columns
        else [None] * generations.height
    )
    rows: list[Row] = [
        (*row, shown)
        for row, shown in zip(
            generations.select("answer", "response", "n_choices", "lang").iter_rows(), options, strict=True
        )
    ]
    start = time.perf_counter()
    scored = score_rows(rows, settings, workers)
    elapsed = time.perf_counter() - start
    log.info(
        "scored %d responses in %.1f s (%.0f/s, %d processes)",
        len(rows),
        elapsed,
        len(rows) / max(elapsed, 1e-9),
        workers,
    )
    extracted, correct, detected, share = zip(*scored, strict=True) if scored else ((), (), (), ())
    return generations.with_columns(
        pl.Series("extracted", extracted, dtype=pl.String),
        pl.Series("correct", correct, dtype=pl.Boolean),
        pl.Series("detected_lang", detected, dtype=pl.String),
        pl.Series("lang_share", share, dtype=pl.Float64),
    ).select(SCORE_COLUMNS)


def score_generations(
    generations: Path,
    output: Path,
    languages: list[str] | tuple[str, ...] = STUDY_LANGUAGES,
    scoring: dict[str, Any] | None = None,
    threads: int = 1,
) -> None:
    """Stage entry point: score one benchmark's generations with the `scoring` settings."""
    from pscale.tables import read_table, write_parquet

    columns = {
        "id": "string",
        "lang": "string",
        "sample": "int",
        "answer": "string",
        "n_choices": "int",
        "response": "string",
    }
    frame = read_table(generations, columns, required=columns, what="generations file")
    if "choices" in frame.columns and not isinstance(frame.schema["choices"], pl.List | pl.Null):
        raise UserError(
            f"generations file {generations}: column 'choices' has type {frame.schema['choices']}, expected list"
        )
    unknown = set(frame["lang"].unique().to_list()) - set(languages)
    if unknown:
        raise UserError(f"{generations}: query languages {sorted(unknown)} are not among {list(languages)}")
    scored = score_frame(frame, ScoringSettings.from_config(scoring), threads, generations.stem)
    write_parquet(scored, output)  # atomic: a killed run leaves no file that looks complete
