# SPDX-License-Identifier: GPL-3.0-or-later
"""The overlay role's filter: one host's part of the mesh, a pure function of the group's inventory."""

from __future__ import annotations

import ipaddress
import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.netns.core.plugins.filter.overlay_network import nth_subnet, overlay_network, vtep_mac


def facts(address="192.168.50.1", netmask="255.255.255.0", mtu=1500, name="eth0", ipv6=()):
    """Network facts as gather_subset=network gives them: a loopback and one underlay interface."""
    return {
        "interfaces": ["lo", name],
        "lo": {"device": "lo", "mtu": 65536, "ipv4": {"address": "127.0.0.1", "netmask": "255.0.0.0"}},
        name.replace("-", "_"): {
            "device": name,
            "mtu": mtu,
            "ipv4": {"address": address, "netmask": netmask} if address else {},
            "ipv6": [{"address": a, "prefix": p, "scope": "global"} for a, p in ipv6],
        },
    }


def inventory(count=3):
    """hostN: overlay_index N, overlay_underlay_ip 192.168.50.N (the simulated hosts' inventory)."""
    return {f"host{n}": {"overlay_index": n, "overlay_underlay_ip": f"192.168.50.{n}"} for n in range(1, count + 1)}


def plan(host="host1", hostvars=None, members=None, host_facts=None, **spec):
    hostvars = inventory() if hostvars is None else hostvars
    return overlay_network(
        {
            "host": host,
            "group": "overlay",
            "members": list(hostvars) if members is None else members,
            "hostvars": hostvars,
            "facts": facts() if host_facts is None else host_facts,
            **spec,
        }
    )


def refused(pattern: str, **kwargs):
    with pytest.raises(AnsibleFilterError, match=pattern):
        plan(**kwargs)


# -- derivations ----------------------------------------------------------------------------------------------
def test_subnet_gateway_vtep_and_mac_from_the_index():
    result = plan(containers=[{"name": "web"}, {"name": "db"}])
    assert result["subnet"] == "10.244.1.0/24"
    assert result["gateway"] == "10.244.1.1"
    assert result["addresses"] == {"web": "10.244.1.2", "db": "10.244.1.3"}
    assert result["overlay_hosts"]["host1"] == {
        "subnet": "10.244.1.0/24",
        "underlay_ip": "192.168.50.1",
        "vtep_address": "10.244.1.0",
        "vtep_mac": "0e:6e:0a:f4:01:00",
    }
    assert result["underlay_interface"] == "eth0"
    assert result["underlay_ip"] == "192.168.50.1"


def test_index_counts_from_zero_and_honours_the_host_prefix():
    hostvars = {
        "a": {"overlay_index": 0, "ansible_host": "10.0.0.1"},
        "b": {"overlay_index": 5, "ansible_host": "10.0.0.2"},
    }
    result = plan("a", hostvars, host_facts=facts("10.0.0.1"), cidr="10.8.0.0/16", host_prefix=26)
    assert result["overlay_hosts"]["a"]["subnet"] == "10.8.0.0/26"
    assert result["overlay_hosts"]["b"]["subnet"] == "10.8.1.64/26"
    assert result["overlay_hosts"]["b"]["vtep_mac"] == "0e:6e:0a:08:01:40"
    assert nth_subnet(ipaddress.ip_network("10.8.0.0/16"), 26, 5).compressed == "10.8.1.64/26"


def test_explicit_subnet_and_an_index_as_a_string_from_an_ini_inventory():
    hostvars = inventory()
    hostvars["host2"] = {"overlay_subnet": "10.244.200.0/24", "overlay_underlay_ip": "192.168.50.2"}
    hostvars["host3"]["overlay_index"] = "3"
    result = plan(hostvars=hostvars)
    assert [h["subnet"] for h in result["overlay_hosts"].values()] == [
        "10.244.1.0/24",
        "10.244.200.0/24",
        "10.244.3.0/24",
    ]


def test_underlay_ip_from_ansible_host_or_the_host_name_when_an_ip():
    hostvars = {
        "host1": {"overlay_index": 1, "ansible_host": "192.168.50.1"},
        "192.168.50.2": {"overlay_index": 2},
        "host3": {"overlay_index": 3, "ansible_host": "h3.example", "overlay_underlay_ip": "192.168.50.3"},
    }
    hosts = plan(hostvars=hostvars)["overlay_hosts"]
    assert [h["underlay_ip"] for h in hosts.values()] == ["192.168.50.1", "192.168.50.2", "192.168.50.3"]


def test_ipv6_overlay_mac_is_a_hash_and_vtep_a_host_route():
    hostvars = {
        "a": {"overlay_index": 1, "ansible_host": "192.168.50.1"},
        "b": {"overlay_index": 2, "ansible_host": "192.168.50.2"},
    }
    result = plan("a", hostvars, cidr="fd00:244::/48", host_prefix=64)
    assert result["subnet"] == "fd00:244:0:1::/64"
    mac = result["overlay_hosts"]["a"]["vtep_mac"]
    assert re.fullmatch(r"0e:6e(:[0-9a-f]{2}){4}", mac) and mac != result["overlay_hosts"]["b"]["vtep_mac"]
    assert result["network"]["vxlans"][0]["addresses"] == ["fd00:244:0:1::/128"]
    assert result["network"]["sysctls"] == [{"name": "net.ipv6.conf.all.forwarding", "value": 1}]


def test_same_inventory_same_plan_on_every_run():
    assert plan(containers=[{"name": f"c{i}"} for i in range(10)]) == plan(
        containers=[{"name": f"c{i}"} for i in range(10)]
    )


# -- the mesh -------------------------------------------------------------------------------------------------
def test_a_mesh_of_three_hosts_every_host_has_every_other_as_a_peer():
    plans = {host: plan(host, host_facts=facts(f"192.168.50.{host[-1]}")) for host in inventory()}
    for host, result in plans.items():
        (vxlan,) = result["network"]["vxlans"]
        assert vxlan == {
            "name": "vx-overlay",
            "vni": 1,
            "port": 4789,
            "local": f"192.168.50.{host[-1]}",
            "underlay_interface": "eth0",
            "mac": result["overlay_hosts"][host]["vtep_mac"],
            "mtu": 1450,
            "addresses": [f"10.244.{host[-1]}.0/32"],
            "peers": [
                {
                    "remote": f"192.168.50.{n}",
                    "mac": f"0e:6e:0a:f4:{n:02x}:00",
                    "address": f"10.244.{n}.0",
                    "subnets": [f"10.244.{n}.0/24"],
                }
                for n in (1, 2, 3)
                if f"host{n}" != host
            ],
        }
        # every host agrees on the whole mesh
        assert result["overlay_hosts"] == plans["host1"]["overlay_hosts"]


def test_the_network_call_options():
    network = plan(containers=[{"name": "web"}], port_forwards=[{"port": 8080, "container": "web"}])["network"]
    assert list(network) == [
        "adopt",
        "namespaces",
        "sysctls",
        "bridges",
        "veths",
        "vxlans",
        "routes",
        "masquerades",
        "forwards",
        "port_forwards",
    ]
    assert network["sysctls"] == [{"name": "net.ipv4.ip_forward", "value": 1}]
    assert network["bridges"] == [{"name": "br-overlay", "addresses": ["10.244.1.1/24"], "mtu": 1450}]
    assert network["veths"][0]["mtu"] == 1450 and network["veths"][0]["master"] == "br-overlay"
    assert network["routes"] == [{"netns": "web", "destination": "default", "gateway": "10.244.1.1"}]
    assert network["masquerades"] == [{"source": "10.244.1.0/24", "out_interface": None, "exclude": ["10.244.0.0/16"]}]
    assert network["forwards"] == [
        {"source": "10.244.0.0/16", "destination": "10.244.1.0/24"},
        {"source": "10.244.1.0/24", "destination": "10.244.0.0/16"},
    ]
    assert network["port_forwards"] == [{"port": 8080, "protocol": "tcp", "destination": "10.244.1.2:8080"}]


def test_no_masquerade_keeps_the_forwards_and_forwarding():
    network = plan(masquerade=False)["network"]
    assert network["masquerades"] == []
    assert len(network["forwards"]) == 2 and network["sysctls"]


def test_vxlan_settings_pass_through():
    (vxlan,) = plan(vni=42, port=8472, device="flannel.42", bridge="cni0")["network"]["vxlans"]
    assert (vxlan["vni"], vxlan["port"], vxlan["name"]) == (42, 8472, "flannel.42")


def test_peers_come_from_the_group_whatever_the_hostvars_hold():
    hostvars = {**inventory(), "other": {"overlay_index": 9, "overlay_underlay_ip": "192.168.50.9"}}
    result = plan(hostvars=hostvars, members=["host1", "host2", "host3"])
    assert set(result["overlay_hosts"]) == {"host1", "host2", "host3"}
    assert [p["remote"] for p in result["network"]["vxlans"][0]["peers"]] == ["192.168.50.2", "192.168.50.3"]


def test_removing_a_host_removes_only_its_peer_entry():
    before = plan()
    after = plan(members=["host1", "host3"])
    assert after["subnet"] == before["subnet"] and after["addresses"] == before["addresses"]
    (peers_before,), (peers_after,) = (
        [v["peers"] for v in before["network"]["vxlans"]],
        [v["peers"] for v in after["network"]["vxlans"]],
    )
    assert peers_after == [p for p in peers_before if p["remote"] != "192.168.50.2"]
    assert "host2" not in after["overlay_hosts"]


def test_adding_a_host_never_renumbers():
    containers = [{"name": "a"}, {"name": "b"}]
    before = {
        host: plan(host, host_facts=facts(f"192.168.50.{host[-1]}"), containers=containers) for host in inventory()
    }
    grown = {**inventory(), "host0": {"overlay_index": 7, "overlay_underlay_ip": "192.168.50.7"}}
    members = ["host0", *inventory()]  # inserted first in the group
    for host, result in before.items():
        after = plan(host, grown, members, facts(f"192.168.50.{host[-1]}"), containers=containers)
        assert after["subnet"] == result["subnet"] and after["addresses"] == result["addresses"]
        assert {h: after["overlay_hosts"][h] for h in result["overlay_hosts"]} == result["overlay_hosts"]
        assert after["network"]["vxlans"][0]["peers"][1:] == result["network"]["vxlans"][0]["peers"]


# -- MTU ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec, host_facts, mtu",
    [
        ({}, facts(mtu=1500), 1450),
        ({}, facts(mtu=9000), 8950),
        ({"backend": "host-gw"}, facts(mtu=1500), 1500),
        ({"mtu": 1400}, facts(mtu=1500), 1400),
        ({"mtu": "1300"}, {}, 1300),  # given: no facts needed
        ({"mtu": 0}, facts(mtu=1400), 1350),
    ],
)
def test_mtu_rules(spec, host_facts, mtu):
    result = plan(host_facts=host_facts, containers=[{"name": "web"}], underlay_interface="eth0", **spec)
    network = result["network"]
    assert result["mtu"] == mtu
    assert network["bridges"][0]["mtu"] == mtu and network["veths"][0]["mtu"] == mtu
    assert all(vxlan["mtu"] == mtu for vxlan in network["vxlans"])


def test_mtu_less_70_over_an_ipv6_underlay():
    hostvars = {
        "a": {"overlay_index": 1, "overlay_underlay_ip": "fd00:50::1"},
        "b": {"overlay_index": 2, "overlay_underlay_ip": "fd00:50::2"},
    }
    result = plan("a", hostvars, host_facts=facts(address=None, ipv6=[("fd00:50::1", 64)]))
    assert result["mtu"] == 1430 and result["network"]["vxlans"][0]["local"] == "fd00:50::1"
    assert result["underlay_interface"] == "eth0"


def test_the_underlay_interface_is_the_one_holding_the_underlay_ip_or_the_given_one():
    host_facts = {**facts(), "interfaces": ["lo", "eth0", "br-up"], "br_up": {"device": "br-up", "mtu": 9000}}
    host_facts["br_up"]["ipv4"] = {"address": "192.168.50.1", "netmask": "255.255.255.0"}
    host_facts["eth0"]["ipv4"] = {"address": "10.1.1.1", "netmask": "255.255.255.0"}
    assert plan(host_facts=host_facts)["underlay_interface"] == "br-up"
    assert plan(host_facts=host_facts)["mtu"] == 8950
    assert plan(host_facts=host_facts, underlay_interface="eth0")["mtu"] == 1450


def test_no_facts_needed_with_the_interface_and_the_mtu_given():
    result = plan(host_facts={}, underlay_interface="ens3", mtu=1450)
    assert result["network"]["vxlans"][0]["underlay_interface"] == "ens3"


# -- host-gw --------------------------------------------------------------------------------------------------
def test_host_gw_routes_each_peer_subnet_via_its_underlay_ip():
    result = plan(backend="host-gw", containers=[{"name": "web"}])
    network = result["network"]
    assert network["vxlans"] == []
    assert network["routes"] == [
        {"netns": "web", "destination": "default", "gateway": "10.244.1.1"},
        {"destination": "10.244.2.0/24", "gateway": "192.168.50.2", "interface": "eth0"},
        {"destination": "10.244.3.0/24", "gateway": "192.168.50.3", "interface": "eth0"},
    ]
    assert result["mtu"] == 1500


def test_host_gw_refuses_a_peer_on_another_subnet_even_one_this_host_is_connected_to():
    """Every host must give the same answer: host3 (underlay 192.168.60.3) cannot reach host2 directly, so host1's
    own secondary address in 192.168.60.0/24 must not make host1 converge where host2 refuses."""
    host_facts = facts()
    host_facts["eth0"]["ipv4_secondaries"] = [{"address": "192.168.60.1", "netmask": "255.255.255.0"}]
    hostvars = inventory()
    hostvars["host3"]["overlay_underlay_ip"] = "192.168.60.3"
    refused(
        r"host 'host3''s overlay_underlay_ip 192\.168\.60\.3 is not on 192\.168\.50\.0/24",
        hostvars=hostvars,
        host_facts=host_facts,
        backend="host-gw",
    )


def test_host_gw_across_subnets_is_refused_naming_the_peer():
    hostvars = inventory()
    hostvars["host3"]["overlay_underlay_ip"] = "10.9.9.3"
    refused(
        r"host 'host1': overlay_backend host-gw needs every host on the subnet of its underlay address, and host"
        r" 'host3''s overlay_underlay_ip 10\.9\.9\.3 is not on 192\.168\.50\.0/24 \(the subnet of 'host1''s"
        r" overlay_underlay_ip 192\.168\.50\.1 on eth0\)",
        hostvars=hostvars,
        backend="host-gw",
    )
    assert plan(hostvars=hostvars)["network"]["vxlans"]  # vxlan crosses subnets


def test_host_gw_needs_facts():
    refused(r"host-gw needs the network facts", host_facts={}, backend="host-gw", underlay_interface="eth0", mtu=1500)


# -- absent ---------------------------------------------------------------------------------------------------
def test_absent_plans_the_same_objects_without_facts():
    present = plan(containers=[{"name": "web"}], underlay_interface="eth0")
    absent = plan(containers=[{"name": "web"}], underlay_interface="eth0", host_facts={}, state="absent")
    assert absent["subnet"] == present["subnet"]
    for section in ("namespaces", "bridges", "veths", "masquerades", "forwards"):
        assert [{k: v for k, v in item.items() if k != "mtu"} for item in absent["network"][section]] == [
            {k: v for k, v in item.items() if k != "mtu"} for item in present["network"][section]
        ]
    assert absent["network"]["vxlans"][0]["name"] == "vx-overlay"
    assert absent["mtu"] is None


def test_absent_host_gw_keeps_the_peer_routes_to_remove_them():
    routes = plan(backend="host-gw", host_facts={}, state="absent")["network"]["routes"]
    assert [route["destination"] for route in routes] == ["10.244.2.0/24", "10.244.3.0/24"]


# -- bad input ------------------------------------------------------------------------------------------------
def with_vars(host: str, **variables) -> dict:
    hostvars = inventory()
    hostvars[host] = {**hostvars[host], **variables}
    for key in [key for key, value in variables.items() if value is None]:
        del hostvars[host][key]
    return hostvars


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"hostvars": with_vars("host3", overlay_index=1)},
            r"hosts 'host1' and 'host3' both have overlay_index 1 \(10\.244\.1\.0/24\): one index per host"
            r" \(the next free index is 3\)",
        ),
        (
            {"hostvars": with_vars("host3", overlay_index=None, overlay_subnet="10.244.2.0/24")},
            r"host 'host3': overlay_subnet 10\.244\.2\.0/24 overlaps host 'host2''s subnet 10\.244\.2\.0/24",
        ),
        (
            {"hostvars": with_vars("host3", overlay_index=None, overlay_subnet="10.244.0.0/23")},
            r"host 'host3': overlay_subnet 10\.244\.0\.0/23 overlaps host 'host1''s subnet 10\.244\.1\.0/24",
        ),
        (
            {"hostvars": with_vars("host2", overlay_index=None, overlay_subnet="10.99.2.0/24")},
            r"host 'host2': overlay_subnet '10\.99\.2\.0/24' is outside overlay_cidr 10\.244\.0\.0/16",
        ),
        (
            {"hostvars": with_vars("host2", overlay_index=None, overlay_subnet="10.244.2.7/24")},
            r"host 'host2': overlay_subnet '10\.244\.2\.7/24' is not a CIDR network",
        ),
        (
            {"hostvars": with_vars("host2", overlay_subnet="10.244.9.0/24")},
            r"host 'host2': overlay_subnet '10\.244\.9\.0/24' is not subnet number 2 \(10\.244\.2\.0/24\)",
        ),
        (
            {"hostvars": with_vars("host2", overlay_index=256)},
            r"host 'host2': overlay_index 256 is past the end of overlay_cidr 10\.244\.0\.0/16 \(split at /24, its"
            r" indexes are 0 to 255\)",
        ),
        ({"hostvars": with_vars("host2", overlay_index=-1)}, r"host 'host2': overlay_index -1 is negative"),
        ({"hostvars": with_vars("host2", overlay_index="two")}, r"host 'host2': overlay_index 'two' is not an integer"),
        (
            {"hostvars": with_vars("host2", overlay_index=None)},
            r"host 'host2' has neither overlay_index nor overlay_subnet: set one \(the next free index is 4\)",
        ),
        (
            {"hostvars": with_vars("host3", overlay_underlay_ip="192.168.50.300")},
            r"host 'host3': overlay_underlay_ip '192\.168\.50\.300' is not an IP address",
        ),
        (
            {"hostvars": with_vars("host3", overlay_underlay_ip=None, ansible_host="node3.example")},
            r"host 'host3': overlay_underlay_ip is not set and ansible_host 'node3\.example' is not an IP address",
        ),
        (
            {"hostvars": with_vars("host3", overlay_underlay_ip="192.168.50.2")},
            r"hosts 'host2' and 'host3' both have the underlay IP 192\.168\.50\.2",
        ),
        (
            {"hostvars": with_vars("host3", overlay_underlay_ip="fd00::3")},
            r"host 'host3': overlay_underlay_ip fd00::3 is IPv6 and host 'host1''s 192\.168\.50\.1 is not",
        ),
        ({"vni": 0}, r"host 'host1': overlay_vni 0 is out of range \(1 to 16777215\)"),
        ({"vni": 2**24}, r"host 'host1': overlay_vni 16777216 is out of range \(1 to 16777215\)"),
        ({"port": 0}, r"host 'host1': overlay_port 0 is out of range \(1 to 65535\)"),
        ({"port": 65536}, r"host 'host1': overlay_port 65536 is out of range"),
        ({"backend": "ipsec"}, r"host 'host1': overlay_backend 'ipsec' is not one of vxlan, host-gw"),
        ({"cidr": "10.244.0.1/16"}, r"host 'host1': overlay_cidr '10\.244\.0\.1/16' is not a CIDR network"),
        ({"host_prefix": 15}, r"host 'host1': overlay_host_prefix 15 is out of range \(16 to 30\)"),
        ({"host_prefix": 31}, r"host 'host1': overlay_host_prefix 31 is out of range \(16 to 30\)"),
        ({"mtu": 40}, r"host 'host1': overlay_mtu 40 is out of range \(68 to 65535\)"),
        ({"state": "gone"}, r"host 'host1': overlay_state 'gone' is not present or absent"),
        ({"host": "elsewhere"}, r"host 'elsewhere' is not in the group 'overlay' \(overlay_group\)"),
        ({"host_facts": {}}, r"host 'host1': overlay_mtu is 0 and the underlay interface's MTU is unknown"),
        (
            {"host_facts": facts(address="192.168.77.1")},
            r"host 'host1': overlay_underlay_ip 192\.168\.50\.1 is on none of its interfaces \(eth0, lo\)",
        ),
        (
            {"underlay_interface": "eth9"},
            r"host 'host1': overlay_underlay_interface 'eth9' is not one of its interfaces \(eth0, lo\)",
        ),
        (
            {"containers": [{"name": "web", "address": "10.9.9.9"}]},
            r"host 'host1': overlay_containers\[0\]\.address '10\.9\.9\.9' is not in the subnet 10\.244\.1\.0/24",
        ),
        (
            {"port_forwards": [{"port": 80, "container": "nope"}]},
            r"host 'host1': overlay_port_forwards\[0\]: container 'nope' is not in overlay_containers",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_host_the_variable_and_the_value(kwargs, message):
    refused(r"^overlay: " + message, **kwargs)


def test_a_bad_peer_fails_every_host_alike():
    hostvars = with_vars("host3", overlay_index=2)
    messages = set()
    for host in hostvars:
        with pytest.raises(AnsibleFilterError) as caught:
            plan(host, hostvars, host_facts=facts(f"192.168.50.{host[-1]}"))
        messages.add(caught.value.message)
    assert len(messages) == 1


def test_a_full_cidr_says_so():
    hostvars = {f"h{n}": {"overlay_index": n, "overlay_underlay_ip": f"192.168.50.{n + 1}"} for n in range(4)}
    hostvars["h4"] = {"overlay_underlay_ip": "192.168.50.9"}
    refused(
        r"overlay_cidr 10\.244\.0\.0/24 is full", host="h0", hostvars=hostvars, cidr="10.244.0.0/24", host_prefix=26
    )


def test_vtep_mac_is_locally_administered_unicast():
    mac = vtep_mac(ipaddress.ip_network("10.244.3.0/24"))
    assert mac == "0e:6e:0a:f4:03:00"
    first = int(mac.split(":", maxsplit=1)[0], 16)
    assert first & 0x02 and not first & 0x01
