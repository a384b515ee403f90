# SPDX-License-Identifier: GPL-3.0-or-later
"""The vxlan resource's plan on an offline kernel model: exact steps, in order, and the model they leave."""

from __future__ import annotations

import pytest

from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel, new_link
from ansible_collections.netns.core.plugins.module_utils._vxlan import Vxlan, peers_of

PEER2 = {"remote": "192.168.50.2", "mac": "0E-6E-0A-F4-02-00", "address": "10.244.2.0", "subnets": ["10.244.2.0/24"]}
PEER3 = {"remote": "192.168.50.3", "mac": "0e:6e:0a:f4:03:00", "address": "10.244.3.0", "subnets": ["10.244.3.0/24"]}


def host() -> KernelModel:
    """An offline host with eth0 (mtu 1500, 192.168.50.1/24, up)."""
    model = KernelModel(None)
    model.add_link(None, new_link("eth0", None))
    model.add_address(None, "eth0", "192.168.50.1/24")
    model.change_link(None, "eth0", up=True)
    return model


def device(**params) -> Vxlan:
    base = {
        "name": "vx0",
        "vni": 1,
        "port": 4789,
        "local": "192.168.50.1",
        "underlay_interface": "eth0",
        "mac": "0e:6e:0a:f4:01:00",
        "addresses": ["10.244.1.0/32"],
        "peers": [PEER2],
        "state": "present",
    }
    return Vxlan({**base, **params})


def apply(resource: Vxlan, model: KernelModel) -> list[str]:
    """read + plan + simulate, as the engine does; the steps in words."""
    ops = resource.plan(model, resource.read(model), resource.desired())
    for op in ops:
        op.simulate(model)
    return [op.describe() for op in ops]


def test_create_plan_in_flannel_order_and_the_model_after_it():
    model = host()
    assert apply(device(), model) == [
        "create vxlan vx0 (vni 1, port 4789, local 192.168.50.1)",
        "add address 10.244.1.0/32 to vx0",
        "bring vx0 up",
        "add neighbour 10.244.2.0 lladdr 0e:6e:0a:f4:02:00 on vx0",
        "add fdb 0e:6e:0a:f4:02:00 dst 192.168.50.2 on vx0",
        "add route 10.244.2.0/24 via 10.244.2.0 onlink dev vx0",
    ]
    state = device().read(model)
    assert state == device().desired() | {"mtu": 1450}, "the model after the plan is what was wanted"
    assert state["mtu"] == 1450, "the underlay's MTU less 50"
    assert apply(device(), model) == [], "converged"


def test_peer_changes_replace_in_place_and_prune_the_others():
    model = host()
    apply(device(peers=[PEER2, PEER3]), model)
    moved = {**PEER2, "remote": "192.168.50.22"}
    assert apply(device(peers=[moved]), model) == [
        "delete route 10.244.3.0/24 via 10.244.3.0 onlink dev vx0",
        "delete neighbour 10.244.3.0 on vx0",
        "delete fdb 0e:6e:0a:f4:03:00 dst 192.168.50.3 on vx0",
        "add fdb 0e:6e:0a:f4:02:00 dst 192.168.50.22 on vx0",
    ]
    assert model.fdb(None, "vx0") == [("0e:6e:0a:f4:02:00", "192.168.50.22")]
    routes = [route for route in model.routes(None, 4) if route["interface"] == "vx0" and route["gateway"]]
    peers = peers_of(model.neighbours(None, "vx0"), model.fdb(None, "vx0"), routes)
    assert peers == [{**moved, "mac": "0e:6e:0a:f4:02:00"}]


def test_a_fixed_setting_recreates_and_learning_changes_in_place():
    model = host()
    apply(device(), model)
    steps = apply(device(vni=9), model)
    assert steps[0] == "delete vxlan vx0 to make it again: vni 1 -> 9 (the kernel cannot change it in place)"
    assert steps[1] == "create vxlan vx0 (vni 9, port 4789, local 192.168.50.1)"
    assert steps[-1] == "add route 10.244.2.0/24 via 10.244.2.0 onlink dev vx0"
    assert apply(device(vni=9, learning=True), model) == ["turn learning on on vxlan vx0"]
    # a new MAC makes the kernel flush the neighbour entries: the plan adds them again
    assert apply(device(vni=9, learning=True, mac="0e:6e:0a:f4:01:99"), model) == [
        "set mac 0e:6e:0a:f4:01:99 on vxlan vx0",
        "add neighbour 10.244.2.0 lladdr 0e:6e:0a:f4:02:00 on vx0",
    ]
    assert apply(device(vni=9, learning=True, mac="0e:6e:0a:f4:01:99"), model) == []


def test_absent_deletes_the_device():
    model = host()
    apply(device(), model)
    gone = Vxlan({"name": "vx0", "state": "absent"})
    assert apply(gone, model) == ["delete vxlan vx0 (its entries and routes go with it)"]
    assert model.link(None, "vx0") is None and model.routes(None, 4) == [
        r for r in model.routes(None, 4) if r["interface"] == "eth0"
    ]
    assert apply(gone, model) == []


def test_one_vni_and_port_per_namespace():
    model = host()
    apply(device(name="vxa"), model)
    with pytest.raises(NetnsCoreError, match="vni 1: vxlan 'vxa' in the host namespace already has vni 1"):
        apply(device(name="vxb"), model)
    assert apply(device(name="vxb", port=8472), model)[0].startswith("create vxlan vxb")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"vni": 0}, "vni"),
        ({"vni": 2**24}, "vni"),
        ({"port": 0}, "port"),
        ({"local": "192.168.50"}, "local"),
        ({"mac": "01:00:5e:00:00:01"}, "multicast"),
        ({"mac": "00:00:00:00:00:00"}, "all-zero"),
        ({"mac": "0e:6e:0a"}, "not a MAC address"),
        ({"port": 70000}, "port"),
        ({"peers": [{**PEER2, "remote": "fd00::2"}]}, r"peers\[0\].remote 'fd00::2' is IPv6"),
        ({"peers": [{**PEER2, "remote": "192.168.50.1"}]}, "own local address"),
        ({"peers": [PEER2, {**PEER3, "address": "10.244.2.0"}]}, r"peers\[1\].address"),
        ({"peers": [PEER2, {**PEER3, "subnets": ["10.244.2.0/24"]}]}, r"peers\[1\].subnets"),
        ({"peers": [{**PEER2, "subnets": ["fd00::/64"]}]}, r"peers\[0\].subnets\[0\]"),
        ({"vni": None}, "needs vni"),
    ],
)
def test_bad_input_is_refused_before_anything_is_read(params, message):
    with pytest.raises(NetnsCoreError, match=message):
        device(**params)


def test_the_local_address_must_be_the_underlay_interfaces():
    model = host()
    model.add_link(None, new_link("eth1", None))
    with pytest.raises(NetnsCoreError, match="local '192.168.50.1' is an address of 'eth0', not of underlay_interface"):
        apply(device(underlay_interface="eth1"), model)
