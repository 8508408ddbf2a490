"""Receipts of finished jobs: a job asked to redo work it has already finished adopts the result.

Snakemake deletes a job's outputs before it runs it, also when the outputs are whole: after
`kill -9` of Snakemake its running jobs finish as orphans, but their outputs stay marked
incomplete and the next `make run` reruns them ("Forced execution"), paying for a multi-GPU
training twice. So every stage (`pscale <stage>`, see cli.main) ends by writing a receipt:

- a *fingerprint* of the work: the stage, its code version (pscale.codeversion), its command
  line (paths, options; not --threads) and the content of every input it names;
- hard links to each output file (no extra disk space while the outputs exist) and what each
  file holds, under `results/work/done/<output path>`.

A job whose receipt has the same fingerprint and whose kept files are intact puts them back in
place of its outputs, says so in its log and stops: nothing is computed again. A damaged output
(truncated, rewritten) no longer matches its receipt and is made again; `make run REDO=...`
forgets the receipts of the files it remakes (`python -m pscale.receipts --forget FILE...`).

What a file holds: a plain file (a table, generations) by its size and a hash of its bytes
(Snakemake touches such outputs after every job, so their timestamps say nothing); a file inside
a folder (a model's weights, gigabytes at paper scale) by its size and modification time, which
Snakemake leaves alone (it touches `.snakemake_timestamp` instead) and any rewrite changes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

log = logging.getLogger("pscale")

#: Where receipts live, under the results folder of the outputs (results/work/: not a result).
STORE = Path("work") / "done"
#: The environment variable that names the results folder (config `results_dir`).
RESULTS_ENV = "PSCALE_RESULTS_DIR"
#: Files Snakemake itself writes into directory outputs after a job: not part of the result.
IGNORED = frozenset({".snakemake_timestamp"})
#: Flags that do not change what a stage computes; those in RUNTIME_OPTIONS take a value (a work
#: folder holds checkpoints or finished benchmarks of a job: where, not what).
RUNTIME_FLAGS = frozenset({"--threads", "--work-dir", "-v", "--verbose"})
RUNTIME_OPTIONS = frozenset({"--threads", "--work-dir"})


def _files(path: Path) -> list[Path]:
    """The files of an output or input: itself, or every file below a folder (sorted)."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.name not in IGNORED)
    return [path] if path.is_file() else []


def _stat(path: Path, inside: bool) -> list[int | str]:
    """What a file holds (see the module docstring): size and mtime inside a folder, else size and hash."""
    info = path.stat()
    if inside:
        return [info.st_size, info.st_mtime_ns]
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return [info.st_size, digest.hexdigest()]


def store_for(output: str | Path) -> Path | None:
    """The receipt folder of an output: <results>/work/done/<path below results>; None outside a
    results folder (a stage run by hand keeps no receipts). The results folder is the workflow's
    `results_dir` (PSCALE_RESULTS_DIR, set by the workflow for its jobs) when the output is below
    it, else the innermost folder named `results` above the output."""
    out = Path(os.path.abspath(output))
    root = os.environ.get(RESULTS_ENV)
    if root:
        base = Path(os.path.abspath(root))
        if base in out.parents:
            return base / STORE / out.relative_to(base)
    parts = out.parts
    if "results" not in parts[:-1]:
        return None
    at = len(parts) - 1 - parts[::-1].index("results")
    return Path(*parts[: at + 1]) / STORE / Path(*parts[at + 1 :])


def kept(outputs: Sequence[str]) -> bool:
    """Whether a job with these outputs keeps receipts (all of them under a results folder)."""
    return bool(outputs) and all(store_for(o) is not None for o in outputs)


def fingerprint(stage: str, argv: Sequence[str], outputs: Iterable[str], extra: Sequence[str] = ()) -> str:
    """What determines a job's result: stage, code version, command line, the inputs it names, and
    `extra` files it read without naming them (the config file a stage run by hand falls back on)."""
    from pscale.codeversion import CodeBase, package_root

    outs = {os.path.abspath(o) for o in outputs}
    digest = hashlib.sha256()
    digest.update(f"{stage}\0{CodeBase(package_root()).version(stage)}\0".encode())
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in RUNTIME_FLAGS:
            skip = token in RUNTIME_OPTIONS
            continue
        digest.update(f"{token}\0".encode())
        path = Path(token)
        if os.path.exists(token) and os.path.abspath(token) not in outs:  # (False for an option's JSON)
            inside = path.is_dir()
            for file in _files(path):
                digest.update(f"{file.relative_to(path) if inside else ''}\0{_stat(file, inside)}\0".encode())
    for token in extra:
        digest.update(f"\0extra\0{token}\0{_stat(Path(token), False) if os.path.isfile(token) else None}".encode())
    return digest.hexdigest()


def _kept(store: Path, name: str) -> Path:
    """Where a receipt keeps an output file: a plain file output as `file`, a folder's under `files/`."""
    return store / "file" if name == "." else store / "files" / name


def _receipt(output: str) -> dict | None:
    try:
        return json.loads((store_for(output) / "receipt.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _link(source: Path, target: Path) -> None:
    """Hard link (same inode: no space, same timestamp); a copy keeping the timestamp where links fail."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


#: A piece of a job's work with a receipt of its own: (fingerprint, its outputs).
Unit = tuple[str, Sequence[str]]


def _plan(fp: str, outputs: Sequence[str]) -> list[tuple[Path, Path]] | None:
    """(kept file, output path) to put back for one unit, or None when its receipt does not match."""
    receipt = _receipt(outputs[0]) if outputs else None
    if not receipt or receipt.get("fingerprint") != fp or sorted(receipt.get("outputs", {})) != sorted(outputs):
        return None
    plan = []
    for output, files in receipt["outputs"].items():
        store = store_for(output)
        for name, stat in files.items():
            kept = _kept(store, name)
            if not kept.is_file() or _stat(kept, name != ".") != stat:
                log.info("%s changed since its receipt (damaged or rewritten): computing it again", Path(output) / name)
                return None
            plan.append((kept, Path(output) / name if name != "." else Path(output)))
    return plan


def adopt(units: Sequence[Unit]) -> bool:
    """Puts a finished job's outputs back when every unit's receipt matches and its files are intact."""
    plans = [_plan(fp, outputs) for fp, outputs in units]
    if not units or any(plan is None for plan in plans):
        return False
    outputs = [output for _, unit_outputs in units for output in unit_outputs]
    for output in outputs:  # what a killed attempt left half-written goes
        path = Path(output)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
    for plan in plans:
        for kept, target in plan or []:
            if not (target.is_file() and os.path.samefile(kept, target)):
                _link(kept, target)
    for output in outputs:
        if output in (_receipt(output) or {}).get("folders", []):
            Path(output).mkdir(parents=True, exist_ok=True)
    log.info(
        "adopted %s: finished earlier with the same inputs, options and code (receipt %s, in %s); "
        "nothing was computed again",
        ", ".join(outputs),
        ", ".join(fp[:12] for fp, _ in units),
        store_for(outputs[0]),
    )
    return True


def extra_inputs(outputs: Sequence[str]) -> list[str]:
    """The unnamed files a job's last receipt says it read (its fingerprint covers their content)."""
    return list((_receipt(outputs[0]) or {}).get("extra_inputs", [])) if outputs else []


def record(units: Sequence[Unit], extra: Sequence[str] = ()) -> None:
    """Writes the receipts of a finished job (each last: a receipt exists only for whole outputs)."""
    from pscale.tables import write_json

    for fp, outputs in units:
        listing: dict[str, dict[str, list[int | str]]] = {}
        for output in outputs:
            path = Path(output)
            store = store_for(output)
            (store / "receipt.json").unlink(missing_ok=True)
            (store / "file").unlink(missing_ok=True)
            if (store / "files").exists():
                shutil.rmtree(store / "files")
            listing[output] = {}
            for file in _files(path):
                name = "." if file == path else file.relative_to(path).as_posix()
                _link(file, _kept(store, name))
                listing[output][name] = _stat(file, name != ".")
        folders = [output for output in outputs if Path(output).is_dir()]
        for output in outputs:
            receipt = {"fingerprint": fp, "outputs": listing, "folders": folders, "extra_inputs": list(extra)}
            write_json(receipt, store_for(output) / "receipt.json")


def forget(paths: Iterable[str]) -> list[Path]:
    """Deletes the receipts of `paths` (what `make run REDO=` remakes): they are computed again."""
    gone = []
    for path in paths:
        store = store_for(path.rstrip("/"))
        if store is not None and store.exists():
            shutil.rmtree(store)
            gone.append(store)
    return gone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pscale.receipts", description=__doc__.splitlines()[0])
    parser.add_argument("--forget", nargs="*", default=[], help="outputs whose receipts are deleted (REDO)")
    args = parser.parse_args(argv)
    for store in forget(args.forget):
        print(f"forgot the receipt {store}: it is computed again", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
