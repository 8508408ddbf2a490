"""A version of each stage's code, so Snakemake reruns a stage when code that can change its
results changes, and not when a comment, docstring or layout does.

Snakemake tracks a rule's own shell command, params and inputs, not the `pscale` package the
command runs. Each rule therefore carries `code_version(stage)` in its params: a hash of the
normalised syntax tree (`ast.dump` without positions, docstrings removed, so comments, blank
lines, formatting and docstrings do not count) of

- the stage's command function in `pscale/cli.py` (`cmd_<stage>`) and the cli helpers it calls,
- every `pscale` module those import, and every module those import, transitively (imports
  inside functions included: a module a stage may use counts, used or not),
- the package data those modules' packages ship (YAML/JSON files in a data folder, a
  subfolder without __init__.py, e.g. pscale/data/demo_templates/), by parsed content, so a
  template edit counts and a comment in it does not.

Left out: `pscale.config`, `pscale.option_fields` and `pscale.errors`, which validate the config
and word its errors, and `pscale.stages`, which says which config keys a stage reads: what the
config says reaches a stage through its params already. Also left out: `pscale.receipts` and
this module, which decide whether a finished output is adopted, never what it holds (an edit
there must not regenerate every model's answers).
Third-party packages are pinned by the conda envs (Snakemake's software-env trigger).

Standard library and PyYAML only, and fast (~30 small files parsed once per `snakemake` call).
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

#: Modules whose code does not reach a stage's results (see the module docstring).
NOT_RESULTS = frozenset(
    {"pscale.config", "pscale.option_fields", "pscale.errors", "pscale.stages", "pscale.receipts", "pscale.codeversion"}
)


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _normal(node: ast.AST) -> str:
    return ast.dump(node, annotate_fields=False, include_attributes=False)


class CodeBase:
    """The `pscale` package at `root` (the folder holding its __init__.py)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @cache  # noqa: B019 (one instance per workflow run)
    def tree(self, module: str) -> ast.Module:
        return _strip_docstrings(ast.parse(self.path(module).read_text(encoding="utf-8")))  # type: ignore[return-value]

    def path(self, module: str) -> Path:
        parts = module.split(".")[1:]
        file = self.root.joinpath(*parts).with_suffix(".py")
        return file if file.is_file() else self.root.joinpath(*parts, "__init__.py")

    def exists(self, module: str) -> bool:
        return self.path(module).is_file()

    def _resolve(self, module: str, names: list[str]) -> set[str]:
        """`from module import names`: the submodules among names, else the module itself."""
        found = {f"{module}.{n}" for n in names if self.exists(f"{module}.{n}")}
        if len(found) < len(names) and self.exists(module):
            found.add(module)
        return found

    def imports(self, node: ast.AST) -> set[str]:
        """pscale modules imported anywhere inside `node` (with their parent packages)."""
        found: set[str] = set()
        for child in ast.walk(node):
            if isinstance(child, ast.Import):
                found |= {a.name for a in child.names if a.name.startswith("pscale.") and self.exists(a.name)}
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                if child.module == "pscale" or child.module.startswith("pscale."):
                    found |= self._resolve(child.module, [a.name for a in child.names])
        parents = {".".join(m.split(".")[:i]) for m in found for i in range(2, m.count(".") + 1)}
        return {m for m in found | parents if m != "pscale" and self.exists(m)}

    def reach(self, modules: set[str]) -> set[str]:
        """Modules plus everything they import, transitively; NOT_RESULTS left out."""
        seen: set[str] = set()
        todo = [m for m in modules if m not in NOT_RESULTS]
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            todo += [m for m in self.imports(self.tree(module)) if m not in seen and m not in NOT_RESULTS]
        return seen

    def stage_parts(self, stage: str) -> tuple[list[ast.AST], set[str]]:
        """The cli functions a stage runs (its cmd_ function and the helpers it calls) and the
        pscale modules they import, directly or through names imported at cli.py's top."""
        cli = self.tree("pscale.cli")
        functions = {n.name: n for n in cli.body if isinstance(n, ast.FunctionDef)}
        imported: dict[str, set[str]] = {}  # name bound by a top-level import -> its modules
        for node in cli.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    imported[alias.asname or alias.name.split(".")[0]] = self.imports(node)
        entry = f"cmd_{stage.replace('-', '_')}"
        if entry not in functions:
            raise KeyError(f"no stage '{stage}' in pscale.cli ({entry} not found)")
        picked, todo, modules = [], [entry], set()
        while todo:
            name = todo.pop()
            if any(name == getattr(p, "name", None) for p in picked):
                continue
            function = functions[name]
            picked.append(function)
            modules |= self.imports(function)
            for used in {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}:
                if used in functions and used != name:
                    todo.append(used)
                elif used in imported:
                    modules |= imported[used]
        return sorted(picked, key=lambda f: f.name), modules

    @cache  # noqa: B019
    def package_data(self, package: Path) -> list[tuple[str, str]]:
        """(relative path, parsed content) of the data files in `package`'s data folders."""
        import json

        import yaml

        found = []
        for folder in sorted(p for p in package.iterdir() if p.is_dir() and not (p / "__init__.py").exists()):
            for file in sorted(folder.rglob("*")):
                if file.suffix in {".yaml", ".yml", ".json"}:
                    content = yaml.safe_load(file.read_text(encoding="utf-8"))  # JSON is YAML
                    text = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
                    found.append((file.relative_to(self.root).as_posix(), text))
        return found

    def version(self, stage: str) -> str:
        functions, modules = self.stage_parts(stage)
        digest = hashlib.sha256()
        for function in functions:
            digest.update(_normal(function).encode())
        reached = sorted(self.reach(modules))
        for module in reached:
            digest.update(f"\0{module}\0".encode())
            digest.update(_normal(self.tree(module)).encode())
        for package in sorted({self.path(m).parent for m in reached}):
            for name, content in self.package_data(package):
                digest.update(f"\0{name}\0{content}".encode())
        return digest.hexdigest()[:16]


def package_root(checkout: str | Path | None = None) -> Path:
    """The checkout's src/pscale if there is one (the code jobs run), else the imported package."""
    if checkout is not None and (Path(checkout) / "src" / "pscale" / "__init__.py").is_file():
        return Path(checkout) / "src" / "pscale"
    import pscale

    return Path(pscale.__file__).parent


def code_versions(stages: list[str], checkout: str | Path | None = None) -> dict[str, str]:
    """stage -> code version, for every stage named (a `pscale` subcommand)."""
    base = CodeBase(package_root(checkout))
    return {stage: base.version(stage) for stage in stages}
