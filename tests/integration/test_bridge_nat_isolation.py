# SPDX-License-Identifier: GPL-3.0-or-later
"""bridge_nat_isolated: two networks on one host that cannot open a connection to each other (either way), both
still reaching the outside and each other's published ports; false, they can (the negative control); a foreign
bridge is untouched."""

from __future__ import annotations

import pytest
import test_bridge_nat_dual_stack as dual_stack
from conftest import four_steps, links, ours, ping, play, sh
from test_bridge_nat_dual_stack import OUTSIDE_V4, UPLINK_V4, connect, uplink

server = dual_stack.server  # the fixture: servers in namespaces, stopped at the end of the test


def role(**variables) -> dict:
    return {"ansible.builtin.include_role": {"name": "netns.core.bridge_nat"}, "vars": variables}


def network(name: str, octet: int, backend: str, **variables) -> dict:
    """Network NAME: bridge br-NAME, subnet 10.OCTET.0.0/24, one container NAME1 (10.OCTET.0.2)."""
    return role(
        bridge_nat_bridge=f"br-{name}",
        bridge_nat_subnet=f"10.{octet}.0.0/24",
        bridge_nat_containers=[{"name": f"{name}1"}],
        bridge_nat_port_forwards=[{"port": 8000 + octet, "container": f"{name}1", "container_port": 80}],
        bridge_nat_firewall_backend=backend,
        **variables,
    )


def foreign_bridge() -> None:
    """A bridge netns.core did not make (no owner mark), with a namespace behind it."""
    sh(
        "ip link add brf type bridge && ip addr add 10.63.0.1/24 dev brf && ip link set brf up"
        " && ip netns add fx && ip link add vfx type veth peer name eth0 netns fx && ip link set vfx master brf"
        " && ip link set vfx up && ip -n fx addr add 10.63.0.2/24 dev eth0 && ip -n fx link set eth0 up"
        " && ip -n fx route add default via 10.63.0.1"
    )


@pytest.mark.parametrize(("backend", "policy"), [("iptables", "ACCEPT"), ("iptables", "DROP"), ("nftables", "ACCEPT")])
def test_isolated_networks_cannot_reach_each_other_but_reach_the_outside(server, backend, policy):
    uplink()
    foreign_bridge()
    sh(f"iptables -P FORWARD {policy}")
    brf = links()["brf"]
    built = play([network("b", 62, backend)])
    assert all(r["status"] == "ok" for r in built), built
    for ns in ("uplink", "b1"):
        server(ns, 80)
    isolated = network("a", 61, backend, bridge_nat_isolated=True)
    started = []

    def verify():
        if not started:
            server("a1", 80)
            started.append(True)
        assert connect("a1", "10.62.0.2", 80) == ""  # a -> b: dropped
        assert connect("b1", "10.61.0.2", 80) == ""  # b -> a: dropped
        assert connect("a1", OUTSIDE_V4, 80) == UPLINK_V4 and connect("b1", OUTSIDE_V4, 80) == UPLINK_V4
        assert connect("uplink", UPLINK_V4, 8061) == OUTSIDE_V4  # a's published port, from the outside
        assert connect("b1", UPLINK_V4, 8061) != ""  # and from b, through the host's address (DNAT passes)
        assert ping("a1", "10.63.0.2")  # a bridge netns.core does not manage is not isolated from

    four_steps([isolated], verify)
    rules = sh("nft list table inet netns_core") if backend == "nftables" else sh("iptables -t mangle -S FORWARD")
    assert rules.count("netns.core isolation br-a") == 2 and "brf" not in rules

    # the negative control: not isolated, they reach each other
    opened = ours(play([network("a", 61, backend)]))
    assert opened[0]["changed"]
    assert connect("a1", "10.62.0.2", 80) != "" and connect("b1", "10.61.0.2", 80) != ""  # (masqueraded)
    assert "isolation" not in sh("iptables-save") + sh("nft list ruleset")

    # isolated again, then both networks removed: nothing of ours left, the foreign bridge as it was
    assert ours(play([isolated]))[0]["changed"]
    assert connect("a1", "10.62.0.2", 80) == ""
    for task in (
        network("a", 61, backend, bridge_nat_state="absent"),
        network("b", 62, backend, bridge_nat_state="absent"),
    ):
        assert ours(play([task]))[0]["changed"]
    assert "netns.core" not in sh("iptables-save") + sh("ip6tables-save") and "netns_core" not in sh("nft list tables")
    after = links()["brf"]
    assert {k: after[k] for k in ("ifindex", "mtu", "flags", "address")} == {
        k: brf[k] for k in ("ifindex", "mtu", "flags", "address")
    }
    assert ping("fx", "10.63.0.1")
