#!/usr/bin/python
# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.sysctl: one runtime net.* sysctl, on the host or inside a namespace."""

from __future__ import annotations

DOCUMENTATION = r"""
module: sysctl
short_description: Set a runtime network sysctl on the host or inside a network namespace
version_added: 1.0.0
description:
  - Sets one C(net.*) sysctl at runtime, in the namespace Ansible runs in or inside a named namespace.
  - Nothing is persisted (C(/etc/sysctl.conf) is not written); C(ansible.posix.sysctl) cannot reach inside a
    namespace, this module can.
  - The value is read back first; nothing is written when it already holds.
options:
  name:
    description: The key in dotted form, under C(net.), for example V(net.ipv4.ip_forward).
    type: str
    required: true
  value:
    description:
      - The value. Numbers and booleans are accepted (V(true) is C(1)); fields of multi-value keys may be
        separated by any whitespace.
    type: raw
    required: true
extends_documentation_fragment:
  - netns.core.common
  - netns.core.common.netns
seealso:
  - module: netns.core.netns
author:
  - netns.core developers (@netns-core)
"""

EXAMPLES = r"""
- name: Route between namespaces through the host
  netns.core.sysctl:
    name: net.ipv4.ip_forward
    value: 1

- name: Let a router namespace forward IPv6
  netns.core.sysctl:
    name: net.ipv6.conf.all.forwarding
    value: 1
    netns: router
"""

RETURN = r"""
actions:
  description: One human-readable line per change.
  returned: always
  type: list
  elements: str
  sample: ["set net.ipv4.ip_forward=1 in netns router"]
diff:
  description: The sysctl before and after (keys netns, name, value).
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
  sample: {"before": {"netns": "router", "name": "net.ipv4.ip_forward", "value": "0"},
           "after": {"netns": "router", "name": "net.ipv4.ip_forward", "value": "1"}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netns.core.plugins.module_utils._argspec import SYSCTL_OPTIONS, options
from ansible_collections.netns.core.plugins.module_utils._resource import run_resource
from ansible_collections.netns.core.plugins.module_utils._sysctl import Sysctl


def main() -> None:
    module = AnsibleModule(
        argument_spec=options(SYSCTL_OPTIONS, with_state=False),
        supports_check_mode=True,
    )
    run_resource(module, lambda params, _module: Sysctl(params))


if __name__ == "__main__":
    main()
