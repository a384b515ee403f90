# SPDX-License-Identifier: GPL-3.0-or-later
"""The lean pyroute2 import: only what we use is loaded (no IPRoute and no asyncio until a change needs them), and
other code in the process still sees all of pyroute2."""

from __future__ import annotations

import os
import subprocess
import sys

COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 8))

PROBE = """
import sys
sys.path.insert(0, {path!r})
from ansible_collections.netns.core.plugins.module_utils import _deps
assert _deps.HAS_PYROUTE2, _deps.PYROUTE2_IMPORT_ERROR
print("ndb-loaded" if "pyroute2.ndb.main" in sys.modules else "lean")
print("asyncio-loaded" if "asyncio" in sys.modules else "no-asyncio")
import pyroute2
from pyroute2 import NDB, IPRoute
assert IPRoute is _deps.iproute_class() and NDB.__name__ == "NDB"
print("complete")
"""


def probe(env_extra: dict) -> list[str]:
    env = {**os.environ, **env_extra}
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(path=COLLECTIONS)], capture_output=True, text=True, env=env, check=True
    )
    return out.stdout.split()


def test_lean_import_skips_the_rest_of_pyroute2_and_completes_on_demand():
    assert probe({}) == ["lean", "no-asyncio", "complete"]


def test_lean_import_can_be_turned_off():
    assert probe({"NETNS_CORE_PYROUTE2_LEAN": "0"}) == ["ndb-loaded", "asyncio-loaded", "complete"]
