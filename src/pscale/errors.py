"""The one error type a user can fix: `pscale` prints its message alone, without a traceback.

Anything else that escapes a stage is a bug in the code and keeps its traceback, so a
`KeyError` from a typo in the code is never mistaken for a problem with the user's input.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input (config, data file, endpoint): the message names the file/key/row and what is allowed."""


class MissingEntryError(UserError, KeyError):
    """A name the user's file or config lacks (a prompt language, a dataset field): a user
    error for `pscale`, still a KeyError for code that looks entries up."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


#: What to do after a full disk (the finished outputs are whole: every write is atomic).
FREE_SPACE = "free space there, then `make run` again (finished outputs are kept; this one is redone)"
