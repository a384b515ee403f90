# SPDX-License-Identifier: GPL-3.0-or-later
"""Reliability 2: check mode is pure and truthful, for every module and both roles.

For each module and role, four states in turn: the empty host (create), the converged host (same input again),
the converged host with changed input (modify), and removal (state=absent). At each, a `--check --diff` run must
leave the raw kernel state (kernel_state.raw(), byte for byte) as it was, and the `changed` of every task must be
what the real run right after it reports.
"""

from __future__ import annotations

import copy

import pytest
from conftest import play, sh
from kernel_state import settled
from reliability import record_figure


def mod(module: str, **args) -> dict:
    return {"name": f"{module} {sorted(args.items())[0]}", f"netns.core.{module}": args}


def role(name: str, **variables) -> dict:
    return {"name": name, "ansible.builtin.include_role": {"name": f"netns.core.{name}"}, "vars": variables}


def absent(task: dict) -> dict:
    task = copy.deepcopy(task)
    if "vars" in task:
        prefix = task["ansible.builtin.include_role"]["name"].split(".")[-1]
        task["vars"][f"{prefix}_state"] = "absent"
    else:
        (module,) = [key for key in task if key.startswith("netns.core.")]
        task[module]["state"] = "absent"
    return task


SETUP = (
    "ip netns add pa; ip link add d0 type veth peer name d0p; ip link set d0p up;"
    " ip addr add 10.22.0.1/24 dev d0; ip link set d0 up; ip addr add fd00:22::1/64 dev d0 nodad"
)
NETWORK = {
    "namespaces": [{"name": "na"}, {"name": "nb"}],
    "bridges": [{"name": "nbr0", "addresses": ["10.26.0.1/24"]}],
    "veths": [
        {"name": "veth-na", "peer": "eth0", "peer_netns": "na", "master": "nbr0", "peer_addresses": ["10.26.0.2/24"]},
        {"name": "veth-nb", "peer": "eth0", "peer_netns": "nb", "master": "nbr0", "peer_addresses": ["10.26.0.3/24"]},
    ],
    "routes": [{"netns": "na", "destination": "default", "gateway": "10.26.0.1"}],
    "masquerades": [{"source": "10.26.0.0/24"}],
    "port_forwards": [{"port": 8090, "destination": "10.26.0.2:80"}],
}
NETWORK_CHANGED = copy.deepcopy(NETWORK)
NETWORK_CHANGED["veths"][1]["peer_addresses"] = ["10.26.0.30/24"]
NETWORK_CHANGED["routes"].append({"netns": "nb", "destination": "default", "gateway": "10.26.0.1"})
NETWORK_CHANGED["forwards"] = [{"source": "10.26.0.0/24", "destination": "10.29.0.0/16"}]
NETWORK_CHANGED["masquerades"][0]["exclude"] = ["10.26.0.0/16"]
PEER = {"remote": "10.22.0.2", "mac": "0e:6e:0a:1f:02:00", "address": "10.31.2.0", "subnets": ["10.31.2.0/24"]}
CONTAINERS = [{"name": "ca"}, {"name": "cb"}, {"name": "cc", "address": "10.27.0.50"}]
DUAL_STACK = {
    "bridge_nat_bridge": "cbr6",
    "bridge_nat_subnet": "10.32.0.0/24",
    "bridge_nat_subnet6": "fd00:32::/64",
    "bridge_nat_containers": [{"name": "c6a"}, {"name": "c6b"}],
    "bridge_nat_port_forwards": [{"port": 8082, "container": "c6a", "container_port": 80}],
}
NODES = [{"name": "ta"}, {"name": "tr", "forwarding": True}, {"name": "tb"}]
LINKS = [
    {"endpoints": ["ta:e0", "tr:e0"], "addresses": ["10.28.0.1/30", "10.28.0.2/30"]},
    {"endpoints": ["tr:e1", "tb:e0"], "addresses": ["10.28.0.5/30", "10.28.0.6/30"]},
]
ROUTES = [{"node": "ta", "destination": "default", "gateway": "10.28.0.2"}]

# name -> (create, change); removal is `create` with state=absent (sysctl and netns_info have none)
SUBJECTS = {
    "netns": (
        mod(
            "netns",
            name="pb",
            sysctl={"net.ipv4.ip_forward": 1},
            resolv_conf={"nameservers": ["198.51.100.2"]},
            hosts={"db": ["10.20.0.3"]},
        ),
        mod("netns", name="pb", sysctl={"net.ipv4.ip_forward": 0}, hosts={"db": ["10.20.0.4"], "gw": "10.20.0.1"}),
    ),
    "veth": (
        mod(
            "veth",
            name="v-a",
            peer="eth0",
            peer_netns="pa",
            addresses=["10.20.0.1/24"],
            peer_addresses=["10.20.0.2/24"],
        ),
        mod(
            "veth",
            name="v-a",
            peer="eth0",
            peer_netns="pa",
            addresses=["10.20.1.1/24"],
            peer_addresses=["10.20.1.2/24", "fd00:20::2/64"],
            mtu=1400,
        ),
    ),
    "bridge": (
        mod("bridge", name="pbr0", addresses=["10.21.0.1/24"]),
        mod("bridge", name="pbr0", addresses=["10.21.0.1/24", "fd00:21::1/64"], mtu=1400, stp=True),
    ),
    "netns_route": (
        mod("netns_route", destination="10.23.0.0/16", gateway="10.22.0.2"),
        mod("netns_route", destination="10.23.0.0/16", gateway="10.22.0.3"),
    ),
    "netns_route_v6": (
        mod("netns_route", destination="fd00:23::/48", gateway="fd00:22::2"),
        mod("netns_route", destination="fd00:23::/48", gateway="fd00:22::2", interface="d0", metric=50),
    ),
    "masquerade": (
        mod("masquerade", source="10.24.0.0/24"),
        mod("masquerade", source="10.24.0.0/24", out_interface="d0"),
    ),
    "vxlan": (
        mod("vxlan", name="pvx0", vni=5, local="10.22.0.1", underlay_interface="d0", peers=[PEER]),
        mod(
            "vxlan",
            name="pvx0",
            vni=5,
            local="10.22.0.1",
            underlay_interface="d0",
            mac="0e:6e:0a:1f:01:00",
            learning=True,
            addresses=["10.31.1.0/32"],
            peers=[{**PEER, "remote": "10.22.0.3", "subnets": ["10.31.2.0/24", "10.31.3.0/24"]}],
        ),
    ),
    "sysctl": (
        mod("sysctl", name="net.ipv4.conf.d0.rp_filter", value=2),
        mod("sysctl", name="net.ipv4.conf.d0.rp_filter", value=1),
    ),
    "port_forward": (
        mod("port_forward", port=8080, destination="10.25.0.2:80"),
        mod("port_forward", port=8080, destination="10.25.0.3:80"),
    ),
    "network": (mod("network", **NETWORK), mod("network", **NETWORK_CHANGED)),
    "netns_info": (mod("netns_info", names=["pa"]), mod("netns_info", names=["pa"], host=False)),
    "bridge_nat": (
        role(
            "bridge_nat", bridge_nat_bridge="cbr0", bridge_nat_subnet="10.27.0.0/24", bridge_nat_containers=CONTAINERS
        ),
        role(
            "bridge_nat",
            bridge_nat_bridge="cbr0",
            bridge_nat_subnet="10.27.0.0/24",
            bridge_nat_containers=[*CONTAINERS, {"name": "cd"}],
            bridge_nat_mtu=1400,
            bridge_nat_port_forwards=[{"port": 8081, "container": "cb", "container_port": 80}],
            bridge_nat_dns=["198.51.100.2"],
        ),
    ),
    "bridge_nat_dual_stack": (
        {**role("bridge_nat", **DUAL_STACK), "name": "bridge_nat_dual_stack"},
        {
            **role(
                "bridge_nat",
                **{
                    **DUAL_STACK,
                    "bridge_nat_containers": [
                        *DUAL_STACK["bridge_nat_containers"],
                        {"name": "c6c", "address6": "fd00:32::99"},
                    ],
                    "bridge_nat_masquerade6": False,
                    "bridge_nat_isolated": True,  # drops between cbr6 and cbr0 (the bridge_nat subject's)
                },
            ),
            "name": "bridge_nat_dual_stack",
        },
    ),
    "topology": (
        role("topology", topology_nodes=NODES, topology_links=LINKS, topology_routes=ROUTES),
        role(
            "topology",
            topology_nodes=[{**NODES[0], "dns": ["10.28.0.2"]}, *NODES[1:]],
            topology_links=[LINKS[0], {**LINKS[1], "mtu": 1400}],
            topology_routes=[*ROUTES, {"node": "tb", "destination": "default", "gateway": "10.28.0.5"}],
            topology_masquerade=[{"node": "tr", "source": "10.28.0.0/30", "out_interface": "e1"}],
        ),
    ),
}
NO_REMOVAL = {"sysctl", "netns_info"}


# What the test callback adds to every result. An include_role task's own result holds nothing else on
# ansible-core 2.21 (before, it held include_args).
BOOKKEEPING = {"changed", "host", "status", "task"}


def changed_of(results: list[dict]) -> list[tuple[str, bool]]:
    """The `changed` of every netns.core task (a role's network call; not its include, set_facts or argument
    checks)."""
    assert all(r["status"] in ("ok", "skipped") for r in results), [r for r in results if r["status"] != "ok"]
    return [
        (r["task"], r["changed"])
        for r in results
        if r["status"] == "ok"
        and not {"ansible_facts", "include_args", "validate_args_context"} & set(r)
        and set(r) - BOOKKEEPING
    ]


def step(tasks: list[dict], expect: list[bool]) -> None:
    before = settled()
    checked = play(tasks, check=True)
    assert settled() == before, "a --check --diff run changed the kernel"
    real = play(tasks)
    assert changed_of(checked) == changed_of(real), "check mode's `changed` differs from the real run's"
    assert [changed for _task, changed in changed_of(real)] == expect, changed_of(real)


#: the subjects that make firewall rules, and how each says which backend
RULE_MAKERS = {
    "masquerade": "firewall_backend",
    "port_forward": "firewall_backend",
    "network": "firewall_backend",
    "bridge_nat": "bridge_nat_firewall_backend",
    "bridge_nat_dual_stack": "bridge_nat_firewall_backend",
    "topology": "topology_firewall_backend",
}


def with_backend(name: str, task: dict, backend: str) -> dict:
    task = copy.deepcopy(task)
    if "vars" in task:
        task["vars"][RULE_MAKERS[name]] = backend
    else:
        task[f"netns.core.{name}"]["firewall_backend"] = backend
    return task


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_check_mode_is_pure_and_truthful(backend):
    """All modules and both roles side by side (independent objects), each a task of its own name; for nftables
    the subjects that make rules (the others do not depend on the backend)."""
    sh(SETUP)
    subjects = SUBJECTS
    if backend != "iptables":
        subjects = {
            name: tuple(with_backend(name, t, backend) for t in pair)
            for name, pair in SUBJECTS.items()
            if name in RULE_MAKERS
        }
    create = [pair[0] for pair in subjects.values()]
    change = [pair[1] for pair in subjects.values()]
    writes = [name != "netns_info" for name in subjects]
    step(create, expect=writes)  # the empty host
    step(create, expect=[False] * len(subjects))  # converged
    step(change, expect=writes)  # converged, input changed
    removable = [absent(task) for name, (_create, task) in subjects.items() if name not in NO_REMOVAL]
    step(removable, expect=[True] * len(removable))
    step(removable, expect=[False] * len(removable))
    suffix = "" if backend == "iptables" else f"_{backend}"
    record_figure(f"check_mode_subjects{suffix}", sorted(subjects))
    record_figure(f"check_mode_runs{suffix}", 2 * 5)
