# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The one guarded import of pyroute2, so a host without it gets a clear message instead of a traceback."""

from __future__ import annotations

import traceback

try:
    from pyroute2 import netns as pyroute2_netns
    from pyroute2.iproute.linux import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError

    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None
except ImportError:
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()
    pyroute2_netns = None
    IPRoute = None

    class NetlinkError(Exception):  # type: ignore[no-redef]
        """Stand-in so `except NetlinkError` stays valid where pyroute2 is missing."""

        code = 0


__all__ = ["HAS_PYROUTE2", "PYROUTE2_IMPORT_ERROR", "IPRoute", "NetlinkError", "pyroute2_netns"]
