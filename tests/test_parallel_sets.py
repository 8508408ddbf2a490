from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pscale.data.demo import make_demo_corpus
from pscale.parallel_sets import build_parallel_set, subset_languages

ORDER = ["es", "ru", "de", "fr", "bn", "th", "zh"]


@pytest.fixture(scope="module")
def translated(tmp_path_factory) -> dict[str, Path]:
    corpus = make_demo_corpus(40, 2, seed=1)["demo_train"]
    folder = tmp_path_factory.mktemp("translated")
    files = {}
    for lang in ["en", *ORDER]:
        files[lang] = folder / f"{lang}.parquet"
        corpus.filter(pl.col("lang") == lang).write_parquet(files[lang])
    return files


def test_subset_languages_follow_order() -> None:
    assert subset_languages(1, ORDER) == ["en"]
    assert subset_languages(3, ORDER) == ["en", "es", "ru"]
    with pytest.raises(ValueError):
        subset_languages(9, ORDER)


@pytest.mark.parametrize("x", [1, 2, 4, 8])
def test_grow_budget_is_parallel(translated: dict[str, Path], x: int) -> None:
    langs = subset_languages(x, ORDER)
    frame = build_parallel_set({lang: translated[lang] for lang in langs}, x, "grow", 30, seed=0)
    assert frame.height == 30 * x
    assert sorted(frame["lang"].unique()) == sorted(langs)
    ids_per_lang = {lang: set(frame.filter(pl.col("lang") == lang)["id"]) for lang in langs}
    assert all(ids == ids_per_lang["en"] for ids in ids_per_lang.values())
    per_id = frame.group_by("id").agg(pl.col("answer").n_unique())
    assert per_id["answer"].max() == 1


def test_fixed_budget_keeps_total_constant(translated: dict[str, Path]) -> None:
    sizes = []
    for x in (1, 2, 3, 5):
        langs = subset_languages(x, ORDER)
        frame = build_parallel_set({lang: translated[lang] for lang in langs}, x, "fixed", 30, seed=0)
        sizes.append(frame.height)
        assert frame["id"].n_unique() == 30 // x
    assert sizes == [30, 30, 30, 30]


def test_deterministic_and_seed_dependent(translated: dict[str, Path]) -> None:
    files = {lang: translated[lang] for lang in subset_languages(2, ORDER)}
    a = build_parallel_set(files, 2, "grow", 20, seed=0)
    assert a.equals(build_parallel_set(files, 2, "grow", 20, seed=0))
    assert set(a["id"]) != set(build_parallel_set(files, 2, "grow", 20, seed=5)["id"])


def test_missing_translation_is_reported(translated: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "es.parquet"
    pl.read_parquet(translated["es"]).head(5).write_parquet(broken)
    with pytest.raises(ValueError, match=r"es.parquet.*training ids missing"):
        build_parallel_set({"en": translated["en"], "es": broken}, 2, "grow", None, seed=0)
