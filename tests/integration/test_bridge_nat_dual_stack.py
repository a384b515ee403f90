# SPDX-License-Identifier: GPL-3.0-or-later
"""bridge_nat dual-stack: IPv6 addresses usable at once, NAT66 seen from the outside, a port published on IPv6,
the house's four steps, an exact teardown, and bad IPv6 input refused before anything changes."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import four_steps, ours, ping, play, sh, snapshot

# A TCP server (IPv6 and IPv4) that answers each connection with the address it saw.
SERVER = """
import socket, sys
server = socket.create_server(("::", int(sys.argv[1])), family=socket.AF_INET6, dualstack_ipv6=True)
print("listening", flush=True)
while True:
    connection, peer = server.accept()
    connection.sendall(peer[0].removeprefix("::ffff:").encode())
    connection.close()
"""
UPLINK_V4, OUTSIDE_V4 = "198.51.100.1", "198.51.100.254"
UPLINK_V6, OUTSIDE_V6 = "2001:db8:1::1", "2001:db8:1::fe"


def uplink() -> None:
    """The outside world: namespace `uplink`, reached from the sandbox host through up0 (documentation addresses)."""
    sh(
        "ip netns add uplink && ip link add up0 type veth peer name eth0 netns uplink"
        f" && ip addr add {UPLINK_V4}/24 dev up0 && ip addr add {UPLINK_V6}/64 dev up0 nodad && ip link set up0 up"
        f" && ip -n uplink addr add {OUTSIDE_V4}/24 dev eth0 && ip -n uplink addr add {OUTSIDE_V6}/64 dev eth0 nodad"
        " && ip -n uplink link set eth0 up && ip -n uplink link set lo up"
    )
    # the tables and chains exist (empty) before the run, as on a host with a firewall: iptables never removes a table,
    # so the teardown's listing then differs from this one only by what was added and not removed
    for tool in ("iptables", "ip6tables"):
        for table, chain in (("nat", "PREROUTING"), ("nat", "OUTPUT"), ("nat", "POSTROUTING"), ("filter", "FORWARD")):
            sh(f"{tool} -w -t {table} -A {chain} -j RETURN && {tool} -w -t {table} -D {chain} -j RETURN")


@pytest.fixture
def server():
    """server(ns, port) starts a server in `ns`; all are stopped at the end of the test."""
    started = []

    def start(ns: str, port: int) -> None:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE, text=True
        )
        started.append(proc)
        assert proc.stdout.readline().strip() == "listening"

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def connect(ns: str | None, address: str, port: int) -> str:
    """What the server saw as the client's address, or '' when the connection failed."""
    prefix = ["ip", "netns", "exec", ns] if ns else []
    code = f"import socket; s = socket.create_connection(('{address}', {port}), timeout=3); print(s.recv(64).decode())"
    done = subprocess.run(
        [*prefix, sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=False
    )
    return done.stdout.strip()


def role(**variables) -> dict:
    return {"ansible.builtin.include_role": {"name": "netns.core.bridge_nat"}, "vars": variables}


def tentative(ns: str | None) -> str:
    """Global IPv6 addresses still in duplicate address detection (or failed it)."""
    return sh(("" if ns is None else f"ip netns exec {ns} ") + "ip -6 addr show scope global tentative")


CONTAINERS = [{"name": "web"}, {"name": "db", "address6": "fd00:98::50"}]


@pytest.mark.parametrize(("backend", "policy"), [("iptables", "DROP"), ("nftables", "ACCEPT")])
def test_dual_stack_network_nat66_and_a_port_published_on_ipv6(server, backend, policy):
    uplink()
    sh(f"iptables -P FORWARD {policy}; ip6tables -P FORWARD {policy}")
    server("uplink", 80)
    variables = {
        "bridge_nat_bridge": "br-v6",
        "bridge_nat_containers": CONTAINERS,
        "bridge_nat_subnet6": "fd00:98::/64",
        "bridge_nat_port_forwards": [{"port": 8080, "container": "web", "container_port": 80}],
        "bridge_nat_firewall_backend": backend,
    }
    facts = {"ansible.builtin.debug": {"var": "bridge_nat_addresses6"}}
    before = snapshot()
    servers_in_web = []

    def verify():
        # right after the run, with no wait: no address is tentative, the first packets pass
        for ns in (None, "web", "db"):
            assert tentative(ns) == "", ns
        assert ping("web", "fd00:98::1")  # the gateway
        assert ping("web", "fd00:98::50") and ping("db", "fd00:98::2")  # container to container
        assert ping("web", "10.98.0.3")  # IPv4 as before
        assert connect("web", OUTSIDE_V6, 80) == UPLINK_V6  # NAT66: the outside sees the host's uplink address
        assert connect("db", OUTSIDE_V4, 80) == UPLINK_V4
        assert sh("cat /proc/sys/net/ipv6/conf/all/forwarding").strip() == "1"
        if not servers_in_web:
            server("web", 80)
            servers_in_web.append(True)
        assert connect("uplink", UPLINK_V6, 8080) == OUTSIDE_V6  # the port published on IPv6
        assert connect("uplink", UPLINK_V4, 8080) == OUTSIDE_V4  # and on IPv4
        rules = sh("nft list table inet netns_core") if backend == "nftables" else sh("ip6tables-save")
        assert "netns.core masquerade fd00:98::/64" in rules and "netns.core port_forward tcp/8080" in rules

    real = four_steps([role(**variables), facts], verify)
    assert [r for r in real if "bridge_nat_addresses6" in r][0]["bridge_nat_addresses6"] == {
        "web": "fd00:98::2",
        "db": "fd00:98::50",
    }
    down = ours(play([role(**variables, bridge_nat_state="absent")]))
    assert down[0]["changed"]
    after = snapshot()
    # exact, but for forwarding: the role turns it on and leaves it on (documented, as for IPv4)
    assert after["host"].pop("sysctl") != before["host"].pop("sysctl")
    for key in before["host"]:
        assert after["host"][key] == before["host"][key], key
    assert after == before, "the teardown left something behind (or removed something not ours)"
    assert "netns.core" not in sh("iptables-save") + sh("ip6tables-save") and "netns_core" not in sh("nft list tables")
    again = ours(play([role(**variables, bridge_nat_state="absent")]))
    assert not again[0]["changed"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"bridge_nat_subnet6": "fd00:98::/126", "bridge_nat_containers": [{"name": n} for n in ("a", "b", "c")]},
            "bridge_nat_subnet6 fd00:98::/126 holds 3 host address(es) but the gateway and 3 container(s) need 4",
        ),
        (
            {"bridge_nat_subnet6": "fd00:98::/64", "bridge_nat_containers": [{"name": "a", "address6": "fd00:99::2"}]},
            "bridge_nat_containers[0].address6 'fd00:99::2' is not in the subnet fd00:98::/64",
        ),
    ],
)
def test_bad_ipv6_input_is_refused_with_nothing_changed(variables, message):
    before = snapshot()
    for check in (False, True):
        results = play([role(**variables)], check=check)
        assert results[-1]["status"] == "failed", (check, results)
        assert message in results[-1]["msg"], (check, results[-1]["msg"])
        assert snapshot() == before
