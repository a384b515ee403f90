# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.netns_route against the real kernel (inside the sandbox)."""

from __future__ import annotations

import pytest
from conftest import fails_cleanly, four_steps, run, sh


@pytest.fixture
def red():
    """A namespace with eth0 up on 10.88.0.2/24 and fd00:88::2/64 (nodad), its peer on the sandbox host."""
    sh(
        "ip netns add red; ip link add veth-red type veth peer name eth0 netns red; ip link set veth-red up;"
        "ip -n red link set eth0 up; ip -n red addr add 10.88.0.2/24 dev eth0;"
        "ip -n red addr add fd00:88::2/64 dev eth0 nodad"
    )


def routes(ns: str, family: str = "-4", table: str = "main") -> str:
    return sh(f"ip -n {ns} {family} route show table {table}")


def test_default_route_via_gateway(red):
    task = {"netns.core.netns_route": {"netns": "red", "destination": "default", "gateway": "10.88.0.1"}}

    def verify():
        assert "default via 10.88.0.1 dev eth0" in routes("red")

    four_steps([task], verify)


def test_interface_route_with_metric_in_table_100(red):
    task = {
        "netns.core.netns_route": {
            "netns": "red",
            "destination": "203.0.113.0/24",
            "interface": "eth0",
            "metric": 50,
            "table": 100,
        }
    }

    def verify():
        assert "203.0.113.0/24 dev eth0 proto static scope link metric 50" in routes("red", "-4", "100")

    four_steps([task], verify)


def test_gateway_change_replaces_the_route(red):
    sh("ip -n red route add 198.51.100.0/24 via 10.88.0.1")
    task = {"netns.core.netns_route": {"netns": "red", "destination": "198.51.100.0/24", "gateway": "10.88.0.3"}}

    def verify():
        lines = [line for line in routes("red").splitlines() if line.startswith("198.51.100.0/24")]
        assert lines == ["198.51.100.0/24 via 10.88.0.3 dev eth0 proto static "]

    four_steps([task], verify)


def test_ipv6_default_route(red):
    task = {"netns.core.netns_route": {"netns": "red", "destination": "default", "gateway": "fd00:88::1"}}

    def verify():
        assert "default via fd00:88::1 dev eth0 proto static metric 1024" in routes("red", "-6")

    four_steps([task], verify)


def test_absent_removes_only_that_metric(red):
    sh(
        "ip -n red route add 198.51.100.0/24 via 10.88.0.1 metric 10;"
        "ip -n red route add 198.51.100.0/24 via 10.88.0.1 metric 20"
    )
    task = {
        "netns.core.netns_route": {"netns": "red", "destination": "198.51.100.0/24", "metric": 10, "state": "absent"}
    }

    def verify():
        lines = [line for line in routes("red").splitlines() if line.startswith("198.51.100.0/24")]
        assert lines == ["198.51.100.0/24 via 10.88.0.1 dev eth0 metric 20 "]

    four_steps([task], verify)


def test_unreachable_gateway_is_a_clear_error(red):
    fails_cleanly(
        "netns_route",
        {"netns": "red", "destination": "10.5.0.0/16", "gateway": "192.0.2.99"},
        "192.0.2.99",
        "not reachable",
        "nothing was changed",
        check_warns=("check mode: gateway '192.0.2.99' is not reachable in netns red",),
    )


def test_missing_interface_is_a_clear_error(red):
    fails_cleanly(
        "netns_route",
        {"netns": "red", "destination": "10.5.0.0/16", "interface": "nope0"},
        "interface 'nope0' does not exist in netns red",
        check_warns=("check mode: interface 'nope0' does not exist in netns red",),
    )


def test_present_needs_gateway_or_interface(red):
    fails_cleanly("netns_route", {"netns": "red", "destination": "10.5.0.0/16"}, "gateway or interface")
    assert not run("netns_route", {"netns": "red", "destination": "10.5.0.0/16", "state": "absent"})["changed"]


def test_absent_with_a_gateway_removes_only_a_route_via_that_gateway(red):
    sh("ip -n red route add 198.51.100.0/24 via 10.88.0.1")
    other_gateway = {
        "netns.core.netns_route": {
            "netns": "red",
            "destination": "198.51.100.0/24",
            "gateway": "10.88.0.7",
            "state": "absent",
        }
    }
    result = run("netns_route", other_gateway["netns.core.netns_route"])
    assert result["status"] == "ok" and not result["changed"], result
    assert "198.51.100.0/24 via 10.88.0.1 dev eth0" in routes("red")

    same_gateway = {"netns.core.netns_route": {**other_gateway["netns.core.netns_route"], "gateway": "10.88.0.1"}}

    def verify():
        assert "198.51.100.0/24" not in routes("red")

    four_steps([same_gateway], verify)


def test_absent_removes_a_connected_route_the_kernel_made(red):
    """Scope link, proto kernel: deleted as `ip route del` would, whatever its scope and protocol."""
    task = {"netns.core.netns_route": {"netns": "red", "destination": "10.88.0.0/24", "state": "absent"}}

    def verify():
        assert "10.88.0.0/24" not in routes("red")

    (result,) = four_steps([task], verify)
    assert result["actions"] == ["delete route 10.88.0.0/24 dev eth0 metric 0 in netns red"]


def test_onlink_gateway_outside_every_connected_subnet(red):
    """onlink: the gateway is on the link though no address there covers it (the overlay's routes to a peer)."""
    task = {
        "netns.core.netns_route": {
            "netns": "red",
            "destination": "10.244.2.0/24",
            "gateway": "10.244.2.0",
            "interface": "eth0",
            "onlink": True,
        }
    }

    def verify():
        assert "10.244.2.0/24 via 10.244.2.0 dev eth0 proto static onlink" in routes("red")

    four_steps([task], verify)
    # without onlink the kernel refuses that gateway: the flag is what made it work (negative control)
    sh("ip -n red route del 10.244.2.0/24")
    assert sh("ip -n red route add 10.244.2.0/24 via 10.244.2.0 dev eth0 2>&1 || true").strip()
    # dropping the flag from an existing route replaces it
    run("netns_route", {**task["netns.core.netns_route"]})
    result = run("netns_route", {**task["netns.core.netns_route"], "onlink": False, "gateway": "10.88.0.9"})
    assert result["changed"] and "10.244.2.0/24 via 10.88.0.9 dev eth0 proto static " in routes("red") + " "


def test_onlink_needs_gateway_and_interface(red):
    fails_cleanly(
        "netns_route",
        {"netns": "red", "destination": "10.244.2.0/24", "gateway": "10.244.2.0", "onlink": True},
        "onlink",
        "interface",
    )
