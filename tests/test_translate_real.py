"""End to end on real text: real human translations through the real translate, QC and scoring stages.

A slice of the real corpus (tests/data/real_corpus: MGSM, PolyMath, XReasoning AIME) is the English
source; `pscale translate` runs the `openai` backend against the local test server, which answers
every request with the pair's real human translation. Every good translation must pass QC (none
dropped, an empty QC table), the translated files must carry the gold answers unchanged, and
model-style responses written in the target language ("... \\boxed{<gold>}") must score correct.
"""

from __future__ import annotations

import json
import lzma
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fake_openai_server import FakeOpenAIServer

from pscale.cli import main
from pscale.score import score_generations
from pscale.translate.options import merge_options, split_options

CORPUS = Path(__file__).parent / "data" / "real_corpus" / "good.jsonl.xz"
LANGS = ("es", "fr", "de", "ru", "zh", "ja", "th", "sw", "bn", "te")
KEY = "sk-test-real-text"
#: "The answer is" in each language: the response is in the query's language, as a model's would be.
ANSWER_IS = {
    "es": "Por lo tanto, la respuesta es",
    "fr": "Donc la réponse est",
    "de": "Also ist die Antwort",
    "ru": "Следовательно, ответ равен",
    "zh": "因此，答案是",
    "ja": "したがって、答えは",
    "th": "ดังนั้นคำตอบคือ",
    "sw": "Kwa hiyo jibu ni",
    "bn": "সুতরাং উত্তর হল",
    "te": "కాబట్టి సమాధానం",
}


def _slice() -> dict[str, dict[str, Any]]:
    """Held-out items with a translation in every language and a plain-number gold answer:
    MGSM word problems, PolyMath and AIME items with LaTeX (and a figure where there is one)."""
    rows = [json.loads(line) for line in lzma.decompress(CORPUS.read_bytes()).decode().splitlines()]
    items: dict[str, dict[str, Any]] = defaultdict(lambda: {"tr": {}})
    for row in rows:
        if row["split"] == "held" and row["source"] in ("mgsm", "polymath", "xr-aime"):
            items[row["item"]].update(en=row["en"], answer=row["answer"], source=row["source"])
            items[row["item"]]["tr"][row["lang"]] = row["tr"]
    complete = {k: v for k, v in items.items() if set(v["tr"]) == set(LANGS) and v["answer"].isdigit()}
    picked: dict[str, dict[str, Any]] = {}
    for source, count in (("mgsm", 4), ("polymath", 2), ("xr-aime", 2)):
        picked |= dict(sorted((k, v) for k, v in complete.items() if v["source"] == source)[:count])
    return picked


def test_real_translations_pass_qc_and_keep_every_gold_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = _slice()
    assert len(items) == 8
    ids = sorted(items)
    source = tmp_path / "source.parquet"
    pl.DataFrame(
        {"id": ids, "question": [items[i]["en"] for i in ids], "answer": [items[i]["answer"] for i in ids]}
    ).write_parquet(source)
    answers = {(items[i]["en"], lang): items[i]["tr"][lang] for i in ids for lang in LANGS}
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "out"
    with FakeOpenAIServer(api_key=KEY, answers=answers) as server:
        runtime = {"cache": str(tmp_path / "cache.sqlite"), "timeout": 5, "concurrency": 8, "progress": False}
        content = {"backend": "openai", "openai": {"base_url": server.base_url, "qc_policy": "drop"}}
        content, runtime = split_options(merge_options(content, runtime))
        argv = ["translate", "--source", str(source), "--dataset", "real", "--languages", ",".join(("en", *LANGS))]
        argv += [
            "--out-dir",
            str(out),
            "--qc-out",
            str(tmp_path / "qc.parquet"),
            "--usage-out",
            str(tmp_path / "u.json"),
        ]
        assert main([*argv, "--options", json.dumps(content), "--runtime-options", json.dumps(runtime)]) == 0
        assert len(server.completed()) == len(ids) * len(LANGS)  # one request per text: nothing retried

    qc = pl.read_parquet(tmp_path / "qc.parquet")
    assert qc.height == 0, qc.select("id", "lang", "detail").rows()  # no good translation dropped or retried
    generations = []
    for lang in LANGS:
        frame = pl.read_parquet(out / f"{lang}.parquet")
        assert frame["id"].to_list() == ids
        assert frame["answer"].to_list() == [items[i]["answer"] for i in ids]  # gold answers unchanged
        assert frame["question"].to_list() == [items[i]["tr"][lang] for i in ids]  # the real translation, as is
        for row in frame.iter_rows(named=True):
            response = f"{row['question'][:80]} … {ANSWER_IS[lang]} \\boxed{{{row['answer']}}}"
            generations.append({"id": row["id"], "lang": lang, "sample": 0, "answer": row["answer"], "n_choices": 0})
            generations[-1]["response"] = response
    pl.DataFrame(generations).write_parquet(tmp_path / "generations.parquet")
    score_generations(tmp_path / "generations.parquet", tmp_path / "scores.parquet", ("en", *LANGS))
    scores = pl.read_parquet(tmp_path / "scores.parquet")
    assert scores.height == len(ids) * len(LANGS)
    assert scores["correct"].all(), scores.filter(~pl.col("correct")).select("id", "lang", "extracted").rows()
    gold = {i: items[i]["answer"] for i in ids}
    assert all(extracted == gold[i] for i, extracted in zip(scores["id"], scores["extracted"], strict=True))
