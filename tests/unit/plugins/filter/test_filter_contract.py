# SPDX-License-Identifier: GPL-3.0-or-later
"""The contract between the roles' filters and netns.core.network: what a filter returns, passed the way the
role's task passes it, is accepted by the network module's item builder (every item validates, present and
absent), and each object is the one the filter promised (its label).

Before this test only the root integration runs caught drift between a filter and the module.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.netns.core.plugins.filter.bridge_nat_network import bridge_nat_network
from ansible_collections.netns.core.plugins.filter.overlay_network import overlay_network
from ansible_collections.netns.core.plugins.filter.topology_network import topology_network
from ansible_collections.netns.core.plugins.module_utils._network import SECTION_NAMES, build_items

ROLES = Path(__file__).resolve().parents[4] / "roles"
# options a role's network task takes from its own variables, not from the filter's result
NOT_FROM_THE_PLAN = {
    "state": None,
    "owner": "contract-test",
    "firewall_backend": "auto",
    "foreign_forward_drop": "fail",
}
DEFAULT_V4 = "route 0.0.0.0/0 metric 0 table 254"
DEFAULT_V6 = "route ::/0 metric 1024 table 254"


def items_of(options: dict, state: str) -> list[tuple[str, str]]:
    """(section, label) of every item the network module builds from `options`: the one place that knows the
    item builder's signature (today build_items(params, module) -> (items, coming))."""
    built = build_items({**options, "state": state}, module=None)
    items = built[0] if isinstance(built, tuple) else built
    return [(item.section, item.resource.label()) for item in items]


def role_options(role: str, plan: dict) -> dict:
    """The options the role's netns.core.network task passes, read from roles/ROLE/tasks/main.yml: each option is
    `{{ __ROLE_plan.PATH }}`, resolved against the filter's result."""
    tasks = yaml.safe_load((ROLES / role / "tasks" / "main.yml").read_text())
    (task,) = [task for task in tasks if "netns.core.network" in task]
    options = {}
    for option, value in task["netns.core.network"].items():
        if option in NOT_FROM_THE_PLAN:
            if NOT_FROM_THE_PLAN[option] is not None:
                options[option] = NOT_FROM_THE_PLAN[option]
            continue
        match = re.fullmatch(r"\{\{ __" + role + r"_plan\.([\w.]+) \}\}", value)
        assert match, f"roles/{role}: option {option} is {value!r}, not a path into the plan"
        resolved = plan
        for key in match.group(1).split("."):
            resolved = resolved[key]
        options[option] = resolved
    return options


def check(role: str, plan: dict, promised: list[tuple[str, str]]) -> None:
    options = role_options(role, plan)
    built = items_of(options, "present")
    assert built == promised
    sections = [section for section in options if section in SECTION_NAMES]
    assert len(built) == sum(len(options[section] or []) for section in sections)  # nothing dropped or added
    absent = [item for item in promised if item[0] != "sysctls"]  # absent leaves sysctls as they are
    assert items_of(options, "absent") == absent[::-1]


# -- bridge_nat -----------------------------------------------------------------------------------------------
def bridge_nat_inputs(**variables) -> dict:
    """The filter's input exactly as roles/bridge_nat/tasks/main.yml builds it from the role's defaults."""
    spec = {
        "bridge": "br0",
        "subnet": "10.98.0.0/24",
        "gateway": None,
        "containers": [],
        "masquerade": True,
        "out_interface": None,
        "mtu": 0,  # bridge_nat_mtu | int, of the default null
        "port_forwards": [],
        "dns": [],
        "hosts": True,
        "subnet6": "",
        "gateway6": "",
        "masquerade6": True,
        "isolated": False,
    }
    return {**spec, **variables}


def test_the_bridge_nat_role_passes_every_section_the_filter_returns():
    plan = bridge_nat_network(bridge_nat_inputs(containers=[{"name": "web"}]))
    assert set(role_options("bridge_nat", plan)) - set(NOT_FROM_THE_PLAN) == set(plan["network"])


def test_bridge_nat_one_container_with_the_defaults():
    plan = bridge_nat_network(bridge_nat_inputs(containers=[{"name": "web"}]))
    check(
        "bridge_nat",
        plan,
        [
            ("namespaces", "netns web"),
            ("bridges", "bridge br0"),
            ("veths", "veth veth-web <-> eth0 in netns web"),
            ("routes", f"{DEFAULT_V4} in netns web"),
            ("masquerades", "masquerade 10.98.0.0/24"),
            ("isolations", "isolation of bridge br0 (IPv4)"),
        ],
    )


def test_bridge_nat_long_names_fixed_addresses_mtu_and_published_ports():
    containers = [
        {"name": "web", "address": "10.97.0.50"},
        {"name": "a-long-container-name", "interface": "lan0"},
        {"name": "db", "host_interface": "h-db"},
    ]
    forwards = [
        {"port": 8080, "container": "web", "container_port": 80},
        {"port": 53, "protocol": "udp", "container": "db"},
    ]
    variables = {"bridge": "br-lab", "subnet": "10.97.0.0/24", "gateway": "10.97.0.254", "mtu": 1400}
    plan = bridge_nat_network(
        bridge_nat_inputs(containers=containers, out_interface="up0", port_forwards=forwards, **variables)
    )
    host_end = plan["host_interfaces"]["a-long-container-name"]
    assert len(host_end) <= 15
    check(
        "bridge_nat",
        plan,
        [
            ("namespaces", "netns web"),
            ("namespaces", "netns a-long-container-name"),
            ("namespaces", "netns db"),
            ("bridges", "bridge br-lab"),
            ("veths", "veth veth-web <-> eth0 in netns web"),
            ("veths", f"veth {host_end} <-> lan0 in netns a-long-container-name"),
            ("veths", "veth h-db <-> eth0 in netns db"),
            ("routes", f"{DEFAULT_V4} in netns web"),
            ("routes", f"{DEFAULT_V4} in netns a-long-container-name"),
            ("routes", f"{DEFAULT_V4} in netns db"),
            ("masquerades", "masquerade 10.97.0.0/24 out up0"),
            ("port_forwards", "port_forward tcp/8080 (IPv4)"),
            ("port_forwards", "port_forward udp/53 (IPv4)"),
            ("isolations", "isolation of bridge br-lab (IPv4)"),
        ],
    )


def test_bridge_nat_without_masquerade_or_containers():
    check(
        "bridge_nat",
        bridge_nat_network(bridge_nat_inputs(masquerade=False)),
        [("bridges", "bridge br0"), ("isolations", "isolation of bridge br0 (IPv4)")],
    )


def test_bridge_nat_ipv6():
    forwards = [{"port": 8080, "container": "web", "container_port": 80}]
    plan = bridge_nat_network(
        bridge_nat_inputs(subnet="fd00:98::/64", containers=[{"name": "web"}], port_forwards=forwards)
    )
    check(
        "bridge_nat",
        plan,
        [
            ("namespaces", "netns web"),
            ("bridges", "bridge br0"),
            ("veths", "veth veth-web <-> eth0 in netns web"),
            ("routes", f"{DEFAULT_V6} in netns web"),
            ("masquerades", "masquerade fd00:98::/64"),
            ("port_forwards", "port_forward tcp/8080 (IPv6)"),
            ("isolations", "isolation of bridge br0 (IPv6)"),
        ],
    )


def test_bridge_nat_dual_stack():
    forwards = [{"port": 8080, "container": "web", "container_port": 80}]
    plan = bridge_nat_network(
        bridge_nat_inputs(subnet6="fd00:98::/64", containers=[{"name": "web"}, {"name": "db"}], port_forwards=forwards)
    )
    check(
        "bridge_nat",
        plan,
        [
            ("namespaces", "netns web"),
            ("namespaces", "netns db"),
            ("bridges", "bridge br0"),
            ("veths", "veth veth-web <-> eth0 in netns web"),
            ("veths", "veth veth-db <-> eth0 in netns db"),
            ("routes", f"{DEFAULT_V4} in netns web"),
            ("routes", f"{DEFAULT_V4} in netns db"),
            ("routes", f"{DEFAULT_V6} in netns web"),
            ("routes", f"{DEFAULT_V6} in netns db"),
            ("masquerades", "masquerade 10.98.0.0/24"),
            ("masquerades", "masquerade fd00:98::/64"),
            ("port_forwards", "port_forward tcp/8080 (IPv4)"),
            ("port_forwards", "port_forward tcp/8080 (IPv6)"),
            ("isolations", "isolation of bridge br0 (IPv4)"),
            ("isolations", "isolation of bridge br0 (IPv6)"),
        ],
    )


def test_bridge_nat_isolated():
    plan = bridge_nat_network(bridge_nat_inputs(isolated=True, containers=[{"name": "web"}], bridge="br-a"))
    assert plan["network"]["isolations"] == [{"bridge": "br-a", "family": 4, "isolated": True}]
    check(
        "bridge_nat",
        plan,
        [
            ("namespaces", "netns web"),
            ("bridges", "bridge br-a"),
            ("veths", "veth veth-web <-> eth0 in netns web"),
            ("routes", f"{DEFAULT_V4} in netns web"),
            ("masquerades", "masquerade 10.98.0.0/24"),
            ("isolations", "isolation of bridge br-a (IPv4)"),
        ],
    )


def netns_items(options: dict) -> dict:
    """The namespaces the network module builds from `options`, by name, each with what it wants."""
    items = build_items({**options, "state": "present"}, module=None)
    items = items[0] if isinstance(items, tuple) else items
    return {item.resource.name: item.resource.desired() for item in items if item.section == "namespaces"}


def test_bridge_nat_names_and_dns_reach_every_namespace_item():
    containers = [{"name": "web"}, {"name": "db", "address": "10.98.0.50"}]
    plan = bridge_nat_network(bridge_nat_inputs(containers=containers, dns=["198.51.100.2"]))
    wanted = netns_items(role_options("bridge_nat", plan))
    assert sorted(wanted) == ["db", "web"]
    for want in wanted.values():
        assert want["files"] == {
            "resolv.conf": ["nameserver 198.51.100.2"],
            "hosts": [
                "127.0.0.1\tlocalhost",
                "::1\tlocalhost ip6-localhost ip6-loopback",
                "10.98.0.50\tdb",
                "10.98.0.1\tgateway",
                "10.98.0.2\tweb",
            ],
        }


def test_bridge_nat_without_names_or_dns_writes_no_file():
    plan = bridge_nat_network(bridge_nat_inputs(containers=[{"name": "web"}], hosts=False))
    assert "files" not in netns_items(role_options("bridge_nat", plan))["web"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"dns": ["dns.example"]}, "bridge_nat_dns[0] 'dns.example' is not an IP address"),
        ({"containers": [{"name": "gateway"}]}, "container 'gateway': with bridge_nat_hosts"),
    ],
)
def test_bridge_nat_bad_names_or_dns_are_refused(variables, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        bridge_nat_network(bridge_nat_inputs(**variables))


# -- topology -------------------------------------------------------------------------------------------------
def topology_inputs(**variables) -> dict:
    """The filter's input exactly as roles/topology/tasks/main.yml builds it from the role's defaults."""
    return {"nodes": [], "bridges": [], "links": [], "routes": [], "masquerade": [], "hosts": True, **variables}


def test_the_topology_role_passes_every_section_the_filter_returns():
    plan = topology_network(topology_inputs(nodes=[{"name": "a"}]))
    assert set(role_options("topology", plan)) - set(NOT_FROM_THE_PLAN) == set(plan)


def test_topology_home_network():
    """The ISP, a router that forwards and masquerades, a laptop behind the router's bridge."""
    plan = topology_network(
        topology_inputs(
            nodes=[{"name": "host", "forwarding": True}, {"name": "router", "forwarding": True}, {"name": "laptop"}],
            bridges=[{"name": "lan0", "node": "router", "addresses": ["192.168.1.1/24"]}],
            links=[
                {"endpoints": ["host:isp0", "router:wan0"], "addresses": ["203.0.113.1/24", "203.0.113.2/24"]},
                {"endpoints": ["lan0:p-laptop", "laptop:eth0"], "addresses": [None, "192.168.1.10/24"]},
            ],
            routes=[
                {"node": "router", "destination": "default", "gateway": "203.0.113.1"},
                {"node": "laptop", "destination": "default", "gateway": "192.168.1.1"},
            ],
            masquerade=[{"node": "router", "source": "192.168.1.0/24", "out_interface": "wan0"}],
        )
    )
    check(
        "topology",
        plan,
        [
            ("namespaces", "netns router"),
            ("namespaces", "netns laptop"),
            ("sysctls", "sysctl net.ipv4.ip_forward"),
            ("bridges", "bridge lan0 in netns router"),
            ("veths", "veth isp0 <-> wan0 in netns router"),
            ("veths", "veth p-laptop in netns router <-> eth0 in netns laptop"),
            ("routes", f"{DEFAULT_V4} in netns router"),
            ("routes", f"{DEFAULT_V4} in netns laptop"),
            ("masquerades", "masquerade 192.168.1.0/24 out wan0 in netns router"),
        ],
    )


def test_topology_chained_routers_with_metrics_interfaces_and_ipv6():
    plan = topology_network(
        topology_inputs(
            nodes=[
                {"name": "a"},
                {"name": "r1", "forwarding": True},
                {"name": "r2", "sysctl": {"net.ipv6.conf.all.forwarding": 1}},
                {"name": "b"},
            ],
            links=[
                {"endpoints": ["a:eth0", "r1:eth0"], "addresses": ["10.1.0.2/24", "10.1.0.1/24"]},
                {"endpoints": ["r1:eth1", "r2:eth0"], "addresses": ["10.2.0.1/24", "10.2.0.2/24"], "mtu": 1400},
                {"endpoints": ["r2:eth1", "b:eth0"], "addresses": ["fd00:3::1/64", "fd00:3::2/64"]},
            ],
            routes=[
                {"node": "a", "destination": "10.0.0.0/8", "gateway": "10.1.0.1", "metric": 10},
                {"node": "r1", "destination": "10.3.0.0/24", "interface": "eth1"},
                {"node": "b", "destination": "default", "gateway": "fd00:3::1"},
            ],
        )
    )
    check(
        "topology",
        plan,
        [
            ("namespaces", "netns a"),
            ("namespaces", "netns r1"),
            ("namespaces", "netns r2"),
            ("namespaces", "netns b"),
            ("veths", "veth eth0 in netns a <-> eth0 in netns r1"),
            ("veths", "veth eth1 in netns r1 <-> eth0 in netns r2"),
            ("veths", "veth eth1 in netns r2 <-> eth0 in netns b"),
            ("routes", "route 10.0.0.0/8 metric 10 table 254 in netns a"),
            ("routes", "route 10.3.0.0/24 metric 0 table 254 in netns r1"),
            ("routes", f"{DEFAULT_V6} in netns b"),
        ],
    )


def test_topology_a_host_bridge_with_ports_from_namespaces():
    plan = topology_network(
        topology_inputs(
            nodes=[{"name": "red"}, {"name": "blue"}],
            bridges=[{"name": "br-host", "addresses": ["10.5.0.1/24"], "mtu": 9000}],
            links=[
                {"endpoints": ["br-host:v-red", "red:eth0"], "addresses": [None, "10.5.0.2/24"]},
                {"endpoints": ["blue:eth0", "br-host:v-blue"], "addresses": ["10.5.0.3/24", None]},
            ],
            masquerade=[{"source": "10.5.0.0/24"}],
        )
    )
    check(
        "topology",
        plan,
        [
            ("namespaces", "netns red"),
            ("namespaces", "netns blue"),
            ("bridges", "bridge br-host"),
            ("veths", "veth v-red <-> eth0 in netns red"),
            ("veths", "veth eth0 in netns blue <-> v-blue"),
            ("masquerades", "masquerade 10.5.0.0/24"),
        ],
    )


def test_topology_names_every_node_by_its_addresses_and_gives_dns_per_node():
    plan = topology_network(
        topology_inputs(
            nodes=[{"name": "a", "dns": ["10.0.1.1"]}, {"name": "r"}, {"name": "b"}],
            bridges=[{"name": "br-b", "node": "b", "addresses": ["10.0.9.1/24"]}],
            links=[
                {"endpoints": ["a:eth0", "r:eth0"], "addresses": ["10.0.1.2/24", "10.0.1.1/24"]},
                {"endpoints": ["r:eth1", "b:eth0"], "addresses": ["fd00:2::1/64", "fd00:2::2/64"]},
                {"endpoints": ["host:up0", "r:eth2"], "addresses": ["192.0.2.1/30", None]},
            ],
        )
    )
    wanted = netns_items(role_options("topology", plan))
    # nodes sorted, each node's addresses in the order seen (its bridges, then its link ends)
    hosts = ["10.0.1.2\ta", "10.0.9.1\tb", "fd00:2::2\tb", "192.0.2.1\thost", "10.0.1.1\tr", "fd00:2::1\tr"]
    for name in ("a", "r", "b"):
        assert wanted[name]["files"]["hosts"][2:] == hosts
    assert wanted["a"]["files"]["resolv.conf"] == ["nameserver 10.0.1.1"]
    assert wanted["r"]["files"]["resolv.conf"] is None


# -- overlay --------------------------------------------------------------------------------------------------
OVERLAY_HOSTS = {f"host{n}": {"overlay_index": n, "overlay_underlay_ip": f"192.168.50.{n}"} for n in (1, 2, 3)}
OVERLAY_FACTS = {
    "interfaces": ["lo", "eth0"],
    "eth0": {"device": "eth0", "mtu": 1500, "ipv4": {"address": "192.168.50.1", "netmask": "255.255.255.0"}},
}


def overlay_inputs(**variables) -> dict:
    """The filter's input exactly as roles/overlay/tasks/main.yml builds it from the role's defaults, on host1 of
    three simulated hosts."""
    spec = {
        "host": "host1",
        "group": "overlay",
        "members": list(OVERLAY_HOSTS),
        "hostvars": OVERLAY_HOSTS,
        "cidr": "10.244.0.0/16",
        "host_prefix": 24,
        "backend": "vxlan",
        "vni": 1,
        "port": 4789,
        "device": "vx-overlay",
        "mtu": 0,
        "bridge": "br-overlay",
        "containers": [],
        "port_forwards": [],
        "masquerade": True,
        "underlay_interface": "",
        "facts": OVERLAY_FACTS,
        "state": "present",
    }
    return {**spec, **variables}


def test_the_overlay_role_passes_every_section_the_filter_returns():
    plan = overlay_network(overlay_inputs(containers=[{"name": "web"}]))
    assert set(role_options("overlay", plan)) - set(NOT_FROM_THE_PLAN) == set(plan["network"])


def test_overlay_vxlan_mesh_with_a_container_and_a_published_port():
    forwards = [{"port": 8080, "container": "web", "container_port": 80}]
    plan = overlay_network(overlay_inputs(containers=[{"name": "web"}], port_forwards=forwards))
    check(
        "overlay",
        plan,
        [
            ("namespaces", "netns web"),
            ("sysctls", "sysctl net.ipv4.ip_forward"),
            ("bridges", "bridge br-overlay"),
            ("veths", "veth veth-web <-> eth0 in netns web"),
            ("vxlans", "vxlan vx-overlay"),
            ("routes", f"{DEFAULT_V4} in netns web"),
            ("masquerades", "masquerade 10.244.1.0/24"),
            ("forwards", "forward 10.244.0.0/16 to 10.244.1.0/24"),
            ("forwards", "forward 10.244.1.0/24 to 10.244.0.0/16"),
            ("port_forwards", "port_forward tcp/8080 (IPv4)"),
        ],
    )


def test_overlay_host_gw_without_masquerade_or_containers():
    plan = overlay_network(overlay_inputs(backend="host-gw", masquerade=False))
    check(
        "overlay",
        plan,
        [
            ("sysctls", "sysctl net.ipv4.ip_forward"),
            ("bridges", "bridge br-overlay"),
            ("routes", "route 10.244.2.0/24 metric 0 table 254"),
            ("routes", "route 10.244.3.0/24 metric 0 table 254"),
            ("forwards", "forward 10.244.0.0/16 to 10.244.1.0/24"),
            ("forwards", "forward 10.244.1.0/24 to 10.244.0.0/16"),
        ],
    )


def test_overlay_absent_without_facts():
    plan = overlay_network(overlay_inputs(containers=[{"name": "web"}], facts={}, state="absent"))
    options = role_options("overlay", plan)
    assert ("vxlans", "vxlan vx-overlay") in items_of(options, "absent")


@pytest.mark.parametrize("role", ["bridge_nat", "topology", "overlay"])
def test_the_role_task_is_the_one_network_call(role):
    tasks = yaml.safe_load((ROLES / role / "tasks" / "main.yml").read_text())
    assert sum("netns.core.network" in task for task in tasks) == 1
