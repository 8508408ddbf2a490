"""The one error type a user can fix: `pscale` prints its message alone, without a traceback.

Anything else that escapes a stage is a bug in the code and keeps its traceback, so a
`KeyError` from a typo in the code is never mistaken for a problem with the user's input.
"""

from __future__ import annotations

import errno


class UserError(ValueError):
    """Bad input (config, data file, endpoint): the message names the file/key/row and what is allowed."""


class MissingEntryError(UserError, KeyError):
    """A name the user's file or config lacks (a prompt language, a dataset field): a user
    error for `pscale`, still a KeyError for code that looks entries up."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


#: What to do after a full disk (the finished outputs are whole: every write is atomic).
FREE_SPACE = "free space there, then `make run` again (finished outputs are kept; this one is redone)"

#: How libraries word a full disk or quota when they do not raise OSError(ENOSPC) themselves
#: (polars: ComputeError "... (os error 28)"; safetensors: "... StorageFull ...").
_FULL = ("No space left on device", "os error 28", "StorageFull", "Disk quota exceeded", "os error 122")


def is_disk_full(err: BaseException) -> bool:
    """Whether `err` is a write that failed for lack of space (not a bug, not a corrupt input)."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return any(text in str(err) for text in _FULL)
