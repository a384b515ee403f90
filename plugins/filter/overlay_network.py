# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.overlay_network: one host's part of an overlay mesh as the options of one netns.core.network call."""

from __future__ import annotations

DOCUMENTATION = r"""
name: overlay_network
short_description: Turn one host's part of an overlay (VXLAN or host-gw) mesh into netns.core.network options
version_added: 1.1.0
description:
  - Used by the P(netns.core.overlay#role) role. Computes, from the inventory alone, what one host of the group
    builds, the P(netns.core.bridge_nat#role) network of its own subnet (a bridge with the gateway C(.1), a namespace
    and a veth per container, default routes, NAT of what leaves the cluster CIDR, published ports), plus the mesh
    to every other host of the group, one VXLAN device with a peer entry per other host (backend C(vxlan)) or one
    route per other host's subnet via its underlay address (backend C(host-gw)), and tagged FORWARD accepts for
    the cluster CIDR to and from this host's subnet.
  - Every value is a pure function of the inventory, so each host computes the same mesh without facts from its
    peers. A host's subnet is subnet number the host variable C(overlay_index) (from 0) of O(_input.cidr) split at
    O(_input.host_prefix), or its host variable C(overlay_subnet). The gateway is the subnet's first host address;
    the VTEP address is the subnet's network address (a /32 on the VXLAN device); the VTEP MAC is C(0e:6e:) and the
    4 bytes of that address.
  - The whole group is checked on every host, so a bad value of one host fails every host before anything changes,
    with an error naming the host, the variable and the value (a duplicate index names both hosts and the next free
    index).
options:
  _input:
    description: The role's inputs, without the C(overlay_) prefix, with the group and the hosts' variables.
    type: dict
    required: true
    suboptions:
      host:
        description: This host's inventory name (C(inventory_hostname)).
        type: str
        required: true
      group:
        description: The group's name, for messages.
        type: str
        default: overlay
      members:
        description: The group's hosts (C(groups[overlay_group])), this host among them. Peers come from here only.
        type: list
        elements: str
        required: true
      hostvars:
        description:
          - Each member's variables (C(hostvars)); only C(overlay_index), C(overlay_subnet), C(overlay_underlay_ip)
            and C(ansible_host) are read.
          - The underlay IP is C(overlay_underlay_ip), else C(ansible_host) (else the host's name) when that is an IP
            address.
        type: dict
        required: true
      cidr:
        description: The cluster's CIDR.
        type: str
        default: 10.244.0.0/16
      host_prefix:
        description: Prefix length of each host's subnet.
        type: int
        default: 24
      backend:
        description: C(vxlan) or C(host-gw).
        type: str
        default: vxlan
      vni:
        description: VXLAN network identifier, 1 to 16777215.
        type: int
        default: 1
      port:
        description: VXLAN UDP port.
        type: int
        default: 4789
      device:
        description: Name of the VXLAN device.
        type: str
        default: vx-overlay
      mtu:
        description: MTU of the VXLAN device, the bridge and both ends of every veth; 0 derives it from the underlay
          interface's MTU (less 50 for vxlan, less 70 over an IPv6 underlay, equal for host-gw).
        type: int
        default: 0
      bridge:
        description: Name of the bridge.
        type: str
        default: br-overlay
      containers:
        description: This host's containers, as the P(netns.core.bridge_nat#role) role's C(bridge_nat_containers).
        type: list
        elements: dict
        default: []
      port_forwards:
        description: As C(bridge_nat_port_forwards).
        type: list
        elements: dict
        default: []
      masquerade:
        description: NAT what leaves the cluster CIDR (never traffic between the cluster's containers).
        type: bool
        default: true
      underlay_interface:
        description: The underlay interface; empty, the interface of O(_input.facts) holding this host's underlay IP.
        type: str
      facts:
        description: This host's network facts (C(ansible_facts) after C(gather_subset=network)), for the underlay
          interface's name, MTU and connected subnets; may be empty when the interface and the MTU are given and the
          backend is vxlan.
        type: dict
        default: {}
      state:
        description: C(present) or C(absent); absent needs no facts.
        type: str
        default: present
"""

EXAMPLES = r"""
- name: This host's part of the mesh
  ansible.builtin.set_fact:
    plan: >-
      {{ {'host': inventory_hostname, 'members': groups['overlay'], 'hostvars': hostvars,
          'containers': [{'name': 'web'}], 'facts': ansible_facts} | netns.core.overlay_network }}
  # with overlay_index 1 and overlay_underlay_ip 192.168.50.1 on eth0 (MTU 1500):
  # plan.subnet == '10.244.1.0/24', plan.gateway == '10.244.1.1', plan.addresses == {'web': '10.244.1.2'},
  # plan.mtu == 1450, plan.overlay_hosts.host1.vtep_mac == '0e:6e:0a:f4:01:00'
"""

RETURN = r"""
_value:
  description: C(network) (the options of M(netns.core.network) without state and owner), C(addresses) (container
    name to IP), C(host_interfaces), C(overlay_hosts) (every host of the group to C({subnet, underlay_ip,
    vtep_address, vtep_mac})), C(subnet), C(gateway), C(mtu), C(underlay_interface), C(underlay_ip).
  type: dict
"""

import hashlib
import ipaddress
from collections.abc import Mapping
from itertools import chain

from ansible.errors import AnsibleFilterError

from ansible_collections.netns.core.plugins.filter.bridge_nat_network import bridge_nat_network
from ansible_collections.netns.core.plugins.module_utils._constants import (
    FORWARD_KEY,
    MTU_MAX,
    MTU_MIN,
    VNI_MAX,
    VXLAN6_HEADROOM,
    VXLAN_HEADROOM,
    VXLAN_PORT,
)

BACKENDS = ("vxlan", "host-gw")
#: bytes VXLAN adds around a frame, over an IPv4 and an IPv6 underlay
VXLAN_OVERHEAD = {4: VXLAN_HEADROOM, 6: VXLAN6_HEADROOM}
#: the first two bytes of every VTEP MAC: locally administered, unicast
MAC_PREFIX = "0e:6e"


def _fail(message: str):
    raise AnsibleFilterError(f"overlay: {message}")


def _var(variables: object, name: str):
    """A host's variable, or None when it is not set (a missing key, or null)."""
    if not isinstance(variables, Mapping):
        return None
    try:
        value = variables[name]
    except KeyError:
        return None
    return None if value == "" else value


def _integer(value: object, what: str, low: int, high: int) -> int:
    """An int in [low, high] (INI inventories give strings), else a clear error."""
    if isinstance(value, bool):
        _fail(f"{what} {value!r} is not an integer")
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        _fail(f"{what} {value!r} is not an integer")
    if not low <= number <= high:
        _fail(f"{what} {value!r} is out of range ({low} to {high})")
    return number


def vtep_mac(subnet: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    """0e:6e: and the 4 bytes of the subnet's network address (IPv6: 4 bytes of its sha256)."""
    packed = subnet.network_address.packed
    tail = packed if subnet.version == 4 else hashlib.sha256(packed).digest()[:4]
    return ":".join([MAC_PREFIX, *(f"{byte:02x}" for byte in tail)])


def nth_subnet(cidr, prefix: int, index: int):
    """Subnet number `index` (from 0) of `cidr` split at `prefix`, without listing the ones before it."""
    size = 1 << (cidr.max_prefixlen - prefix)
    return ipaddress.ip_network((int(cidr.network_address) + index * size, prefix))


class Cluster:
    """The cluster-wide settings (this host's view of them), checked."""

    def __init__(self, spec: dict) -> None:
        text = str(spec.get("cidr") or "10.244.0.0/16").strip()
        try:
            self.cidr = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            _fail(f"overlay_cidr {text!r} is not a CIDR network ({exc})")
        top = self.cidr.max_prefixlen - 2  # a host's subnet needs a gateway and a container beside its ends
        self.prefix = _integer(spec.get("host_prefix", 24), "overlay_host_prefix", self.cidr.prefixlen, top)
        self.count = 1 << (self.prefix - self.cidr.prefixlen)
        self.backend = str(spec.get("backend") or "vxlan")
        if self.backend not in BACKENDS:
            _fail(f"overlay_backend {self.backend!r} is not one of {', '.join(BACKENDS)}")
        self.vni = _integer(spec.get("vni", 1), "overlay_vni", 1, VNI_MAX)
        self.port = _integer(spec.get("port", VXLAN_PORT), "overlay_port", 1, 65535)
        mtu = spec.get("mtu") or 0
        self.mtu = 0 if mtu in (0, "0") else _integer(mtu, "overlay_mtu", MTU_MIN, MTU_MAX)

    def index_of(self, subnet) -> int | None:
        """The index whose subnet is exactly `subnet`, or None for a subnet of another size."""
        if subnet.prefixlen != self.prefix:
            return None
        return (int(subnet.network_address) - int(self.cidr.network_address)) >> (self.cidr.max_prefixlen - self.prefix)

    def next_free(self, taken: list) -> int | None:
        """The first index after the highest one taken whose subnet overlaps none of `taken` (appending a host is
        the usual change), else the lowest free one; None when the CIDR is full."""
        highest = max((self.index_of(subnet) or 0 for subnet in taken if subnet.subnet_of(self.cidr)), default=-1)
        for index in chain(range(highest + 1, self.count), range(min(highest + 1, self.count))):
            candidate = nth_subnet(self.cidr, self.prefix, index)
            if not any(candidate.overlaps(subnet) for subnet in taken):
                return index
        return None


class Member:
    """One host of the group: its subnet and underlay address, from its own variables."""

    def __init__(self, name: str, variables: object, cluster: Cluster) -> None:
        self.name = name
        self.index = None
        self.subnet = None
        index, subnet = _var(variables, "overlay_index"), _var(variables, "overlay_subnet")
        cidr = cluster.cidr
        self.given_index = index is not None
        if index is not None:
            self.index = _integer(index, f"host {name!r}: overlay_index", -(2**128), 2**128)
            if not 0 <= self.index < cluster.count:
                _fail(
                    f"host {name!r}: overlay_index {index!r} is "
                    + ("negative" if self.index < 0 else f"past the end of overlay_cidr {cidr}")
                    + f" (split at /{cluster.prefix}, its indexes are 0 to {cluster.count - 1})"
                )
            self.subnet = nth_subnet(cidr, cluster.prefix, self.index)
        if subnet is not None:
            try:
                explicit = ipaddress.ip_network(str(subnet).strip(), strict=True)
            except ValueError as exc:
                _fail(f"host {name!r}: overlay_subnet {subnet!r} is not a CIDR network ({exc})")
            if explicit.version != cidr.version or not explicit.subnet_of(cidr):
                _fail(f"host {name!r}: overlay_subnet {subnet!r} is outside overlay_cidr {cidr}")
            if explicit.num_addresses < 4:
                _fail(f"host {name!r}: overlay_subnet {subnet!r} is too small for a gateway and a container")
            if self.subnet is not None and explicit != self.subnet:
                _fail(
                    f"host {name!r}: overlay_subnet {subnet!r} is not subnet number {self.index} ({self.subnet}) that"
                    " its overlay_index names: set one of them"
                )
            self.subnet = explicit
            self.index = cluster.index_of(explicit)
        self.underlay_ip = self._underlay_ip(variables)

    def _underlay_ip(self, variables: object):
        given = _var(variables, "overlay_underlay_ip")
        if given is not None:
            try:
                return ipaddress.ip_address(str(given).strip())
            except ValueError:
                _fail(f"host {self.name!r}: overlay_underlay_ip {given!r} is not an IP address")
        fallback = _var(variables, "ansible_host") or self.name
        try:
            return ipaddress.ip_address(str(fallback).strip())
        except ValueError:
            _fail(
                f"host {self.name!r}: overlay_underlay_ip is not set and ansible_host {fallback!r} is not an IP"
                " address: set overlay_underlay_ip"
            )

    def describe(self) -> dict:
        return {
            "subnet": str(self.subnet),
            "underlay_ip": str(self.underlay_ip),
            "vtep_address": str(self.subnet.network_address),
            "vtep_mac": vtep_mac(self.subnet),
        }


def members_of(spec: dict, cluster: Cluster, host: str, group: str) -> list[Member]:
    """Every host of the group, checked against each other (the same on every host, so all fail alike)."""
    names = list(spec.get("members") or [])
    if host not in names:
        _fail(f"host {host!r} is not in the group {group!r} (overlay_group): the mesh is the group's hosts")
    hostvars = spec.get("hostvars") or {}
    members = []
    for name in names:
        try:
            variables = hostvars[name]
        except KeyError:
            variables = {}
        members.append(Member(name, variables, cluster))
    taken = [member.subnet for member in members if member.subnet is not None]
    free = cluster.next_free(taken)
    free_text = f"the next free index is {free}" if free is not None else f"overlay_cidr {cluster.cidr} is full"
    for member in members:
        if member.subnet is None:
            _fail(f"host {member.name!r} has neither overlay_index nor overlay_subnet: set one ({free_text})")
    for position, member in enumerate(members):
        for other in members[:position]:
            if member.given_index and other.given_index and member.index == other.index:
                _fail(
                    f"hosts {other.name!r} and {member.name!r} both have overlay_index {member.index}"
                    f" ({member.subnet}): one index per host ({free_text})"
                )
            if member.subnet.overlaps(other.subnet):
                _fail(
                    f"host {member.name!r}: overlay_subnet {member.subnet} overlaps host {other.name!r}'s subnet"
                    f" {other.subnet}: one subnet per host ({free_text})"
                )
            if member.underlay_ip == other.underlay_ip:
                _fail(
                    f"hosts {other.name!r} and {member.name!r} both have the underlay IP {member.underlay_ip}"
                    " (overlay_underlay_ip, else ansible_host): one underlay address per host"
                )
            if member.underlay_ip.version != other.underlay_ip.version:
                _fail(
                    f"host {member.name!r}: overlay_underlay_ip {member.underlay_ip} is IPv{member.underlay_ip.version}"
                    f" and host {other.name!r}'s {other.underlay_ip} is not: one address family per underlay"
                )
    return members


class Underlay:
    """This host's underlay interface from its facts: name, MTU, connected networks (None when unknown)."""

    def __init__(self, host: str, me: Member, given: str | None, facts: object) -> None:
        facts = facts if isinstance(facts, Mapping) else {}
        names = list(facts.get("interfaces") or [])
        self.known = bool(names)
        self.name = given or None
        self.mtu = None
        self.networks: list = []
        if not self.known:
            return
        details = {}
        for name in names:
            info = facts.get(str(name).replace("-", "_")) or facts.get(name)
            if isinstance(info, Mapping):
                details[str(info.get("device") or name)] = info
        if self.name is None:
            holding = [name for name, info in details.items() if me.underlay_ip in self._addresses(info)]
            if not holding:
                _fail(
                    f"host {host!r}: overlay_underlay_ip {me.underlay_ip} is on none of its interfaces"
                    f" ({', '.join(sorted(details))}): fix overlay_underlay_ip or set overlay_underlay_interface"
                )
            self.name = holding[0]
        info = details.get(self.name)
        if info is None:
            _fail(
                f"host {host!r}: overlay_underlay_interface {self.name!r} is not one of its interfaces"
                f" ({', '.join(sorted(details))})"
            )
        if info.get("mtu"):
            self.mtu = int(info["mtu"])
        self.networks = [address.network for address in self._interfaces(info)]
        #: the subnet(s) of this host's own underlay address: host-gw peers must be on it (the same answer on every
        #: host: a host with an address in another subnet too must not pass where its peers fail)
        self.home = [address.network for address in self._interfaces(info) if address.ip == me.underlay_ip]

    @staticmethod
    def _interfaces(info: Mapping) -> list:
        found = []
        v4 = [info.get("ipv4")] if isinstance(info.get("ipv4"), Mapping) else list(info.get("ipv4") or [])
        for entry in v4 + list(info.get("ipv4_secondaries") or []):
            if isinstance(entry, Mapping) and entry.get("address") and entry.get("netmask"):
                found.append(ipaddress.ip_interface(f"{entry['address']}/{entry['netmask']}"))
        for entry in info.get("ipv6") or []:
            if isinstance(entry, Mapping) and entry.get("address") and entry.get("prefix") is not None:
                found.append(ipaddress.ip_interface(f"{entry['address'].split('%')[0]}/{entry['prefix']}"))
        return found

    @classmethod
    def _addresses(cls, info: Mapping) -> list:
        return [address.ip for address in cls._interfaces(info)]


def overlay_network(spec: dict) -> dict:
    if not isinstance(spec, Mapping):
        raise AnsibleFilterError(f"overlay_network expects a dict of inputs, got {spec!r}")
    host = str(spec.get("host") or "")
    group = str(spec.get("group") or "overlay")
    state = str(spec.get("state") or "present")
    if state not in ("present", "absent"):
        _fail(f"host {host!r}: overlay_state {state!r} is not present or absent")
    try:
        cluster = Cluster(spec)
    except AnsibleFilterError as exc:  # a group-wide variable: still say which host's run refused it
        raise AnsibleFilterError(str(exc.message).replace("overlay: ", f"overlay: host {host!r}: ", 1)) from None
    members = members_of(spec, cluster, host, group)
    (me,) = [member for member in members if member.name == host]
    peers = [member for member in members if member is not me]
    underlay = Underlay(host, me, spec.get("underlay_interface") or None, spec.get("facts"))
    present = state == "present"
    if cluster.backend == "host-gw":
        if me.underlay_ip.version != cluster.cidr.version:
            _fail(
                f"host {host!r}: overlay_backend host-gw routes IPv{cluster.cidr.version} subnets via underlay"
                f" addresses of the same family, and overlay_underlay_ip {me.underlay_ip} is not: use vxlan"
            )
        if present and not underlay.known:
            _fail(f"host {host!r}: overlay_backend host-gw needs the network facts of the underlay interface")
        for peer in peers if present else []:
            if not any(peer.underlay_ip in network for network in underlay.home):
                home = ", ".join(str(network) for network in underlay.home) or "none"
                _fail(
                    f"host {host!r}: overlay_backend host-gw needs every host on the subnet of its underlay address,"
                    f" and host {peer.name!r}'s overlay_underlay_ip {peer.underlay_ip} is not on {home} (the subnet"
                    f" of {host!r}'s overlay_underlay_ip {me.underlay_ip} on {underlay.name}): use overlay_backend"
                    " vxlan"
                )
    mtu = cluster.mtu or None
    if mtu is None and underlay.mtu:
        overhead = VXLAN_OVERHEAD[me.underlay_ip.version] if cluster.backend == "vxlan" else 0
        mtu = underlay.mtu - overhead
        if mtu < MTU_MIN:
            _fail(f"host {host!r}: the underlay interface {underlay.name}'s MTU {underlay.mtu} leaves {mtu}: too small")
    if mtu is None and present:
        _fail(
            f"host {host!r}: overlay_mtu is 0 and the underlay interface's MTU is unknown: set overlay_mtu, or"
            " gather the network facts"
        )

    try:
        base = bridge_nat_network(
            {
                "bridge": spec.get("bridge") or "br-overlay",
                "subnet": str(me.subnet),
                "gateway": None,
                "containers": spec.get("containers") or [],
                "masquerade": bool(spec.get("masquerade", True)),
                "out_interface": None,
                "mtu": mtu or 0,
                "port_forwards": spec.get("port_forwards") or [],
            }
        )
    except AnsibleFilterError as exc:
        _fail(f"host {host!r}: {exc.message.replace('bridge_nat_', 'overlay_')}")
    network = base["network"]
    subnet, cidr = str(me.subnet), str(cluster.cidr)
    for masquerade in network["masquerades"]:
        masquerade["exclude"] = [cidr]
    routes = list(network["routes"])
    vxlans = []
    if cluster.backend == "vxlan":
        vxlans.append(
            {
                "name": spec.get("device") or "vx-overlay",
                "vni": cluster.vni,
                "port": cluster.port,
                "local": str(me.underlay_ip),
                "underlay_interface": underlay.name,
                "mac": vtep_mac(me.subnet),
                "mtu": mtu,
                "addresses": [f"{me.subnet.network_address}/{me.subnet.max_prefixlen}"],
                "peers": [
                    {
                        "remote": str(peer.underlay_ip),
                        "mac": vtep_mac(peer.subnet),
                        "address": str(peer.subnet.network_address),
                        "subnets": [str(peer.subnet)],
                    }
                    for peer in peers
                ],
            }
        )
    else:
        routes += [
            {"destination": str(peer.subnet), "gateway": str(peer.underlay_ip), "interface": underlay.name}
            for peer in peers
        ]
    return {
        "network": {
            "adopt": network["adopt"],
            "namespaces": network["namespaces"],
            "sysctls": [{"name": FORWARD_KEY[cluster.cidr.version], "value": 1}],
            "bridges": network["bridges"],
            "veths": network["veths"],
            "vxlans": vxlans,
            "routes": routes,
            "masquerades": network["masquerades"],
            "forwards": [{"source": cidr, "destination": subnet}, {"source": subnet, "destination": cidr}],
            "port_forwards": network["port_forwards"],
        },
        "addresses": base["addresses"],
        "host_interfaces": base["host_interfaces"],
        "overlay_hosts": {member.name: member.describe() for member in members},
        "subnet": subnet,
        "gateway": base["gateway"],
        "mtu": mtu,
        "underlay_interface": underlay.name,
        "underlay_ip": str(me.underlay_ip),
    }


class FilterModule:
    def filters(self) -> dict:
        return {"overlay_network": overlay_network}
