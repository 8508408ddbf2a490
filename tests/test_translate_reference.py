from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pscale.data.demo import make_demo_corpus
from pscale.errors import UserError
from pscale.translate.options import merge_options
from pscale.translate.schema import TRANSLATED_COLUMNS
from pscale.translate.stage import translate_dataset

LANGS = ["en", "es", "ja", "te"]


@pytest.fixture()
def corpus(tmp_path: Path) -> tuple[Path, Path, pl.DataFrame]:
    frame = make_demo_corpus(2, 12, seed=3)["demo_test"]
    reference = tmp_path / "reference" / "demo_test.parquet"
    reference.parent.mkdir()
    frame.write_parquet(reference)
    source = tmp_path / "source.parquet"
    frame.filter(pl.col("lang") == "en").drop("lang").write_parquet(source)
    return source, reference, frame


def _run(source: Path, reference: Path, out: Path, langs: list[str] = LANGS) -> dict[str, Path]:
    outputs = {lang: out / f"{lang}.parquet" for lang in langs}
    options = merge_options({"backend": "reference", "reference_corpus": str(reference.parent / "{dataset}.parquet")})
    translate_dataset(source, outputs, "reference", options, "demo_test")
    return outputs


def test_reference_backend_writes_parallel_files(corpus, tmp_path: Path) -> None:
    source, reference, frame = corpus
    outputs = _run(source, reference, tmp_path / "out")
    english = pl.read_parquet(source)
    for lang, path in outputs.items():
        out = pl.read_parquet(path)
        assert tuple(out.columns) == TRANSLATED_COLUMNS
        assert out["id"].to_list() == english["id"].to_list()
        assert out["answer"].to_list() == english["answer"].to_list()
        assert set(out["lang"]) == {lang}
        expected = frame.filter(pl.col("lang") == lang).sort("id")["question"].to_list()
        assert out.sort("id")["question"].to_list() == expected
        if lang != "en":
            assert not set(out["question"]) & set(english["question"])


def test_missing_language_names_language_and_ids(corpus, tmp_path: Path) -> None:
    source, reference, frame = corpus
    frame.filter(~((pl.col("lang") == "ja") & (pl.col("id") == "demo_test-00003"))).write_parquet(reference)
    with pytest.raises(ValueError, match=r"no 'ja' text for 1 item.*demo_test-00003"):
        _run(source, reference, tmp_path / "out")


def test_english_passthrough_is_rejected(corpus, tmp_path: Path) -> None:
    source, reference, frame = corpus
    en = frame.filter(pl.col("lang") == "en")
    english = dict(zip(en["id"], en["question"], strict=True))
    frame.with_columns(
        pl.when(pl.col("lang") == "es")
        .then(pl.col("id").replace_strict(english))
        .otherwise(pl.col("question"))
        .alias("question")
    ).write_parquet(reference)
    with pytest.raises(ValueError, match="English source verbatim"):
        _run(source, reference, tmp_path / "out")


def test_missing_corpus_names_config_key(corpus, tmp_path: Path) -> None:
    source, _, _ = corpus
    with pytest.raises(UserError, match=r"translation\.reference_corpus"):
        _run(source, tmp_path / "nowhere" / "x.parquet", tmp_path / "out")
