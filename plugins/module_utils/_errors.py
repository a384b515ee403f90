# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The one domain exception every netns.core utility raises."""

from __future__ import annotations


class NetnsCoreError(Exception):
    """A failure with a message a person can act on (names the option, the value and the cause)."""

    def __init__(self, msg: str, **details: object) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details
