# SPDX-License-Identifier: GPL-3.0-or-later
"""Isolation between bridges: the drops as each backend writes them, and the nftables listing read back (recorded
from nft 1.0.6 in the sandbox after applying exactly these statements)."""

from __future__ import annotations

from pathlib import Path

from ansible_collections.netns.core.plugins.module_utils._firewall import (
    ForwardDropRule,
    IptablesBackend,
    NftablesBackend,
)
from ansible_collections.netns.core.plugins.module_utils._isolation import isolation_intents
from ansible_collections.netns.core.plugins.module_utils._nftables import parse_table

TAG = "netns.core isolation br-a"


def test_two_drops_per_other_bridge_one_each_way_in_a_stable_order():
    assert isolation_intents(4, "br-a", ["br-c", "br-b"], TAG) == [
        ForwardDropRule(4, TAG, "br-a", "br-b"),
        ForwardDropRule(4, TAG, "br-b", "br-a"),
        ForwardDropRule(4, TAG, "br-a", "br-c"),
        ForwardDropRule(4, TAG, "br-c", "br-a"),
    ]
    assert isolation_intents(6, "br-a", [], TAG) == []


def test_iptables_drops_go_to_the_top_of_mangle_forward_and_let_published_ports_through():
    rule = IptablesBackend.render(ForwardDropRule(4, TAG, "br-a", "br-b"))
    assert rule.spec() == (
        '-t mangle -A FORWARD -i br-a -o br-b -m conntrack ! --ctstate DNAT -m comment --comment "netns.core'
        ' isolation br-a" -j DROP'
    )
    assert rule.add_argv()[:4] == ["-t", "mangle", "-I", "FORWARD"]
    assert "mangle" in IptablesBackend.tables and IptablesBackend.chains["mangle"] == ("FORWARD",)


def test_nftables_drops_are_inserted_and_read_back_equal():
    rendered = [
        NftablesBackend.render(ForwardDropRule(4, TAG, "br-a", "br-b")),
        NftablesBackend.render(ForwardDropRule(6, TAG, "br-b", "br-a")),
    ]
    assert all(rule.insert and rule.chain == "forward" for rule in rendered)
    listing = (Path(__file__).parent / "fixtures" / "nft_1.0.6_isolation.json").read_text()
    parsed, _chains = parse_table(listing)
    assert sorted(rule.key for rule in parsed) == sorted(rule.key for rule in rendered)
    assert sorted(rule.family for rule in parsed) == [4, 6]
