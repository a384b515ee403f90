# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Firewall rules as intents (masquerade and its exemptions, DNAT, forward-accept), each with its tag, rendered by
a backend.

The resources say what they want in these terms; a backend turns an intent into its own rule (the iptables backend
into exactly the `iptables -S` words netns.core has always written), lists a table, adds and deletes. A second
backend (nftables) is one more class with the same four methods, registered in BACKENDS.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.netns.core.plugins.module_utils._constants import FIREWALL_TABLES
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._iptables import Iptables, Rule, parse_rules

LOOPBACK_NET = {4: "127.0.0.0/8", 6: "::1/128"}


@dataclass(frozen=True)
class MasqueradeRule:
    """Traffic from `source` leaving (by `out_interface`, if given) gets the outgoing address, except traffic to
    `exclude` (the source itself: containers talking to each other keep their addresses)."""

    family: int
    source: str
    exclude: str
    out_interface: str | None
    tag: str


@dataclass(frozen=True)
class NatExemptRule:
    """Traffic from `source` to `destination` leaves with its own address: the NAT rules after this one are skipped
    (one more destination a masquerade excludes)."""

    family: int
    source: str
    destination: str
    tag: str


@dataclass(frozen=True)
class DnatRule:
    """Connections to a local address on `port` go to `to_address`:`to_port`. hook 'prerouting': from elsewhere
    (limited to `in_interface` if given); 'output': from the host itself, to any of its addresses but loopback."""

    family: int
    hook: str
    protocol: str
    port: int
    to_address: str
    to_port: int
    in_interface: str | None
    tag: str


@dataclass(frozen=True)
class ForwardAcceptRule:
    """Forwarded packets matching these fields are accepted (ahead of a DROP policy). `ctstate`: conntrack states."""

    family: int
    tag: str
    source: str | None = None
    destination: str | None = None
    protocol: str | None = None
    sport: int | None = None
    dport: int | None = None
    ctstate: str | None = None


def _tagged(tag: str) -> tuple[str, ...]:
    return ("-m", "comment", "--comment", tag)


def _iptables_masquerade(rule: MasqueradeRule) -> Rule:
    out = ("-o", rule.out_interface) if rule.out_interface else ()
    args = ("-s", rule.source, "!", "-d", rule.exclude, *out, *_tagged(rule.tag), "-j", "MASQUERADE")
    return Rule("nat", "POSTROUTING", args)


def _iptables_nat_exempt(rule: NatExemptRule) -> Rule:
    args = ("-s", rule.source, "-d", rule.destination, *_tagged(rule.tag), "-j", "RETURN")
    return Rule("nat", "POSTROUTING", args, insert=True)


def _iptables_dnat(rule: DnatRule) -> Rule:
    target = f"{rule.to_address}:{rule.to_port}" if rule.family == 4 else f"[{rule.to_address}]:{rule.to_port}"
    if rule.hook == "prerouting":
        chain, prefix = "PREROUTING", ("-i", rule.in_interface) if rule.in_interface else ()
    elif rule.hook == "output":
        chain, prefix = "OUTPUT", ("!", "-d", LOOPBACK_NET[rule.family])
    else:
        raise NetnsCoreError(f"internal error: unknown DNAT hook {rule.hook!r}")
    args = (
        *prefix,
        "-p",
        rule.protocol,
        "-m",
        "addrtype",
        "--dst-type",
        "LOCAL",
        "-m",
        rule.protocol,
        "--dport",
        str(rule.port),
        *_tagged(rule.tag),
        "-j",
        "DNAT",
        "--to-destination",
        target,
    )
    return Rule("nat", chain, args)


def _iptables_forward_accept(rule: ForwardAcceptRule) -> Rule:
    args: tuple[str, ...] = ()
    if rule.source:
        args += ("-s", rule.source)
    if rule.destination:
        args += ("-d", rule.destination)
    if rule.protocol:
        args += ("-p", rule.protocol, "-m", rule.protocol)
    if rule.sport is not None:
        args += ("--sport", str(rule.sport))
    if rule.dport is not None:
        args += ("--dport", str(rule.dport))
    if rule.ctstate:
        args += ("-m", "conntrack", "--ctstate", rule.ctstate)
    return Rule("filter", "FORWARD", (*args, *_tagged(rule.tag), "-j", "ACCEPT"), insert=True)


class IptablesBackend:
    """iptables / ip6tables (nft or legacy) through their common command line; rules are `iptables -S` words."""

    name = "iptables"
    tables = FIREWALL_TABLES
    #: the chains netns.core writes; a rule carrying one of our tags anywhere else is somebody else's (never touched)
    chains = {"nat": ("POSTROUTING", "PREROUTING", "OUTPUT"), "filter": ("FORWARD",)}
    RENDER = {
        MasqueradeRule: _iptables_masquerade,
        NatExemptRule: _iptables_nat_exempt,
        DnatRule: _iptables_dnat,
        ForwardAcceptRule: _iptables_forward_accept,
    }

    def __init__(self, module, session, family: int) -> None:
        self.tool = Iptables(module, session, family)

    @classmethod
    def render(cls, rule) -> Rule:
        try:
            render = cls.RENDER[type(rule)]
        except KeyError:
            raise NetnsCoreError(f"internal error: the iptables backend cannot render {rule!r}") from None
        return render(rule)

    def list(self, ns: str | None, table: str) -> list[Rule]:
        return parse_rules(table, self.tool.run(ns, ["-t", table, "-S"]))

    def add(self, ns: str | None, rule: Rule) -> None:
        self.tool.run(ns, rule.add_argv())

    def delete(self, ns: str | None, rule: Rule) -> None:
        self.tool.run(ns, rule.delete_argv())


BACKENDS = {IptablesBackend.name: IptablesBackend}


def backend_class(name: str):
    try:
        return BACKENDS[name]
    except KeyError:
        raise NetnsCoreError(f"firewall backend {name!r} is not one of {', '.join(sorted(BACKENDS))}") from None


class Firewalls:
    """The backends of one module run, made on first use per (backend, family)."""

    def __init__(self, module, session) -> None:
        self.module = module
        self.session = session
        self._made: dict[tuple[str, int], object] = {}

    def __call__(self, backend: str, family: int):
        key = (backend, family)
        if key not in self._made:
            self._made[key] = backend_class(backend)(self.module, self.session, family)
        return self._made[key]
