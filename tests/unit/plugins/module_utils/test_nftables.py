# SPDX-License-Identifier: GPL-3.0-or-later
"""The nftables backend: rendering intents, reading `nft -j` back (recorded from nft 1.0.6 in the sandbox, after
applying exactly the rules rendered here), the transaction, the foreign-drop check and the choice of backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.netns.core.plugins.filter.netns_info_dot import netns_info_dot
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._firewall import (
    Firewalls,
    ForwardAcceptRule,
    IptablesBackend,
    NftablesBackend,
)
from ansible_collections.netns.core.plugins.module_utils._masquerade import Masquerade, masquerade_intents
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel
from ansible_collections.netns.core.plugins.module_utils._nftables import (
    NftRule,
    address,
    forward_drops,
    parse_table,
    statement_of,
    transaction,
)
from ansible_collections.netns.core.plugins.module_utils._port_forward import PortForward, port_forward_intents

FIXTURES = Path(__file__).parent / "fixtures"
TABLE = (FIXTURES / "nft_1.0.6_list_table.json").read_text()
CHAINS = (FIXTURES / "nft_1.0.6_list_chains.json").read_text()


def recorded_intents() -> list:
    """The intents whose rendering was applied with nft -f to record the fixture (in that order)."""
    intents = masquerade_intents(
        4,
        "10.88.0.0/24",
        "wan0",
        True,
        "netns.core masquerade 10.88.0.0/24 out wan0",
        ("10.88.0.0/24", "10.0.0.0/8", "192.168.1.7/32"),
    )
    intents += masquerade_intents(6, "fd00:88::/64", None, True, "netns.core masquerade fd00:88::/64")
    intents += port_forward_intents(8080, "tcp", "10.98.0.2", 80, None, "netns.core port_forward tcp/8080")
    intents += port_forward_intents(53, "udp", "fd00:98::2", 5353, "up0", "netns.core port_forward udp/53 in up0")
    intents.append(
        ForwardAcceptRule(
            4, "netns.core forward 10.1.0.0/16 to 10.2.0.0/16", source="10.1.0.0/16", destination="10.2.0.0/16"
        )
    )
    return intents


def test_rendered_rules_equal_the_parsed_listing():
    rendered = [NftablesBackend.render(intent) for intent in recorded_intents()]
    parsed, chains = parse_table(TABLE)
    assert chains == ["postrouting", "prerouting", "output", "forward"]
    assert sorted(rule.key for rule in parsed) == sorted(rule.key for rule in rendered)
    assert {rule.family for rule in parsed} == {4, 6}
    for rule in parsed:  # the family read back is the family rendered
        (same,) = [r for r in rendered if r.key == rule.key]
        assert same.family == rule.family and rule.handle is not None


def test_rule_text_is_nft_syntax():
    (masquerade, *_rest) = masquerade_intents(4, "10.88.0.0/24", "wan0", False, "netns.core masquerade 10.88.0.0/24")
    rule = NftablesBackend.render(masquerade)
    assert rule.spec() == (
        'inet netns_core postrouting ip saddr 10.88.0.0/24 ip daddr != 10.88.0.0/24 oifname "wan0" masquerade '
        'comment "netns.core masquerade 10.88.0.0/24"'
    )
    assert rule.add_line() == "add rule " + rule.spec()
    exempt = NftablesBackend.render(masquerade_intents(4, "10.8.0.0/24", None, False, "t", ("a/8", "10.0.0.0/8"))[1])
    assert exempt.add_line().startswith("insert rule inet netns_core postrouting ip saddr 10.8.0.0/24 ip daddr 10.0")
    assert address("10.0.0.2/32") == "10.0.0.2" and address("fd00::2/128") == "fd00::2"
    assert address("10.0.0.0/8") == "10.0.0.0/8"


def test_an_expression_we_never_write_is_never_equal_to_ours():
    counter = [{"counter": {"packets": 0, "bytes": 0}}, {"accept": None}]
    assert statement_of(counter).startswith("<not written by netns.core")
    assert statement_of([{"accept": None}]) == "accept"


def test_transaction_makes_the_table_and_deletes_it_with_the_last_rule():
    rule = NftablesBackend.render(ForwardAcceptRule(4, "netns.core t", source="10.0.0.0/8"))
    script = transaction(None, [("add", rule)])
    assert script.splitlines()[0] == "add table inet netns_core"
    assert "add chain inet netns_core forward { type filter hook forward priority filter; policy accept; }" in script
    assert script.splitlines()[-1] == "add rule " + rule.spec()

    read = parse_table(TABLE)
    every = [("delete", r) for r in read[0]]
    assert transaction(read, every) == "delete table inet netns_core\n"
    some = transaction(read, every[:2])
    assert some.splitlines() == [r.delete_line() for _op, r in every[:2]]
    assert some.splitlines()[0].startswith("delete rule inet netns_core postrouting handle ")
    # a chain that is not ours keeps the table (with the chain) in place
    assert "delete table" not in transaction((read[0], [*read[1], "somebody"]), every)


def test_foreign_forward_drops_per_family():
    # recorded: iptables-nft's ip filter FORWARD policy DROP, inet firewalld filter_FORWARD and ip6 other fw6
    assert forward_drops(CHAINS, 4) == [
        "table ip filter, chain FORWARD",
        "table inet firewalld, chain filter_FORWARD",
    ]
    assert forward_drops(CHAINS, 6) == [
        "table inet firewalld, chain filter_FORWARD",
        "table ip6 other, chain fw6",
    ]


class FakeModule:
    def __init__(self, commands: set[str]) -> None:
        self.commands = commands

    def get_bin_path(self, command: str) -> str | None:
        return f"/usr/sbin/{command}" if command in self.commands else None


@pytest.mark.parametrize(
    ("commands", "choice", "expected"),
    [
        ({"iptables", "ip6tables", "nft"}, "auto", "iptables"),
        ({"nft"}, "auto", "nftables"),
        ({"iptables", "nft"}, "nftables", "nftables"),
        ({"iptables"}, "iptables", "iptables"),
    ],
)
def test_auto_is_iptables_where_its_command_exists(commands, choice, expected):
    assert Firewalls(FakeModule(commands), None).resolve(choice, 4).name == expected


@pytest.mark.parametrize(
    ("commands", "choice", "fragment"),
    [
        ({"iptables"}, "nftables", "firewall_backend=nftables: the nft command is not on the target"),
        ({"nft"}, "iptables", "firewall_backend=iptables: the iptables command is not on the target"),
        (set(), "auto", "firewall_backend=auto: neither the iptables nor the nft command"),
    ],
)
def test_a_missing_command_is_an_error_naming_the_option(commands, choice, fragment):
    with pytest.raises(NetnsCoreError, match=fragment):
        Firewalls(FakeModule(commands), None).resolve(choice, 4)


def test_plan_in_nft_syntax_offline():
    model = KernelModel(None)
    resource = PortForward({"port": 8080, "destination": "10.98.0.2:80", "firewall_backend": "nftables"})
    ops = resource.plan(model, resource.read(model), resource.desired())
    assert [op.backend for op in ops] == ["nftables"] * 4
    assert ops[0].describe() == (
        "add rule inet netns_core prerouting meta nfproto ipv4 fib daddr type local tcp dport 8080 dnat ip to "
        '10.98.0.2:80 comment "netns.core port_forward tcp/8080"'
    )


class Listings:
    """A stand-in for Firewalls: both commands there, fixed listings per backend."""

    def __init__(self, listings: dict, drops: list[str] | None = None) -> None:
        self.listings = listings
        self.drops = drops or []

    def resolve(self, choice, family):
        return {"auto": IptablesBackend, "iptables": IptablesBackend, "nftables": NftablesBackend}[choice]

    def available(self, name, family):
        return True

    def __call__(self, backend, family):
        listings, drops = self.listings, self.drops

        class Tool:
            def list(self, ns, table):
                return [r for r in listings.get((backend, table), []) if getattr(r, "family", family) == family]

            def forward_drops(self, ns):
                return drops

        return Tool()


def test_a_switch_of_backend_removes_the_other_backends_rules():
    tag = "netns.core masquerade 10.88.0.0/24"
    iptables = [IptablesBackend.render(i) for i in masquerade_intents(4, "10.88.0.0/24", None, True, tag)]
    listings = {("iptables", "nat"): iptables[:1], ("iptables", "filter"): iptables[1:]}
    model = KernelModel.__new__(KernelModel)
    model.__init__(None, Listings(listings))
    model._readable = lambda ns: True  # the host's listings are the fake's
    model.sysctl = lambda ns, key: "1"
    resource = Masquerade({"source": "10.88.0.0/24", "firewall_backend": "nftables"})
    ops = resource.plan(model, resource.read(model), resource.desired())
    assert [(type(op).__name__, op.backend) for op in ops] == [("DelRule", "iptables")] * 3 + [
        ("AddRule", "nftables")
    ] * 3
    # and back: the nftables rules go, the iptables ones come
    nft = [NftablesBackend.render(i) for i in masquerade_intents(4, "10.88.0.0/24", None, True, tag)]
    model.__init__(None, Listings({("nftables", "netns_core"): nft}))
    resource = Masquerade({"source": "10.88.0.0/24", "firewall_backend": "iptables"})
    ops = resource.plan(model, resource.read(model), resource.desired())
    assert [(type(op).__name__, op.backend) for op in ops] == [("DelRule", "nftables")] * 3 + [
        ("AddRule", "iptables")
    ] * 3


def test_a_foreign_forward_drop_is_refused_by_name_unless_ignored():
    model = KernelModel(None, Listings({}, ["table ip filter, chain FORWARD"]))
    model._readable = lambda ns: True
    model.sysctl = lambda ns, key: "1"
    resource = Masquerade({"source": "10.88.0.0/24", "firewall_backend": "nftables"})
    with pytest.raises(NetnsCoreError) as raised:
        resource.plan(model, resource.read(model), resource.desired())
    assert "table ip filter, chain FORWARD with policy drop" in raised.value.msg
    assert "foreign_forward_drop=ignore" in raised.value.msg and "DOCKER-USER" in raised.value.msg
    ignoring = Masquerade({"source": "10.88.0.0/24", "firewall_backend": "nftables", "foreign_forward_drop": "ignore"})
    assert len(ignoring.plan(model, ignoring.read(model), ignoring.desired())) == 3
    no_forward = Masquerade({"source": "10.88.0.0/24", "firewall_backend": "nftables", "forwarding": False})
    assert len(no_forward.plan(model, no_forward.read(model), no_forward.desired())) == 1  # no accept: no trap


IPT_DNAT = "-t nat -A PREROUTING -j DNAT --to-destination 10.0.0.2:80"


def test_graph_shows_published_ports_of_both_backends():
    rules = [
        {
            "tag": "netns.core port_forward tcp/8080",
            "rule": "-t nat -A PREROUTING -j DNAT --to-destination 10.0.0.2:80",
        },
        {
            "tag": "netns.core port_forward udp/53",
            "rule": "inet netns_core prerouting meta nfproto ipv6 fib daddr type local udp dport 53 dnat ip6 to "
            '[fd00::2]:53 comment "netns.core port_forward udp/53"',
        },
        {"tag": "netns.core masquerade 10.9.0.0/24", "rule": "inet netns_core postrouting ip saddr 10.9.0.0/24 ..."},
    ]
    info = {"namespaces": {"r": {"links": {}, "rules": rules}}}
    dot = netns_info_dot(info)
    assert "published tcp/8080 -> 10.0.0.2:80" in dot
    assert "published udp/53 -> [fd00::2]:53" in dot
    assert "NAT out: 10.9.0.0/24" in dot


def test_nft_rule_identity_ignores_handle_and_placement():
    one = NftRule("forward", "accept", "netns.core t", 4, handle=5)
    assert one == NftRule("forward", "accept", "netns.core t", 4) and one.key == ("forward", "accept", "netns.core t")
    assert json.loads(TABLE)["nftables"][0]["metainfo"]["version"] == "1.0.6"
