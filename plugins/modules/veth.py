#!/usr/bin/python
# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.veth: a veth pair whose ends are born in their namespaces."""

from __future__ import annotations

DOCUMENTATION = r"""
module: veth
short_description: Manage veth pairs between the host and network namespaces
version_added: 1.0.0
description:
  - Creates a veth pair with each end directly in its namespace (so every container can have its own C(eth0)),
    attaches ends to bridges, sets addresses and MTU, and brings both ends up.
  - An end found in another namespace than the one asked for is moved there.
  - An interface of the same name that is not this veth pair is an error, never something to delete.
options:
  name:
    description: Name of the first end (at most 15 characters).
    type: str
    required: true
  peer:
    description: Name of the second end (at most 15 characters).
    type: str
    required: true
  netns:
    description:
      - Namespace of the first end. Omitted, the host.
      - In check mode a namespace that does not exist yet reads as empty.
    type: str
  peer_netns:
    description: Namespace of the second end. Omitted, the host.
    type: str
  addresses:
    description:
      - Exactly these global addresses (CIDR, IPv4 and IPv6) on the first end; IPv6 link-local addresses are
        left alone. Omitted, left as they are.
      - An IPv6 address is added without duplicate address detection (as C(ip addr add ... nodad)), so it is
        usable as soon as the task ends, never tentative.
    type: list
    elements: str
  peer_addresses:
    description: As O(addresses), for the second end.
    type: list
    elements: str
  master:
    description: Bridge (in the first end's namespace) the first end is attached to.
    type: str
  peer_master:
    description: Bridge (in the second end's namespace) the second end is attached to.
    type: str
  mtu:
    description: MTU of both ends.
    type: int
extends_documentation_fragment:
  - netns.core.common
  - netns.core.common.state
seealso:
  - module: netns.core.netns
  - module: netns.core.bridge
author:
  - netns.core developers (@netns-core)
"""

EXAMPLES = r"""
- name: A container's eth0, its host end on bridge br0
  netns.core.veth:
    name: veth-red
    master: br0
    peer: eth0
    peer_netns: red
    peer_addresses: [10.88.0.2/24]

- name: Two namespaces joined directly
  netns.core.veth:
    name: eth0
    netns: ns1
    addresses: [10.0.0.1/24]
    peer: eth0
    peer_netns: ns2
    peer_addresses: [10.0.0.2/24]

- name: Remove the pair
  netns.core.veth:
    name: veth-red
    peer: eth0
    peer_netns: red
    state: absent
"""

RETURN = r"""
actions:
  description: One human-readable line per change, in the order applied.
  returned: always
  type: list
  elements: str
  sample: ["create veth pair veth-red <-> eth0 in netns red", "attach veth-red to bridge br0",
           "add address 10.88.0.2/24 to eth0 in netns red", "bring veth-red up", "bring eth0 in netns red up"]
diff:
  description: The pair before and after, as C(end) and C(peer), each with name, netns, kind, mtu, master, up
    and addresses; empty when absent.
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

from ansible_collections.netns.core.plugins.module_utils._argspec import VETH_OPTIONS, options
from ansible_collections.netns.core.plugins.module_utils._resource import run_resource
from ansible_collections.netns.core.plugins.module_utils._veth import Veth


def main() -> None:
    module = AnsibleModule(
        argument_spec=options(VETH_OPTIONS),
        supports_check_mode=True,
    )
    run_resource(module, lambda params, _module: Veth(params))


if __name__ == "__main__":
    main()
