#!/usr/bin/python
# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.netns_route: one route on the host or inside a namespace."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netns_route
short_description: Manage routes on the host or inside a network namespace
version_added: 1.0.0
description:
  - Adds, replaces or deletes one unicast route (IPv4 or IPv6) in a routing table of a namespace.
  - A route is identified by (netns, table, destination, metric); a different gateway or interface replaces it.
  - Routes with another metric or in another table are other routes and are left alone.
options:
  destination:
    description:
      - The destination network in CIDR form, an address (a host route), or V(default)
        (C(0.0.0.0/0), or C(::/0) when O(gateway) is IPv6).
      - A network with host bits set (V(10.0.0.5/24)) is refused with the network it probably means.
    type: str
    required: true
  gateway:
    description: The next hop.
    type: str
  interface:
    description: The outgoing interface. Omitted, the kernel picks it from the gateway (and a different one is not
      corrected).
    type: str
  metric:
    description: The route metric (priority). Omitted, the kernel default (0 for IPv4, 1024 for IPv6).
    type: int
  table:
    description: The routing table (254 is C(main)).
    type: int
    default: 254
  onlink:
    description:
      - The gateway is on O(interface) even though no address there covers it (C(ip route ... onlink)), as a
        VXLAN overlay routes each peer's subnet via the peer's VTEP address. Needs O(gateway) and O(interface).
      - Changing it replaces the route.
    type: bool
    default: false
    version_added: 1.1.0
extends_documentation_fragment:
  - netns.core.common
  - netns.core.common.netns
  - netns.core.common.state
notes:
  - O(state=present) needs O(gateway) or O(interface).
  - With O(state=absent), a given O(gateway) or O(interface) narrows the match, as C(ip route del ... via ...) does;
    a route with that identity going elsewhere is left alone.
seealso:
  - module: netns.core.veth
author:
  - netns.core developers (@netns-core)
"""

EXAMPLES = r"""
- name: Default route of a container via the bridge's address
  netns.core.netns_route:
    netns: red
    destination: default
    gateway: 10.88.0.1

- name: Reach the other subnet through the host end
  netns.core.netns_route:
    netns: ns1
    destination: 10.0.2.0/24
    gateway: 10.0.1.1
    metric: 100

- name: An IPv6 default route in table 100
  netns.core.netns_route:
    netns: red
    destination: default
    gateway: fd00:88::1
    table: 100

- name: A peer's subnet through a VXLAN device, the peer's VTEP address on the link
  netns.core.netns_route:
    destination: 10.244.2.0/24
    gateway: 10.244.2.0
    interface: vx-overlay
    onlink: true
"""

RETURN = r"""
actions:
  description: One human-readable line per change.
  returned: always
  type: list
  elements: str
  sample: ["add route 0.0.0.0/0 via 10.88.0.1 metric 0 in netns red"]
diff:
  description: The route before and after (keys netns, table, destination, metric, gateway, interface).
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

from ansible_collections.netns.core.plugins.module_utils._argspec import ROUTE_OPTIONS, options
from ansible_collections.netns.core.plugins.module_utils._netns_route import Route
from ansible_collections.netns.core.plugins.module_utils._resource import run_resource


def main() -> None:
    module = AnsibleModule(
        argument_spec=options(ROUTE_OPTIONS),
        supports_check_mode=True,
    )
    run_resource(module, lambda params, _module: Route(params))


if __name__ == "__main__":
    main()
