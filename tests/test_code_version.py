"""Dirty targets by code: a change that can change a stage's results reruns it and what follows;
a comment, docstring or formatting edit reruns nothing (pscale.codeversion in every rule's params)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import job_counts

from pscale.codeversion import CodeBase

STAGES = ["demo-data", "translate", "parallel-set", "train", "generate", "score", "tables", "fit", "figures"]


def _copy_package(repo: Path, dest: Path) -> Path:
    shutil.copytree(repo / "src" / "pscale", dest / "src" / "pscale", ignore=shutil.ignore_patterns("__pycache__"))
    return dest / "src" / "pscale"


def _versions(root: Path) -> dict[str, str]:
    base = CodeBase(root)
    return {stage: base.version(stage) for stage in STAGES}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer contains {old!r}: update the test"
    path.write_text(text.replace(old, new, 1))


def test_only_result_relevant_edits_change_a_stages_version(repo: Path, tmp_path: Path) -> None:
    root = _copy_package(repo, tmp_path)
    before = _versions(root)
    grading = root / "grading.py"
    # comments, a docstring, blank lines and line breaks: same syntax tree, same versions
    text = grading.read_text()
    grading.write_text("# a new comment\n" + text.replace('"""', '"""Reworded. ', 1).replace("\n\n", "\n\n\n") + "\n")
    assert _versions(root) == before
    # an edit that can change grades: every stage that reaches the grader (score, and train
    # through the rewards) changes, the others do not
    grading.write_text(grading.read_text() + "\nEXTRA_RULE = 1\n")
    after = _versions(root)
    changed = {stage for stage in STAGES if after[stage] != before[stage]}
    assert {"score", "train"} <= changed
    assert not changed & {"demo-data", "translate", "parallel-set", "fit"}, changed
    # the config check, the stage table and the receipts are not stage code: the first two reach
    # the stages through their params, the receipts decide adoption, never an output's content
    for module in ("config.py", "stages.py", "receipts.py", "codeversion.py"):
        edited = root / module
        edited.write_text(edited.read_text() + "\nSOMETHING = 2\n")
        assert _versions(root) == after, module


@pytest.mark.parametrize("module", ["score.py", "analysis.py", "figures.py", "runs.py"])
def test_evaluation_code_never_retrains_or_regenerates(repo: Path, tmp_path: Path, module: str) -> None:
    """A change that cannot alter a trained weight or a generated token (the scorer's speed
    constants, the tables, the figures) leaves training's and generation's versions alone."""
    root = _copy_package(repo, tmp_path)
    before = _versions(root)
    edited = root / module
    edited.write_text(edited.read_text() + "\nCHUNK_ROWS_EXTRA = 4000\n")
    after = _versions(root)
    changed = {stage for stage in STAGES if after[stage] != before[stage]}
    assert changed and not changed & {"train", "generate", "demo-data", "translate", "parallel-set"}, changed


@pytest.mark.parametrize("module", ["rewards.py", "grading.py", "languages.py"])
def test_reward_and_grader_code_retrains(repo: Path, tmp_path: Path, module: str) -> None:
    root = _copy_package(repo, tmp_path)
    before = _versions(root)
    edited = root / module
    edited.write_text(edited.read_text() + "\nEXTRA_RULE = 1\n")
    assert _versions(root)["train"] != before["train"]


def test_package_data_is_code(repo: Path, tmp_path: Path) -> None:
    """A template edit reruns the demo-data stage; a comment or layout edit in it does not."""
    root = _copy_package(repo, tmp_path)
    before = _versions(root)
    german = root / "data" / "demo_templates" / "de.yaml"
    text = german.read_text(encoding="utf-8")
    german.write_text("# reviewed by a native speaker\n" + text + "\n\n", encoding="utf-8")
    assert _versions(root) == before
    _edit(german, "{nom: Lukas,", "{nom: Paul,")
    after = _versions(root)
    assert after["demo-data"] != before["demo-data"]
    assert after["fit"] == before["fit"]


SMALL = {
    "languages": ["en", "es", "de"],
    "parallel_order": ["es", "de"],
    "subset_sizes": [1, 2],
    "data": {"train_size": 8, "demo": {"n_train": 16, "n_test": 2}},
}
TARGETS = ["results/data/sets/grow-x1.parquet", "results/data/sets/grow-x2.parquet"]


def _snakemake(work: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args, *TARGETS],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def test_snakemake_reruns_by_code(repo: Path, tmp_path: Path) -> None:
    """The data stages for real (seconds), then dry runs after code edits."""
    for name in ("Snakefile", "workflow", "resources", "envs"):
        (shutil.copytree if (repo / name).is_dir() else shutil.copy)(repo / name, tmp_path / name)
    root = _copy_package(repo, tmp_path)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(SMALL))
    _snakemake(tmp_path)
    assert "Nothing to be done" in _snakemake(tmp_path, "-n")

    sets = root / "parallel_sets.py"
    _edit(sets, '"""', '"""A reworded docstring. ')
    sets.write_text("# a comment\n" + sets.read_text().replace("\n\n", "\n\n\n"))
    assert "Nothing to be done" in _snakemake(tmp_path, "-n")

    original = sets.read_text()
    sets.write_text(original + "\nCHANGED = True\n")
    assert job_counts(_snakemake(tmp_path, "-n")) == {"parallel_set": 2}
    sets.write_text(original)

    reference = root / "translate" / "reference.py"
    reference.write_text(reference.read_text() + "\nCHANGED = True\n")
    counts = job_counts(_snakemake(tmp_path, "-n"))
    assert counts.get("parallel_set") == 2 and counts.get("translate", 0) >= 1 and "demo_data" not in counts


@pytest.fixture(autouse=True)
def _no_pycache(monkeypatch) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
