# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.netns against the real kernel (inside the sandbox)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from conftest import fails_cleanly, four_steps, links, namespaces, play, run, sh, snapshot


def test_create_with_loopback_and_sysctl():
    task = {"netns.core.netns": {"name": "red", "sysctl": {"net.ipv4.ip_forward": 1}}}

    def verify():
        assert namespaces() == ["red"]
        assert "UP" in links("red")["lo"]["flags"]
        assert sh("ip netns exec red sysctl -n net.ipv4.ip_forward").strip() == "1"
        assert sh("sysctl -n net.ipv4.ip_forward").strip() == "0", "the host's ip_forward must not change"

    (result,) = four_steps([task], verify)
    assert result["actions"] == [
        "create netns red",
        "bring lo up in netns red",
        "set net.ipv4.ip_forward=1 in netns red",
    ]
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"] == {"name": "red", "loopback": True, "sysctl": {"net.ipv4.ip_forward": "1"}}


def test_loopback_false_keeps_lo_down():
    def verify():
        assert "UP" not in links("blue")["lo"]["flags"]

    four_steps([{"netns.core.netns": {"name": "blue", "loopback": False}}], verify)


def test_names_that_are_prefixes_of_each_other():
    sh("ip netns add red")
    (result,) = play([{"netns.core.netns": {"name": "red2"}}])
    assert result["changed"] and namespaces() == ["red", "red2"]
    sh("ip netns delete red")
    (result,) = play([{"netns.core.netns": {"name": "red"}}])
    assert result["changed"] and namespaces() == ["red", "red2"]
    (result,) = play([{"netns.core.netns": {"name": "red", "state": "absent"}}])
    assert result["changed"] and namespaces() == ["red2"]
    (result,) = play([{"netns.core.netns": {"name": "re", "state": "absent"}}])
    assert not result["changed"] and namespaces() == ["red2"]


def test_absent():
    sh("ip netns add gone")

    def verify():
        assert namespaces() == []

    (result,) = four_steps([{"netns.core.netns": {"name": "gone", "state": "absent"}}], verify)
    assert result["actions"] == ["delete netns gone"]


def test_stale_file_is_repaired():
    sh("touch /run/netns/stale")
    result = run("netns", {"name": "stale"})
    assert result["changed"]
    assert result["actions"][0].startswith("remove stale netns file")
    assert "lo" in links("stale")
    assert not run("netns", {"name": "stale"})["changed"]


def test_check_run_of_a_whole_play_plans_later_tasks():
    """A check run where later tasks need a namespace an earlier task creates plans instead of failing."""
    tasks = [
        {"netns.core.netns": {"name": "red"}},
        {"netns.core.veth": {"name": "eth0", "netns": "red", "peer": "veth-red", "addresses": ["10.9.0.2/24"]}},
        {"netns.core.netns_route": {"netns": "red", "destination": "default", "gateway": "10.9.0.1"}},
        {"netns.core.sysctl": {"netns": "red", "name": "net.ipv4.conf.all.forwarding", "value": 1}},
        {"netns.core.masquerade": {"netns": "red", "source": "10.9.0.0/24"}},
    ]
    before = snapshot()
    results = play(tasks, check=True)
    assert [r["status"] for r in results] == ["ok"] * 5, results
    assert all(r["changed"] for r in results)
    assert snapshot() == before


def test_bad_sysctl_key_refused():
    fails_cleanly("netns", {"name": "red", "sysctl": {"kernel.hostname": "x"}}, "kernel.hostname", "net.")


@pytest.fixture
def process_in_own_netns():
    """A process in a network namespace of its own (as a container started with --network none)."""
    proc = subprocess.Popen(["unshare", "--net", "sleep", "300"])
    for _attempt in range(50):  # unshare execs sleep once the namespace exists
        if os.readlink(f"/proc/{proc.pid}/ns/net") != os.readlink("/proc/self/ns/net"):
            break
        time.sleep(0.05)
    yield proc.pid
    proc.kill()
    proc.wait()


def test_attach_names_the_namespace_of_a_process(process_in_own_netns):
    pid = process_in_own_netns
    task = {"netns.core.netns": {"name": "adopted", "pid": pid}}

    def verify():
        assert namespaces() == ["adopted"]
        assert sh(f"ip netns identify {pid}").strip() == "adopted"
        assert "UP" in links("adopted")["lo"]["flags"]

    (result,) = four_steps([task], verify)
    namespace = os.readlink(f"/proc/{pid}/ns/net")
    assert result["diff"]["after"]["namespace"] == namespace
    assert result["actions"][0] == f"attach netns adopted to the network namespace of pid {pid} ({namespace})"

    # the name now points at that namespace: another process's namespace under it is an error, not a change
    other = subprocess.Popen(["unshare", "--net", "sleep", "300"])
    try:
        time.sleep(0.3)
        result = fails_cleanly(
            "netns", {"name": "adopted", "pid": other.pid}, "already names another network namespace"
        )
    finally:
        other.kill()
        other.wait()

    # absent removes the name only; the process keeps its namespace
    gone = run("netns", {"name": "adopted", "pid": pid, "state": "absent"})
    assert gone["changed"] and namespaces() == []
    assert os.readlink(f"/proc/{pid}/ns/net") == namespace


def test_attach_to_a_process_that_does_not_exist():
    fails_cleanly("netns", {"name": "ghost", "pid": 4000000}, "pid 4000000: no such process")
