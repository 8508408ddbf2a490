"""The `reference` backend: translations looked up in an existing parallel corpus.

The demo's corpus is the generator's native renderings; on a cluster it can be a
human-translated parallel benchmark (MGSM/PolyMath style) in the same long format
(id, lang, question [, solution, choices]). A missing translation is an error, never a
silent fallback to the English text.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pscale.errors import UserError
from pscale.tables import read_table


class ReferenceBackend:
    def __init__(self, corpus: Path) -> None:
        if not corpus.exists():
            raise UserError(f"reference corpus not found: {corpus} (config key translation.reference_corpus)")
        self.corpus_path = corpus
        self.corpus = read_table(
            corpus,
            {"id": "string", "lang": "string", "question": "string"},
            non_empty=("id", "lang", "question"),
            what="reference corpus",
        )

    def translate(self, source: pl.DataFrame, target_langs: list[str]) -> dict[str, pl.DataFrame]:
        fields = ["id", "question"] + [c for c in ("solution", "choices") if c in self.corpus.columns]
        english = dict(zip(source["id"], source["question"], strict=True))
        result: dict[str, pl.DataFrame] = {}
        for lang in target_langs:
            rows = self.corpus.filter(pl.col("lang") == lang).select(fields)
            found = set(rows["id"])
            missing = [i for i in source["id"] if i not in found]
            if missing:
                raise UserError(
                    f"reference corpus {self.corpus_path} has no '{lang}' text for {len(missing)} "
                    f"item(s), e.g. ids {missing[:5]}"
                )
            copied = [i for i, q in zip(rows["id"], rows["question"], strict=True) if english.get(i) == q]
            if copied:
                raise UserError(
                    f"reference corpus {self.corpus_path}: '{lang}' text of ids {copied[:5]} is the "
                    "English source verbatim, not a translation"
                )
            result[lang] = rows.filter(pl.col("id").is_in(list(english)))
        return result
