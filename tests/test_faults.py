"""Fault suite: crash anywhere, feed it anything -- it resumes, names the problem, and loses nothing.

Done for real: `kill -9` of Snakemake (its jobs orphaned, its lock left behind), of a running
job, a checkpoint cut off mid-save, a truncated Parquet, a file of an older schema, a null
row, a typo'd TRL key, a dead translation endpoint. Each pipeline run uses a tiny demo config
(3 languages, 2 GRPO runs of 4 steps; ~1.5 min on 2 cores). The interrupted-and-resumed
pipeline must end with exactly the outputs of an uninterrupted run, and no model that was
finished before a fault may be deleted or rewritten. (Translation faults against a paid
API -- kill -9 mid-stage, 5xx, 429 -- are in test_translate_openai.py.)
"""

from __future__ import annotations

import errno
import importlib.util
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import polars as pl
import pytest
import yaml
from helpers import TINY_ARCH

from pscale.cli import main
from pscale.config import ConfigError, validate_config
from pscale.data.demo import make_demo_corpus
from pscale.errors import UserError
from pscale.option_fields import DATA_PATH, GRPO_VALUES
from pscale.snakelock import live_processes, lock_files
from pscale.tables import TableError, atomic_path, read_table, write_json, write_parquet

#: GRPO shaped as experiments/paper.yaml's (epochs, not steps; gradient accumulation with one
#: generation per optimiser step; a KL reference model; gradient checkpointing; one checkpoint
#: kept), at the sizes of a CPU test: 2 prompts x 4 generations per step, 2 steps at X = 1 and 4
#: at X = 2 (grow budget: 4 problems per language).
PAPER_LIKE_GRPO = {
    "num_train_epochs": 1,
    "per_device_train_batch_size": 4,
    "gradient_accumulation_steps": 2,
    "steps_per_generation": 2,
    "num_generations": 4,
    "beta": 0.04,
    "gradient_checkpointing": True,
    "max_completion_length": 16,
    "logging_steps": 1,
    "save_steps": 1,
    "save_total_limit": 1,
    "seed": 42,
}
TINY = {
    "languages": ["en", "es", "de"],
    "parallel_order": ["es", "de"],
    "subset_sizes": [1, 2],
    "data": {"train_size": 4, "demo": {"n_train": 40, "n_test": 4}},
    "models": {"tiny": {"source": "scratch", "scratch": {
        "pretrain_steps": 5, "sft_steps": 10, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
        "vocab_size": 600}}},
    "training": {"grpo": PAPER_LIKE_GRPO},
    "evaluation": {"n_samples": 2, "max_new_tokens": 16},
}  # fmt: skip
MODELS = ("init", "grpo-grow-x1", "grpo-grow-x2")


# ---- config: a wrong key stops the run before any job, naming the closest valid one -------------------


def test_shipped_option_fields_match_the_installed_packages(repo: Path) -> None:
    """The checked-in json is what scripts/option_fields.py writes from the installed trl and
    transformers (and vllm, where installed): an upgrade without rerunning the script fails here."""
    script = _load_script(repo / "scripts" / "option_fields.py")
    shipped = script.read_previous(DATA_PATH)
    installed = script.option_fields(shipped)
    assert script.render(installed) == DATA_PATH.read_text(encoding="utf-8"), (
        f"{DATA_PATH} is out of date ({'; '.join(script.differences(shipped, installed)) or 'layout'}): "
        "run python scripts/option_fields.py"
    )


def _load_script(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("config", "named"), [
    ({"training": {"grpo": {"max_step": 3}}}, "'training.grpo.max_step': not an argument of trl.GRPOConfig; "
                                              "did you mean 'max_steps'?"),
    ({"training": {"sft": {"learning_rat": 1e-5}}}, "'training.sft.learning_rat': not an argument of trl.SFTConfig; "
                                                    "did you mean 'learning_rate'?"),
    ({"evaluation": {"vllm": {"gpu_memory_utilisation": 0.9}}}, "did you mean 'gpu_memory_utilization'?"),
    ({"training": {"grpo": {"output_dir": "x"}}}, "'training.grpo.output_dir': the pipeline sets it"),
    ({"training": {"reward_weights": {"accuracy": 0, "format": 0, "language": 0}}}, "sum to 0"),
    ({"training": {"grpo": {"per_device_train_batch_size": 6, "num_generations": 4}}},
     "the generation batch (6 completions) must be a multiple of num_generations (4)"),
    ({"training": {"grpo": {"per_device_train_batch_size": 4, "num_generations": 8, "generation_batch_size": 12}}},
     "'training.grpo.generation_batch_size': the generation batch (12 completions) must be a multiple"),
    ({"training": {"grpo": {"steps_per_generation": 2, "generation_batch_size": 16}}}, "set one of them, not both"),
])  # fmt: skip
def test_config_that_cannot_train_is_refused_naming_the_key(config: dict, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert named in str(err.value)


def test_valid_trl_options_pass() -> None:
    config = validate_config({"training": {"grpo": {"gradient_accumulation_steps": 2, "per_device_train_batch_size": 4,
                                                    "num_generations": 8, "weight_decay": 0.1}}})  # fmt: skip
    assert config["training"]["grpo"]["weight_decay"] == 0.1


# Values that used to pass the check and fail inside a job, after Snakemake had deleted its finished
# output (issue 20): each now stops the config check, which runs before Snakemake deletes anything.
@pytest.mark.parametrize(("config", "named"), [
    ({"training": {"grpo": {"optim": "adamw_bogus"}}},
     "'training.grpo.optim': 'adamw_bogus' is not a value TRL accepts"),
    ({"training": {"sft": {"lr_scheduler_type": "cosin"}}},
     "'training.sft.lr_scheduler_type': 'cosin' is not a value TRL accepts; did you mean 'cosine'?"),
    ({"training": {"grpo": {"loss_type": "ppo"}}}, "'training.grpo.loss_type': 'ppo' is not a value TRL accepts"),
    ({"models": {"tiny": {"source": "scratch", "scratch": {"hidden_size": 64, "num_attention_heads": 3}}}},
     "'models.tiny.scratch.num_attention_heads': 3 heads do not divide hidden_size 64"),
    ({"models": {"tiny": {"source": "scratch", "scratch": {"num_attention_heads": 4, "num_key_value_heads": 3}}}},
     "'models.tiny.scratch.num_key_value_heads': 3 KV heads do not divide num_attention_heads 4"),
    ({"models": {"tiny": {"source": "scratch", "scratch": {"hidden_size": 60, "num_attention_heads": 4}}}},
     "head size hidden_size/heads = 60/4 = 15 is odd"),
    ({"subset_sizes": [1, 2, 3], "analysis": {"fit_min_x": 4}},
     "'analysis.fit_min_x': 4 is above every X in subset_sizes [1, 2, 3]"),
    ({"models": {"org/tiny": {"source": "scratch"}}},
     "config key 'models': 'org/tiny' cannot be a file or folder name"),
    ({"data": {"train_size": 2000, "demo": {"n_train": 1500}}},
     "'data.train_size': 2000 problems, but the training dataset has 1500 (data.demo.n_train)"),
    ({"data": {"source": "hub", "train_dataset": "math", "train_size": 900, "benchmarks": ["math"],
               "hub": {"math": {"path": "x/math", "sample": 500}}}},
     "'data.train_size': 900 problems, but the training dataset has 500 (data.hub.math.sample)"),
    ({"data": {"benchmarks": ["demo_test", "demo_tset"]}},
     "config key 'data.benchmarks': ['demo_tset'] not in the demo corpus"),
    ({"trainng": {}}, "unknown config key(s) ['trainng']; did you mean 'training'?"),
])  # fmt: skip
def test_value_that_would_fail_in_a_job_is_refused_naming_the_key(config: dict, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert named in str(err.value)


def test_every_shipped_grpo_loss_type_passes_trl_own_checks() -> None:
    from trl import GRPOConfig

    for value in GRPO_VALUES["loss_type"]:
        GRPOConfig(output_dir="/nonexistent", loss_type=value, importance_sampling_level="token", use_cpu=True,
                   report_to="none", bf16=False)  # fmt: skip


# ---- data: a bad table is named -- file, column, first bad row -- in one line, no traceback -------------


@pytest.fixture()
def translated(tmp_path: Path) -> dict[str, Path]:
    corpus = make_demo_corpus(12, 2, seed=1)["demo_train"]
    files = {}
    for lang in ("en", "es"):
        files[lang] = tmp_path / "translated" / f"{lang}.parquet"
        write_parquet(corpus.filter(pl.col("lang") == lang), files[lang])
    return files


def _parallel_set(files: dict[str, Path], out: Path) -> int:
    return main(["parallel-set", "--translated", *map(str, files.values()), "--x", "2", "--parallel-order", "es",
                 "--output", str(out)])  # fmt: skip


def _one_clear_line(caplog: pytest.LogCaptureFixture, *needles: str) -> None:
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and not errors[0].exc_info, caplog.text
    message = errors[0].getMessage()
    for needle in needles:
        assert needle in message, message


def test_truncated_parquet_is_named(translated: dict[str, Path], tmp_path: Path, caplog) -> None:
    data = translated["es"].read_bytes()
    translated["es"].write_bytes(data[: len(data) // 2])  # what a killed writer without rename leaves
    assert _parallel_set(translated, tmp_path / "set.parquet") == 1
    _one_clear_line(caplog, str(translated["es"]), "truncated or not a Parquet file")
    assert not (tmp_path / "set.parquet").exists()


def test_null_row_is_named_with_file_column_and_row(translated: dict[str, Path], tmp_path: Path, caplog) -> None:
    frame = pl.read_parquet(translated["es"])
    ids = frame["id"].to_list()
    broken = frame.with_columns(
        pl.when(pl.col("id") == ids[5]).then(None).otherwise(pl.col("question")).alias("question")
    )
    broken.write_parquet(translated["es"])
    assert _parallel_set(translated, tmp_path / "set.parquet") == 1
    _one_clear_line(caplog, str(translated["es"]), "column 'question'", f"row 5 (id '{ids[5]}'")


def test_file_of_another_schema_is_named(tmp_path: Path, caplog) -> None:
    old = tmp_path / "gen.parquet"  # a generations file from before `n_choices` existed
    frame = pl.DataFrame({"id": ["a"], "lang": ["en"], "sample": [0], "answer": ["1"], "response": ["\\boxed{1}"]})
    frame.write_parquet(old)
    assert main(["score", "--generations", str(old), "--output", str(tmp_path / "s.parquet"), "--languages", "en"]) == 1
    _one_clear_line(caplog, str(old), "lacks column(s) ['n_choices']", f"make run REDO={old}")


def test_read_table_checks_types_and_blanks(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pl.DataFrame({"id": ["a", "b"], "sample": ["0", "1"], "question": ["q", " "]}).write_parquet(path)
    with pytest.raises(TableError, match="column 'sample' has type String, expected int"):
        read_table(path, {"sample": "int"})
    with pytest.raises(TableError, match=r"'question' is null or empty in 1 row\(s\), first at row 1 \(id 'b', "):
        read_table(path, {"question": "string"}, non_empty=["question"])
    with pytest.raises(TableError, match="does not exist"):
        read_table(tmp_path / "none.parquet", {})


def test_atomic_write_never_leaves_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"PAR1 half a file")
        raise RuntimeError("killed mid-write")
    assert list(tmp_path.iterdir()) == []  # neither the target nor the temporary file
    write_parquet(pl.DataFrame({"a": [1]}), target)
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"garbage")
        raise RuntimeError
    assert pl.read_parquet(target)["a"].to_list() == [1]  # the previous complete file is untouched


def test_a_bug_keeps_its_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A KeyError from the code (a bug, not bad input) surfaces with its traceback instead of
    # being reported as a one-line input problem; a UserError is the one-line kind.
    import pscale.generate

    def buggy(*_: object, **__: object) -> None:
        raise KeyError("a key the code forgot")

    monkeypatch.setattr(pscale.generate, "generate_benchmarks", buggy)
    args = ["generate", "--model", "m", "--benchmark-dir", str(tmp_path), "--languages", "en",
            "--prompts", "resources/prompts.yaml", "--output", str(tmp_path / "g.parquet"),
            "--options", "{}"]  # fmt: skip
    with pytest.raises(KeyError, match="a key the code forgot"):
        main(args)

    def bad_input(*_: object, **__: object) -> None:
        raise UserError("the input is wrong")

    monkeypatch.setattr(pscale.generate, "generate_benchmarks", bad_input)
    assert main(args) == 1


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_parquet(pl.DataFrame({"a": [1]}), tmp_path / "t.parquet")
        os.umask(0o077)
        write_json({"a": 1}, tmp_path / "private.json")
    finally:
        os.umask(old)
    assert (tmp_path / "t.parquet").stat().st_mode & 0o777 == 0o644  # mkstemp alone gave 0600
    assert (tmp_path / "private.json").stat().st_mode & 0o777 == 0o600


def test_full_disk_is_named_and_keeps_the_finished_file(
    translated: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    out = tmp_path / "sets" / "set.parquet"
    assert _parallel_set(translated, out) == 0
    before = out.read_bytes()

    def full(source: object, target: object) -> None:  # the OS boundary: the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(source))

    monkeypatch.setattr(os, "replace", full)
    assert _parallel_set(translated, out) == 1
    _one_clear_line(caplog, f"no space left on {out.parent} while writing set.parquet", "make run")
    assert out.read_bytes() == before and [p.name for p in out.parent.iterdir()] == ["set.parquet"]


@pytest.fixture()
def small_disk(tmp_path: Path):
    """A real 600 KiB file system (tmpfs; needs the right to mount, else the test is skipped)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode:
        pytest.skip("cannot mount a small tmpfs here (not root?)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


@pytest.mark.slow
def test_full_disk_while_saving_a_checkpoint_is_named(
    small_disk: Path, tmp_path: Path, prompt_file: Path, caplog
) -> None:
    from helpers import train_cli_args

    from pscale.model_init import init_model

    corpus = make_demo_corpus(30, 2, seed=3)["demo_train"]
    files = []
    for lang in ("en", "es"):
        files.append(tmp_path / f"{lang}.parquet")
        corpus.filter(pl.col("lang") == lang).write_parquet(files[-1])
    init = tmp_path / "init"
    init_model(files, files[0], prompt_file, init, TINY_ARCH, threads=2)
    train_set = tmp_path / "set.parquet"
    pl.concat(pl.read_parquet(f).head(8) for f in files).write_parquet(train_set)
    options = {"grpo": {"max_steps": 2, "per_device_train_batch_size": 4, "num_generations": 4,
                        "max_completion_length": 8, "logging_steps": 1, "save_steps": 1}}  # fmt: skip
    out, work = tmp_path / "model", small_disk / "work"
    assert main(train_cli_args(init, train_set, prompt_file, out, work, options, "en,es")) == 1
    _one_clear_line(caplog, f"no space left on {work}", "free space there, then `make run` again")
    assert not out.exists()


def test_lock_check_ignores_processes_that_write_nothing() -> None:
    from pscale.snakelock import _is_pipeline

    assert _is_pipeline("/venv/bin/python3 /venv/bin/snakemake --cores 2 --rerun-incomplete")
    assert _is_pipeline("python -m snakemake --cores 2")
    assert _is_pipeline("/venv/bin/python /venv/bin/pscale train --method grpo --output results/models/tiny/x")
    assert _is_pipeline("python -u -m pscale.cli generate --model m")
    assert _is_pipeline("accelerate launch --num_processes 2 -m pscale.cli train")
    assert not _is_pipeline("grep -r snakemake results/logs")
    assert not _is_pipeline("/venv/bin/python3 /venv/bin/snakemake -n --configfile config.yaml")
    assert not _is_pipeline("snakemake --cores 1 -np")
    assert not _is_pipeline("less results/logs/train/pscale.log")
    assert not _is_pipeline("vim /work/pscale/config.yaml")


def test_make_run_quotes_paths_and_runs_and_reports_from_one_copy_of_the_config(repo: Path) -> None:
    import shlex

    result = subprocess.run(["make", "-n", "run", "CONFIG=my runs/a b.yaml", "REDO=results/x.parquet results/y"],
                            cwd=repo, capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [shlex.split(line) for line in result.stdout.replace("\\\n", " ").splitlines() if line.strip()]
    lock = next(line for line in lines if "pscale.snakelock" in line)
    assert lock[-2:] == ["--configfile", "my runs/a b.yaml"]
    copy = next(line for line in lines if "cp" in line)
    assert copy[copy.index("cp") + 1 :] == ["my runs/a b.yaml", "results/work/run-config.yaml"]
    runs = [line for line in lines if line[:1] == ["snakemake"]]
    assert len(runs) == 2  # the run and its report, both from the copy taken when the run started
    assert all(line[line.index("--configfile") + 1] == "results/work/run-config.yaml" for line in runs)
    assert runs[0][runs[0].index("--forcerun") + 1 :] == ["results/x.parquet", "results/y"]
    forget = next(line for line in lines if "pscale.receipts" in line)  # REDO's files are made anew
    assert forget[forget.index("--forget") + 1 :] == ["results/x.parquet", "results/y"]


def test_make_run_puts_the_run_config_and_report_in_the_configs_results_dir(repo: Path) -> None:
    """make 4.3 does not pass its exported PATH to $(shell): the results dir is read by the venv's python."""
    result = subprocess.run(
        ["make", "-n", "run", "CONFIG=experiments/cpu-study.yaml"], cwd=repo, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "'results-cpu-study/work/run-config.yaml'" in result.stdout
    assert "--report 'results-cpu-study/report.html'" in result.stdout


def test_lock_check_removes_temporaries_of_killed_writes(tmp_path: Path) -> None:
    from pscale.snakelock import check

    figures = tmp_path / "results" / "figures"
    figures.mkdir(parents=True)
    (figures / ".scaling_law.png.k2j3x9.tmp").write_bytes(b"half a figure")  # what a kill -9 mid-write leaves
    (figures / "scaling_law.png").write_bytes(b"a figure")
    assert check(tmp_path) == 0
    assert [p.name for p in figures.iterdir()] == ["scaling_law.png"]


# ---- every file a stage consumes is named when damaged, with the REDO that remakes it ---------------


def test_damaged_analysis_inputs_are_named_with_their_redo(tmp_path: Path, caplog) -> None:
    garbage = tmp_path / "runs.csv"
    garbage.write_bytes(b"\x00\xff\x13 not a table\n\x01")
    out = str(tmp_path / "fit.json")
    assert main(["fit", "--runs", str(garbage), "--replicates", "r.parquet", "--output", out, "--options", "{}"]) == 1
    _one_clear_line(caplog, f"runs table {garbage}", f"REDO={garbage}")
    caplog.clear()
    runs = tmp_path / "good_runs.csv"
    runs.write_text("model,run\ntiny,init\n")
    replicates = tmp_path / "bootstrap.parquet"
    pl.DataFrame({"model": ["tiny"], "run": ["init"], "seed": ["all"], "quantity": ["mti"], "replicates": [[1.0]]}
                 ).write_parquet(replicates)  # fmt: skip
    replicates.write_bytes(replicates.read_bytes()[:40])
    assert main(["fit", "--runs", str(runs), "--replicates", str(replicates), "--output", out, "--options", "{}"]) == 1
    _one_clear_line(caplog, f"bootstrap replicates {replicates} cannot be read", f"REDO={replicates}")
    caplog.clear()
    fits = tmp_path / "scaling_law.json"
    fits.write_text('{"mti": {"alpha": 2.0, "be')
    png = str(tmp_path / "law.png")
    assert main(["figures", "--names", "scaling_law", "--output", png, "--fits", str(fits)]) == 1
    _one_clear_line(caplog, f"scaling-law fits {fits} cannot be read", f"REDO={fits}")
    caplog.clear()
    model = tmp_path / "results" / "models" / "tiny" / "grpo-grow-x2-s0"
    model.mkdir(parents=True)
    (model / "log_history.json").write_text('[{"step": 1, "reward": 0.5}, {"st')
    png = str(tmp_path / "rewards.png")
    assert main(["figures", "--names", "training_rewards", "--output", png, "--histories", str(model)]) == 1
    _one_clear_line(caplog, f"training log history {model / 'log_history.json'} cannot be read", f"REDO={model}")


def test_truncated_model_weights_are_named_before_loading(tmp_path: Path, prompt_file: Path, caplog) -> None:
    import torch
    from safetensors.torch import save_file

    model = tmp_path / "results" / "models" / "tiny" / "init"
    model.mkdir(parents=True)
    weights = model / "model.safetensors"
    save_file({"w": torch.zeros(64, 64)}, str(weights))
    weights.write_bytes(weights.read_bytes()[:5000])  # a save cut off by a full disk
    args = ["generate", "--model", str(model), "--benchmark-dir", str(tmp_path), "--languages", "en",
            "--prompts", str(prompt_file), "--output", str(tmp_path / "g.parquet"), "--options", "{}"]  # fmt: skip
    assert main(args) == 1
    _one_clear_line(caplog, f"model weights {weights} cannot be read", "5000 bytes, its header says", f"REDO={model}")


def test_benchmark_language_without_rows_stops_naming_the_file(tmp_path: Path) -> None:
    from pscale.generate import load_benchmark

    corpus = make_demo_corpus(4, 2, seed=0)["demo_test"]
    files = [tmp_path / "en.parquet", tmp_path / "es.parquet"]
    write_parquet(corpus.filter(pl.col("lang") == "en"), files[0])
    write_parquet(corpus.filter(pl.col("lang") == "xx"), files[1])  # the columns, no row
    with pytest.raises(TableError, match=f"benchmark file {files[1]} has 0 rows"):
        load_benchmark(files)


# ---- receipts: a job asked to redo finished work adopts it; changed inputs or damage recompute -------


def test_a_finished_job_is_adopted_not_redone(translated: dict[str, Path], tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="pscale")
    out = tmp_path / "results" / "data" / "sets" / "grow-x2.parquet"
    assert _parallel_set(translated, out) == 0
    made = out.read_bytes()
    out.unlink()  # what Snakemake does before rerunning a job it saw start but not finish
    caplog.clear()
    assert _parallel_set(translated, out) == 0
    assert "adopted" in caplog.text and "nothing was computed again" in caplog.text, caplog.text
    assert out.read_bytes() == made
    # other options: computed, not adopted
    caplog.clear()
    other = ["parallel-set", "--translated", *map(str, translated.values()), "--x", "2", "--parallel-order", "es",
             "--train-size", "5", "--output", str(out)]  # fmt: skip
    assert main(other) == 0 and "nothing was computed again" not in caplog.text
    assert out.read_bytes() != made
    # an input that changed: computed
    assert _parallel_set(translated, out) == 0  # (back to the first options: their receipt was replaced)
    frame = pl.read_parquet(translated["es"])
    write_parquet(frame.with_columns(pl.col("question") + " ?"), translated["es"])
    caplog.clear()
    assert _parallel_set(translated, out) == 0 and "nothing was computed again" not in caplog.text
    # a damaged output (truncated in place: its kept link is the same file) is not adopted
    out.write_bytes(out.read_bytes()[:100])
    caplog.clear()
    assert _parallel_set(translated, out) == 0 and "nothing was computed again" not in caplog.text
    assert pl.read_parquet(out).height > 0


def test_a_stage_that_read_the_config_file_is_redone_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="pscale")
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.yaml"  # read by default, not named on the command line
    config.write_text(yaml.safe_dump({"data": {"demo": {"n_train": 5, "n_test": 2}}}))
    source = tmp_path / "results" / "data" / "source" / "demo_test.parquet"
    args = ["demo-data", "--datasets", "demo_test", "--source", str(source), "--reference",
            str(tmp_path / "results" / "data" / "reference" / "demo_test.parquet")]  # fmt: skip
    assert main(args) == 0
    source.unlink()
    caplog.clear()
    assert main(args) == 0 and "nothing was computed again" in caplog.text
    config.write_text(yaml.safe_dump({"data": {"demo": {"n_train": 5, "n_test": 3}}}))  # n_test read from it
    caplog.clear()
    assert main(args) == 0 and "nothing was computed again" not in caplog.text
    assert pl.read_parquet(source).height == 3


def test_redo_forgets_the_receipt(translated: dict[str, Path], tmp_path: Path, caplog) -> None:
    from pscale.receipts import main as receipts_main

    caplog.set_level(logging.INFO, logger="pscale")
    out = tmp_path / "results" / "data" / "sets" / "grow-x2.parquet"
    assert _parallel_set(translated, out) == 0
    assert receipts_main(["--forget", str(out)]) == 0
    out.unlink()
    caplog.clear()
    assert _parallel_set(translated, out) == 0 and "nothing was computed again" not in caplog.text


# ---- checkpoints: a save cut off by a kill is moved aside, training resumes from the one before --------


ARCH = {**TINY_ARCH, "pretrain_steps": 3, "sft_steps": 5}


def test_checkpoint_cut_off_mid_save_resumes_from_the_previous_one(tmp_path: Path, prompt_file: Path, caplog) -> None:
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    from pscale.model_init import init_model
    from pscale.train import checkpoint_problem, train_grpo

    corpus = make_demo_corpus(30, 2, seed=3)["demo_train"]
    files = []
    for lang in ("en", "es"):
        files.append(tmp_path / f"{lang}.parquet")
        corpus.filter(pl.col("lang") == lang).write_parquet(files[-1])
    init = tmp_path / "init"
    init_model(files, files[0], prompt_file, init, ARCH, threads=2)
    train_set = tmp_path / "set.parquet"
    pl.concat(pl.read_parquet(f).head(8) for f in files).write_parquet(train_set)
    options = {"max_steps": 4, "per_device_train_batch_size": 4, "num_generations": 4, "max_completion_length": 12,
               "learning_rate": 1e-3, "logging_steps": 1, "save_steps": 1, "seed": 0}  # fmt: skip
    weights, langs = {"accuracy": 0.8, "format": 0.1, "language": 0.1}, ["en", "es"]

    class Killed(Exception):
        pass

    class KillAfterSave(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step >= 3:
                raise Killed

    reference = tmp_path / "reference"
    train_grpo(str(init), train_set, prompt_file, reference, tmp_path / "work-ref", options, weights, langs)

    out, work = tmp_path / "model", tmp_path / "work"
    with pytest.raises(Killed):
        train_grpo(str(init), train_set, prompt_file, out, work, options, weights, langs, callbacks=[KillAfterSave()])
    assert sorted(p.name for p in work.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-3"]
    # What a kill during the save of checkpoint-3 leaves: the config, and a weights file cut off.
    cut = work / "checkpoint-3"
    weights_file = (cut / "model.safetensors").read_bytes()
    for path in cut.iterdir():
        if path.name != "config.json":
            path.unlink()
    (cut / "model.safetensors.tmp").write_bytes(weights_file[: len(weights_file) // 3])
    assert checkpoint_problem(cut) == "trainer_state.json missing or cut off"
    (cut / "trainer_state.json").write_text((work / "checkpoint-2" / "trainer_state.json").read_text())
    (cut / "model.safetensors").write_bytes(weights_file[:-100])
    assert checkpoint_problem(cut) == "model.safetensors missing or cut off"
    assert checkpoint_problem(work / "checkpoint-2") is None

    caplog.clear()
    caplog.set_level("INFO")
    train_grpo(str(init), train_set, prompt_file, out, work, options, weights, langs)
    assert "checkpoint-3 is incomplete" in caplog.text and "resuming from" in caplog.text
    assert str(work / "checkpoint-2") in caplog.text
    resumed, uninterrupted = load_file(out / "model.safetensors"), load_file(reference / "model.safetensors")
    assert resumed.keys() == uninterrupted.keys()
    assert all((resumed[k] == uninterrupted[k]).all() for k in resumed)  # bit-identical weights
    history = json.loads((out / "log_history.json").read_text())
    full = json.loads((reference / "log_history.json").read_text())
    assert [h["step"] for h in history if "loss" in h] == [1, 2, 3, 4]
    assert history[-1]["resumed_from_step"] == 2
    assert history[-1]["train_loss"] == pytest.approx(full[-1]["train_loss"], rel=1e-4, abs=1e-6)
    assert not work.exists() and not list(tmp_path.glob(".model.saving"))


# ---- the pipeline: kill -9 of Snakemake and of a job, a truncated file, a typo -- then `make run` ---------


SNAKEMAKE = [sys.executable, "-m", "snakemake", "--cores", "2"]


def _workdir(root: Path, repo: Path, config: dict) -> Path:
    root.mkdir(parents=True)
    for name in ("Snakefile", "workflow", "resources", "envs"):
        src = repo / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return root


def _snakemake(workdir: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True, timeout=timeout)


def _resume(workdir: Path) -> subprocess.CompletedProcess:
    """What `make run` does: clear a stale lock (never a live one), then run with --rerun-incomplete."""
    check = subprocess.run([sys.executable, "-m", "pscale.snakelock"], cwd=workdir, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    return _snakemake(workdir, "--rerun-incomplete")


def _outputs(workdir: Path) -> dict[str, object]:
    """Every result that must not depend on interruptions: tables by content, models by weights."""
    found: dict[str, object] = {}
    results = workdir / "results"
    for path in sorted(results.rglob("*")):
        rel = str(path.relative_to(results))
        if rel.startswith(("logs", "work", "figures", "translation/usage")) or not path.is_file():
            continue
        if path.suffix == ".parquet":
            found[rel] = pl.read_parquet(path)
        elif path.name == "log_history.json":  # all but timings and the summary (its timing is per session)
            found[rel] = [
                {k: v for k, v in h.items() if k != "step_time"}
                for h in json.loads(path.read_text())
                if not any(k.startswith("train_runtime") for k in h)
            ]
        elif path.suffix in (".safetensors", ".csv", ".json"):
            found[rel] = path.read_bytes()
    return found


def _assert_same(resumed: dict[str, object], reference: dict[str, object]) -> None:
    assert resumed.keys() == reference.keys()
    for key, value in reference.items():
        other = resumed[key]
        same = other.equals(value) if isinstance(value, pl.DataFrame) else other == value
        assert same, f"{key} differs from the uninterrupted run's:\n{other}\n{value}"


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _jobs(workdir: Path, stage: str) -> list[int]:
    return [p.pid for p in live_processes(workdir) if f" {stage} " in f"{p.command} " and "snakemake" not in p.command]


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, repo: Path) -> tuple[Path, dict[str, object]]:
    """The uninterrupted run everything is compared with."""
    workdir = _workdir(tmp_path_factory.mktemp("faults") / "reference", repo, TINY)
    result = _snakemake(workdir)
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir, _outputs(workdir)


@pytest.mark.slow
def test_kill9_of_snakemake_and_of_a_job_then_make_run_resumes_losing_nothing(
    reference_run: tuple[Path, dict[str, object]], tmp_path: Path, repo: Path
) -> None:
    workdir = _workdir(tmp_path / "faulty", repo, TINY)
    run = subprocess.Popen([*SNAKEMAKE], cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # 1. kill -9 Snakemake while GRPO is training: its jobs run on as orphans, its lock stays.
        _wait_for(lambda: _jobs(workdir, "train"), 300, "a training job")
        run.send_signal(signal.SIGKILL)
        run.wait(10)
    finally:
        run.kill()
    orphans = _jobs(workdir, "train")
    assert orphans and lock_files(workdir)
    # A run started now would race the orphans on the same files: refused, nothing touched.
    refused = subprocess.run([sys.executable, "-m", "pscale.snakelock"], cwd=workdir, capture_output=True, text=True)
    assert refused.returncode == 1 and str(orphans[0]) in refused.stderr and "Nothing was changed" in refused.stderr
    assert lock_files(workdir)
    for process in live_processes(workdir):  # the operator stops them (this test's own processes)
        os.kill(process.pid, signal.SIGKILL)
    _wait_for(lambda: not live_processes(workdir), 30, "the orphans to exit")
    models = workdir / "results" / "models" / "tiny"
    finished = {p: p.stat().st_mtime_ns for p in models.glob("*/model.safetensors")}
    assert models / "init" / "model.safetensors" in finished

    # 2. `make run` again, and kill -9 one generation job while Snakemake is alive.
    unlocked = subprocess.run([sys.executable, "-m", "pscale.snakelock"], cwd=workdir, capture_output=True, text=True)
    assert unlocked.returncode == 0 and "Removing the stale lock" in unlocked.stderr, unlocked.stderr
    assert not lock_files(workdir)
    run = subprocess.Popen([*SNAKEMAKE, "--rerun-incomplete"], cwd=workdir, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait_for(lambda: _jobs(workdir, "generate"), 300, "a generation job")
        for pid in _jobs(workdir, "generate")[:1]:
            os.kill(pid, signal.SIGKILL)
        assert run.wait(300) != 0  # the killed job failed the run
    finally:
        run.kill()

    # 3. `make run` once more finishes the study.
    result = _resume(workdir)
    assert result.returncode == 0, result.stderr[-4000:]
    _assert_same(_outputs(workdir), reference_run[1])
    for path, mtime in finished.items():  # models finished before a fault were kept, not redone
        assert path.stat().st_mtime_ns == mtime, f"{path} was deleted and made again"


@pytest.mark.slow
def test_orphans_that_finish_after_snakemake_died_are_adopted_not_retrained(
    reference_run: tuple[Path, dict[str, object]], tmp_path: Path, repo: Path
) -> None:
    """kill -9 of Snakemake mid-GRPO (paper-shaped training, PAPER_LIKE_GRPO): its training jobs
    finish as orphans; the next `make run` sees their outputs marked incomplete ("Forced
    execution"), and each job adopts its finished model from its receipt: no step is trained twice."""
    workdir = _workdir(tmp_path / "orphans", repo, TINY)
    run = subprocess.Popen([*SNAKEMAKE], cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _jobs(workdir, "train"), 300, "a training job")
        run.send_signal(signal.SIGKILL)
        run.wait(10)
    finally:
        run.kill()
    orphans = [p.command.split("--output ", 1)[1].split()[0] for p in live_processes(workdir) if " train " in p.command]
    _wait_for(lambda: not live_processes(workdir), 300, "the orphaned jobs to finish")
    trained = [workdir / output / "model.safetensors" for output in set(orphans)]
    assert trained and all(p.exists() for p in trained), "the orphans did not finish their models"
    finished = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in trained}
    logs = {p: (workdir / "results/logs/train/tiny" / f"{p.parent.name}.log").read_text() for p in trained}

    result = _resume(workdir)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Forced execution" in result.stdout + result.stderr  # Snakemake deleted and reran them
    for path, (mtime, inode) in finished.items():
        log = (workdir / "results/logs/train/tiny" / f"{path.parent.name}.log").read_text()
        assert "adopted" in log and "nothing was computed again" in log, log[-2000:]
        assert "'loss'" not in log and log != logs[path]  # no training step ran in the second job
        assert (path.stat().st_mtime_ns, path.stat().st_ino) == (mtime, inode), f"{path} was trained again"
        steps = [e["step"] for e in json.loads((path.parent / "log_history.json").read_text()) if "loss" in e]
        assert steps == list(range(1, len(steps) + 1)) and steps, steps  # each step once, in the orphan
    _assert_same(_outputs(workdir), reference_run[1])


@pytest.mark.slow
def test_truncated_and_null_inputs_in_the_pipeline_are_named_then_redone(
    reference_run: tuple[Path, dict[str, object]],
) -> None:
    workdir, reference = reference_run
    results = workdir / "results"
    generations = results / "eval" / "generations" / "tiny" / "init" / "demo_test.parquet"
    data = generations.read_bytes()
    generations.write_bytes(data[: len(data) // 2])  # newer than its scores: Snakemake re-scores it
    result = _snakemake(workdir)
    assert result.returncode != 0
    log = (results / "logs" / "score" / "tiny" / "init" / "demo_test.log").read_text()
    assert f"{generations.relative_to(workdir)} cannot be read" in log and "Traceback" not in log

    benchmark = results / "data" / "translated" / "demo_test" / "es.parquet"
    frame = pl.read_parquet(benchmark)
    frame.with_columns(pl.lit(None, dtype=pl.String).alias("answer")).write_parquet(benchmark)
    result = _snakemake(workdir, "--keep-going")
    assert result.returncode != 0
    log = (results / "logs" / "generate" / "tiny" / "init.log").read_text()  # one job for every benchmark
    assert f"{benchmark.relative_to(workdir)}: column 'answer' is null or empty in 4 row(s), first at row 0" in log

    assert f"make run REDO={benchmark.relative_to(workdir)}" in log
    # The fix the messages ask for: `make run REDO="<files>"` (Snakemake alone would not remake a
    # missing intermediate file whose downstream results look up to date).
    check = subprocess.run([sys.executable, "-m", "pscale.snakelock"], cwd=workdir, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    redo = [str(p.relative_to(workdir)) for p in (generations, benchmark)]
    result = _snakemake(workdir, "--rerun-incomplete", "--forcerun", *redo)
    assert result.returncode == 0, result.stderr[-4000:]
    _assert_same(_outputs(workdir), reference)


@pytest.mark.slow
def test_trl_typo_stops_before_any_job_and_deletes_no_model(reference_run: tuple[Path, dict[str, object]]) -> None:
    workdir, _ = reference_run
    models = workdir / "results" / "models" / "tiny"
    before = {p: p.stat().st_mtime_ns for p in models.rglob("*") if p.is_file()}
    typo = json.loads(json.dumps(TINY))
    typo["training"]["grpo"]["num_train_epoch"] = typo["training"]["grpo"].pop("num_train_epochs")
    (workdir / "config.yaml").write_text(yaml.safe_dump(typo))
    try:
        start = time.monotonic()
        result = _snakemake(workdir)
        assert result.returncode != 0 and time.monotonic() - start < 60
        assert (
            "'training.grpo.num_train_epoch': not an argument of trl.GRPOConfig; did you mean 'num_train_epochs'?"
            in (result.stdout + result.stderr)
        )
        assert {p: p.stat().st_mtime_ns for p in models.rglob("*") if p.is_file()} == before
    finally:
        (workdir / "config.yaml").write_text(yaml.safe_dump(TINY))
    # The typo recorded nothing: with it fixed there is nothing to redo.
    assert "Nothing to be done" in _snakemake(workdir, "-n").stdout


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_dead_translation_endpoint_stops_within_a_minute_naming_base_url(tmp_path: Path, repo: Path) -> None:
    base_url = f"http://127.0.0.1:{_closed_port()}/v1"
    config = {**TINY, "translation": {"backend": "openai", "openai": {"base_url": base_url}}}
    workdir = _workdir(tmp_path / "dead", repo, config)
    start = time.monotonic()
    result = subprocess.run(
        [*SNAKEMAKE, "results/data/translated/demo_test/es.parquet"], cwd=workdir, capture_output=True, text=True,
        timeout=300, env={**os.environ, "OPENAI_API_KEY": "sk-fault-test"},
    )  # fmt: skip
    assert result.returncode != 0 and time.monotonic() - start < 60
    log = (workdir / "results" / "logs" / "translate" / "demo_test.log").read_text()
    error = [line for line in log.splitlines() if "cannot reach the translation API" in line]
    assert len(error) == 1 and base_url in error[0] and "connection refused" in error[0], log[-3000:]
    history = json.loads((workdir / "results" / "translation" / "usage" / "demo_test.history.json").read_text())
    assert history["runs"][-1]["outcome"].startswith("failed") and history["totals"]["http_requests"] >= 4
    assert not (workdir / "results" / "data" / "translated" / "demo_test").exists() or not any(
        (workdir / "results" / "data" / "translated" / "demo_test").iterdir()
    )
