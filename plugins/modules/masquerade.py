#!/usr/bin/python
# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.masquerade: tagged MASQUERADE for a subnet, on the host or in a router namespace."""

from __future__ import annotations

DOCUMENTATION = r"""
module: masquerade
short_description: Masquerade (source-NAT) a subnet out of the host or a router namespace
version_added: 1.0.0
description:
  - Adds C(-t nat POSTROUTING -s SOURCE ! -d SOURCE [-o OUT] -m comment --comment "netns.core masquerade SOURCE"
    -j MASQUERADE) in the namespace's nat table, so the subnet reaches the outside through it.
  - With O(forwarding), also sets C(net.ipv4.ip_forward=1) there and inserts tagged C(FORWARD) ACCEPT rules for
    traffic from the subnet and for ESTABLISHED,RELATED traffic back to it, so NAT works where the FORWARD
    policy is DROP (hosts running Docker).
  - Every rule carries the tag; O(state=absent) removes exactly the tagged rules of that source. No chain is
    flushed, no policy changed; the C(-w) flag waits for the xtables lock. Works with iptables-nft and
    iptables-legacy. IPv6 sources use ip6tables and C(net.ipv6.conf.all.forwarding).
options:
  source:
    description: The subnet to masquerade, CIDR; normalised (V(10.0.0.5/24) is C(10.0.0.0/24)).
    type: str
    required: true
  out_interface:
    description: Only masquerade traffic leaving through this interface.
    type: str
  forwarding:
    description:
      - Turn on forwarding in that namespace and add the tagged FORWARD ACCEPT rules.
      - With V(false) the FORWARD rules are not wanted (and are removed if present); ip_forward is left as it is.
    type: bool
    default: true
  exclude:
    description:
      - Destinations (CIDR) reached without NAT; traffic there keeps its source address. The first is the
        C(! -d) of the MASQUERADE rule; each further one is a tagged C(-s SOURCE -d DEST -j RETURN) inserted
        ahead of it in C(POSTROUTING).
      - Omitted, the source itself (containers talking to each other keep their addresses). An overlay passes
        its cluster CIDR, so traffic between containers of different hosts is not masqueraded.
    type: list
    elements: str
    version_added: 1.1.0
extends_documentation_fragment:
  - netns.core.common
  - netns.core.common.netns
  - netns.core.common.state
  - netns.core.common.firewall
notes:
  - O(state=absent) leaves C(net.ipv4.ip_forward) as it is (other networks may need it).
requirements:
  - The C(iptables) command (O(firewall_backend=iptables)) or the C(nft) command (O(firewall_backend=nftables)) on
    the target.
seealso:
  - module: netns.core.bridge
author:
  - netns.core developers (@netns-core)
"""

EXAMPLES = r"""
- name: NAT the container network out of the host
  netns.core.masquerade:
    source: 10.88.0.0/24

- name: A home router namespace masquerading its LAN out of its WAN interface
  netns.core.masquerade:
    netns: router
    source: 192.168.1.0/24
    out_interface: wan0

- name: NAT what leaves the cluster, never traffic to another host's containers
  netns.core.masquerade:
    source: 10.244.3.0/24
    exclude: [10.244.0.0/16]

- name: Remove exactly those rules
  netns.core.masquerade:
    netns: router
    source: 192.168.1.0/24
    state: absent
"""

RETURN = r"""
actions:
  description: One human-readable line per change.
  returned: always
  type: list
  elements: str
rules:
  description:
    - The managed rules after the run (predicted in check mode). iptables rules in C(iptables -S) form with their
      table; nftables rules as C(nft add rule) takes them (C(inet netns_core CHAIN STATEMENT comment "TAG")).
  returned: always
  type: list
  elements: str
  sample:
    - -t nat -A POSTROUTING -s 10.88.0.0/24 ! -d 10.88.0.0/24 -m comment --comment "netns.core masquerade
      10.88.0.0/24" -j MASQUERADE
diff:
  description: Before and after (keys netns, source, rules, and the forwarding sysctl).
  returned: in diff mode (C(--diff) or the task's C(diff) keyword)
  type: dict
  contains:
    before:
      description: The state before the run; empty when the object was absent.
      returned: always
      type: dict
    after:
      description: The state after the run (in check mode, what a real run would leave); empty when it is absent.
      returned: always
      type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netns.core.plugins.module_utils._argspec import MASQUERADE_OPTIONS, options
from ansible_collections.netns.core.plugins.module_utils._masquerade import Masquerade
from ansible_collections.netns.core.plugins.module_utils._resource import run_resource


def main() -> None:
    module = AnsibleModule(
        argument_spec=options(MASQUERADE_OPTIONS),
        supports_check_mode=True,
    )
    run_resource(module, Masquerade)


if __name__ == "__main__":
    main()
