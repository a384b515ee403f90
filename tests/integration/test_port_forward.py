# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.port_forward: a published port, proven with a real TCP listener and clients everywhere."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import fails_cleanly, four_steps, play, run, sh

# A TCP server in a namespace that answers each connection with the address it saw.
SERVER = """
import socket, sys
server = socket.create_server(("0.0.0.0", int(sys.argv[1])))
print("listening", flush=True)
while True:
    connection, peer = server.accept()
    connection.sendall(peer[0].encode())
    connection.close()
"""


def lab(forward_policy: str = "ACCEPT", backend: str = "auto") -> None:
    """Host with an uplink namespace (the outside world, 198.51.100.0/24) and two containers on br0."""
    network = {
        "firewall_backend": backend,
        "namespaces": [{"name": "web"}, {"name": "peer"}, {"name": "uplink"}],
        "bridges": [{"name": "br0", "addresses": ["10.98.0.1/24"]}],
        "veths": [
            {
                "name": "veth-web",
                "master": "br0",
                "peer": "eth0",
                "peer_netns": "web",
                "peer_addresses": ["10.98.0.2/24"],
            },
            {
                "name": "veth-peer",
                "master": "br0",
                "peer": "eth0",
                "peer_netns": "peer",
                "peer_addresses": ["10.98.0.3/24"],
            },
            {
                "name": "up0",
                "addresses": ["198.51.100.1/24"],
                "peer": "eth0",
                "peer_netns": "uplink",
                "peer_addresses": ["198.51.100.254/24"],
            },
        ],
        "routes": [
            {"netns": "web", "destination": "default", "gateway": "10.98.0.1"},
            {"netns": "peer", "destination": "default", "gateway": "10.98.0.1"},
        ],
        "masquerades": [{"source": "10.98.0.0/24", "out_interface": "up0"}],
    }
    (result,) = play([{"netns.core.network": network}])
    assert result["status"] == "ok", result
    sh(f"iptables -P FORWARD {forward_policy}")


@pytest.fixture
def server():
    """Starts the server in the namespace `web` once the test has built it."""
    started = []

    def start() -> None:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", "web", sys.executable, "-c", SERVER, "80"], stdout=subprocess.PIPE, text=True
        )
        started.append(proc)
        assert proc.stdout.readline().strip() == "listening"

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def connect(ns: str | None, address: str, port: int = 8080) -> str:
    """What the server saw as the client's address, or '' when the connection failed."""
    prefix = ["ip", "netns", "exec", ns] if ns else []
    code = f"import socket; s = socket.create_connection(('{address}', {port}), timeout=3); print(s.recv(64).decode())"
    done = subprocess.run(
        [*prefix, sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=False
    )
    return done.stdout.strip()


def tagged_anywhere(what: str) -> bool:
    """Whether a rule tagged `what` is in iptables or in nftables (our table)."""
    return what in sh("iptables-save") or what in sh("nft list ruleset")


@pytest.mark.parametrize(
    ("backend", "forward_policy"), [("iptables", "ACCEPT"), ("iptables", "DROP"), ("nftables", "ACCEPT")]
)
def test_published_port_from_outside_the_host_and_a_sibling(server, backend, forward_policy):
    lab(forward_policy, backend)
    server()
    task = {"netns.core.port_forward": {"port": 8080, "destination": "10.98.0.2:80", "firewall_backend": backend}}

    def verify():
        assert connect("uplink", "198.51.100.1") == "198.51.100.254"  # from another machine: its own address
        assert connect(None, "198.51.100.1") != ""  # from the host itself
        assert connect(None, "10.98.0.1") != ""
        assert connect("peer", "198.51.100.1") != ""  # hairpin: a sibling through the host's address
        assert connect("peer", "10.98.0.1") != ""

    assert connect("uplink", "198.51.100.1") == ""  # nothing published yet
    (result,) = four_steps([task], verify)
    assert all("netns.core port_forward tcp/8080" in rule for rule in result["rules"])
    assert len(result["rules"]) == 4
    assert all(rule.startswith("inet netns_core ") == (backend == "nftables") for rule in result["rules"])
    if backend == "nftables":
        assert "netns.core" not in sh("iptables-save")

    gone = run("port_forward", {"port": 8080, "destination": "10.98.0.2:80", "state": "absent"})
    assert gone["changed"] and not tagged_anywhere("netns.core port_forward")
    assert tagged_anywhere("netns.core masquerade")  # the other tag is untouched
    assert connect("uplink", "198.51.100.1") == ""


def test_nftables_behind_a_foreign_forward_drop_is_refused_by_name(server):
    """Docker's FORWARD policy DROP (iptables-nft: table ip filter) would drop what table inet netns_core accepts."""
    lab("ACCEPT", "nftables")
    sh("iptables -P FORWARD DROP")
    server()
    args = {"port": 8080, "destination": "10.98.0.2:80", "firewall_backend": "nftables"}
    fails_cleanly(
        "port_forward", args, "table ip filter, chain FORWARD with policy drop", "foreign_forward_drop=ignore"
    )
    # the documented way out: allow the traffic in that chain, then say so
    sh("iptables -I FORWARD -d 10.98.0.2 -p tcp --dport 80 -j ACCEPT; iptables -I FORWARD -s 10.98.0.2 -j ACCEPT")
    assert run("port_forward", {**args, "foreign_forward_drop": "ignore"})["changed"]
    assert connect("uplink", "198.51.100.1") == "198.51.100.254"


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_new_destination_replaces_the_rules_and_in_interface_limits(server, backend):
    lab(backend=backend)
    server()
    old = {"port": 8080, "destination": "10.98.0.3:80", "in_interface": "up0", "firewall_backend": backend}
    run("port_forward", old)
    task = {"netns.core.port_forward": {**old, "destination": "10.98.0.2:80"}}

    def verify():
        assert connect("uplink", "198.51.100.1") == "198.51.100.254"
        assert connect(None, "198.51.100.1") == ""  # not from the host: only what arrives on up0
        assert "10.98.0.3" not in sh("iptables -t nat -S") + sh("nft list ruleset")

    four_steps([task], verify)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"port": 0, "destination": "10.0.0.2"}, "port 0 is out of range"),
        ({"port": 80, "destination": "10.0.0.2:99999"}, "is not a port number"),
        ({"port": 80, "destination": "web:80"}, "'web' is not an IP address"),
        ({"port": 80, "destination": "fd00::2]:80"}, "is not an IP address"),
        ({"port": 80, "destination": "127.0.0.1:80"}, "cannot receive a forwarded connection"),
        ({"port": 80, "destination": "10.0.0.2", "in_interface": "a-too-long-interface"}, "Linux allows 15"),
    ],
)
def test_bad_input(args, fragment):
    fails_cleanly("port_forward", args, fragment)


def test_a_missing_namespace_fails_and_is_assumed_in_check_mode():
    fails_cleanly(
        "port_forward",
        {"port": 80, "destination": "10.0.0.2", "netns": "nowhere"},
        "netns 'nowhere' does not exist",
        check_warns=("check mode: netns 'nowhere' does not exist",),
    )


def test_ipv6_destination_uses_ip6tables():
    sh("ip netns add web")

    def verify():
        assert "--to-destination [fd00:98::2]:80" in sh("ip6tables -t nat -S PREROUTING")

    (result,) = four_steps([{"netns.core.port_forward": {"port": 8080, "destination": "[fd00:98::2]:80"}}], verify)
    assert "-t nat -A OUTPUT ! -d ::1/128" in " ".join(result["rules"])


def test_bridge_nat_role_publishes_ports(server):
    role = {
        "ansible.builtin.include_role": {"name": "netns.core.bridge_nat"},
        "vars": {
            "bridge_nat_containers": [{"name": "web"}, {"name": "peer"}],
            "bridge_nat_port_forwards": [{"port": 8080, "container": "web", "container_port": 80}],
        },
    }

    def verify():
        server()
        assert connect(None, "10.98.0.1") == "10.98.0.1"  # from the host: its address on the bridge
        assert connect("peer", "10.98.0.1") != ""  # a sibling through the gateway's address

    four_steps([role], verify)
    assert "--to-destination 10.98.0.2:80" in sh("iptables -t nat -S PREROUTING")
