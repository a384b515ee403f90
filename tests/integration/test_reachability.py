# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.reachability against the real kernel (inside the sandbox): expectations met and unmet (both ways),
a TCP port open and closed, a name from the source's /etc/netns hosts file, an unknown namespace, and the time of
a 50-namespace matrix. It never changes anything, in check mode or not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, play, run, sh, snapshot

MATRIX_N = int(os.environ.get("NETNS_CORE_MATRIX_N", "50"))
LISTENER = r"""
import socket
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("10.7.0.2", 8080))
server.listen(16)
print("listening", flush=True)
while True:
    conn, _ = server.accept()
    conn.close()
"""


def trio() -> None:
    """a 10.7.0.1 <-> b 10.7.0.2 on one veth; c alone (nothing reaches it)."""
    sh("ip netns add a && ip netns add b && ip netns add c")
    sh("ip -n a link add eth0 type veth peer name eth0 netns b")
    sh("ip -n a addr add 10.7.0.1/24 dev eth0 && ip -n b addr add 10.7.0.2/24 dev eth0")
    sh("ip -n a link set eth0 up && ip -n b link set eth0 up")
    for ns in ("a", "b", "c"):
        sh(f"ip -n {ns} link set lo up")


@pytest.fixture
def etc_netns():
    """A private /etc/netns for this test: a tmpfs mounted inside the sandbox's own mount namespace only (created
    as an empty directory first when the machine has none, and removed again)."""
    made = not os.path.isdir("/etc/netns")
    if made:
        os.mkdir("/etc/netns")
    sh("mount -t tmpfs -o mode=0755 netns-etc-sandbox /etc/netns")
    try:
        yield Path("/etc/netns")
    finally:
        sh("umount /etc/netns")
        if made:
            os.rmdir("/etc/netns")


def by_target(result: dict) -> dict:
    return {(p["from"], p["to"], p["port"]): p for p in result["probes"]}


def test_expectations_met_change_nothing_in_real_and_check_mode():
    trio()
    probes = [
        {"from": "a", "to": "10.7.0.2"},
        {"from": "b", "to": "10.7.0.1"},
        {"from": "a", "to": "10.7.0.9", "expect": "unreachable", "timeout": 0.5},
        {"from": "c", "to": "10.7.0.2", "expect": "unreachable", "timeout": 0.5},
    ]
    before = snapshot()
    for check in (False, True):
        result = run("reachability", {"probes": probes, "matrix": ["a", "b"]}, check=check)
        assert result["status"] == "ok" and result["changed"] is False, result
        assert result["summary"]["probes"] == 6 and result["summary"]["differ"] == 0
        found = by_target(result)
        reply = found[("a", "10.7.0.2", None)]
        assert reply["result"] == "reachable" and reply["protocol"] == "icmp" and 0 < reply["rtt_ms"] < 1000
        assert found[("a", "10.7.0.9", None)]["result"] == "unreachable"
        assert found[("c", "10.7.0.2", None)]["error"] in ("network unreachable", "no answer within 0.5 s")
        assert all(p["as_expected"] for p in result["probes"])
    assert snapshot() == before


def test_expectations_unmet_in_both_directions_are_listed_exactly():
    trio()
    probes = [
        {"from": "a", "to": "10.7.0.2"},  # met
        {"from": "a", "to": "10.7.0.2", "expect": "unreachable"},  # reachable, expected unreachable
        {"from": "b", "to": "10.7.0.77", "timeout": 0.5},  # unreachable, expected reachable
    ]
    result = run("reachability", {"probes": probes})
    assert result["status"] == "failed"
    assert result["msg"].startswith("2 of 3 probes differ from what was expected: ")
    assert "a -> 10.7.0.2 (icmp) is reachable, expected unreachable" in result["msg"]
    assert "b -> 10.7.0.77 (icmp) is unreachable: no answer within 0.5 s, expected reachable" in result["msg"]
    assert result["msg"].count(" -> ") == 2
    assert [p["as_expected"] for p in result["probes"]] == [True, False, False]
    assert result["summary"]["differ"] == 2


def test_a_tcp_port_open_and_closed():
    trio()
    listener = subprocess.Popen(
        ["ip", "netns", "exec", "b", sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert listener.stdout.readline().strip() == "listening"
        probes = [
            {"from": "a", "to": "10.7.0.2", "port": 8080},
            {"from": "a", "to": "10.7.0.2", "port": 8081, "expect": "unreachable"},
        ]
        result = run("reachability", {"probes": probes})
        assert result["status"] == "ok", result
        open_, closed = result["probes"]
        assert open_["result"] == "reachable" and open_["protocol"] == "tcp" and open_["rtt_ms"] is not None
        assert closed["result"] == "unreachable" and closed["error"] == "connection refused"
        result = run("reachability", {"probes": [{"from": "a", "to": "10.7.0.2", "port": 8081}]})
        assert result["status"] == "failed" and "port 8081 is unreachable: connection refused" in result["msg"]
    finally:
        listener.kill()
        listener.wait()


def test_a_name_resolved_through_the_source_hosts_file(etc_netns):
    trio()
    (etc_netns / "a").mkdir()
    (etc_netns / "a" / "hosts").write_text("127.0.0.1 localhost\n10.7.0.2 web.lab web\n")
    probes = [
        {"from": "a", "to": "web"},
        {"from": "a", "to": "web.lab", "port": 9, "expect": "unreachable"},
        {"from": "b", "to": "web", "expect": "unreachable"},  # b has no such file: the name does not resolve
    ]
    result = run("reachability", {"probes": probes})
    assert result["status"] == "ok", result
    web, closed, elsewhere = result["probes"]
    assert web["address"] == "10.7.0.2" and web["result"] == "reachable"
    assert closed["address"] == "10.7.0.2" and closed["error"] == "connection refused"
    assert elsewhere["address"] is None and "'web' does not resolve in netns b" in elsewhere["error"]


def test_an_unknown_namespace_is_a_clear_error_before_anything_is_sent():
    trio()
    result = run("reachability", {"probes": [{"from": "a", "to": "10.7.0.2"}, {"from": "nope", "to": "10.7.0.1"}]})
    assert result["status"] == "failed"
    assert result["msg"] == "netns 'nope' (probes[1]) does not exist; nothing was probed"
    result = run("reachability", {"matrix": ["a", "ghost"]}, check=True)
    assert result["status"] == "failed" and "netns 'ghost' (matrix) does not exist" in result["msg"]
    result = run("reachability", {"probes": [{"from": "../a", "to": "10.7.0.1"}]})
    assert result["status"] == "failed" and "is not a valid namespace name" in result["msg"]


def routed(count: int) -> list[str]:
    """`count` namespaces, each joined to one router namespace by its own /31 (one neighbour each: the kernel's
    neighbour table is shared by every namespace of the machine, so a flat L2 mesh of 50+ would fill it)."""
    lines = ["set -e", "ip netns add rtr"]
    names = [f"m{i}" for i in range(1, count + 1)]
    for i, ns in enumerate(names, start=1):
        subnet = f"10.{80 + i // 200}.{i % 200}"
        lines += [
            f"ip netns add {ns}",
            f"ip -n rtr link add r{i} type veth peer name eth0 netns {ns}",
            f"ip -n rtr addr add {subnet}.0/31 dev r{i}",
            f"ip -n rtr link set r{i} up",
            f"ip -n {ns} addr add {subnet}.1/31 dev eth0",
            f"ip -n {ns} link set eth0 up",
            f"ip -n {ns} route add default via {subnet}.0",
        ]
    lines.append("ip netns exec rtr sysctl -qw net.ipv4.ip_forward=1")
    subprocess.run(["bash", "-c", "\n".join(lines)], check=True, timeout=300)
    return names


def test_the_time_of_a_full_matrix():
    names = routed(MATRIX_N)
    started = time.monotonic()
    (result,) = play([{"name": "matrix", "netns.core.reachability": {"matrix": names}}])
    wall = time.monotonic() - started
    assert result["status"] == "ok", result.get("msg", "")[:2000]
    expected = MATRIX_N * (MATRIX_N - 1)
    assert result["summary"] == {**result["summary"], "probes": expected, "as_expected": expected, "differ": 0}
    figures = {"namespaces": MATRIX_N, "probes": expected, "probing_s": result["summary"]["seconds"]}
    figures["ansible_playbook_s"] = round(wall, 2)
    print(f"\nreachability matrix: {json.dumps(figures)}")
    out = REPO / ".build" / "reachability"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"matrix-{MATRIX_N}.json").write_text(json.dumps(figures) + "\n")
    assert result["summary"]["seconds"] < 10


def test_ipv6_echo_and_tcp_and_the_matrix_takes_ipv6_addresses_too():
    trio()
    sh("ip -n a addr add fd00:7::1/64 dev eth0 nodad && ip -n b addr add fd00:7::2/64 dev eth0 nodad")
    probes = [
        {"from": "a", "to": "fd00:7::2", "port": 22, "expect": "unreachable"},
        {"from": "a", "to": "fd00:7::9", "timeout": 0.5, "expect": "unreachable"},
    ]
    result = run("reachability", {"probes": probes, "matrix": ["a", "b"]})
    assert result["status"] == "ok", result
    found = by_target(result)
    assert found[("a", "fd00:7::2", 22)]["error"] == "connection refused"
    assert found[("a", "fd00:7::2", None)]["result"] == "reachable"  # from the matrix
    assert found[("b", "fd00:7::1", None)]["result"] == "reachable"
    assert found[("b", "10.7.0.1", None)]["result"] == "reachable"
    assert result["summary"]["probes"] == 6
