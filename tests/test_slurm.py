"""The Slurm profiles: what `snakemake --profile slurm` asks of a cluster, and a real run.

Fast tests (no Slurm needed) dry-run `snakemake --profile slurm` in a copy of the workflow,
the way a user types it at the repository root, and check the resources every rule gets.

The slow tests prove the profile machinery on a real Slurm: `scripts/slurm_local.sh setup`
installs Debian's Slurm and munge and starts a one-node cluster on 127.0.0.1 (once for both),
`run-pipeline` runs a small configuration of the pipeline through the slurm executor (profile
`slurm/ci`, ~3 min), and one training job under a 1-minute time limit that is killed, retried
and resumed, then warned and saved (profile `slurm/ci/timelimit`, ~3.5 min); `teardown` stops
exactly the daemons setup started and removes what it installed. They run only as root on
Linux with apt-get (CI), never over a real cluster's /etc/slurm/slurm.conf;
PSCALE_SLURM_TEST=0 skips them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from helpers import process_tree

from pscale.config import load_config
from pscale.plan import checkpoint_gb, model_params_b, model_step_seconds, training_warning_seconds
from pscale.train import checkpoint_problem

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "slurm_local.sh"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
PAPER = "experiments/paper.yaml"
DAEMONS = ("munged", "slurmctld", "slurmd")
# rule -> the config `resources` family it reads (common.smk `res()`); None: sized by the profile
GPU_RULES = {"train_grpo": "train", "train_sft": "train", "generate": "generate"}
CPU_RULES = {
    "demo_data": None, "parallel_set": None, "init_model": "init_model", "score": "score",
    "tables": None, "fit_scaling_law": None, "figures": None,
}  # fmt: skip
# every rule of the demo DAG that goes through sbatch (translate and all are local rules)
DEMO_SLURM_RULES = ("train_grpo", "generate", *CPU_RULES)


def copy_workflow(dest: Path) -> Path:
    for name in ("Snakefile", "config.yaml", "workflow", "resources", "envs", "experiments", "slurm"):
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


def job_resources(output: str) -> dict[str, list[dict[str, str]]]:
    """Rule -> one dict per job of a dry run's listing: its resources, plus `threads`."""
    jobs: dict[str, list[dict[str, str]]] = {}
    current: dict[str, str] | None = None
    for line in output.splitlines():
        match = re.match(r"^(?:local)?rule (\w+):$", line)
        if match:
            current = {"threads": "1"}
            jobs.setdefault(match[1], []).append(current)
        elif current is not None and line.startswith("    wildcards: "):
            current["wildcards"] = line.split(":", 1)[1].strip()
        elif current is not None and line.startswith("    threads: "):
            current["threads"] = line.split(":", 1)[1].strip()
        elif current is not None and line.startswith("    resources: "):
            items = line.split(":", 1)[1].strip().split(", ")
            current.update(item.split("=", 1) for item in items if "=" in item)
    return jobs


# ---------------------------------------------------------------- the profiles' content


def test_cluster_profile_declares_what_the_issue_asks() -> None:
    text = (REPO / "slurm" / "config.yaml").read_text()
    profile = yaml.safe_load(text)
    assert profile["executor"] == "slurm"
    assert profile["software-deployment-method"] == "conda"
    assert profile["retries"] >= 1
    assert profile["rerun-incomplete"] is True
    assert profile["slurm-keep-successful-logs"] is True
    assert not str(profile["slurm-logdir"]).startswith("results")
    assert "slurm_account" in text and "set yours here" in text
    for rule in GPU_RULES:
        assert profile["set-resources"][rule]["slurm_partition"]
        # GPUs and threads come from the pipeline config only: the training launcher starts
        # one process per GPU from `resources.train.gpu`, so the profile must not disagree
        assert "gpu" not in profile["set-resources"][rule]
        assert rule not in profile.get("set-threads", {})
        assert profile["set-resources"][rule]["nodes"] == 1  # --gpus=4 alone may span nodes
        # the training rules set their own warning before the time limit (sized per model): a
        # slurm_extra here would replace it
        assert "slurm_extra" not in profile["set-resources"][rule]
    # the plugin's resources, never slurm_extra (plugin 2.8 refuses --qos/--constraint/--gres there)
    assert "add those to the training rules' `slurm_extra`" not in text
    for advice in ('gpu_model: "h100"', "constraint: ", 'qos: "high"'):
        assert advice in text
    assert profile["cores"] >= 32  # a dry run shows the config's threads, not 1
    for rule, family in CPU_RULES.items():
        sized_here = profile["set-resources"].get(rule, {})
        assert not sized_here.get("gpu")
        if family is None:  # rules that read no config resources are sized by the profile
            assert {"mem_mb", "runtime"} <= set(sized_here), rule


def test_ci_profile_fits_the_local_cluster() -> None:
    profile = yaml.safe_load((REPO / "slurm" / "ci" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert "software-deployment-method" not in profile  # conda channels are unreachable in CI
    assert profile["slurm-status-command"] == "squeue"  # no slurmdbd: sacct would hang the plugin
    assert profile["slurm-init-seconds-before-status-checks"] <= 5
    assert profile["default-resources"]["slurm_partition"] == "debug"
    for rule in ("train_grpo", "generate"):
        assert profile["set-resources"][rule]["gpu"] == 0


def test_timelimit_ci_profile_is_the_ci_profile_with_a_short_limit_and_a_retry() -> None:
    ci = yaml.safe_load((REPO / "slurm" / "ci" / "config.yaml").read_text())
    timelimit = yaml.safe_load((REPO / "slurm" / "ci" / "timelimit" / "config.yaml").read_text())
    same = ("executor", "slurm-status-command", "slurm-init-seconds-before-status-checks", "slurm-logdir")
    assert {k: timelimit[k] for k in same} == {k: ci[k] for k in same}
    assert timelimit["default-resources"] == ci["default-resources"]
    assert timelimit["retries"] == 1
    train = timelimit["set-resources"]["train_grpo"]
    assert train["runtime"] == 1 and train["gpu"] == 0  # Slurm's shortest limit: a minute
    # attempt 1 gets no warning (killed at the limit), the retry gets the cluster profile's signal
    assert eval(train["slurm_extra"], {"attempt": 1}) == ""
    assert re.fullmatch(r"--signal=URG@\d+", eval(train["slurm_extra"], {"attempt": 2}))
    config = load_config(REPO / "tests/data/slurm_timelimit_config.yaml")
    assert config["training"]["grpo"]["max_steps"] == TIMELIMIT_STEPS  # never reached in a minute
    assert config["training"]["grpo"]["save_steps"] == TIMELIMIT_SAVE_STEPS


# ---------------------------------------------------------------- `snakemake --profile slurm -n`


def profile_dry_run(work: Path, bin_dir: Path, *args: str) -> str:
    """`snakemake --profile slurm -n` typed at the root of a copy of the repository, on a login node
    without conda (the profile deploys conda envs; a dry run must not need conda)."""
    env = env_with_venv()
    env["PATH"] = os.pathsep.join(d for d in env["PATH"].split(os.pathsep) if not (Path(d) / "conda").exists())
    result = subprocess.run(
        [*SNAKEMAKE, "--profile", "slurm", "-n", *args],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Using profile slurm" in output
    assert "conda is not on PATH" in output
    return output


@pytest.fixture(scope="module")
def profile_workdir(tmp_path_factory) -> tuple[Path, Path]:
    return copy_workflow(tmp_path_factory.mktemp("slurm-profile")), tmp_path_factory.mktemp("bin")


@pytest.fixture(scope="module")
def demo_jobs(profile_workdir) -> dict[str, list[dict[str, str]]]:
    return job_resources(profile_dry_run(*profile_workdir))


@pytest.fixture(scope="module")
def paper_jobs(profile_workdir) -> dict[str, list[dict[str, str]]]:
    if not (REPO / PAPER).exists():
        pytest.skip(f"no {PAPER}")
    return job_resources(profile_dry_run(*profile_workdir, "--configfile", PAPER))


def test_demo_dry_run_sends_every_rule_to_slurm_without_gpus(demo_jobs) -> None:
    assert set(DEMO_SLURM_RULES) <= set(demo_jobs), sorted(demo_jobs)
    for rule, jobs in demo_jobs.items():
        for job in jobs:
            assert job.get("gpu", "0") == "0", (rule, job)  # the demo is CPU-only, also on Slurm


def test_paper_gpu_rules_get_the_configs_gpus_on_the_gpu_partition(paper_jobs) -> None:
    config = load_config(REPO / PAPER)
    resources = config["resources"]
    for rule, family in GPU_RULES.items():
        assert paper_jobs.get(rule), f"{rule} not in the paper DAG"
        want = resources[family]
        for job in paper_jobs[rule]:
            assert int(job["gpu"]) == want["gpu"] >= 1, (rule, job)
            assert job["slurm_partition"] == "gpu", (rule, job)
            assert int(job["threads"]) == want["threads"], (rule, job)
            assert int(job["mem_mb"]) == want["mem_mb"] and int(job["runtime"]) == want["runtime"], (rule, job)
            assert int(job["runtime"]) <= 24 * 60 and int(job["nodes"]) == 1, (rule, job)
            if rule.startswith("train_"):  # the warning before the time limit, sized for the model
                model = re.search(r"model=([^,]+)", job["wildcards"])[1]
                assert job["slurm_extra"] == f"--signal=URG@{training_warning_seconds(config, model)}", (rule, job)


def test_training_warning_is_a_signal_the_trainer_handles_in_time(paper_jobs) -> None:
    """SIGURG (the rule's bash and Snakemake's job process ignore it; USR1 would kill them) early
    enough for a step and a checkpoint of that model, and never a tenth of the time limit."""
    from pscale.preemption import STOP_SIGNALS

    config = load_config(REPO / PAPER)
    for rule in ("train_grpo", "train_sft"):
        for job in paper_jobs[rule]:
            name, seconds = re.fullmatch(r"--signal=(\w+)@(\d+)", job["slurm_extra"]).groups()
            assert getattr(signal, f"SIG{name}") in STOP_SIGNALS and name != "USR1"
            model = re.search(r"model=([^,]+)", job["wildcards"])[1]
            step = max(model_step_seconds(config, model).values())
            params = model_params_b(config, model, config["models"][model])
            save = checkpoint_gb(config, params) / config["plan"]["checkpoint_write_gb_per_s"]
            assert step + save < int(seconds) <= config["resources"]["train"]["runtime"] * 60 / 10, job


def test_profile_advice_for_gpu_type_constraint_and_qos_reaches_sbatch() -> None:
    """What the profile's comments tell a user to add (gpu_model, constraint, qos as resources) is
    what executor plugin 2.8 accepts and turns into sbatch options; the old advice (in slurm_extra)
    it refuses."""
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string
    from snakemake_executor_plugin_slurm.validation import validate_slurm_extra
    from snakemake_interface_common.exceptions import WorkflowError

    class Resources(dict):
        __getattr__ = dict.__getitem__

    class Job:
        def __init__(self, **resources) -> None:
            self.resources, self.threads = Resources(resources), 32

    train = yaml.safe_load((REPO / "slurm" / "config.yaml").read_text())["set-resources"]["train_grpo"]
    job = Job(**train, gpu=4, mem_mb=240000, runtime=1440, gpu_model="h100", constraint="h100", qos="high",
              slurm_extra="--signal=URG@420")  # fmt: skip
    validate_slurm_extra(job)
    params = {
        "run_uuid": "u",
        "slurm_logfile": "l",
        "comment_str": "c",
        "account": "",
        "partition": "-p gpu",
        "workdir": "",
    }
    call = get_submit_command(job, params)
    assert "-C h100" in call and "--qos=high" in call and "--signal=URG@420" in call and "--cpus-per-task=32" in call
    assert set_gres_string(job).strip() == "--gpus=h100:4"
    for old_advice in ("--qos=high", "--constraint=h100", "--gres=gpu:h100:4"):
        with pytest.raises(WorkflowError, match="not allowed in the 'slurm_extra'"):
            validate_slurm_extra(Job(slurm_extra=f"--signal=URG@420 {old_advice}"))


def test_cpu_rules_stay_small(demo_jobs, paper_jobs) -> None:
    for jobs_by_rule in (demo_jobs, paper_jobs):
        for rule in CPU_RULES:
            for job in jobs_by_rule.get(rule, []):
                assert job.get("gpu", "0") == "0", (rule, job)
                assert "slurm_partition" not in job, (rule, job)  # the CPU partition (default-resources)
                assert int(job["mem_mb"]) <= 16000 and int(job["runtime"]) <= 240, (rule, job)
                assert int(job["threads"]) <= 8, (rule, job)


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
    """Run scripts/slurm_local.sh in its own process group; on timeout stop its snakemake, then the group."""
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
        _stop_snakemake(process, grace=30)  # snakemake cancels its Slurm jobs on SIGINT
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"slurm_local.sh {command} timed out after {timeout}s:\n{output[-4000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, output, "")


def _running_daemons() -> set[str]:
    """Names of the Slurm/munge daemons running now, whoever started them."""
    names = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        names.add(text[text.index("(") + 1 : text.rindex(")")])
    return names & set(DAEMONS)


def _running(pid: int, name: str) -> bool:
    """PID runs (not a zombie) and is still the daemon `name` (not a reused PID)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    comm, state = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2]
    return comm == name and state != "Z"


def _stop_snakemake(script: subprocess.Popen, grace: float = 10) -> None:
    """Stop the snakemake that `slurm_local.sh run-pipeline` runs, and let the script finish.

    SIGINT makes snakemake cancel its Slurm jobs; it then waits out its slurm plugin's pause
    between status checks (up to minutes), which is cut short after `grace` seconds. (A signal to
    the script's process group would not reach it: `timeout` runs it in a group of its own.)
    """
    if script.poll() is not None:
        return
    for pid in process_tree(script.pid)[1:]:
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[1:3] == [b"-m", b"snakemake"]:
                os.kill(pid, signal.SIGINT)
        except (OSError, IndexError):
            continue
    try:
        script.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        for pid in process_tree(script.pid)[1:]:  # timeout and snakemake (the script then logs and returns)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        script.wait(timeout=60)


@pytest.fixture(scope="module")
def local_slurm(tmp_path_factory) -> Iterator[dict[str, str]]:
    """A one-node Slurm for the slow tests of this module: set up once, torn down after the last.

    Yields the environment for `slurm_local.sh` (STATE_DIR, PYTHON, PATH); after teardown, checks
    that the machine is as setup found it."""
    reason = _slurm_test_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("slurm") / "state"
    env = env_with_venv()
    env.update(STATE_DIR=str(state), PYTHON=sys.executable)
    started: dict[str, int] = {}
    preexisting = _running_daemons()  # e.g. munge started by systemd: used, never stopped
    had_sinfo, had_conf = shutil.which("sinfo"), Path("/etc/slurm/slurm.conf").exists()
    try:
        setup = _script("setup", env, timeout=900)  # apt-get on a fresh machine: ~15 s
        assert setup.returncode == 0, setup.stdout[-4000:]
        started = {p.stem: int(p.read_text()) for p in (state / "pids").glob("*.pid")}
        assert set(started) == set(DAEMONS) - preexisting, setup.stdout[-2000:]
        yield env
    finally:
        teardown = _script("teardown", env, timeout=120)  # also cancels jobs a failed run left
    assert teardown.returncode == 0, teardown.stdout[-3000:]
    alive = {name: pid for name, pid in started.items() if _running(pid, name)}
    assert not alive, f"daemons still running after teardown: {alive}"
    assert not list((state / "pids").glob("*.pid"))
    # The machine as setup found it: with Slurm's clients left on PATH (and no controller), every
    # later `snakemake` waits ~10 s on the slurm plugin's `scontrol show config`.
    assert Path("/etc/slurm/slurm.conf").exists() == had_conf
    if not had_sinfo:
        assert shutil.which("sinfo") is None, "teardown left the Slurm packages setup installed"


@pytest.mark.slow
def test_pipeline_runs_through_a_real_slurm(local_slurm: dict[str, str], tmp_path: Path) -> None:
    work = tmp_path / "pipeline"
    env = {**local_slurm, "WORK_DIR": str(work), "PIPELINE_TIMEOUT": "420"}
    run = _script("run-pipeline", env, timeout=480)
    assert run.returncode == 0, run.stdout[-6000:]
    assert (work / "results/tables/accuracy.csv").stat().st_size > 0
    assert (work / "results/figures/scaling_law.png").exists()

    # every non-local rule went through sbatch: Slurm wrote its log, named by job id,
    # and inside it the job's own Snakemake ran with the slurm-jobstep executor
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", run.stdout)
    assert len(submitted) >= 19, run.stdout[-3000:]
    logdir = work / "logs" / "slurm"
    for rule in DEMO_SLURM_RULES:
        logs = list((logdir / f"rule_{rule}").rglob("*.log"))
        assert logs, f"no Slurm log for {rule}"
        assert all(re.fullmatch(r"\d+\.log", log.name) for log in logs)
        assert "--executor slurm-jobstep" in logs[0].read_text()
    assert not (logdir / "rule_translate").exists()  # a localrule


# One GRPO job of 100,000 steps under a 1-minute time limit (profile slurm/ci/timelimit, config
# tests/data/slurm_timelimit_config.yaml): attempt 1 is killed by the limit, attempt 2 (the retry)
# resumes and is stopped by the warning signal 5 s before its own limit.
TIMELIMIT_MODEL = "results/models/tiny/grpo-grow-x1-s0"
TIMELIMIT_LOG = "results/logs/train/tiny/grpo-grow-x1-s0.log"
TIMELIMIT_STEPS = 100000
TIMELIMIT_SAVE_STEPS = 50


@pytest.mark.slow
def test_training_killed_by_its_time_limit_resumes_on_retry(local_slurm: dict[str, str], tmp_path: Path) -> None:
    """Slurm kills attempt 1 at its time limit after periodic checkpoints; Snakemake resubmits the
    job; attempt 2 resumes from attempt 1's newest checkpoint, trains on, gets SIGURG before its
    own limit (the cluster profile's `--signal=URG@...`), saves a checkpoint and exits 75.

    Each attempt lasts 25-90 s (Slurm checks time limits every 30 s), so the test stops
    Snakemake once attempt 2 has saved, instead of waiting for Snakemake to notice the failure
    (its slurm plugin polls ever more slowly while no job completes).
    """
    work = tmp_path / "pipeline"
    env = {
        **local_slurm,
        "WORK_DIR": str(work),
        "PROFILE": "slurm/ci/timelimit",
        "TARGETS": TIMELIMIT_MODEL,
        "PIPELINE_CONFIG": str(REPO / "tests/data/slurm_timelimit_config.yaml"),
        "PIPELINE_TIMEOUT": "400",
    }
    output, train_log = tmp_path / "run-pipeline.log", work / TIMELIMIT_LOG
    stopped = re.compile(rf"training stopped at step (\d+) of {TIMELIMIT_STEPS}")
    first_attempt = ""  # the longest training log seen before the retry truncated it
    with open(output, "w") as handle:
        process = subprocess.Popen(
            ["bash", str(SCRIPT), "run-pipeline"],
            env=env,
            cwd=REPO,
            start_new_session=True,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 330
    try:
        while process.poll() is None and time.monotonic() < deadline:
            text = train_log.read_text(errors="replace") if train_log.exists() else ""
            if "resuming from" not in text:
                first_attempt = max(first_attempt, text, key=len)
            elif stopped.search(text):
                break  # attempt 2 resumed, was warned and saved: all there is to see
            time.sleep(0.5)
    finally:
        _stop_snakemake(process)
    run = output.read_text()
    second_attempt = train_log.read_text(errors="replace") if train_log.exists() else ""
    context = f"run-pipeline:\n{run[-4000:]}\ntraining log:\n{second_attempt[-3000:]}"

    # Snakemake submitted the job twice: attempt 1 ended by Slurm at its time limit
    jobs = re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S*rule_train_grpo\S*)\)", run)
    assert len(jobs) == 2 and "Trying to restart job" in run, context
    assert "DUE TO TIME LIMIT" in Path(jobs[0][1]).read_text(), Path(jobs[0][1]).read_text()[-3000:]

    # attempt 2 resumed from a checkpoint attempt 1 saved before the limit
    resumed = re.search(r"resuming from (\S*checkpoint-(\d+))", second_attempt)
    assert resumed, context
    first_step = int(resumed[2])
    assert first_step >= TIMELIMIT_SAVE_STEPS, context
    first_stop = stopped.search(first_attempt)  # SIGTERM at the limit: saved in time, or killed saving
    if first_stop:
        assert first_step == int(first_stop[1]), first_attempt[-2000:]

    # attempt 2 was warned (SIGURG, not the SIGTERM of the limit), saved a complete checkpoint, exited 75
    warned = re.search(r"SIGURG received: saving a checkpoint at step (\d+)", second_attempt)
    assert warned, context
    second_step = int(warned[1])
    last = stopped.search(second_attempt)
    assert last and int(last[1]) == second_step > first_step, context
    checkpoint = work / Path(resumed[1]).parent / f"checkpoint-{second_step}"
    assert checkpoint_problem(checkpoint) is None, context
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    assert state["global_step"] == second_step
    # one continuous run: the log history holds attempt 1's steps and attempt 2's
    logged = [h["step"] for h in state["log_history"] if "loss" in h]
    assert min(logged) <= first_step < second_step == max(logged), logged
    assert not (work / TIMELIMIT_MODEL).exists()  # never finished, so never saved as a final model
