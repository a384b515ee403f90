#!/usr/bin/python
# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.vxlan: a VXLAN device and its peers (neighbour, forwarding entry and onlink routes each)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: vxlan
short_description: Manage a VXLAN device and exactly its peers' neighbour, forwarding and route entries
version_added: 1.1.0
description:
  - Creates a VXLAN device (VNI, UDP port, local underlay address, underlay interface, MAC) in the host or a
    named namespace, with its addresses and MTU, and brings it up.
  - For each peer (another host of an overlay) it keeps, in this order, a permanent neighbour entry (the peer's
    VTEP O(peers[].address) is at O(peers[].mac)), a permanent forwarding entry (frames to that MAC go to the
    peer's underlay address O(peers[].remote)) and an C(onlink) route of each of O(peers[].subnets) via the VTEP
    address. This is flannel's layer-3 VXLAN model, with the inventory instead of a daemon and a key-value store.
  - The device is this task's, so its entries are exactly the peers'. A permanent neighbour or forwarding entry,
    or a route through the device that is not the kernel's own, that no peer describes is removed (a host that
    left the overlay disappears). The kernel's neighbour cache (entries it learnt or is resolving) is left alone.
  - O(vni), O(port), O(local) and O(underlay_interface) cannot change in place; a change deletes the device and
    makes it again (its entries are made again with it). O(mtu), O(mac), O(learning) and O(addresses) change in
    place.
options:
  name:
    description: Name of the device (at most 15 characters).
    type: str
    required: true
  vni:
    description: The VXLAN network identifier, 1 to 16777215. Required unless O(state=absent).
    type: int
  port:
    description:
      - The UDP port of the tunnel, always set explicitly (the kernel's own default is 8472, the IANA port is 4789).
      - One device per VNI and port in a namespace (the kernel refuses a second).
    type: int
    default: 4789
  local:
    description:
      - The underlay source address of the encapsulated packets; an address of an interface of that namespace
        (of O(underlay_interface) when given). Its family is the underlay's. Required unless O(state=absent).
    type: str
  underlay_interface:
    description:
      - The interface the encapsulated packets leave by. Given, a device made without O(mtu) gets that
        interface's MTU less the encapsulation (50 bytes over IPv4, 70 over IPv6).
      - Omitted, an existing device keeps the one it has.
    type: str
  mac:
    description:
      - The device's MAC address (a unicast one), set when it is made and kept (systemd may rewrite the MACs of new
        devices; peers know this one).
      - Omitted, the kernel draws one; it is then not reported in the diff (a check run cannot know it).
    type: str
  mtu:
    description: MTU of the device; omitted, as the kernel sets it (see O(underlay_interface)).
    type: int
  learning:
    description: Learn remote MACs from received packets (off, as in flannel; the forwarding entries say them).
    type: bool
    default: false
  addresses:
    description:
      - Addresses of the device in CIDR form (the VTEP address, for example the host subnet's network address as
        a /32, so that no broadcast route is made). Exactly these; omitted, they are left as they are.
    type: list
    elements: str
  peers:
    description: The other hosts of the overlay. Exactly these; entries of other peers are removed.
    type: list
    elements: dict
    default: []
    suboptions:
      remote:
        description: The peer's underlay address (where its encapsulated traffic goes), of the family of O(local).
        type: str
        required: true
      mac:
        description: The MAC of the peer's VXLAN device.
        type: str
        required: true
      address:
        description: The peer's VTEP address (the gateway of its subnets' routes).
        type: str
        required: true
      subnets:
        description: The networks behind the peer (its containers' subnet), routed via O(peers[].address) onlink.
        type: list
        elements: str
        default: []
extends_documentation_fragment:
  - netns.core.common
  - netns.core.common.netns
  - netns.core.common.state
notes:
  - O(state=absent) deletes the device; the kernel drops its neighbour and forwarding entries and its routes.
  - The role P(netns.core.overlay#role) computes this device and its peers for every host of an inventory group.
seealso:
  - module: netns.core.network
  - module: netns.core.netns_route
author:
  - netns.core developers (@netns-core)
"""

EXAMPLES = r"""
- name: Host 1 of an overlay, with host 2 and host 3 as peers
  netns.core.vxlan:
    name: vx-overlay
    vni: 1
    local: 192.168.50.1
    underlay_interface: eth0
    mac: 0e:6e:0a:f4:01:00
    addresses: [10.244.1.0/32]
    peers:
      - {remote: 192.168.50.2, mac: "0e:6e:0a:f4:02:00", address: 10.244.2.0, subnets: [10.244.2.0/24]}
      - {remote: 192.168.50.3, mac: "0e:6e:0a:f4:03:00", address: 10.244.3.0, subnets: [10.244.3.0/24]}

- name: Remove it, with everything on it
  netns.core.vxlan:
    name: vx-overlay
    state: absent
"""

RETURN = r"""
actions:
  description: One human-readable line per change, in the order applied.
  returned: always
  type: list
  elements: str
  sample: ["create vxlan vx-overlay (vni 1, port 4789, local 192.168.50.1)", "bring vx-overlay up",
           "add neighbour 10.244.2.0 lladdr 0e:6e:0a:f4:02:00 on vx-overlay"]
interface:
  description: The device after the run (in check mode, what a real run would leave); null when absent.
  returned: always
  type: dict
  sample:
    name: vx-overlay
    netns: null
    kind: vxlan
    mtu: 1450
    up: true
    vni: 1
    port: 4789
    local: 192.168.50.1
    underlay_interface: eth0
    learning: false
    mac: 0e:6e:0a:f4:01:00
    addresses: [10.244.1.0/32]
    neighbours: {10.244.2.0: "0e:6e:0a:f4:02:00"}
    fdb: ["0e:6e:0a:f4:02:00 dst 192.168.50.2"]
    routes: ["10.244.2.0/24 via 10.244.2.0 onlink"]
diff:
  description: The device before and after, with the keys of RV(interface).
  returned: in diff mode (C(--diff) or the task's C(diff) keyword)
  type: dict
  contains:
    before:
      description: The state before the run; empty when the device was absent.
      returned: always
      type: dict
    after:
      description: The state after the run (in check mode, what a real run would leave); empty when it is absent.
      returned: always
      type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netns.core.plugins.module_utils._argspec import VXLAN_OPTIONS, options
from ansible_collections.netns.core.plugins.module_utils._resource import run_resource
from ansible_collections.netns.core.plugins.module_utils._vxlan import Vxlan


def main() -> None:
    module = AnsibleModule(
        argument_spec=options(VXLAN_OPTIONS),
        supports_check_mode=True,
        required_if=[("state", "present", ("vni", "local"))],
    )
    run_resource(module, lambda params, _module: Vxlan(params))


if __name__ == "__main__":
    main()
