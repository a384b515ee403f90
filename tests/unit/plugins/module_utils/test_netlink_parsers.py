# SPDX-License-Identifier: GPL-3.0-or-later
"""The netlink parsers, on messages recorded from the real kernel (fixtures/netlink.json, written by
tests/tools/record_netlink.py in the sandbox; its SCENE says what was built) and decoded by pyroute2's own message
classes, as IPRoute decodes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from ansible_collections.netns.core.plugins.module_utils import _netlink

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "netlink.json").read_text())
CLASSES = {"links": ifinfmsg, "addresses": ifaddrmsg, "routes": rtmsg}


def messages(dump: str) -> list:
    """The recorded dump `dump` ('host links', 'red routes', ...), each message decoded."""
    cls = CLASSES[dump.split()[-1]]
    decoded = []
    for data in FIXTURE["dumps"][dump]:
        msg = cls(bytes.fromhex(data))
        msg.decode()
        decoded.append(msg)
    return decoded


# -- the functions under test: one place to follow them if they move --------------------------------------------
def parse_link(msg) -> dict:
    return dict(_netlink.parse_link(msg))


def parse_route(msg, name_of) -> dict | None:
    return _netlink.parse_route(msg, name_of)


def addresses_by_index(msgs) -> dict:
    """What NsView keeps of an address dump: {ifindex: (global addresses sorted, IPv4 secondaries)}."""
    view = _netlink.NsView(None, None)
    view._store_addresses(msgs)
    return view._addrs


def links(ns: str) -> dict[str, dict]:
    return {link["name"]: link for link in map(parse_link, messages(f"{ns} links"))}


# -- links ----------------------------------------------------------------------------------------------------
def test_every_recorded_link_parses():
    assert sorted(links("host")) == ["br-stp", "br0", "lo", "v1", "v2", "veth0"]
    assert sorted(links("red")) == ["eth0", "lo"]


def test_loopback():
    assert links("host")["lo"] == {
        "name": "lo",
        "alias": None,
        "index": 1,
        "kind": None,
        "mtu": 65536,
        "up": True,
        "master_index": None,
        "peer_index": None,
        "peer_nsid": None,
        "mac": "00:00:00:00:00:00",
        "operstate": "UNKNOWN",
    }


def test_bridges_and_their_stp_state():
    host = links("host")
    assert host["br0"]["kind"] == "bridge" and host["br0"]["stp"] is False
    assert host["br0"]["up"] is True and host["br0"]["mac"] == "02:00:00:00:0b:00"
    assert host["br0"]["mtu"] == 1400  # a bridge takes the smallest MTU of its ports
    assert host["br-stp"]["stp"] is True and host["br-stp"]["up"] is False
    assert host["br-stp"]["operstate"] == "DOWN"


def test_a_veth_whose_peer_is_in_another_namespace():
    host, red = links("host"), links("red")
    veth0 = host["veth0"]
    assert veth0["kind"] == "veth" and veth0["mtu"] == 1400 and veth0["up"] is True
    assert veth0["master_index"] == host["br0"]["index"]
    # the peer by its index over there and the id the host gives red
    assert veth0["peer_index"] == red["eth0"]["index"] == 2 and veth0["peer_nsid"] == 0
    assert red["eth0"]["peer_index"] == veth0["index"] and red["eth0"]["peer_nsid"] == 0
    assert red["eth0"]["mac"] == "02:00:00:00:00:02" and red["eth0"]["master_index"] is None


def test_a_veth_pair_in_one_namespace_has_no_peer_nsid():
    host = links("host")
    assert host["v1"]["peer_index"] == host["v2"]["index"] and host["v2"]["peer_index"] == host["v1"]["index"]
    assert host["v1"]["peer_nsid"] is None and host["v2"]["peer_nsid"] is None
    assert host["v1"]["up"] is False and "stp" not in host["v1"]


# -- addresses ------------------------------------------------------------------------------------------------
def test_global_addresses_sorted_with_the_ipv4_secondary():
    br0 = links("host")["br0"]["index"]
    # lo's 127.0.0.1/8 and ::1 (scope host) and br0's link-local fe80:: (scope link) are not kept
    assert addresses_by_index(messages("host addresses")) == {
        br0: (["10.0.0.1/24", "10.0.0.2/24", "10.9.0.1/16", "fd00::1/64"], {"10.0.0.2/24"})
    }


def test_addresses_in_a_namespace():
    eth0 = links("red")["eth0"]["index"]
    assert addresses_by_index(messages("red addresses")) == {eth0: (["10.0.0.5/24", "fd00::5/64"], set())}


# -- routes ---------------------------------------------------------------------------------------------------
@pytest.fixture
def red_routes() -> list[dict]:
    names = {link["index"]: name for name, link in links("red").items()}
    parsed = [parse_route(msg, names.get) for msg in messages("red routes")]
    return [route for route in parsed if route is not None]


def test_local_broadcast_and_multicast_routes_are_left_out(red_routes):
    assert len(messages("red routes")) > len(red_routes)
    assert all(route["destination"] not in ("10.0.0.5/32", "10.0.0.255/32", "ff00::/8") for route in red_routes)


def test_a_gateway_route(red_routes):
    assert {
        "family": 4,
        "table": 254,
        "destination": "0.0.0.0/0",
        "metric": 0,
        "gateway": "10.0.0.1",
        "interface": "eth0",
        "proto": 3,  # boot: what `ip route add` sets
        "onlink": False,
    } in red_routes


def test_the_connected_route_the_kernel_made(red_routes):
    assert {
        "family": 4,
        "table": 254,
        "destination": "10.0.0.0/24",
        "metric": 0,
        "gateway": None,
        "interface": "eth0",
        "proto": 2,  # kernel
        "onlink": False,
    } in red_routes


def test_an_interface_route_with_a_metric_in_table_100(red_routes):
    (route,) = [route for route in red_routes if route["table"] == 100]
    assert route == {
        "family": 4,
        "table": 100,
        "destination": "203.0.113.0/24",
        "metric": 50,
        "gateway": None,
        "interface": "eth0",
        "proto": 3,
        "onlink": False,
    }


def test_ipv6_routes(red_routes):
    ipv6 = sorted((r["destination"], r["metric"], r["gateway"], r["proto"]) for r in red_routes if r["family"] == 6)
    assert ipv6 == [("::/0", 1024, "fd00::1", 3), ("fd00::/64", 256, None, 2), ("fe80::/64", 256, None, 2)]
    assert {r["interface"] for r in red_routes} == {"eth0"}
