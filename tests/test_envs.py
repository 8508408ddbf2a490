"""The per-rule conda environments (envs/*.yaml) hold what each job imports, and their pins agree.

Under `--sdm conda` every job runs `pscale <stage>` inside its rule's env; the project itself is
installed by `envs/<env>.post-deploy.sh` (editable, without dependencies). Checked here:

* static (fast): each rule's env and `pscale <stage>`, from Snakemake's own reading of the
  workflow (the default config and the paper's, so every rule is seen) -> the third-party packages
  the stage can import (the cli, then every function and class its code refers to, lazy imports
  included) -> each listed by the env; every env pin exact and equal to requirements.txt's, the one
  place for pins (its venv lines and its `# env:` lines), and pyproject.toml's ranges contain them;
* build (slow, PyPI): the pip part of each light env (no torch) in a fresh venv plus its
  post-deploy script runs `pscale <stage> --help` and imports what the stage imports, torch
  staying out; and every env's pins resolve together (pip dry run), the heavy envs included.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pscale.codeversion import CodeBase, package_root

ROOT = Path(__file__).resolve().parents[1]
ENVS_DIR = ROOT / "envs"
#: Import name -> distribution name where importlib.metadata cannot tell (the package is not installed here).
IMPORT_TO_DIST = {"yaml": "pyyaml"}
#: The multi-GPU training launcher of `{params.launcher}` (accelerate launch with DeepSpeed, common.smk).
LAUNCHER_DISTS = {"accelerate", "deepspeed"}
#: Resolved together (TRL 1.16's [vllm] extra allows vLLM <= 0.31, which pins torch and transformers):
#: each env pins them, and pip must land on requirements.txt's versions of them.
RESOLVED_TOGETHER = ("vllm", "torch", "transformers", "trl")


def _requirements(lines: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, lines)}


def _pins() -> dict[str, Requirement]:
    """requirements.txt, the one place for pins: the venv's lines and the envs-only `# env:` lines."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    venv = [line.split("#")[0].strip() for line in lines]
    env_only = [found[1] for line in lines if (found := re.match(r"#\s*env:\s*(\S+)", line))]
    return _requirements([pin for pin in venv + env_only if pin])


PINS = _pins()


def _load_env(path: Path) -> dict:
    deps = yaml.safe_load(path.read_text())["dependencies"]
    pip = next((d["pip"] for d in deps if isinstance(d, dict)), [])
    return {"conda": [d for d in deps if isinstance(d, str)], "pip": pip, "requirements": _requirements(pip)}


ENVS = {path.stem: _load_env(path) for path in sorted(ENVS_DIR.glob("*.yaml"))}
LIGHT_ENVS = sorted(name for name, env in ENVS.items() if "torch" not in env["requirements"])


@cache
def rules() -> dict[str, tuple[str | None, str | None, bool]]:
    """rule -> (env name, `pscale <stage>` its shell runs, runs the training launcher), as Snakemake
    reads the workflow under the default config and under the paper's (hub data, shared runs)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    found = {}
    for configfiles in ([], [ROOT / "experiments" / "paper.yaml"]):
        with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
            workflow = api.workflow(
                ResourceSettings(), ConfigSettings(configfiles=configfiles), snakefile=ROOT / "Snakefile", workdir=ROOT
            )
            for rule in workflow._workflow.rules:  # the parsed rules (no public accessor)
                shell = rule.shellcmd or ""
                stage = re.search(r"(?:\bpscale|\{params\.launcher\})\s+([a-z][a-z-]*)", shell)
                env = Path(rule.conda_env).stem if rule.conda_env else None
                found[rule.name] = (env, stage and stage[1], "{params.launcher}" in shell)
    return found


# --- what a stage imports: the cli, then every function and class reached from it --------------

BASE = CodeBase(package_root())
MODULES = {
    f"pscale.{'.'.join(p.relative_to(BASE.root).with_suffix('').parts)}".removesuffix(".__init__")
    for p in BASE.root.rglob("*.py")
}
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


@cache
def units(module: str) -> tuple[dict[str | None, tuple[set, set]], dict[str, tuple[str, str]]]:
    """A module's units -- its body (None: what runs on import) and each top-level function or
    class -- with the imports (module, name or None) and names in each; and `from x import y` bindings."""
    tree, bindings, found = BASE.tree(module), {}, {}
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    for name, nodes in [(None, [n for n in tree.body if n not in defs]), *((d.name, [d]) for d in defs)]:
        imports, names = set(), set()
        for node in (n for top in nodes for n in ast.walk(top)):
            if isinstance(node, ast.Import):
                imports |= {(a.name, None) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imports |= {(node.module, a.name) for a in node.names}
                bindings |= {a.asname or a.name: (node.module, a.name) for a in node.names}
            elif isinstance(node, ast.Name):
                names.add(node.id)
        found[name] = (imports, names)
    return found, bindings


def third_party(roots: list[tuple[str, str | None]], skip: set[tuple[str, str]]) -> set[str]:
    """Top-level names of the third-party packages that running `roots` can import (`skip`: units not run)."""
    seen, third, todo = set(skip), set(), list(roots)
    while todo:
        module, unit = todo.pop()
        if module not in MODULES or (module, unit) in seen:
            continue
        seen.add((module, unit))
        todo += [(".".join(module.split(".")[:i]), None) for i in range(2, module.count(".") + 2)]  # packages, body
        found, bindings = units(module)
        if unit not in found:  # a name the module imports: follow it
            todo += [bindings[unit]] if unit in bindings else []
            continue
        imports, names = found[unit]
        for source, attr in imports:
            if source.split(".")[0] != "pscale":
                third |= {source.split(".")[0]} - STDLIB
            elif f"{source}.{attr}" in MODULES:
                todo.append((f"{source}.{attr}", None))
            else:
                todo.append((source, attr))
        todo += [(module, n) for n in names if n in found] + [bindings[n] for n in names if n in bindings]
    return third


@cache
def stage_imports(stage: str) -> frozenset[str]:
    """What `pscale <stage>` can import: cli's body, main() and the stage's own function, not the other
    stages' functions (build_parser only names them)."""
    from pscale.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    own = sub.choices[stage].get_default("func").__name__
    others = {("pscale.cli", p.get_default("func").__name__) for p in sub.choices.values()} - {("pscale.cli", own)}
    return frozenset(third_party([("pscale.cli", None), ("pscale.cli", "main"), ("pscale.cli", own)], others))


@cache
def dist_of(import_name: str) -> str:
    dists = importlib.metadata.packages_distributions().get(import_name)
    return canonicalize_name(IMPORT_TO_DIST.get(import_name) or (dists[0] if dists else import_name))


def env_stages(env: str) -> list[str]:
    return sorted({stage for rule_env, stage, _ in rules().values() if rule_env == env and stage})


# --- static checks -------------------------------------------------------------------------------


def test_the_walk_sees_lazy_imports_and_not_unused_ones() -> None:
    """Sanity of the walk on this package's known shape."""
    assert {"polars", "math_verify", "py3langid"} <= stage_imports("score")  # py3langid: inside a function
    assert "torch" not in stage_imports("score")  # main() uses pscale.runtime.configure_logging only
    assert "lmfit" in stage_imports("fit")  # imported inside scaling_law()
    assert "openai" in stage_imports("translate")  # backend chosen at run time
    assert {"torch", "transformers", "vllm"} <= stage_imports("generate")
    assert "trl" in stage_imports("train")


def test_importing_the_cli_is_light() -> None:
    """`pscale <stage> --help` must work in every env: the cli imports stages lazily."""
    heavy = ["torch", "transformers", "vllm", "trl", "datasets", "polars", "numpy", "openai", "matplotlib"]
    probe = f"import sys, pscale.cli; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert not loaded, f"`import pscale.cli` loads {loaded}"


def test_every_rule_runs_a_pscale_stage_in_an_env_file() -> None:
    for rule, (env, stage, _) in rules().items():
        if env is None and stage is None:
            continue  # a target-only or local copy rule (all, share_scores)
        assert env in ENVS, f"rule {rule}: conda env {env} is not an envs/*.yaml"
        assert stage, f"rule {rule}: no `pscale <stage>` in its shell"
    assert {env for env, _, _ in rules().values() if env} == set(ENVS), "an env file no rule uses"


@pytest.mark.parametrize("env_name", sorted(ENVS))
def test_env_covers_the_imports_of_its_stages(env_name: str) -> None:
    listed = set(ENVS[env_name]["requirements"])
    for stage in env_stages(env_name):
        missing = {name: dist_of(name) for name in stage_imports(stage) if dist_of(name) not in listed}
        assert not missing, f"envs/{env_name}.yaml lacks what `pscale {stage}` imports: {missing}"
    if any(launcher for env, _, launcher in rules().values() if env == env_name):
        assert LAUNCHER_DISTS <= listed, f"envs/{env_name}.yaml: the training launcher needs {LAUNCHER_DISTS}"


@pytest.mark.parametrize("env_name", sorted(ENVS))
def test_env_is_pinned_and_installs_the_project(env_name: str) -> None:
    env = ENVS[env_name]
    assert any(re.fullmatch(r"python=3\.\d+(\.\d+)?", d) for d in env["conda"]), f"{env_name}: python not pinned"
    assert "pip" in env["conda"] and env["pip"], f"{env_name}: no pip, or no pip packages"
    for req in env["requirements"].values():
        (spec,) = req.specifier  # exactly one specifier, `==`
        assert spec.operator == "==" and "*" not in spec.version and not req.url and not req.marker, req
    # Snakemake copies the env file into the conda prefix, so a pip path to the project would break
    assert not any(p.startswith(("-e", ".", "/", "file:")) or "pscale" in p for p in env["pip"]), env_name
    assert (ENVS_DIR / f"{env_name}.post-deploy.sh").is_file()


def test_post_deploy_scripts_are_one_script() -> None:
    scripts = {(ENVS_DIR / f"{name}.post-deploy.sh").read_text() for name in ENVS}
    assert len(scripts) == 1, "envs/*.post-deploy.sh differ; they should be copies of one script"
    (script,) = scripts
    assert script.startswith("#!") and re.search(r"pip install --no-deps .*-e \"\$root\"", script)


def extras(req: Requirement) -> set[str]:
    return {canonicalize_name(e) for e in req.extras}  # antlr4_13_2 == antlr4-13-2 (PEP 685)


def test_every_env_pin_is_requirements_txts() -> None:
    """requirements.txt is the one place for pins: an env repeats its version (and at least its extras)."""
    for name, env in ENVS.items():
        for dist, req in env["requirements"].items():
            assert dist in PINS, f"envs/{name}.yaml pins {req}: pin it in requirements.txt (`# env:` if envs-only)"
            assert req.specifier == PINS[dist].specifier and extras(PINS[dist]) <= extras(req), (
                f"envs/{name}.yaml has {req}, requirements.txt {PINS[dist]}"
            )
    assert len({d for env in ENVS.values() for d in env["conda"] if d.startswith("python")}) == 1, "python differs"
    for dist in RESOLVED_TOGETHER:
        assert str(PINS[dist].specifier).startswith("=="), PINS[dist]


def test_pyproject_ranges_contain_the_pins() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for line in [*project["dependencies"], *(d for extra in project["optional-dependencies"].values() for d in extra)]:
        req = Requirement(line)
        pin = PINS.get(canonicalize_name(req.name))
        assert pin is not None, f"pyproject.toml: {req.name} has no pin in requirements.txt"
        version = str(pin.specifier).removeprefix("==")
        assert req.specifier.contains(version, prereleases=True), f"pyproject.toml {req} excludes the pin {pin}"


def test_post_deploy_finds_the_repository(tmp_path: Path) -> None:
    """Snakemake runs the script from the workflow's working directory (or PSCALE_ROOT names it)."""
    (tmp_path / "bin").mkdir()
    calls = tmp_path / "calls"
    (tmp_path / "bin" / "python").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    (tmp_path / "bin" / "python").chmod(0o755)
    base = {k: v for k, v in os.environ.items() if k != "PSCALE_ROOT"}
    base["PATH"] = f"{tmp_path / 'bin'}{os.pathsep}{base['PATH']}"
    script = ENVS_DIR / f"{next(iter(ENVS))}.post-deploy.sh"

    def run(cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(script)], cwd=cwd, env={**base, **extra}, capture_output=True, text=True)

    assert run(ROOT).returncode == run(ROOT / "workflow" / "rules").returncode == 0  # inside the repository
    assert run(tmp_path, PSCALE_ROOT=str(ROOT)).returncode == 0
    lines = calls.read_text().splitlines()
    assert len(lines) == 3 and all(
        line.startswith("-m pip install --no-deps") and line.endswith(f"-e {ROOT}") for line in lines
    ), lines
    failed = run(tmp_path)
    assert failed.returncode != 0 and "PSCALE_ROOT" in failed.stderr


# --- build checks (PyPI) -------------------------------------------------------------------------


def _run(cmd: list[str], venv: Path | None = None, cwd: Path = ROOT) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PSCALE_ROOT", "VIRTUAL_ENV", "PYTHONHOME"}}
    if venv is not None:
        env |= {"PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}", "VIRTUAL_ENV": str(venv)}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


RESOLVABLE_HERE = sys.platform == "linux" and platform.machine() == "x86_64"  # vLLM ships Linux x86_64 wheels


@pytest.fixture(scope="session")
def light_venvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One venv per light env: its pip part, then its post-deploy script, as Snakemake would."""
    root = tmp_path_factory.mktemp("envs")

    def build(name: str) -> Path:
        venv, requirements = root / name, root / f"{name}.txt"
        requirements.write_text("\n".join(ENVS[name]["pip"]) + "\n")
        _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile", "-r", str(requirements)])
        return venv

    with ThreadPoolExecutor(max_workers=2) as pool:
        venvs = dict(zip(LIGHT_ENVS, pool.map(build, LIGHT_ENVS), strict=True))
    for name, venv in venvs.items():  # one at a time: editable installs write src/*.egg-info
        _run(["bash", str(ENVS_DIR / f"{name}.post-deploy.sh")], venv=venv)
    return venvs


@pytest.mark.slow
@pytest.mark.parametrize("env_name", LIGHT_ENVS)
def test_light_env_installs_and_runs_its_stages(env_name: str, light_venvs: dict[str, Path]) -> None:
    venv, stages = light_venvs[env_name], env_stages(env_name)
    for stage in stages:
        assert "usage: pscale" in _run([str(venv / "bin" / "pscale"), stage, "--help"], venv=venv)
    imports = sorted(set().union(*map(stage_imports, stages)))
    probe = (
        f"import importlib, importlib.util, pathlib, pscale\n[importlib.import_module(m) for m in {imports!r}]\n"
        f"assert pathlib.Path(pscale.__file__).is_relative_to({str(ROOT / 'src')!r}), pscale.__file__\n"
        "assert not [m for m in ('torch', 'vllm', 'transformers') if importlib.util.find_spec(m)]\n"
    )
    _run([str(venv / "bin" / "python"), "-c", probe], venv=venv)


@pytest.mark.slow
@pytest.mark.skipif(not RESOLVABLE_HERE, reason="vLLM wheels: Linux x86_64")
def test_all_pins_resolve_together(tmp_path: Path) -> None:
    """Every env's pins at once (they agree, so each env is a subset of one resolvable set): the
    heavy envs cannot be built here, but pip must find torch, vLLM, TRL, transformers together."""
    requirements, report = tmp_path / "all.txt", tmp_path / "report.json"
    requirements.write_text("\n".join(sorted({p for env in ENVS.values() for p in env["pip"]})) + "\n")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "-q",
            "--report",
            str(report),
            "-r",
            str(requirements),
        ],
        cwd=tmp_path,
    )
    resolved = {
        canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"]
        for i in yaml.safe_load(report.read_text())["install"]
    }  # JSON is YAML
    for dist in RESOLVED_TOGETHER:
        assert resolved[dist].split("+")[0] == str(PINS[dist].specifier).removeprefix("=="), (dist, resolved[dist])
