# SPDX-License-Identifier: GPL-3.0-or-later
"""Every operation's simulate(): what it does to the kernel model, with the kernel's side effects.

The side effects asserted here were seen in the sandbox's kernel (6.18) with ip(8):
- an address on a down link brings no prefix route; bringing the link up brings it (IPv4 metric 0, IPv6 256);
- a second IPv4 address of a subnet is secondary and brings no second route;
- deleting the primary drops its secondaries (promote_secondaries=0) and the prefix route;
- deleting a veth end deletes its peer, with both ends' addresses and routes.
"""

from __future__ import annotations

import pytest

from ansible_collections.netns.core.plugins.module_utils import _ops
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._iptables import Rule
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel, new_link
from ansible_collections.netns.core.plugins.module_utils._ops import (
    AddAddress,
    AddRule,
    AttachNetns,
    CreateBridge,
    CreateNetns,
    CreateVeth,
    DelAddress,
    DeleteLink,
    DeleteNetns,
    DeleteRoute,
    DelRule,
    MoveLink,
    ReplaceRoute,
    SetMaster,
    SetMtu,
    SetStp,
    SetUp,
    UnlinkStaleNetns,
    WriteSysctl,
)


def run(model, *ops):
    for op in ops:
        _ops.known(op).simulate(model)
    return model


def routes(model, ns, family=4):
    return sorted((r["destination"], r["metric"], r["interface"], r["gateway"]) for r in model.routes(ns, family))


@pytest.fixture
def model():
    return KernelModel(None)


def test_a_new_namespace_has_lo_down_and_nothing_else(model):
    run(model, CreateNetns("red"))
    assert model.exists("red")
    assert model.link("red", "lo")["up"] is False
    assert model.link("red", "eth0") is None and model.routes("red", 4) == []
    assert model.sysctl("red", "net.ipv4.ip_forward") is None and not model.knows_sysctls("red")


def test_attach_names_a_namespace_with_its_id(model):
    run(model, AttachNetns("web", 42, "net:[4026532000]"))
    assert model.exists("web") and model.namespace_id("web") == "net:[4026532000]"


def test_delete_namespace_takes_the_veth_ends_elsewhere(model):
    run(model, CreateNetns("red"), CreateVeth(None, "veth-red", "red", "eth0", None), SetUp(None, "veth-red"))
    run(model, AddAddress(None, "veth-red", "10.0.0.1/24"))
    assert routes(model, None) == [("10.0.0.0/24", 0, "veth-red", None)]
    run(model, DeleteNetns("red"))
    assert not model.exists("red")
    assert model.link(None, "veth-red") is None and model.routes(None, 4) == []


def test_unlink_stale_leaves_the_name_absent(model):
    model.space("red").status = "stale"
    run(model, UnlinkStaleNetns("red"))
    assert model.status("red") == "absent"


def test_create_veth_makes_two_down_ends_that_know_each_other(model):
    run(model, CreateNetns("red"), CreateVeth(None, "veth-red", "red", "eth0", 1400))
    end, peer = model.link(None, "veth-red"), model.link("red", "eth0")
    assert (end["kind"], end["mtu"], end["up"], end["master"]) == ("veth", 1400, False, None)
    assert model.peer(None, "veth-red") == ("red", "eth0") and model.peer("red", "eth0") == (None, "veth-red")
    assert peer["mtu"] == 1400 and model.addresses("red", "eth0") == []


def test_a_veth_without_mtu_gets_1500(model):
    run(model, CreateVeth(None, "a", None, "b", None))
    assert model.link(None, "a")["mtu"] == 1500 == model.link(None, "b")["mtu"]


def test_address_on_a_down_link_brings_its_route_only_when_it_comes_up(model):
    run(model, CreateVeth(None, "a", None, "b", None), AddAddress(None, "a", "10.1.0.1/24"))
    run(model, AddAddress(None, "a", "fd00::1/64"))
    assert model.routes(None, 4) == [] and model.routes(None, 6) == []
    run(model, SetUp(None, "a"))
    assert routes(model, None, 4) == [("10.1.0.0/24", 0, "a", None)]
    assert routes(model, None, 6) == [("fd00::/64", 256, "a", None)]
    run(model, SetUp(None, "a", up=False))
    assert model.routes(None, 4) == [] and model.routes(None, 6) == []


def test_a_second_address_of_a_subnet_is_secondary_without_a_second_route(model):
    run(model, CreateVeth(None, "a", None, "b", None), SetUp(None, "a"))
    run(model, AddAddress(None, "a", "10.1.0.1/24"), AddAddress(None, "a", "10.1.0.2/24"))
    assert model.secondaries(None, "a") == {"10.1.0.2/24"}
    assert routes(model, None) == [("10.1.0.0/24", 0, "a", None)]
    assert model.secondaries_lost_with_primary(None, "a") == frozenset({"10.1.0.2/24"})


def test_removing_the_primary_drops_its_secondaries_and_the_route(model):
    run(model, CreateVeth(None, "a", None, "b", None), SetUp(None, "a"))
    run(model, AddAddress(None, "a", "10.1.0.1/24"), AddAddress(None, "a", "10.1.0.2/24"))
    run(model, AddAddress(None, "a", "10.2.0.1/24"))
    run(model, DelAddress(None, "a", "10.1.0.1/24"))
    assert model.addresses(None, "a") == ["10.2.0.1/24"]
    assert routes(model, None) == [("10.2.0.0/24", 0, "a", None)]


def test_with_promote_secondaries_the_secondary_becomes_primary(model):
    run(model, CreateVeth(None, "a", None, "b", None), SetUp(None, "a"))
    run(model, WriteSysctl(None, "net.ipv4.conf.a.promote_secondaries", "1"))
    run(model, AddAddress(None, "a", "10.1.0.1/24"), AddAddress(None, "a", "10.1.0.2/24"))
    assert model.secondaries_lost_with_primary(None, "a") == frozenset()
    run(model, DelAddress(None, "a", "10.1.0.1/24"))
    assert model.addresses(None, "a") == ["10.1.0.2/24"] and model.secondaries(None, "a") == set()
    assert routes(model, None) == [("10.1.0.0/24", 0, "a", None)]


def test_removing_a_secondary_keeps_the_route(model):
    run(model, CreateVeth(None, "a", None, "b", None), SetUp(None, "a"))
    run(model, AddAddress(None, "a", "10.1.0.1/24"), AddAddress(None, "a", "10.1.0.2/24"))
    run(model, DelAddress(None, "a", "10.1.0.2/24"))
    assert model.addresses(None, "a") == ["10.1.0.1/24"] and len(model.routes(None, 4)) == 1


def test_a_slash_32_brings_no_prefix_route(model):
    run(model, CreateVeth(None, "a", None, "b", None), SetUp(None, "a"), AddAddress(None, "a", "10.1.0.1/32"))
    assert model.routes(None, 4) == []


def test_deleting_a_veth_end_deletes_both_ends_with_addresses_and_routes(model):
    run(model, CreateNetns("red"), CreateVeth(None, "veth-red", "red", "eth0", None))
    run(model, SetUp("red", "eth0"), AddAddress("red", "eth0", "10.0.0.2/24"))
    run(model, ReplaceRoute("red", route("0.0.0.0/0", "10.0.0.1")))
    assert routes(model, "red") == [("0.0.0.0/0", 0, "eth0", "10.0.0.1"), ("10.0.0.0/24", 0, "eth0", None)]
    run(model, DeleteLink(None, "veth-red"))
    assert model.link(None, "veth-red") is None and model.link("red", "eth0") is None
    assert model.addresses("red", "eth0") == [] and model.routes("red", 4) == []


def test_deleting_a_bridge_releases_its_ports(model):
    run(model, CreateBridge(None, "br0", None, False), CreateVeth(None, "a", None, "b", None))
    run(model, SetMaster(None, "a", "br0"))
    assert model.link(None, "a")["master"] == "br0"
    run(model, DeleteLink(None, "br0"))
    assert model.link(None, "br0") is None and model.link(None, "a")["master"] is None


def test_a_bridge_without_mtu_takes_the_smallest_mtu_of_its_ports(model):
    run(model, CreateBridge(None, "br0", None, False), CreateVeth(None, "a", None, "b", 1450))
    run(model, SetMaster(None, "a", "br0"))
    assert model.link(None, "br0")["mtu"] == 1450
    run(model, CreateBridge(None, "br1", 9000, False), SetMaster(None, "b", "br1"))
    assert model.link(None, "br1")["mtu"] == 9000


def test_stp_and_mtu(model):
    run(model, CreateBridge(None, "br0", 1500, True))
    assert model.link(None, "br0")["stp"] is True
    run(model, SetStp(None, "br0", False), SetMtu(None, "br0", 9000))
    assert model.link(None, "br0")["stp"] is False and model.link(None, "br0")["mtu"] == 9000


def test_a_moved_link_arrives_down_and_bare_and_its_peer_follows(model):
    run(model, CreateNetns("red"), CreateBridge(None, "br0", None, False), CreateVeth(None, "a", None, "b", None))
    run(model, SetMaster(None, "b", "br0"), SetUp(None, "b"), AddAddress(None, "b", "10.0.0.2/24"))
    run(model, MoveLink(None, "b", "red"))
    assert model.link(None, "b") is None and model.routes(None, 4) == []
    moved = model.link("red", "b")
    assert (moved["up"], moved["master"], model.addresses("red", "b")) == (False, None, [])
    assert model.peer(None, "a") == ("red", "b") and model.peer("red", "b") == (None, "a")


def route(destination, gateway=None, interface=None, metric=0, table=254, family=4):
    return {
        "family": family,
        "table": table,
        "destination": destination,
        "metric": metric,
        "gateway": gateway,
        "interface": interface,
    }


def test_a_route_without_interface_takes_the_one_of_the_gateways_connected_subnet(model):
    run(model, CreateVeth(None, "a", None, "b", None), SetUp(None, "a"), AddAddress(None, "a", "10.0.0.1/24"))
    run(model, ReplaceRoute(None, route("10.9.0.0/16", "10.0.0.254")))
    assert model.route(None, 4, 254, "10.9.0.0/16", 0)["interface"] == "a"
    run(model, ReplaceRoute(None, route("10.9.0.0/16", "10.0.0.253")))
    assert [r["gateway"] for r in model.routes(None, 4) if r["destination"] == "10.9.0.0/16"] == ["10.0.0.253"]
    run(model, DeleteRoute(None, route("10.9.0.0/16")))
    assert model.route(None, 4, 254, "10.9.0.0/16", 0) is None


def test_writing_ip_forward_sets_its_alias(model):
    run(model, WriteSysctl(None, "net.ipv4.ip_forward", "1"))
    assert model.sysctl(None, "net.ipv4.conf.all.forwarding") == "1"


def test_rules_are_inserted_at_the_top_of_their_chain_or_appended(model):
    first = Rule("filter", "FORWARD", ("-s", "10.0.0.0/24", "-j", "ACCEPT"))
    inserted = Rule("filter", "FORWARD", ("-d", "10.0.0.0/24", "-j", "ACCEPT"), insert=True)
    run(model, AddRule(None, "iptables", 4, first), AddRule(None, "iptables", 4, inserted))
    assert model.listing(None, "iptables", 4, "filter") == [inserted, first]
    run(model, DelRule(None, "iptables", 4, first))
    assert model.listing(None, "iptables", 4, "filter") == [inserted]
    assert model.listing(None, "iptables", 6, "filter") == []


def test_every_operation_is_registered_and_an_unknown_one_is_refused():
    assert {cls.__name__ for cls in _ops.OPERATIONS} >= {
        "CreateNetns",
        "CreateVeth",
        "AddAddress",
        "ReplaceRoute",
        "WriteSysctl",
        "AddRule",
    }
    with pytest.raises(NetnsCoreError, match="unknown operation"):
        _ops.known(object())


def test_operations_declare_what_they_make_stale():
    assert CreateVeth(None, "a", "red", "b", None).stale() == ((None, "red"), False)
    assert DeleteLink(None, "a").stale() == (("*",), True)
    assert MoveLink(None, "a", "red").stale() == (("*",), True)
    assert AddAddress("red", "eth0", "10.0.0.1/24").stale() == (("red",), False)
    assert CreateNetns("red").stale() == (("red",), True)


def test_new_link_defaults():
    assert new_link("x", "veth") == {
        "name": "x",
        "kind": "veth",
        "mtu": 1500,
        "up": False,
        "master": None,
        "peer": None,
    }


def test_an_alias_marks_a_link_and_survives_a_move(model):
    from ansible_collections.netns.core.plugins.module_utils._ops import SetAlias

    run(model, CreateNetns("red"), CreateVeth(None, "a", None, "b", None))
    run(model, SetAlias(None, "b", "netns.core owner=lab"))
    assert model.owner(None, "b") == "lab" and model.owner(None, "a") is None
    run(model, MoveLink(None, "b", "red"))
    assert model.owner("red", "b") == "lab"
    run(model, SetAlias("red", "lo", "netns.core owner=lab"))
    assert model.owner("red", "lo") == "lab"
    run(model, SetAlias("red", "b", ""))
    assert model.owner("red", "b") is None


def test_deleting_a_namespace_knows_the_veth_ends_elsewhere_that_die_with_it(model):
    run(model, CreateNetns("red"), CreateVeth(None, "veth-red", "red", "eth0", None))
    assert model.links_into("red") == ((None, "veth-red"),)
    assert model.links_into("blue") == ()
