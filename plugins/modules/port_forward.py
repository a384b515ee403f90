#!/usr/bin/python
# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.port_forward: publish a host port to a container (DNAT), like docker run -p."""

from __future__ import annotations

DOCUMENTATION = r"""
module: port_forward
short_description: Publish a port of the host (or of a router namespace) to an address inside a container network
version_added: 1.0.0
description:
  - Adds tagged DNAT rules so that connections to O(port) on any address of the namespace reach O(destination),
    like C(docker run -p PORT:CONTAINER_PORT).
  - The port works from other machines (traffic arriving on an interface, nat PREROUTING) and from the host itself
    (nat OUTPUT, to any of its addresses but loopback). Containers on the same bridge reach a sibling through the
    published port when bridge netfilter is on (C(net.bridge.bridge-nf-call-iptables=1), as with Docker); a
    container reaching itself through its own published port would need hairpin mode on its bridge port, which
    this module does not set.
  - Forwarded traffic passes even where the FORWARD policy is DROP (tagged ACCEPT rules for connections to the
    destination port and their replies).
  - One forward per protocol, port and IP family and namespace; a different destination replaces the rules.
  - O(state=absent) removes exactly the rules tagged C(netns.core port_forward PROTOCOL/PORT).
options:
  port:
    description: The published port.
    type: int
    required: true
  protocol:
    description: The protocol.
    type: str
    choices: [tcp, udp]
    default: tcp
  destination:
    description:
      - Where connections go, C(IP) or C(IP:PORT) (IPv6 C([IP]:PORT)); without a port, O(port).
    type: str
    required: true
  in_interface:
    description: Only traffic arriving on this interface (then the host itself does not get the forward).
    type: str
extends_documentation_fragment:
  - netns.core.common
  - netns.core.common.netns
  - netns.core.common.state
  - netns.core.common.firewall
notes:
  - Traffic from other machines is forwarded only where C(net.ipv4.ip_forward) is 1; M(netns.core.masquerade)
    and the P(netns.core.bridge_nat#role) role turn it on.
seealso:
  - module: netns.core.masquerade
author:
  - netns.core developers (@netns-core)
"""

EXAMPLES = r"""
- name: Publish port 8080 of the host to the web container's port 80
  netns.core.port_forward:
    port: 8080
    destination: 10.98.0.2:80

- name: A DNS server in a container, only for traffic arriving on eth0
  netns.core.port_forward:
    port: 53
    protocol: udp
    destination: 10.98.0.3
    in_interface: eth0
"""

RETURN = r"""
rules:
  description:
    - The rules of this forward, in C(iptables -S) form, or for nftables as C(nft add rule) takes them
      (C(inet netns_core CHAIN STATEMENT comment "TAG")).
  returned: always
  type: list
  elements: str
actions:
  description: One human-readable line per change.
  returned: always
  type: list
  elements: str
diff:
  description: Before and after (netns, protocol, port, family, rules).
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

from ansible_collections.netns.core.plugins.module_utils._argspec import PORT_FORWARD_OPTIONS, options
from ansible_collections.netns.core.plugins.module_utils._port_forward import PortForward
from ansible_collections.netns.core.plugins.module_utils._resource import run_resource


def main() -> None:
    module = AnsibleModule(argument_spec=options(PORT_FORWARD_OPTIONS), supports_check_mode=True)
    run_resource(module, PortForward)


if __name__ == "__main__":
    main()
