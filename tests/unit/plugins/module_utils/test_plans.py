# SPDX-License-Identifier: GPL-3.0-or-later
"""plan() is pure: given what is there and what is wanted, the exact steps, in order, in words."""

from __future__ import annotations

import pytest

from ansible_collections.netns.core.plugins.module_utils._bridge import Bridge
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._iface import config_changes, fresh_state
from ansible_collections.netns.core.plugins.module_utils._masquerade import Masquerade
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel, new_link
from ansible_collections.netns.core.plugins.module_utils._netns import Netns
from ansible_collections.netns.core.plugins.module_utils._netns_route import Route
from ansible_collections.netns.core.plugins.module_utils._sysctl import Sysctl
from ansible_collections.netns.core.plugins.module_utils._veth import Veth


def texts(changes):
    return [c.describe() for c in changes]


def offline(*namespaces):
    """A model of an empty host with these (empty) namespaces."""
    model = KernelModel(None)
    for ns in namespaces:
        model.add_namespace(ns)
    return model


def with_iface(model, ns, name, kind="veth", addresses=(), up=True, peer=None, **extra):
    model.add_link(ns, new_link(name, kind, up=False, peer=peer, **extra))
    for address in addresses:
        model.add_address(ns, name, address)
    if up:
        model.change_link(ns, name, up=True)
    return model


def planned(resource, model):
    """read + plan, as the engine does."""
    return resource.plan(model, resource.read(model), resource.desired())


def iface(name="eth0", ns="red", **extra):
    state = {"name": name, "netns": ns, "kind": "veth", "mtu": 1500, "master": None, "up": True, "addresses": []}
    state.update(extra)
    return state


# -- interface configuration ---------------------------------------------------------------------------------
def test_config_changes_order_mtu_master_addresses_up():
    have = fresh_state("eth0", "red", "veth", None)
    want = iface(mtu=9000, master="br0", addresses=["10.0.0.2/24", "fd00::2/64"])
    assert texts(config_changes(have, want)) == [
        "set mtu 9000 on eth0 in netns red",
        "attach eth0 in netns red to bridge br0",
        "add address 10.0.0.2/24 to eth0 in netns red",
        "add address fd00::2/64 to eth0 in netns red",
        "bring eth0 in netns red up",
    ]


def test_none_means_untouched():
    have = iface(mtu=9000, master="br0", addresses=["10.0.0.2/24"])
    assert config_changes(have, iface(mtu=None, master=None, addresses=None)) == []


def test_exact_addresses_leave_link_local_alone():
    have = iface(addresses=["10.0.0.2/24", "10.0.0.3/24", "fe80::1/64"])
    assert texts(config_changes(have, iface(addresses=["10.0.0.2/24"]))) == [
        "remove address 10.0.0.3/24 from eth0 in netns red"
    ]


def test_removing_a_primary_adds_its_wanted_secondary_again():
    have = iface(addresses=["10.0.0.2/24", "10.0.0.9/24", "10.0.1.5/24"])
    # 10.0.0.9 is the primary; 10.0.0.2 its secondary, which the kernel drops with it
    changes = config_changes(have, iface(addresses=["10.0.0.2/24", "10.0.1.5/24"]), frozenset({"10.0.0.2/24"}))
    assert texts(changes) == [
        "remove address 10.0.0.9/24 from eth0 in netns red",
        "add address 10.0.0.2/24 to eth0 in netns red again (the kernel drops secondaries with their primary)",
    ]


def test_unwanted_secondaries_go_before_their_primary():
    have = iface(addresses=["10.0.0.1/24", "10.0.0.2/24", "10.0.0.3/24"])
    fragile = frozenset({"10.0.0.2/24", "10.0.0.3/24"})
    changes = config_changes(have, iface(addresses=["10.0.0.3/24"]), fragile)
    assert texts(changes) == [
        "remove address 10.0.0.2/24 from eth0 in netns red",
        "remove address 10.0.0.1/24 from eth0 in netns red",
        "add address 10.0.0.3/24 to eth0 in netns red again (the kernel drops secondaries with their primary)",
    ]


def test_a_removed_primary_of_another_subnet_drops_nothing():
    have = iface(addresses=["10.0.0.1/24", "10.0.1.1/24", "10.0.1.2/24"])
    changes = config_changes(have, iface(addresses=["10.0.1.1/24", "10.0.1.2/24"]), frozenset({"10.0.1.2/24"}))
    assert texts(changes) == ["remove address 10.0.0.1/24 from eth0 in netns red"]


# -- veth --------------------------------------------------------------------------------------------------
def veth(**params):
    return Veth({"name": "veth-red", "peer": "eth0", "peer_netns": "red", "state": "present", **params})


def pair(model, end_ns=None, peer_ns="red", peer_addresses=()):
    with_iface(model, end_ns, "veth-red", peer=(peer_ns, "eth0"))
    return with_iface(model, peer_ns, "eth0", addresses=peer_addresses, peer=(end_ns, "veth-red"))


def test_veth_create_plan():
    resource = veth(peer_addresses=["10.0.0.2/24"], mtu=1400)
    assert texts(planned(resource, offline("red"))) == [
        "create veth pair veth-red <-> eth0 in netns red",
        "bring veth-red up",
        "add address 10.0.0.2/24 to eth0 in netns red",
        "bring eth0 in netns red up",
    ]


def test_veth_end_in_the_wrong_namespace_is_moved_then_configured():
    resource = veth(peer_addresses=["10.0.0.2/24"])
    model = pair(offline("red"), None, None, ["10.0.0.2/24"])
    assert texts(planned(resource, model)) == [
        "move eth0 into netns red",
        "add address 10.0.0.2/24 to eth0 in netns red",
        "bring eth0 in netns red up",
    ]


def test_veth_absent():
    model = pair(offline("red"))
    assert texts(planned(veth(state="absent"), model)) == ["delete veth pair veth-red <-> eth0 in netns red"]
    assert planned(veth(state="absent"), offline("red")) == []


def test_veth_converged_is_empty():
    resource = veth(peer_addresses=["10.0.0.2/24"])
    assert planned(resource, pair(offline("red"), peer_addresses=["10.0.0.2/24"])) == []


def test_veth_same_name_same_namespace_is_refused():
    with pytest.raises(NetnsCoreError, match="is the same as name"):
        Veth({"name": "a", "peer": "a", "state": "present"})


def test_veth_of_another_pair_is_refused():
    model = with_iface(offline("red"), None, "veth-red", peer=("red", "other"))
    with_iface(model, "red", "other", peer=(None, "veth-red"))
    with pytest.raises(NetnsCoreError, match="is a veth whose peer is 'other' in netns red, not this pair"):
        planned(veth(), model)


def test_veth_prediction_is_the_model_after_the_plan():
    resource = veth(peer_addresses=["10.0.0.2/24"])
    model = offline("red")
    for op in planned(resource, model):
        op.simulate(model)
    after = resource.read(model)
    assert after["peer"] == iface("eth0", "red", addresses=["10.0.0.2/24"])
    assert after["end"]["addresses"] == [] and after["end"]["up"] is True
    assert planned(resource, model) == []


# -- bridge ------------------------------------------------------------------------------------------------
def test_bridge_create_with_gateway_address_and_stp():
    resource = Bridge({"name": "br0", "addresses": ["10.88.0.1/16"], "stp": True, "state": "present"})
    assert texts(planned(resource, offline())) == [
        "create bridge br0 with stp on",
        "add address 10.88.0.1/16 to br0",
        "bring br0 up",
    ]


def test_bridge_stp_toggle_and_absent():
    model = with_iface(offline("lab"), "lab", "br0", kind="bridge", stp=True)
    resource = Bridge({"name": "br0", "netns": "lab", "stp": False, "state": "present"})
    assert texts(planned(resource, model)) == ["turn stp off on bridge br0 in netns lab"]
    gone = Bridge({"name": "br0", "netns": "lab", "state": "absent"})
    assert texts(planned(gone, model)) == ["delete bridge br0 in netns lab (its ports are released)"]


def test_a_bridge_name_held_by_a_veth_is_refused():
    model = with_iface(offline(), None, "br0", kind="veth")
    with pytest.raises(NetnsCoreError, match="already exists in the host namespace and is a veth, not a bridge"):
        planned(Bridge({"name": "br0", "state": "present"}), model)


# -- route -------------------------------------------------------------------------------------------------
def route(**params):
    return Route({"netns": "red", "destination": "default", "gateway": "10.88.0.1", "state": "present", **params})


def connected(*routes):
    """red with eth0 on 10.88.0.0/16, plus routes."""
    model = with_iface(offline("red"), "red", "eth0", addresses=["10.88.0.2/16"])
    for entry in routes:
        model.put_route("red", entry)
    return model


def kernel_route(gateway, interface="eth0", destination="0.0.0.0/0"):
    return {
        "family": 4,
        "table": 254,
        "destination": destination,
        "metric": 0,
        "gateway": gateway,
        "interface": interface,
        "proto": 4,
    }


def test_route_add_replace_delete():
    resource = route()
    want = resource.desired()
    assert want == {
        "netns": "red",
        "table": 254,
        "destination": "0.0.0.0/0",
        "metric": 0,
        "gateway": "10.88.0.1",
        "interface": None,
        "onlink": False,
    }
    assert texts(planned(resource, connected())) == ["add route 0.0.0.0/0 via 10.88.0.1 metric 0 in netns red"]
    assert texts(planned(resource, connected(kernel_route("10.88.0.7")))) == [
        "replace route 0.0.0.0/0 via 10.88.0.7 dev eth0 metric 0 in netns red with "
        "0.0.0.0/0 via 10.88.0.1 metric 0 in netns red"
    ]
    assert planned(resource, connected(kernel_route("10.88.0.1"))) == []


def test_route_prediction_names_the_interface_the_kernel_picks():
    model = connected()
    resource = route()
    for op in planned(resource, model):
        op.simulate(model)
    assert resource.read(model)["interface"] == "eth0"


def test_route_gateway_in_no_connected_subnet_fails_for_real_and_is_assumed_in_check_mode():
    with pytest.raises(NetnsCoreError, match="gateway '10.9.0.1' is not reachable in netns red"):
        planned(route(gateway="10.9.0.1"), connected())
    model = connected()
    model.may_assume = True
    assert len(planned(route(gateway="10.9.0.1"), model)) == 1
    assert "is in no connected subnet" in model.assumed[0]


def test_route_absent_with_gateway_matches_only_that_gateway():
    model = connected(kernel_route("10.88.0.1"))
    assert planned(route(state="absent", gateway="10.88.0.9"), model) == []
    assert len(planned(route(state="absent"), model)) == 1
    assert len(planned(Route({"netns": "red", "destination": "default", "state": "absent"}), model)) == 1


def test_route_ipv6_default_metric_and_family_mismatch():
    assert route(gateway="fd00::1").desired()["destination"] == "::/0"
    assert route(gateway="fd00::1").desired()["metric"] == 1024
    with pytest.raises(NetnsCoreError, match="gateway 'fd00::1' is IPv6 but destination '10.0.0.0/8' is IPv4"):
        route(destination="10.0.0.0/8", gateway="fd00::1")


def test_present_route_needs_a_next_hop():
    with pytest.raises(NetnsCoreError, match="needs gateway or interface"):
        Route({"destination": "10.0.0.0/8", "state": "present"})


# -- netns, sysctl, masquerade -----------------------------------------------------------------------------
def test_netns_create_with_sysctl():
    resource = Netns({"name": "router", "sysctl": {"net.ipv4.ip_forward": 1}, "state": "present"})
    assert texts(planned(resource, offline())) == [
        "create netns router",
        "bring lo up in netns router",
        "set net.ipv4.ip_forward=1 in netns router",
    ]


def test_netns_stale_file_is_replaced():
    model = offline()
    model.space("red").status = "stale"
    plan = texts(planned(Netns({"name": "red", "state": "present"}), model))
    assert plan[:2] == ["remove stale netns file /run/netns/red (no namespace mounted)", "create netns red"]


def test_netns_refuses_non_net_sysctl():
    with pytest.raises(NetnsCoreError, match="sysctl key 'kernel.pid_max' is not a network sysctl"):
        Netns({"name": "red", "sysctl": {"kernel.pid_max": 1}})


def test_sysctl_plan():
    model = offline("r1")
    resource = Sysctl({"name": "net.ipv4.ip_forward", "value": True, "netns": "r1", "state": "present"})
    model.set_sysctl("r1", "net.ipv4.ip_forward", "0")
    assert texts(planned(resource, model)) == ["set net.ipv4.ip_forward=1 in netns r1"]
    model.set_sysctl("r1", "net.ipv4.ip_forward", "1")
    assert planned(resource, model) == []


def test_masquerade_plan_turns_forwarding_on_first():
    resource = Masquerade({"source": "10.88.0.5/16", "out_interface": "eth0", "state": "present"})
    plan = texts(planned(resource, offline()))
    assert plan[0] == "set net.ipv4.ip_forward=1"
    assert [line.split(" -s ")[0] for line in plan[1:]] == [
        "add rule -t nat -A POSTROUTING",
        "add rule -t filter -A FORWARD",
        "add rule -t filter -A FORWARD -d 10.88.0.0/16 -m conntrack --ctstate RELATED,ESTABLISHED -m comment "
        '--comment "netns.core masquerade 10.88.0.0/16 out eth0" -j ACCEPT',
    ]


def test_a_forwarding_sysctl_planned_earlier_in_the_call_is_not_planned_again():
    model = offline()
    Sysctl({"name": "net.ipv4.ip_forward", "value": 1}).plan(model, None, {"value": "1"})[0].simulate(model)
    plan = texts(planned(Masquerade({"source": "10.88.0.0/16", "state": "present"}), model))
    assert not any("ip_forward" in line for line in plan) and len(plan) == 3


def test_masquerade_absent_deletes_only_its_tagged_rules():
    model = offline()
    for op in planned(Masquerade({"source": "10.88.0.0/16", "state": "present"}), model):
        op.simulate(model)
    other = planned(Masquerade({"source": "10.99.0.0/16", "state": "present"}), model)
    for op in other:
        op.simulate(model)
    plan = planned(Masquerade({"source": "10.88.0.0/16", "state": "absent"}), model)
    assert [type(c).__name__ for c in plan] == ["DelRule"] * 3
    assert all("netns.core masquerade 10.88.0.0/16" in c.describe() for c in plan)


def test_ipv6_masquerade_uses_ipv6_rules():
    resource = Masquerade({"source": "fd00:88::/64", "forwarding": False, "state": "present"})
    plan = planned(resource, offline())
    assert texts(plan) == [
        'add rule -t nat -A POSTROUTING -s fd00:88::/64 ! -d fd00:88::/64 -m comment --comment "netns.core '
        'masquerade fd00:88::/64" -j MASQUERADE'
    ]
    assert plan[0].family == 6


# -- ownership ---------------------------------------------------------------------------------------------
def owned(model, ns, name, owner):
    model.change_link(ns, name, alias=f"netns.core owner={owner}")
    return model


def test_a_network_marks_what_it_makes():
    model = offline()
    plan = texts(planned(Netns({"name": "c1", "owner": "lab"}), model))
    assert plan == ["create netns c1", "mark netns c1 as network lab's", "bring lo up in netns c1"]
    plan = texts(planned(Bridge({"name": "br0", "owner": "lab", "addresses": ["10.9.0.1/24"]}), model))
    assert plan[:2] == ["create bridge br0", "mark bridge br0 as network lab's"]


def test_another_networks_objects_are_refused_and_left_by_a_removal():
    model = owned(with_iface(offline(), None, "br0", kind="bridge"), None, "br0", "other")
    with pytest.raises(NetnsCoreError, match="bridge br0 belongs to network 'other', and this is network 'lab'"):
        planned(Bridge({"name": "br0", "owner": "lab"}), model)
    assert planned(Bridge({"name": "br0", "owner": "lab", "state": "absent"}), model) == []
    assert model.left == ["bridge br0 left as it is: it belongs to network 'other', not 'lab'"]


def test_an_unmarked_object_of_ours_is_marked():
    model = with_iface(offline(), None, "br0", kind="bridge")
    assert texts(planned(Bridge({"name": "br0", "owner": "lab"}), model)) == ["mark bridge br0 as network lab's"]


def test_a_namespace_with_foreign_interfaces_is_refused_unless_adopted():
    model = with_iface(offline("web"), "web", "x0")
    with pytest.raises(NetnsCoreError, match=r"netns web already exists and holds interfaces .* \(x0\)"):
        planned(Netns({"name": "web", "owner": "lab"}), model)
    assert texts(planned(Netns({"name": "web", "owner": "lab", "adopt": True}), model))[0] == (
        "mark netns web as network lab's"
    )
    model.claims = {("web", "x0")}  # an interface this call makes is not foreign
    assert texts(planned(Netns({"name": "web", "owner": "lab"}), model))[0] == "mark netns web as network lab's"


def test_a_bridge_subnet_overlapping_another_interface_is_refused():
    model = owned(with_iface(offline(), None, "br-a", kind="bridge", addresses=["10.61.0.1/24"]), None, "br-a", "a")
    with pytest.raises(NetnsCoreError, match=r"subnet 10.61.0.0/16 of network 'b' overlaps 10.61.0.1/24 on br-a"):
        planned(Bridge({"name": "br-b", "owner": "b", "addresses": ["10.61.0.1/16"]}), model)
