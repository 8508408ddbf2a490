"""The Slurm profiles: what `snakemake --profile slurm` asks of a cluster, and a real run.

Fast tests (no Slurm needed) dry-run `snakemake --profile slurm` in a copy of the workflow,
the way a user types it at the repository root, and check the resources every rule gets.

The slow test proves the profile machinery on a real Slurm: `scripts/slurm_local.sh setup`
installs Debian's Slurm and munge and starts a one-node cluster on 127.0.0.1, `run-pipeline`
runs a small configuration of the pipeline through the slurm executor (profile `slurm/ci`),
and `teardown` stops exactly the daemons setup started. It runs only as root on Linux with
apt-get (CI), never over a real cluster's /etc/slurm/slurm.conf; PSCALE_SLURM_TEST=0 skips it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "slurm_local.sh"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
GPU_RULES = ("train_grpo", "generate")
CPU_RULES = ("demo_data", "parallel_set", "init_model", "score", "tables", "fit_scaling_law", "figures")
SLURM_RULES = (*GPU_RULES, *CPU_RULES)  # translate (a localrule) and all run next to Snakemake

# Snakemake asks conda for these three things in a dry run with `software-deployment-method: conda`.
FAKE_CONDA = """#!/bin/sh
case "$*" in
  "info --json") echo '{"conda_prefix": "/nonexistent/conda", "platform": "linux-64"}' ;;
  --version) echo "conda 25.1.1" ;;
  "config --get channel_priority --json") echo '{"get": {"channel_priority": "strict"}}' ;;
  *) echo "fake conda (dry runs only): $*" >&2; exit 1 ;;
esac
"""


def copy_workflow(dest: Path) -> Path:
    for name in ("Snakefile", "config.yaml", "workflow", "resources", "envs", "slurm"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / name)
    return dest


def env_with_venv(extra_path: Path | None = None) -> dict[str, str]:
    """The caller's environment with this interpreter's bin dir first on PATH (`pscale`)."""
    env = dict(os.environ)
    dirs = [str(Path(sys.executable).parent)]
    if extra_path is not None:
        dirs.insert(0, str(extra_path))
    env["PATH"] = os.pathsep.join([*dirs, env.get("PATH", "")])
    return env


def rule_blocks(output: str) -> dict[str, list[str]]:
    """Rule name -> the 'resources:' lines of its jobs in a dry run's listing."""
    blocks: dict[str, list[str]] = {}
    rule = None
    for line in output.splitlines():
        match = re.match(r"^(?:local)?rule (\w+):$", line)
        if match:
            rule = match[1]
            blocks.setdefault(rule, [])
        elif rule and line.strip().startswith(("resources:", "threads:")):
            blocks[rule].append(line.strip())
    return blocks


def resources_of(line: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in line.removeprefix("resources:").strip().split(", ") if "=" in item)


# ---------------------------------------------------------------- the profiles' content


def test_cluster_profile_declares_what_the_issue_asks() -> None:
    profile = yaml.safe_load((REPO / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert profile["software-deployment-method"] == "conda"
    assert profile["retries"] >= 1
    assert profile["rerun-incomplete"] is True
    assert profile["slurm-keep-successful-logs"] is True
    assert not str(profile["slurm-logdir"]).startswith("results")
    for rule in GPU_RULES:
        resources = profile["set-resources"][rule]
        assert resources["gpu"] == 1
        assert {"cpus_per_gpu", "mem_mb", "runtime", "slurm_partition"} <= set(resources)
    for rule in CPU_RULES:
        assert not profile["set-resources"][rule].get("gpu")
    text = (REPO / "slurm" / "config.yaml").read_text()
    assert "slurm_account" in text and "set yours here" in text


def test_ci_profile_fits_the_local_cluster() -> None:
    profile = yaml.safe_load((REPO / "slurm" / "ci" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert "software-deployment-method" not in profile  # conda channels are unreachable in CI
    assert profile["slurm-status-command"] == "squeue"  # no slurmdbd: sacct would hang the plugin
    assert profile["slurm-init-seconds-before-status-checks"] <= 5
    assert profile["default-resources"]["slurm_partition"] == "debug"
    for rule in GPU_RULES:
        assert profile["set-resources"][rule]["gpu"] == 0


# ---------------------------------------------------------------- `snakemake --profile slurm -n`


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> str:
    """`snakemake --profile slurm -n` typed at the root of a copy of the repository."""
    work = copy_workflow(tmp_path_factory.mktemp("slurm-profile"))
    bin_dir = None
    if shutil.which("conda") is None:  # the profile deploys conda envs; a dry run only asks conda's version
        bin_dir = tmp_path_factory.mktemp("fake-conda-bin")
        (bin_dir / "conda").write_text(FAKE_CONDA)
        (bin_dir / "conda").chmod(0o755)
    # --cores: a dry run caps threads at the local cores; a cluster run does not
    result = subprocess.run(
        [*SNAKEMAKE, "--profile", "slurm", "-n", "--cores", "64"],
        cwd=work,
        env=env_with_venv(bin_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Using profile slurm" in output
    return output


def test_dry_run_lists_every_rule(dry_run: str) -> None:
    blocks = rule_blocks(dry_run)
    assert set(SLURM_RULES) <= set(blocks), sorted(blocks)


def test_gpu_rules_ask_for_a_gpu(dry_run: str) -> None:
    blocks = rule_blocks(dry_run)
    for rule in GPU_RULES:
        lines = [line for line in blocks[rule] if line.startswith("resources:")]
        assert lines
        for line in lines:
            resources = resources_of(line)
            assert resources["gpu"] == "1", (rule, line)
            assert resources["slurm_partition"] == "gpu", (rule, line)
            assert int(resources["cpus_per_gpu"]) >= 1
            assert int(resources["mem_mb"]) >= 32000
            assert int(resources["runtime"]) >= 120
        assert "threads: 8" in blocks[rule], (rule, blocks[rule][:2])


def test_cpu_rules_stay_small(dry_run: str) -> None:
    blocks = rule_blocks(dry_run)
    for rule in CPU_RULES:
        for line in blocks[rule]:
            if not line.startswith("resources:"):
                continue
            resources = resources_of(line)
            assert resources.get("gpu", "0") == "0", (rule, line)
            assert "cpus_per_gpu" not in resources
            assert int(resources["mem_mb"]) <= 16000, (rule, line)
            assert int(resources["runtime"]) <= 240, (rule, line)


# ---------------------------------------------------------------- a real Slurm (CI)


def _slurm_test_skip_reason() -> str | None:
    if os.environ.get("PSCALE_SLURM_TEST") == "0":
        return "PSCALE_SLURM_TEST=0"
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "needs root on Linux (installs Slurm with apt-get, starts its daemons)"
    if shutil.which("apt-get") is None:
        return "needs apt-get (Debian/Ubuntu)"
    conf = Path("/etc/slurm/slurm.conf")
    if conf.exists() and "slurm_local" not in conf.read_text().partition("\n")[0]:
        return "a real Slurm configuration exists (/etc/slurm/slurm.conf): not touching it"
    return None


def _script(command: str, env: dict[str, str], timeout: int) -> subprocess.CompletedProcess:
    """Run scripts/slurm_local.sh in its own process group; on timeout kill that group."""
    process = subprocess.Popen(
        ["bash", str(SCRIPT), command],
        env=env,
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)  # snakemake cancels its Slurm jobs on SIGINT
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        pytest.fail(f"slurm_local.sh {command} timed out after {timeout}s:\n{output[-4000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, output, "")


def _running(pid: int, name: str) -> bool:
    """PID runs (not a zombie) and is still the daemon `name` (not a reused PID)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    comm, state = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2]
    return comm == name and state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(_slurm_test_skip_reason() is not None, reason=_slurm_test_skip_reason() or "")
def test_pipeline_runs_through_a_real_slurm(tmp_path: Path) -> None:
    state, work = tmp_path / "state", tmp_path / "pipeline"
    env = env_with_venv()
    env.update(STATE_DIR=str(state), WORK_DIR=str(work), PYTHON=sys.executable, PIPELINE_TIMEOUT="420")
    started: dict[str, int] = {}
    teardown = None
    try:
        setup = _script("setup", env, timeout=900)  # apt-get on a fresh machine: ~15 s
        assert setup.returncode == 0, setup.stdout[-4000:]
        started = {p.stem: int(p.read_text()) for p in (state / "pids").glob("*.pid")}

        run = _script("run-pipeline", env, timeout=480)
        assert run.returncode == 0, run.stdout[-6000:]
        assert (work / "results/tables/accuracy.csv").stat().st_size > 0
        assert (work / "results/figures/scaling_law.png").exists()

        # every non-local rule went through sbatch: Slurm wrote its log, named by job id,
        # and inside it the job's own Snakemake ran with the slurm-jobstep executor
        submitted = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", run.stdout)
        assert len(submitted) >= 19, run.stdout[-3000:]
        logdir = work / "logs" / "slurm"
        for rule in SLURM_RULES:
            logs = list((logdir / f"rule_{rule}").rglob("*.log"))
            assert logs, f"no Slurm log for {rule}"
            assert all(re.fullmatch(r"\d+\.log", log.name) for log in logs)
            assert "--executor slurm-jobstep" in logs[0].read_text()
        assert not (logdir / "rule_translate").exists()  # a localrule
    finally:
        teardown = _script("teardown", env, timeout=120)  # also cancels jobs a failed run left
    assert teardown.returncode == 0, teardown.stdout[-3000:]
    alive = {name: pid for name, pid in started.items() if _running(pid, name)}
    assert not alive, f"daemons still running after teardown: {alive}"
    assert not list((state / "pids").glob("*.pid"))
