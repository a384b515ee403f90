#!/usr/bin/python
# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.reachability: many reachability probes (ICMP echo, TCP connect) from many namespaces, in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: reachability
short_description: Prove a lab - who reaches whom, by ICMP echo or TCP connect, many probes at once
version_added: 1.0.0
description:
  - Sends every probe at once from this one process and waits for all of them together, so a whole lab is
    checked in about the time of its slowest probe (a full matrix of 100 namespaces, 9,900 probes, takes a few
    seconds) instead of one C(ip netns exec ... ping) task per pair.
  - Each probe runs in its source namespace (the module's thread joins the namespace to open the socket, then
    comes back). ICMP probes send an echo request every second until a reply, an ICMP error or the timeout;
    TCP probes connect once (accepted is reachable; refused or no answer is unreachable).
  - Changes nothing, anywhere; runs in check mode too and always reports C(changed=false).
  - Fails when any probe's result differs from its O(probes[].expect), and the message lists exactly those
    probes. A source namespace that does not exist is an error before anything is sent.
options:
  probes:
    description: Probes, each from one source to one target.
    type: list
    elements: dict
    default: []
    suboptions:
      from:
        description:
          - The source - a namespace under C(/run/netns), or V(host) for the namespace Ansible runs in.
          - A list of sources makes one probe from each (to each O(probes[].to)).
        type: raw
        default: host
      to:
        description:
          - An IPv4 or IPv6 address, or a name the source resolves (its first address), as
            C(ip netns exec SOURCE) would - through C(/etc/netns/SOURCE/hosts) (and the other files there) when
            that directory exists, else C(/etc/hosts) and the usual resolver.
          - A name the source cannot resolve makes the probe unreachable.
          - A list of targets makes one probe to each.
        type: raw
        required: true
      port:
        description: A TCP port to connect to. Omitted, an ICMP echo (ping).
        type: int
      expect:
        description: The result the probe must have.
        type: str
        choices: [reachable, unreachable]
        default: reachable
      timeout:
        description: Seconds to wait for this probe (at most 60). Omitted, O(timeout).
        type: float
  matrix:
    description:
      - Namespaces that must all reach each other - every one pings every global address (IPv4 and IPv6) of every
        other, expecting reachable. Addresses still in duplicate address detection are left out.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds each probe waits by default (more than 0, at most 60).
    type: float
    default: 2.0
extends_documentation_fragment:
  - netns.core.common
attributes:
  check_mode:
    support: full
    details: It only reads and sends probes; check mode does the same.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: It changes nothing.
notes:
  - ICMP uses raw sockets and names are resolved in a child that joins the source's mount and network namespaces,
    so the module needs root (CAP_NET_RAW, CAP_NET_ADMIN, CAP_SYS_ADMIN), like every netns.core module.
  - Each source namespace's raw ICMP socket sees the echo replies of that namespace; probes tell theirs apart by
    the ICMP identifier and sequence number.
seealso:
  - module: netns.core.netem
  - module: netns.core.netns_info
author:
  - netns.core developers (@netns-core)
"""

EXAMPLES = r"""
- name: Every container reaches every other (one task, whatever their number)
  netns.core.reachability:
    matrix: [red, blue, green]

- name: What must and must not work
  netns.core.reachability:
    probes:
      - {from: red, to: 10.98.0.1}                          # the gateway answers pings
      - {from: red, to: web, port: 80}                      # 'web' from /etc/netns/red/hosts
      - {from: red, to: 10.98.0.3, port: 22, expect: unreachable}
      - {from: host, to: 203.0.113.10, timeout: 0.5, expect: unreachable}
      - {from: [red, blue, green], to: [10.98.0.1, 198.51.100.1]}     # 6 probes

- name: Prove the lab, and keep the figures
  netns.core.reachability:
    matrix: "{{ lab_containers | map(attribute='name') | list }}"
    probes: [{from: "{{ lab_containers | map(attribute='name') | list }}", to: 10.98.0.1}]
  register: proof

- name: Round-trip times
  ansible.builtin.debug:
    msg: "{{ proof.probes | map(attribute='rtt_ms') | list }}"
"""

RETURN = r"""
probes:
  description: Every probe's result, the explicit probes first, then the matrix's. Returned on failure too.
  returned: always
  type: list
  elements: dict
  contains:
    from:
      description: The source (a namespace or V(host)).
      type: str
    to:
      description: The target as given (an address or a name).
      type: str
    address:
      description: The address probed (null when the name did not resolve).
      type: str
    protocol:
      description: V(icmp) or V(tcp).
      type: str
    port:
      description: The TCP port (null for ICMP).
      type: int
    expect:
      description: The expected result.
      type: str
    result:
      description: V(reachable) or V(unreachable).
      type: str
    rtt_ms:
      description: Round-trip time in milliseconds (echo reply, or TCP handshake); null when unreachable.
      type: float
    error:
      description: Why it was unreachable (no answer within the timeout, connection refused, an ICMP error).
      type: str
    as_expected:
      description: Whether the result is the expected one.
      type: bool
  sample:
    - {from: red, to: 10.98.0.3, address: 10.98.0.3, protocol: icmp, port: null, expect: reachable,
       result: reachable, rtt_ms: 0.061, error: null, as_expected: true}
summary:
  description: Counts and the time all the probes took.
  returned: always
  type: dict
  contains:
    probes:
      description: How many probes ran.
      type: int
    as_expected:
      description: How many had the expected result.
      type: int
    differ:
      description: How many did not.
      type: int
    seconds:
      description: Seconds from the first probe to the last result.
      type: float
  sample: {probes: 9900, as_expected: 9900, differ: 0, seconds: 3.2}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netns.core.plugins.module_utils._argspec import REACHABILITY_OPTIONS, options
from ansible_collections.netns.core.plugins.module_utils._reachability import reach
from ansible_collections.netns.core.plugins.module_utils._runtime import run_module


def main() -> None:
    module = AnsibleModule(argument_spec=options(REACHABILITY_OPTIONS, with_state=False), supports_check_mode=True)
    run_module(module, lambda session: reach(session, module.params))


if __name__ == "__main__":
    main()
