#!/usr/bin/python
# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.netns_info: read-only facts about network namespaces."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netns_info
short_description: Facts about network namespaces, their links, addresses, routes and netns.core's NAT rules
version_added: 1.0.0
description:
  - Reads, never changes or creates anything. For the host's own namespace and the named ones under C(/run/netns),
    returns the links (kind, state, MTU, MAC, bridge, the veth peer and the namespace it lives in, the qdiscs), the
    addresses, the unicast routes of every table, whether IPv4 and IPv6 forwarding are on, and the firewall rules
    netns.core tagged there (iptables, and its own nftables table C(inet netns_core)).
options:
  names:
    description:
      - The namespaces to report. Omitted, every namespace under C(/run/netns).
      - A name that does not exist is an error.
    type: list
    elements: str
  host:
    description: Report the namespace Ansible runs in too (under C(netns_info.host)).
    type: bool
    default: true
extends_documentation_fragment:
  - netns.core.common
attributes:
  diff_mode:
    support: none
  idempotent:
    support: full
    details: It only reads.
notes:
  - Tagged rules are read with C(iptables -S) and C(ip6tables -S), and with C(nft -j list table inet netns_core),
    where those commands exist.
seealso:
  - module: netns.core.network
author:
  - netns.core developers (@netns-core)
"""

EXAMPLES = r"""
- name: Everything about every namespace
  netns.core.netns_info:
  register: lab

- name: Where is the other end of veth-red?
  ansible.builtin.debug:
    msg: "{{ lab.netns_info.host.links['veth-red'].peer }}"   # {'netns': 'red', 'name': 'eth0'}

- name: Two namespaces only, without the host
  netns.core.netns_info:
    names: [red, blue]
    host: false
"""

RETURN = r"""
netns_info:
  description:
    - C(namespaces) (by name) and C(host), each with C(links), C(addresses), C(routes), C(ip_forward),
      C(ipv6_forwarding) and C(rules).
    - Each link's C(qdiscs) (since 1.0.0) lists its queueing disciplines - C(kind), C(handle), C(parent) (V(root),
      V(ingress) or a class), C(netns_core) (true for the root qdisc M(netns.core.netem) made, handle C(4e53:)) and,
      for that one, its C(parameters) as M(netns.core.netem) reports them. A link never brought up has none.
  returned: always
  type: dict
  contains:
    namespaces:
      description: The named namespaces asked for (all of them under C(/run/netns) by default), by name, each a dict
        with the keys of RV(netns_info.host).
      returned: always
      type: dict
    host:
      description: The namespace Ansible runs in.
      returned: when O(host=true)
      type: dict
      contains:
        links:
          description: The links by name, each with C(kind) (V(veth), V(bridge), V(loopback), V(device), ...),
            C(index), C(up), C(operstate), C(mtu), C(mac), C(master) (the bridge it is attached to, or null) and,
            for a veth, C(peer) (C(netns) and C(name) of the other end; C(netns) null for the host).
          returned: always
          type: dict
        addresses:
          description: The addresses by link name, each a list of C(address) (CIDR) and C(scope).
          returned: always
          type: dict
        routes:
          description: The unicast routes of every table, each with C(family), C(table), C(destination), C(gateway),
            C(interface) and C(metric).
          returned: always
          type: list
          elements: dict
        ip_forward:
          description: Whether C(net.ipv4.ip_forward) is 1.
          returned: always
          type: bool
        ipv6_forwarding:
          description: Whether C(net.ipv6.conf.all.forwarding) is 1.
          returned: always
          type: bool
        rules:
          description: The rules netns.core tagged there, each with C(family), C(rule) (in C(iptables -S) form with
            its table, or for nftables as C(nft add rule) takes it), C(tag) and C(backend) (C(iptables) or
            C(nftables)).
          returned: always
          type: list
          elements: dict
  sample:
    namespaces:
      red:
        links:
          eth0: {kind: veth, index: 2, up: true, operstate: UP, mtu: 1500, mac: "aa:bb:cc:00:00:02", master: null,
                 peer: {netns: null, name: veth-red},
                 qdiscs: [{kind: tbf, handle: "4e53:", parent: root, netns_core: true,
                           parameters: {qdisc: tbf, rate: 10mbit, burst: 65550, limit: 128050}}]}
        addresses:
          eth0: [{address: 10.98.0.2/24, scope: global}]
        routes:
          - {family: 4, table: 254, destination: 0.0.0.0/0, gateway: 10.98.0.1, interface: eth0, metric: 0}
        ip_forward: false
        ipv6_forwarding: false
        rules: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netns.core.plugins.module_utils._iptables import Iptables
from ansible_collections.netns.core.plugins.module_utils._netns_info import gather
from ansible_collections.netns.core.plugins.module_utils._nftables import Nft
from ansible_collections.netns.core.plugins.module_utils._runtime import run_module


def main() -> None:
    module = AnsibleModule(
        argument_spec={"names": {"type": "list", "elements": "str"}, "host": {"type": "bool", "default": True}},
        supports_check_mode=True,
    )

    def work(session) -> dict:
        tools = []
        for family, command in ((4, "iptables"), (6, "ip6tables")):
            if module.get_bin_path(command):
                tools.append(Iptables(module, session, family))
        nft = Nft(module, session) if module.get_bin_path("nft") else None
        info = gather(session, module.params["names"], module.params["host"], tools, nft)
        return {"changed": False, "netns_info": info}

    run_module(module, work, read_only=True)


if __name__ == "__main__":
    main()
