# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Netlink access for the resource engine.

- Namespaces are joined in-process (setns with flags=0), never created by a read: a socket opened while
  joined stays bound to that namespace, so one IPRoute per namespace serves every question about it.
- One dump of links, addresses and routes per namespace, cached until something is applied there.
- Errors from the kernel become NetnsCoreError with context (errno -> cause).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator

from ansible_collections.netns.core.plugins.module_utils._deps import IPRoute, NetlinkError, pyroute2_netns
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._normalize import address_sort_key

NETNS_RUN_DIR = "/run/netns"
IFF_UP = 0x1
RT_SCOPE_UNIVERSE = 0
IFA_F_SECONDARY = 0x01
RTN_UNICAST = 1

CAUSES = {
    errno.EPERM: "needs root (CAP_NET_ADMIN)",
    errno.EACCES: "needs root (CAP_NET_ADMIN)",
    errno.EEXIST: "an object of that name already exists",
    errno.ENODEV: "no such interface",
    errno.ENOENT: "no such object",
    errno.EBUSY: "the object is busy",
    errno.ENETUNREACH: "the gateway is not reachable through any connected subnet",
    errno.EINVAL: "the kernel refused the arguments (invalid value)",
    errno.EOPNOTSUPP: "not supported by this kernel",
    errno.ERANGE: "value out of range for this kernel",
}


def describe_errno(code: int) -> str:
    return CAUSES.get(code, os.strerror(code) if code else "unknown error")


def kernel_error(action: str, exc: BaseException) -> NetnsCoreError:
    """Turn a NetlinkError / OSError raised while doing `action` into a message with context."""
    code = getattr(exc, "code", None) or getattr(exc, "errno", None) or 0
    return NetnsCoreError(f"{action} {describe_errno(code)} ({os.strerror(code) if code else exc})", errno=code)


def netns_path(name: str) -> str:
    return os.path.join(NETNS_RUN_DIR, name)


def netns_status(name: str) -> str:
    """'present', 'absent', or 'stale' (a file under /run/netns with no namespace mounted on it)."""
    path = netns_path(name)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "absent"
    # A live name is an nsfs bind mount: its device differs from the directory's.
    return "present" if st.st_dev != os.stat(NETNS_RUN_DIR).st_dev else "stale"


def list_netns() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return []


class Link(dict):
    """A link as read from the kernel, normalised: name, index, kind, mtu, up, master, peer refs."""


class NsView:
    """Everything about one namespace from one dump, cached: links by name, addresses by ifname, routes."""

    def __init__(self, session: Session, ns: str | None) -> None:
        self.session = session
        self.ns = ns
        self._links: dict[str, Link] | None = None
        self._by_name: dict[str, Link | None] = {}  # single-link lookups while there is no full dump
        self._by_index: dict[int, Link | None] = {}
        self._addrs: dict[int, list[str]] | None = None
        self._secondary: dict[int, set[str]] = {}
        self._routes: list[dict] | None = None

    @property
    def exists(self) -> bool:
        return self.ns is None or netns_status(self.ns) == "present"

    @property
    def ipr(self):
        return self.session.ipr(self.ns)

    def links(self) -> dict[str, Link]:
        if self._links is None:
            self._links = {}
            if self.exists:
                for msg in self.ipr.get_links():
                    link = parse_link(msg)
                    self._links[link["name"]] = link
                by_index = {link["index"]: link["name"] for link in self._links.values()}
                for link in self._links.values():
                    link["master"] = by_index.get(link.pop("master_index"))
        return self._links

    def link(self, name: str) -> Link | None:
        """One link by name: from the full dump when there is one, else one request (not a dump of every link:
        a namespace with hundreds of links would be dumped again after every change)."""
        if self._links is not None:
            return self._links.get(name)
        if name not in self._by_name:
            self._remember(self._get_one(ifname=name), name=name)
        return self._by_name[name]

    def link_by_index(self, index: int) -> Link | None:
        if self._links is not None:
            return next((link for link in self._links.values() if link["index"] == index), None)
        if index not in self._by_index:
            self._remember(self._get_one(index=index), index=index)
        return self._by_index[index]

    def _get_one(self, **key) -> Link | None:
        if not self.exists:
            return None
        try:
            if "ifname" in key:
                (msg,) = self.ipr.link("get", ifname=key["ifname"])
            else:
                (msg,) = self.ipr.get_links(key["index"])
        except NetlinkError as exc:
            if exc.code == errno.ENODEV:
                return None
            raise
        link = parse_link(msg)
        master_index = link.pop("master_index")
        master = self.link_by_index(master_index) if master_index else None
        link["master"] = master["name"] if master else None
        return link

    def _remember(self, link: Link | None, name: str | None = None, index: int | None = None) -> None:
        if link is not None:
            name, index = link["name"], link["index"]
        if name is not None:
            self._by_name[name] = link
        if index is not None:
            self._by_index[index] = link

    def addresses(self, name: str) -> list[str]:
        """Global (scope universe) addresses of one interface, canonical CIDR, sorted."""
        return list(self._address_dump()[0].get(self._index_of(name), []))

    def secondaries(self, name: str) -> set[str]:
        """IPv4 addresses of `name` that the kernel lists as secondary (another address of their subnet is primary)."""
        return set(self._address_dump()[1].get(self._index_of(name), ()))

    def _index_of(self, name: str) -> int | None:
        link = self.link(name)
        return link["index"] if link else None

    def _address_dump(self) -> tuple[dict[int, list[str]], dict[int, set[str]]]:
        """One dump of the namespace's addresses, by interface index (global scope only)."""
        if self._addrs is None:
            self._addrs, self._secondary = {}, {}
            if self.exists:
                for msg in self.ipr.get_addr():
                    address = msg.get("IFA_ADDRESS") if msg["family"] == 10 else msg.get("IFA_LOCAL")
                    if msg["scope"] != RT_SCOPE_UNIVERSE or address is None:
                        continue
                    cidr = f"{address}/{msg['prefixlen']}"
                    self._addrs.setdefault(msg["index"], []).append(cidr)
                    if msg["family"] == 2 and msg["flags"] & IFA_F_SECONDARY:
                        self._secondary.setdefault(msg["index"], set()).add(cidr)
                for values in self._addrs.values():
                    values.sort(key=address_sort_key)
        return self._addrs, self._secondary

    def routes(self) -> list[dict]:
        """Unicast routes of every table, normalised: table, destination, metric, gateway, interface."""
        if self._routes is None:
            self._routes = []
            if self.exists:
                names = {link["index"]: link["name"] for link in self.links().values()}
                for family in (2, 10):
                    for msg in self.ipr.get_routes(family=family):
                        route = parse_route(msg, names)
                        if route is not None:
                            self._routes.append(route)
        return self._routes

    def invalidate(self) -> None:
        self._links = self._addrs = self._routes = None
        self._by_name, self._by_index = {}, {}


def parse_link(msg) -> Link:
    kind = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")
    data = msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA")
    link = Link(
        name=msg.get("IFLA_IFNAME"),
        index=msg["index"],
        kind=kind,
        mtu=msg.get("IFLA_MTU"),
        up=bool(msg["flags"] & IFF_UP),
        master_index=msg.get("IFLA_MASTER"),
        peer_index=msg.get("IFLA_LINK") if kind == "veth" else None,
        peer_nsid=msg.get("IFLA_LINK_NETNSID") if kind == "veth" else None,
        mac=msg.get("IFLA_ADDRESS"),
        operstate=msg.get("IFLA_OPERSTATE"),
    )
    if kind == "bridge" and data is not None:
        link["stp"] = bool(data.get("IFLA_BR_STP_STATE"))
    return link


def parse_route(msg, names: dict[int, str]) -> dict | None:
    if msg["type"] != RTN_UNICAST:
        return None
    family = 4 if msg["family"] == 2 else 6
    dst = msg.get("RTA_DST") or ("0.0.0.0" if family == 4 else "::")
    table = msg.get("RTA_TABLE") or msg["table"]
    metric = msg.get("RTA_PRIORITY")
    if metric is None:
        metric = 0
    return {
        "family": family,
        "table": table,
        "destination": f"{dst}/{msg['dst_len']}",
        "metric": metric,
        "gateway": msg.get("RTA_GATEWAY"),
        "interface": names.get(msg.get("RTA_OIF")),
        "proto": msg["proto"],
    }


class Session:
    """The netlink handles of one module run: one IPRoute per namespace, opened on first use."""

    def __init__(self) -> None:
        self._home_fd: int | None = None
        self._sockets: dict[str | None, object] = {}
        self._views: dict[str | None, NsView] = {}

    # -- namespaces ----------------------------------------------------------------------------------------
    @property
    def home_fd(self) -> int:
        """An fd of the namespace this process started in (the host's, for a peer born there)."""
        if self._home_fd is None:
            self._home_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        return self._home_fd

    def ns_fd(self, ns: str | None) -> int | str:
        return self.home_fd if ns is None else ns

    @contextlib.contextmanager
    def inside(self, ns: str | None) -> Iterator[None]:
        """Run the block with this thread joined to `ns` (children forked inside inherit it). Never creates."""
        if ns is None:
            yield
            return
        home = self.home_fd
        try:
            pyroute2_netns.setns(ns, flags=0)
        except FileNotFoundError:
            raise NetnsCoreError(f"netns {ns!r} does not exist") from None
        except OSError as exc:
            raise kernel_error(f"joining netns {ns!r}", exc) from None
        try:
            yield
        finally:
            pyroute2_netns.setns(home)

    def ipr(self, ns: str | None):
        if ns not in self._sockets:
            with self.inside(ns):
                try:
                    self._sockets[ns] = IPRoute()
                except OSError as exc:
                    raise kernel_error(f"opening netlink in netns {ns or 'host'!r}", exc) from None
        return self._sockets[ns]

    def view(self, ns: str | None) -> NsView:
        if ns not in self._views:
            self._views[ns] = NsView(self, ns)
        return self._views[ns]

    def invalidate(self, ns: str | None = None, everything: bool = False) -> None:
        for key, view in self._views.items():
            if everything or key == ns:
                view.invalidate()

    def forget(self, ns: str) -> None:
        """Drop the socket and cache of a namespace that was deleted."""
        sock = self._sockets.pop(ns, None)
        if sock is not None:
            sock.close()
        self._views.pop(ns, None)

    def nsid_of(self, ns: str | None, other: str | None) -> int | None:
        """The id under which namespace `other` (None = the host) is known inside `ns`, if it has one."""
        if other is not None and netns_status(other) != "present":
            return None
        fd = self.home_fd if other is None else os.open(netns_path(other), os.O_RDONLY)
        try:
            answer = self.ipr(ns).get_netnsid(fd=fd)
        except NetlinkError:
            return None
        finally:
            if other is not None:
                os.close(fd)
        nsid = answer.get("nsid") if isinstance(answer, dict) else None
        return nsid if nsid is not None and nsid >= 0 else None

    def find_by_nsid(self, ns: str | None, nsid: int, expected: str | None) -> str | None:
        """Name of the namespace known as `nsid` inside `ns` (None = the host); '?' when it has no name.

        The expected namespace is asked first, so the usual case costs one request.
        """
        candidates = [expected] + [None] + list_netns()
        for other in dict.fromkeys(candidates):
            if other != ns and self.nsid_of(ns, other) == nsid:
                return other
        return "?"

    def close(self) -> None:
        for sock in self._sockets.values():
            with contextlib.suppress(Exception):
                sock.close()
        self._sockets.clear()
        if self._home_fd is not None:
            os.close(self._home_fd)
            self._home_fd = None


def read_sysctl(session: Session, ns: str | None, key: str) -> str | None:
    """The value of a net.* sysctl inside `ns`, tab-separated as the kernel prints it; None if no such key."""
    path = "/proc/sys/" + key.replace(".", "/")
    with session.inside(ns):
        try:
            with open(path, encoding="ascii") as handle:
                return "\t".join(handle.read().split())
        except FileNotFoundError:
            return None


def write_sysctl(session: Session, ns: str | None, key: str, value: str) -> None:
    path = "/proc/sys/" + key.replace(".", "/")
    with session.inside(ns):
        try:
            with open(path, "w", encoding="ascii") as handle:
                handle.write(value.replace("\t", " "))
        except OSError as exc:
            raise kernel_error(f"setting {key}={value} in netns {ns or 'host'!r}", exc) from None
