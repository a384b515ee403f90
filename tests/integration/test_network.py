# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.network: a whole set of objects in one call, planned before anything changes."""

from __future__ import annotations

import subprocess

from conftest import fails_cleanly, four_steps, links, namespaces, ping, play, sh


def containers(count: int, subnet: str = "10.98.0") -> dict:
    names = [f"c{i}" for i in range(count)]
    return {
        "namespaces": [{"name": n} for n in names],
        "bridges": [{"name": "br0", "addresses": [f"{subnet}.1/24"]}],
        "veths": [
            {
                "name": f"veth-{n}",
                "master": "br0",
                "peer": "eth0",
                "peer_netns": n,
                "peer_addresses": [f"{subnet}.{i + 2}/24"],
            }
            for i, n in enumerate(names)
        ],
        "routes": [{"netns": n, "destination": "default", "gateway": f"{subnet}.1"} for n in names],
        "masquerades": [{"source": f"{subnet}.0/24"}],
    }


def test_three_containers_on_a_bridge_with_nat_in_one_call():
    task = {"netns.core.network": containers(3)}

    def verify():
        assert namespaces() == ["c0", "c1", "c2"]
        assert {name for name, link in links().items() if link.get("master") == "br0"} == {
            "veth-c0",
            "veth-c1",
            "veth-c2",
        }
        assert ping("c0", "10.98.0.1") and ping("c0", "10.98.0.4") and ping("c2", "10.98.0.3")
        assert "default via 10.98.0.1 dev eth0" in sh("ip -n c1 route show default")
        assert "netns.core masquerade 10.98.0.0/24" in sh("iptables -t nat -S POSTROUTING")
        assert sh("cat /proc/sys/net/ipv4/ip_forward").strip() == "1"

    # routes' `interface` cannot be predicted while the veth that will carry the gateway does not exist yet
    (result,) = four_steps([task], verify)
    assert result["summary"]["namespaces"] == {"objects": 3, "changed": 3}
    assert result["actions"][:2] == ["create netns c0", "bring lo up in netns c0"]
    assert set(result["diff"]["after"]) == {"namespaces", "bridges", "veths", "routes", "masquerades"}


def test_the_diff_comes_back_only_in_diff_mode():
    """before/after of every object only when asked for (--diff): the same changes and actions either way."""
    task = {"netns.core.network": containers(2)}
    (plain,) = play([task], check=True, diff=False)
    (with_diff,) = play([task], check=True, diff=True)
    assert "diff" not in plain and plain["changed"] and plain["actions"] == with_diff["actions"]
    assert set(with_diff["diff"]["after"]) == {"namespaces", "bridges", "veths", "routes", "masquerades"}
    assert namespaces() == []  # both were check runs
    (built,) = play([task], diff=False)
    assert "diff" not in built and built["actions"] == plain["actions"]
    (again,) = play([task], diff=False)
    assert "diff" not in again and not again["changed"]
    play([{"netns.core.network": {**containers(2), "state": "absent"}}])
    assert namespaces() == []


def test_absent_removes_exactly_what_was_listed():
    spec = containers(2)
    (built,) = play([{"netns.core.network": spec}])
    assert built["status"] == "ok" and built["changed"]
    # things this call did not build: an unrelated namespace and link, and an untagged rule of somebody else
    sh(
        "ip netns add other; ip link add keep0 type veth peer name keep1;"
        "iptables -t nat -A POSTROUTING -s 10.98.0.0/24 -j MASQUERADE"
    )
    task = {"netns.core.network": {**spec, "state": "absent"}}

    def verify():
        assert namespaces() == ["other"]
        assert set(links()) == {"lo", "keep0", "keep1"}
        rules = sh("iptables -t nat -S POSTROUTING")
        assert "netns.core" not in rules and "-A POSTROUTING -s 10.98.0.0/24 -j MASQUERADE" in rules
        assert sh("cat /proc/sys/net/ipv4/ip_forward").strip() == "1"  # left as it is

    (result,) = four_steps([task], verify)
    # the reverse order: rules, routes, veths, the bridge, then the namespaces
    assert [line.split(" ")[1] for line in result["actions"][:3]] == ["rule", "rule", "rule"]
    assert result["actions"][-2:] == ["delete netns c1", "delete netns c0"]
    assert result["actions"].index("delete bridge br0 (its ports are released)") > result["actions"].index(
        "delete veth pair veth-c0 <-> eth0 in netns c0"
    )


def test_absent_leaves_no_veth_when_a_process_keeps_a_namespace_alive():
    """The veths and routes in a namespace go with its deletion, not one by one; a namespace a process keeps
    alive does not free its links, and the run deletes what is left itself: nothing of the network remains."""
    spec = containers(3)
    (built,) = play([{"netns.core.network": spec}])
    assert built["status"] == "ok" and built["changed"]
    holder = subprocess.Popen(["ip", "netns", "exec", "c1", "sleep", "300"])
    try:
        (result,) = play([{"netns.core.network": {**spec, "state": "absent"}}])
        assert result["status"] == "ok" and result["changed"], result.get("msg")
        assert namespaces() == []
        assert set(links()) == {"lo"}, links()
        assert "delete veth pair veth-c1 <-> eth0 in netns c1" in result["actions"]
        assert "delete route 0.0.0.0/0 via 10.98.0.1 dev eth0 metric 0 in netns c1" in result["actions"]
    finally:
        holder.kill()
        holder.wait()
    (again,) = play([{"netns.core.network": {**spec, "state": "absent"}}])
    assert again["status"] == "ok" and again["changed"] is False


def test_an_error_anywhere_stops_the_call_before_the_first_change():
    sh("ip link add veth-c1 type bridge")  # in the way of the second veth
    result = fails_cleanly(
        "network",
        containers(2),
        "veths[1] (veth veth-c1 <-> eth0 in netns c1): name 'veth-c1'",
        "is a bridge, not a veth",
    )
    assert result["msg"].startswith("veths[1] "), result["msg"]
    assert result["msg"].endswith("nothing was changed"), result["msg"]


def test_a_namespace_neither_there_nor_listed_is_an_error_before_anything_changes():
    spec = containers(1)
    spec["routes"].append({"netns": "ghost", "destination": "default", "gateway": "10.98.0.1"})
    fails_cleanly("network", spec, "routes[1]", "netns 'ghost' does not exist")


def test_item_options_are_checked_like_the_single_modules():
    result = fails_cleanly("network", {"veths": [{"name": "a", "peer": "b", "colour": "red"}]}, "veths[0]: ", "colour")
    assert result["msg"].startswith("veths[0]: ")
    fails_cleanly("network", {"bridges": [{"name": "br0", "mtu": "big"}]}, "bridges[0]", "mtu")
    fails_cleanly(
        "network",
        {"namespaces": [{"name": "x"}, {"name": "x"}]},
        "namespaces[1] describes the same object as namespaces[0]",
    )
    fails_cleanly(
        "network", {"veths": [{"name": "a-very-long-veth-name", "peer": "b"}]}, "has 21 characters; Linux allows 15"
    )


def test_one_hundred_containers_in_one_call():
    task = {"netns.core.network": containers(100)}
    (result,) = play([task])
    assert result["status"] == "ok", result.get("msg")
    assert len(namespaces()) == 100 and len(result["actions"]) > 500
    assert ping("c0", "10.98.0.101") and ping("c99", "10.98.0.1")
    (again,) = play([task])
    assert again["status"] == "ok" and again["changed"] is False


def routed_pair() -> dict:
    """Two namespaces routed through the sandbox host: a in 10.1.0.0/24, b in 10.2.0.0/24."""
    spec: dict = {"namespaces": [], "veths": [], "routes": []}
    for name, subnet in (("a", "10.1.0"), ("b", "10.2.0")):
        spec["namespaces"].append({"name": name})
        spec["veths"].append(
            {
                "name": f"veth-{name}",
                "addresses": [f"{subnet}.1/24"],
                "peer": "eth0",
                "peer_netns": name,
                "peer_addresses": [f"{subnet}.2/24"],
            }
        )
        spec["routes"].append({"netns": name, "destination": "default", "gateway": f"{subnet}.1"})
    spec["sysctls"] = [{"name": "net.ipv4.ip_forward", "value": 1}]
    return spec


def test_forwards_accept_new_connections_both_ways_under_a_drop_policy():
    sh("iptables -w -P FORWARD DROP; iptables -w -A FORWARD -i lo -j ACCEPT")
    before = sh("iptables -w -S FORWARD")
    one_way = {**routed_pair(), "forwards": [{"source": "10.1.0.0/24", "destination": "10.2.0.0/24"}]}
    play([{"netns.core.network": one_way}])
    assert not ping("a", "10.2.0.2"), "the replies from b must be dropped by the policy (negative control)"
    task = {
        "netns.core.network": {
            **routed_pair(),
            "forwards": [
                {"source": "10.1.0.0/24", "destination": "10.2.0.0/24"},
                {"source": "10.2.0.0/24", "destination": "10.1.0.0/24"},
            ],
        }
    }

    def verify():
        tagged = [r for r in sh("iptables -w -S FORWARD").splitlines() if "netns.core" in r]
        assert sorted(tagged) == [
            '-A FORWARD -s 10.1.0.0/24 -d 10.2.0.0/24 -m comment --comment "netns.core forward 10.1.0.0/24 to'
            ' 10.2.0.0/24" -j ACCEPT',
            '-A FORWARD -s 10.2.0.0/24 -d 10.1.0.0/24 -m comment --comment "netns.core forward 10.2.0.0/24 to'
            ' 10.1.0.0/24" -j ACCEPT',
        ]
        assert ping("a", "10.2.0.2") and ping("b", "10.1.0.2")

    four_steps([task], verify)
    play([{"netns.core.network": {**task["netns.core.network"], "state": "absent"}}])
    assert sh("iptables -w -S FORWARD") == before, "teardown leaves the foreign rule and the policy"


def test_forwards_refuse_mixed_families():
    fails_cleanly(
        "network",
        {"forwards": [{"source": "10.1.0.0/24", "destination": "fd00::/64"}]},
        "forwards[0]",
        "fd00::/64",
    )
