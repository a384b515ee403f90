# SPDX-License-Identifier: GPL-3.0-or-later
"""The seeds' labs, built from the modules alone, proven with real packets inside the sandbox.

"The internet" is an uplink namespace with documentation addresses (198.51.100.0/24, 203.0.113.0/24);
nothing leaves the sandbox.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from conftest import four_steps, ping, play, sh


def ns(name: str, **extra) -> dict:
    return {"netns.core.netns": {"name": name, **extra}}


def container(name: str, address: str, gateway: str | None, bridge: str = "br0") -> list[dict]:
    tasks = [
        ns(name),
        {
            "netns.core.veth": {
                "name": f"veth-{name}",
                "master": bridge,
                "peer": "eth0",
                "peer_netns": name,
                "peer_addresses": [address],
            }
        },
    ]
    if gateway:
        tasks.append({"netns.core.netns_route": {"netns": name, "destination": "default", "gateway": gateway}})
    return tasks


def test_two_namespaces_one_veth():
    tasks = [
        ns("ns1"),
        ns("ns2"),
        {
            "netns.core.veth": {
                "name": "veth1",
                "netns": "ns1",
                "addresses": ["10.0.0.1/24"],
                "peer": "veth2",
                "peer_netns": "ns2",
                "peer_addresses": ["10.0.0.2/24"],
            }
        },
    ]

    def verify():
        assert ping("ns1", "10.0.0.2") and ping("ns2", "10.0.0.1")

    four_steps(tasks, verify)


def test_three_namespaces_on_one_bridge():
    tasks = [{"netns.core.bridge": {"name": "br0"}}]
    for i in (1, 2, 3):
        tasks += container(f"c{i}", f"10.10.0.{i}/24", None)

    def verify():
        for i in (1, 2, 3):
            for j in (1, 2, 3):
                if i != j:
                    assert ping(f"c{i}", f"10.10.0.{j}"), (i, j)

    four_steps(tasks, verify)


def test_two_subnets_routed_through_the_host():
    tasks = [
        ns("left"),
        ns("right"),
        {
            "netns.core.veth": {
                "name": "to-left",
                "addresses": ["10.1.0.1/24"],
                "peer": "eth0",
                "peer_netns": "left",
                "peer_addresses": ["10.1.0.2/24"],
            }
        },
        {
            "netns.core.veth": {
                "name": "to-right",
                "addresses": ["10.2.0.1/24"],
                "peer": "eth0",
                "peer_netns": "right",
                "peer_addresses": ["10.2.0.2/24"],
            }
        },
        {"netns.core.netns_route": {"netns": "left", "destination": "10.2.0.0/24", "gateway": "10.1.0.1"}},
        {
            "netns.core.netns_route": {
                "netns": "right",
                "destination": "10.2.0.0/24",
                "gateway": "10.2.0.1",
                "state": "absent",
            }
        },
        {"netns.core.netns_route": {"netns": "right", "destination": "default", "gateway": "10.2.0.1"}},
        {"netns.core.sysctl": {"name": "net.ipv4.ip_forward", "value": 1}},
    ]

    def verify():
        assert ping("left", "10.2.0.2") and ping("right", "10.1.0.2")

    four_steps(tasks, verify)
    # without forwarding on the host the same pings fail: the route really goes through the host
    sh("sysctl -qw net.ipv4.ip_forward=0")
    assert not ping("left", "10.2.0.2")


SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("203.0.113.10", 8080)); s.listen(1); s.settimeout(8)
print("listening", flush=True)
conn, peer = s.accept(); print(peer[0], flush=True); conn.close()
"""


def uplink_tasks() -> list[dict]:
    """The sandbox host's uplink to a namespace that plays the internet (no route back to the containers)."""
    return [
        ns("uplink"),
        {
            "netns.core.veth": {
                "name": "up0",
                "addresses": ["198.51.100.1/24"],
                "peer": "eth0",
                "peer_netns": "uplink",
                "peer_addresses": ["198.51.100.2/24"],
            }
        },
        {
            "netns.core.veth": {
                "name": "svc0",
                "netns": "uplink",
                "addresses": ["203.0.113.10/24"],
                "peer": "svc1",
                "peer_netns": "uplink",
            }
        },
        {"netns.core.netns_route": {"destination": "default", "gateway": "198.51.100.2"}},
    ]


def source_seen_by_the_internet(client_ns: str) -> str:
    """Connect from `client_ns` to 203.0.113.10:8080 in the uplink; return the peer address the server saw."""
    server = subprocess.Popen(
        ["ip", "netns", "exec", "uplink", "python3", "-c", SERVER],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout.readline().strip() == "listening", server.stderr.read()
        client = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                client_ns,
                "python3",
                "-c",
                "import socket; socket.create_connection(('203.0.113.10', 8080), timeout=5).close()",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        assert client.returncode == 0, client.stderr
        return server.stdout.readline().strip()
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize(
    ("backend", "forward_policy"), [("iptables", "ACCEPT"), ("iptables", "DROP"), ("nftables", "ACCEPT")]
)
def test_nat_out_through_an_uplink(backend, forward_policy):
    sh(f"iptables -w -P FORWARD {forward_policy}")
    tasks = uplink_tasks() + [{"netns.core.bridge": {"name": "br0", "addresses": ["10.88.0.1/24"]}}]
    tasks += container("red", "10.88.0.2/24", "10.88.0.1") + container("blue", "10.88.0.3/24", "10.88.0.1")
    masquerade = {"source": "10.88.0.0/24", "out_interface": "up0", "firewall_backend": backend}
    tasks.append({"netns.core.masquerade": masquerade})

    def verify():
        assert ping("red", "10.88.0.1") and ping("red", "10.88.0.3")
        time.sleep(0.2)
        assert source_seen_by_the_internet("red") == "198.51.100.1"
        assert source_seen_by_the_internet("blue") == "198.51.100.1"
        assert f"-P FORWARD {forward_policy}" in sh("iptables -w -S FORWARD")

    four_steps(tasks, verify)

    # tear down the NAT: the uplink no longer gets the containers' traffic (it has no route back)
    (result,) = play([{"netns.core.masquerade": {**masquerade, "state": "absent"}}])
    assert result["changed"]
    assert "netns.core" not in sh("iptables-save")
    assert "netns_core" not in sh("nft list tables")  # our table went with its last rule
    assert f"-P FORWARD {forward_policy}" in sh("iptables -w -S FORWARD")
