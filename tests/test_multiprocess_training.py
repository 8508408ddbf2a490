"""Training under `accelerate launch` with two processes (CPU, gloo): the multi-GPU save path.

Every rank runs pscale's training code; only the main process may move folders, write the
tokenizer and log, and delete the checkpoints, and only after the others have finished
saving. The test kills a launch mid-way (SIGKILL to the launcher and both ranks, as Slurm does
at a time limit), launches it again and checks that it resumed and tidied up.

Two processes, really: `accelerate launch --cpu --num_processes 2` starts ONE process (its
`--cpu` path is the simple launcher, which starts several only through mpirun with
`--mpirun_hostfile`; a config file with `distributed_type: MULTI_CPU` takes the same path).
`--multi_gpu` is the launcher that starts one process per rank (torch.distributed.run, as the
DeepSpeed launch of common.smk does); with CUDA hidden the ranks train on the CPU, and
Accelerate, told `use_cpu` by pscale.runtime.training_precision, joins them with gloo. The test
checks that two ranks ran as one group: each rank's RNG file in the checkpoint
(`rng_state_<rank>.pth`, written only when the trainer's world size is above 1) and two
worker processes with RANK 0 and 1.
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
from helpers import TINY_ARCH, process_tree, rank_pids, train_cli_args

from pscale.data.demo import make_demo_corpus
from pscale.languages import STUDY_LANGUAGES
from pscale.model_init import init_model

OPTIONS = {
    "grpo": {
        "max_steps": 8,
        "per_device_train_batch_size": 4,
        "num_generations": 4,
        "max_completion_length": 16,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "save_steps": 2,
        "seed": 0,
    },
    "reward_weights": {"accuracy": 0.8, "format": 0.1, "language": 0.1},
}

LAUNCHER = shutil.which("accelerate", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
pytestmark = pytest.mark.skipif(
    LAUNCHER is None or not sys.platform.startswith("linux"), reason="needs accelerate's launcher and Linux /proc"
)


def _launch(args: list[str], log: Path) -> subprocess.Popen:
    # CUDA hidden: CPU ranks (gloo) on a GPU machine too, where --multi_gpu would otherwise use NCCL.
    # ACCELERATE_TORCH_DEVICE=cpu: Accelerate gives each CPU rank the device `cpu:<rank>`, and
    # Trainer, with more than one rank, loads the optimizer state with that as map_location,
    # which torch.load refuses ("don't know how to restore data location ... cpu:0"), so a
    # resume fails on CPU ranks only (GPU ranks get cuda:<rank>, which torch.load accepts).
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "CUDA_VISIBLE_DEVICES": "",
        "ACCELERATE_TORCH_DEVICE": "cpu",
    }
    cmd = [
        str(LAUNCHER),
        "launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        "0",
        "-m",
        "pscale.cli",
        *args,
    ]
    with open(log, "w") as handle:
        return subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _kill_all(process: subprocess.Popen) -> None:
    """SIGKILL to the launcher and every process under it, as Slurm kills a job's cgroup."""
    pids = process_tree(process.pid)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in pids[1:]) and time.monotonic() < deadline:
        time.sleep(0.1)


def test_two_process_training_saves_once_resumes_and_tidies(prompt_file: Path, tmp_path: Path) -> None:
    corpus = make_demo_corpus(40, 2, seed=3)["demo_train"]
    files = []
    for lang in STUDY_LANGUAGES:
        files.append(tmp_path / "corpus" / f"{lang}.parquet")
        files[-1].parent.mkdir(exist_ok=True)
        corpus.filter(pl.col("lang") == lang).write_parquet(files[-1])
    init = tmp_path / "init"
    init_model(files, files[0].with_name("en.parquet"), prompt_file, init, TINY_ARCH, threads=1)
    train_set = tmp_path / "set.parquet"
    corpus.filter(pl.col("lang").is_in(["en", "es"])).head(16).write_parquet(train_set)
    out, work = tmp_path / "model", tmp_path / "work"
    args = train_cli_args(init, train_set, prompt_file, out, work, OPTIONS, "en,es")

    # First launch: killed (launcher and both ranks) once checkpoint-2 is complete, RNG files included.
    first_log = tmp_path / "first.log"
    first = _launch(args, first_log)
    checkpoint = work / "checkpoint-2"
    ranks: dict[int, int] = {}
    try:
        deadline = time.monotonic() + 240
        while not (
            (checkpoint / "trainer_state.json").exists()
            and ((checkpoint / "rng_state_1.pth").exists() or (checkpoint / "rng_state.pth").exists())
        ):
            assert first.poll() is None, first_log.read_text()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint within 4 minutes"
            ranks = rank_pids(first.pid) or ranks
            time.sleep(0.1)
        ranks = rank_pids(first.pid) or ranks
    finally:
        _kill_all(first)
    assert set(ranks) == {0, 1}, f"two worker processes, RANK 0 and 1, expected: {ranks}"
    rng_files = sorted(p.name for p in checkpoint.glob("rng_state*.pth"))
    assert rng_files == ["rng_state_0.pth", "rng_state_1.pth"], (
        f"the trainer ran with world size 1, not 2 ranks in one group: {rng_files}\n{first_log.read_text()[-3000:]}"
    )
    assert not out.exists(), "the first launch finished before it could be killed; make it longer"

    # Second launch: both ranks resume from the newest complete checkpoint, the model is saved
    # once, and the checkpoints are removed.
    second_log = tmp_path / "second.log"
    second = _launch(args, second_log)
    try:
        code = second.wait(timeout=300)
    finally:
        if second.poll() is None:
            _kill_all(second)
    text = second_log.read_text()
    assert code == 0, text[-3000:]
    resumed = re.findall(r"resuming from \S*checkpoint-(\d+)", text)
    assert len(resumed) == 2 and len(set(resumed)) == 1, f"both ranks resume, from one checkpoint: {resumed}"
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    history = json.loads((out / "log_history.json").read_text())
    assert history[-1]["step"] == 8 and history[-1]["resumed_from_step"] == int(resumed[0]) >= 2
    assert not work.exists(), "checkpoints are removed once the model is saved"
    assert not list(tmp_path.glob(".model.saving*")), "no staging folder left behind"
