# SPDX-License-Identifier: GPL-3.0-or-later
"""Reliability 1: bad input changes nothing.

Every case runs against a sandbox that already holds things (namespaces, a bridge with an address, a veth across
namespaces, a route, a tagged NAT network built by the bridge_nat role). Each case must fail, with a message that
names the option and the offending value, and the raw kernel state (kernel_state.raw(): /run/netns, ip -d link,
ip addr, routes of every table, iptables-save and ip6tables-save of every namespace, forwarding sysctls) must be
byte-identical right after the failure. Every case runs twice: for real and under --check --diff.

All cases run in one playbook (a block + rescue each), and the test callback takes the raw snapshot right after
each failed task, so 2 x ~60 cases cost two ansible-playbook runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import play, sh
from kernel_state import raw
from reliability import record_figure

PWNED = "/tmp/netns-core-pwned"
# Cases about something missing from the kernel (a namespace, a bridge, an interface, a connected subnet): a check
# run cannot know whether an earlier task of the same run would create it, so it plans as if one did and warns;
# the real run fails.
ASSUMED = "assumed:"
LONG = "x" * 300


def mod(module: str, args: dict) -> dict:
    return {f"netns.core.{module}": args}


def role(name: str, variables: dict) -> dict:
    return {"ansible.builtin.include_role": {"name": f"netns.core.{name}"}, "vars": variables}


def bn(**variables) -> dict:
    return role("bridge_nat", {"bridge_nat_bridge": "br-bad", **variables})


def topo(**variables) -> dict:
    return role("topology", variables)


# (id, task, fragments the message must contain: the option and the value)
CASES = [
    # netns
    ("netns-slash", mod("netns", {"name": "a/b"}), ["name", "'a/b'"]),
    ("netns-dotdot", mod("netns", {"name": ".."}), ["name", "'..'"]),
    ("netns-dotdot-path", mod("netns", {"name": "../../etc/passwd"}), ["name", "'../../etc/passwd'"]),
    ("netns-space", mod("netns", {"name": "red blue"}), ["name", "'red blue'"]),
    ("netns-newline", mod("netns", {"name": "red\nblue"}), ["name", "'red\\nblue'"]),
    ("netns-semicolon", mod("netns", {"name": f"x;touch {PWNED}"}), ["name", f"'x;touch {PWNED}'"]),
    ("netns-subshell", mod("netns", {"name": f"$(touch {PWNED})"}), ["name", f"$(touch {PWNED})"]),
    ("netns-backticks", mod("netns", {"name": f"`touch {PWNED}`"}), ["name", f"`touch {PWNED}`"]),
    ("netns-quotes", mod("netns", {"name": "x'\"y"}), ["name", repr("x'\"y")]),
    ("netns-empty", mod("netns", {"name": ""}), ["name", "''"]),
    ("netns-too-long", mod("netns", {"name": LONG}), ["name", LONG[:40]]),
    ("netns-sysctl-kernel", mod("netns", {"name": "green", "sysctl": {"kernel.hostname": "x"}}), ["kernel.hostname"]),
    ("netns-unknown-option", mod("netns", {"name": "green", "colour": "red"}), ["colour"]),
    ("netns-pid-missing", mod("netns", {"name": "green", "pid": 999999999}), ["pid", "999999999"]),
    # veth
    ("veth-too-long", mod("veth", {"name": "veth-averylongname", "peer": "p"}), ["veth-averylongname", "15"]),
    ("veth-peer-too-long", mod("veth", {"name": "v1", "peer": "peer-averylongname"}), ["peer", "peer-averylongname"]),
    ("veth-slash", mod("veth", {"name": "a/b", "peer": "p"}), ["name", "'a/b'"]),
    ("veth-empty-peer", mod("veth", {"name": "v1", "peer": ""}), ["peer", "''"]),
    ("veth-semicolon", mod("veth", {"name": "v;reboot", "peer": "p"}), ["name", "'v;reboot'"]),
    ("veth-same-peer", mod("veth", {"name": "v1", "peer": "v1"}), ["peer", "'v1'", "same"]),
    ("veth-name-is-bridge", mod("veth", {"name": "br1", "peer": "p1"}), ["name", "'br1'", "bridge"]),
    (
        ASSUMED + "veth-missing-netns",
        mod("veth", {"name": "v1", "peer": "p1", "netns": "nosuch"}),
        ["netns", "'nosuch'"],
    ),
    ("veth-peer-netns-dotdot", mod("veth", {"name": "v1", "peer": "p1", "peer_netns": "../etc"}), ["peer_netns"]),
    (
        "veth-v4-with-v6-prefix",
        mod("veth", {"name": "v1", "peer": "p1", "addresses": ["10.0.0.1/64"]}),
        ["addresses", "10.0.0.1/64"],
    ),
    (
        "veth-prefix-33",
        mod("veth", {"name": "v1", "peer": "p1", "addresses": ["10.0.0.1/33"]}),
        ["addresses", "10.0.0.1/33"],
    ),
    ("veth-no-prefix", mod("veth", {"name": "v1", "peer": "p1", "addresses": ["10.0.0.1"]}), ["addresses", "10.0.0.1"]),
    ("veth-mtu", mod("veth", {"name": "v1", "peer": "p1", "mtu": 70000}), ["mtu", "70000"]),
    (
        ASSUMED + "veth-master-missing",
        mod("veth", {"name": "v1", "peer": "p1", "master": "nobr"}),
        ["master", "'nobr'"],
    ),
    ("veth-unknown-option", mod("veth", {"name": "v1", "peer": "p1", "peer_name": "x"}), ["peer_name"]),
    # bridge
    ("bridge-space", mod("bridge", {"name": "br 0"}), ["name", "'br 0'"]),
    ("bridge-empty", mod("bridge", {"name": ""}), ["name", "''"]),
    ("bridge-too-long", mod("bridge", {"name": "bridge-name-too-long"}), ["bridge-name-too-long", "15"]),
    (
        "bridge-v6-prefix-129",
        mod("bridge", {"name": "br2", "addresses": ["fd00::1/129"]}),
        ["addresses", "fd00::1/129"],
    ),
    ("bridge-name-is-veth", mod("bridge", {"name": "vx0"}), ["name", "'vx0'", "veth"]),
    (ASSUMED + "bridge-missing-netns", mod("bridge", {"name": "br2", "netns": "nosuch"}), ["netns", "'nosuch'"]),
    # netns_route
    (
        "route-host-bits",
        mod("netns_route", {"destination": "10.0.0.5/24", "gateway": "10.1.0.2"}),
        ["destination", "10.0.0.5/24"],
    ),
    (
        "route-bad-gateway",
        mod("netns_route", {"destination": "default", "gateway": "10.0.0.300"}),
        ["gateway", "10.0.0.300"],
    ),
    (
        "route-family-mismatch",
        mod("netns_route", {"destination": "10.2.0.0/16", "gateway": "fd00::1"}),
        ["gateway", "fd00::1"],
    ),
    (
        ASSUMED + "route-gateway-unreachable",
        mod("netns_route", {"destination": "10.2.0.0/16", "gateway": "192.0.2.1"}),
        ["gateway", "192.0.2.1"],
    ),
    (
        "route-prefix-33",
        mod("netns_route", {"destination": "10.0.0.0/33", "gateway": "10.1.0.2"}),
        ["destination", "10.0.0.0/33"],
    ),
    (
        ASSUMED + "route-missing-interface",
        mod("netns_route", {"destination": "10.2.0.0/16", "interface": "nosuch0"}),
        ["interface", "nosuch0"],
    ),
    (
        ASSUMED + "route-missing-netns",
        mod("netns_route", {"destination": "default", "gateway": "10.1.0.2", "netns": "nosuch"}),
        ["netns", "'nosuch'"],
    ),
    # masquerade
    ("masq-not-a-net", mod("masquerade", {"source": "not-a-net"}), ["source", "not-a-net"]),
    ("masq-prefix-33", mod("masquerade", {"source": "10.98.0.0/33"}), ["source", "10.98.0.0/33"]),
    (
        "masq-out-semicolon",
        mod("masquerade", {"source": "10.5.0.0/24", "out_interface": "eth0;reboot"}),
        ["out_interface", "eth0;reboot"],
    ),
    (
        ASSUMED + "masq-missing-netns",
        mod("masquerade", {"source": "10.5.0.0/24", "netns": "nosuch"}),
        ["netns", "'nosuch'"],
    ),
    # sysctl
    ("sysctl-kernel", mod("sysctl", {"name": "kernel.panic", "value": 1}), ["name", "kernel.panic"]),
    ("sysctl-path", mod("sysctl", {"name": "net.ipv4/../../kernel", "value": 1}), ["name", "net.ipv4/../../kernel"]),
    (
        ASSUMED + "sysctl-missing-netns",
        mod("sysctl", {"name": "net.ipv4.ip_forward", "value": 1, "netns": "nosuch"}),
        ["netns", "'nosuch'"],
    ),
    # port_forward
    ("pf-port", mod("port_forward", {"port": 70000, "destination": "10.98.0.2"}), ["port", "70000"]),
    (
        "pf-destination",
        mod("port_forward", {"port": 8080, "destination": "10.98.0.300"}),
        ["destination", "10.98.0.300"],
    ),
    (
        "pf-protocol",
        mod("port_forward", {"port": 8080, "destination": "10.98.0.2", "protocol": "icmp"}),
        ["protocol", "icmp"],
    ),
    # network (the sections name the item)
    (
        "network-veth-too-long",
        mod("network", {"veths": [{"name": "veth-averylongname", "peer": "p"}]}),
        ["veths[0]", "veth-averylongname"],
    ),
    (
        "network-unknown-netns",
        mod("network", {"bridges": [{"name": "br2", "netns": "nosuch"}]}),
        ["bridges[0]", "nosuch"],
    ),
    ("network-unknown-key", mod("network", {"bridges": [{"name": "br2", "colour": "red"}]}), ["bridges", "colour"]),
    # netns_info
    ("info-missing-netns", mod("netns_info", {"names": ["nosuch"]}), ["nosuch"]),
    # the bridge_nat role
    ("bn-bridge-too-long", bn(bridge_nat_bridge="bridge-name-too-long"), ["bridge-name-too-long"]),
    ("bn-subnet-33", bn(bridge_nat_subnet="10.99.0.0/33"), ["bridge_nat_subnet", "10.99.0.0/33"]),
    ("bn-subnet-v4-v6-prefix", bn(bridge_nat_subnet="10.99.0.0/64"), ["bridge_nat_subnet", "10.99.0.0/64"]),
    (
        "bn-gateway-outside",
        bn(bridge_nat_subnet="10.99.0.0/24", bridge_nat_gateway="10.100.0.1"),
        ["bridge_nat_gateway", "10.100.0.1"],
    ),
    (
        "bn-duplicate-names",
        bn(bridge_nat_subnet="10.99.0.0/24", bridge_nat_containers=[{"name": "c1"}, {"name": "c1"}]),
        ["c1"],
    ),
    (
        "bn-duplicate-addresses",
        bn(
            bridge_nat_subnet="10.99.0.0/24",
            bridge_nat_containers=[{"name": "c1", "address": "10.99.0.7"}, {"name": "c2", "address": "10.99.0.7"}],
        ),
        ["10.99.0.7"],
    ),
    (
        "bn-address-taken",
        bn(
            bridge_nat_subnet="10.99.0.0/24",
            bridge_nat_containers=[{"name": "c1"}, {"name": "c2", "address": "10.99.0.2"}],
        ),
        ["bridge_nat_containers[1].address", "10.99.0.2", "'c1'"],
    ),
    (
        "bn-address-is-gateway",
        bn(bridge_nat_subnet="10.99.0.0/24", bridge_nat_containers=[{"name": "c1", "address": "10.99.0.1"}]),
        ["10.99.0.1"],
    ),
    (
        "bn-address-outside",
        bn(bridge_nat_subnet="10.99.0.0/24", bridge_nat_containers=[{"name": "c1", "address": "10.100.0.5"}]),
        ["10.100.0.5"],
    ),
    ("bn-container-slash", bn(bridge_nat_subnet="10.99.0.0/24", bridge_nat_containers=[{"name": "a/b"}]), ["a/b"]),
    (
        "bn-container-subshell",
        bn(bridge_nat_subnet="10.99.0.0/24", bridge_nat_containers=[{"name": f"$(touch {PWNED})"}]),
        [f"$(touch {PWNED})"],
    ),
    (
        "bn-container-typo",
        bn(bridge_nat_subnet="10.99.0.0/24", bridge_nat_containers=[{"name": "c1", "adress": "10.99.0.9"}]),
        ["adress"],
    ),
    ("bn-bridge-is-veth", bn(bridge_nat_bridge="vx0", bridge_nat_subnet="10.99.0.0/24"), ["vx0", "veth"]),
    # the topology role
    (
        "topo-endpoint-no-colon",
        topo(topology_nodes=[{"name": "ta"}], topology_links=[{"endpoints": ["ta", "ta:e1"]}]),
        ["endpoints", "ta"],
    ),
    (
        "topo-unknown-node",
        topo(topology_nodes=[{"name": "ta"}], topology_links=[{"endpoints": ["ta:e0", "zz:e0"]}]),
        ["zz"],
    ),
    ("topo-duplicate-node", topo(topology_nodes=[{"name": "ta"}, {"name": "ta"}]), ["ta"]),
    ("topo-sysctl-kernel", topo(topology_nodes=[{"name": "ta", "sysctl": {"kernel.panic": 1}}]), ["kernel.panic"]),
    (
        "topo-link-prefix-33",
        topo(
            topology_nodes=[{"name": "ta"}, {"name": "tb"}],
            topology_links=[{"endpoints": ["ta:e0", "tb:e0"], "addresses": ["10.3.0.1/33", None]}],
        ),
        ["10.3.0.1/33"],
    ),
    (
        "topo-same-end",
        topo(topology_nodes=[{"name": "ta"}], topology_links=[{"endpoints": ["ta:e0", "ta:e0"]}]),
        ["topology_links[0]", "'ta:e0'"],
    ),
    ("topo-unknown-option", topo(topology_nodes=[{"name": "ta", "forward": True}]), ["forward"]),
    (
        "connection-semicolon",
        {
            "ansible.builtin.command": "true",
            "ignore_unreachable": True,
            "vars": {"ansible_connection": "netns.core.netns", "ansible_netns_name": f"x;touch {PWNED}"},
        },
        [f"'x;touch {PWNED}'", "not a valid namespace name"],
    ),
]


def build_baseline() -> None:
    """Things already on the host: a bridge_nat network, a foreign bridge, a veth across namespaces, a route."""
    sh(
        "ip netns add red; ip netns add blue;"
        " ip link add br1 type bridge; ip addr add 10.1.0.1/24 dev br1; ip link set br1 up;"
        " ip link add vx0 type veth peer name vx1 netns red; ip addr add 10.1.1.1/30 dev vx0; ip link set vx0 up;"
        " ip -n red addr add 10.1.1.2/30 dev vx1; ip -n red link set vx1 up; ip route add 10.7.0.0/16 via 10.1.0.2"
    )
    (result,) = [
        r
        for r in play([role("bridge_nat", {"bridge_nat_bridge": "br-nat", "bridge_nat_containers": [{"name": "c9"}]})])
        if "Converge" in r.get("task", "")
    ]
    assert result["status"] == "ok" and result["changed"], result
    settle()


def settle() -> None:
    """Wait for IPv6 duplicate address detection to finish everywhere (it flips address flags on its own)."""
    sh(
        "for i in $(seq 50); do busy=0; for ns in '' $(ls /run/netns); do"
        ' out=$(${ns:+ip netns exec $ns} ip -6 addr show tentative); [ -z "$out" ] || busy=1; done;'
        " [ $busy = 0 ] && exit 0; sleep 0.1; done; exit 1"
    )


def run_corpus(check: bool) -> dict[str, dict]:
    tasks = []
    for case_id, task, _fragments in CASES:
        case_id = case_id.removeprefix(ASSUMED)
        tasks.append({"name": f"case {case_id}", "ansible.builtin.debug": {"msg": case_id}})
        tasks.append(
            {
                "name": f"block {case_id}",
                "block": [{"name": f"bad input {case_id}", **task}],
                "rescue": [{"name": f"rescued {case_id}", "ansible.builtin.debug": {"msg": "failed as expected"}}],
            }
        )
    env = {"NETNS_CORE_SNAPSHOT": "raw", "NETNS_CORE_SNAPSHOT_TASKS": "bad input"}
    results = play(tasks, check=check, env=env)
    by_case: dict[str, dict] = {}
    current = None
    for result in results:
        if result["task"].startswith("case "):
            current = result["task"][len("case ") :]
        elif "kernel_after" in result and (current not in by_case or by_case[current]["status"] != "failed"):
            by_case[current] = result  # the first failure of the case, else its own task's result
    return by_case


@pytest.mark.parametrize("check", [False, True], ids=["real", "check"])
def test_bad_input_fails_and_changes_nothing(check):
    assert len(CASES) >= 40 and len({case[0].removeprefix(ASSUMED) for case in CASES}) == len(CASES)
    build_baseline()
    if os.path.exists(PWNED):
        os.unlink(PWNED)
    before = raw()
    failures = run_corpus(check)
    problems = []
    for case_id, _task, fragments in CASES:
        assumed = check and case_id.startswith(ASSUMED)
        case_id = case_id.removeprefix(ASSUMED)
        result = failures.get(case_id)
        expected = ("ok",) if assumed else ("failed", "unreachable")  # unreachable: the connection plugin
        if result is None or result["status"] not in expected:
            problems.append(f"{case_id}: did not {'warn' if assumed else 'fail'}: {result}")
            continue
        message = " ".join(result.get("warnings", [])) if assumed else str(result.get("msg", ""))
        if "Traceback" in message + str(result.get("module_stderr", "")) + str(result.get("exception", "")):
            problems.append(f"{case_id}: traceback: {message}")
        missing = [fragment for fragment in fragments if fragment not in message]
        if missing:
            problems.append(f"{case_id}: message lacks {missing}: {message!r}")
        if result["kernel_after"] != before:
            problems.append(f"{case_id}: the kernel changed:\n{diff(before, result['kernel_after'])}")
    assert not problems, "\n".join(problems)
    assert raw() == before
    assert not os.path.exists(PWNED), "a crafted name reached a shell"
    assert not Path("/run/netns/red blue").exists()
    record_figure(f"bad_inputs_{'check' if check else 'real'}", len(CASES))


def diff(before: str, after: str) -> str:
    import difflib

    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), n=1))
