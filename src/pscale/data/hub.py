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

A row that cannot be read (an empty question, no \\boxed{} answer in its solution, a null
field) is skipped and listed with its reason in a QC table (`QC_COLUMNS`, like the
translation QC), so one odd row among 7,500 does not stop the study; more than
`max_bad_share` (default 1%) of bad rows means the spec reads the wrong fields, and stops the
stage. A field the dataset does not have at all is a spec error and stops it at once.
"""

from __future__ import annotations

import hashlib
import logging
import random
from pathlib import Path
from typing import Any

import polars as pl

from pscale.errors import MissingEntryError
from pscale.grading import last_boxed, normalize_answer
from pscale.prompts import LETTERS

log = logging.getLogger(__name__)

#: Columns of a source's QC table: the rows skipped and why.
QC_COLUMNS = ("dataset", "row", "id", "reason")
#: Share of unreadable rows above which a source stops (config `data.hub.<name>.max_bad_share`).
MAX_BAD_SHARE = 0.01


class BadRow(ValueError):
    """A row that cannot become a source item; it is skipped and listed in the QC table."""


def resolve_revision(spec: dict[str, Any]) -> str:
    """The commit a hub dataset's `revision` (default: main) points to now, or a digest of a local copy.

    Loading that commit and recording it makes the source reproducible: a rerun a month later
    can pin `revision` to it (the hub's `main` moves on)."""
    import hashlib

    local = Path(spec["path"])
    if local.exists():
        files = sorted(p for p in ([local] if local.is_file() else local.rglob("*")) if p.is_file())
        digest = hashlib.sha256()
        for file in files:
            digest.update(str(file.relative_to(local if local.is_dir() else local.parent)).encode())
            digest.update(hashlib.sha256(file.read_bytes()).digest())
        return "local-" + digest.hexdigest()[:16]
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    from pscale.errors import UserError

    try:
        return HfApi().dataset_info(spec["path"], revision=spec.get("revision")).sha
    except (GatedRepoError, RepositoryNotFoundError) as err:
        raise UserError(
            f"dataset {spec['path']} is gated, private or missing on the hub: accept its terms on its page and "
            "log in with `hf auth login` (or export HF_TOKEN) on the node that runs Snakemake"
        ) from err


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
    from huggingface_hub.errors import GatedRepoError

    from pscale.errors import UserError

    try:
        return datasets.load_dataset(
            path, name=spec.get("name"), split=spec.get("split", "train"), revision=spec.get("revision")
        ).to_list()
    except (GatedRepoError, datasets.exceptions.DatasetNotFoundError) as err:
        raise UserError(
            f"dataset {path} is gated, private or missing on the hub ({str(err).splitlines()[0]}): accept its terms "
            "on its page and log in with `hf auth login` (or export HF_TOKEN) on the node that runs Snakemake"
        ) from err


def _field(row: dict[str, Any], name: str, where: str) -> Any:
    if name not in row:
        raise MissingEntryError(f"{where}: field '{name}' not in the dataset (fields: {sorted(row)})")
    return row[name]


def _shuffled_choices(correct: str, incorrect: list[str], seed: int, item_id: str) -> tuple[list[str], str]:
    digest = hashlib.sha256(f"{seed}:{item_id}".encode()).hexdigest()
    options = [correct, *incorrect]
    random.Random(int(digest[:16], 16)).shuffle(options)
    return options, LETTERS[options.index(correct)]


def _text(row: dict[str, Any], name: str, where: str) -> str:
    """A field's value as text; a null value makes the row bad (a missing field is a spec error)."""
    value = _field(row, name, where)
    if value is None:
        raise BadRow(f"field '{name}' is null")
    return str(value)


def _record(row: dict[str, Any], spec: dict[str, Any], item_id: str, where: str, seed: int) -> dict[str, Any]:
    """One row in the source schema, or BadRow with the reason."""
    question = _text(row, spec.get("question_field", "problem"), where).strip()
    solution_field = spec.get("solution_field")
    solution = _text(row, solution_field, where) if solution_field else None
    record: dict[str, Any] = {}
    if "correct_field" in spec:
        incorrect = [_text(row, f, where).strip() for f in spec["incorrect_fields"]]
        record["choices"], answer = _shuffled_choices(
            _text(row, spec["correct_field"], where).strip(), incorrect, seed, item_id
        )
    elif spec.get("answer_from_solution"):
        answer = last_boxed(solution or "")  # the grading rule: the last box counts, normalised
        if answer is None:
            raise BadRow(f"no \\boxed{{}} answer in field '{solution_field}'")
    else:
        # Gold answers get the grader's normalisation (ASCII digits, no full-width forms) here.
        answer = normalize_answer(_text(row, spec.get("answer_field", "answer"), where))
    if not question or not answer:
        raise BadRow("empty question" if not question else "empty answer")
    return {"id": item_id, "question": question, "answer": answer, "solution": solution, **record}


def normalize_with_qc(
    rows: list[dict[str, Any]], spec: dict[str, Any], dataset: str, seed: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows -> (the source schema, the QC table of skipped rows with their reasons).

    Stops (UserError) when more than `max_bad_share` of the rows are bad, naming the first reasons.
    """
    from pscale.errors import UserError

    out: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        where = f"dataset '{dataset}' row {index}"
        item_id = str(row[spec["id_field"]]) if spec.get("id_field") else f"{dataset}-{index:05d}"
        try:
            out.append(_record(row, spec, item_id, where, seed))
        except BadRow as reason:
            bad.append({"dataset": dataset, "row": index, "id": item_id, "reason": str(reason)})
    qc = pl.DataFrame(bad, schema={"dataset": pl.String, "row": pl.Int64, "id": pl.String, "reason": pl.String})
    limit = spec.get("max_bad_share", MAX_BAD_SHARE)
    if rows and len(bad) / len(rows) > limit:
        first = "; ".join(f"row {b['row']}: {b['reason']}" for b in bad[:3])
        raise UserError(
            f"dataset '{dataset}': {len(bad)} of {len(rows)} rows cannot be read ({len(bad) / len(rows):.1%}, more "
            f"than max_bad_share {limit:.1%}; {first}): check the spec's fields (config data.hub.{dataset})"
        )
    for b in bad:
        log.warning("%s row %d (id %s) skipped: %s", dataset, b["row"], b["id"], b["reason"])
    if not out:
        raise UserError(f"dataset '{dataset}': no rows to read")
    frame = pl.DataFrame(out, schema_overrides={"solution": pl.String})
    duplicated = frame.filter(pl.col("id").is_duplicated())["id"].unique().to_list()
    if duplicated:
        raise UserError(f"dataset '{dataset}': duplicate ids {duplicated[:5]} (set id_field or leave it unset)")
    sample = spec.get("sample")
    if sample is not None and sample < frame.height:
        keep = sorted(random.Random(seed).sample(range(frame.height), sample))
        frame = frame[keep]
    return frame, qc


def normalize(rows: list[dict[str, Any]], spec: dict[str, Any], dataset: str, seed: int) -> pl.DataFrame:
    """Rows -> the source schema (bad rows skipped; see normalize_with_qc)."""
    return normalize_with_qc(rows, spec, dataset, seed)[0]


def write_hub_source(
    spec: dict[str, Any],
    dataset: str,
    seed: int,
    output: Path,
    qc_output: Path | None = None,
    revision_output: Path | None = None,
) -> pl.DataFrame:
    """Stage entry point: load, normalise and write one dataset's English source file (and its
    QC table, and the commit it was loaded from)."""
    from pscale.tables import write_parquet, write_text

    revision = resolve_revision(spec) if revision_output is not None else None
    if revision is not None and not revision.startswith("local-"):
        spec = {**spec, "revision": revision}  # load exactly the commit that is recorded
    frame, qc = normalize_with_qc(load_rows(spec), spec, dataset, seed)
    if qc_output is not None:
        write_parquet(qc, qc_output)
    if revision_output is not None:
        write_text(f"{revision}\n", revision_output)
    write_parquet(frame, output)
    log.info("%s: %d items from %s (%d rows skipped)", dataset, frame.height, spec["path"], qc.height)
    return frame
