"""Tests for the synthetic parallel demo corpus (pscale.data.demo)."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections import Counter
from importlib import resources

import polars as pl
import pytest

from pscale.data.demo import (
    _RANGES,
    DEMO_DATASETS,
    N_NAMES,
    N_OBJECTS,
    N_TEMPLATES,
    OPERATIONS,
    Problem,
    _render,
    _sample_problems,
    language_data,
    make_demo_corpus,
    ru_plural_index,
)
from pscale.errors import UserError
from pscale.languages import STUDY_LANGUAGES

N_TRAIN, N_TEST, SEED = 300, 60, 7
COLUMNS = ["id", "lang", "question", "answer", "solution"]
EQUATION = re.compile(r"(\d+) ([+\-*]) (\d+) = (\d+)")
SOLUTION = re.compile(r"^<think>(?P<think>[^\n]+)</think>\n\\boxed\{(?P<boxed>\d+)\}$")
SCRIPTS = {
    "zh": r"[\u4e00-\u9fff]",
    "ja": r"[\u3040-\u30ff]",  # kana: what distinguishes Japanese from Chinese
    "th": r"[\u0e00-\u0e7f]",
    "ru": r"[\u0400-\u04ff]",
    "bn": r"[\u0980-\u09ff]",
    "te": r"[\u0c00-\u0c7f]",
}


@pytest.fixture(scope="module")
def corpus() -> dict[str, pl.DataFrame]:
    return make_demo_corpus(N_TRAIN, N_TEST, SEED)


def _apply(op: str, a: int, b: int) -> int:
    return {"+": a + b, "-": a - b, "*": a * b}[op]


def test_shapes_columns_dtypes(corpus: dict[str, pl.DataFrame]) -> None:
    assert tuple(corpus) == DEMO_DATASETS
    sizes = {"demo_train": N_TRAIN, "demo_test": N_TEST, "demo_hard": N_TEST}
    for name, df in corpus.items():
        assert df.columns == COLUMNS
        assert all(dtype == pl.Utf8 for dtype in df.dtypes)
        assert df.height == sizes[name] * len(STUDY_LANGUAGES)
        assert df["id"].n_unique() == sizes[name]
        assert df["id"].str.starts_with(f"{name}-").all()
        assert set(df["lang"].unique()) == set(STUDY_LANGUAGES)
        assert df.null_count().sum_horizontal().item() == 0


def test_every_id_in_every_language_with_one_answer(corpus: dict[str, pl.DataFrame]) -> None:
    for df in corpus.values():
        per_id = df.group_by("id").agg(
            pl.col("lang").n_unique().alias("n_lang"),
            pl.col("lang").len().alias("n_rows"),
            pl.col("answer").n_unique().alias("n_answers"),
        )
        assert (per_id["n_lang"] == len(STUDY_LANGUAGES)).all()
        assert (per_id["n_rows"] == len(STUDY_LANGUAGES)).all()
        assert (per_id["n_answers"] == 1).all()
        assert df["answer"].str.contains(r"^\d+$").all()


def _corpus_hash(corpus: dict[str, pl.DataFrame]) -> str:
    digest = hashlib.sha256()
    for name, df in corpus.items():
        digest.update(f"{name}\x1d{df.columns}\x1d".encode())
        for row in df.iter_rows():
            digest.update("\x1f".join(row).encode() + b"\x1e")
    return digest.hexdigest()


#: The corpus, pinned: any edit to a template file or to the generator shows here. When the
#: change is meant, put the new hash here (pscale.codeversion reruns the stage by itself).
PINNED = {
    (N_TRAIN, N_TEST, SEED): "4d29e27bd7d04fcb1cf11d243b4356ab0705309009df99684a3372a775f37a96",
    (1500, 100, 0): "afc9bfed5cfbca8c8d6c1eef2caa07711fd2067d2e87406b805ebf2ea66d38ed",  # the demo config's size
}


def test_corpus_pinned(corpus: dict[str, pl.DataFrame]) -> None:
    assert _corpus_hash(corpus) == PINNED[(N_TRAIN, N_TEST, SEED)]
    assert _corpus_hash(make_demo_corpus(1500, 100, 0)) == PINNED[(1500, 100, 0)]


def test_template_data_complete() -> None:
    genders = language_data("en").genders
    for lang in STUDY_LANGUAGES:
        data = language_data(lang)
        assert len(data.names) == N_NAMES and len(data.objects) == N_OBJECTS
        assert data.genders == genders, lang  # person j is the same person everywhere
        assert tuple(data.templates) == OPERATIONS
        for op in OPERATIONS:
            assert len(data.templates[op]) == N_TEMPLATES, (lang, op)


def test_templates_ship_inside_the_package() -> None:
    """Read through importlib.resources (works from a wheel), one file per study language."""
    folder = resources.files("pscale.data") / "demo_templates"
    assert sorted(f.name for f in folder.iterdir() if f.name.endswith(".yaml")) == sorted(
        f"{lang}.yaml" for lang in STUDY_LANGUAGES
    )
    for lang in STUDY_LANGUAGES:
        header = (folder / f"{lang}.yaml").read_text(encoding="utf-8").splitlines()[0]
        assert header.startswith("# Demo corpus") and f"({lang})" in header


def test_workflow_import_is_light() -> None:
    """common.smk lists the demo datasets without importing the generator (or polars)."""
    code = (
        "import sys; from pscale.data.demo_datasets import DEMO_DATASETS; "
        "print(DEMO_DATASETS, 'pscale.data.demo' in sys.modules, 'polars' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"{DEMO_DATASETS} False False"


def test_every_combination_renders() -> None:
    """Every template x object x name renders in every language (no missing form)."""
    for op in ("add", "sub", "mul"):
        for template in range(3):
            for obj in range(6):
                for name in range(6):
                    problem = Problem(op, 21, 13, template, obj, name)
                    for lang in STUDY_LANGUAGES:
                        question, solution = _render(problem, lang)
                        assert "{" not in question and "|" not in question + solution
                        assert "21" in question and "13" in question


def test_english_question_numbers_give_answer(corpus: dict[str, pl.DataFrame]) -> None:
    for df in corpus.values():
        en = df.filter(pl.col("lang") == "en")
        for question, answer in en.select("question", "answer").iter_rows():
            nums = [int(x) for x in re.findall(r"\d+", question)]
            assert len(nums) == 2, question
            x, y = nums
            text = question.lower()
            if "each" in text:
                assert x * y == int(answer), question
            elif "left" in text or "need" in text:
                assert abs(x - y) == int(answer), question
            else:
                assert "more" in text or "total" in text, question
                assert x + y == int(answer), question


def test_solution_equation_and_boxed(corpus: dict[str, pl.DataFrame]) -> None:
    for df in corpus.values():
        for question, answer, solution in df.select("question", "answer", "solution").iter_rows():
            match = SOLUTION.match(solution)
            assert match, solution
            assert match["boxed"] == answer
            eqs = EQUATION.findall(match["think"])
            assert len(eqs) == 1, solution
            a, op, b, c = eqs[0]
            assert _apply(op, int(a), int(b)) == int(c) and c == answer
            # Both operands are stated in the question.
            assert set(re.findall(r"\d+", question)) == {a, b}


def test_solution_operands_match_across_languages(corpus: dict[str, pl.DataFrame]) -> None:
    """One id is the same problem everywhere: identical equation in every language."""
    for df in corpus.values():
        eqs = df.with_columns(eq=pl.col("solution").str.extract(r"(\d+ [+\-*] \d+ = \d+)"))
        assert (eqs.group_by("id").agg(pl.col("eq").n_unique())["eq"] == 1).all()


def test_ops_difficulty_and_ranges() -> None:
    problems = _sample_problems(N_TRAIN, N_TEST, SEED)
    for name, probs in problems.items():
        ops = Counter(p.op for p in probs)
        assert set(ops) == {"add", "sub", "mul"}, name
        level = "hard" if name == "demo_hard" else "easy"
        for p in probs:
            assert p.answer >= 2
            (alo, ahi), (blo, bhi) = _RANGES[level][p.op]
            assert alo <= p.a <= ahi and blo <= p.b <= bhi, (name, p)
    # every hard problem has an operand outside the easy ranges
    for p in problems["demo_hard"]:
        (alo, ahi), (blo, bhi) = _RANGES["easy"][p.op]
        assert not (alo <= p.a <= ahi and blo <= p.b <= bhi), p


def test_datasets_disjoint_and_unique(corpus: dict[str, pl.DataFrame]) -> None:
    problems = _sample_problems(N_TRAIN, N_TEST, SEED)
    keys = [p.key for probs in problems.values() for p in probs]
    assert len(keys) == len(set(keys))
    for df in corpus.values():
        per_lang = df.group_by("lang").agg(pl.col("question").n_unique().alias("n"))
        assert (per_lang["n"] == df["id"].n_unique()).all()
    for lang in STUDY_LANGUAGES:
        seen: set[str] = set()
        for df in corpus.values():
            questions = set(df.filter(pl.col("lang") == lang)["question"])
            assert not seen & questions
            seen |= questions


def test_corpus_matches_problem_list(corpus: dict[str, pl.DataFrame]) -> None:
    problems = _sample_problems(N_TRAIN, N_TEST, SEED)
    df = corpus["demo_test"]
    for i, problem in enumerate(problems["demo_test"][:10]):
        rows = df.filter(pl.col("id") == f"demo_test-{i:05d}")
        assert rows["answer"].unique().to_list() == [str(problem.answer)]
        for lang, question in rows.select("lang", "question").iter_rows():
            assert question == _render(problem, lang)[0]


def test_deterministic() -> None:
    first = make_demo_corpus(50, 10, seed=3)
    again = make_demo_corpus(50, 10, seed=3)
    other = make_demo_corpus(50, 10, seed=4)
    for name in DEMO_DATASETS:
        assert first[name].equals(again[name])
        assert not first[name].equals(other[name])


def test_bad_sizes_are_user_errors() -> None:
    with pytest.raises(UserError, match="cannot draw 20000 distinct easy problems"):
        make_demo_corpus(20_000, 10, seed=0)
    with pytest.raises(UserError, match="non-negative"):
        make_demo_corpus(10, -1, seed=0)


def test_language_scripts(corpus: dict[str, pl.DataFrame]) -> None:
    df = corpus["demo_train"]
    for lang, pattern in SCRIPTS.items():
        questions = df.filter(pl.col("lang") == lang)["question"]
        assert questions.str.contains(pattern).all(), lang
    # Latin-script languages are genuinely different texts for the same id.
    latin = df.filter(pl.col("lang").is_in(["en", "es", "fr", "de", "sw"]))
    per_id = latin.group_by("id").agg(pl.col("question").n_unique().alias("n"))
    assert (per_id["n"] == 5).all()
    # Numbers stay ASCII digits everywhere (no Bengali/Thai/Telugu digits).
    assert not df["question"].str.contains(r"[০-৯๐-๙౦-౯]").any()


def test_no_answer_instruction_and_question_last(corpus: dict[str, pl.DataFrame]) -> None:
    for df in corpus.values():
        assert not df["question"].str.contains("boxed").any()
    en = corpus["demo_train"].filter(pl.col("lang") == "en")["question"]
    assert en.str.contains(r"How many [^.?]*\?$").all()


def test_russian_plural_forms() -> None:
    numbers = (1, 2, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111)
    expected = (0, 1, 1, 2, 2, 2, 2, 0, 1, 2, 0, 2)
    assert tuple(ru_plural_index(n) for n in numbers) == expected
    question, _ = _render(Problem("add", 21, 11, 0, 0, 0), "ru")
    assert "21 яблоко" in question and "11 яблок" in question
    question, _ = _render(Problem("add", 3, 2, 0, 1, 1), "ru")
    assert "3 книги" in question and "2 книги" in question


def _identifier():
    langid = pytest.importorskip("py3langid.langid")
    cls = langid.LanguageIdentifier
    # The loader's name differs between py3langid releases.
    load = getattr(cls, "from_pickled_model", None) or cls.from_model_file
    identifier = load(langid.MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(STUDY_LANGUAGES))
    return identifier


def test_language_identification(corpus: dict[str, pl.DataFrame]) -> None:
    """The pipeline's language-consistency reward relies on these texts being identifiable."""
    identifier = _identifier()
    df = pl.concat(list(corpus.values()))

    def accuracy(texts: list[str], lang: str) -> float:
        clean = [re.sub(r"[\d+\-*=]", " ", t) for t in texts]
        return sum(identifier.classify(t)[0] == lang for t in clean) / len(clean)

    for lang in STUDY_LANGUAGES:
        rows = df.filter(pl.col("lang") == lang)
        thinks = [SOLUTION.match(s)["think"] for s in rows["solution"]]
        q_acc = accuracy(rows["question"].to_list(), lang)
        s_acc = accuracy(thinks, lang)
        assert q_acc >= 0.9, (lang, "question", q_acc)
        assert s_acc >= 0.9, (lang, "solution", s_acc)
