# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.topology_network: a routed lab description as the options of one netns.core.network call."""

from __future__ import annotations

DOCUMENTATION = r"""
name: topology_network
short_description: Turn a lab topology (nodes, bridges, links, routes, NAT) into netns.core.network options
version_added: 1.0.0
description:
  - Used by the P(netns.core.topology#role) role. Nodes are namespaces; the node C(host) is the namespace Ansible
    runs in and is never created or deleted.
  - A link endpoint C(NODE:IF) whose NODE is a bridge's name puts that end into the bridge's namespace and
    attaches it to the bridge.
options:
  _input:
    description: The role's inputs, without the C(topology_) prefix.
    type: dict
    required: true
    suboptions:
      nodes:
        description: List of C({name, sysctl, forwarding, dns}); C(dns), the node's nameservers (its resolv.conf).
        type: list
        elements: dict
        default: []
      bridges:
        description: List of C({name, node, addresses, mtu}).
        type: list
        elements: dict
        default: []
      links:
        description: List of C({endpoints, addresses, mtu, netem}).
        type: list
        elements: dict
        default: []
      routes:
        description: List of C({node, destination, gateway, interface, metric}).
        type: list
        elements: dict
        default: []
      masquerade:
        description: List of C({node, source, out_interface}).
        type: list
        elements: dict
        default: []
      hosts:
        description: Give every node a hosts file naming every node (C(host) too) by the addresses of its link ends
          and bridges (the role's default is true).
        type: bool
        default: false
"""

EXAMPLES = r"""
- name: Two namespaces joined by one veth
  ansible.builtin.set_fact:
    lab: "{{ {'nodes': [{'name': 'a'}, {'name': 'b'}],
              'links': [{'endpoints': ['a:eth0', 'b:eth0'], 'addresses': ['10.0.0.1/24', '10.0.0.2/24']}]}
             | netns.core.topology_network }}"
"""

RETURN = r"""
_value:
  description: The options of M(netns.core.network), without state.
  type: dict
"""

import ipaddress

from ansible.errors import AnsibleFilterError

from ansible_collections.netns.core.plugins.module_utils._constants import FORWARD_KEY

HOST = "host"


def _ns(node: str) -> str | None:
    return None if node == HOST else node


def topology_network(spec: dict) -> dict:
    if not isinstance(spec, dict):
        raise AnsibleFilterError(f"topology_network expects a dict of inputs, got {spec!r}")
    nodes = list(spec.get("nodes") or [])
    known: dict[str, str] = {HOST: "node"}
    namespaces, sysctls = [], []
    for index, node in enumerate(nodes):
        where = f"topology_nodes[{index}]"
        name = node.get("name") if isinstance(node, dict) else None
        if not name:
            raise AnsibleFilterError(f"{where}: each node needs a name, got {node!r}")
        if name in known and name != HOST:
            raise AnsibleFilterError(f"{where}: node {name!r} is listed twice")
        known[name] = "node"
        wanted = dict(node.get("sysctl") or {})
        if node.get("forwarding"):
            wanted[FORWARD_KEY[4]] = 1
        if name == HOST:
            sysctls += [{"name": key, "value": value} for key, value in sorted(wanted.items())]
        else:
            namespaces.append({"name": name, "sysctl": wanted})

    def node_of(value: object, where: str) -> str:
        if value is None:
            return HOST
        if known.get(value) != "node":
            raise AnsibleFilterError(f"{where}: node {value!r} is not in topology_nodes (nor 'host')")
        return value

    bridges, bridge_node = [], {}
    for index, bridge in enumerate(spec.get("bridges") or []):
        where = f"topology_bridges[{index}]"
        name = bridge.get("name") if isinstance(bridge, dict) else None
        if not name:
            raise AnsibleFilterError(f"{where}: each bridge needs a name, got {bridge!r}")
        if name in known:
            raise AnsibleFilterError(f"{where}: bridge {name!r} has the name of another {known[name]}")
        node = node_of(bridge.get("node"), where)
        known[name], bridge_node[name] = "bridge", node
        bridges.append(
            {"name": name, "netns": _ns(node), "addresses": bridge.get("addresses"), "mtu": bridge.get("mtu")}
        )

    veths, netems = [], []
    for index, link in enumerate(spec.get("links") or []):
        where = f"topology_links[{index}]"
        endpoints = link.get("endpoints") if isinstance(link, dict) else None
        if not isinstance(endpoints, list) or len(endpoints) != 2:
            raise AnsibleFilterError(f"{where}.endpoints must be two 'node:interface' strings, got {endpoints!r}")
        addresses = list(link.get("addresses") or [None, None])
        if len(addresses) != 2:
            raise AnsibleFilterError(f"{where}.addresses must have two items (CIDR or null), got {addresses!r}")
        ends = []
        for side, endpoint in enumerate(endpoints):
            node, sep, ifname = str(endpoint).partition(":")
            if not sep or not node or not ifname:
                raise AnsibleFilterError(f"{where}.endpoints[{side}] {endpoint!r} is not 'node:interface'")
            if known.get(node) == "bridge":
                ends.append((_ns(bridge_node[node]), ifname, node))
            else:
                ends.append((_ns(node_of(node, f"{where}.endpoints[{side}]")), ifname, None))
            address = addresses[side]
            ends[-1] += ([address] if address else None,)
        (ns_a, if_a, master_a, addr_a), (ns_b, if_b, master_b, addr_b) = ends
        if (ns_a, if_a) == (ns_b, if_b):
            raise AnsibleFilterError(
                f"{where}.endpoints {endpoints[0]!r} and {endpoints[1]!r} are the same interface of the same node;"
                " a link needs two different ends"
            )
        veths.append(
            {
                "name": if_a,
                "netns": ns_a,
                "master": master_a,
                "addresses": addr_a,
                "peer": if_b,
                "peer_netns": ns_b,
                "peer_master": master_b,
                "peer_addresses": addr_b,
                "mtu": link.get("mtu"),
            }
        )
        netems += _link_netems(link.get("netem"), where, ((ns_a, if_a), (ns_b, if_b)))

    routes = []
    for index, route in enumerate(spec.get("routes") or []):
        where = f"topology_routes[{index}]"
        if not isinstance(route, dict) or "destination" not in route:
            raise AnsibleFilterError(f"{where}: each route needs a destination, got {route!r}")
        entry = {"netns": _ns(node_of(route.get("node"), where)), "destination": route["destination"]}
        entry.update({key: route[key] for key in ("gateway", "interface", "metric") if route.get(key) is not None})
        routes.append(entry)

    masquerades = []
    for index, rule in enumerate(spec.get("masquerade") or []):
        where = f"topology_masquerade[{index}]"
        if not isinstance(rule, dict) or not rule.get("source"):
            raise AnsibleFilterError(f"{where}: each masquerade needs a source, got {rule!r}")
        masquerades.append(
            {
                "netns": _ns(node_of(rule.get("node"), where)),
                "source": rule["source"],
                "out_interface": rule.get("out_interface"),
            }
        )
    _names_and_dns(namespaces, nodes, spec, bridges, veths)
    return {
        "namespaces": namespaces,
        "sysctls": sysctls,
        "bridges": bridges,
        "veths": veths,
        "netems": netems,
        "routes": routes,
        "masquerades": masquerades,
    }


def _names_and_dns(namespaces: list[dict], nodes: list[dict], spec: dict, bridges: list, veths: list) -> None:
    """`hosts`: every node's hosts file names every node by the addresses of its bridges and link ends (in the
    order given); a node's `dns`: its resolv.conf. An address that is not CIDR is left to the module to refuse."""
    names: dict[str, list[str]] = {}
    if spec.get("hosts"):
        held = [(bridge["netns"], bridge["addresses"]) for bridge in bridges]
        for veth in veths:
            held += [(veth["netns"], veth["addresses"]), (veth["peer_netns"], veth["peer_addresses"])]
        for ns, addresses in held:
            for address in addresses or []:
                try:
                    ip = str(ipaddress.ip_interface(str(address).strip()).ip)
                except ValueError:
                    continue
                names.setdefault(ns or HOST, [])
                if ip not in names[ns or HOST]:
                    names[ns or HOST].append(ip)
        if "localhost" in names:
            raise AnsibleFilterError(
                "node 'localhost': with topology_hosts, the hosts files name localhost already; rename the node, or "
                "set topology_hosts to false"
            )
    dns = {node["name"]: node.get("dns") for node in nodes if node.get("dns")}
    for index, node in enumerate(nodes):
        if node.get("dns") and node["name"] == HOST:
            raise AnsibleFilterError(f"topology_nodes[{index}]: dns is for namespaces; the node host is never changed")
    for namespace in namespaces:
        if names:
            namespace["hosts"] = {name: list(ips) for name, ips in names.items()}
        servers = dns.get(namespace["name"])
        if servers:
            namespace["resolv_conf"] = {"nameservers": [servers] if isinstance(servers, str) else list(servers)}


def _link_netems(netem: object, where: str, ends: tuple) -> list[dict]:
    """A link's `netem`: [endpoint A's impairments, endpoint B's] (a dict of netns.core.netem options, or null)."""
    if netem is None:
        return []
    if not isinstance(netem, list) or len(netem) != 2:
        raise AnsibleFilterError(f"{where}.netem must have two items (netem options of each end, or null): {netem!r}")
    items = []
    for side, options in enumerate(netem):
        if options is None:
            continue
        if not isinstance(options, dict) or {"interface", "netns", "state"} & set(options):
            raise AnsibleFilterError(
                f"{where}.netem[{side}] must be a dict of netem options (delay, jitter, loss, rate, duplicate, "
                f"corrupt, reorder), got {options!r}"
            )
        ns, ifname = ends[side]
        items.append({"interface": ifname, "netns": ns, **options})
    return items


class FilterModule:
    def filters(self) -> dict:
        return {"topology_network": topology_network}
