# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.masquerade against the real kernel (inside the sandbox)."""

from __future__ import annotations

from conftest import fails_cleanly, four_steps, in_ns, run, sh

TAG = '-m comment --comment "netns.core masquerade 10.88.0.0/24"'
POSTROUTING = f"-A POSTROUTING -s 10.88.0.0/24 ! -d 10.88.0.0/24 {TAG} -j MASQUERADE"
FORWARD_OUT = f"-A FORWARD -s 10.88.0.0/24 {TAG} -j ACCEPT"
FORWARD_BACK = f"-A FORWARD -d 10.88.0.0/24 -m conntrack --ctstate RELATED,ESTABLISHED {TAG} -j ACCEPT"


def rules(table: str, ns: str | None = None) -> list[str]:
    return sh(in_ns(ns, f"iptables -w -t {table} -S")).splitlines()


def test_rule_shape_forwarding_and_normalised_source():
    task = {"netns.core.masquerade": {"source": "10.88.0.5/24"}}

    def verify():
        assert rules("nat").count(POSTROUTING) == 1
        assert rules("filter").count(FORWARD_OUT) == 1 and rules("filter").count(FORWARD_BACK) == 1
        assert sh("sysctl -n net.ipv4.ip_forward").strip() == "1"

    (result,) = four_steps([task], verify)
    assert result["rules"] == [f"-t filter {FORWARD_BACK}", f"-t filter {FORWARD_OUT}", f"-t nat {POSTROUTING}"]
    # the same subnet written another way is the same rule, never a duplicate
    assert not run("masquerade", {"source": "10.88.0.77/24"})["changed"]
    assert rules("nat").count(POSTROUTING) == 1


def tag_out(iface: str) -> str:
    return TAG[:-1] + f' out {iface}"'


def test_inside_a_router_namespace_with_another_out_interface():
    sh("ip netns add router")
    run("masquerade", {"netns": "router", "source": "10.88.0.0/24", "out_interface": "wan0"})
    wan0 = f"-A POSTROUTING -s 10.88.0.0/24 ! -d 10.88.0.0/24 -o wan0 {tag_out('wan0')} -j MASQUERADE"
    assert wan0 in rules("nat", "router")
    assert sh("ip netns exec router sysctl -n net.ipv4.ip_forward").strip() == "1"
    assert sh("sysctl -n net.ipv4.ip_forward").strip() == "0"
    assert rules("nat") == ["-P PREROUTING ACCEPT", "-P INPUT ACCEPT", "-P OUTPUT ACCEPT", "-P POSTROUTING ACCEPT"]

    # another uplink is another masquerade: the first is kept (the out interface is part of the identity), and
    # the result says it is there
    task = {"netns.core.masquerade": {"netns": "router", "source": "10.88.0.0/24", "out_interface": "wan1"}}

    def verify():
        tagged = [r for r in rules("nat", "router") if "netns.core" in r]
        wan1 = f"-A POSTROUTING -s 10.88.0.0/24 ! -d 10.88.0.0/24 -o wan1 {tag_out('wan1')} -j MASQUERADE"
        assert tagged == [wan0, wan1]

    (result,) = four_steps([task], verify)
    assert "masquerade 10.88.0.0/24 out wan0 in netns router is there too" in " ".join(result["warnings"])
    gone = run("masquerade", {"netns": "router", "source": "10.88.0.0/24", "out_interface": "wan0", "state": "absent"})
    assert gone["changed"] and wan0 not in rules("nat", "router")


def test_absent_removes_only_tagged_rules_and_keeps_policy():
    foreign = [
        "iptables -w -t nat -A POSTROUTING -s 10.88.0.0/24 -j MASQUERADE",
        "iptables -w -A FORWARD -i eth9 -j ACCEPT",
        "iptables -w -t nat -A POSTROUTING -s 10.88.0.0/24"
        " -m comment --comment 'netns.core masquerade 10.88.0.0/2' -j RETURN",
        "iptables -w -P FORWARD DROP",
    ]
    sh("; ".join(foreign))
    before_nat, before_filter = rules("nat"), rules("filter")
    run("masquerade", {"source": "10.88.0.0/24"})
    assert rules("filter")[0] == "-P INPUT ACCEPT" and "-P FORWARD DROP" in rules("filter")

    def verify():
        assert rules("nat") == before_nat and rules("filter") == before_filter

    (result,) = four_steps([{"netns.core.masquerade": {"source": "10.88.0.0/24", "state": "absent"}}], verify)
    assert len(result["actions"]) == 3
    assert sh("sysctl -n net.ipv4.ip_forward").strip() == "1", "absent leaves ip_forward as it is"


def test_duplicated_tagged_rule_is_reduced_to_one():
    sh(f"iptables -w -t nat -A POSTROUTING -s 10.88.0.0/24 ! -d 10.88.0.0/24 {TAG} -j MASQUERADE;" * 2)
    result = run("masquerade", {"source": "10.88.0.0/24", "forwarding": False})
    assert result["changed"] and rules("nat").count(POSTROUTING) == 1
    assert not any("netns.core" in r for r in rules("filter"))


def test_bad_source():
    fails_cleanly("masquerade", {"source": "10.88.0.0/33"}, "source", "10.88.0.0/33")


def test_exclude_keeps_cluster_traffic_unmasqueraded():
    """exclude: traffic to these destinations keeps its source; the first is in the MASQUERADE rule, the others
    are tagged RETURN rules ahead of it."""
    task = {
        "netns.core.masquerade": {
            "source": "10.244.1.0/24",
            "exclude": ["10.244.0.0/16", "192.0.2.0/24"],
            "forwarding": False,
        }
    }
    tag = '-m comment --comment "netns.core masquerade 10.244.1.0/24"'

    def verify():
        tagged = [r for r in rules("nat") if "netns.core" in r]
        assert tagged == [
            f"-A POSTROUTING -s 10.244.1.0/24 -d 192.0.2.0/24 {tag} -j RETURN",
            f"-A POSTROUTING -s 10.244.1.0/24 ! -d 10.244.0.0/16 {tag} -j MASQUERADE",
        ]

    four_steps([task], verify)
    # back to the default: exactly the rule of before, the exemption gone
    run("masquerade", {"source": "10.244.1.0/24", "forwarding": False})
    assert [r for r in rules("nat") if "netns.core" in r] == [
        f"-A POSTROUTING -s 10.244.1.0/24 ! -d 10.244.1.0/24 {tag} -j MASQUERADE"
    ]


def test_bad_exclude():
    fails_cleanly("masquerade", {"source": "10.88.0.0/24", "exclude": ["fd00::/64"]}, "exclude[0]", "fd00::/64")
    fails_cleanly("masquerade", {"source": "10.88.0.0/24", "exclude": []}, "exclude", "empty")
