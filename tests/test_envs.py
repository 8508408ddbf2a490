"""The per-rule conda environments (envs/*.yaml): do they hold what each job imports?

Under `--sdm conda` every job runs `pscale <stage>` inside its rule's env, so the env must
contain the project (installed by `envs/<env>.post-deploy.sh`, editable and without
dependencies) and every third-party package the stage imports, lazily imported ones included.
Conda channels are out of reach here, so the checks are:

* static (fast): rule -> env -> stage -> the modules the stage reaches (an AST walk over
  src/pscale that follows module bodies, the functions and classes actually referenced and the
  imports inside them) -> third-party imports, each of which the env must list by name; pins are
  exact and agree across envs and with requirements.txt;
* build (slow, PyPI): the pip part of each light env (no torch) goes into a fresh venv, the
  post-deploy script installs the project, and `pscale <stage> --help` plus an import of every
  module the stage reaches must work, torch staying out; and one pip dry run of every env's pins
  at once shows that they resolve together, the heavy envs (train, generate) included.
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
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
ENVS_DIR = ROOT / "envs"
PACKAGE = "pscale"

#: Import name -> distribution name where they differ (else importlib.metadata decides).
IMPORT_TO_DIST = {
    "yaml": "pyyaml",
    "math_verify": "math-verify",
    "sklearn": "scikit-learn",
    "PIL": "pillow",
    "cv2": "opencv-python",
    "google": "protobuf",
    "dateutil": "python-dateutil",
}

#: Packages a rule's shell needs besides its Python imports: the multi-GPU training launcher
#: (`accelerate launch` with resources/accelerate/deepspeed_zero3.yaml, see common.smk).
LAUNCHER_DISTS = ("accelerate", "deepspeed")

#: Pins the issue fixes: TRL 1.16's [vllm] extra allows vLLM <= 0.31, which pins torch 2.13.0.
REQUIRED_PINS = {"vllm": "0.31.0", "torch": "2.13.0", "transformers": "5.17.0", "trl": "1.16.0"}


# --- envs, requirements.txt, rules --------------------------------------------------------


@dataclass(frozen=True)
class CondaEnv:
    name: str
    path: Path
    conda: tuple[str, ...]
    pip: tuple[str, ...]

    @property
    def requirements(self) -> dict[str, Requirement]:
        return {canonicalize_name(r.name): r for r in map(Requirement, self.pip)}

    @property
    def post_deploy(self) -> Path:
        return self.path.with_name(f"{self.name}.post-deploy.sh")

    @property
    def heavy(self) -> bool:
        """Needs torch: too big to build here (train, generate)."""
        return "torch" in self.requirements


def _load_env(path: Path) -> CondaEnv:
    spec = yaml.safe_load(path.read_text())
    conda = tuple(d for d in spec["dependencies"] if isinstance(d, str))
    pip = [d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d]
    return CondaEnv(path.stem, path, conda, tuple(pip[0]) if pip else ())


ENVS: dict[str, CondaEnv] = {p.stem: _load_env(p) for p in sorted(ENVS_DIR.glob("*.yaml"))}
LIGHT_ENVS = sorted(name for name, env in ENVS.items() if not env.heavy)


def _requirements_txt() -> dict[str, Requirement]:
    lines = (line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines())
    return {canonicalize_name(r.name): r for r in map(Requirement, filter(None, lines))}


@dataclass(frozen=True)
class Rule:
    name: str
    file: str
    env: str | None  # stem of the conda env file
    stage: str | None  # the `pscale <stage>` its shell runs
    launcher: bool  # shell starts with {params.launcher} (pscale or accelerate launch)


_RULE = re.compile(r"^[ \t]*(?:rule|checkpoint)\s+(\w+)\s*:", re.M)
_CONDA = re.compile(r"\bconda:\s*[\"']([^\"']+)[\"']")
_STAGE = re.compile(r"(?:\bpscale(?:\.cli)?|\{params\.launcher\})\s+([a-z][a-z0-9-]*)")


def parse_rules() -> list[Rule]:
    rules = []
    for path in [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]:
        text = path.read_text()
        heads = list(_RULE.finditer(text))
        for i, head in enumerate(heads):
            block = text[head.end() : heads[i + 1].start() if i + 1 < len(heads) else len(text)]
            conda = _CONDA.search(block)
            env = (path.parent / conda.group(1)).resolve() if conda else None
            shell = block[block.index("shell:") :] if "shell:" in block else ""
            stage = _STAGE.search(shell)
            rules.append(
                Rule(
                    name=head.group(1),
                    file=str(path.relative_to(ROOT)),
                    env=env.stem if env and env.parent == ENVS_DIR else (str(env) if env else None),
                    stage=stage.group(1) if stage else None,
                    launcher="{params.launcher}" in shell,
                )
            )
    return rules


RULES = parse_rules()


# --- what a stage imports -----------------------------------------------------------------


@dataclass
class _Unit:
    """A module body (what runs on import) or one top-level function/class of it."""

    imports: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (module, from-names)
    names: set[str] = field(default_factory=set)  # names it reads


@dataclass
class _Module:
    name: str
    units: dict[str | None, _Unit]  # None: the module body
    bindings: dict[str, tuple[str, str]]  # local name -> (module, name) of `from module import name`


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _catches_import_error(node: ast.Try) -> bool:
    names = set()
    for handler in node.handlers:
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        names |= {t.id for t in types if isinstance(t, ast.Name)}
    return bool(names & {"ImportError", "ModuleNotFoundError"})


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _parse_module(path: Path) -> _Module:
    rel = path.relative_to(SRC).with_suffix("").parts
    is_package = rel[-1] == "__init__"
    name = ".".join(rel[:-1] if is_package else rel)
    tree = ast.parse(path.read_text(), str(path))
    if any(
        isinstance(n, ast.ImportFrom) and n.module == "__future__" and any(a.name == "annotations" for a in n.names)
        for n in tree.body
    ):
        for node in ast.walk(tree):  # annotations are never evaluated: not a use of a name
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                node.returns = None
            elif isinstance(node, ast.arg):
                node.annotation = None
            elif isinstance(node, ast.AnnAssign):
                node.annotation = ast.Constant(None)
    bindings: dict[str, tuple[str, str]] = {}

    def collect(nodes: Iterable[ast.AST]) -> _Unit:
        unit = _Unit()

        def visit(node: ast.AST, optional: bool) -> None:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                for child in node.orelse:
                    visit(child, optional)
                return
            if isinstance(node, ast.Try) and _catches_import_error(node):
                for child in node.body:
                    visit(child, True)
                for child in [*node.handlers, *node.orelse, *node.finalbody]:
                    visit(child, optional)
                return
            if isinstance(node, ast.Import) and not optional:
                unit.imports += [(alias.name, ()) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not optional:
                source = _absolute(name, is_package, node)
                unit.imports.append((source, tuple(a.name for a in node.names)))
                bindings.update({a.asname or a.name: (source, a.name) for a in node.names})
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                unit.names.add(node.id)
            for child in ast.iter_child_nodes(node):
                visit(child, optional)

        for node in nodes:
            visit(node, False)
        return unit

    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    units: dict[str | None, _Unit] = {None: collect(n for n in tree.body if not isinstance(n, defs))}
    units.update({n.name: collect([n]) for n in tree.body if isinstance(n, defs)})
    return _Module(name, units, bindings)


@cache
def package_modules() -> dict[str, _Module]:
    modules = [_parse_module(p) for p in sorted((SRC / PACKAGE).rglob("*.py"))]
    return {m.name: m for m in modules}


@dataclass(frozen=True)
class Reach:
    modules: frozenset[str]  # pscale modules imported
    third_party: frozenset[str]  # top-level names of third-party imports


def reach(roots: list[tuple[str, str | None]], skip: set[tuple[str, str | None]]) -> Reach:
    """What running `roots` can import: module bodies of imported pscale modules, the functions and
    classes referenced from reached code (transitively) and every import inside them."""
    modules = package_modules()
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    imported: set[str] = set()
    third: set[str] = set()
    done: set[tuple[str, str | None]] = set()
    used: set[tuple[str, str]] = set()
    work = list(roots)

    def import_module(name: str) -> None:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
            module = ".".join(parts[:i])
            if module in modules and module not in imported:
                imported.add(module)
                work.append((module, None))

    def use(module: str, attr: str) -> None:
        if (module, attr) in used or module not in modules:
            return
        used.add((module, attr))
        if f"{module}.{attr}" in modules:
            import_module(f"{module}.{attr}")
        elif attr in modules[module].units:
            work.append((module, attr))
        elif attr in modules[module].bindings:  # a re-export
            source, orig = modules[module].bindings[attr]
            if source.split(".")[0] == PACKAGE:
                import_module(source)
                use(source, orig)

    for module, _ in roots:
        import_module(module)
    while work:
        key = work.pop()
        if key in done or key in skip:
            continue
        done.add(key)
        module, unit_name = key
        unit = modules[module].units[unit_name]
        for target, names in unit.imports:
            top = target.split(".")[0]
            if top == PACKAGE:
                import_module(target)
                for attr in names:
                    use(target, attr)
                if not names and target in modules:  # `import pscale.x`: any of it may be used
                    work += [(target, u) for u in modules[target].units]
            elif top and top not in stdlib:
                third.add(top)
        for ref in unit.names:
            if ref in modules[module].units:
                work.append((module, ref))
            elif ref in modules[module].bindings:
                source, orig = modules[module].bindings[ref]
                if source.split(".")[0] == PACKAGE:
                    use(source, orig)
    return Reach(frozenset(imported), frozenset(third))


@cache
def stage_functions() -> dict[str, str]:
    """`pscale <stage>` -> the name of the cli function that runs it."""
    from pscale.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {stage: parser.get_default("func").__name__ for stage, parser in sub.choices.items()}


@cache
def stage_reach(stage: str) -> Reach:
    """Everything `pscale <stage>` may import: cli's body, main() and the stage's own function,
    not the other stages' functions (build_parser only names them)."""
    cli = f"{PACKAGE}.cli"
    own = stage_functions()[stage]
    skip = {(cli, u) for u in package_modules()[cli].units if u and u.startswith("cmd_") and u != own}
    return reach([(cli, None), (cli, "main"), (cli, own)], skip)


@cache
def _installed_dists() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def dist_of(import_name: str) -> str:
    if import_name in IMPORT_TO_DIST:
        return canonicalize_name(IMPORT_TO_DIST[import_name])
    dists = _installed_dists().get(import_name)
    return canonicalize_name(dists[0] if dists else import_name)


def env_stages(env: str) -> list[str]:
    return sorted({r.stage for r in RULES if r.env == env and r.stage})


# --- static checks ------------------------------------------------------------------------


def test_the_walk_sees_lazy_imports_and_not_unused_ones() -> None:
    """Sanity of the import walk on this package's known shape."""
    score = stage_reach("score")
    assert {"polars", "math_verify", "py3langid"} <= score.third_party  # py3langid: inside a function
    assert "torch" not in score.third_party  # main() uses pscale.runtime.configure_logging only
    assert "lmfit" in stage_reach("fit").third_party  # imported inside scaling_law()
    assert "openai" in stage_reach("translate").third_party  # backend chosen at run time
    assert {"torch", "transformers", "vllm"} <= stage_reach("generate").third_party
    assert "trl" in stage_reach("train").third_party


def test_importing_the_cli_is_light() -> None:
    """`pscale <stage> --help` must work in every env: the cli imports stages lazily."""
    heavy = ["torch", "transformers", "vllm", "trl", "datasets", "polars", "numpy", "openai", "matplotlib"]
    probe = f"import sys, pscale.cli; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert not loaded, f"`import pscale.cli` loads {loaded}"


def test_every_rule_runs_a_pscale_stage_in_an_env_file() -> None:
    stages = stage_functions()
    assert RULES, "no rules parsed"
    for rule in RULES:
        if rule.env is None and rule.stage is None:
            continue  # a target-only rule (all)
        assert rule.env in ENVS, f"rule {rule.name} ({rule.file}): conda env {rule.env} is not an envs/*.yaml"
        assert rule.stage in stages, f"rule {rule.name} ({rule.file}): no `pscale <stage>` in its shell"
    assert {r.env for r in RULES if r.env} == set(ENVS), "an env file no rule uses"


@pytest.mark.parametrize("env_name", sorted(ENVS))
def test_env_covers_the_imports_of_its_stages(env_name: str) -> None:
    env = ENVS[env_name]
    listed = set(env.requirements)
    for stage in env_stages(env_name):
        missing = {name: dist_of(name) for name in stage_reach(stage).third_party if dist_of(name) not in listed}
        assert not missing, f"envs/{env_name}.yaml lacks what `pscale {stage}` imports: {missing}"
    if any(r.launcher for r in RULES if r.env == env_name):
        assert set(LAUNCHER_DISTS) <= listed, f"envs/{env_name}.yaml: the training launcher needs {LAUNCHER_DISTS}"


@pytest.mark.parametrize("env_name", sorted(ENVS))
def test_env_is_pinned_and_installs_the_project(env_name: str) -> None:
    env = ENVS[env_name]
    assert any(re.fullmatch(r"python=3\.\d+(\.\d+)?", d) for d in env.conda), f"{env_name}: python not pinned"
    assert "pip" in {re.split(r"[=<>]", d)[0] for d in env.conda}, f"{env_name}: no pip in the conda part"
    assert env.pip, f"{env_name}: no pip packages"
    for req in env.requirements.values():
        (spec,) = req.specifier  # exactly one specifier, `==`
        assert spec.operator == "==" and "*" not in spec.version, f"{env_name}: {req} is not an exact pin"
        assert not req.url and not req.marker, f"{env_name}: {req}"
    assert not any(p.startswith(("-e", ".", "/", "file:")) or PACKAGE in p for p in env.pip), (
        f"{env_name}: the project is installed by the post-deploy script, not by a pip path "
        "(Snakemake copies the env file into the conda prefix, so relative paths break)"
    )
    assert env.post_deploy.is_file(), f"missing {env.post_deploy.relative_to(ROOT)}"


def test_post_deploy_scripts_are_one_script() -> None:
    scripts = {env.post_deploy.read_text() for env in ENVS.values()}
    assert len(scripts) == 1, "envs/*.post-deploy.sh differ; they should be copies of one script"
    (script,) = scripts
    assert script.startswith("#!"), "Snakemake runs the script with its shebang's interpreter"
    assert re.search(r"pip install --no-deps .*-e \"\$root\"", script)


def _extras(req: Requirement) -> set[str]:
    return {canonicalize_name(e) for e in req.extras}  # antlr4_13_2 == antlr4-13-2 (PEP 685)


def test_pins_agree_across_envs_and_with_requirements_txt() -> None:
    project = _requirements_txt()
    seen: dict[str, tuple[str, Requirement]] = {}
    for env in ENVS.values():
        for name, req in env.requirements.items():
            if name in seen:
                other_env, other = seen[name]
                assert (req.specifier, _extras(req)) == (other.specifier, _extras(other)), (
                    f"{req} in envs/{env.name}.yaml but {other} in envs/{other_env}.yaml"
                )
            seen[name] = (env.name, req)
            if name in project:  # same version, and at least requirements.txt's extras
                pinned = project[name]
                assert req.specifier == pinned.specifier and _extras(pinned) <= _extras(req), (
                    f"envs/{env.name}.yaml: {req}, requirements.txt: {pinned}"
                )
    pythons = {d for env in ENVS.values() for d in env.conda if d.startswith("python")}
    assert len(pythons) == 1, f"python differs across envs: {pythons}"
    for name, version in REQUIRED_PINS.items():
        assert name in seen, f"no env pins {name}"
        assert str(seen[name][1].specifier) == f"=={version}", seen[name][1]
        assert name not in project or str(project[name].specifier) == f"=={version}"


def test_post_deploy_finds_the_repository(tmp_path: Path) -> None:
    """Snakemake runs the script from the workflow's working directory (or PSCALE_ROOT names it)."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    calls = tmp_path / "calls"
    (fake_bin / "python").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    (fake_bin / "python").chmod(0o755)
    script = ENVS_DIR / f"{next(iter(ENVS))}.post-deploy.sh"
    base = {k: v for k, v in os.environ.items() if k != "PSCALE_ROOT"}
    base["PATH"] = f"{fake_bin}{os.pathsep}{base['PATH']}"

    def run(cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(script)], cwd=cwd, env={**base, **extra}, capture_output=True, text=True)

    assert run(ROOT).returncode == 0
    assert run(ROOT / "workflow" / "rules").returncode == 0  # a directory inside the repository
    assert run(tmp_path, PSCALE_ROOT=str(ROOT)).returncode == 0
    lines = calls.read_text().splitlines()
    assert len(lines) == 3
    assert all(line.endswith(f"-e {ROOT}") and line.startswith("-m pip install --no-deps") for line in lines), lines
    failed = run(tmp_path)
    assert failed.returncode != 0 and "PSCALE_ROOT" in failed.stderr


# --- build checks (PyPI) ------------------------------------------------------------------

_EDITABLE_LOCK = threading.Lock()  # editable installs write src/*.egg-info: one at a time


def _clean_env(venv: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PSCALE_ROOT", "VIRTUAL_ENV", "PYTHONHOME"}}
    if venv is not None:
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
        env["VIRTUAL_ENV"] = str(venv)
    return env


def _run(cmd: list[str], venv: Path | None = None, cwd: Path = ROOT, timeout: int = 600) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=_clean_env(venv), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _build(env: CondaEnv, root: Path) -> tuple[Path, float]:
    """The pip part of `env` in a fresh venv, then its post-deploy script, as Snakemake would."""
    start = time.monotonic()
    venv = root / env.name
    _run([sys.executable, "-m", "venv", str(venv)])
    requirements = root / f"{env.name}.txt"
    requirements.write_text("\n".join(env.pip) + "\n")
    _run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-compile",
            "--disable-pip-version-check",
            "-r",
            str(requirements),
        ]
    )
    with _EDITABLE_LOCK:
        _run(["bash", str(env.post_deploy)], venv=venv)  # cwd: the working directory, the repository
    return venv, time.monotonic() - start


RESOLVABLE_HERE = sys.platform == "linux" and platform.machine() == "x86_64"  # vLLM ships Linux x86_64 wheels


@dataclass
class DryRun:
    """pip's dry run of every env's pins at once, running in the background."""

    process: subprocess.Popen[str]
    report: Path
    log: Path

    def resolved(self) -> dict[str, str]:
        assert self.process.wait(timeout=600) == 0, (
            f"pip could not resolve every env's pins:\n{self.log.read_text()[-4000:]}"
        )
        install = yaml.safe_load(self.report.read_text())["install"]  # JSON is YAML
        return {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in install}


@pytest.fixture(scope="session")
def pins_dry_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DryRun | None]:
    """Started early (light_venvs asks for it first): it mostly waits on the network, so it
    overlaps with the builds instead of adding a minute after them."""
    if not RESOLVABLE_HERE:
        yield None
        return
    root = tmp_path_factory.mktemp("resolve")
    requirements = root / "all.txt"
    requirements.write_text("\n".join(sorted({p for env in ENVS.values() for p in env.pip})) + "\n")
    report, log = root / "report.json", root / "pip.log"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q"]
    cmd += ["--disable-pip-version-check", "--report", str(report), "-r", str(requirements)]
    with log.open("w") as out:  # a file, not a pipe: pip's warnings would fill a pipe and stall it
        process = subprocess.Popen(cmd, cwd=root, env=_clean_env(), stdout=out, stderr=subprocess.STDOUT, text=True)
    yield DryRun(process, report, log)
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def light_venvs(tmp_path_factory: pytest.TempPathFactory, pins_dry_run: DryRun | None) -> dict[str, Path]:
    """One venv per light env, built once per test session, two at a time."""
    root = tmp_path_factory.mktemp("envs")
    with ThreadPoolExecutor(max_workers=2) as pool:
        built = dict(zip(LIGHT_ENVS, pool.map(lambda name: _build(ENVS[name], root), LIGHT_ENVS), strict=True))
    for name, (_, seconds) in built.items():
        print(f"built envs/{name}.yaml in {seconds:.0f} s")
    return {name: venv for name, (venv, _) in built.items()}


@pytest.mark.slow
@pytest.mark.parametrize("env_name", LIGHT_ENVS)
def test_light_env_installs_and_runs_its_stages(env_name: str, light_venvs: dict[str, Path]) -> None:
    venv = light_venvs[env_name]
    stages = env_stages(env_name)
    assert stages, f"no rule uses envs/{env_name}.yaml"
    pscale = str(venv / "bin" / "pscale")  # the env's own console script, not one further down PATH
    _run([pscale, "--help"], venv=venv)
    for stage in stages:
        assert "usage: pscale" in _run([pscale, stage, "--help"], venv=venv)
    modules = sorted(set().union(*(stage_reach(s).modules for s in stages)))
    third = sorted(set().union(*(stage_reach(s).third_party for s in stages)))
    probe = (
        "import importlib, importlib.util, pathlib, sys\n"
        f"for name in {modules + third!r}:\n"
        "    importlib.import_module(name)\n"
        "import pscale, pscale.config\n"
        f"assert pathlib.Path(pscale.__file__).is_relative_to({str(SRC)!r}), pscale.__file__\n"
        "assert pscale.config.SCHEMA_PATH.is_file(), pscale.config.SCHEMA_PATH\n"
        "heavy = [m for m in ('torch', 'vllm', 'transformers') if importlib.util.find_spec(m)]\n"
        "assert not heavy, f'a light env pulled in {heavy}'\n"
    )
    _run([str(venv / "bin" / "python"), "-c", probe], venv=venv)


@pytest.mark.slow
@pytest.mark.skipif(not RESOLVABLE_HERE, reason="vLLM wheels: Linux x86_64")
def test_all_pins_resolve_together(pins_dry_run: DryRun | None) -> None:
    """Every env's pins at once (they agree, so each env is a subset of one resolvable set): the
    heavy envs cannot be built here, but pip must find torch, vLLM, TRL, transformers together."""
    assert pins_dry_run is not None
    resolved = pins_dry_run.resolved()
    for name, version in REQUIRED_PINS.items():
        assert resolved[name].split("+")[0] == version, (name, resolved[name])
