# SPDX-License-Identifier: GPL-3.0-or-later
"""Reliability 5: two playbooks converging two networks at the same time on one host.

Two bridge_nat networks of 20 containers each (their own bridge, subnet and namespaces; one host, one nat table,
one FORWARD chain, one xtables lock, one ip_forward) converge at once, started 0, 0.3 and 0.8 s apart (their
modules take turns on netns.core's host lock, a flock on /run/netns). Both runs succeed, the result equals
running them one after the other (iptables rules compared as sets: the two networks' rules interleave), a
second concurrent pair reports changed=0, and two teardowns at once leave nothing.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from conftest import namespaces
from kernel_state import shape
from reliability import record_figure
from test_reliability_crash import Runner, nothing_left

N = 20


def network(letter: str, octet: int) -> dict:
    return {
        "bridge_nat_bridge": f"br-{letter}",
        "bridge_nat_subnet": f"10.{octet}.0.0/24",
        "bridge_nat_containers": [{"name": f"{letter}{i:02d}"} for i in range(N)],
    }


def together(runners: list[Runner], state: str, offset: float) -> list[dict]:
    processes = []
    for index, runner in enumerate(runners):
        if index:
            time.sleep(offset)
        processes.append(runner.start(state))
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    return [runner.result(p.returncode, out) for runner, p, out in zip(runners, processes, outputs, strict=True)]


def test_two_networks_at_once_equal_one_after_the_other():
    with tempfile.TemporaryDirectory(prefix="netns-core-concurrency-") as tmp:
        runners = [Runner(Path(tmp, "a"), network("a", 61)), Runner(Path(tmp, "b"), network("b", 62))]
        for runner in runners:
            assert runner.run("present")["changed"]
        sequential = shape(sort_rules=True)
        for runner in runners:
            runner.run("absent")
        nothing_left()
        offsets = (0.0, 0.3, 0.8)
        for offset in offsets:
            assert all(r["changed"] for r in together(runners, "present", offset))
            assert len(namespaces()) == 2 * N
            assert shape(sort_rules=True) == sequential, f"started {offset} s apart: differs from one after the other"
            assert not any(r["changed"] for r in together(runners, "present", offset))
            assert all(r["changed"] for r in together(runners, "absent", offset))
            nothing_left()
    record_figure("concurrency", {"networks": 2, "containers_each": N, "start_offsets_s": list(offsets)})


def test_a_task_waits_for_the_host_lock():
    """While another netns.core task holds /run/netns, a task waits instead of planning from a moving state."""
    import fcntl
    import os

    with tempfile.TemporaryDirectory(prefix="netns-core-lock-") as tmp:
        runner = Runner(Path(tmp), network("c", 63))
        fd = os.open("/run/netns", os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            process = runner.start("present")
            time.sleep(4)  # ansible-playbook needs ~1.5 s to reach the module
            assert process.poll() is None, "the task did not wait for the lock"
            assert namespaces() == [], "the task changed something while another held the lock"
        finally:
            os.close(fd)
        output = process.communicate(timeout=120)[0]
        assert runner.result(process.returncode, output)["changed"]
    assert len(namespaces()) == N
