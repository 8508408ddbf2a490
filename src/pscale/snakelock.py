"""`make run` after a crash: tell a stale Snakemake lock from a live run, and clear only the stale one.

When Snakemake itself is killed (kill -9, a closed terminal, an OOM kill) it leaves its lock
in `.snakemake/locks/`, and every later run stops with "Directory cannot be locked". Snakemake
cannot tell a dead owner from a live one, so it asks for `--unlock` by hand -- which, typed
while another run is still going, lets two runs write the same files. Here the lock is
cleared only when no Snakemake process and no job it started (`pscale ...`) is alive in
this folder; otherwise the run is refused with the process ids, and nothing is touched. Only
processes that write count: a `grep snakemake`, an editor or a `snakemake -n` do not. Before a run
starts, temporary files left by writes a kill cut off are removed (pscale.tables.atomic_path).

    python -m pscale.snakelock [--configfile FILE]   # exit 0: go ahead; 1: a live run owns the folder
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Process:
    pid: int
    command: str


def _same_dir(pid: int, folder: Path) -> bool:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")).resolve() == folder
    except OSError:  # gone, or another user's (a login node): not a run of ours in this folder
        return False


def live_processes(folder: Path) -> list[Process]:
    """Snakemake runs and the pipeline jobs they started (`pscale <stage>`) working in `folder`."""
    folder = folder.resolve()
    mine = {os.getpid(), os.getppid()}
    found = []
    proc = Path("/proc")
    if not proc.is_dir():  # no /proc (macOS): any snakemake on the machine counts, to be safe
        out = subprocess.run(["ps", "-axo", "pid=,command="], capture_output=True, text=True).stdout
        rows = [line.strip().split(None, 1) for line in out.splitlines() if line.strip()]
        return [Process(int(r[0]), r[1]) for r in rows if len(r) == 2 and _is_pipeline(r[1]) and int(r[0]) not in mine]
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if _is_pipeline(command) and _same_dir(int(entry.name), folder):
            found.append(Process(int(entry.name), command))
    return found


#: Snakemake flags that only read (a dry run, a summary, lint): such a process writes nothing here.
READ_ONLY_FLAGS = frozenset(
    {"-n", "--dry-run", "--dryrun", "--lint", "--summary", "-S", "--detailed-summary", "-D", "--list-rules", "-l"}
    | {"--dag", "--rulegraph", "--filegraph", "--list-changes", "--lc", "--list-code-changes", "--list-input-changes"}
)


def _program(words: list[str]) -> tuple[str, list[str]]:
    """The program a command line runs and its arguments: `python [-flags] -m mod args` -> (mod, args),
    `python script args` -> (script's name, args), else (the executable's name, args)."""
    first = Path(words[0]).name
    if not first.startswith("python"):
        return first, words[1:]
    rest = words[1:]
    while rest and rest[0].startswith("-") and rest[0] != "-m":
        rest = rest[2:] if rest[0] in ("-X", "-W") else rest[1:]
    if rest[:1] == ["-m"]:
        return (rest[1], rest[2:]) if len(rest) > 1 else ("python", [])
    return (Path(rest[0]).name, rest[1:]) if rest else ("python", [])


def _dry_run(args: list[str]) -> bool:
    return any(a in READ_ONLY_FLAGS or re.fullmatch(r"-[A-Za-z]*n[A-Za-z]*", a) for a in args)


def _is_pipeline(command: str) -> bool:
    """A process that writes this folder's results: a Snakemake run (not a dry run) or a pipeline job
    (`pscale <stage>`, `python -m pscale.cli`, accelerate launching it). A `grep snakemake`, an editor
    or a `snakemake -n` mentions the folder or the names but changes nothing, so it does not count."""
    words = command.split()
    if not words:
        return False
    program, args = _program(words)
    if program in ("snakemake", "snakemake.__main__"):
        return not _dry_run(args)
    if program in ("pscale", "pscale.cli"):
        return True
    return program in ("accelerate", "torchrun") and "pscale.cli" in args


def lock_files(folder: Path) -> list[Path]:
    locks = folder / ".snakemake" / "locks"
    return sorted(locks.glob("*.lock")) if locks.is_dir() else []


def _clean_temporaries(folder: Path) -> None:
    """Temporary files of writes a kill cut off (pscale.tables.atomic_path): no job runs now, so none
    is being written; removed, so a killed figures or tables job leaves nothing behind."""
    from pscale.tables import stale_temporaries

    stale = stale_temporaries(folder / "results")
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        print(f"Removed {len(stale)} temporary file(s) left by a killed job, e.g. {stale[0]}", file=sys.stderr)


def check(folder: Path, configfile: str | None = None) -> int:
    """0 when a run may start (a stale lock is cleared, with an explanation); 1 when one is live."""
    live = live_processes(folder)
    if live:
        listing = "\n".join(f"  pid {p.pid}: {p.command[:160]}" for p in live)
        print(
            f"Another run is still working in {folder}:\n{listing}\n"
            "Wait for it to finish, or stop it (kill PID) and run again. Nothing was changed.",
            file=sys.stderr,
        )
        return 1
    _clean_temporaries(folder)
    if not lock_files(folder):
        return 0
    print(
        "Found a Snakemake lock but no Snakemake running here: the last run was killed before it could "
        "release it. Removing the stale lock (snakemake --unlock); incomplete outputs of that run are "
        "redone (--rerun-incomplete).",
        file=sys.stderr,
    )
    command = [sys.executable, "-m", "snakemake", "--unlock", "--cores", "1"]
    if configfile:
        command += ["--configfile", configfile]
    return subprocess.run(command, cwd=folder, stdout=subprocess.DEVNULL).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pscale.snakelock", description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", help="config the run uses (Snakemake parses it to unlock)")
    parser.add_argument("--directory", default=".", help="workflow folder (default: current)")
    args = parser.parse_args(argv)
    return check(Path(args.directory), args.configfile)


if __name__ == "__main__":
    sys.exit(main())
