"""The one error type a user can fix: `pscale` prints its message alone, without a traceback.

Anything else that escapes a stage is a bug in the code and keeps its traceback, so a
`KeyError` from a typo in the code is never mistaken for a problem with the user's input.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input (config, data file, endpoint): the message names the file/key/row and what is allowed."""
