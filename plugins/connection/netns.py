# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.netns connection: run every task inside a named network namespace of the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
name: netns
short_description: Run tasks inside a named network namespace on the machine Ansible runs on
version_added: 1.0.0
description:
  - Like the C(local) connection, but every command runs inside the network namespace C(/run/netns/NAME), as
    C(ip netns exec NAME ...) runs it. An inventory can then list the namespaces of a lab as hosts and use
    ordinary modules in them (M(ansible.builtin.command), M(ansible.builtin.wait_for), M(ansible.builtin.uri),
    a server started with M(ansible.builtin.shell)).
  - Files are shared with the machine (same filesystem); only the network is the namespace's.
  - Needs root and C(ip) (iproute2) on the controller.
author:
  - netns.core developers (@netns-core)
options:
  netns_name:
    description:
      - The namespace. Defaults to the host's address (O(remote_addr)), i.e. C(ansible_host) or the inventory name.
    type: str
    vars:
      - name: netns_name
      - name: ansible_netns_name
  remote_addr:
    description: The namespace, when O(netns_name) is not set.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  become_success_timeout:
    description: As for the C(local) connection.
    type: int
    default: 10
    vars:
      - name: ansible_local_become_success_timeout
  become_strip_preamble:
    description: As for the C(local) connection.
    type: bool
    default: true
    vars:
      - name: ansible_local_become_strip_preamble
extends_documentation_fragment:
  - connection_pipelining
notes:
  - A namespace that does not exist is a connection failure that names it; nothing is created.
"""

EXAMPLES = r"""
# inventory.yml: the containers of a lab as hosts
# lab:
#   hosts:
#     lab-red:
#     lab-blue:
#   vars:
#     ansible_connection: netns.core.netns
#     ansible_python_interpreter: "{{ ansible_playbook_python }}"

- name: Inside every container of the lab
  hosts: lab
  gather_facts: false
  tasks:
    - name: The gateway answers
      ansible.builtin.command: ping -c 1 -W 2 10.98.0.1
      changed_when: false
"""

import shlex

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection.local import Connection as LocalConnection

from ansible_collections.netns.core.plugins.module_utils._constants import NETNS_NAME_RE, NETNS_RUN_DIR
from ansible_collections.netns.core.plugins.module_utils._netnsfs import file_kind, netns_path, netns_status


class Connection(LocalConnection):
    """The local connection, with each command wrapped in `ip netns exec NAME`."""

    transport = "netns.core.netns"

    def _netns(self) -> str:
        name = self.get_option("netns_name") or self.get_option("remote_addr")
        if not isinstance(name, str) or not NETNS_NAME_RE.match(name) or name in (".", ".."):
            raise AnsibleConnectionFailure(f"netns.core.netns: {name!r} is not a valid namespace name")
        status = netns_status(name)
        if status == "absent":
            raise AnsibleConnectionFailure(f"netns.core.netns: netns {name!r} does not exist under {NETNS_RUN_DIR}")
        if status == "stale":
            raise AnsibleConnectionFailure(
                f"netns.core.netns: {netns_path(name)} has no namespace mounted on it (a stale name: remove it with"
                " netns.core.netns state=absent)"
            )
        if status != "present":
            raise AnsibleConnectionFailure(
                f"netns.core.netns: {netns_path(name)} is a {file_kind(netns_path(name))}, not a namespace"
            )
        return name

    def _connect(self):
        self._netns()
        return super()._connect()

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        wrapped = f"ip netns exec {shlex.quote(self._netns())} /bin/sh -c {shlex.quote(cmd)}"
        return super().exec_command(wrapped, in_data=in_data, sudoable=sudoable)
