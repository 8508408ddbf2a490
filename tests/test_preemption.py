"""A training run told that its time is up saves a checkpoint, stops with exit status 75, and resumes.

Slurm sends the warning signal before the time limit (slurm/config.yaml: `--signal=URG@...`);
here the signal comes from the test, to a run in this process, to `pscale train` in a
subprocess, and to one rank of a two-process `accelerate launch` (both ranks must stop at the
same step). The same under a real Slurm time limit: tests/test_slurm.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from helpers import TINY_ARCH, rank_pids, train_cli_args

from pscale.data.demo import make_demo_corpus
from pscale.languages import STUDY_LANGUAGES
from pscale.model_init import init_model
from pscale.train import checkpoint_problem

GRPO = {
    "per_device_train_batch_size": 4,
    "num_generations": 4,
    "max_completion_length": 8,
    "learning_rate": 1e-3,
    "logging_steps": 1,
    "save_steps": 100000,
    "seed": 0,
}
REWARDS = {"accuracy": 0.8, "format": 0.1, "language": 0.1}
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def tiny(prompt_file: Path, tmp_path_factory) -> tuple[Path, Path]:
    """A tiny initial model and a 16-row training set (en + es)."""
    root = tmp_path_factory.mktemp("preemption")
    corpus = make_demo_corpus(40, 2, seed=3)["demo_train"]
    files = []
    for lang in STUDY_LANGUAGES:
        files.append(root / "corpus" / f"{lang}.parquet")
        files[-1].parent.mkdir(exist_ok=True)
        corpus.filter(pl.col("lang") == lang).write_parquet(files[-1])
    init_model(files, root / "corpus" / "en.parquet", prompt_file, root / "init", TINY_ARCH, threads=1)
    train_set = root / "set.parquet"
    corpus.filter(pl.col("lang").is_in(["en", "es"])).head(16).write_parquet(train_set)
    return root / "init", train_set


def _checkpoint_steps(work: Path) -> list[int]:
    return sorted(int(p.name.split("-")[1]) for p in work.glob("checkpoint-*"))


def test_signal_saves_stops_and_the_next_run_resumes(tiny, prompt_file: Path, tmp_path: Path) -> None:
    from transformers import TrainerCallback

    from pscale.preemption import EXIT_STOPPED, TrainingStopped
    from pscale.train import train_grpo

    class SignalAtStep(TrainerCallback):  # the scheduler's warning, arriving during step 3
        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step == 2:
                os.kill(os.getpid(), signal.SIGURG)

    init, train_set = tiny
    out, work = tmp_path / "model", tmp_path / "work"
    options = {**GRPO, "max_steps": 6}
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGURG, signal.SIGUSR1, signal.SIGTERM)}
    with pytest.raises(TrainingStopped) as stopped:
        train_grpo(
            str(init), train_set, prompt_file, out, work, options, REWARDS, ["en", "es"], callbacks=[SignalAtStep()]
        )
    assert stopped.value.code == EXIT_STOPPED == 75
    assert {sig: signal.getsignal(sig) for sig in before} == before, "the previous handlers are back"
    assert not out.exists(), "a stopped run must not leave a final model"
    assert _checkpoint_steps(work) == [3], "one checkpoint, at the end of the step the signal came in"
    assert checkpoint_problem(work / "checkpoint-3") is None

    # The retry: same settings, no signal; resumes at step 3 and finishes.
    train_grpo(str(init), train_set, prompt_file, out, work, options, REWARDS, ["en", "es"])
    history = json.loads((out / "log_history.json").read_text())
    assert history[-1]["step"] == 6 and history[-1]["resumed_from_step"] == 3
    assert [h["step"] for h in history if "loss" in h] == [1, 2, 3, 4, 5, 6]
    assert not work.exists()


def _train_args(init: Path, train_set: Path, prompt_file: Path, out: Path, work: Path, steps: int) -> list[str]:
    options = {"grpo": {**GRPO, "max_steps": steps}, "reward_weights": REWARDS}
    return train_cli_args(init, train_set, prompt_file, out, work, options, "en,es")


def _wait_for_step(log: Path, process: subprocess.Popen, steps: int, at_least: int, timeout: float = 120) -> None:
    """Until the progress bar in `log` has passed `at_least` steps (the trainer is training)."""
    deadline = time.monotonic() + timeout
    while True:
        done = [int(n) for n in re.findall(rf"(\d+)/{steps} \[", log.read_text(errors="replace"))]
        if done and max(done) >= at_least:
            return
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"no training step within {timeout} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.1)


def test_pscale_train_exits_75_on_sigterm_with_a_checkpoint(tiny, prompt_file: Path, tmp_path: Path) -> None:
    init, train_set = tiny
    out, work, log = tmp_path / "model", tmp_path / "work", tmp_path / "train.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "pscale.cli", *_train_args(init, train_set, prompt_file, out, work, 100000)]
    with open(log, "w") as handle:
        process = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_for_step(log, process, 100000, at_least=2)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    text = log.read_text()
    assert code == 75, text[-3000:]
    assert "SIGTERM received: saving a checkpoint at step" in text
    assert "Traceback" not in text
    (step,) = _checkpoint_steps(work)
    assert step >= 2 and checkpoint_problem(work / f"checkpoint-{step}") is None
    assert f"training stopped at step {step} of 100000" in text
    assert not out.exists()


# torchrun, not `accelerate launch --cpu`: Accelerate starts a single process for --cpu (it expects
# mpirun for several CPU processes); torchrun starts two, and Accelerate inside sets up gloo.
LAUNCHER = shutil.which("torchrun", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.mark.skipif(LAUNCHER is None or not sys.platform.startswith("linux"), reason="needs torchrun, Linux /proc")
def test_ranks_agree_on_the_step_when_only_one_is_signalled(tiny, prompt_file: Path, tmp_path: Path) -> None:
    init, train_set = tiny
    out, work, log = tmp_path / "model", tmp_path / "work", tmp_path / "launch.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [
        str(LAUNCHER),
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "pscale.cli",
        *_train_args(init, train_set, prompt_file, out, work, 100000),
    ]
    with open(log, "w") as handle:
        process = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        _wait_for_step(log, process, 100000, at_least=2, timeout=240)
        ranks = rank_pids(process.pid)
        assert set(ranks) == {0, 1}, ranks
        os.kill(ranks[1], signal.SIGURG)  # rank 1 alone: rank 0 must stop at the same step
        code = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = log.read_text()
    assert code != 0, text[-3000:]
    (step,) = _checkpoint_steps(work)
    assert checkpoint_problem(work / f"checkpoint-{step}") is None
    assert json.loads((work / f"checkpoint-{step}" / "trainer_state.json").read_text())["global_step"] == step
    assert "SIGURG received: saving a checkpoint at step" in text
    assert f"another rank was signalled: saving a checkpoint at step {step}" in text
    assert len(re.findall(rf"training stopped at step {step} of 100000", text)) == 2, text[-3000:]
    assert not out.exists()
