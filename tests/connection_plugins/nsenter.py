# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only connection `nsenter`: run every task inside a simulated host of tests/tools/simhosts.py."""

from __future__ import annotations

DOCUMENTATION = r"""
name: nsenter
short_description: Run tasks inside a simulated host (netns.core tests only)
description:
  - Like the C(local) connection, but every command runs in the network, mount and UTS namespaces of the process
    O(nsenter_pid) (a simulated host of tests/tools/simhosts.py), as
    C(nsenter --target PID --net --mount --uts -- /bin/sh -c CMD) runs it. The simulated host has its own
    C(/run/netns) and C(/sys) in its mount namespace, so C(ip netns) and C(/sys/class/net) are its own.
  - Files need no transfer: the file system is the machine's (only /run/netns and /sys differ).
  - With O(nsenter_netns), commands run in that named namespace of the simulated host (C(ip netns exec NAME)).
  - Loaded with ANSIBLE_CONNECTION_PLUGINS=tests/connection_plugins; not part of the collection.
author:
  - netns.core developers (@netns-core)
options:
  nsenter_pid:
    description: The holder process of the simulated host.
    type: int
    required: true
    vars:
      - name: nsenter_pid
      - name: ansible_nsenter_pid
  nsenter_netns:
    description: A named namespace of the simulated host to run in (a container of it).
    type: str
    vars:
      - name: nsenter_netns
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
"""

import os
import shlex

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection.local import Connection as LocalConnection


class Connection(LocalConnection):
    """The local connection, with each command wrapped in `nsenter --target PID --net --mount --uts`."""

    transport = "nsenter"

    def _pid(self) -> int:
        pid = self.get_option("nsenter_pid")
        if not isinstance(pid, int) or pid <= 1:
            raise AnsibleConnectionFailure(f"nsenter: nsenter_pid {pid!r} is not the PID of a simulated host")
        try:
            same = os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino
        except OSError:
            raise AnsibleConnectionFailure(f"nsenter: no process {pid} (the simulated host is gone)") from None
        if same:
            raise AnsibleConnectionFailure(
                f"nsenter: process {pid} shares this network namespace: not a simulated host"
            )
        return pid

    def _connect(self):
        self._pid()
        return super()._connect()

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        netns = self.get_option("nsenter_netns")
        inner = f"ip netns exec {shlex.quote(netns)} " if netns else ""
        wrapped = f"nsenter --target {self._pid()} --net --mount --uts -- {inner}/bin/sh -c {shlex.quote(cmd)}"
        return super().exec_command(wrapped, in_data=in_data, sudoable=sudoable)
