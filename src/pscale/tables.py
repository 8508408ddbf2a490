"""Shared I/O of every stage: atomic writes and checked reads of the tables between stages.

Atomic: a file is written to a temporary name in the same folder and renamed over the
target (`os.replace`, atomic on POSIX), so a stage killed mid-write -- by hand or under
Snakemake -- leaves either the old file or none, never a truncated one that looks complete.

Checked: a stage reads its input with `read_table`, which names the file, the column and the
first bad row when the file is unreadable (truncated, not Parquet), lacks a column, has a
column of the wrong type, or has nulls/empty strings where the contract forbids them, and
says how to remake it: `make run REDO=<file>` (`snakemake --forcerun <file>`: the file and
everything downstream of it; deleting it alone is not enough, since Snakemake does not remake
a missing intermediate file whose downstream results are up to date).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from pscale.errors import FREE_SPACE, UserError, is_disk_full

T = TypeVar("T")


class TableError(UserError):
    """An input table breaks its stage's contract; the message names file, column and row."""


def _umask() -> int:
    """The process umask: from /proc on Linux (os.umask can only read it by setting it, which
    another thread writing a file at that moment would see), else set and set straight back."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text().splitlines()
        return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Prefix and suffix of atomic_path's temporary files: a file named so is a write cut off by a
#: kill (`stale_temporaries` finds them; `make run` removes them before it starts).
TMP_PREFIX, TMP_SUFFIX = ".", ".tmp"


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path next to `path`; renamed onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    # mkstemp makes the file 0600 and a rename keeps that: give it the mode a plain open() would
    # (0666 less the umask), so results stay readable by the group as the user's umask intends.
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except Exception as err:
        if is_disk_full(err):  # the old file (if any) is untouched: say where, not a traceback
            raise UserError(f"no space left on {path.parent} while writing {path.name}: {FREE_SPACE}") from None
        raise
    finally:
        tmp_path.unlink(missing_ok=True)


def stale_temporaries(folder: str | Path) -> list[Path]:
    """atomic_path's temporary files under `folder`: left only by a write that was killed (a
    finished or failed write removes its own), so safe to delete when no job runs there."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob(f"{TMP_PREFIX}*{TMP_SUFFIX}") if p.is_file() and p.name.count(".") >= 3)


def write_parquet(frame: pl.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        frame.write_parquet(tmp)


def write_csv(frame: pl.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        frame.write_csv(tmp)


def write_text(text: str, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(value: Any, path: str | Path, indent: int | None = 2, sort_keys: bool = False) -> None:
    write_text(json.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=False) + "\n", path)


#: Loose type families for schema checks: a column "string" may be String/Categorical, etc.
_KINDS: dict[str, tuple[type, ...]] = {
    "string": (pl.String, pl.Categorical, pl.Enum),
    "int": (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64),
    "float": (pl.Float32, pl.Float64),
    "number": (
        pl.Int8,
        pl.Int16,
        pl.Int32,
        pl.Int64,
        pl.UInt8,
        pl.UInt16,
        pl.UInt32,
        pl.UInt64,
        pl.Float32,
        pl.Float64,
    ),
    "bool": (pl.Boolean,),
    "list": (pl.List,),
}


def _remake(path: Path) -> str:
    return f"remake it with `make run REDO={path}` (snakemake --forcerun {path})"


def _detail(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:200]


def read_checked(path: str | Path, what: str, read: Callable[[Path], T], redo: str | Path | None = None) -> T:
    """`read(path)` for any file a stage consumes (JSON, CSV, a model's weights): a missing or
    unreadable file stops the stage with one line naming it, what is wrong, and the REDO that
    remakes it (`redo`: the output that holds it, e.g. a model folder; default the file)."""
    path = Path(path)
    remake = _remake(Path(redo) if redo is not None else path)
    if not path.exists():
        raise TableError(f"{what} {path} does not exist; {remake}")
    try:
        return read(path)
    except UserError:
        raise
    except Exception as err:  # json, polars, safetensors... each raises its own type for a damaged file
        problem = f"cannot be read ({_detail(err)}): it is truncated or damaged"
        raise TableError(f"{what} {path} {problem}; {remake}") from None


def read_json(
    path: str | Path, what: str, kind: type = dict, keys: Iterable[str] = (), redo: str | Path | None = None
) -> Any:
    """A JSON file a stage consumes, checked: readable, of the expected `kind`, with `keys` (dict)."""
    value = read_checked(path, what, lambda p: json.loads(p.read_text(encoding="utf-8")), redo)
    remake = _remake(Path(redo) if redo is not None else Path(path))
    if not isinstance(value, kind):
        raise TableError(f"{what} {path} holds a {type(value).__name__}, expected a {kind.__name__}; {remake}")
    missing = [key for key in keys if key not in value]
    if missing:
        raise TableError(f"{what} {path} lacks {missing}: written by another version of the stage? {remake}")
    return value


def check_model_folder(folder: str | Path) -> None:
    """A local model folder's weights are whole: every *.safetensors file's header parses and its
    size is what the header says (a save cut off by a full disk or a kill is shorter). Reads the
    headers only (bytes, not gigabytes); a hub id or an empty folder is left to the loader."""
    folder = Path(folder)
    if not folder.is_dir():
        return

    def whole(path: Path) -> None:
        with open(path, "rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            if size <= 0 or size > 100_000_000:
                raise ValueError(f"header length {size} is impossible")
            header = json.loads(handle.read(size))
        end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
        actual = path.stat().st_size
        if actual != 8 + size + end:
            raise ValueError(f"{actual} bytes, its header says {8 + size + end}")

    for path in sorted(folder.glob("*.safetensors")):
        read_checked(path, "model weights", whole, redo=folder)


def _describe_row(frame: pl.DataFrame, index: int) -> str:
    where = f"row {index}"
    extra = [f"{key} {frame[key][index]!r}" for key in ("id", "lang", "sample") if key in frame.columns]
    return f"{where} ({', '.join(extra)})" if extra else where


def read_table(
    path: str | Path,
    columns: Mapping[str, str | None],
    required: Iterable[str] = (),
    non_empty: Iterable[str] = (),
    what: str = "table",
    csv_schema: Mapping[str, Any] | None = None,
    min_rows: int = 0,
) -> pl.DataFrame:
    """Reads a Parquet (or .csv) file and checks it against its stage contract.

    `columns` maps each required column to a kind (`string`, `int`, `float`, `number`,
    `bool`, `list`; None = any); `required` columns may hold no nulls; `non_empty` string
    columns may hold no null and no blank string; `min_rows`: fewer rows is an error (an empty
    language file would silently drop out of every mean); `csv_schema`: column types a CSV
    file is read with. Raises TableError naming the file, the column and the first bad row,
    and saying how to fix it. Long on purpose: one check after another, each with its message.
    """
    path = Path(path)
    if not path.exists():
        raise TableError(f"{what} {path} does not exist (was the stage that makes it run?)")
    try:
        if path.suffix == ".csv":
            frame = pl.read_csv(path, infer_schema_length=None, schema_overrides=csv_schema)
        else:
            frame = pl.read_parquet(path)
    except Exception as err:  # polars raises ComputeError, OSError, ... for a damaged file
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise TableError(
            f"{what} {path} cannot be read ({detail[:200]}): it is truncated or not a "
            f"{'CSV' if path.suffix == '.csv' else 'Parquet'} file; {_remake(path)}"
        ) from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TableError(
            f"{what} {path} lacks column(s) {missing} (it has {frame.columns}); it was written by "
            f"an older or different version of the stage: {_remake(path)}"
        )
    for name, kind in columns.items():
        if kind is None:
            continue
        dtype = frame.schema[name]
        if dtype == pl.Null:  # an all-null column: the null check below names the row
            continue
        if not isinstance(dtype, _KINDS[kind]) and dtype not in _KINDS[kind]:
            raise TableError(f"{what} {path}: column '{name}' has type {dtype}, expected {kind}; {_remake(path)}")
    if frame.height < min_rows:
        raise TableError(
            f"{what} {path} has {frame.height} rows (at least {min_rows} needed): what reads it would silently "
            f"leave it out; {_remake(path)}"
        )
    blanks = set(non_empty)
    for name in dict.fromkeys([*required, *non_empty]):
        bad = frame[name].is_null()
        if name in blanks and frame.schema[name] in (pl.String,):
            bad = bad | (frame[name].str.strip_chars() == "")
        if bad.any():
            index = int(bad.arg_true()[0])
            count = int(bad.sum())
            kind = "null or empty" if name in blanks else "null"
            raise TableError(
                f"{what} {path}: column '{name}' is {kind} in {count} row(s), first at {_describe_row(frame, index)}; "
                f"fix what wrote it, then {_remake(path)}"
            )
    return frame
