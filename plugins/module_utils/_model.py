# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The kernel model: what the kernel holds, per namespace, as plain data the plans read and the operations change.

A KernelModel is filled on demand from the kernel (through the Session's per-namespace reads: one link by name, one
interface's addresses, one route dump per family, one firewall listing per table), and from then on it is changed
only by operations' `simulate()`. So every item of a call plans against what the items before it will have made:
check mode predicts from the model, and a real run executes the same plan and verifies it against a fresh model.

Per namespace it holds links (name, kind, mtu, up, master, veth peer, stp, a VXLAN device's settings and MAC),
global addresses with the IPv4 secondary flag, unicast routes of every table (with the onlink flag), the permanent
neighbour and forwarding entries of the links asked about, the sysctls asked for, and firewall listings. Its
mutators carry the kernel side effects plans rely on: an address on an up link brings its prefix route; removing a
primary IPv4 address drops its secondaries (unless promote_secondaries); a new namespace has lo down; deleting a link
deletes its veth peer, its addresses, routes and entries and releases its bridge ports; a moved link arrives down and
bare.

Beside the kernel, it holds the files under /etc/netns the plans ask about (what `ip netns exec` bind-mounts over
/etc): each file's kind and content, each directory's entries. They are keyed by path, not by namespace: they live
on the disk, whether the namespace exists or not.
"""

from __future__ import annotations

import ipaddress
import os
import sys

from ansible_collections.netns.core.plugins.module_utils._constants import (
    DEFAULT_MTU,
    FORWARD_KEY,
    LOOPBACK,
    MAIN_TABLE,
    NETNS_ETC_DIR,
    OWNER_PREFIX,
    PREFIX_ROUTE_METRIC,
)
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._netlink import (
    Session,
    namespace_id,
    netns_path,
    netns_status,
    read_sysctl,
    sysctl_writable,
)
from ansible_collections.netns.core.plugins.module_utils._netnsfs import leftover_pid, read_directory, read_file
from ansible_collections.netns.core.plugins.module_utils._normalize import address_sort_key

RTPROT_KERNEL = 2
RTPROT_STATIC = 4

#: sysctls the kernel keeps equal: writing one sets the other
SYSCTL_ALIASES = {FORWARD_KEY[4]: "net.ipv4.conf.all.forwarding", "net.ipv4.conf.all.forwarding": FORWARD_KEY[4]}


def where(ns: str | None) -> str:
    """' in netns NS', or '' for the host."""
    return f" in netns {ns}" if ns else ""


def where_or_host(ns: str | None) -> str:
    return where(ns) or " in the host namespace"


class Namespace:
    """What the model knows of one namespace. `fresh`: made by this call (or assumed by a check run), so
    nothing is read from the kernel: what is not in the model is not there."""

    def __init__(self, ns: str | None, status: str, fresh: bool) -> None:
        self.ns = ns
        self.status = status  # present | absent | stale
        self.fresh = fresh
        self.links: dict[str, dict | None] = {}  # name -> link; None = known absent
        self.addresses: dict[str, list[dict]] = {}  # name -> [{"cidr", "secondary"}]
        self.routes: dict[int, list[dict]] = {}  # family -> routes
        self.sysctls: dict[str, str | None] = {}
        self.listings: dict[tuple, list] = {}  # (backend, family, table) -> rules, in listing order
        self.neighbours: dict[str, dict[str, str]] = {}  # link name -> permanent entries, address -> mac
        self.fdb: dict[str, list[tuple[str, str]]] = {}  # link name -> permanent (mac, remote) entries, sorted
        self.namespace_id: str | None = None
        #: links the plan deleted or moved away: the kernel's routes through them, read later, are not there
        self.dropped: set[str] = set()
        self.dumped = fresh  # every link of the namespace is in `links`
        if fresh:
            self.links[LOOPBACK] = new_link(LOOPBACK, None, mtu=65536)


def new_link(name: str, kind: str | None, mtu: int | None = None, **extra) -> dict:
    """A just-created link: down, no master, no address."""
    link = {"name": name, "kind": kind, "mtu": mtu or DEFAULT_MTU, "up": False, "master": None, "peer": None}
    link.update(extra)
    return link


class KernelModel:
    """The kernel as the plans see it (see the module docstring). `firewall(backend, family)` gives the listing
    tool of a firewall backend; `may_assume`: a check run may plan around something missing (and says so).
    Without a session the model is offline (for unit tests): the host is empty and no namespace exists until
    something adds it."""

    def __init__(self, session: Session, firewall=None, may_assume: bool = False) -> None:
        self.session = session
        self.firewall = firewall
        self.may_assume = may_assume
        self.assumed: list[str] = []
        #: check mode: namespaces a removal looked into that do not exist (yet)
        self.unseen: list[str] = []
        #: what a removal left because it no longer looks like ours (said as a warning)
        self.left: list[str] = []
        #: the interfaces (namespace, name) the objects of this call are (see Resource.claims)
        self.claims: set[tuple] = set()
        self._spaces: dict[str | None, Namespace] = {}
        self._into: dict[str | None, dict[tuple, None]] = {}  # namespace -> links elsewhere with a peer there
        self.qdisc_kinds: dict[str, bool] = {}  # qdisc kind -> whether this kernel has it (offline: preset or yes)
        self._files: dict[str, tuple[str, str | None]] = {}  # path under /etc/netns -> (kind, content)
        self._directories: dict[str, tuple[str, set | None]] = {}  # path under /etc/netns -> (kind, entry names)
        self._leftovers: list[str] | None = None  # what runs that died left in /etc/netns (see etc_leftovers)

    # -- namespaces ------------------------------------------------------------------------------------------
    def space(self, ns: str | None) -> Namespace:
        if ns not in self._spaces:
            if self.session is None:
                self._spaces[ns] = Namespace(ns, "present" if ns is None else "absent", fresh=True)
            else:
                self._spaces[ns] = Namespace(ns, "present" if ns is None else netns_status(ns), fresh=False)
        return self._spaces[ns]

    def status(self, ns: str | None) -> str:
        return self.space(ns).status

    def exists(self, ns: str | None) -> bool:
        return self.space(ns).status == "present"

    def _readable(self, ns: str | None) -> bool:
        space = self.space(ns)
        return space.status == "present" and not space.fresh

    def missing(self, text: str) -> None:
        """Something a real run needs is missing: a check run plans around it (and warns); a real run fails."""
        if not self.may_assume:
            raise NetnsCoreError(text + "; nothing was changed")
        if text not in self.assumed:
            self.assumed.append(text)

    def assume_namespace(self, ns: str, text: str) -> None:
        """Check mode: plan in a namespace an earlier task of the run may create (it reads as new and empty)."""
        self.missing(text)
        self._spaces[ns] = Namespace(ns, "present", fresh=True)

    def namespace_id(self, ns: str) -> str | None:
        """'net:[INODE]' of a named namespace (as readlink /proc/PID/ns/net prints it)."""
        space = self.space(ns)
        if space.namespace_id is None and self._readable(ns):
            space.namespace_id = namespace_id(netns_path(ns))
        return space.namespace_id

    # namespace mutators (used by simulate)
    def add_namespace(self, ns: str, namespace_id: str | None = None) -> None:
        self._spaces[ns] = Namespace(ns, "present", fresh=True)
        self._spaces[ns].namespace_id = namespace_id

    def _note_peer(self, ns: str | None, name: str, peer: tuple | None) -> None:
        """Remember that link `name` in `ns` has its veth peer in namespace peer[0] (see links_into)."""
        if peer is not None and peer[0] != ns:
            self._into.setdefault(peer[0], {})[(ns, name)] = None

    def links_into(self, ns: str) -> tuple:
        """(namespace, name) of the veth ends elsewhere, as far as the model knows them, whose peer is in `ns`.
        (From an index kept as peers become known: not a scan of every link of every namespace, per namespace.)"""
        found = []
        for other_ns, name in self._into.get(ns, {}):
            link = self._spaces[other_ns].links.get(name) if other_ns in self._spaces else None
            if link and link.get("peer") and link["peer"][0] == ns and (other_ns, name) not in found:
                found.append((other_ns, name))
        return tuple(found)

    def remove_namespace(self, ns: str) -> None:
        """The namespace goes, and with it every link in it; a veth end elsewhere whose peer was in it goes too."""
        for other_ns, name in self.links_into(ns):
            self._drop_link(other_ns, name, with_peer=False)
        self._spaces[ns] = Namespace(ns, "absent", fresh=True)
        self._spaces[ns].links = {}

    def forget_stale(self, ns: str) -> None:
        self._spaces[ns] = Namespace(ns, "absent", fresh=True)
        self._spaces[ns].links = {}

    # -- links -----------------------------------------------------------------------------------------------
    def link(self, ns: str | None, name: str) -> dict | None:
        """One link by name (a copy-free view: do not change it; use the mutators)."""
        space = self.space(ns)
        if name not in space.links:
            space.links[name] = self._load_link(ns, name) if self._readable(ns) else None
        return space.links[name]

    def _load_link(self, ns: str | None, name: str) -> dict | None:
        found = self.session.view(ns).link(name)
        if found is None:
            return None
        link = {key: found.get(key) for key in ("name", "kind", "mtu", "up", "master", "alias")}
        if found.get("kind") == "bridge":
            link["stp"] = found.get("stp", False)
        link["peer"] = None
        if found.get("kind") == "vxlan":
            link["mac"] = (found.get("mac") or "").lower() or None
            vxlan = dict(found.get("vxlan") or {})
            underlay = self.session.view(ns).link_by_index(vxlan.pop("link_index", None) or 0)
            link["vxlan"] = {**vxlan, "underlay_interface": underlay["name"] if underlay else None}
        if found.get("kind") == "veth" and found.get("peer_index"):
            link["peer_ref"] = dict(found)  # resolved on demand (peer())
        return link

    def peer(self, ns: str | None, name: str, expected: str | None = None) -> tuple[str | None, str] | None:
        """(namespace, name) of the other end of veth `name`; raises when that namespace has no name."""
        link = self.link(ns, name)
        if link is None or link["kind"] != "veth":
            return None
        if link.get("peer") is None and link.get("peer_ref") is not None:
            peer_ns, peer = self.session.peer_of(ns, link["peer_ref"], expected)
            if peer_ns == "?":
                raise NetnsCoreError(
                    f"the peer of veth {name!r}{where(ns)} is in a namespace with no name under /run/netns; "
                    "refusing to touch it"
                )
            if peer is None:
                raise NetnsCoreError(f"cannot find the peer of veth {name!r}{where(ns)}")
            link["peer"] = (peer_ns, peer["name"])
            del link["peer_ref"]
            self._note_peer(ns, name, link["peer"])
        return link.get("peer")

    def addresses(self, ns: str | None, name: str) -> list[str]:
        """Global addresses of one interface, canonical CIDR, sorted."""
        return [entry["cidr"] for entry in self._addresses(ns, name)]

    def secondaries(self, ns: str | None, name: str) -> set[str]:
        return {entry["cidr"] for entry in self._addresses(ns, name) if entry["secondary"]}

    def _addresses(self, ns: str | None, name: str) -> list[dict]:
        space = self.space(ns)
        if name not in space.addresses:
            entries = []
            if self._readable(ns) and self.link(ns, name) is not None:
                view = self.session.view(ns)
                secondary = view.secondaries(name)
                entries = [{"cidr": cidr, "secondary": cidr in secondary} for cidr in view.addresses(name)]
            space.addresses[name] = entries
        return space.addresses[name]

    def secondaries_lost_with_primary(self, ns: str | None, name: str) -> frozenset[str]:
        """IPv4 secondaries the kernel deletes together with their primary (promote_secondaries off)."""
        secondaries = self.secondaries(ns, name)
        if not secondaries or self.sysctl(ns, f"net.ipv4.conf.{name}.promote_secondaries") == "1":
            return frozenset()
        return frozenset(secondaries)

    def interface(self, ns: str | None, name: str) -> dict | None:
        """The state of one interface as the interface resources report it."""
        link = self.link(ns, name)
        if link is None:
            return None
        return {
            "name": name,
            "netns": ns,
            "kind": link["kind"],
            "mtu": link["mtu"],
            "master": link["master"],
            "up": link["up"],
            "addresses": self.addresses(ns, name),
        }

    def owner(self, ns: str | None, name: str) -> str | None:
        """The netns.core network whose mark a link carries (its alias), or None."""
        link = self.link(ns, name)
        alias = (link or {}).get("alias") or ""
        return alias[len(OWNER_PREFIX) :] if alias.startswith(OWNER_PREFIX) else None

    def link_names(self, ns: str | None) -> list[str]:
        """Every link of a namespace (one dump), as the model changed them."""
        space = self.space(ns)
        if self._readable(ns) and not space.dumped:
            for name in self.session.view(ns).links():
                self.link(ns, name)
            space.dumped = True
        return sorted(name for name, link in space.links.items() if link is not None)

    def all_addresses(self, ns: str | None) -> dict[str, list[str]]:
        """Every link's global addresses in a namespace (one dump of the namespace's addresses)."""
        if self._readable(ns):
            self.session.view(ns).load_all_addresses()
        return {name: self.addresses(ns, name) for name in self.link_names(ns)}

    def ports(self, ns: str | None, bridge: str) -> list[str]:
        """Every port of a bridge: the kernel's (one dump of the namespace's links), as the model changed them."""
        links = self.space(ns).links
        return [name for name in self.link_names(ns) if links[name]["master"] == bridge]

    # link mutators (used by simulate)
    def add_link(self, ns: str | None, link: dict) -> None:
        space = self.space(ns)
        link.setdefault("qdisc", None)  # a new (or moved) link has the kernel's default root qdisc
        space.links[link["name"]] = link
        self._note_peer(ns, link["name"], link.get("peer"))
        space.addresses[link["name"]] = []
        space.neighbours[link["name"]], space.fdb[link["name"]] = {}, []

    def change_link(self, ns: str | None, name: str, **fields) -> None:
        link = self._own(ns, name)
        up = fields.pop("up", link["up"])
        if up != link["up"]:
            link["up"] = up  # prefix routes come with an up link and go with a down one
            for entry in self._addresses(ns, name):
                if not entry["secondary"]:
                    self._prefix_route(ns, name, entry["cidr"], add=up)
        left = link["master"] if "master" in fields and fields["master"] != link["master"] else None
        link.update(fields)
        if left is not None:
            self._adjust_bridge_mtu(ns, left)
        if "master" in fields and fields["master"]:
            self._adjust_bridge_mtu(ns, fields["master"], joined=link["mtu"])

    def change_mac(self, ns: str | None, name: str, mac: str) -> None:
        """A new MAC: the kernel flushes the link's neighbour entries (permanent ones too: NETDEV_CHANGEADDR)."""
        self.change_link(ns, name, mac=mac)
        self.space(ns).neighbours[name] = {}

    def _own(self, ns: str | None, name: str) -> dict:
        link = self.link(ns, name)
        if link is None:  # planned around something missing (check mode): make it up
            link = new_link(name, None)
            self.add_link(ns, link)
        return link

    def _adjust_bridge_mtu(self, ns: str | None, bridge: str | None, joined: int | None = None) -> None:
        """A bridge made here without an MTU takes the smallest MTU of its ports, as the kernel does: a port that
        joins (with MTU `joined`) lowers it (no scan of every link per port); one that leaves makes it count again."""
        master = self.link(ns, bridge) if bridge else None
        if master is None or not master.get("auto_mtu"):
            return
        if joined is not None and master.get("ports_mtu") is not None:
            master["mtu"] = master["ports_mtu"] = min(master["ports_mtu"], joined)
            return
        ports = [link["mtu"] for link in self.space(ns).links.values() if link and link["master"] == bridge]
        master["ports_mtu"] = min(ports) if ports else None
        if ports:
            master["mtu"] = master["ports_mtu"]

    def remove_link(self, ns: str | None, name: str) -> None:
        self._drop_link(ns, name, with_peer=True)

    def _drop_link(self, ns: str | None, name: str, with_peer: bool) -> None:
        space = self.space(ns)
        link = self.link(ns, name)
        if link is None:
            return
        peer = self.peer(ns, name) if with_peer else None
        space.links[name] = None
        space.addresses[name] = []
        space.neighbours[name], space.fdb[name] = {}, []
        for family in (4, 6):  # routes not read yet are filtered when they are (see routes)
            if family in space.routes:
                space.routes[family] = [r for r in space.routes[family] if r["interface"] != name]
        space.dropped.add(name)
        if link["kind"] != "veth":  # a veth is never a master: no scan of every link for each veth
            for other in space.links.values():
                if other is not None and other["master"] == name:
                    other["master"] = None
        if peer is not None:
            self._drop_link(peer[0], peer[1], with_peer=False)

    def move_link(self, ns: str | None, name: str, to: str | None) -> None:
        """The link leaves `ns` for `to`: it arrives down, without addresses, routes or master; its veth peer
        now points at the new place."""
        link = self._own(ns, name)
        peer = self.peer(ns, name)
        moved = new_link(name, link["kind"], link["mtu"], peer=peer, alias=link.get("alias"))
        self._drop_link(ns, name, with_peer=False)
        self.add_link(to, moved)
        if peer is not None:
            other = self.link(*peer)
            if other is not None:
                other["peer"] = (to, name)
                self._note_peer(peer[0], peer[1], (to, name))

    # -- addresses -------------------------------------------------------------------------------------------
    def add_address(self, ns: str | None, name: str, cidr: str) -> None:
        self._own(ns, name)
        entries = self._addresses(ns, name)
        iface = ipaddress.ip_interface(cidr)
        secondary = iface.version == 4 and any(
            not e["secondary"] and ipaddress.ip_interface(e["cidr"]).network == iface.network for e in entries
        )
        entries.append({"cidr": cidr, "secondary": secondary})
        entries.sort(key=lambda e: address_sort_key(e["cidr"]))
        if self.link(ns, name)["up"] and not secondary:
            self._prefix_route(ns, name, cidr, add=True)

    def del_address(self, ns: str | None, name: str, cidr: str) -> None:
        entries = self._addresses(ns, name)
        entry = next((e for e in entries if e["cidr"] == cidr), None)
        if entry is None:
            return
        entries.remove(entry)
        iface = ipaddress.ip_interface(cidr)
        same = [e for e in entries if ipaddress.ip_interface(e["cidr"]).network == iface.network]
        if iface.version == 4 and not entry["secondary"] and same:
            if self.sysctl(ns, f"net.ipv4.conf.{name}.promote_secondaries") == "1":
                same[0]["secondary"] = False
                return  # the prefix route stays, now from the promoted address
            for lost in same:
                entries.remove(lost)
        if iface.version == 4 and entry["secondary"]:
            return
        if not any(ipaddress.ip_interface(e["cidr"]).network == iface.network for e in entries):
            self._prefix_route(ns, name, cidr, add=False)

    def _prefix_route(self, ns: str | None, name: str, cidr: str, add: bool) -> None:
        iface = ipaddress.ip_interface(cidr)
        if iface.version == 4 and iface.network.prefixlen == 32:
            return  # no prefix route for a /32
        family = iface.version
        route = {
            "family": family,
            "table": MAIN_TABLE,
            "destination": str(iface.network),
            "metric": PREFIX_ROUTE_METRIC[family],
            "gateway": None,
            "interface": name,
            "proto": RTPROT_KERNEL,
        }
        routes = [r for r in self.routes(ns, family) if not _same_route(r, route)]
        if add:
            routes.append(route)
        self.space(ns).routes[family] = routes

    # -- routes ----------------------------------------------------------------------------------------------
    def routes(self, ns: str | None, family: int) -> list[dict]:
        space = self.space(ns)
        if family not in space.routes:
            space.routes[family] = (
                [
                    dict(route)
                    for route in self.session.view(ns).routes(family)
                    if route["interface"] not in space.dropped
                ]
                if self._readable(ns)
                else []
            )
        return space.routes[family]

    def route(self, ns: str | None, family: int, table: int, destination: str, metric: int) -> dict | None:
        key = (family, table, destination, metric)
        for route in self.routes(ns, family):
            if (route["family"], route["table"], route["destination"], route["metric"]) == key:
                return route
        return None

    def connected_interface(self, ns: str | None, gateway: str) -> str | None:
        """The interface whose connected subnet (main table) holds `gateway`, as the kernel would pick it."""
        address = ipaddress.ip_address(gateway)
        for route in self.routes(ns, address.version):
            if route["gateway"] is None and route["interface"] and route["table"] == MAIN_TABLE:
                if route["destination"] not in ("::/0", "0.0.0.0/0") and address in ipaddress.ip_network(
                    route["destination"]
                ):
                    return route["interface"]
        return None

    def put_route(self, ns: str | None, route: dict) -> None:
        """Add or replace the route with the identity of `route` (family, table, destination, metric)."""
        routes = [r for r in self.routes(ns, route["family"]) if not _same_route(r, route)]
        routes.append(dict(route))
        self.space(ns).routes[route["family"]] = routes

    def remove_route(self, ns: str | None, route: dict) -> None:
        family = route["family"]
        self.space(ns).routes[family] = [r for r in self.routes(ns, family) if not _same_route(r, route)]

    # -- neighbour and forwarding entries (of a VXLAN device) ----------------------------------------------------
    def neighbours(self, ns: str | None, name: str) -> dict[str, str]:
        """Permanent neighbour entries of one link, address -> MAC."""
        space = self.space(ns)
        if name not in space.neighbours:
            index = self.session.view(ns).index(name) if self._readable(ns) else None
            space.neighbours[name] = dict(self.session.view(ns).neighbours(index)) if index else {}
        return space.neighbours[name]

    def fdb(self, ns: str | None, name: str) -> list[tuple[str, str]]:
        """Permanent forwarding entries (MAC, remote) of one VXLAN device, sorted."""
        space = self.space(ns)
        if name not in space.fdb:
            index = self.session.view(ns).index(name) if self._readable(ns) else None
            space.fdb[name] = list(self.session.view(ns).fdb(index)) if index else []
        return space.fdb[name]

    # neighbour and forwarding entry mutators (used by simulate)
    def put_neighbour(self, ns: str | None, name: str, address: str, mac: str) -> None:
        self.neighbours(ns, name)[address] = mac

    def remove_neighbour(self, ns: str | None, name: str, address: str) -> None:
        self.neighbours(ns, name).pop(address, None)

    def put_fdb(self, ns: str | None, name: str, mac: str, remote: str) -> None:
        """Replace: the MAC's entry now points at `remote` (a unicast MAC has one remote)."""
        entries = [entry for entry in self.fdb(ns, name) if entry[0] != mac] + [(mac, remote)]
        self.space(ns).fdb[name] = sorted(entries)

    def remove_fdb(self, ns: str | None, name: str, mac: str, remote: str) -> None:
        self.space(ns).fdb[name] = [entry for entry in self.fdb(ns, name) if entry != (mac, remote)]

    # -- sysctls ---------------------------------------------------------------------------------------------
    def sysctl(self, ns: str | None, key: str) -> str | None:
        """The value of a sysctl, tab-separated; None when there is no such key (or the namespace is new)."""
        space = self.space(ns)
        if key not in space.sysctls:
            space.sysctls[key] = read_sysctl(self.session, ns, key) if self._readable(ns) else None
        return space.sysctls[key]

    def sysctl_refusal(self, ns: str | None, key: str, value: str) -> str | None:
        """Why writing `value` to `key` could not converge (read-only; another number of fields), or None."""
        if not self.knows_sysctls(ns):
            return None
        current = self.sysctl(ns, key)
        if current is not None and not sysctl_writable(self.session, ns, key):
            return f"sysctl {key}{where(ns)} is read-only (the kernel refuses writes even to root)"
        fields = len((current or "").split("\t"))
        if current is not None and fields != len(value.split("\t")):
            return (
                f"sysctl {key}{where(ns)} holds {fields} field(s) ({current.replace(chr(9), ' ')!r}) but value "
                f"{value.replace(chr(9), ' ')!r} gives {len(value.split(chr(9)))}: give every field, or the kernel "
                "keeps the others and the run never converges"
            )
        return None

    def knows_sysctls(self, ns: str | None) -> bool:
        """False for a namespace this call makes: its sysctls cannot be read before it exists."""
        return self._readable(ns)

    def set_sysctl(self, ns: str | None, key: str, value: str) -> None:
        space = self.space(ns)
        space.sysctls[key] = value
        if key in SYSCTL_ALIASES:
            space.sysctls[SYSCTL_ALIASES[key]] = value

    # -- qdiscs (netem) --------------------------------------------------------------------------------------------
    def root_qdisc(self, ns: str | None, name: str) -> dict | None:
        """The root qdisc of a link as _tc.parse_qdisc gives it ({handle, kind, form}); None for no link or the
        kernel's built-in one. Read on demand, per link."""
        link = self.link(ns, name)
        if link is None:
            return None
        if "qdisc" not in link:
            from ansible_collections.netns.core.plugins.module_utils._tc import root_qdisc  # only netem reads it

            index = self.session.view(ns).index(name) if self._readable(ns) else None
            link["qdisc"] = None if index is None else root_qdisc(self.session.ipr(ns, strict=True), index)
        return link["qdisc"]

    def qdisc_kind_available(self, kind: str) -> bool:
        """Whether the kernel has qdisc `kind` (probed once, in a throw-away namespace: see _tc)."""
        if kind not in self.qdisc_kinds:
            from ansible_collections.netns.core.plugins.module_utils._tc import qdisc_kind_available

            self.qdisc_kinds[kind] = True if self.session is None else qdisc_kind_available(kind, self.session.home_fd)
        return self.qdisc_kinds[kind]

    # qdisc mutator (used by simulate)
    def set_root_qdisc(self, ns: str | None, name: str, qdisc: dict | None) -> None:
        self._own(ns, name)["qdisc"] = qdisc

    # -- files under /etc/netns (offline: none) ---------------------------------------------------------------------
    def etc_file(self, path: str) -> tuple[str, str | None]:
        """(kind, content) of a path: ('regular file', text), ('missing', None), or another kind (a symlink,
        a directory, ...) with None."""
        if path not in self._files:
            kind, content = ("missing", None) if self.session is None else read_file(path)
            # interned: a network's namespaces hold the same hosts file; one copy, not one per namespace
            self._files[path] = (kind, sys.intern(content) if content is not None else None)
        return self._files[path]

    def etc_directory(self, path: str) -> tuple[str, list[str] | None]:
        """(kind, sorted entry names) of a path: ('directory', [...]), ('missing', None), or another kind."""
        if path not in self._directories:
            kind, names = ("missing", None) if self.session is None else read_directory(path)
            self._directories[path] = (kind, None if names is None else set(names))
        kind, names = self._directories[path]
        return kind, None if names is None else sorted(names)

    def etc_leftovers(self) -> list[tuple[str, str, list[str] | None]]:
        """(path, kind, entries) of each work in progress in /etc/netns whose writer is gone (see _netnsfs):
        a crash's leftovers still there, in name order. /etc/netns is looked through once per call."""
        if self._leftovers is None:
            _kind, names = self.etc_directory(NETNS_ETC_DIR)
            self._leftovers = [os.path.join(NETNS_ETC_DIR, n) for n in names or () if leftover_pid(n) is not None]
        return [(path, *self.etc_directory(path)) for path in self._leftovers if self._listed(path)]

    def _listed(self, path: str) -> bool:
        parent, name = os.path.split(path)
        names = self._directories.get(parent, (None, None))[1]
        return names is not None and name in names

    # file mutators (used by simulate)
    def _enter(self, path: str, present: bool) -> None:
        """Keep the listing of `path`'s directory (under /etc/netns) in step with a change of `path`."""
        parent, name = os.path.split(path)
        if parent != NETNS_ETC_DIR and not parent.startswith(NETNS_ETC_DIR + "/"):
            return
        if self.etc_directory(parent)[0] != "directory":
            if not present:
                return
            self.make_etc_directory(parent)  # planned around something missing (check mode): make it up
        names = self._directories[parent][1]
        if present:
            names.add(name)
        else:
            names.discard(name)

    def make_etc_directory(self, path: str) -> None:
        self._enter(path, True)
        self._directories[path] = ("directory", set())

    def put_etc_file(self, path: str, content: str) -> None:
        self._enter(path, True)
        self._files[path] = ("regular file", content)

    def remove_etc_file(self, path: str) -> None:
        self._enter(path, False)
        self._files[path] = ("missing", None)

    def remove_etc_directory(self, path: str, files: tuple = ()) -> None:
        """The directory goes, with `files` in it."""
        for name in files:
            self.remove_etc_file(os.path.join(path, name))
        self._enter(path, False)
        self._directories[path] = ("missing", None)

    # -- firewall --------------------------------------------------------------------------------------------
    def listing(self, ns: str | None, backend: str, family: int, table: str) -> list:
        """The rules of one table as its backend lists them (in order)."""
        space = self.space(ns)
        key = (backend, family, table)
        if key not in space.listings:
            space.listings[key] = self.firewall(backend, family).list(ns, table) if self._readable(ns) else []
        return space.listings[key]

    def forward_drops(self, ns: str | None, backend: str, family: int) -> list[str]:
        """The chains of other tables whose DROP policy on the forward hook drops what `backend` accepts (nothing
        known in a namespace this call makes, or offline)."""
        if self.firewall is None or not self._readable(ns):
            return []
        return self.firewall(backend, family).forward_drops(ns)

    def insert_rule(self, ns: str | None, backend: str, family: int, rule) -> None:
        rules = self.listing(ns, backend, family, rule.table)
        if rule.insert:
            first = next((i for i, r in enumerate(rules) if r.chain == rule.chain), len(rules))
            rules.insert(first, rule)
        else:
            rules.append(rule)

    def delete_rule(self, ns: str | None, backend: str, family: int, rule) -> None:
        rules = self.listing(ns, backend, family, rule.table)
        for index, existing in enumerate(rules):
            if existing.key == rule.key:
                del rules[index]
                return


def route_key(route: dict) -> tuple:
    """What names a route in the kernel: (family, table, destination, metric)."""
    return route["family"], route["table"], route["destination"], route["metric"]


def _same_route(one: dict, other: dict) -> bool:
    return route_key(one) == route_key(other)
