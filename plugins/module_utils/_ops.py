# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Typed operations: every change netns.core makes to a kernel, one class each.

Each operation has
  simulate(model)   pure: what it does to the kernel model, side effects included (see _model)
  execute(ctx)      does it, through the session's netlink sockets, sysctl files or a firewall backend
  stale()           the namespaces whose cached reads it makes stale; `renumbers` when it deletes, moves or
                    renames links (their indexes go stale too). The engine, and only the engine, invalidates.
and the line a person reads (`text`, set by the resource that plans it with `says()`).
The engine runs only operations registered in OPERATIONS: anything else is an internal error, never ignored.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import time
from dataclasses import dataclass, field
from typing import ClassVar

from ansible_collections.netns.core.plugins.module_utils._constants import TC_H_ROOT, VXLAN6_HEADROOM, VXLAN_HEADROOM
from ansible_collections.netns.core.plugins.module_utils._constants import TC_HANDLE as HANDLE
from ansible_collections.netns.core.plugins.module_utils._deps import NetlinkError, pyroute2_netns
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._model import (
    RTPROT_STATIC,
    KernelModel,
    new_link,
    where_or_host,
)
from ansible_collections.netns.core.plugins.module_utils._netlink import (
    IFA_F_NODAD,
    NTF_SELF,
    NUD_NOARP,
    NUD_PERMANENT,
    RTNH_F_ONLINK,
    Session,
    address_request,
    del_link,
    netns_path,
    netns_status,
    new_bridge,
    new_veth,
    route_request,
    set_link,
    write_sysctl,
)
from ansible_collections.netns.core.plugins.module_utils._netnsfs import (
    make_directory,
    remove_directory,
    remove_file,
    remove_leftover,
    write_file,
)

#: how long the run waits for the kernel to free the veth ends elsewhere that die with a deleted namespace, before it
#: deletes what is left itself
PEERS_GONE_SECONDS = 2.0
RT_SCOPE_LINK = 253
RT_SCOPE_NOWHERE = 255
EVERY_NAMESPACE = "*"


class ExecContext:
    """What operations execute against: the session (sockets, namespaces) and the firewall backends."""

    def __init__(self, session: Session, firewall=None) -> None:
        self.session = session
        self.firewall = firewall
        #: (namespace, name) of links that go with a deleted namespace, not yet seen gone (see settle)
        self.vanishing: list[tuple] = []

    def ipr(self, ns: str | None):
        """pyroute2's IPRoute: for the changes the plain socket does not carry (VXLAN, neighbours, FDB, qdiscs)."""
        return self.session.ipr(ns)

    def change(self, ns: str | None, request: tuple) -> None:
        """One change through the namespace's plain netlink socket (a request function of _netlink)."""
        self.session.rtnl(ns).change(request)

    def commit(self) -> None:
        """Apply the firewall changes queued for a transaction (nftables: one `nft -f` per namespace)."""
        if self.firewall is not None:
            self.firewall.flush()

    def settle(self) -> None:
        """Wait until the links that go with deleted namespaces are gone (bounded).

        The kernel frees a deleted namespace's links asynchronously, many namespaces in one batch, far faster than
        one deletion request per link. The last link to go is polled until it is gone, then every other one is
        checked once. The wait lasts while the kernel makes progress; a link still there PEERS_GONE_SECONDS after
        the last one went (a process keeps its peer's namespace alive) is deleted here, so the run never ends
        with it in place."""
        waiting, self.vanishing = list(self.vanishing), []
        deadline = time.monotonic() + PEERS_GONE_SECONDS
        while waiting:
            if time.monotonic() < deadline and self.session.link_exists(*waiting[-1]):
                time.sleep(0.01)
                continue
            left = [(ns, name) for ns, name in waiting if self.session.link_exists(ns, name)]
            if len(left) == len(waiting) and time.monotonic() >= deadline:
                break  # no progress within the bound
            if len(left) < len(waiting):
                deadline = time.monotonic() + PEERS_GONE_SECONDS
            waiting = left
        for ns, name in waiting:
            try:
                (link,) = self.session.rtnl(ns).link(name=name)
                self.change(ns, del_link(link["index"]))
            except NetlinkError as exc:
                if exc.code != errno.ENODEV:  # gone meanwhile
                    raise
        if waiting:
            self.session.invalidate(everything=True)

    def index(self, ns: str | None, name: str, option: str = "interface") -> int:
        index = self.session.view(ns).index(name)
        if index is None:
            raise NetnsCoreError(f"{option} {name!r} does not exist{where_or_host(ns)}")
        return index


@dataclass
class Op:
    """Base of every operation (see the module docstring).

    Two facts the engine asks of every kind (class attributes, not dataclass fields): `removes`, it only takes
    something away (so it may be folded into a later namespace deletion that takes it too); `touches_links`, it
    needs the links left by deleted namespaces gone first (an operation that touches no link need not wait)."""

    removes: ClassVar[bool] = False
    touches_links: ClassVar[bool] = True
    text: str = field(default="", init=False, compare=False)

    def says(self, text: str) -> Op:
        self.text = text
        return self

    def describe(self) -> str:
        return self.text or type(self).__name__

    def simulate(self, model: KernelModel) -> None:
        raise NotImplementedError

    def execute(self, ctx: ExecContext) -> None:
        raise NotImplementedError

    def stale(self) -> tuple[tuple, bool]:
        """(namespaces whose reads go stale, whether link indexes there change)."""
        return (getattr(self, "ns", None),), False

    def deferred(self, ctx: ExecContext) -> bool:
        """Whether execute() only queued the change for a transaction the engine commits later (ctx.commit())."""
        return False


# -- namespaces ------------------------------------------------------------------------------------------------
@dataclass
class CreateNetns(Op):
    name: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.add_namespace(self.name)

    def execute(self, ctx: ExecContext) -> None:
        ctx.session.create_netns(self.name)

    def stale(self):
        return (self.name,), True


@dataclass
class AttachNetns(Op):
    """Name the network namespace of a running process (ip netns attach)."""

    name: str = ""
    pid: int = 0
    namespace_id: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.add_namespace(self.name, self.namespace_id)

    def execute(self, ctx: ExecContext) -> None:
        try:
            pyroute2_netns.attach(self.name, self.pid)
        except OSError:
            if netns_status(self.name) == "stale":
                os.unlink(netns_path(self.name))  # the mount failed: leave no empty file behind
            raise

    def stale(self):
        return (self.name,), True


@dataclass
class DeleteNetns(Op):
    """Delete the name (and with it the namespace, unless processes keep it). The kernel frees a namespace's links
    on its own clock: `peers`, the veth ends elsewhere whose other end was in it, are left to the context to wait
    for (bounded, see ExecContext.settle), so the run ends with them gone. `lives_on`: the namespace stays with
    its processes (only the name goes), so nothing in it goes with the name."""

    removes = True
    touches_links = False

    name: str = ""
    peers: tuple = ()
    lives_on: bool = field(default=False, compare=False)

    def simulate(self, model: KernelModel) -> None:
        model.remove_namespace(self.name)

    def execute(self, ctx: ExecContext) -> None:
        ctx.session.forget(self.name)
        pyroute2_netns.remove(self.name)
        ctx.vanishing.extend(self.peers)

    def stale(self):
        return (EVERY_NAMESPACE,), True  # veth peers elsewhere go with it


@dataclass
class UnlinkStaleNetns(Op):
    """Remove a file under /run/netns that has no namespace mounted on it."""

    removes = True
    touches_links = False

    name: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.forget_stale(self.name)

    def execute(self, ctx: ExecContext) -> None:
        os.unlink(netns_path(self.name))

    def stale(self):
        return (self.name,), True


# -- links -----------------------------------------------------------------------------------------------------
@dataclass
class CreateVeth(Op):
    ns: str | None = None
    name: str = ""
    peer_ns: str | None = None
    peer: str = ""
    mtu: int | None = None

    def simulate(self, model: KernelModel) -> None:
        model.add_link(self.ns, new_link(self.name, "veth", self.mtu, peer=(self.peer_ns, self.peer)))
        model.add_link(self.peer_ns, new_link(self.peer, "veth", self.mtu, peer=(self.ns, self.name)))

    def execute(self, ctx: ExecContext) -> None:
        if self.peer_ns == self.ns:
            ctx.change(self.ns, new_veth(self.name, self.peer, None, self.mtu))
            return
        with ctx.session.ns_fd(self.peer_ns) as peer_fd:
            ctx.change(self.ns, new_veth(self.name, self.peer, peer_fd, self.mtu))

    def stale(self):
        return (self.ns, self.peer_ns), False


@dataclass
class CreateBridge(Op):
    ns: str | None = None
    name: str = ""
    mtu: int | None = None
    stp: bool = False

    def simulate(self, model: KernelModel) -> None:
        model.add_link(self.ns, new_link(self.name, "bridge", self.mtu, stp=self.stp, auto_mtu=self.mtu is None))

    def execute(self, ctx: ExecContext) -> None:
        ctx.change(self.ns, new_bridge(self.name, self.stp, self.mtu))


@dataclass
class CreateVxlan(Op):
    """A VXLAN device: VNI, UDP port (always sent: the kernel's own default is 8472), local underlay address,
    underlay interface, MAC (set at creation), learning. Without an MTU the kernel gives it the underlay
    interface's less the encapsulation (50 bytes over IPv4, 70 over IPv6), or 1500 without an underlay interface."""

    ns: str | None = None
    name: str = ""
    vni: int = 0
    port: int = 0
    local: str = ""
    underlay_interface: str | None = None
    mac: str | None = None
    mtu: int | None = None
    learning: bool = False

    @property
    def _ipv6(self) -> bool:
        return ipaddress.ip_address(self.local).version == 6

    def simulate(self, model: KernelModel) -> None:
        mtu = self.mtu
        underlay = model.link(self.ns, self.underlay_interface) if self.underlay_interface else None
        if mtu is None and underlay is not None:
            mtu = underlay["mtu"] - (VXLAN6_HEADROOM if self._ipv6 else VXLAN_HEADROOM)
        vxlan = {
            "vni": self.vni,
            "port": self.port,
            "local": self.local,
            "learning": self.learning,
            "underlay_interface": self.underlay_interface,
        }
        model.add_link(self.ns, new_link(self.name, "vxlan", mtu, mac=self.mac, vxlan=vxlan))

    def execute(self, ctx: ExecContext) -> None:
        request = {
            "ifname": self.name,
            "kind": "vxlan",
            "vxlan_id": self.vni,
            "vxlan_port": self.port,
            "vxlan_learning": int(self.learning),
            ("vxlan_local6" if self._ipv6 else "vxlan_local"): self.local,
        }
        if self.underlay_interface:
            request["vxlan_link"] = ctx.index(self.ns, self.underlay_interface, "underlay_interface")
        if self.mac:
            request["address"] = self.mac
        if self.mtu:
            request["mtu"] = self.mtu
        ctx.ipr(self.ns).link("add", **request)


@dataclass
class SetLearning(Op):
    ns: str | None = None
    name: str = ""
    learning: bool = False

    def simulate(self, model: KernelModel) -> None:
        link = model.link(self.ns, self.name)
        model.change_link(self.ns, self.name, vxlan={**link["vxlan"], "learning": self.learning})

    def execute(self, ctx: ExecContext) -> None:
        index = ctx.index(self.ns, self.name, "name")
        ctx.ipr(self.ns).link("set", index=index, kind="vxlan", vxlan_learning=int(self.learning))


@dataclass
class SetMac(Op):
    ns: str | None = None
    name: str = ""
    mac: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.change_mac(self.ns, self.name, self.mac)

    def execute(self, ctx: ExecContext) -> None:
        ctx.ipr(self.ns).link("set", index=ctx.index(self.ns, self.name, "name"), address=self.mac)


@dataclass
class ReplaceNeighbour(Op):
    """A permanent neighbour entry: `address` is at `mac` on this link (no ARP)."""

    ns: str | None = None
    name: str = ""
    address: str = ""
    mac: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.put_neighbour(self.ns, self.name, self.address, self.mac)

    def execute(self, ctx: ExecContext) -> None:
        index = ctx.index(self.ns, self.name, "name")
        ctx.ipr(self.ns).neigh("replace", ifindex=index, dst=self.address, lladdr=self.mac, state=NUD_PERMANENT)


@dataclass
class DeleteNeighbour(Op):
    removes = True

    ns: str | None = None
    name: str = ""
    address: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.remove_neighbour(self.ns, self.name, self.address)

    def execute(self, ctx: ExecContext) -> None:
        ctx.ipr(self.ns).neigh("del", ifindex=ctx.index(self.ns, self.name, "name"), dst=self.address)


@dataclass
class ReplaceFdb(Op):
    """A permanent forwarding entry of a VXLAN device: frames to `mac` go to the underlay address `remote`.
    `replace`, never `append`: the kernel silently ignores an append of a known unicast MAC with a new remote."""

    ns: str | None = None
    name: str = ""
    mac: str = ""
    remote: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.put_fdb(self.ns, self.name, self.mac, self.remote)

    def execute(self, ctx: ExecContext) -> None:
        index = ctx.index(self.ns, self.name, "name")
        ctx.ipr(self.ns).fdb(
            "replace",
            ifindex=index,
            lladdr=self.mac,
            dst=self.remote,
            flags=NTF_SELF,
            state=NUD_PERMANENT | NUD_NOARP,
        )


@dataclass
class DeleteFdb(Op):
    removes = True

    ns: str | None = None
    name: str = ""
    mac: str = ""
    remote: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.remove_fdb(self.ns, self.name, self.mac, self.remote)

    def execute(self, ctx: ExecContext) -> None:
        index = ctx.index(self.ns, self.name, "name")
        ctx.ipr(self.ns).fdb("del", ifindex=index, lladdr=self.mac, dst=self.remote)


@dataclass
class SetStp(Op):
    ns: str | None = None
    name: str = ""
    stp: bool = False

    def simulate(self, model: KernelModel) -> None:
        model.change_link(self.ns, self.name, stp=self.stp)

    def execute(self, ctx: ExecContext) -> None:
        index = ctx.index(self.ns, self.name, "name")
        ctx.ipr(self.ns).link("set", index=index, kind="bridge", br_stp_state=int(self.stp))


@dataclass
class DeleteLink(Op):
    """Delete a link (a veth takes its peer with it; a bridge releases its ports). `peer`: a veth's other end
    (namespace, name), so the engine knows which namespace's deletion would take the pair too."""

    removes = True

    ns: str | None = None
    name: str = ""
    peer: tuple | None = field(default=None, compare=False)

    def simulate(self, model: KernelModel) -> None:
        model.remove_link(self.ns, self.name)

    def execute(self, ctx: ExecContext) -> None:
        ctx.change(self.ns, del_link(ctx.index(self.ns, self.name, "name")))

    def stale(self):
        return (EVERY_NAMESPACE,), True


@dataclass
class MoveLink(Op):
    ns: str | None = None
    name: str = ""
    to: str | None = None

    def simulate(self, model: KernelModel) -> None:
        model.move_link(self.ns, self.name, self.to)

    def execute(self, ctx: ExecContext) -> None:
        index = ctx.index(self.ns, self.name)
        with ctx.session.ns_fd(self.to) as to_fd:
            ctx.change(self.ns, set_link(index, IFLA_NET_NS_FD=to_fd))

    def stale(self):
        return (EVERY_NAMESPACE,), True


@dataclass
class SetUp(Op):
    """Bring a link up (or down)."""

    ns: str | None = None
    name: str = ""
    up: bool = True

    def simulate(self, model: KernelModel) -> None:
        model.change_link(self.ns, self.name, up=self.up)

    def execute(self, ctx: ExecContext) -> None:
        ctx.change(self.ns, set_link(ctx.index(self.ns, self.name), up=self.up))


@dataclass
class SetAlias(Op):
    """Mark a link (or a namespace, through its lo) as made by a network: its alias (IFLA_IFALIAS)."""

    ns: str | None = None
    name: str = ""
    alias: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.change_link(self.ns, self.name, alias=self.alias or None)

    def execute(self, ctx: ExecContext) -> None:
        ctx.change(self.ns, set_link(ctx.index(self.ns, self.name), IFLA_IFALIAS=self.alias))


@dataclass
class SetMtu(Op):
    ns: str | None = None
    name: str = ""
    mtu: int = 0

    def simulate(self, model: KernelModel) -> None:
        model.change_link(self.ns, self.name, mtu=self.mtu)

    def execute(self, ctx: ExecContext) -> None:
        ctx.change(self.ns, set_link(ctx.index(self.ns, self.name), IFLA_MTU=self.mtu))


@dataclass
class SetMaster(Op):
    ns: str | None = None
    name: str = ""
    master: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.change_link(self.ns, self.name, master=self.master)

    def execute(self, ctx: ExecContext) -> None:
        master = ctx.index(self.ns, self.master, "master")
        ctx.change(self.ns, set_link(ctx.index(self.ns, self.name), IFLA_MASTER=master))


@dataclass
class AddAddress(Op):
    ns: str | None = None
    name: str = ""
    address: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.add_address(self.ns, self.name, self.address)

    def execute(self, ctx: ExecContext) -> None:
        _address(ctx, "add", self.ns, self.name, self.address)


@dataclass
class DelAddress(Op):
    removes = True

    ns: str | None = None
    name: str = ""
    address: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.del_address(self.ns, self.name, self.address)

    def execute(self, ctx: ExecContext) -> None:
        _address(ctx, "del", self.ns, self.name, self.address)


def _address(ctx: ExecContext, command: str, ns: str | None, name: str, address: str) -> None:
    """Add or delete one address. An IPv6 address is added with IFA_F_NODAD (as `ip addr add ... nodad`, and as
    Docker adds its containers' addresses): it is usable at once instead of tentative for the 1-2 s of duplicate
    address detection, so the first packet of a fresh network is not lost. The addresses netns.core adds are
    chosen by the configuration (the roles give each one once), not autoconfigured; the model needs no change:
    the address is there, as it would be once DAD had passed."""
    iface = ipaddress.ip_interface(address)
    flags = IFA_F_NODAD if command == "add" and iface.version == 6 else 0
    index = ctx.index(ns, name)
    ctx.change(ns, address_request(command, index, str(iface.ip), iface.network.prefixlen, iface.version, flags))


# -- routes ----------------------------------------------------------------------------------------------------
@dataclass
class ReplaceRoute(Op):
    """Add or replace the route of this identity (family, table, destination, metric); without an interface,
    the kernel picks the one whose connected subnet holds the gateway."""

    ns: str | None = None
    route: dict = field(default_factory=dict)

    def simulate(self, model: KernelModel) -> None:
        route = dict(self.route, proto=RTPROT_STATIC)
        if route.get("interface") is None and route.get("gateway") is not None:
            route["interface"] = model.connected_interface(self.ns, route["gateway"])
        model.put_route(self.ns, route)

    def execute(self, ctx: ExecContext) -> None:
        request = _route_request(ctx, self.ns, self.route)
        if self.route["family"] == 4 and not self.route.get("gateway"):
            request["scope"] = RT_SCOPE_LINK  # a directly connected route, as `ip route add ... dev` makes it
        ctx.change(self.ns, route_request("replace", proto=RTPROT_STATIC, **request))


@dataclass
class DeleteRoute(Op):
    removes = True

    ns: str | None = None
    route: dict = field(default_factory=dict)

    def simulate(self, model: KernelModel) -> None:
        model.remove_route(self.ns, self.route)

    def execute(self, ctx: ExecContext) -> None:
        # any scope and protocol: the route we read is the one to go, whoever made it (as `ip route del`)
        ctx.change(self.ns, route_request("del", scope=RT_SCOPE_NOWHERE, **_route_request(ctx, self.ns, self.route)))


def _route_request(ctx: ExecContext, ns: str | None, route: dict) -> dict:
    net = ipaddress.ip_network(route["destination"])
    request = {
        "family": socket.AF_INET if route["family"] == 4 else socket.AF_INET6,
        "dst": str(net.network_address),
        "dst_len": net.prefixlen,
        "table": route["table"],
        "priority": route["metric"],
    }
    if route.get("gateway"):
        request["gateway"] = route["gateway"]
    if route.get("interface"):
        request["oif"] = ctx.index(ns, route["interface"])
    if route.get("onlink"):
        request["flags"] = RTNH_F_ONLINK  # the gateway is on the link, whatever the link's addresses say
    return request


# -- sysctls ---------------------------------------------------------------------------------------------------
@dataclass
class WriteSysctl(Op):
    ns: str | None = None
    key: str = ""
    value: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.set_sysctl(self.ns, self.key, self.value)

    def execute(self, ctx: ExecContext) -> None:
        write_sysctl(ctx.session, self.ns, self.key, self.value)


# -- firewall --------------------------------------------------------------------------------------------------
@dataclass
class AddRule(Op):
    """Add one rule, rendered by its backend (`rule` is the backend's own form)."""

    ns: str | None = None
    backend: str = ""
    family: int = 4
    rule: object = None

    def simulate(self, model: KernelModel) -> None:
        model.insert_rule(self.ns, self.backend, self.family, self.rule)

    def execute(self, ctx: ExecContext) -> None:
        ctx.firewall(self.backend, self.family).add(self.ns, self.rule)

    def deferred(self, ctx: ExecContext) -> bool:
        return ctx.firewall.transactional(self.backend)


@dataclass
class DelRule(Op):
    removes = True
    touches_links = False

    ns: str | None = None
    backend: str = ""
    family: int = 4
    rule: object = None

    def simulate(self, model: KernelModel) -> None:
        model.delete_rule(self.ns, self.backend, self.family, self.rule)

    def execute(self, ctx: ExecContext) -> None:
        ctx.firewall(self.backend, self.family).delete(self.ns, self.rule)

    def deferred(self, ctx: ExecContext) -> bool:
        return ctx.firewall.transactional(self.backend)


# -- files under /etc/netns (what `ip netns exec` binds over /etc) ---------------------------------------------
@dataclass
class MakeDirectory(Op):
    """Make /etc/netns/NAME (0755) with its files (name -> content) in it, at once (see _netnsfs)."""

    path: str = ""
    files: dict = field(default_factory=dict)

    def simulate(self, model: KernelModel) -> None:
        model.make_etc_directory(self.path)
        for name, content in self.files.items():
            model.put_etc_file(os.path.join(self.path, name), content)

    def execute(self, ctx: ExecContext) -> None:
        make_directory(self.path, self.files)

    def stale(self):
        return (), False  # no kernel read goes stale


@dataclass
class WriteFile(Op):
    """Write a file under /etc/netns with exactly `content`, atomically (a temporary file renamed over it)."""

    path: str = ""
    content: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.put_etc_file(self.path, self.content)

    def execute(self, ctx: ExecContext) -> None:
        write_file(self.path, self.content)

    def stale(self):
        return (), False


@dataclass
class RemoveFile(Op):
    removes = True
    touches_links = False

    path: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.remove_etc_file(self.path)

    def execute(self, ctx: ExecContext) -> None:
        remove_file(self.path)

    def stale(self):
        return (), False


@dataclass
class RemoveDirectory(Op):
    """Remove /etc/netns/NAME with our files in it, at once (see _netnsfs); anything else in it keeps it."""

    removes = True
    touches_links = False

    path: str = ""
    files: tuple = ()

    def simulate(self, model: KernelModel) -> None:
        model.remove_etc_directory(self.path, self.files)

    def execute(self, ctx: ExecContext) -> None:
        remove_directory(self.path, list(self.files))

    def stale(self):
        return (), False


@dataclass
class RemoveLeftover(Op):
    """Remove what a run that died left in /etc/netns: a temporary file (files None), or a temporary directory
    with `files` of ours in it (see _netnsfs)."""

    removes = True
    touches_links = False

    path: str = ""
    files: tuple | None = None

    def simulate(self, model: KernelModel) -> None:
        if self.files is None:
            model.remove_etc_file(self.path)
        else:
            model.remove_etc_directory(self.path, self.files)

    def execute(self, ctx: ExecContext) -> None:
        remove_leftover(self.path, None if self.files is None else list(self.files))

    def stale(self):
        return (), False


# -- qdiscs (netem) --------------------------------------------------------------------------------------------
def _our_qdisc(spec: dict) -> dict:
    from ansible_collections.netns.core.plugins.module_utils._tc import kernel_form, kind_of

    return {"index": None, "handle": HANDLE, "parent": TC_H_ROOT, "kind": kind_of(spec), "form": kernel_form(spec)}


@dataclass
class AddQdisc(Op):
    """Attach our root qdisc (handle 4e53:, tbf or netem from `spec`: see _tc) in place of the kernel's default."""

    ns: str | None = None
    name: str = ""
    spec: dict = field(default_factory=dict)

    def simulate(self, model: KernelModel) -> None:
        model.set_root_qdisc(self.ns, self.name, _our_qdisc(self.spec))

    def execute(self, ctx: ExecContext) -> None:
        from ansible_collections.netns.core.plugins.module_utils._tc import tc_arguments

        kind, arguments = tc_arguments(self.spec)
        index = ctx.index(self.ns, self.name)
        ctx.ipr(self.ns).tc("add", kind, index=index, handle=HANDLE, parent=TC_H_ROOT, **arguments)

    def stale(self):
        return (self.ns,), False


@dataclass
class ChangeQdisc(Op):
    """New parameters for our root qdisc, of the same kind (in place: no packet is dropped)."""

    ns: str | None = None
    name: str = ""
    spec: dict = field(default_factory=dict)

    def simulate(self, model: KernelModel) -> None:
        model.set_root_qdisc(self.ns, self.name, _our_qdisc(self.spec))

    def execute(self, ctx: ExecContext) -> None:
        from ansible_collections.netns.core.plugins.module_utils._tc import tc_arguments

        kind, arguments = tc_arguments(self.spec)
        index = ctx.index(self.ns, self.name)
        ctx.ipr(self.ns).tc("change", kind, index=index, handle=HANDLE, parent=TC_H_ROOT, **arguments)

    def stale(self):
        return (self.ns,), False


@dataclass
class DeleteQdisc(Op):
    """Delete our root qdisc: the kernel puts its default back."""

    removes = True

    ns: str | None = None
    name: str = ""

    def simulate(self, model: KernelModel) -> None:
        model.set_root_qdisc(self.ns, self.name, None)

    def execute(self, ctx: ExecContext) -> None:
        ctx.ipr(self.ns).tc("del", index=ctx.index(self.ns, self.name), handle=HANDLE, parent=TC_H_ROOT)

    def stale(self):
        return (self.ns,), False


OPERATIONS = frozenset(
    {
        CreateNetns,
        AttachNetns,
        DeleteNetns,
        UnlinkStaleNetns,
        CreateVeth,
        CreateBridge,
        CreateVxlan,
        SetLearning,
        SetMac,
        ReplaceNeighbour,
        DeleteNeighbour,
        ReplaceFdb,
        DeleteFdb,
        SetStp,
        DeleteLink,
        MoveLink,
        SetUp,
        SetAlias,
        SetMtu,
        SetMaster,
        AddAddress,
        DelAddress,
        ReplaceRoute,
        DeleteRoute,
        WriteSysctl,
        AddRule,
        DelRule,
        AddQdisc,
        ChangeQdisc,
        DeleteQdisc,
        MakeDirectory,
        WriteFile,
        RemoveFile,
        RemoveDirectory,
        RemoveLeftover,
    }
)


def known(op: object) -> Op:
    """The operation itself, or an internal error for anything the engine does not know."""
    if type(op) not in OPERATIONS:
        raise NetnsCoreError(f"internal error: unknown operation {op!r}; nothing was changed")
    return op
