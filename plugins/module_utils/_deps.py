# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The one guarded import of pyroute2, so a host without it gets a clear message instead of a traceback."""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback


def _lean_import() -> None:
    """Let `import pyroute2.X` load only X and what X needs, not pyroute2/__init__.py.

    That file imports every pyroute2 API (NDB, IPDB, conntrack, ipset, wireguard, ...): about 0.1 s of each
    module call's ~0.2 s pyroute2 import, for nothing we use. The package is registered without running it;
    the first access to a name it would define (`from pyroute2 import NDB` by other code in the same process)
    runs it then, so nothing breaks. NETNS_CORE_PYROUTE2_LEAN=0 turns this off.
    """
    if "pyroute2" in sys.modules or os.environ.get("NETNS_CORE_PYROUTE2_LEAN") == "0":
        return
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return  # not installed: the import below fails and says so
    package = importlib.util.module_from_spec(spec)

    def complete(name: str):
        if name.startswith("__") or importlib.util.find_spec(f"pyroute2.{name}") is not None:
            # a submodule (`from pyroute2 import config`): not an attribute yet, the import system loads it
            raise AttributeError(name)
        del package.__getattr__
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = complete
    sys.modules["pyroute2"] = package


try:
    _lean_import()
    import pyroute2.netns as pyroute2_netns
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
    from pyroute2.netlink.rtnl.rtmsg import rtmsg

    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None
except ImportError:
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()
    pyroute2_netns = None
    ifaddrmsg = ifinfmsg = rtmsg = None

    class NetlinkError(Exception):  # type: ignore[no-redef]
        """Stand-in so `except NetlinkError` stays valid where pyroute2 is missing."""

        code = 0


def iproute_class():
    """pyroute2's IPRoute, imported on first use: reads and the common changes go through a plain socket
    (_netlink.Rtnl), so only a call that needs what Rtnl does not carry (VXLAN, neighbours, FDB, qdiscs) loads
    IPRoute and the asyncio machinery under it (about 70 ms of a module call's start)."""
    from pyroute2.iproute.linux import IPRoute

    return IPRoute


__all__ = [
    "HAS_PYROUTE2",
    "PYROUTE2_IMPORT_ERROR",
    "NetlinkError",
    "ifaddrmsg",
    "ifinfmsg",
    "iproute_class",
    "pyroute2_netns",
    "rtmsg",
]
