"""One-way layers: no `pscale` module imports, directly or through others, a module that imports it.

Every import counts, those inside functions and under TYPE_CHECKING too: it is the import graph
the code versions hash (pscale.codeversion.CodeBase.imports), where importing a submodule also
imports its package's __init__.
"""

from __future__ import annotations

import graphlib
import importlib

import pytest

from pscale.codeversion import CodeBase, package_root

ROOT = package_root()
MODULES = sorted(
    ".".join(("pscale", *path.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")
    for path in ROOT.rglob("*.py")
)


def test_no_import_cycles() -> None:
    base = CodeBase(ROOT)
    graph = {module: base.imports(base.tree(module)) - {module} for module in MODULES}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as err:
        pytest.fail(f"import cycle: {' -> '.join(err.args[1])}")


@pytest.mark.parametrize("module", MODULES)
def test_every_module_imports(module: str) -> None:
    importlib.import_module(module)
