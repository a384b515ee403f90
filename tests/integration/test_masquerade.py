# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.masquerade against the real kernel (inside the sandbox)."""

from __future__ import annotations

from conftest import fails_cleanly, four_steps, in_ns, play, run, sh

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


# -- the nftables backend ---------------------------------------------------------------------------------------
FIREWALLD_LIKE = """
table inet firewalld {
    chain filter_FORWARD {
        type filter hook forward priority filter + 10; policy accept;
        ct state established,related accept
        iifname "lo" accept
    }
    chain nat_POSTROUTING {
        type nat hook postrouting priority srcnat + 10; policy accept;
        oifname "wan9" masquerade comment "netns.core masquerade 10.88.0.0/24"
    }
}
"""


def nft_tables() -> str:
    return sh("nft list tables")


def test_nftables_our_table_only_and_a_foreign_table_byte_identical():
    """A firewalld-like table (with a rule whose comment looks like our tag) is never touched; our table comes with
    the first rule and goes with the last; the tagged rules are the same ones the iptables backend makes."""
    sh(f"nft -f - <<'EOF'\n{FIREWALLD_LIKE}\nEOF")
    foreign = sh("nft list table inet firewalld")
    task = {"netns.core.masquerade": {"source": "10.88.0.5/24", "firewall_backend": "nftables"}}

    def verify():
        ours = sh("nft list table inet netns_core")
        assert 'ip saddr 10.88.0.0/24 ip daddr != 10.88.0.0/24 masquerade comment "netns.core masquerade 10.88' in ours
        assert "ct state established,related accept comment" in ours
        assert sh("nft list table inet firewalld") == foreign
        assert "netns.core" not in sh("iptables-save")
        assert sh("sysctl -n net.ipv4.ip_forward").strip() == "1"

    (result,) = four_steps([task], verify)
    assert len(result["rules"]) == 3 and all(r.startswith("inet netns_core ") for r in result["rules"])
    gone = run("masquerade", {"source": "10.88.0.0/24", "firewall_backend": "nftables", "state": "absent"})
    assert gone["changed"] and len(gone["actions"]) == 3
    assert "netns_core" not in nft_tables()
    assert sh("nft list table inet firewalld") == foreign


def test_switching_backends_is_a_converge():
    sh("ip netns add router")
    args = {"netns": "router", "source": "10.88.0.0/24", "out_interface": "wan0"}
    run("masquerade", {**args, "firewall_backend": "iptables"})
    task = {"netns.core.masquerade": {**args, "firewall_backend": "nftables"}}

    def verify():
        assert "netns.core" not in sh("ip netns exec router iptables-save")
        assert 'oifname "wan0" masquerade' in sh("ip netns exec router nft list table inet netns_core")

    (result,) = four_steps([task], verify)
    assert [a.split()[0] for a in result["actions"]] == ["delete"] * 3 + ["add"] * 3
    back = run("masquerade", {**args, "firewall_backend": "iptables"})
    assert back["changed"] and "netns_core" not in sh("ip netns exec router nft list tables")
    assert rules("nat", "router").count(
        f"-A POSTROUTING -s 10.88.0.0/24 ! -d 10.88.0.0/24 -o wan0 {tag_out('wan0')} -j MASQUERADE"
    )


HIDE_IPTABLES = [  # a private mount namespace where /usr/sbin/iptables and ip6tables lead nowhere
    "unshare",
    "--mount",
    "sh",
    "-c",
    'mount -t tmpfs hide-iptables /etc/alternatives && exec "$@"',
    "hide-iptables",
]


def test_auto_uses_nftables_where_there_is_no_iptables_command():
    task = {"name": "masquerade", "netns.core.masquerade": {"source": "10.88.0.0/24", "forwarding": False}}
    (result,) = play([task], wrap=HIDE_IPTABLES)
    assert result["status"] == "ok" and result["changed"], result
    assert result["rules"] == [
        'inet netns_core postrouting ip saddr 10.88.0.0/24 ip daddr != 10.88.0.0/24 masquerade comment "netns.core'
        ' masquerade 10.88.0.0/24"'
    ]
    (again,) = play([task], wrap=HIDE_IPTABLES)
    assert again["status"] == "ok" and not again["changed"]
    asked = {**task, "netns.core.masquerade": {**task["netns.core.masquerade"], "firewall_backend": "iptables"}}
    (refused,) = play([asked], wrap=HIDE_IPTABLES)
    assert refused["status"] == "failed"
    assert "firewall_backend=iptables: the iptables command is not on the target" in refused["msg"]
