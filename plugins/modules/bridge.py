#!/usr/bin/python
# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.bridge: a Linux bridge in a namespace."""

from __future__ import annotations

DOCUMENTATION = r"""
module: bridge
short_description: Manage Linux bridges on the host or inside a network namespace
version_added: 1.0.0
description:
  - Creates a bridge (up), sets its global addresses, MTU and STP; or deletes it.
  - Deleting a bridge releases its ports; the ports themselves are not deleted.
  - An interface of the same name that is not a bridge is an error, never something to delete.
options:
  name:
    description: Name of the bridge (at most 15 characters).
    type: str
    required: true
  addresses:
    description:
      - Exactly these global addresses (CIDR, IPv4 and IPv6) on the bridge, for example the gateway address
        of a container network. IPv6 link-local addresses are left alone.
      - Omitted, addresses are left as they are.
      - An IPv6 address is added without duplicate address detection (as C(ip addr add ... nodad)), so it is
        usable as soon as the task ends, never tentative.
    type: list
    elements: str
  mtu:
    description: MTU of the bridge. Omitted, left as it is (1500 on creation).
    type: int
  stp:
    description: Spanning tree protocol on the bridge.
    type: bool
    default: false
extends_documentation_fragment:
  - netns.core.common
  - netns.core.common.netns
  - netns.core.common.state
seealso:
  - module: netns.core.veth
author:
  - netns.core developers (@netns-core)
"""

EXAMPLES = r"""
- name: The bridge of a container network, with the gateway address
  netns.core.bridge:
    name: br0
    addresses: [10.88.0.1/24]

- name: A bridge inside a router namespace
  netns.core.bridge:
    name: lan
    netns: router
    addresses: [192.168.1.1/24, "fd00:1::1/64"]
    mtu: 1450

- name: Remove it (ports are released, not deleted)
  netns.core.bridge:
    name: br0
    state: absent
"""

RETURN = r"""
actions:
  description: One human-readable line per change, in the order applied.
  returned: always
  type: list
  elements: str
  sample: ["create bridge br0", "add address 10.88.0.1/24 to br0", "bring br0 up"]
diff:
  description: The bridge before and after (keys name, netns, kind, mtu, master, up, addresses, stp).
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

from ansible_collections.netns.core.plugins.module_utils._argspec import BRIDGE_OPTIONS, options
from ansible_collections.netns.core.plugins.module_utils._bridge import Bridge
from ansible_collections.netns.core.plugins.module_utils._resource import run_resource


def main() -> None:
    module = AnsibleModule(
        argument_spec=options(BRIDGE_OPTIONS),
        supports_check_mode=True,
    )
    run_resource(module, lambda params, _module: Bridge(params))


if __name__ == "__main__":
    main()
