# SPDX-License-Identifier: GPL-3.0-or-later
"""plan() is pure: given what is there and what is wanted, the exact steps, in order, in words."""

from __future__ import annotations

import pytest

from ansible_collections.netns.core.plugins.module_utils._bridge import Bridge
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._iface import config_changes, fresh_state
from ansible_collections.netns.core.plugins.module_utils._masquerade import Masquerade
from ansible_collections.netns.core.plugins.module_utils._netns import Netns
from ansible_collections.netns.core.plugins.module_utils._netns_route import Route
from ansible_collections.netns.core.plugins.module_utils._sysctl import Sysctl
from ansible_collections.netns.core.plugins.module_utils._veth import Veth


def texts(changes):
    return [c.describe() for c in changes]


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


def test_veth_create_plan():
    resource = veth(peer_addresses=["10.0.0.2/24"], mtu=1400)
    assert texts(resource.plan(None, resource.desired())) == [
        "create veth pair veth-red <-> eth0 in netns red",
        "bring veth-red up",
        "add address 10.0.0.2/24 to eth0 in netns red",
        "bring eth0 in netns red up",
    ]


def test_veth_end_in_the_wrong_namespace_is_moved_then_configured():
    resource = veth(peer_addresses=["10.0.0.2/24"])
    before = {"end": iface("veth-red", None), "peer": iface("eth0", None, addresses=["10.0.0.2/24"])}
    assert texts(resource.plan(before, resource.desired())) == [
        "move eth0 into netns red",
        "add address 10.0.0.2/24 to eth0 in netns red",
        "bring eth0 in netns red up",
    ]


def test_veth_absent():
    resource = veth(state="absent")
    before = {"end": iface("veth-red", None), "peer": iface("eth0", "red")}
    assert texts(resource.plan(before, resource.desired())) == ["delete veth pair veth-red <-> eth0 in netns red"]
    assert resource.plan(None, None) == []


def test_veth_converged_is_empty():
    resource = veth(peer_addresses=["10.0.0.2/24"])
    before = {"end": iface("veth-red", None), "peer": iface("eth0", "red", addresses=["10.0.0.2/24"])}
    assert resource.plan(before, resource.desired()) == []


def test_veth_same_name_same_namespace_is_refused():
    with pytest.raises(NetnsCoreError, match="is the same as name"):
        Veth({"name": "a", "peer": "a", "state": "present"})


def test_veth_predict_for_check_mode():
    resource = veth(peer_addresses=["10.0.0.2/24"])
    after = resource.predict(None, resource.desired())
    assert after["peer"] == iface("eth0", "red", addresses=["10.0.0.2/24"])
    assert after["end"]["addresses"] == [] and after["end"]["up"] is True


# -- bridge ------------------------------------------------------------------------------------------------
def test_bridge_create_with_gateway_address_and_stp():
    resource = Bridge({"name": "br0", "addresses": ["10.88.0.1/16"], "stp": True, "state": "present"})
    assert texts(resource.plan(None, resource.desired())) == [
        "create bridge br0 with stp on",
        "add address 10.88.0.1/16 to br0",
        "bring br0 up",
    ]


def test_bridge_stp_toggle_and_absent():
    resource = Bridge({"name": "br0", "netns": "lab", "stp": False, "state": "present"})
    have = iface("br0", "lab", kind="bridge", stp=True)
    assert texts(resource.plan(have, resource.desired())) == ["turn stp off on bridge br0 in netns lab"]
    gone = Bridge({"name": "br0", "netns": "lab", "state": "absent"})
    assert texts(gone.plan(have, None)) == ["delete bridge br0 in netns lab (its ports are released)"]


# -- route -------------------------------------------------------------------------------------------------
def route(**params):
    return Route({"netns": "red", "destination": "default", "gateway": "10.88.0.1", "state": "present", **params})


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
    }
    assert texts(resource.plan(None, want)) == ["add route 0.0.0.0/0 via 10.88.0.1 metric 0 in netns red"]
    before = {**want, "gateway": "10.88.0.7", "interface": "eth0"}
    assert texts(resource.plan(before, want)) == [
        "replace route 0.0.0.0/0 via 10.88.0.7 dev eth0 metric 0 in netns red with "
        "0.0.0.0/0 via 10.88.0.1 metric 0 in netns red"
    ]
    assert resource.plan({**want, "interface": "eth0"}, want) == []


def test_route_absent_with_gateway_matches_only_that_gateway():
    there = {"netns": "red", "table": 254, "destination": "0.0.0.0/0", "metric": 0, "gateway": "10.88.0.1"}
    there["interface"] = "eth0"
    assert route(state="absent", gateway="10.88.0.9").plan(there, None) == []
    assert len(route(state="absent").plan(there, None)) == 1
    assert len(Route({"netns": "red", "destination": "default", "state": "absent"}).plan(there, None)) == 1


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
    assert texts(resource.plan(None, resource.desired())) == [
        "create netns router",
        "bring lo up in netns router",
        "set net.ipv4.ip_forward=1 in netns router",
    ]


def test_netns_stale_file_is_replaced():
    resource = Netns({"name": "red", "state": "present"})
    plan = texts(resource.plan({"name": "red", "stale": True}, resource.desired()))
    assert plan[:2] == ["remove stale netns file /run/netns/red (no namespace mounted)", "create netns red"]


def test_netns_refuses_non_net_sysctl():
    with pytest.raises(NetnsCoreError, match="sysctl key 'kernel.pid_max' is not a network sysctl"):
        Netns({"name": "red", "sysctl": {"kernel.pid_max": 1}})


def test_sysctl_plan():
    resource = Sysctl({"name": "net.ipv4.ip_forward", "value": True, "netns": "r1", "state": "present"})
    assert texts(resource.plan({"value": "0"}, resource.desired())) == ["set net.ipv4.ip_forward=1 in netns r1"]
    assert resource.plan({"value": "1"}, resource.desired()) == []


def test_masquerade_plan_turns_forwarding_on_first():
    resource = Masquerade({"source": "10.88.0.5/16", "out_interface": "eth0", "state": "present"}, module=None)
    plan = texts(resource.plan(None, resource.desired()))
    assert plan[0] == "set net.ipv4.ip_forward=1"
    assert [line.split(" -s ")[0] for line in plan[1:]] == [
        "add rule -t nat -A POSTROUTING",
        "add rule -t filter -A FORWARD",
        "add rule -t filter -A FORWARD -d 10.88.0.0/16 -m conntrack --ctstate RELATED,ESTABLISHED -m comment "
        '--comment "netns.core masquerade 10.88.0.0/16" -j ACCEPT',
    ]


def test_masquerade_absent_deletes_only_its_tagged_rules():
    resource = Masquerade({"source": "10.88.0.0/16", "state": "absent"}, module=None)
    tagged = Masquerade({"source": "10.88.0.0/16", "state": "present"}, module=None).desired()
    plan = resource.plan(tagged, None)
    assert [c.op for c in plan] == ["del_rule"] * 3
    assert all("netns.core masquerade 10.88.0.0/16" in c.describe() for c in plan)


def test_ipv6_masquerade_uses_ipv6_forwarding():
    resource = Masquerade({"source": "fd00:88::/64", "forwarding": False, "state": "present"}, module=None)
    assert resource.iptables.command == "ip6tables"
    assert texts(resource.plan(None, resource.desired())) == [
        'add rule -t nat -A POSTROUTING -s fd00:88::/64 ! -d fd00:88::/64 -m comment --comment "netns.core '
        'masquerade fd00:88::/64" -j MASQUERADE'
    ]
