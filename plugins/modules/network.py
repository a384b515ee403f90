#!/usr/bin/python
# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.network: namespaces, sysctls, bridges, veths, routes and masquerades in one module call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: network
short_description: Build or remove a whole set of namespaces, bridges, veths, routes and NAT rules in one call
version_added: 1.0.0
description:
  - Applies many objects in one process, through the same code as the single modules (M(netns.core.netns),
    M(netns.core.sysctl), M(netns.core.bridge), M(netns.core.veth), M(netns.core.netns_route),
    M(netns.core.masquerade), M(netns.core.vxlan), M(netns.core.netem), M(netns.core.port_forward)). A loop
    of single-module tasks costs about half a second per item; this module converges a 100-container network in
    one task. The roles P(netns.core.bridge_nat#role) and
    P(netns.core.topology#role) are built on it.
  - Each list item takes exactly the options of the corresponding single module (without O(state)), checked the
    same way (types, defaults, unknown keys refused).
  - Everything is planned before anything changes. A bad name, an interface of another kind in the way, or a
    namespace that neither exists nor is listed in O(namespaces) fails the whole call with nothing changed.
options:
  namespaces:
    description: Namespaces; each item takes the options of M(netns.core.netns) (name, loopback, sysctl, pid,
      resolv_conf, hosts).
    type: list
    elements: dict
    default: []
  sysctls:
    description: Runtime sysctls; each item takes the options of M(netns.core.sysctl). Left as they are when
      O(state=absent).
    type: list
    elements: dict
    default: []
  bridges:
    description: Bridges; each item takes the options of M(netns.core.bridge).
    type: list
    elements: dict
    default: []
  veths:
    description: Veth pairs; each item takes the options of M(netns.core.veth).
    type: list
    elements: dict
    default: []
  vxlans:
    description:
      - VXLAN devices with their peers; each item takes the options of M(netns.core.vxlan).
      - Applied after the veths and before the routes; removed before them.
    type: list
    elements: dict
    default: []
    version_added: 1.1.0
  netems:
    description:
      - Link impairments; each item takes the options of M(netns.core.netem).
      - Applied after the veths (so an item may impair an interface the call creates); removed before them.
    type: list
    elements: dict
    default: []
    version_added: 1.0.0
  routes:
    description: Routes; each item takes the options of M(netns.core.netns_route).
    type: list
    elements: dict
    default: []
  masquerades:
    description: Tagged MASQUERADE rules; each item takes the options of M(netns.core.masquerade).
    type: list
    elements: dict
    default: []
  port_forwards:
    description: Published ports (DNAT); each item takes the options of M(netns.core.port_forward).
    type: list
    elements: dict
    default: []
  forwards:
    description:
      - Tagged FORWARD accepts of routed traffic between two networks, new connections included, inserted ahead of
        a DROP policy (the traffic between an overlay's hosts). Each item is C({source, destination, netns}) (and
        optionally C(firewall_backend), C(foreign_forward_drop)),
        both CIDR of one family; a C(-s SOURCE -d DESTINATION) C(ACCEPT) tagged C(netns.core forward SOURCE to
        DESTINATION). List both directions for traffic both ways. Forwarding itself is a sysctl (O(sysctls)).
    type: list
    elements: dict
    default: []
    version_added: 1.1.0
  isolations:
    description:
      - Isolation of a bridge from every other bridge netns.core manages in the namespace (those carrying another
        network's owner mark, read when the plan is made); forwarded traffic between them is dropped both ways,
        except connections to a published port (DNAT). Each item is C({bridge, family, isolated, netns}) (family
        V(4) or V(6), default V(4); isolated, default V(true), V(false) removes the drops as O(state=absent) would;
        optionally C(firewall_backend)).
      - The drops win over every accept, never by a policy change and no chain is flushed. iptables backend, in
        C(mangle) C(FORWARD), which the kernel runs before C(filter) C(FORWARD) (C(-i BRIDGE -o OTHER -m conntrack
        ! --ctstate DNAT -j DROP) and the reverse, tagged C(netns.core isolation BRIDGE)); nftables backend, at the
        top of the forward chain of table C(inet netns_core).
      - A bridge made later is covered by the next run of this one (or by its own isolation).
    type: list
    elements: dict
    default: []
    version_added: 1.1.0
  hosts:
    description:
      - A hosts table (name to a list of IP addresses, as M(netns.core.netns)'s O(netns.core.netns#module:hosts))
        for every namespace of O(namespaces) that gives no C(hosts) of its own; one table for the whole network,
        in the arguments once (a copy per namespace makes the arguments grow with the square of their number).
    type: dict
    version_added: 1.1.0
  owner:
    description:
      - The name of the network these objects are. Every namespace, bridge and veth end the call makes is marked
        with it in the kernel (the link's alias C(netns.core owner=NAME); for a namespace, the alias of its C(lo)).
      - An object another network marked is never changed, adopted or removed (O(state=absent) leaves it and
        warns). An existing namespace that holds interfaces this call does not make is refused unless listed in
        O(adopt). A bridge's subnet must not overlap an address another interface of its namespace holds.
      - Without it, objects are not marked and these checks do not run (as the single modules).
    type: str
  adopt:
    description:
      - With O(owner), existing namespaces (by name) that hold interfaces this call does not make, which this
        network may nevertheless take over (mark as its own and configure).
    type: list
    elements: str
    default: []
  firewall_backend:
    description:
      - The firewall of the rule-making sections (O(masquerades), O(forwards), O(port_forwards), O(isolations)),
        for every item that does not give its own C(firewall_backend). See M(netns.core.masquerade) for the
        choices; V(auto) is V(iptables) where the iptables command exists, else V(nftables).
    type: str
    choices: [auto, iptables, nftables]
    default: auto
  foreign_forward_drop:
    description:
      - For the V(nftables) backend, what a forward chain of another table with policy drop means (see
        M(netns.core.masquerade)), for every rule-making item that does not give its own.
    type: str
    choices: [fail, ignore]
    default: fail
  state:
    description:
      - V(present) makes every listed object exist as described, applied in dependency order
        (namespaces, sysctls, bridges, veths, vxlans, netems, routes, masquerades, forwards, port_forwards,
        isolations).
      - V(absent) removes every listed object in the reverse order; sysctls are left as they are.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - netns.core.common
notes:
  - In check mode, namespaces that are still to be created read as empty, so the whole set is planned.
  - If a change fails half way (the kernel refuses something), the message names the object and lists every
    change already applied; run again once the cause is fixed, or with O(state=absent) to remove what was built.
seealso:
  - module: netns.core.veth
  - module: netns.core.bridge
author:
  - netns.core developers (@netns-core)
"""

EXAMPLES = r"""
- name: Two containers on a bridge with NAT out of the host
  netns.core.network:
    namespaces:
      - name: web
      - name: db
    bridges:
      - name: br0
        addresses: [10.98.0.1/24]
    veths:
      - {name: veth-web, peer: eth0, peer_netns: web, master: br0, peer_addresses: [10.98.0.2/24]}
      - {name: veth-db, peer: eth0, peer_netns: db, master: br0, peer_addresses: [10.98.0.3/24]}
    routes:
      - {netns: web, destination: default, gateway: 10.98.0.1}
      - {netns: db, destination: default, gateway: 10.98.0.1}
    masquerades:
      - source: 10.98.0.0/24

- name: Remove exactly that again
  netns.core.network:
    state: absent
    namespaces: [{name: web}, {name: db}]
    bridges: [{name: br0}]
    veths:
      - {name: veth-web, peer: eth0, peer_netns: web}
      - {name: veth-db, peer: eth0, peer_netns: db}
    masquerades:
      - source: 10.98.0.0/24
"""

RETURN = r"""
actions:
  description: Every change, in the order applied (or, in check mode, planned).
  returned: always
  type: list
  elements: str
  sample: ["create netns web", "bring lo up in netns web", "create bridge br0"]
diff:
  description: Before and after of every listed object, by section and object label.
  returned: in diff mode (C(--diff) or the task's C(diff) keyword)
  type: dict
  contains:
    before:
      description: The state before the run; by section (V(namespaces), V(bridges), ...), then by object label.
      returned: always
      type: dict
    after:
      description: The state after the run (in check mode, what a real run would leave); by section, then by
        object label.
      returned: always
      type: dict
summary:
  description:
    - Per section (V(namespaces), V(sysctls), V(bridges), V(veths), V(vxlans), V(netems), V(routes),
      V(masquerades), V(forwards), V(port_forwards), V(isolations)), a dict of C(objects) (how many objects the
      section listed) and C(changed) (how many of them changed, or would change in check mode). Every section is
      present.
  returned: always
  type: dict
  sample:
    namespaces: {objects: 2, changed: 2}
    bridges: {objects: 1, changed: 0}
    veths: {objects: 2, changed: 2}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netns.core.plugins.module_utils._argspec import FIREWALL_OPTIONS, STATE, options
from ansible_collections.netns.core.plugins.module_utils._network import SECTION_NAMES, build_items, network_result
from ansible_collections.netns.core.plugins.module_utils._resource import converge, warn_assumed
from ansible_collections.netns.core.plugins.module_utils._runtime import run_module


def main() -> None:
    spec = {section: {"type": "list", "elements": "dict", "default": []} for section in SECTION_NAMES}
    spec["owner"] = {"type": "str"}
    spec["hosts"] = {"type": "dict"}
    spec["adopt"] = {"type": "list", "elements": "str", "default": []}
    spec.update(options(FIREWALL_OPTIONS, with_state=False))
    module = AnsibleModule(argument_spec={**spec, "state": dict(STATE)}, supports_check_mode=True)

    def work(session) -> dict:
        items = build_items(module.params, module)
        result = converge(session, items, module.check_mode, module)
        warn_assumed(module, result)
        return network_result(result.outcomes, items)

    run_module(module, work)


if __name__ == "__main__":
    main()
