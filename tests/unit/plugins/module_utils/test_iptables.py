# SPDX-License-Identifier: GPL-3.0-or-later
"""Rules as argv and as `iptables -S` prints them: the round trip idempotence rests on."""

from __future__ import annotations

import pytest

from ansible_collections.netns.core.plugins.module_utils._iptables import Rule, comment_of, parse_rules, quote, tag
from ansible_collections.netns.core.plugins.module_utils._masquerade import masquerade_rules, rule_changes

# What `iptables -t nat -S` prints for such rules (iptables v1.8.9 nf_tables, verified in the sandbox)
LISTING_NAT = "\n".join(
    [
        "-P PREROUTING ACCEPT",
        "-P INPUT ACCEPT",
        "-P OUTPUT ACCEPT",
        "-P POSTROUTING ACCEPT",
        "-N DOCKER",
        "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE",
        "-A POSTROUTING -s 10.88.0.0/16 ! -d 10.88.0.0/16 -o eth0 -m comment "
        '--comment "netns.core masquerade 10.88.0.0/16" -j MASQUERADE',
    ]
)


def test_tag():
    assert tag("masquerade", "10.88.0.0/16") == "netns.core masquerade 10.88.0.0/16"


def test_parse_rules_skips_policies_and_chains():
    rules = parse_rules("nat", LISTING_NAT)
    assert [r.chain for r in rules] == ["POSTROUTING", "POSTROUTING"]
    assert comment_of(rules[0]) is None
    assert comment_of(rules[1]) == "netns.core masquerade 10.88.0.0/16"


def test_built_rules_equal_the_parsed_listing():
    (built,) = masquerade_rules("10.88.0.0/16", "eth0", False, tag("masquerade", "10.88.0.0/16"))
    parsed = parse_rules("nat", LISTING_NAT)[1]
    assert built.key == parsed.key


def test_spec_round_trip():
    rule = Rule("filter", "FORWARD", ("-s", "10.0.0.0/8", "-m", "comment", "--comment", 'a "b" c', "-j", "ACCEPT"))
    assert Rule.from_spec(rule.spec()) == rule
    assert rule.spec() == '-t filter -A FORWARD -s 10.0.0.0/8 -m comment --comment "a \\"b\\" c" -j ACCEPT'


def test_from_spec_refuses_other_text():
    with pytest.raises(ValueError, match="not a rule spec"):
        Rule.from_spec("-A FORWARD -j ACCEPT")


def test_argv_never_needs_a_shell():
    rule = Rule("nat", "POSTROUTING", ("-m", "comment", "--comment", "netns.core x y", "-j", "MASQUERADE"))
    assert rule.add_argv() == ["-t", "nat", "-A", "POSTROUTING", "-m", "comment", "--comment", "netns.core x y"] + [
        "-j",
        "MASQUERADE",
    ]
    inserted = Rule("filter", "FORWARD", ("-j", "ACCEPT"), insert=True)
    assert inserted.add_argv()[:4] == ["-t", "filter", "-I", "FORWARD"]
    assert inserted.delete_argv() == ["-t", "filter", "-D", "FORWARD", "-j", "ACCEPT"]


@pytest.mark.parametrize(("arg", "quoted"), [("eth0", "eth0"), ("a b", '"a b"'), ("", '""'), ('x"y', '"x\\"y"')])
def test_quote(arg, quoted):
    assert quote(arg) == quoted


def test_masquerade_rules_shape():
    comment = tag("masquerade", "10.88.0.0/16")
    rules = masquerade_rules("10.88.0.0/16", None, True, comment)
    assert [r.spec() for r in rules] == [
        '-t nat -A POSTROUTING -s 10.88.0.0/16 ! -d 10.88.0.0/16 -m comment --comment "netns.core masquerade '
        '10.88.0.0/16" -j MASQUERADE',
        '-t filter -A FORWARD -s 10.88.0.0/16 -m comment --comment "netns.core masquerade 10.88.0.0/16" -j ACCEPT',
        "-t filter -A FORWARD -d 10.88.0.0/16 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "
        '"netns.core masquerade 10.88.0.0/16" -j ACCEPT',
    ]
    assert [r.insert for r in rules] == [False, True, True]
    assert all(comment_of(r) == comment for r in rules)


def test_rule_changes_adds_missing_deletes_stale_and_duplicates():
    comment = tag("masquerade", "10.88.0.0/16")
    want = masquerade_rules("10.88.0.0/16", "eth1", False, comment)
    stale = masquerade_rules("10.88.0.0/16", "eth0", False, comment)[0]
    changes = rule_changes("red", [stale, want[0], want[0]], want)
    assert [(type(c).__name__, c.rule) for c in changes] == [("DelRule", stale), ("DelRule", want[0])]
    assert changes[0].text.startswith("delete rule -t nat -A POSTROUTING") and changes[0].text.endswith(" in netns red")
    assert rule_changes(None, want, want) == []
    added = rule_changes(None, [], want)
    assert [type(c).__name__ for c in added] == ["AddRule"]


def test_a_foreign_comment_with_a_newline_is_read_not_trusted():
    listing = (
        '-P FORWARD ACCEPT\n-A FORWARD -m comment --comment "evil\n-A FORWARD -j DROP" -j ACCEPT\n-A FORWARD -j X\n'
    )
    rules = parse_rules("filter", listing)
    assert [r.args[-1] for r in rules] == ["ACCEPT", "X"]
    assert comment_of(rules[0]) == "evil\n-A FORWARD -j DROP"
    assert parse_rules("filter", '-A FORWARD -m comment --comment "never closed\n') == []
