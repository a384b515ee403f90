# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.bridge_nat_network: the bridge_nat role's inputs as the options of one netns.core.network call."""

from __future__ import annotations

DOCUMENTATION = r"""
name: bridge_nat_network
short_description: Turn a bridge-and-NAT description into netns.core.network options
version_added: 1.0.0
description:
  - Computes, deterministically, what the P(netns.core.bridge_nat#role) role builds, a bridge with the gateway
    address, one namespace per container, a veth from each container into the bridge, addresses, default routes
    via the gateway, and a MASQUERADE for the subnet.
  - Addresses are given in list order, as Docker gives them in the order containers start. A container without
    an address gets the lowest host address not yet taken by the gateway or an earlier container; an explicit
    address already taken that way is refused. Appending a container never changes the address of another.
  - A container without O(_input.containers[].host_interface) gets one derived from its name, stable and at most
    15 characters (C(veth-NAME) when it fits, else a prefix of the name and a short hash of it).
  - With O(_input.subnet6), the network is dual-stack, the bridge also holds the IPv6 gateway, each container an
    IPv6 address (given in list order like the IPv4 ones, O(_input.containers[].address6) to choose it) and a
    default IPv6 route via the gateway, the IPv6 subnet is masqueraded (NAT66) unless O(_input.masquerade6) is
    false, and every published port is published on IPv6 too.
options:
  _input:
    description: The role's inputs, without the C(bridge_nat_) prefix.
    type: dict
    required: true
    suboptions:
      bridge:
        description: Bridge name.
        type: str
        default: br0
      subnet:
        description: The containers' subnet (CIDR).
        type: str
        required: true
      gateway:
        description: The bridge's address; defaults to the first host address of the subnet.
        type: str
      containers:
        description: The containers, in order.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: Name of the container's network namespace.
            type: str
            required: true
          address:
            description: Its address in the subnet; omitted, the lowest one not yet taken.
            type: str
          address6:
            description: Its address in O(_input.subnet6); omitted, the lowest one not yet taken.
            type: str
          interface:
            description: Name of the interface inside the container.
            type: str
            default: eth0
          host_interface:
            description: Name of the veth end on the host, attached to the bridge.
            type: str
      masquerade:
        description: NAT the subnet out of the host.
        type: bool
        default: true
      subnet6:
        description: The containers' IPv6 subnet (CIDR); omitted, the network is IPv4 only.
        type: str
      gateway6:
        description: The bridge's IPv6 address; defaults to the first host address of O(_input.subnet6).
        type: str
      masquerade6:
        description: NAT the IPv6 subnet out of the host (NAT66). Omitted, true when O(_input.subnet6) is set.
        type: bool
      isolated:
        description: Drop forwarded traffic between the bridge and every other bridge netns.core manages (both
          ways; published ports still reachable).
        type: bool
        default: false
      out_interface:
        description: Only NAT traffic leaving through this interface.
        type: str
      mtu:
        description: MTU of the bridge and every veth.
        type: int
      port_forwards:
        description: Published ports, C({port, protocol, container, container_port}).
        type: list
        elements: dict
        default: []
      dns:
        description: Nameservers (IP addresses) written to every container's C(resolv.conf); empty, none (the
          containers use the host's C(/etc/resolv.conf)).
        type: list
        elements: str
        default: []
      hosts:
        description: Give every container a hosts file naming the gateway (C(gateway)) and every container of the
          network (the role's default is true).
        type: bool
        default: false
"""

EXAMPLES = r"""
- name: Options of one netns.core.network call, and the addresses given out
  ansible.builtin.set_fact:
    plan: "{{ {'subnet': '10.98.0.0/24', 'containers': [{'name': 'web'}, {'name': 'db'}]}
              | netns.core.bridge_nat_network }}"
  # plan.addresses == {'web': '10.98.0.2', 'db': '10.98.0.3'}; plan.gateway == '10.98.0.1'
"""

RETURN = r"""
_value:
  description: C(network) (the options of M(netns.core.network) without state), C(addresses) (container name to
    IP), C(gateway), C(prefixlen), C(host_interfaces) (container name to host-side veth name); with subnet6, also
    C(addresses6), C(gateway6) and C(prefixlen6) (else an empty mapping and empty strings).
  type: dict
"""

import hashlib
import ipaddress

from ansible.errors import AnsibleFilterError

from ansible_collections.netns.core.plugins.module_utils._constants import IFNAMSIZ


def host_interface_for(name: str) -> str:
    """`veth-NAME` when it fits in 15 characters, else a prefix of NAME and 5 hex digits of its sha1."""
    plain = f"veth-{name}"
    if len(plain) <= IFNAMSIZ:
        return plain
    return f"v{name[:8]}-{hashlib.sha1(name.encode()).hexdigest()[:5]}"


def _host_in(value: object, subnet: ipaddress.IPv4Network | ipaddress.IPv6Network, what: str):
    text = str(value).strip()
    try:
        if "/" in text:
            iface = ipaddress.ip_interface(text)
            if iface.network.prefixlen != subnet.prefixlen:
                raise AnsibleFilterError(f"{what} {value!r}: prefix length differs from the subnet {subnet}")
            address = iface.ip
        else:
            address = ipaddress.ip_address(text)
    except ValueError:
        raise AnsibleFilterError(f"{what} {value!r} is not an IP address") from None
    if address not in subnet:
        raise AnsibleFilterError(f"{what} {value!r} is not in the subnet {subnet}")
    if subnet.num_addresses > 2 and address in (subnet.network_address, subnet.broadcast_address):
        raise AnsibleFilterError(f"{what} {value!r} is the network or broadcast address of {subnet}")
    return address


def bridge_nat_network(spec: dict) -> dict:
    if not isinstance(spec, dict):
        raise AnsibleFilterError(f"bridge_nat_network expects a dict of inputs, got {spec!r}")
    bridge = spec.get("bridge") or "br0"
    try:
        subnet = ipaddress.ip_network(str(spec.get("subnet")).strip(), strict=True)
    except ValueError as exc:
        raise AnsibleFilterError(f"bridge_nat_subnet {spec.get('subnet')!r} is not a CIDR network ({exc})") from None
    if subnet.num_addresses < 4:
        raise AnsibleFilterError(
            f"bridge_nat_subnet {subnet} holds {subnet.num_addresses} address(es): a network needs one for the gateway"
            " and one per container (and Linux keeps the first and last of an IPv4 subnet): use a /30 or wider"
        )
    hosts = iter(subnet.hosts())
    gateway = _host_in(spec["gateway"], subnet, "bridge_nat_gateway") if spec.get("gateway") else next(hosts, None)
    if gateway is None:
        raise AnsibleFilterError(f"bridge_nat_subnet {subnet} has no host address for the gateway")
    containers = list(spec.get("containers") or [])
    named: set[str] = set()
    for index, container in enumerate(containers):
        where = f"bridge_nat_containers[{index}]"
        if not isinstance(container, dict) or not container.get("name"):
            raise AnsibleFilterError(f"{where}: each container needs a name, got {container!r}")
        if container["name"] in named:
            raise AnsibleFilterError(f"{where}: container {container['name']!r} is listed twice")
        named.add(container["name"])
    addresses = _allocate(subnet, gateway, containers, "address", "bridge_nat_subnet")
    host_interfaces = {c["name"]: c.get("host_interface") or host_interface_for(c["name"]) for c in containers}
    subnet6, gateway6, addresses6 = _dual_stack(spec, subnet, containers)
    seen: dict[str, str] = {bridge: "the bridge"}
    for name, ifname in host_interfaces.items():
        if ifname in seen:
            raise AnsibleFilterError(
                f"host_interface {ifname!r} of container {name!r} is also {seen[ifname]}; set host_interface"
            )
        seen[ifname] = f"the host_interface of {name!r}"
    mtu = int(spec.get("mtu") or 0) or None
    prefix = subnet.prefixlen
    network = {
        "adopt": [c["name"] for c in containers if c.get("adopt")],
        "namespaces": [{"name": c["name"]} for c in containers],
        "bridges": [{"name": bridge, "addresses": [f"{gateway}/{prefix}"], "mtu": mtu}],
        "veths": [
            {
                "name": host_interfaces[c["name"]],
                "master": bridge,
                "peer": c.get("interface") or "eth0",
                "peer_netns": c["name"],
                "peer_addresses": [f"{addresses[c['name']]}/{prefix}"],
                "mtu": mtu,
            }
            for c in containers
        ],
        "routes": [{"netns": c["name"], "destination": "default", "gateway": str(gateway)} for c in containers],
        "masquerades": (
            [{"source": str(subnet), "out_interface": spec.get("out_interface") or None}]
            if spec.get("masquerade", True)
            else []
        ),
    }
    if subnet6 is not None:
        _add_ipv6(network, spec, subnet6, gateway6, addresses6)
    forwards = []
    for index, forward in enumerate(spec.get("port_forwards") or []):
        where = f"bridge_nat_port_forwards[{index}]"
        if not isinstance(forward, dict) or not forward.get("port") or not forward.get("container"):
            raise AnsibleFilterError(f"{where}: each port forward needs port and container, got {forward!r}")
        if forward["container"] not in addresses:
            raise AnsibleFilterError(f"{where}: container {forward['container']!r} is not in bridge_nat_containers")
        address = addresses[forward["container"]]
        target = address if subnet.version == 4 else f"[{address}]"
        forwards.append(
            {
                "port": int(forward["port"]),
                "protocol": forward.get("protocol") or "tcp",
                "destination": f"{target}:{int(forward.get('container_port') or forward['port'])}",
            }
        )
        if subnet6 is not None:  # published on IPv6 too, as Docker does with --ipv6
            to_port = int(forward.get("container_port") or forward["port"])
            forwards.append({**forwards[-1], "destination": f"[{addresses6[forward['container']]}]:{to_port}"})
    network["port_forwards"] = forwards
    _names_and_dns(network, spec, addresses, str(gateway), addresses6, gateway6)
    # listed either way: isolated=false removes the drops an isolated run left
    isolated = bool(spec.get("isolated"))
    network["isolations"] = [
        {"bridge": bridge, "family": family, "isolated": isolated}
        for family in ((4, 6) if subnet6 is not None else (subnet.version,))
    ]
    return {
        "network": network,
        "addresses": addresses,
        "gateway": str(gateway),
        "prefixlen": prefix,
        "host_interfaces": host_interfaces,
        "addresses6": addresses6,
        "gateway6": str(gateway6 or ""),
        "prefixlen6": subnet6.prefixlen if subnet6 is not None else "",
    }


def _names_and_dns(
    network: dict,
    spec: dict,
    addresses: dict[str, str],
    gateway: str,
    addresses6: dict[str, str],
    gateway6,
) -> None:
    """`hosts`: every container's hosts file names the gateway and every container (itself too), by their IPv4
    and (dual-stack) IPv6 addresses, as on a Docker network; `dns`: every container's resolv.conf names these
    nameservers (none: the host's, as without it)."""
    namespaces = network["namespaces"]
    dns = spec.get("dns") or []
    for index, server in enumerate([dns] if isinstance(dns, str) else dns):
        try:
            ipaddress.ip_address(str(server).strip())
        except ValueError:
            raise AnsibleFilterError(f"bridge_nat_dns[{index}] {server!r} is not an IP address") from None
    names: dict[str, list[str]] = {}
    if spec.get("hosts"):
        for reserved in ("gateway", "localhost"):
            if reserved in addresses:
                raise AnsibleFilterError(
                    f"container {reserved!r}: with bridge_nat_hosts, the hosts files name {reserved} already; rename "
                    "the container, or set bridge_nat_hosts to false"
                )
        names = {
            "gateway": [gateway] + ([str(gateway6)] if gateway6 is not None else []),
            **{
                name: [address] + ([addresses6[name]] if name in addresses6 else [])
                for name, address in addresses.items()
            },
        }
    # one table for the whole network (the network module's `hosts`), not a copy per namespace: N copies of N
    # names made the plan quadratic (253 KB of JSON for 100 containers against 21 KB without them)
    network["hosts"] = names
    for namespace in namespaces:
        if dns:
            namespace["resolv_conf"] = {"nameservers": [str(server).strip() for server in dns]}


def _dual_stack(spec: dict, subnet, containers: list) -> tuple:
    """(subnet6, gateway6, container name -> IPv6 address) of a dual-stack network, or (None, None, {}).

    IPv6 addresses are given like the IPv4 ones: in list order, the lowest host address not taken by the gateway
    or an earlier container, unless the container says address6; so appending a container never moves another."""
    if not spec.get("subnet6"):
        for index, container in enumerate(containers):
            if container.get("address6"):
                raise AnsibleFilterError(
                    f"bridge_nat_containers[{index}].address6 is set but bridge_nat_subnet6 is not: set the IPv6"
                    " subnet to make the network dual-stack"
                )
        return None, None, {}
    try:
        subnet6 = ipaddress.ip_network(str(spec["subnet6"]).strip(), strict=True)
    except ValueError as exc:
        raise AnsibleFilterError(f"bridge_nat_subnet6 {spec['subnet6']!r} is not a CIDR network ({exc})") from None
    if subnet6.version != 6:
        raise AnsibleFilterError(f"bridge_nat_subnet6 {subnet6} is not an IPv6 network")
    if subnet.version != 4:
        raise AnsibleFilterError(
            f"bridge_nat_subnet {subnet} is already IPv6: bridge_nat_subnet6 makes an IPv4 network dual-stack"
        )
    # the gateway and one address per container, from the hosts of the subnet (Subnet-Router anycast excluded)
    needed = 1 + len(containers)
    usable = subnet6.num_addresses - 1
    if usable < needed:
        raise AnsibleFilterError(
            f"bridge_nat_subnet6 {subnet6} holds {usable} host address(es) but the gateway and {len(containers)}"
            f" container(s) need {needed}: use a wider IPv6 subnet (a /64 is the usual one)"
        )
    gateway6 = _host_in(spec["gateway6"], subnet6, "bridge_nat_gateway6") if spec.get("gateway6") else None
    if gateway6 is None:
        gateway6 = next(iter(subnet6.hosts()))
    addresses6 = _allocate(subnet6, gateway6, containers, "address6", "bridge_nat_subnet6")
    return subnet6, gateway6, addresses6


def _allocate(subnet, gateway, containers: list, key: str, option: str) -> dict[str, str]:
    """Container name -> address of `subnet`, in list order, as Docker gives out addresses in the order containers
    start: a container without `key` gets the lowest host address not yet given (to the gateway or an earlier
    container), and an explicit one must not be one an earlier container already has. So appending a container
    never moves another one."""
    taken = {gateway: "the gateway"}
    addresses: dict[str, str] = {}
    free = (host for host in subnet.hosts() if host not in taken)
    for index, container in enumerate(containers):
        where, name = f"bridge_nat_containers[{index}]", container["name"]
        if container.get(key):
            address = _host_in(container[key], subnet, f"{where}.{key}")
            if address in taken:
                raise AnsibleFilterError(
                    f"{where}.{key} {address} of {name!r} is already used by {taken[address]}"
                    " (addresses are given in list order: choose another one, or list this container first)"
                )
        else:
            address = next(free, None)
            if address is None:
                raise AnsibleFilterError(f"{option} {subnet} has no free address left for {name!r}")
        taken[address] = f"container {name!r}"
        addresses[name] = str(address)
    return addresses


def _add_ipv6(network: dict, spec: dict, subnet6, gateway6, addresses6: dict) -> None:
    """The IPv6 half of a dual-stack network, added to the IPv4 one's options."""
    prefix6 = subnet6.prefixlen
    network["bridges"][0]["addresses"].append(f"{gateway6}/{prefix6}")
    for veth in network["veths"]:
        veth["peer_addresses"].append(f"{addresses6[veth['peer_netns']]}/{prefix6}")
    network["routes"] += [{"netns": name, "destination": "default", "gateway": str(gateway6)} for name in addresses6]
    masquerade6 = spec.get("masquerade6")
    if masquerade6 is None or masquerade6 == "":
        masquerade6 = True
    if masquerade6:
        network["masquerades"].append({"source": str(subnet6), "out_interface": spec.get("out_interface") or None})


class FilterModule:
    def filters(self) -> dict:
        return {"bridge_nat_network": bridge_nat_network}
