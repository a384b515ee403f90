# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The vxlan resource: one VXLAN device and every neighbour, forwarding entry and route on it.

flannel's layer-3 model without its daemon: per peer host a permanent neighbour (the peer's VTEP address -> its
VTEP MAC), a forwarding entry (that MAC -> the peer's underlay address) and an onlink route of each of the peer's
subnets via its VTEP address, made in that order (the route last: the kernel would otherwise resolve the gateway)
and removed in the reverse one. The device is ours, so its entries are exactly the peers': anything else on it
(a permanent neighbour or forwarding entry, a route that is not the kernel's own) is removed. The kernel's cache
(entries it learnt or is resolving) is not configuration and is left alone.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._constants import (
    DEFAULT_METRIC,
    MAIN_TABLE,
    VNI_MAX,
    VXLAN_PORT,
)
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._iface import config_changes, fresh_state, refuse_other_kind
from ansible_collections.netns.core.plugins.module_utils._model import (
    RTPROT_KERNEL,
    KernelModel,
    route_key,
    where,
    where_or_host,
)
from ansible_collections.netns.core.plugins.module_utils._ops import (
    CreateVxlan,
    DeleteFdb,
    DeleteLink,
    DeleteNeighbour,
    DeleteRoute,
    Op,
    ReplaceFdb,
    ReplaceNeighbour,
    ReplaceRoute,
    SetLearning,
    SetMac,
)
from ansible_collections.netns.core.plugins.module_utils._ownership import claim, mark_new, someone_elses
from ansible_collections.netns.core.plugins.module_utils._resource import Resource

MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
#: what changes only by deleting and creating the device again (as flannel's vxlanLinksIncompat)
FIXED = ("vni", "port", "local", "underlay_interface")


def mac_address(value: object, option: str) -> str:
    """A unicast MAC, lower case with colons."""
    text = str(value).strip().lower().replace("-", ":")
    if not MAC_RE.match(text):
        raise NetnsCoreError(f"{option} {value!r} is not a MAC address (six hex bytes: 0e:6e:0a:f4:01:00)")
    if int(text[:2], 16) & 1:
        raise NetnsCoreError(f"{option} {value!r} is a multicast MAC address: a device or peer needs a unicast one")
    if text == "00:00:00:00:00:00":
        raise NetnsCoreError(f"{option} {value!r} is the all-zero MAC address")
    return text


def route_text(route: dict) -> str:
    return f"{route['destination']} via {route['gateway']}" + (" onlink" if route.get("onlink") else "")


class Vxlan(Resource):
    kind = "vxlan"

    def __init__(self, params: dict) -> None:
        super().__init__(params)
        self.name = norm.ifname(params["name"], "name")
        self.ns = norm.netns_name(params.get("netns"))
        self.owner = norm.owner(params.get("owner"))
        self.mtu = norm.mtu(params.get("mtu"))
        self.addresses = norm.address_list(params.get("addresses"))
        self.mac: str | None = None
        self.peers: list[dict] = []
        if self.state == "absent":
            return
        if params.get("vni") is None or params.get("local") is None:
            missing = [option for option in ("vni", "local") if params.get(option) is None]
            raise NetnsCoreError(f"a present vxlan needs {' and '.join(missing)}")
        self.vni = norm.positive_int(params["vni"], "vni", 1, VNI_MAX)
        port = params.get("port")
        self.port = norm.positive_int(VXLAN_PORT if port is None else port, "port", 1, 65535)
        self.local = norm.ip(params["local"], "local")
        self.family = norm.family_of(self.local)
        self.underlay = norm.ifname(params.get("underlay_interface"), "underlay_interface")
        self.mac = mac_address(params["mac"], "mac") if params.get("mac") else None
        self.learning = bool(params.get("learning"))
        norm.interface_config(self.name, self.mtu, self.addresses)
        self.peers = self._peers(params.get("peers") or [])

    def _peers(self, raw: list) -> list[dict]:
        peers: list[dict] = []
        seen: dict[tuple[str, str], int] = {}
        for index, peer in enumerate(raw):
            at = f"peers[{index}]"
            # the option spec (VXLAN_OPTIONS) has checked each peer's keys and types: here, what they mean
            remote = norm.ip(peer["remote"], f"{at}.remote")
            if norm.family_of(remote) != self.family:
                raise NetnsCoreError(
                    f"{at}.remote {peer['remote']!r} is IPv{norm.family_of(remote)} but local {self.local!r} is"
                    f" IPv{self.family}"
                )
            if remote == self.local:
                raise NetnsCoreError(f"{at}.remote {peer['remote']!r} is this device's own local address")
            address = norm.ip(peer["address"], f"{at}.address")
            nets = []
            for position, subnet in enumerate(peer.get("subnets") or []):
                net = norm.network(subnet, f"{at}.subnets[{position}]")
                if norm.family_of(net) != norm.family_of(address):
                    raise NetnsCoreError(
                        f"{at}.subnets[{position}] {subnet!r} is not of the family of address {peer['address']!r}"
                    )
                nets.append(net)
            entry = {"remote": remote, "mac": mac_address(peer["mac"], f"{at}.mac"), "address": address}
            entry["subnets"] = nets
            for key in ("remote", "mac", "address"):
                other = seen.setdefault((key, entry[key]), index)
                if other != index:
                    raise NetnsCoreError(f"{at}.{key} {entry[key]!r} is also peers[{other}].{key}: one peer each")
            for net in nets:
                other = seen.setdefault(("subnet", net), index)
                if other != index:
                    raise NetnsCoreError(f"{at}.subnets: {net} is also a subnet of peers[{other}]")
            peers.append(entry)
        return peers

    def claims(self) -> list[tuple[str | None, str]]:
        return [(self.ns, self.name)]

    def label(self) -> str:
        return f"vxlan {self.name}{where(self.ns)}"

    def namespaces(self) -> list[tuple[str, str | None]]:
        return [("netns", self.ns)]

    # -- read ---------------------------------------------------------------------------------------------
    def read(self, model: KernelModel) -> dict | None:
        refuse_other_kind(model, self.ns, self.name, "vxlan", "name")
        state = model.interface(self.ns, self.name)
        if state is None:
            return None
        link = model.link(self.ns, self.name)
        state.update(link.get("vxlan") or {})
        # the MAC is ours only when given: a check run cannot know the one the kernel will draw
        state["mac"] = link.get("mac") if self.mac is not None else None
        state["neighbours"] = dict(sorted(model.neighbours(self.ns, self.name).items()))
        state["fdb"] = sorted(f"{mac} dst {remote}" for mac, remote in model.fdb(self.ns, self.name))
        state["routes"] = sorted(route_text(route) for route in self._routes_on(model))
        return state

    def _routes_on(self, model: KernelModel) -> list[dict]:
        """The routes through the device that are not the kernel's own (its addresses' prefix routes)."""
        return [
            route
            for family in (4, 6)
            for route in model.routes(self.ns, family)
            if route["interface"] == self.name and route.get("proto") != RTPROT_KERNEL
        ]

    # -- want, plan ---------------------------------------------------------------------------------------
    def _peer_routes(self, peer: dict) -> list[dict]:
        """The onlink routes of one peer's subnets via its VTEP address, through this device."""
        return [
            {
                "family": norm.family_of(net),
                "table": MAIN_TABLE,
                "destination": net,
                "metric": DEFAULT_METRIC[norm.family_of(net)],
                "gateway": peer["address"],
                "interface": self.name,
                "onlink": True,
            }
            for net in peer["subnets"]
        ]

    def _want_routes(self) -> list[dict]:
        return [route for peer in self.peers for route in self._peer_routes(peer)]

    def desired(self) -> dict | None:
        if self.state == "absent":
            return None
        return {
            "name": self.name,
            "netns": self.ns,
            "kind": "vxlan",
            "mtu": self.mtu,
            "master": None,
            "up": True,
            "addresses": self.addresses,
            "vni": self.vni,
            "port": self.port,
            "local": self.local,
            "underlay_interface": self.underlay,
            "learning": self.learning,
            "mac": self.mac,
            "neighbours": dict(sorted((peer["address"], peer["mac"]) for peer in self.peers)),
            "fdb": sorted(f"{peer['mac']} dst {peer['remote']}" for peer in self.peers),
            "routes": sorted(route_text(route) for route in self._want_routes()),
        }

    def plan(self, model: KernelModel, before: dict | None, want: dict | None) -> list[Op]:
        at = f"{self.name}{where(self.ns)}"
        what = f"vxlan {at}"
        if want is None:
            if before is None or someone_elses(model, self.ns, self.name, self.owner, what):
                return []
            return [DeleteLink(self.ns, self.name).says(f"delete vxlan {at} (its entries and routes go with it)")]
        self._check_underlay(model)
        ops: list[Op] = []
        changed = [key for key in FIXED if before is not None and want[key] is not None and before[key] != want[key]]
        if changed:
            claim(model, self.ns, self.name, self.owner, what)  # refuses another network's device
            ops.append(
                DeleteLink(self.ns, self.name).says(
                    f"delete vxlan {at} to make it again: "
                    + ", ".join(f"{key} {before[key]} -> {want[key]}" for key in changed)
                    + " (the kernel cannot change it in place)"
                )
            )
        fresh = before is None or bool(changed)
        flushed = fresh
        if fresh:
            self._check_vni_free(model)
            create = CreateVxlan(
                self.ns, self.name, self.vni, self.port, self.local, self.underlay, self.mac, self.mtu, self.learning
            )
            ops.append(create.says(f"create vxlan {at} (vni {self.vni}, port {self.port}, local {self.local})"))
            ops += mark_new(self.ns, self.name, self.owner, what)
            have = fresh_state(self.name, self.ns, "vxlan", self.mtu)
        else:
            ops += claim(model, self.ns, self.name, self.owner, what)
            have = before
            if have["learning"] != self.learning:
                ops.append(
                    SetLearning(self.ns, self.name, self.learning).says(
                        f"turn learning {'on' if self.learning else 'off'} on vxlan {at}"
                    )
                )
            if self.mac is not None and have["mac"] != self.mac:
                ops.append(SetMac(self.ns, self.name, self.mac).says(f"set mac {self.mac} on vxlan {at}"))
                flushed = True  # a new MAC makes the kernel flush the link's neighbour entries, permanent ones too
        lost = frozenset() if fresh else model.secondaries_lost_with_primary(self.ns, self.name)
        ops += config_changes(have, {**want, "master": None}, lost)
        return ops + self._entry_changes(model, fresh, flushed)

    def _entry_changes(self, model: KernelModel, fresh: bool, flushed: bool) -> list[Op]:
        """Routes, neighbours and forwarding entries: the unwanted ones go first (routes first), then the
        missing ones come (neighbour, forwarding entry, route: the route last). fresh: a device made by this
        plan; flushed: its neighbour entries are gone by then (a new device, or a new MAC)."""
        at = f"{self.name}{where(self.ns)}"
        neighbours = {} if flushed else model.neighbours(self.ns, self.name)
        fdb = [] if fresh else model.fdb(self.ns, self.name)
        routes = [] if fresh else self._routes_on(model)
        want_routes = self._want_routes()
        want_neighbours = {peer["address"]: peer["mac"] for peer in self.peers}
        want_fdb = {(peer["mac"], peer["remote"]) for peer in self.peers}
        ops: list[Op] = []
        wanted_routes = {route_key(route): route for route in want_routes}
        for route in routes:
            if route_key(route) not in wanted_routes:
                ops.append(DeleteRoute(self.ns, dict(route)).says(f"delete route {route_text(route)} dev {at}"))
        for address in sorted(set(neighbours) - set(want_neighbours)):
            ops.append(DeleteNeighbour(self.ns, self.name, address).says(f"delete neighbour {address} on {at}"))
        entries_of = Counter(mac for mac, _remote in fdb)
        wanted_macs = {mac for mac, _remote in want_fdb}
        for mac, remote in fdb:
            # a wanted MAC's only entry is replaced in place (one request, no moment without it)
            if (mac, remote) not in want_fdb and not (mac in wanted_macs and entries_of[mac] == 1):
                ops.append(DeleteFdb(self.ns, self.name, mac, remote).says(f"delete fdb {mac} dst {remote} on {at}"))
        have_fdb = set(fdb)
        have_routes = {route_key(route): route for route in routes}
        for peer in self.peers:
            if neighbours.get(peer["address"]) != peer["mac"]:
                ops.append(
                    ReplaceNeighbour(self.ns, self.name, peer["address"], peer["mac"]).says(
                        f"add neighbour {peer['address']} lladdr {peer['mac']} on {at}"
                    )
                )
            if (peer["mac"], peer["remote"]) not in have_fdb or entries_of[peer["mac"]] > 1:
                ops.append(
                    ReplaceFdb(self.ns, self.name, peer["mac"], peer["remote"]).says(
                        f"add fdb {peer['mac']} dst {peer['remote']} on {at}"
                    )
                )
            for route in self._peer_routes(peer):
                have = have_routes.get(route_key(route))
                if have is None or have["gateway"] != route["gateway"] or not have.get("onlink"):
                    ops.append(ReplaceRoute(self.ns, route).says(f"add route {route_text(route)} dev {at}"))
        return ops

    def _check_underlay(self, model: KernelModel) -> None:
        """The underlay interface must exist, and the local address be one of the namespace's (else the
        encapsulated packets leave with a source nobody answers)."""
        if not model.exists(self.ns):
            return
        if self.underlay is not None and model.link(self.ns, self.underlay) is None:
            model.missing(f"underlay_interface {self.underlay!r} does not exist{where_or_host(self.ns)}")
            return
        local = ipaddress.ip_address(self.local)
        held = [
            name
            for name, addresses in model.all_addresses(self.ns).items()
            if any(ipaddress.ip_interface(cidr).ip == local for cidr in addresses)
        ]
        if not held:
            model.missing(f"local {self.local!r} is not an address of any interface{where_or_host(self.ns)}")
        elif self.underlay is not None and self.underlay not in held:
            raise NetnsCoreError(
                f"local {self.local!r} is an address of {held[0]!r}, not of underlay_interface {self.underlay!r}"
                f"{where(self.ns)}: the encapsulated packets would leave by one interface with the other's address"
            )

    def _check_vni_free(self, model: KernelModel) -> None:
        """One VNI and port per namespace: the kernel refuses a second device with both (whatever its local)."""
        for name in model.link_names(self.ns):
            link = model.link(self.ns, name)
            vxlan = link.get("vxlan") if link["kind"] == "vxlan" else None
            if name != self.name and vxlan and (vxlan["vni"], vxlan["port"]) == (self.vni, self.port):
                raise NetnsCoreError(
                    f"vni {self.vni}: vxlan {name!r}{where_or_host(self.ns)} already has vni {self.vni} on port "
                    f"{self.port}; the kernel allows one device per VNI and port in a namespace"
                )

    def result_extra(self, after: dict | None) -> dict:
        return {"interface": after}


def peers_of(neighbours: dict[str, str], fdb: list[tuple[str, str]], routes: list[dict]) -> list[dict]:
    """The peers a VXLAN device's entries describe, as the `peers` option takes them (netns_info): its permanent
    neighbours (address -> MAC), forwarding entries ((MAC, remote)) and the routes through it with a gateway."""
    remotes: dict[str, str] = {}
    for mac, remote in fdb:
        remotes.setdefault(mac, remote)
    subnets: dict[str, list[str]] = {}
    for route in routes:
        subnets.setdefault(route["gateway"], []).append(route["destination"])
    return [
        {"remote": remotes.get(mac), "mac": mac, "address": address, "subnets": sorted(subnets.get(address, []))}
        for address, mac in sorted(neighbours.items())
    ]
