"""Source datasets from the Hugging Face hub (or local copies), normalised to the source schema.

Every dataset becomes the pipeline's English source file:

    id (str), question (str), answer (str), solution (str, nullable)
    [+ choices (list[str]) for multiple choice; answer is then the correct letter]

A spec (config `data.hub.<name>`) names where the data is and which fields to read:

    path: HuggingFaceH4/MATH-500      # hub id, a `save_to_disk` folder, or a .parquet/.jsonl file
    name: null                        # hub config name
    split: test
    revision: null                    # pin a hub commit for reproducibility
    question_field: problem
    answer_field: answer              # or answer_from_solution: true (the \\boxed{} of solution_field)
    solution_field: solution
    id_field: unique_id               # default: the row index
    sample: 1000                      # seeded subset (the chosen ids are in the output)
    # multiple choice (GPQA-Diamond): the correct option and the distractors
    correct_field: Correct Answer
    incorrect_fields: [Incorrect Answer 1, Incorrect Answer 2, Incorrect Answer 3]

Options of a multiple-choice item are shuffled with a per-item seed derived from the
dataset seed and the item id, so the order is reproducible and recorded in the output.
"""

from __future__ import annotations

import hashlib
import logging
import random
from pathlib import Path
from typing import Any

import polars as pl

from pscale.grading import last_boxed, normalize_answer
from pscale.prompts import LETTERS

log = logging.getLogger(__name__)

def load_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The raw rows of a dataset spec, through `datasets` (hub id or local folder/file)."""
    import datasets

    path = spec["path"]
    local = Path(path)
    if local.is_dir():  # a save_to_disk folder (Dataset or DatasetDict)
        loaded = datasets.load_from_disk(str(local))
        if isinstance(loaded, datasets.DatasetDict):
            loaded = loaded[spec.get("split", "train")]
        return loaded.to_list()
    if local.suffix in {".parquet", ".json", ".jsonl", ".csv"}:
        builder = {".parquet": "parquet", ".csv": "csv"}.get(local.suffix, "json")
        return datasets.load_dataset(builder, data_files=str(local), split="train").to_list()
    return datasets.load_dataset(
        path, name=spec.get("name"), split=spec.get("split", "train"), revision=spec.get("revision")
    ).to_list()


def _field(row: dict[str, Any], name: str, where: str) -> Any:
    if name not in row:
        raise KeyError(f"{where}: field '{name}' not in the dataset (fields: {sorted(row)})")
    return row[name]


def _shuffled_choices(correct: str, incorrect: list[str], seed: int, item_id: str) -> tuple[list[str], str]:
    digest = hashlib.sha256(f"{seed}:{item_id}".encode()).hexdigest()
    options = [correct, *incorrect]
    random.Random(int(digest[:16], 16)).shuffle(options)
    return options, LETTERS[options.index(correct)]


def normalize(rows: list[dict[str, Any]], spec: dict[str, Any], dataset: str, seed: int) -> pl.DataFrame:
    """Rows -> the source schema; every problem the spec cannot read is an error naming the row."""
    out: list[dict[str, Any]] = []
    multiple_choice = "correct_field" in spec
    for index, row in enumerate(rows):
        where = f"dataset '{dataset}' row {index}"
        item_id = str(row[spec["id_field"]]) if spec.get("id_field") else f"{dataset}-{index:05d}"
        question = str(_field(row, spec.get("question_field", "problem"), where)).strip()
        solution_field = spec.get("solution_field")
        solution = str(_field(row, solution_field, where)) if solution_field else None
        choices = None
        if multiple_choice:
            incorrect = [str(_field(row, f, where)).strip() for f in spec["incorrect_fields"]]
            choices, answer = _shuffled_choices(str(_field(row, spec["correct_field"], where)).strip(), incorrect,
                                                seed, item_id)
        elif spec.get("answer_from_solution"):
            answer = last_boxed(solution or "")  # the grading rule: the last box counts, normalised
            if answer is None:
                raise ValueError(f"{where}: no \\boxed{{}} answer in field '{solution_field}'")
        else:
            # Gold answers get the grader's normalisation (ASCII digits, no full-width forms) here.
            answer = normalize_answer(str(_field(row, spec.get("answer_field", "answer"), where)))
        if not question or not answer:
            raise ValueError(f"{where} (id {item_id}): empty question or answer")
        record = {"id": item_id, "question": question, "answer": answer, "solution": solution}
        if multiple_choice:
            record["choices"] = choices
        out.append(record)
    frame = pl.DataFrame(out, schema_overrides={"solution": pl.String})
    duplicated = frame.filter(pl.col("id").is_duplicated())["id"].unique().to_list()
    if duplicated:
        raise ValueError(f"dataset '{dataset}': duplicate ids {duplicated[:5]} (set id_field or leave it unset)")
    sample = spec.get("sample")
    if sample is not None and sample < frame.height:
        keep = sorted(random.Random(seed).sample(range(frame.height), sample))
        frame = frame[keep]
    return frame


def write_hub_source(spec: dict[str, Any], dataset: str, seed: int, output: Path) -> pl.DataFrame:
    """Stage entry point: load, normalise and write one dataset's English source file."""
    from pscale.tables import write_parquet

    frame = normalize(load_rows(spec), spec, dataset, seed)
    write_parquet(frame, output)
    log.info("%s: %d items from %s", dataset, frame.height, spec["path"])
    return frame
