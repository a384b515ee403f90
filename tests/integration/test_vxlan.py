# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.vxlan against the real kernel (inside the sandbox): two underlay namespaces play two hosts."""

from __future__ import annotations

import json

import pytest
from conftest import fails_cleanly, four_steps, play, run, sh

MAC = {"ua": "0e:6e:0a:f4:01:00", "ub": "0e:6e:0a:f4:02:00", "uc": "0e:6e:0a:f4:03:00"}
UNDERLAY = {"ua": "192.168.50.1", "ub": "192.168.50.2", "uc": "192.168.50.3"}
VTEP = {"ua": "10.244.1.0", "ub": "10.244.2.0", "uc": "10.244.3.0"}
SUBNET = {"ua": "10.244.1.0/24", "ub": "10.244.2.0/24", "uc": "10.244.3.0/24"}
GATEWAY = {"ua": "10.244.1.1", "ub": "10.244.2.1", "uc": "10.244.3.1"}


@pytest.fixture
def hosts():
    """Namespaces ua, ub, uc on an underlay bridge (eth0 192.168.50.N/24); each holds its subnet's gateway address
    on a bridge `cbr` (a container network's stand-in)."""
    sh("ip link add under type bridge; ip link set under up")
    for index, ns in enumerate(("ua", "ub", "uc"), start=1):
        sh(
            f"ip netns add {ns}; ip link add u{index} type veth peer name eth0 netns {ns};"
            f"ip link set u{index} master under up; ip -n {ns} link set lo up; ip -n {ns} link set eth0 up;"
            f"ip -n {ns} addr add {UNDERLAY[ns]}/24 dev eth0; ip -n {ns} link add cbr type bridge;"
            f"ip -n {ns} link set cbr up; ip -n {ns} addr add {GATEWAY[ns]}/24 dev cbr"
        )


def device(ns: str, peers: tuple[str, ...], **extra) -> dict:
    return {
        "name": "vx0",
        "netns": ns,
        "vni": 1,
        "local": UNDERLAY[ns],
        "underlay_interface": "eth0",
        "mac": MAC[ns],
        "addresses": [f"{VTEP[ns]}/32"],
        "peers": [{"remote": UNDERLAY[p], "mac": MAC[p], "address": VTEP[p], "subnets": [SUBNET[p]]} for p in peers],
        **extra,
    }


def details(ns: str, name: str = "vx0") -> dict:
    (link,) = json.loads(sh(f"ip -n {ns} -j -d link show dev {name}"))
    return link


def neighbours(ns: str) -> list[str]:
    return sorted(line.strip() for line in sh(f"ip -n {ns} neigh show dev vx0 nud permanent").splitlines())


def fdb(ns: str) -> list[str]:
    return sorted(line.strip() for line in sh(f"bridge -n {ns} fdb show dev vx0").splitlines())


def overlay_ping(source: str, target: str) -> bool:
    command = f"ip netns exec {source} ping -c 1 -W 2 -I {GATEWAY[source]} {GATEWAY[target]}"
    return sh(command + " >/dev/null 2>&1 && echo ok || echo failed").strip() == "ok"


def test_two_hosts_reach_each_other_through_the_overlay(hosts):
    tasks = [{"netns.core.vxlan": device("ua", ("ub",))}, {"netns.core.vxlan": device("ub", ("ua",))}]
    assert not overlay_ping("ua", "ub"), "no route between the subnets before the overlay (negative control)"

    def verify():
        link = details("ua")
        data = link["linkinfo"]["info_data"]
        assert link["address"] == MAC["ua"] and link["mtu"] == 1450 and "UP" in link["flags"]
        assert (data["id"], data["port"], data["local"], data["link"], data.get("learning")) == (
            1,
            4789,
            "192.168.50.1",
            "eth0",
            False,
        )
        assert neighbours("ua") == [f"10.244.2.0 lladdr {MAC['ub']} PERMANENT"]
        assert fdb("ua") == [f"{MAC['ub']} dst 192.168.50.2 self permanent"]
        assert sh("ip -n ua route show dev vx0").strip() == "10.244.2.0/24 via 10.244.2.0 proto static onlink"
        assert overlay_ping("ua", "ub") and overlay_ping("ub", "ua")

    (first, second) = four_steps(tasks, verify)
    assert first["interface"]["fdb"] == [f"{MAC['ub']} dst 192.168.50.2"]
    assert first["actions"][0] == "create vxlan vx0 in netns ua (vni 1, port 4789, local 192.168.50.1)"
    # the route comes last: the kernel would otherwise try to resolve its gateway
    assert first["actions"][-3:] == [
        f"add neighbour 10.244.2.0 lladdr {MAC['ub']} on vx0 in netns ua",
        f"add fdb {MAC['ub']} dst 192.168.50.2 on vx0 in netns ua",
        "add route 10.244.2.0/24 via 10.244.2.0 onlink dev vx0 in netns ua",
    ]


def test_peers_are_exactly_the_listed_ones(hosts):
    play([{"netns.core.vxlan": device(ns, tuple(p for p in ("ua", "ub", "uc") if p != ns))} for ns in ("ua", "ub")])
    assert len(neighbours("ua")) == 2
    # entries nobody listed: a permanent neighbour and a forwarding entry added by hand, a hand-made route
    sh(
        "ip -n ua neigh add 10.244.9.0 lladdr 0e:6e:0a:f4:09:00 dev vx0 nud permanent;"
        "bridge -n ua fdb append 0e:6e:0a:f4:09:00 dev vx0 dst 192.168.50.9;"
        "ip -n ua route add 10.244.9.0/24 via 10.244.9.0 dev vx0 onlink"
    )
    # uc leaves the overlay; ub's underlay address moved to .22
    sh("ip -n ub addr add 192.168.50.22/24 dev eth0")
    task = {"netns.core.vxlan": {**device("ua", ("ub",))}}
    task["netns.core.vxlan"]["peers"][0]["remote"] = "192.168.50.22"

    def verify():
        assert neighbours("ua") == [f"10.244.2.0 lladdr {MAC['ub']} PERMANENT"]
        assert fdb("ua") == [f"{MAC['ub']} dst 192.168.50.22 self permanent"]
        assert sh("ip -n ua route show dev vx0").strip() == "10.244.2.0/24 via 10.244.2.0 proto static onlink"
        assert overlay_ping("ua", "ub")

    (result,) = four_steps([task], verify)
    assert f"delete fdb {MAC['ub']} dst 192.168.50.2 on vx0 in netns ua" not in result["actions"], "replace, not both"
    assert "delete route 10.244.9.0/24 via 10.244.9.0 onlink dev vx0 in netns ua" in result["actions"]
    assert "delete neighbour 10.244.3.0 on vx0 in netns ua" in result["actions"]


def test_a_fixed_setting_makes_the_device_again_and_a_deleted_one_comes_back(hosts):
    play([{"netns.core.vxlan": device("ua", ("ub",))}, {"netns.core.vxlan": device("ub", ("ua",))}])
    tasks = [
        {"netns.core.vxlan": device("ua", ("ub",), vni=7, learning=True)},
        {"netns.core.vxlan": device("ub", ("ua",), vni=7)},
    ]

    def verify():
        for ns in ("ua", "ub"):
            assert details(ns)["linkinfo"]["info_data"]["id"] == 7
        assert details("ua")["linkinfo"]["info_data"].get("learning") is True
        assert overlay_ping("ua", "ub")

    (result, _other) = four_steps(tasks, verify)
    assert result["actions"][0].startswith("delete vxlan vx0 in netns ua to make it again: vni 1 -> 7")
    sh("ip -n ua link del vx0")
    assert not overlay_ping("ua", "ub")
    again = play(tasks)
    assert again[0]["changed"] and not again[1]["changed"] and overlay_ping("ua", "ub")
    # learning changes in place
    (off,) = play([{"netns.core.vxlan": device("ua", ("ub",), vni=7)}])
    assert off["actions"] == ["turn learning off on vxlan vx0 in netns ua"]
    assert details("ua")["linkinfo"]["info_data"].get("learning") is False


def test_absent_deletes_the_device_and_its_entries(hosts):
    play([{"netns.core.vxlan": device("ua", ("ub",))}])

    def verify():
        assert "vx0" not in sh("ip -n ua link show")
        assert sh("ip -n ua route show 10.244.2.0/24").strip() == ""

    four_steps([{"netns.core.vxlan": {"name": "vx0", "netns": "ua", "state": "absent"}}], verify)


def test_netns_info_reports_the_device_and_its_peers(hosts):
    play([{"netns.core.vxlan": device("ua", ("ub", "uc"))}])
    info = run("netns_info", {"names": ["ua"]})
    assert info["netns_info"]["namespaces"]["ua"]["links"]["vx0"]["vxlan"] == {
        "vni": 1,
        "port": 4789,
        "local": "192.168.50.1",
        "underlay_interface": "eth0",
        "learning": False,
        "peers": [
            {"remote": "192.168.50.2", "mac": MAC["ub"], "address": "10.244.2.0", "subnets": ["10.244.2.0/24"]},
            {"remote": "192.168.50.3", "mac": MAC["uc"], "address": "10.244.3.0", "subnets": ["10.244.3.0/24"]},
        ],
    }


# the whole refusal catalogue is unit-tested (test_vxlan_plan.py); these prove, through Ansible and the kernel, that a
# refusal of each kind (range, format, a peer's family, a duplicate) fails the real and the check run cleanly
@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"vni": 2**24}, ("vni", "16777216")),
        ({"mac": "01:00:5e:00:00:01"}, ("mac", "multicast")),
        ({"peers": [{"remote": "fd00::2", "mac": MAC["ub"], "address": VTEP["ub"]}]}, ("peers[0].remote", "IPv6")),
        (
            {
                "peers": [
                    {"remote": "192.168.50.2", "mac": MAC["ub"], "address": VTEP["ub"]},
                    {"remote": "192.168.50.3", "mac": MAC["ub"], "address": VTEP["uc"]},
                ]
            },
            ("peers[1].mac", "peers[0].mac"),
        ),
    ],
)
def test_bad_input_changes_nothing(hosts, change, fragments):
    fails_cleanly("vxlan", {**device("ua", ("ub",)), **change}, *fragments)


def test_a_local_address_nobody_holds(hosts):
    """A real run fails; a check run plans around it (an earlier task may add the address) and says so."""
    fails_cleanly(
        "vxlan",
        {**device("ua", ("ub",)), "local": "192.168.50.77"},
        "local",
        "192.168.50.77",
        "not an address",
        check_warns=("local '192.168.50.77' is not an address",),
    )


def test_refuses_another_kind_and_a_second_device_of_one_vni(hosts):
    fails_cleanly("vxlan", {**device("ua", ()), "name": "cbr"}, "'cbr'", "bridge")
    sh("ip -n ua link add vxother type vxlan id 1 dstport 4789 local 192.168.50.1")
    fails_cleanly("vxlan", device("ua", ()), "vni 1", "vxother")


def test_a_networks_bridge_may_share_its_subnet_with_the_same_networks_vtep(hosts):
    """The overlay's shape: the bridge's gateway subnet holds the VTEP address of the same network's VXLAN device.
    A bridge rebuilt (deleted by hand) next to it is not refused as an overlap; another network's is."""
    network = {
        "owner": "ov",
        "bridges": [{"name": "br-ov", "netns": "ua", "addresses": ["10.244.1.1/24"]}],
        "vxlans": [device("ua", ("ub",))],
    }
    sh("ip -n ua link del cbr")  # the fixture's stand-in holds that subnet
    (made,) = play([{"netns.core.network": network}])
    assert made["status"] == "ok", made
    sh("ip -n ua link del br-ov")

    def verify():
        assert "10.244.1.1/24" in sh("ip -n ua addr show dev br-ov")

    four_steps([{"netns.core.network": network}], verify)
    other = {"owner": "other", "bridges": [{"name": "br-x", "netns": "ua", "addresses": ["10.244.1.129/25"]}]}
    fails_cleanly("network", other, "10.244.1.128/25", "overlaps")
