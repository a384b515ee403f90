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
  - Gives the namespace its own resolvers and host names (O(resolv_conf), O(hosts)) in C(/etc/netns/NAME), the
    files C(ip netns exec NAME ...) bind-mounts over C(/etc/resolv.conf) and C(/etc/hosts) (see C(ip-netns(8))).
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
  resolv_conf:
    description:
      - "The namespace's resolver configuration: netns.core writes exactly these lines to
        C(/etc/netns/NAME/resolv.conf) (atomically: a temporary file renamed over it), under a first line saying
        netns.core manages the file. C(ip netns exec NAME) and the P(netns.core.netns#connection) connection bind
        it over C(/etc/resolv.conf)."
      - Omitted (or without nameservers), no file of ours, and commands in the namespace use the host's
        C(/etc/resolv.conf); a file netns.core wrote earlier is removed.
      - An existing C(resolv.conf) there that netns.core did not write (its first line is not ours) is refused,
        never overwritten.
    type: dict
    suboptions:
      nameservers:
        description: IP addresses of the DNS servers, in order (at most 3, as glibc and musl ask only 3).
        type: list
        elements: str
        default: []
      search:
        description: Search domains (C(search) line).
        type: list
        elements: str
        default: []
      options:
        description: Resolver options (C(options) line), each one word such as C(ndots:2), C(timeout:1), C(edns0).
        type: list
        elements: str
        default: []
  hosts:
    description:
      - "Host names of the namespace: a mapping of name to a list of IP addresses (or one address), written to
        C(/etc/netns/NAME/hosts) as one C(IP NAME) line per address (names sorted, addresses in the order
        given), after a first line saying netns.core manages the file and the lines C(127.0.0.1 localhost) and
        C(::1 localhost ip6-localhost ip6-loopback) (left out when the mapping names C(localhost) itself)."
      - C(ip netns exec NAME getent hosts db) then answers from this file.
      - Names are labels of letters, digits, C(-) and C(_) joined by dots (no spaces).
      - Omitted or empty, no file of ours; a file netns.core wrote earlier is removed. An existing C(hosts) there
        that netns.core did not write is refused, never overwritten.
    type: dict
notes:
  - Ownership of C(/etc/netns/NAME) - every file netns.core writes there starts with the line
    C(# netns.core manages this file...); only such files are rewritten or removed. When netns.core makes the
    directory, its files carry a second line saying so, and the directory is removed with the last of them,
    only when nothing else is left in it. A directory somebody else made is never removed, and one that holds
    other files is left (with a warning). No marker file is used, because C(ip netns exec) bind-mounts every
    entry of the directory over C(/etc).
  - With O(state=absent) our files go before the namespace, also when the namespace is already gone (files
    left by a namespace that did not survive a reboot).
  - C(/etc/netns) itself is created when missing (mode 0755) and never removed, like C(/run/netns).
  - A run killed at any moment leaves no half-made state in C(/etc/netns) - a directory of ours is made with its
    files in one step (a temporary directory renamed into place) and removed with them in one step (renamed out
    of the way first). What such a run leaves, a temporary file or directory C(/etc/netns/.netns-core-PID-...)
    whose process is gone, is removed by the next run that plans files there; work in progress of a running
    process is never touched.
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

- name: A container with its own resolver and host names (ip netns exec web getent hosts db)
  netns.core.netns:
    name: web
    resolv_conf:
      nameservers: [10.98.0.1]
      search: [lab.example]
      options: [ndots:1]
    hosts:
      db: [10.98.0.3]
      gateway: [10.98.0.1]

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
  description:
    - The namespace before and after (keys name, loopback, sysctl); empty when absent.
    - C(files), when C(/etc/netns/NAME/resolv.conf) or C(hosts) exists or is wanted, maps each file's path to its
      content, line by line.
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
  sample: {"before": {}, "after": {"name": "red", "loopback": true, "sysctl": {},
           "files": {"/etc/netns/red/hosts": ["# netns.core manages this file...", "127.0.0.1\tlocalhost"]}}}
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
