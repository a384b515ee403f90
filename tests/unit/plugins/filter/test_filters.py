# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' filters: deterministic addresses and names, clear refusals."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.netns.core.plugins.filter.bridge_nat_network import bridge_nat_network, host_interface_for
from ansible_collections.netns.core.plugins.filter.topology_network import topology_network


def plan(**spec):
    return bridge_nat_network({"subnet": "10.98.0.0/24", **spec})


def test_addresses_in_list_order_skipping_the_gateway_and_earlier_ones():
    result = plan(
        containers=[{"name": "a", "address": "10.98.0.2"}, {"name": "b"}, {"name": "c", "address": "10.98.0.9"}]
    )
    assert result["gateway"] == "10.98.0.1"
    assert result["addresses"] == {"a": "10.98.0.2", "b": "10.98.0.3", "c": "10.98.0.9"}


def test_appending_a_container_never_moves_another():
    containers = [{"name": "a"}, {"name": "b", "address": "10.98.0.3"}, {"name": "c"}]
    before = plan(containers=containers)["addresses"]
    for extra in ({"name": "d"}, {"name": "d", "address": "10.98.0.5"}, {"name": "d", "address": "10.98.0.200"}):
        after = plan(containers=[*containers, extra])["addresses"]
        assert {name: after[name] for name in before} == before


def test_an_address_an_earlier_container_has_is_refused():
    with pytest.raises(
        AnsibleFilterError, match=r"\[1\]\.address 10\.98\.0\.2 of 'b' is already used by container 'a'"
    ):
        plan(containers=[{"name": "a"}, {"name": "b", "address": "10.98.0.2"}])


def test_same_input_same_plan():
    containers = [{"name": f"n{i}"} for i in range(20)]
    assert plan(containers=containers) == plan(containers=containers)


def test_network_options_shape():
    network = plan(containers=[{"name": "web", "interface": "eth1"}], mtu=1400, out_interface="up0")["network"]
    assert network["namespaces"] == [{"name": "web"}]
    assert network["bridges"] == [{"name": "br0", "addresses": ["10.98.0.1/24"], "mtu": 1400}]
    assert network["veths"] == [
        {
            "name": "veth-web",
            "master": "br0",
            "peer": "eth1",
            "peer_netns": "web",
            "peer_addresses": ["10.98.0.2/24"],
            "mtu": 1400,
        }
    ]
    assert network["routes"] == [{"netns": "web", "destination": "default", "gateway": "10.98.0.1"}]
    assert network["masquerades"] == [{"source": "10.98.0.0/24", "out_interface": "up0"}]
    assert plan(containers=[], masquerade=False)["network"]["masquerades"] == []


def test_host_interface_names_fit_and_are_stable():
    assert host_interface_for("web") == "veth-web"
    assert host_interface_for("abcdefghij") == "veth-abcdefghij"
    long_one = host_interface_for("a-container-named-long")
    assert len(long_one) == 15 and long_one.startswith("va-contai-")
    assert long_one == host_interface_for("a-container-named-long")
    assert host_interface_for("a-container-named-lonG") != long_one


def test_explicit_gateway_and_ipv6():
    result = bridge_nat_network({"subnet": "fd00:98::/64", "gateway": "fd00:98::fe", "containers": [{"name": "a"}]})
    assert result["addresses"] == {"a": "fd00:98::1"}
    assert result["network"]["bridges"][0]["addresses"] == ["fd00:98::fe/64"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"subnet": "10.98.0.5/24"}, "is not a CIDR network"),
        ({"subnet": "10.98.0.0/24", "gateway": "10.99.0.1"}, "not in the subnet"),
        (
            {"subnet": "10.98.0.0/24", "containers": [{"name": "a", "address": "10.98.0.1"}]},
            "already used by the gateway",
        ),
        ({"subnet": "10.98.0.0/24", "containers": [{"name": "a", "address": "10.98.0.255"}]}, "broadcast"),
        ({"subnet": "10.98.0.0/24", "containers": [{"name": "a"}, {"name": "a"}]}, "listed twice"),
        ({"subnet": "10.98.0.0/24", "containers": [{"address": "10.98.0.9"}]}, "needs a name"),
        ({"subnet": "10.98.0.0/30", "containers": [{"name": "a"}, {"name": "b"}]}, "no free address left for 'b'"),
        (
            {
                "subnet": "10.98.0.0/24",
                "containers": [{"name": "a", "host_interface": "x"}, {"name": "b", "host_interface": "x"}],
            },
            "host_interface 'x' of container 'b' is also the host_interface of 'a'",
        ),
    ],
)
def test_refusals(spec, message):
    with pytest.raises(AnsibleFilterError, match=message):
        bridge_nat_network(spec)


# -- topology ---------------------------------------------------------------------------------------------------
def test_topology_home_network():
    result = topology_network(
        {
            "nodes": [
                {"name": "host", "sysctl": {"net.ipv4.conf.all.rp_filter": 2}},
                {"name": "r", "forwarding": True},
            ],
            "bridges": [{"name": "lan0", "node": "r", "addresses": ["192.168.77.1/24"]}],
            "links": [
                {"endpoints": ["host:up0", "r:wan0"], "addresses": ["203.0.113.1/24", "203.0.113.2/24"], "mtu": 1400},
                {"endpoints": ["lan0:p0", "host:v0"]},
            ],
            "routes": [{"node": "r", "destination": "default", "gateway": "203.0.113.1"}],
            "masquerade": [{"node": "r", "source": "192.168.77.0/24", "out_interface": "wan0"}],
        }
    )
    assert result["namespaces"] == [{"name": "r", "sysctl": {"net.ipv4.ip_forward": 1}}]
    assert result["sysctls"] == [{"name": "net.ipv4.conf.all.rp_filter", "value": 2}]
    assert result["bridges"] == [{"name": "lan0", "netns": "r", "addresses": ["192.168.77.1/24"], "mtu": None}]
    assert result["veths"][0] == {
        "name": "up0",
        "netns": None,
        "master": None,
        "addresses": ["203.0.113.1/24"],
        "peer": "wan0",
        "peer_netns": "r",
        "peer_master": None,
        "peer_addresses": ["203.0.113.2/24"],
        "mtu": 1400,
    }
    bridge_end = result["veths"][1]
    assert (bridge_end["netns"], bridge_end["master"], bridge_end["addresses"]) == ("r", "lan0", None)
    assert result["routes"] == [{"netns": "r", "destination": "default", "gateway": "203.0.113.1"}]
    assert result["masquerades"] == [{"netns": "r", "source": "192.168.77.0/24", "out_interface": "wan0"}]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"nodes": [{"name": "a"}, {"name": "a"}]}, "listed twice"),
        ({"nodes": [{"name": "a"}], "bridges": [{"name": "a"}]}, "has the name of another node"),
        ({"links": [{"endpoints": ["host:x"]}]}, "must be two"),
        ({"links": [{"endpoints": ["host:x", "nowhere"]}]}, "is not 'node:interface'"),
        ({"links": [{"endpoints": ["host:x", "b:y"]}]}, "node 'b' is not in topology_nodes"),
        ({"routes": [{"node": "host"}]}, "needs a destination"),
        ({"masquerade": [{"node": "z", "source": "10.0.0.0/8"}]}, "node 'z'"),
    ],
)
def test_topology_refusals(spec, message):
    with pytest.raises(AnsibleFilterError, match=message):
        topology_network(spec)


def test_port_forwards_point_at_the_containers_addresses():
    result = plan(
        containers=[{"name": "web"}, {"name": "dns"}],
        port_forwards=[
            {"port": 8080, "container": "web", "container_port": 80},
            {"port": 53, "protocol": "udp", "container": "dns"},
        ],
    )
    assert result["network"]["port_forwards"] == [
        {"port": 8080, "protocol": "tcp", "destination": "10.98.0.2:80"},
        {"port": 53, "protocol": "udp", "destination": "10.98.0.3:53"},
    ]
    with pytest.raises(AnsibleFilterError, match="container 'db' is not in bridge_nat_containers"):
        plan(containers=[{"name": "web"}], port_forwards=[{"port": 1, "container": "db"}])


def test_netns_info_dot_draws_each_veth_once_and_the_notes():
    from ansible_collections.netns.core.plugins.filter.netns_info_dot import netns_info_dot

    veth = {"kind": "veth", "up": True}
    info = {
        "host": {
            "links": {
                "lo": {"kind": "loopback", "up": True},
                "br0": {"kind": "bridge", "up": True},
                "veth-a": {**veth, "master": "br0", "peer": {"netns": "a", "name": "eth0"}},
            },
            "addresses": {
                "br0": [{"address": "10.0.0.1/24", "scope": "global"}, {"address": "fe80::1/64", "scope": "link"}]
            },
            "ip_forward": True,
            "rules": [
                {"tag": "netns.core masquerade 10.0.0.0/24", "rule": "-t nat -A POSTROUTING ..."},
                {
                    "tag": "netns.core port_forward tcp/80",
                    "rule": "-t nat -A PREROUTING -j DNAT --to-destination 10.0.0.2:8080",
                },
            ],
        },
        "namespaces": {"a": {"links": {"eth0": {**veth, "peer": {"netns": None, "name": "veth-a"}}}, "rules": []}},
    }
    dot = netns_info_dot(info)
    assert dot.startswith("graph netns {") and dot.rstrip().endswith("}")
    assert dot.count("[penwidth=2]") == 1  # one line per pair, though both ends list their peer
    assert '"host/veth-a" -- "host/br0" [style=dashed];' in dot
    assert 'label="br0\\n10.0.0.1/24", shape=box3d' in dot and "fe80" not in dot
    assert "ip_forward on\\nNAT out: 10.0.0.0/24\\npublished tcp/80 -> 10.0.0.2:8080" in dot
    assert '"host/lo"' not in dot
    with pytest.raises(AnsibleFilterError):
        netns_info_dot({"links": {}})


def test_topology_refuses_a_link_from_an_interface_to_itself():
    with pytest.raises(AnsibleFilterError, match=r"topology_links\[0\]\.endpoints 'a:e0' and 'a:e0' are the same"):
        topology_network({"nodes": [{"name": "a"}], "links": [{"endpoints": ["a:e0", "a:e0"]}]})


# -- bridge_nat, dual-stack -------------------------------------------------------------------------------------
def test_dual_stack_addresses_in_list_order_like_ipv4():
    containers = [{"name": "a"}, {"name": "b", "address6": "fd00:98::9"}, {"name": "c"}]
    result = plan(subnet6="fd00:98::/64", containers=containers)
    assert result["gateway6"] == "fd00:98::1" and result["prefixlen6"] == 64
    assert result["addresses6"] == {"a": "fd00:98::2", "b": "fd00:98::9", "c": "fd00:98::3"}
    assert result["addresses"] == {"a": "10.98.0.2", "b": "10.98.0.3", "c": "10.98.0.4"}
    appended = plan(subnet6="fd00:98::/64", containers=[*containers, {"name": "d"}])["addresses6"]
    assert {name: appended[name] for name in result["addresses6"]} == result["addresses6"]
    assert appended["d"] == "fd00:98::4"


def test_dual_stack_network_options():
    forwards = [{"port": 8080, "container": "web", "container_port": 80}]
    result = plan(subnet6="fd00:98::/64", gateway6="fd00:98::fe", containers=[{"name": "web"}], port_forwards=forwards)
    network = result["network"]
    assert network["bridges"][0]["addresses"] == ["10.98.0.1/24", "fd00:98::fe/64"]
    assert network["veths"][0]["peer_addresses"] == ["10.98.0.2/24", "fd00:98::1/64"]
    assert network["routes"] == [
        {"netns": "web", "destination": "default", "gateway": "10.98.0.1"},
        {"netns": "web", "destination": "default", "gateway": "fd00:98::fe"},
    ]
    assert network["masquerades"] == [
        {"source": "10.98.0.0/24", "out_interface": None},
        {"source": "fd00:98::/64", "out_interface": None},
    ]
    assert [f["destination"] for f in network["port_forwards"]] == ["10.98.0.2:80", "[fd00:98::1]:80"]
    without_nat66 = plan(subnet6="fd00:98::/64", masquerade6=False, containers=[{"name": "web"}])["network"]
    assert without_nat66["masquerades"] == [{"source": "10.98.0.0/24", "out_interface": None}]


def test_ipv4_only_by_default():
    result = plan(containers=[{"name": "web"}])
    assert result["addresses6"] == {} and result["gateway6"] == "" and result["prefixlen6"] == ""
    assert result["network"]["bridges"][0]["addresses"] == ["10.98.0.1/24"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"subnet6": "fd00:98::/126", "containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}, "need 4"),
        ({"subnet6": "fd00:98::/64", "containers": [{"name": "a", "address6": "fd00:99::2"}]}, "not in the subnet"),
        ({"subnet6": "fd00:98::/64", "containers": [{"name": "a", "address6": "fd00:98::1"}]}, "used by the gateway"),
        ({"subnet6": "fd00:98::/64", "containers": [{"name": "a", "address6": "10.98.0.9"}]}, "not in the subnet"),
        ({"subnet6": "10.99.0.0/24"}, "is not an IPv6 network"),
        ({"subnet6": "fd00:98::1/64"}, "is not a CIDR network"),
        ({"subnet6": "fd00:98::/64", "gateway6": "fd00:97::1"}, "not in the subnet"),
        ({"containers": [{"name": "a", "address6": "fd00:98::2"}]}, "bridge_nat_subnet6 is not"),
    ],
)
def test_dual_stack_refusals(spec, message):
    with pytest.raises(AnsibleFilterError, match=message):
        plan(**spec)


def test_an_ipv6_subnet_is_not_made_dual_stack_twice():
    with pytest.raises(AnsibleFilterError, match="already IPv6"):
        bridge_nat_network({"subnet": "fd00:97::/64", "subnet6": "fd00:98::/64"})


def test_dual_stack_hosts_files_name_both_addresses():
    result = plan(subnet6="fd00:98::/64", hosts=True, containers=[{"name": "web"}, {"name": "db"}])
    assert all("hosts" not in namespace for namespace in result["network"]["namespaces"]), "one table, not N copies"
    assert result["network"]["hosts"] == {
        "gateway": ["10.98.0.1", "fd00:98::1"],
        "web": ["10.98.0.2", "fd00:98::2"],
        "db": ["10.98.0.3", "fd00:98::3"],
    }
