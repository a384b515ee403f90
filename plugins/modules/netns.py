#!/usr/bin/python
# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.netns: a named network namespace."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netns
short_description: Manage named network namespaces, their loopback and their net.* sysctls
version_added: 1.0.0
description:
  - Creates or removes a named network namespace under C(/run/netns), exactly as C(ip netns add) and
    C(ip netns delete) do, so C(ip netns exec NAME ...) works with it.
  - Existence is an exact name match (V(red) and V(red2) are different namespaces).
  - Brings C(lo) up inside the namespace and sets runtime C(net.*) sysctls inside it.
  - A file left under C(/run/netns) with no namespace mounted on it (after a crash) is repaired.
options:
  name:
    description: Name of the namespace.
    type: str
    required: true
  loopback:
    description:
      - V(true) brings C(lo) up inside the namespace; V(false) keeps it down.
    type: bool
    default: true
  sysctl:
    description:
      - "C(net.*) sysctls to set inside the namespace (runtime only, nothing persisted), for example
        C({net.ipv4.ip_forward: 1}). Keys outside C(net.) are refused."
      - Keys not listed are left as they are.
    type: dict
    default: {}
  pid:
    description:
      - Give a name to the network namespace of this running process instead of creating a new namespace, as
        C(ip netns attach NAME PID) does; for example a Docker container started with C(--network none).
      - Idempotent when O(name) already names that namespace; an error when it names another one or the process
        does not exist.
      - With O(state=absent), only the name is removed; the namespace lives on with its processes.
    type: int
extends_documentation_fragment:
  - netns.core.common
  - netns.core.common.state
seealso:
  - module: netns.core.veth
  - module: netns.core.sysctl
author:
  - netns.core developers (@netns-core)
"""

EXAMPLES = r"""
- name: Name the network namespace of a container started with --network none (its pid from docker inspect)
  netns.core.netns:
    name: web
    pid: "{{ web_pid }}"

- name: A namespace for a container, with lo up
  netns.core.netns:
    name: red

- name: A router namespace that forwards
  netns.core.netns:
    name: router
    sysctl:
      net.ipv4.ip_forward: 1

- name: Remove it (as ip netns delete)
  netns.core.netns:
    name: red
    state: absent
"""

RETURN = r"""
actions:
  description: One human-readable line per change, in the order applied.
  returned: always
  type: list
  elements: str
  sample: ["create netns red", "bring lo up in netns red"]
diff:
  description: The namespace before and after (keys name, loopback, sysctl); empty when absent.
  returned: always
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
  sample: {"before": {}, "after": {"name": "red", "loopback": true, "sysctl": {}}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netns.core.plugins.module_utils._argspec import NETNS_OPTIONS, options
from ansible_collections.netns.core.plugins.module_utils._netns import Netns
from ansible_collections.netns.core.plugins.module_utils._resource import run_resource


def main() -> None:
    module = AnsibleModule(
        argument_spec=options(NETNS_OPTIONS),
        supports_check_mode=True,
    )
    run_resource(module, lambda params, _module: Netns(params))


if __name__ == "__main__":
    main()
