# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.netns_info: facts that match what the kernel holds, and never a change."""

from __future__ import annotations

from conftest import namespaces, play, run, sh, snapshot


def build() -> None:
    network = {
        "namespaces": [{"name": "red"}, {"name": "red2"}],
        "bridges": [{"name": "br0", "addresses": ["10.98.0.1/24"]}],
        "veths": [
            {
                "name": "veth-red",
                "master": "br0",
                "peer": "eth0",
                "peer_netns": "red",
                "peer_addresses": ["10.98.0.2/24"],
            },
            {"name": "x0", "netns": "red", "peer": "x1", "peer_netns": "red2", "mtu": 1400},
        ],
        "routes": [{"netns": "red", "destination": "default", "gateway": "10.98.0.1"}],
        "masquerades": [{"source": "10.98.0.0/24"}],
    }
    (result,) = play([{"netns.core.network": network}])
    assert result["status"] == "ok", result


def test_facts_match_the_kernel_and_change_nothing():
    build()
    sh("iptables -t nat -A POSTROUTING -s 10.1.0.0/16 -j MASQUERADE")  # not ours: not reported
    before = snapshot()
    for check in (False, True):
        result = run("netns_info", {}, check=check)
        assert result["status"] == "ok" and result["changed"] is False
        info = result["netns_info"]
        assert set(info["namespaces"]) == {"red", "red2"}
        host, red = info["host"], info["namespaces"]["red"]
        assert host["links"]["veth-red"]["peer"] == {"netns": "red", "name": "eth0"}
        assert host["links"]["veth-red"]["master"] == "br0" and host["links"]["br0"]["kind"] == "bridge"
        assert red["links"]["eth0"]["peer"] == {"netns": None, "name": "veth-red"}
        assert red["links"]["x0"]["peer"] == {"netns": "red2", "name": "x1"} and red["links"]["x0"]["mtu"] == 1400
        assert red["links"]["eth0"]["mac"] == sh("ip netns exec red cat /sys/class/net/eth0/address").strip()
        assert {"address": "10.98.0.2/24", "scope": "global"} in red["addresses"]["eth0"]
        default = [r for r in red["routes"] if r["destination"] == "0.0.0.0/0"]
        assert default == [
            {
                "family": 4,
                "table": 254,
                "destination": "0.0.0.0/0",
                "gateway": "10.98.0.1",
                "interface": "eth0",
                "metric": 0,
            }
        ]
        assert host["ip_forward"] is True and red["ip_forward"] is False
        assert len(host["rules"]) == 3 and all(r["tag"] == "netns.core masquerade 10.98.0.0/24" for r in host["rules"])
        assert red["rules"] == []
    assert snapshot() == before


def test_listed_names_only_and_missing_ones_are_an_error():
    build()
    result = run("netns_info", {"names": ["red2"], "host": False})
    assert list(result["netns_info"]) == ["namespaces"] and list(result["netns_info"]["namespaces"]) == ["red2"]
    before = snapshot()
    result = run("netns_info", {"names": ["red", "blue"]})
    assert result["status"] == "failed" and "'blue' not found under /run/netns" in result["msg"]
    assert namespaces() == ["red", "red2"] and snapshot() == before  # nothing created by asking
    result = run("netns_info", {"names": ["../etc"]})
    assert result["status"] == "failed" and "is not a valid namespace name" in result["msg"]
