"""Training under `accelerate launch` with two processes (CPU, gloo): the multi-GPU save path.

Every rank runs pscale's training code; only the main process may move folders, write the
tokenizer and log, and delete the checkpoints, and only after the others have finished
saving. The test kills a launch mid-way (SIGKILL to the whole process group, as Slurm does at a
time limit), launches it again and checks that it resumed and tidied up.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from pscale.data.demo import make_demo_corpus
from pscale.languages import STUDY_LANGUAGES
from pscale.model_init import init_model

ARCH = {
    "vocab_size": 600, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
    "num_attention_heads": 2, "num_key_value_heads": 1, "pretrain_steps": 2, "sft_steps": 2,
    "sft_learning_rate": 3e-3, "sft_batch_size": 8, "seed": 0,
}
OPTIONS = {
    "grpo": {"max_steps": 6, "per_device_train_batch_size": 4, "num_generations": 4, "max_completion_length": 16,
             "learning_rate": 1e-3, "logging_steps": 1, "save_steps": 2, "seed": 0},
    "reward_weights": {"accuracy": 0.8, "format": 0.1, "language": 0.1},
}

LAUNCHER = shutil.which("accelerate", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
pytestmark = pytest.mark.skipif(LAUNCHER is None, reason="accelerate's launcher is not installed")


def _launch(args: list[str], log: Path) -> subprocess.Popen:
    launcher = str(LAUNCHER)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [launcher, "launch", "--num_processes", "2", "--cpu", "--main_process_port", "0", "-m", "pscale.cli", *args]
    with open(log, "w") as handle:
        return subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def test_two_process_training_saves_once_resumes_and_tidies(prompt_file: Path, tmp_path: Path) -> None:
    corpus = make_demo_corpus(40, 2, seed=3)["demo_train"]
    files = []
    for lang in STUDY_LANGUAGES:
        files.append(tmp_path / "corpus" / f"{lang}.parquet")
        files[-1].parent.mkdir(exist_ok=True)
        corpus.filter(pl.col("lang") == lang).write_parquet(files[-1])
    init = tmp_path / "init"
    init_model(files, files[0].with_name("en.parquet"), prompt_file, init, ARCH, threads=1)
    train_set = tmp_path / "set.parquet"
    corpus.filter(pl.col("lang").is_in(["en", "es"])).head(16).write_parquet(train_set)
    out, work = tmp_path / "model", tmp_path / "work"
    args = ["train", "--method", "grpo", "--model", str(init), "--train-set", str(train_set),
            "--prompts", str(prompt_file), "--output", str(out), "--work-dir", str(work),
            "--languages", "en,es", "--options", json.dumps(OPTIONS)]

    # First launch: killed (both ranks and the launcher) once a checkpoint is complete.
    first = _launch(args, tmp_path / "first.log")
    deadline = time.monotonic() + 240
    while not (work / "checkpoint-2" / "trainer_state.json").exists():
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "no checkpoint within 4 minutes"
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert not out.exists(), "the first launch finished before it could be killed; make it longer"

    # Second launch: resumes from the newest complete checkpoint, saves once, removes the checkpoints.
    second = _launch(args, tmp_path / "second.log")
    assert second.wait(timeout=300) == 0, (tmp_path / "second.log").read_text()[-3000:]
    text = (tmp_path / "second.log").read_text()
    assert "resuming from" in text and "checkpoint-" in text
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    history = json.loads((out / "log_history.json").read_text())
    assert history[-1]["step"] == 6 and history[-1]["resumed_from_step"] >= 2
    assert not work.exists(), "checkpoints are removed once the model is saved"
    assert not list(tmp_path.glob(".model.saving*")), "no staging folder left behind"
