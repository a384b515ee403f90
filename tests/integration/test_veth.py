# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.veth against the real kernel (inside the sandbox)."""

from __future__ import annotations

from conftest import addresses, fails_cleanly, four_steps, links, play, run, sh


def test_host_end_and_container_eth0_with_v4_and_v6():
    sh("ip netns add red")
    task = {
        "netns.core.veth": {
            "name": "veth-red",
            "peer": "eth0",
            "peer_netns": "red",
            "peer_addresses": ["10.88.0.2/24", "fd00:88::2/64"],
            "mtu": 1400,
        }
    }

    def verify():
        host, inside = links()["veth-red"], links("red")["eth0"]
        assert host["linkinfo"]["info_kind"] == inside["linkinfo"]["info_kind"] == "veth"
        assert host["mtu"] == inside["mtu"] == 1400
        assert "UP" in host["flags"] and "UP" in inside["flags"]
        assert "eth0" not in links(), "the container end must be born in its namespace"
        assert addresses("eth0", "red") == ["10.88.0.2/24", "fd00:88::2/64"]

    (result,) = four_steps([task], verify)
    assert result["actions"][0] == "create veth pair veth-red <-> eth0 in netns red"


def test_two_namespaces_both_ends_named_eth0():
    sh("ip netns add ns1; ip netns add ns2")
    task = {
        "netns.core.veth": {
            "name": "eth0",
            "netns": "ns1",
            "addresses": ["10.0.0.1/24"],
            "peer": "eth0",
            "peer_netns": "ns2",
            "peer_addresses": ["10.0.0.2/24"],
        }
    }

    def verify():
        assert addresses("eth0", "ns1") == ["10.0.0.1/24"]
        assert addresses("eth0", "ns2") == ["10.0.0.2/24"]
        assert list(links()) == ["lo"]

    four_steps([task], verify)


def test_exact_address_set_removes_extra_and_keeps_link_local():
    sh(
        "ip netns add red; ip link add v1 type veth peer name eth0 netns red; ip link set v1 up;"
        "ip -n red link set eth0 up; ip -n red addr add 10.1.0.9/24 dev eth0; ip -n red addr add 10.1.0.2/24 dev eth0"
    )
    link_local_before = addresses("eth0", "red", scope="link")
    task = {"netns.core.veth": {"name": "v1", "peer": "eth0", "peer_netns": "red", "peer_addresses": ["10.1.0.2/24"]}}

    def verify():
        assert addresses("eth0", "red") == ["10.1.0.2/24"]

    (result,) = four_steps([task], verify)
    # 10.1.0.9 was the primary: the kernel drops the secondary 10.1.0.2 with it, so it is added again
    assert result["actions"] == [
        "remove address 10.1.0.9/24 from eth0 in netns red",
        "add address 10.1.0.2/24 to eth0 in netns red again (the kernel drops secondaries with their primary)",
    ]
    assert addresses("eth0", "red", scope="link") == link_local_before != []


def test_removing_a_primary_and_its_unwanted_secondary_keeps_the_wanted_one():
    sh(
        "ip netns add red; ip link add v1 type veth peer name eth0 netns red;"
        "ip link set v1 up; ip -n red link set eth0 up;"
        "ip -n red addr add 10.1.0.9/24 dev eth0; ip -n red addr add 10.1.0.8/24 dev eth0;"
        "ip -n red addr add 10.1.0.2/24 dev eth0; ip -n red addr add 10.2.0.2/24 dev eth0"
    )
    task = {
        "netns.core.veth": {
            "name": "v1",
            "peer": "eth0",
            "peer_netns": "red",
            "peer_addresses": ["10.1.0.2/24", "10.2.0.2/24", "fd00:1::2/64"],
        }
    }

    def verify():
        assert addresses("eth0", "red") == ["10.1.0.2/24", "10.2.0.2/24", "fd00:1::2/64"]
        assert addresses("v1") == []

    (result,) = four_steps([task], verify)
    assert result["actions"][:2] == [
        "remove address 10.1.0.8/24 from eth0 in netns red",
        "remove address 10.1.0.9/24 from eth0 in netns red",
    ]


def test_with_promote_secondaries_the_secondary_is_promoted_not_added_again():
    sh(
        "ip netns add red; ip link add v1 type veth peer name eth0 netns red;"
        "ip link set v1 up; ip -n red link set eth0 up;"
        "ip netns exec red sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1;"
        "ip -n red addr add 10.1.0.9/24 dev eth0; ip -n red addr add 10.1.0.2/24 dev eth0"
    )
    task = {"netns.core.veth": {"name": "v1", "peer": "eth0", "peer_netns": "red", "peer_addresses": ["10.1.0.2/24"]}}

    def verify():
        assert addresses("eth0", "red") == ["10.1.0.2/24"]

    (result,) = four_steps([task], verify)
    assert result["actions"] == ["remove address 10.1.0.9/24 from eth0 in netns red"]


def test_master_bridge_and_mtu_change():
    sh("ip link add br0 type bridge; ip netns add red")
    run("veth", {"name": "veth-red", "peer": "eth0", "peer_netns": "red"})
    task = {"netns.core.veth": {"name": "veth-red", "master": "br0", "peer": "eth0", "peer_netns": "red", "mtu": 1450}}

    def verify():
        assert links()["veth-red"]["master"] == "br0"
        assert links()["veth-red"]["mtu"] == links("red")["eth0"]["mtu"] == 1450

    four_steps([task], verify)


def test_absent_removes_both_ends():
    sh("ip netns add red; ip link add veth-red type veth peer name eth0 netns red")

    def verify():
        assert "veth-red" not in links() and "eth0" not in links("red")

    four_steps(
        [{"netns.core.veth": {"name": "veth-red", "peer": "eth0", "peer_netns": "red", "state": "absent"}}], verify
    )


def test_end_in_the_wrong_namespace_is_moved():
    sh("ip netns add red; ip netns add blue; ip link add veth-x type veth peer name eth0 netns blue")
    result = run("veth", {"name": "veth-x", "peer": "eth0", "peer_netns": "red", "peer_addresses": ["10.2.0.2/24"]})
    assert result["changed"] and "move eth0 into netns red" in result["actions"]
    assert "eth0" in links("red") and "eth0" not in links("blue")
    assert addresses("eth0", "red") == ["10.2.0.2/24"]
    assert not run("veth", {"name": "veth-x", "peer": "eth0", "peer_netns": "red", "peer_addresses": ["10.2.0.2/24"]})[
        "changed"
    ]


def test_a_bridge_in_the_way_is_an_error_not_deleted():
    sh("ip link add br9 type bridge")
    fails_cleanly("veth", {"name": "br9", "peer": "p9"}, "br9", "bridge", "not a veth")
    assert "br9" in links()


def test_a_veth_with_another_peer_is_an_error():
    sh("ip link add v1 type veth peer name other")
    fails_cleanly("veth", {"name": "v1", "peer": "p1"}, "v1", "other", "not this pair")
    # a removal leaves a pair that is not this one, and says so
    (result,) = play([{"netns.core.veth": {"name": "v1", "peer": "p1", "state": "absent"}}])
    assert result["status"] == "ok" and not result["changed"], result
    assert "left as it is" in " ".join(result["warnings"]) and "v1" in links()


def test_missing_namespace_fails_for_real_but_plans_in_check_mode():
    fails_cleanly(
        "veth",
        {"name": "v1", "peer": "eth0", "peer_netns": "blue"},
        "peer_netns 'blue' does not exist",
        check_warns=("check mode: peer_netns 'blue' does not exist", "planned as if an earlier task"),
    )


def test_master_that_is_not_a_bridge():
    sh("ip link add notbr type veth peer name notbr2")
    fails_cleanly("veth", {"name": "v1", "peer": "v2", "master": "notbr"}, "master 'notbr'", "not a bridge")
