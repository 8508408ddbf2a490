"""Hub dataset loading, on small local datasets in the hub datasets' own shapes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from datasets import Dataset, DatasetDict

from pscale.data.hub import normalize, write_hub_source
from pscale.grading import grade
from pscale.prompts import PromptSet, PromptStyle

MATH_TRAIN = [  # the shape of the MATH training set: the answer is the solution's \boxed{}
    {"problem": f"What is ${i}+{i}$?", "solution": f"We add: ${i}+{i}=\\boxed{{{2 * i}}}$.", "level": "Level 1"}
    for i in range(1, 21)
]
MATH500 = [  # HuggingFaceH4/MATH-500: problem, solution, answer, unique_id
    {
        "problem": "Compute $\\frac{1}{2}+\\frac{1}{4}$.",
        "solution": "...",
        "answer": "\\frac{3}{4}",
        "unique_id": "test/algebra/1.json",
    },
    {"problem": "Find $x$ if $2x=10$.", "solution": "...", "answer": "5", "unique_id": "test/algebra/2.json"},
]
GPQA = [  # Idavidrein/gpqa (gpqa_diamond): question and four options by field
    {
        "Question": f"Which particle number {i}?",
        "Correct Answer": f"right {i}",
        "Incorrect Answer 1": f"wrong a{i}",
        "Incorrect Answer 2": f"wrong b{i}",
        "Incorrect Answer 3": f"wrong c{i}",
        "Record ID": f"rec{i}",
    }
    for i in range(6)
]


@pytest.fixture(scope="module")
def local_hub(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hub")
    DatasetDict({"train": Dataset.from_list(MATH_TRAIN)}).save_to_disk(str(root / "math_train"))
    Dataset.from_list(MATH500).to_parquet(str(root / "math500.parquet"))
    Dataset.from_list(GPQA).save_to_disk(str(root / "gpqa"))
    return root


def test_math_train_answers_come_from_boxed_solutions(local_hub: Path, tmp_path: Path) -> None:
    spec = {
        "path": str(local_hub / "math_train"),
        "split": "train",
        "question_field": "problem",
        "solution_field": "solution",
        "answer_from_solution": True,
        "sample": 8,
    }
    frame = write_hub_source(spec, "math_train", seed=3, output=tmp_path / "math_train.parquet")
    assert frame.columns == ["id", "question", "answer", "solution"]
    assert frame.height == 8 and frame["id"].n_unique() == 8
    for row in frame.iter_rows(named=True):
        i = int(row["id"].split("-")[-1]) + 1
        assert row["answer"] == str(2 * i) and row["question"] == f"What is ${i}+{i}$?"
    again = normalize(MATH_TRAIN, spec, "math_train", seed=3)
    assert again["id"].to_list() == frame["id"].to_list()  # seeded, recorded selection
    assert normalize(MATH_TRAIN, spec, "math_train", seed=4)["id"].to_list() != frame["id"].to_list()
    assert pl.read_parquet(tmp_path / "math_train.parquet").equals(frame)


def test_math500_fields_and_ids(local_hub: Path, tmp_path: Path) -> None:
    spec = {
        "path": str(local_hub / "math500.parquet"),
        "question_field": "problem",
        "answer_field": "answer",
        "solution_field": "solution",
        "id_field": "unique_id",
    }
    frame = write_hub_source(spec, "math500", seed=0, output=tmp_path / "m.parquet")
    assert frame["id"].to_list() == ["test/algebra/1.json", "test/algebra/2.json"]
    assert frame["answer"].to_list() == ["\\frac{3}{4}", "5"]
    assert grade("\\frac{3}{4}", "so \\boxed{0.75}")[1]


def test_gpqa_options_shuffled_reproducibly_and_graded_by_letter(
    local_hub: Path, tmp_path: Path, prompt_file: Path
) -> None:
    spec = {
        "path": str(local_hub / "gpqa"),
        "question_field": "Question",
        "id_field": "Record ID",
        "correct_field": "Correct Answer",
        "incorrect_fields": ["Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3"],
    }
    frame = write_hub_source(spec, "gpqa_diamond", seed=7, output=tmp_path / "g.parquet")
    assert frame.columns == ["id", "question", "answer", "solution", "choices"]
    letters = set()
    for row in frame.iter_rows(named=True):
        i = int(row["id"].removeprefix("rec"))
        assert sorted(row["choices"]) == sorted([f"right {i}", f"wrong a{i}", f"wrong b{i}", f"wrong c{i}"])
        assert row["choices"]["ABCD".index(row["answer"])] == f"right {i}"
        letters.add(row["answer"])
    assert len(letters) > 1  # the correct option is not always first
    assert normalize(GPQA, spec, "gpqa_diamond", seed=7)["choices"].to_list() == frame["choices"].to_list()
    assert grade("B", "<think>...</think> \\boxed{B}", n_choices=4) == ("B", True)
    assert grade("B", "\\boxed{C}", n_choices=4)[1] is False
    text = PromptSet.from_file(prompt_file).prompt("Q?", "en", PromptStyle(), ["x", "y"])
    assert "A) x\nB) y" in text[-1]["content"]


def test_bad_field_names_the_row_and_fields() -> None:
    with pytest.raises(KeyError, match=r"row 0: field 'question'.*problem"):
        normalize(MATH_TRAIN, {"path": "x", "question_field": "question"}, "math_train", seed=0)
    with pytest.raises(ValueError, match=r"row 0: no \\boxed"):
        normalize(
            [{"problem": "p", "solution": "none"}],
            {"path": "x", "solution_field": "solution", "answer_from_solution": True},
            "d",
            seed=0,
        )


def test_plain_prompts_for_base_models(prompt_file: Path) -> None:
    prompts = PromptSet.from_file(prompt_file)
    plain = prompts.prompt("What is 2+2?", "de", PromptStyle(chat=False, force_language=True))
    assert isinstance(plain, str) and plain.startswith("What is 2+2?") and "Deutsch" in plain
    chat = prompts.prompt("Q", "en", PromptStyle(system_prompt="Be brief."))
    assert chat[0] == {"role": "system", "content": "Be brief."}


def test_unreadable_rows_are_skipped_and_listed(tmp_path: Path) -> None:
    """One odd row among many is skipped with its reason (not fatal); too many stop the stage."""
    from pscale.errors import UserError

    spec = {"path": "x", "solution_field": "solution", "answer_from_solution": True}
    rows = [
        *MATH_TRAIN,
        {"problem": "p", "solution": "no box here"},
        {"problem": None, "solution": "\\boxed{1}"},
        {"problem": "  ", "solution": "\\boxed{2}"},
    ]
    with pytest.raises(UserError, match=r"3 of 23 rows.*max_bad_share 1\.0%.*row 20: no \\boxed"):
        normalize(rows, spec, "math_train", seed=0)
    parquet = tmp_path / "rows.parquet"
    pl.DataFrame(rows).write_parquet(parquet)
    frame = write_hub_source(
        {**spec, "path": str(parquet), "max_bad_share": 0.2},
        "math_train",
        seed=0,
        output=tmp_path / "source.parquet",
        qc_output=tmp_path / "qc.parquet",
    )
    assert frame.height == 20 and pl.read_parquet(tmp_path / "source.parquet").height == 20
    qc = pl.read_parquet(tmp_path / "qc.parquet")
    revision = tmp_path / "revision.txt"
    write_hub_source(
        {**spec, "path": str(parquet), "max_bad_share": 0.2},
        "math_train",
        seed=0,
        output=tmp_path / "again.parquet",
        revision_output=revision,
    )
    recorded = revision.read_text().strip()
    assert recorded.startswith("local-")  # a local copy: a digest of its content stands in for a commit
    pl.DataFrame(rows[:-1]).write_parquet(parquet)
    write_hub_source(
        {**spec, "path": str(parquet), "max_bad_share": 0.2},
        "math_train",
        seed=0,
        output=tmp_path / "again.parquet",
        revision_output=revision,
    )
    assert revision.read_text().strip() != recorded
    assert qc.columns == ["dataset", "row", "id", "reason"]
    assert qc["row"].to_list() == [20, 21, 22]
    assert qc["reason"].to_list() == [
        "no \\boxed{} answer in field 'solution'",
        "field 'problem' is null",
        "empty question",
    ]
