# SPDX-License-Identifier: GPL-3.0-or-later
"""Reliability 8: networks on one host never touch each other's objects.

Two bridge_nat networks side by side: each converges, re-runs and tears down without changing the other (its
links, marks, rules, and real packets); a second network that asks for the other's subnet, container or bridge is
refused before anything changes (real and --check), naming the other network; a foreign namespace offered as a
container is refused unless adopted; a teardown leaves what another network made, and says so.
"""

from __future__ import annotations

import pytest
from conftest import links, ping, play, sh
from kernel_state import raw
from reliability import record_figure
from test_reliability_bad_input import settle


def bridge_nat(bridge: str, subnet: str, containers: list, state: str = "present", **extra) -> dict:
    variables = {
        "bridge_nat_bridge": bridge,
        "bridge_nat_subnet": subnet,
        "bridge_nat_containers": [c if isinstance(c, dict) else {"name": c} for c in containers],
        "bridge_nat_state": state,
        **extra,
    }
    return {"ansible.builtin.include_role": {"name": "netns.core.bridge_nat"}, "vars": variables}


def converge(task: dict, check: bool = False) -> dict:
    results = play([task], check=check)
    (result,) = [r for r in results if "actions" in r or r["status"] == "failed"]
    return result


A = ("br-a", "10.61.0.0/24", ["a1", "a2"])
B = ("br-b", "10.62.0.0/24", ["b1", "b2"])


def alias(ns: str | None, name: str) -> str:
    prefix = f"ip -n {ns} " if ns else "ip "
    return sh(prefix + f"-d link show {name}").split("alias ", 1)[-1].split("\n")[0].strip()


def network_a_works() -> None:
    assert ping("a1", "10.61.0.1") and ping("a1", "10.61.0.3")
    assert alias("a1", "lo") == "netns.core owner=br-a" and alias(None, "br-a") == "netns.core owner=br-a"
    assert alias(None, "veth-a1") == alias("a1", "eth0") == "netns.core owner=br-a"
    assert "netns.core masquerade 10.61.0.0/24" in sh("iptables -w -t nat -S POSTROUTING")


def test_two_networks_on_one_host_never_touch_each_other():
    first = converge(bridge_nat(*A))
    assert first["status"] == "ok" and first["changed"], first
    assert "mark netns a1 as network br-a's" in first["actions"]
    second = converge(bridge_nat(*B))
    assert second["status"] == "ok" and second["changed"], second
    network_a_works()
    assert ping("b1", "10.62.0.3")
    for network in (A, B):
        again = converge(bridge_nat(*network))
        assert again["status"] == "ok" and not again["changed"], again
    # B goes: A is untouched, byte for byte, and still works
    before = sh("ip -n a1 -d link; ip -n a1 addr; ip -n a1 route; iptables-save | grep br-a -c || true")
    gone = converge(bridge_nat(*B, state="absent"))
    assert gone["status"] == "ok" and gone["changed"], gone
    assert sh("ip -n a1 -d link; ip -n a1 addr; ip -n a1 route; iptables-save | grep br-a -c || true") == before
    network_a_works()
    assert "b1" not in sh("ip netns list") and "br-b" not in links()
    assert "10.62.0.0/24" not in sh("iptables-save")
    assert converge(bridge_nat(*A, state="absent"))["changed"]
    assert sh("ip netns list").strip() == "" and set(links()) == {"lo"}


CONFLICTS = [
    ("same-subnet", bridge_nat("br-b", "10.61.0.0/24", ["b1"]), ["10.61.0.0/24", "br-a", "overlaps"]),
    ("overlapping-subnet", bridge_nat("br-b", "10.61.0.0/16", ["b1"]), ["10.61.0.0/16", "br-a", "overlaps"]),
    ("same-container", bridge_nat("br-b", "10.62.0.0/24", ["b1", "a2"]), ["netns a2", "'br-a'", "'br-b'"]),
    (
        "same-bridge-other-network",
        bridge_nat("br-a", "10.62.0.0/24", ["b1"], bridge_nat_network="net-b"),
        ["bridge br-a", "'br-a'", "'net-b'"],
    ),
    (
        "same-host-interface",
        bridge_nat("br-b", "10.62.0.0/24", [{"name": "b1", "host_interface": "veth-a1"}]),
        ["veth-a1", "'br-a'"],
    ),
]


@pytest.mark.parametrize("check", [False, True], ids=["real", "check"])
def test_a_network_that_asks_for_another_networks_objects_is_refused(check):
    assert converge(bridge_nat(*A))["changed"]
    settle()
    before = raw()
    for case, task, fragments in CONFLICTS:
        result = converge(task, check=check)
        assert result["status"] == "failed", (case, result)
        assert all(fragment in result["msg"] for fragment in fragments), (case, fragments, result["msg"])
        assert "nothing was changed" in result["msg"], (case, result["msg"])
        assert raw() == before, case
    network_a_works()
    record_figure(f"ownership_conflicts_{'check' if check else 'real'}", len(CONFLICTS))


def test_a_foreign_namespace_is_refused_unless_adopted():
    sh("ip netns add web && ip -n web link add x0 type veth peer name x1 && ip -n web addr add 192.0.2.1/24 dev x0")
    sh("ip -n web link set x0 up && ip -n web route add 203.0.113.0/24 via 192.0.2.2")
    settle()
    before = raw()
    for check in (True, False):
        refused = converge(bridge_nat("br-w", "10.63.0.0/24", ["web"]), check=check)
        assert refused["status"] == "failed" and "netns web already exists" in refused["msg"], refused
        assert "x0" in refused["msg"] and "adopt" in refused["msg"]
        assert raw() == before
    adopted = converge(bridge_nat("br-w", "10.63.0.0/24", [{"name": "web", "adopt": True}]))
    assert adopted["status"] == "ok" and "mark netns web as network br-w's" in adopted["actions"], adopted
    assert ping("web", "10.63.0.1") and "203.0.113.0/24 via 192.0.2.2" in sh("ip -n web route")
    again = converge(bridge_nat("br-w", "10.63.0.0/24", [{"name": "web", "adopt": True}]))
    assert not again["changed"], again
    # a teardown of a namespace that holds someone else's interfaces... it was adopted: it is this network's
    assert converge(bridge_nat("br-w", "10.63.0.0/24", ["web"], state="absent"))["changed"]
    assert "web" not in sh("ip netns list")


def test_a_teardown_leaves_what_another_network_made_and_says_so():
    assert converge(bridge_nat(*A))["changed"]
    assert converge(bridge_nat(*B))["changed"]
    # B's teardown mistakenly lists A's container a1 too
    result = converge(bridge_nat("br-b", "10.62.0.0/24", ["b1", "b2", "a1"], state="absent"))
    assert result["status"] == "ok", result
    warnings = " ".join(result.get("warnings") or [])
    assert "netns a1 left as it is: it belongs to network 'br-a'" in warnings, result
    assert "veth-a1 left as it is" in warnings, result
    network_a_works()
    assert "b1" not in sh("ip netns list")


def test_an_unmarked_network_of_ours_is_marked_not_refused():
    # what an earlier version built, or a run killed before it marked its objects: no marks
    assert converge(bridge_nat(*A))["changed"]
    for ns, name in ((None, "br-a"), (None, "veth-a1"), (None, "veth-a2"), ("a1", "lo"), ("a1", "eth0"), ("a2", "lo")):
        sh(f"ip {'-n ' + ns if ns else ''} link set dev {name} alias ''")
    assert alias("a1", "lo") != "netns.core owner=br-a"
    marked = converge(bridge_nat(*A))
    assert marked["status"] == "ok" and any(a.startswith("mark ") for a in marked["actions"]), marked
    assert not converge(bridge_nat(*A))["changed"]
    network_a_works()
