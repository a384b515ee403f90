# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Firewall rules as intents (masquerade and its exemptions, DNAT, forward-accept), each with its tag, rendered by
a backend.

The resources say what they want in these terms; a backend turns an intent into its own rule (the iptables backend
into exactly the `iptables -S` words netns.core has always written, the nftables backend into the statements of
our own table as `nft` lists them), lists a table, adds and deletes. Both are registered in BACKENDS; Firewalls picks
one for `firewall_backend` (auto: iptables where the iptables command exists, else nftables).
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.netns.core.plugins.module_utils._constants import FIREWALL_TABLES
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._iptables import Iptables, Rule, parse_rules
from ansible_collections.netns.core.plugins.module_utils._nftables import (
    IP,
    NFPROTO,
    TABLE,
    Nft,
    NftRule,
    address,
    transaction,
)
from ansible_collections.netns.core.plugins.module_utils._nftables import forward_drops as parse_forward_drops

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


@dataclass(frozen=True)
class ForwardDropRule:
    """Forwarded packets from `in_interface` to `out_interface` are dropped, ahead of every accept (a network's
    isolation from another bridge); connections to a published port (DNAT) are let through."""

    family: int
    tag: str
    in_interface: str
    out_interface: str


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


def _iptables_forward_drop(rule: ForwardDropRule) -> Rule:
    """In mangle's FORWARD, which the kernel runs before filter's: the drop wins over any accept in filter FORWARD
    (ours, Docker's, yours), whatever the FORWARD policy, with no chain flushed and no policy changed."""
    args = ("-i", rule.in_interface, "-o", rule.out_interface, "-m", "conntrack", "!", "--ctstate", "DNAT")
    return Rule("mangle", "FORWARD", (*args, *_tagged(rule.tag), "-j", "DROP"), insert=True)


class IptablesBackend:
    """iptables / ip6tables (nft or legacy) through their common command line; rules are `iptables -S` words."""

    name = "iptables"
    tables = FIREWALL_TABLES
    #: the chains netns.core writes; a rule carrying one of our tags anywhere else is somebody else's (never touched)
    chains = {"nat": ("POSTROUTING", "PREROUTING", "OUTPUT"), "filter": ("FORWARD",), "mangle": ("FORWARD",)}
    RENDER = {
        MasqueradeRule: _iptables_masquerade,
        NatExemptRule: _iptables_nat_exempt,
        DnatRule: _iptables_dnat,
        ForwardAcceptRule: _iptables_forward_accept,
        ForwardDropRule: _iptables_forward_drop,
    }

    #: each add and delete is applied at once (no transaction to commit)
    transactional = False

    def __init__(self, module, session, family: int, shared: dict | None = None) -> None:
        self.tool = Iptables(module, session, family)

    @staticmethod
    def command(family: int) -> str:
        return "iptables" if family == 4 else "ip6tables"

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


# -- nftables: the statements of our own table, as `nft` lists them -------------------------------------------
def _nft_masquerade(rule: MasqueradeRule) -> NftRule:
    ip = IP[rule.family]
    out = f' oifname "{rule.out_interface}"' if rule.out_interface else ""
    statement = f"{ip} saddr {address(rule.source)} {ip} daddr != {address(rule.exclude)}{out} masquerade"
    return NftRule("postrouting", statement, rule.tag, rule.family)


def _nft_nat_exempt(rule: NatExemptRule) -> NftRule:
    ip = IP[rule.family]
    statement = f"{ip} saddr {address(rule.source)} {ip} daddr {address(rule.destination)} return"
    return NftRule("postrouting", statement, rule.tag, rule.family, insert=True)


def _nft_dnat(rule: DnatRule) -> NftRule:
    ip = IP[rule.family]
    target = f"{rule.to_address}:{rule.to_port}" if rule.family == 4 else f"[{rule.to_address}]:{rule.to_port}"
    if rule.hook == "prerouting":
        inbound = f'iifname "{rule.in_interface}" ' if rule.in_interface else ""
        chain, prefix = "prerouting", f"{inbound}meta nfproto {NFPROTO[rule.family]} "
    elif rule.hook == "output":
        chain, prefix = "output", f"{ip} daddr != {address(LOOPBACK_NET[rule.family])} "
    else:
        raise NetnsCoreError(f"internal error: unknown DNAT hook {rule.hook!r}")
    statement = f"{prefix}fib daddr type local {rule.protocol} dport {rule.port} dnat {ip} to {target}"
    return NftRule(chain, statement, rule.tag, rule.family)


#: conntrack as the iptables backend says it -> nft
CTSTATES = {"RELATED,ESTABLISHED": "ct state established,related", "DNAT": "ct status dnat"}


def _nft_forward_accept(rule: ForwardAcceptRule) -> NftRule:
    ip = IP[rule.family]
    words = []
    if rule.source:
        words.append(f"{ip} saddr {address(rule.source)}")
    if rule.destination:
        words.append(f"{ip} daddr {address(rule.destination)}")
    if not words:
        words.append(f"meta nfproto {NFPROTO[rule.family]}")
    if rule.protocol and rule.sport is None and rule.dport is None:
        words.append(f"meta l4proto {rule.protocol}")
    if rule.sport is not None:
        words.append(f"{rule.protocol} sport {rule.sport}")
    if rule.dport is not None:
        words.append(f"{rule.protocol} dport {rule.dport}")
    if rule.ctstate:
        try:
            words.append(CTSTATES[rule.ctstate])
        except KeyError:
            raise NetnsCoreError(f"internal error: the nftables backend cannot say ctstate {rule.ctstate!r}") from None
    return NftRule("forward", " ".join([*words, "accept"]), rule.tag, rule.family)


def _nft_forward_drop(rule: ForwardDropRule) -> NftRule:
    """At the top of our forward chain: a drop in any chain is final, so it wins over every accept (ours come
    after it in this chain; another table's accept ends only its own chain)."""
    statement = (
        f'meta nfproto {NFPROTO[rule.family]} iifname "{rule.in_interface}" oifname "{rule.out_interface}"'
        " ct status ! dnat drop"  # no DNAT bit (`!= dnat` would compare the whole status)
    )
    return NftRule("forward", statement, rule.tag, rule.family, insert=True)


class NftState:
    """What the nftables backends of one run share, per namespace: our table as read, and the changes waiting for
    the one transaction that applies them."""

    def __init__(self, module, session) -> None:
        self.nft = Nft(module, session)
        self.tables: dict[str | None, tuple | None] = {}
        self.chains: dict[str | None, str] = {}
        self.pending: dict[str | None, list[tuple[str, NftRule]]] = {}

    def table(self, ns: str | None):
        if ns not in self.tables:
            self.tables[ns] = self.nft.table(ns)
        return self.tables[ns]

    def flush(self) -> None:
        """Apply each namespace's waiting changes as one `nft -f` transaction (all or nothing)."""
        while self.pending:
            ns = next(iter(self.pending))
            changes = self.pending[ns]
            script = transaction(self.table(ns), changes)
            self.nft.apply(ns, script, len(changes))
            del self.pending[ns]
            self.tables.pop(ns, None)
            self.chains.pop(ns, None)


class NftablesBackend:
    """nftables: our rules in table inet netns_core, one transaction per run and namespace (see _nftables)."""

    name = "nftables"
    tables = (TABLE,)
    chains = {TABLE: ("postrouting", "prerouting", "output", "forward")}
    #: adds and deletes wait for flush(), which applies them as one transaction
    transactional = True
    RENDER = {
        MasqueradeRule: _nft_masquerade,
        NatExemptRule: _nft_nat_exempt,
        DnatRule: _nft_dnat,
        ForwardAcceptRule: _nft_forward_accept,
        ForwardDropRule: _nft_forward_drop,
    }

    def __init__(self, module, session, family: int, shared: dict | None = None) -> None:
        self.family = family
        shared = {} if shared is None else shared
        if "state" not in shared:
            shared["state"] = NftState(module, session)
        self.state: NftState = shared["state"]

    @staticmethod
    def command(family: int) -> str:
        return "nft"

    @classmethod
    def render(cls, rule) -> NftRule:
        try:
            render = cls.RENDER[type(rule)]
        except KeyError:
            raise NetnsCoreError(f"internal error: the nftables backend cannot render {rule!r}") from None
        return render(rule)

    def list(self, ns: str | None, table: str) -> list[NftRule]:
        read = self.state.table(ns)
        return [rule for rule in (read[0] if read else []) if rule.family == self.family]

    def add(self, ns: str | None, rule: NftRule) -> None:
        self.state.pending.setdefault(ns, []).append(("add", rule))

    def delete(self, ns: str | None, rule: NftRule) -> None:
        self.state.pending.setdefault(ns, []).append(("delete", rule))

    def flush(self) -> None:
        self.state.flush()

    def forward_drops(self, ns: str | None) -> list[str]:
        """The other tables' forward chains whose DROP policy drops what our forward chain accepts."""
        if ns not in self.state.chains:
            self.state.chains[ns] = self.state.nft.chains(ns)
        return parse_forward_drops(self.state.chains[ns], self.family)


BACKENDS = {IptablesBackend.name: IptablesBackend, NftablesBackend.name: NftablesBackend}
#: the values of the firewall_backend option
CHOICES = ("auto", *BACKENDS)
PACKAGES = {"iptables": "iptables", "ip6tables": "iptables", "nft": "nftables"}


def backend_class(name: str):
    try:
        return BACKENDS[name]
    except KeyError:
        raise NetnsCoreError(f"firewall backend {name!r} is not one of {', '.join(sorted(BACKENDS))}") from None


class Firewalls:
    """The backends of one module run, made on first use per (backend, family); which of them `firewall_backend`
    means on this host; and the commit of the transactional ones."""

    def __init__(self, module, session) -> None:
        self.module = module
        self.session = session
        self._made: dict[tuple[str, int], object] = {}
        self._shared: dict[str, dict] = {}
        self._paths: dict[str, str | None] = {}

    def __call__(self, backend: str, family: int):
        key = (backend, family)
        if key not in self._made:
            shared = self._shared.setdefault(backend, {})
            self._made[key] = backend_class(backend)(self.module, self.session, family, shared)
        return self._made[key]

    def _has(self, command: str) -> bool:
        if command not in self._paths:
            self._paths[command] = self.module.get_bin_path(command) if self.module is not None else None
        return self._paths[command] is not None

    def available(self, backend: str, family: int) -> bool:
        """Whether the command of `backend` is on the target."""
        return self._has(backend_class(backend).command(family))

    def resolve(self, choice: str, family: int):
        """The backend class `firewall_backend: choice` means here; a clear error when its command is missing."""
        if choice == "auto":
            for name in ("iptables", "nftables"):
                if self.available(name, family):
                    return BACKENDS[name]
            raise NetnsCoreError(
                "firewall_backend=auto: neither the iptables nor the nft command is on the target; install one "
                "(apt-get install iptables, or nftables)"
            )
        cls = backend_class(choice)
        command = cls.command(family)
        if not self._has(command):
            raise NetnsCoreError(
                f"firewall_backend={choice}: the {command} command is not on the target (install the "
                f"{PACKAGES[command]} package, or choose another firewall_backend)"
            )
        return cls

    def transactional(self, backend: str) -> bool:
        return backend_class(backend).transactional

    def flush(self) -> None:
        """Commit what the transactional backends hold (one transaction per namespace)."""
        for name, shared in self._shared.items():
            if backend_class(name).transactional and "state" in shared:
                shared["state"].flush()

    def pending(self) -> bool:
        return any(
            shared["state"].pending
            for name, shared in self._shared.items()
            if backend_class(name).transactional and "state" in shared
        )
