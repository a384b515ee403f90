# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Option fragments every module says the same way (documented once in doc_fragments/common.py)."""

from __future__ import annotations

NETNS = {"type": "str"}
STATE = {"type": "str", "choices": ["present", "absent"], "default": "present"}
ADDRESSES = {"type": "list", "elements": "str"}


def spec(**options: dict) -> dict:
    """An argument_spec with the shared `netns` and `state` options added."""
    return {"netns": dict(NETNS), "state": dict(STATE), **options}
