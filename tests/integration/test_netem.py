# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.netem against the real kernel (inside the sandbox): a rate shapes real TCP, removing it restores full
speed, a kernel without netem is a clear error that changes nothing, and (where the kernel has netem) a delay shows
in ping's round-trip time and a loss of 100% stops pings."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from conftest import four_steps, namespaces, play, run, sh, snapshot

RATE_MBIT = 20
SERVER = r"""
import socket, sys, time
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("10.5.0.2", 5001))
server.listen(1)
print("listening", flush=True)
conn, _ = server.accept()
total, first, last = 0, None, None
while True:
    data = conn.recv(1 << 20)
    if not data:
        break
    now = time.monotonic()
    first = first or now
    last = now
    total += len(data)
print(total, last - first, flush=True)
"""
CLIENT = r"""
import socket, time
sock = socket.create_connection(("10.5.0.2", 5001))
chunk = b"x" * 65536
end = time.monotonic() + float(__import__("sys").argv[1])
while time.monotonic() < end:
    sock.sendall(chunk)
sock.close()
"""


def kernel_has_netem() -> bool:
    """Asked in a throw-away namespace inside the sandbox (as the module does)."""
    probe = "unshare --net tc qdisc add dev lo root netem delay 1ms"
    return subprocess.run(["bash", "-c", probe], capture_output=True, check=False).returncode == 0


NEEDS_NETEM = pytest.mark.skipif(
    not kernel_has_netem(),
    reason="this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM / sch_netem): delay and loss cannot be shown here",
)


QDISC_KEYS = ("dev", "kind", "handle", "parent", "root", "options")  # not the counters: they move with any packet


def qdiscs() -> dict:
    """Every qdisc of the sandbox host and of every namespace (tc -j), for before/after comparisons."""
    state = {}
    for ns in [None, *namespaces()]:
        listing = json.loads(sh("tc -j qdisc show" if ns is None else f"ip netns exec {ns} tc -j qdisc show") or "[]")
        for qdisc in listing:
            (qdisc.get("options") or {}).pop("direct_packets_stat", None)  # htb's counter
        state[ns or "host"] = [{key: q.get(key) for key in QDISC_KEYS} for q in listing]
    return state


def root_of(ns: str, dev: str) -> dict:
    (root,) = [q for q in json.loads(sh(f"ip netns exec {ns} tc -j qdisc show dev {dev}")) if q.get("root")]
    return root


def pair() -> None:
    """a:eth0 10.5.0.1 <-> b:eth0 10.5.0.2"""
    sh("ip netns add a && ip netns add b")
    sh("ip -n a link add eth0 type veth peer name eth0 netns b")
    sh("ip -n a addr add 10.5.0.1/24 dev eth0 && ip -n b addr add 10.5.0.2/24 dev eth0")
    sh("ip -n a link set eth0 up && ip -n b link set eth0 up && ip -n a link set lo up && ip -n b link set lo up")


def throughput_mbit(seconds: float = 3.0) -> float:
    """A bulk TCP transfer from a to b for `seconds`: what b received, in Mbit/s."""
    server = subprocess.Popen(
        ["ip", "netns", "exec", "b", sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout.readline().strip() == "listening"
        client = ["ip", "netns", "exec", "a", sys.executable, "-c", CLIENT, str(seconds)]
        subprocess.run(client, check=True, timeout=seconds + 30)
        total, elapsed = server.stdout.readline().split()
    finally:
        server.wait(timeout=30)
    return int(total) * 8 / float(elapsed) / 1e6


def test_a_rate_shapes_a_bulk_transfer_and_removing_it_restores_full_speed():
    pair()
    unshaped = throughput_mbit(1.0)
    task = {"netns.core.netem": {"interface": "eth0", "netns": "a", "rate": f"{RATE_MBIT}mbit"}}
    before = qdiscs()
    checked = play([task], check=True)
    assert checked[0]["changed"] and qdiscs() == before, "check mode changed a qdisc"

    def verify():
        root = root_of("a", "eth0")
        assert (root["kind"], root["handle"]) == ("tbf", "4e53:")
        assert root_of("b", "eth0")["kind"] == "noqueue"  # the other end is not touched

    (result,) = four_steps([task], verify)
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"] == {
        "netns": "a",
        "interface": "eth0",
        "handle": "4e53:",
        "qdisc": "tbf",
        "rate": f"{RATE_MBIT}mbit",
        "burst": 65550,
        "limit": 65550 + RATE_MBIT * 125_000 // 20,
    }
    shaped = throughput_mbit(4.0)
    print(f"\nbulk TCP a->b: unshaped {unshaped:.0f} Mbit/s; rate {RATE_MBIT}mbit: {shaped:.2f} Mbit/s")
    assert abs(shaped - RATE_MBIT) <= 0.2 * RATE_MBIT, shaped

    faster = {"netns.core.netem": {"interface": "eth0", "netns": "a", "rate": f"{2 * RATE_MBIT}mbit"}}
    result = run("netem", faster["netns.core.netem"])
    assert result["changed"] and result["actions"] == [f"change tbf on eth0 in netns a (rate {2 * RATE_MBIT}mbit)"]

    removed = {"netns.core.netem": {"interface": "eth0", "netns": "a", "state": "absent"}}

    def verify():
        assert root_of("a", "eth0")["kind"] == "noqueue"

    (result,) = four_steps([removed], verify)
    assert result["diff"]["after"] == {} and result["diff"]["before"]["rate"] == f"{2 * RATE_MBIT}mbit"
    restored = throughput_mbit(1.0)
    print(f"after state=absent: {restored:.0f} Mbit/s")
    assert restored > 5 * RATE_MBIT


def test_a_root_qdisc_we_did_not_make_is_neither_replaced_nor_deleted():
    pair()
    sh("ip netns exec a tc qdisc add dev eth0 root handle 1: htb default 10")
    before = qdiscs()
    for check in (True, False):
        result = run("netem", {"interface": "eth0", "netns": "a", "rate": "1mbit"}, check=check)
        assert result["status"] == "failed" and "root qdisc netns.core did not make (htb, handle 1:)" in result["msg"]
        assert qdiscs() == before
        result = run("netem", {"interface": "eth0", "netns": "a", "state": "absent"}, check=check)
        assert result["status"] == "ok" and not result["changed"]
        assert qdiscs() == before


def test_bad_values_and_a_missing_interface_are_clear_errors():
    pair()
    before = qdiscs()
    cases = [
        ({"rate": "fast"}, "rate: 'fast' is not a number with a unit"),
        ({"rate": "10mbyte"}, "unknown rate unit"),
        ({"loss": "120%"}, "at most 100%"),
        ({"jitter": "5ms"}, "jitter needs a delay"),
        ({}, "give at least one of"),
        ({"rate": "1mbit", "interface": "nope0"}, "interface 'nope0' does not exist in netns a"),
    ]
    for extra, fragment in cases:
        result = run("netem", {"interface": "eth0", "netns": "a", **extra})
        assert result["status"] == "failed" and fragment in result["msg"], (extra, result["msg"])
    assert qdiscs() == before


@pytest.mark.skipif(kernel_has_netem(), reason="this kernel has netem: the error for its absence cannot be shown")
def test_without_netem_the_task_fails_before_anything_changes_in_check_mode_too():
    pair()
    run("netem", {"interface": "eth0", "netns": "a", "rate": "5mbit"})  # ours, tbf: even so nothing may change
    before, links_before = qdiscs(), snapshot()
    for check in (True, False):
        for options in ({"delay": "10ms"}, {"loss": "1%", "rate": "5mbit"}, {"reorder": "5%", "delay": "1ms"}):
            result = run("netem", {"interface": "eth0", "netns": "a", **options}, check=check)
            assert result["status"] == "failed", result
            assert "CONFIG_NET_SCH_NETEM" in result["msg"] and "sch_netem" in result["msg"], result["msg"]
            assert "nothing was changed" in result["msg"]
            assert qdiscs() == before, "a failed netem task changed a qdisc"
            assert snapshot() == links_before, "a failed netem task changed the link"
    assert root_of("a", "eth0")["kind"] == "tbf"


def _rtt_ms(ns: str, address: str) -> float:
    out = sh(f"ip netns exec {ns} ping -c 3 -i 0.2 -W 2 {address}")
    return float(out.rsplit("=", 1)[1].split("/")[1])


@NEEDS_NETEM
def test_a_delay_shows_in_the_round_trip_time():
    pair()
    assert _rtt_ms("a", "10.5.0.2") < 20
    task = {"netns.core.netem": {"interface": "eth0", "netns": "a", "delay": "100ms", "jitter": "1ms"}}

    def verify():
        assert root_of("a", "eth0")["kind"] == "netem"

    four_steps([task], verify)
    assert 95 <= _rtt_ms("a", "10.5.0.2") <= 150


@NEEDS_NETEM
def test_a_loss_of_100_percent_stops_pings():
    pair()
    task = {"netns.core.netem": {"interface": "eth0", "netns": "a", "loss": "100%"}}

    def verify():
        assert root_of("a", "eth0")["kind"] == "netem"

    four_steps([task], verify)
    ping = subprocess.run(["ip", "netns", "exec", "a", "ping", "-c", "2", "-W", "1", "10.5.0.2"], check=False)
    assert ping.returncode != 0
    run("netem", {"interface": "eth0", "netns": "a", "state": "absent"})
    time.sleep(0.1)
    assert _rtt_ms("a", "10.5.0.2") < 20


def test_in_the_network_module_and_the_topology_role_per_link_end():
    lab = {
        "topology_nodes": [{"name": "left"}, {"name": "right"}],
        "topology_links": [
            {
                "endpoints": ["left:eth0", "right:eth0"],
                "addresses": ["10.6.0.1/24", "10.6.0.2/24"],
                "netem": [{"rate": "10mbit"}, None],
            }
        ],
    }
    tasks = [{"ansible.builtin.include_role": {"name": "netns.core.topology"}, "vars": lab}]

    def verify():
        assert root_of("left", "eth0")["handle"] == "4e53:" and root_of("right", "eth0")["kind"] == "noqueue"

    results = four_steps(tasks, verify)
    (converge,) = [r for r in results if "summary" in r]
    assert converge["summary"]["netems"] == {"objects": 1, "changed": 1}
    info = run("netns_info", {"names": ["left"], "host": False})
    (qdisc,) = info["netns_info"]["namespaces"]["left"]["links"]["eth0"]["qdiscs"]
    assert qdisc["netns_core"] is True and qdisc["parameters"]["rate"] == "10mbit"
    gone = play([{**tasks[0], "vars": {**lab, "topology_state": "absent"}}])
    assert all(r["status"] in ("ok", "skipped") for r in gone) and namespaces() == []
