# SPDX-License-Identifier: GPL-3.0-or-later
"""The raw kernel state of the sandbox, as text, for byte-for-byte comparisons.

Everything a netns.core task could change, for the host and every named namespace: the namespace files and their
mounts, `ip -d link`, `ip addr`, IPv4 and IPv6 routes of every table, iptables-save and ip6tables-save of every
table, and the forwarding sysctls. The only edits are what moves on the kernel's own clock with nobody acting:
bridge and bridge port timers (gc_timer, forward_delay_timer... count down), the `# Generated ... on DATE`
comment lines of iptables-save, and its chain counters (packets of the tests' own pings).

Used by the reliability tests directly and, through `python -m kernel_state`, by the test callback, which takes
a snapshot right after each failed task.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

COMMANDS = (
    "ip -d link show",
    "ip addr show",
    "ip route show table all",
    "ip -6 route show table all",
    "iptables-save",
    "ip6tables-save",
    "sysctl net.ipv4.ip_forward net.ipv6.conf.all.forwarding",
    "tc qdisc show",  # the qdiscs (netns.core.netem)
)
TIMER = re.compile(r" \w+_timer +[0-9.]+")
COUNTERS = re.compile(r" \[\d+:\d+\]$", re.MULTILINE)


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    return f"{done.stdout}{done.stderr}[exit {done.returncode}]\n"


def _clean(command: str, text: str) -> str:
    text = TIMER.sub("", text)
    if "save" in command:
        text = COUNTERS.sub("", "".join(line + "\n" for line in text.splitlines() if not line.startswith("#")))
    return text


def namespace_files() -> str:
    """Names in /run/netns with their type and whether a namespace is mounted there (a stale file has none)."""
    mounted = set()
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if fields[4].startswith("/run/netns/") and " - nsfs " in line:
                mounted.add(fields[4][len("/run/netns/") :])
    lines = []
    for name in sorted(os.listdir("/run/netns")):
        kind = "dir" if os.path.isdir(f"/run/netns/{name}") else "file"
        lines.append(f"{name} {kind} {'mounted' if name in mounted else 'NOT-MOUNTED'}\n")
    return "".join(lines)


def namespaces() -> list[str]:
    return sorted(os.listdir("/run/netns"))


def raw() -> str:
    parts = ["== /run/netns\n", namespace_files()]
    for ns in [None, *namespaces()]:
        prefix = [] if ns is None else ["ip", "netns", "exec", ns]
        for command in COMMANDS:
            parts.append(f"== {ns or 'host'}: {command}\n")
            parts.append(_clean(command, _run(prefix + command.split())))
    return "".join(parts)


def settled(timeout: float = 15.0) -> str:
    """raw(), once the kernel has stopped changing on its own: no IPv6 address still in duplicate address
    detection (its flags change ~1-2 s after it appears) and two reads 0.3 s apart equal (carrier and operstate
    of a veth follow its peer)."""
    deadline = time.monotonic() + timeout
    last = raw()
    while True:
        time.sleep(0.3)
        now = raw()
        if now == last and " tentative" not in now:
            return now
        if time.monotonic() > deadline:
            raise AssertionError("the kernel state did not settle")
        last = now


if __name__ == "__main__":
    print(raw(), end="")
