"""Parallel training sets: the same problems in English plus X-1 parallel languages.

Two budgets: `grow` puts every selected problem in every language of the subset (the
paper's sets: X times more prompts at X languages); `fixed` keeps the total number of
prompts constant by taking train_size // X problems, each still in all X languages (the
reviewers' control: more languages, fewer distinct problems).
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl

from pscale.errors import UserError

SET_COLUMNS = ("id", "lang", "question", "answer", "solution")


def subset_languages(x: int, parallel_order: list[str]) -> list[str]:
    """English plus the first x-1 parallel languages."""
    if not 1 <= x <= len(parallel_order) + 1:
        raise UserError(f"subset size {x} needs 1 <= X <= {len(parallel_order) + 1}")
    return ["en", *parallel_order[: x - 1]]


def select_ids(ids: list[str], train_size: int | None, seed: int) -> list[str]:
    """The training problems: a seeded sample of `train_size` ids (all when None), sorted."""
    ids = sorted(ids)
    if train_size is None or train_size >= len(ids):
        return ids
    return sorted(random.Random(seed).sample(ids, train_size))


def file_language(path: Path) -> str:
    """The language of a translated file, from its `lang` column (one language per file)."""
    from pscale.tables import TableError, read_table

    langs = read_table(path, {"lang": "string"}, non_empty=("lang",), what="translated file")["lang"].unique()
    if langs.len() != 1:
        raise TableError(f"translated file {path}: expected one language in `lang`, found {sorted(langs)}")
    return langs[0]


def build_parallel_set(files: dict[str, Path], x: int, budget: str, train_size: int | None, seed: int) -> pl.DataFrame:
    """The training set for subset size `x`; `files` maps each language to its translated file."""
    langs = list(files)
    from pscale.tables import read_table

    columns = {"id": "string", "lang": "string", "question": "string", "answer": "string", "solution": "string"}
    frames = {
        lang: read_table(path, columns, non_empty=("id", "lang", "question", "answer"), what="translated file")
        for lang, path in files.items()
    }
    pool = select_ids(frames["en"]["id"].to_list(), train_size, seed)
    if budget == "fixed":
        per_lang = max(1, len(pool) // x)
        pool = sorted(random.Random(seed + x).sample(pool, per_lang))
    elif budget != "grow":
        raise UserError(f"unknown budget '{budget}' (choose grow or fixed)")
    parts = []
    for lang in langs:
        frame = frames[lang].filter(pl.col("id").is_in(pool))
        missing = sorted(set(pool) - set(frame["id"]))
        if missing:
            raise UserError(f"{files[lang]}: {len(missing)} training ids missing, e.g. {missing[:5]}")
        parts.append(frame.select(SET_COLUMNS))
    combined = pl.concat(parts)
    order = list(range(combined.height))
    random.Random(seed).shuffle(order)
    return combined[order]


def write_parallel_set(
    files: dict[str, Path], output: Path, x: int, budget: str, train_size: int | None, seed: int
) -> None:
    """Stage entry point."""
    from pscale.tables import write_parquet

    write_parquet(build_parallel_set(files, x, budget, train_size, seed), output)
