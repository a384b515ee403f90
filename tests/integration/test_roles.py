# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles and the playbooks: check -> real -> idempotent -> check, real packets, a teardown leaving nothing."""

from __future__ import annotations

from pathlib import Path

import kernel_state
import pytest
from conftest import four_steps, links, namespaces, ours, ping, play, play_file, sh, snapshot


def empty_sandbox() -> None:
    assert namespaces() == []
    assert list(links()) == ["lo"]
    assert "netns.core" not in sh("iptables-save")
    assert "netns_core" not in sh("nft list tables")
    assert kernel_state.etc_netns() == [], "files left under /etc/netns"


def role(name: str, **variables) -> dict:
    return {"ansible.builtin.include_role": {"name": f"netns.core.{name}"}, "vars": variables}


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_bridge_nat_role_builds_and_removes_the_network(backend):
    containers = [{"name": "web"}, {"name": "db", "address": "10.98.0.50"}, {"name": "a-container-named-long"}]
    build = role(
        "bridge_nat", bridge_nat_containers=containers, bridge_nat_bridge="br-test", bridge_nat_firewall_backend=backend
    )
    fact = {"ansible.builtin.debug": {"var": "bridge_nat_addresses"}}

    def verify():
        assert namespaces() == ["a-container-named-long", "db", "web"]
        host_ends = {name for name, link in links().items() if link.get("master") == "br-test"}
        assert host_ends == {"veth-web", "veth-db", "va-contai-" + host_ends_hash("a-container-named-long")}
        assert ping("web", "10.98.0.1") and ping("web", "10.98.0.50") and ping("db", "10.98.0.3")
        nat = sh("nft list table inet netns_core") if backend == "nftables" else sh("iptables -t nat -S")
        assert "netns.core masquerade 10.98.0.0/24" in nat

    real = four_steps([build, fact], verify)
    assert [r for r in real if "bridge_nat_addresses" in r][0]["bridge_nat_addresses"] == {
        "web": "10.98.0.2",
        "db": "10.98.0.50",
        "a-container-named-long": "10.98.0.3",
    }
    teardown = role(
        "bridge_nat",
        bridge_nat_containers=containers,
        bridge_nat_bridge="br-test",
        bridge_nat_state="absent",
        bridge_nat_firewall_backend=backend,
    )
    results = ours(play([teardown]))
    assert results[0]["changed"]
    empty_sandbox()


def host_ends_hash(name: str) -> str:
    import hashlib

    return hashlib.sha1(name.encode()).hexdigest()[:5]


def test_topology_role_chained_routers():
    """The seeds' chained router namespaces: a - r1 - r2 - b, static routes, forwarding only inside the routers."""
    lab = role(
        "topology",
        topology_nodes=[
            {"name": "a"},
            {"name": "r1", "forwarding": True},
            {"name": "r2", "forwarding": True},
            {"name": "b"},
        ],
        topology_links=[
            {"endpoints": ["a:eth0", "r1:eth0"], "addresses": ["10.0.1.2/24", "10.0.1.1/24"]},
            {"endpoints": ["r1:eth1", "r2:eth1"], "addresses": ["10.0.12.1/30", "10.0.12.2/30"]},
            {"endpoints": ["r2:eth0", "b:eth0"], "addresses": ["10.0.2.1/24", "10.0.2.2/24"]},
        ],
        topology_routes=[
            {"node": "a", "destination": "default", "gateway": "10.0.1.1"},
            {"node": "b", "destination": "default", "gateway": "10.0.2.1"},
            {"node": "r1", "destination": "10.0.2.0/24", "gateway": "10.0.12.2"},
            {"node": "r2", "destination": "10.0.1.0/24", "gateway": "10.0.12.1"},
        ],
    )

    def verify():
        assert ping("a", "10.0.2.2") and ping("b", "10.0.1.2")
        assert sh("cat /proc/sys/net/ipv4/ip_forward").strip() == "0"  # the host is not a router here
        assert sh("ip netns exec r1 cat /proc/sys/net/ipv4/ip_forward").strip() == "1"
        # topology_hosts (default true): every node knows the others by name
        assert sh("ip netns exec a getent ahostsv4 b").split()[0] == "10.0.2.2"
        assert ping("a", "b") and ping("b", "r1")

    four_steps([lab], verify)
    sh("ip netns exec r2 sysctl -qw net.ipv4.ip_forward=0")
    assert not ping("a", "10.0.2.2")  # the packets really went through r2
    lab["vars"]["topology_state"] = "absent"
    assert ours(play([lab]))[0]["changed"]
    empty_sandbox()


def test_topology_refuses_an_unknown_node_before_anything_changes():
    before = snapshot()
    bad = role("topology", topology_nodes=[{"name": "a"}], topology_links=[{"endpoints": ["a:eth0", "zz:eth0"]}])
    for check in (False, True):
        results = play([bad], check=check)
        assert results[-1]["status"] == "failed", (check, results)
        assert "node 'zz' is not in topology_nodes" in results[-1]["msg"], (check, results[-1])
        assert snapshot() == before


PROOFS = {  # what each playbook's network must carry: (namespace, address) pings
    "lab.yml": [("lab-red", "10.98.0.3"), ("lab-blue", "10.98.0.1")],
    "routed.yml": [("routed-left", "10.2.0.2")],
    "home.yml": [("home-laptop", "203.0.113.1")],
}


@pytest.mark.parametrize(
    ("playbook", "state_var"), [("lab.yml", "lab_state"), ("routed.yml", "routed_state"), ("home.yml", "home_state")]
)
def test_playbooks_build_prove_and_tear_down(playbook, state_var):
    def proof():
        for ns, address in PROOFS[playbook]:
            assert ping(ns, address), f"{ns} cannot reach {address}"

    real = four_steps(None, proof, playbook=playbook)
    pings = [item for r in real for item in r.get("results", []) if "ping" in item.get("cmd", [])]
    probes = [probe for r in real for probe in r.get("probes", [])]  # or with netns.core.reachability
    assert pings or probes
    assert all(item["rc"] == 0 for item in pings) and all(p["as_expected"] for p in probes)  # it proved itself
    down = play_file(playbook, extra_vars={state_var: "absent"})
    assert all(r["status"] in ("ok", "skipped") for r in down)
    assert ours(down)[0]["changed"]
    again = play_file(playbook, extra_vars={state_var: "absent"})
    assert not any(r["changed"] for r in ours(again))
    assert namespaces() == [] and list(links()) == ["lo"]
    assert "netns.core" not in sh("iptables-save")


def test_make_lab_and_make_lab_clean():
    """The README's first command, exactly as a user types it (inside the sandbox, so 'this host' is the sandbox)."""
    repo = str(Path(__file__).resolve().parents[2])
    built = sh(f"make -s -C {repo} lab")
    assert "lab-red -> 10.98.0.3" in built and "failed=0" in built
    assert namespaces() == ["lab-blue", "lab-red"] and ping("lab-red", "10.98.0.3")
    again = sh(f"make -s -C {repo} lab")
    assert "changed=0" in again and "failed=0" in again
    cleaned = sh(f"make -s -C {repo} lab-clean")
    assert "failed=0" in cleaned
    assert namespaces() == [] and list(links()) == ["lo"] and "netns.core" not in sh("iptables-save")
