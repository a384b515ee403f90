# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The masquerade resource: tagged MASQUERADE (and FORWARD accept) rules for one source subnet."""

from __future__ import annotations

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._constants import FORWARD_KEY, TAG_PREFIX
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._firewall import (
    BACKENDS,
    CHOICES,
    ForwardAcceptRule,
    IptablesBackend,
    MasqueradeRule,
    NatExemptRule,
)
from ansible_collections.netns.core.plugins.module_utils._iptables import Rule, tag
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel, where
from ansible_collections.netns.core.plugins.module_utils._ops import AddRule, DelRule, Op
from ansible_collections.netns.core.plugins.module_utils._resource import Resource
from ansible_collections.netns.core.plugins.module_utils._sysctl import read_sysctls, sysctl_changes


def masquerade_intents(
    family: int,
    source: str,
    out_interface: str | None,
    forwarding: bool,
    comment: str,
    exclude: tuple[str, ...] = (),
) -> list:
    """What one masquerade wants, as backend-neutral rules (pure). The first excluded destination (the source
    itself by default) is part of the MASQUERADE rule; each further one is an exemption ahead of it."""
    exclude = exclude or (source,)
    rules: list = [MasqueradeRule(family, source, exclude[0], out_interface, comment)]
    rules += [NatExemptRule(family, source, other, comment) for other in exclude[1:]]
    if forwarding:
        rules += [
            ForwardAcceptRule(family, comment, source=source),
            ForwardAcceptRule(family, comment, destination=source, ctstate="RELATED,ESTABLISHED"),
        ]
    return rules


def masquerade_rules(source: str, out_interface: str | None, forwarding: bool, comment: str) -> list[Rule]:
    """The iptables rules for one source, in the exact form `iptables -S` prints them back (pure)."""
    intents = masquerade_intents(norm.family_of(source), source, out_interface, forwarding, comment)
    return [IptablesBackend.render(rule) for rule in intents]


def rule_changes(ns: str | None, have: list, want: list, family: int = 4, backend: str = "iptables") -> list[Op]:
    """Delete tagged rules that are not wanted (or are duplicates), add wanted ones that are missing (pure)."""
    ops: list[Op] = []
    seen = set()
    wanted = {rule.key for rule in want}
    for rule in have:
        if rule.key in wanted and rule.key not in seen:
            seen.add(rule.key)
            continue
        ops.append(DelRule(ns, backend, family, rule).says(f"{rule.describe_delete()}{where(ns)}"))
    for rule in want:
        if rule.key not in seen:
            ops.append(AddRule(ns, backend, family, rule).says(f"{rule.describe_add()}{where(ns)}"))
    return ops


def foreign_drop_error(ns: str | None, drops: list[str], option: str) -> NetnsCoreError:
    chains = "; ".join(drops)
    return NetnsCoreError(
        f"firewall_backend=nftables{where(ns)}: the forward hook also has {chains} with policy drop (Docker and "
        "iptables-nft set it): in nftables an accept ends only its own chain, so that policy still drops what table "
        "inet netns_core accepts. Allow the traffic in that chain (for Docker: the DOCKER-USER chain), or use "
        f"firewall_backend=iptables (it inserts its accepts into that very chain); once the traffic is allowed there, "
        f"set {option}=ignore"
    )


class TaggedRules(Resource):
    """Rules carrying one netns.core tag in one namespace: read back from the backend, exactly the wanted set kept.

    Subclasses say which rules they want (`intents`), as backend-neutral rules, and may manage sysctls with them
    (`extra_*`). The backend is the `firewall_backend` option's (auto: iptables where its command exists, else
    nftables); this tag's rules found in the other backend are removed (a switch of backend is a converge).
    """

    def __init__(self, params: dict, family: int, rule_tag: str) -> None:
        super().__init__(params)
        self.ns = norm.netns_name(params.get("netns"))
        self.family = family
        self.tag = rule_tag
        self.firewall_backend = params.get("firewall_backend") or "auto"
        if self.firewall_backend not in CHOICES:
            raise NetnsCoreError(f"firewall_backend {self.firewall_backend!r} is not one of {', '.join(CHOICES)}")
        self.foreign_forward_drop = params.get("foreign_forward_drop") or "fail"

    def namespaces(self) -> list[tuple[str, str | None]]:
        return [("netns", self.ns)]

    def identity(self) -> dict:
        raise NotImplementedError

    def intents(self) -> list:
        raise NotImplementedError

    def backends(self, model: KernelModel) -> tuple:
        """(the backend class to write with, the other backends whose command is there: read, and emptied)."""
        if model.firewall is None:  # offline (unit tests): auto is iptables
            return BACKENDS["iptables" if self.firewall_backend == "auto" else self.firewall_backend], []
        chosen = model.firewall.resolve(self.firewall_backend, self.family)
        others = [
            cls for cls in BACKENDS.values() if cls is not chosen and model.firewall.available(cls.name, self.family)
        ]
        return chosen, others

    #: whether its forward rules accept (a foreign drop policy would defeat them); drops need no such check
    accepts_forward = True

    def planned_intents(self, model: KernelModel) -> list:
        """The intents as planned against the kernel (most objects' do not depend on it)."""
        return self.intents()

    def want_rules(self, backend=IptablesBackend) -> list:
        return [backend.render(rule) for rule in self.intents()]

    def extra_read(self, model: KernelModel) -> dict:
        return {}

    def extra_want(self) -> dict:
        return {}

    def extra_changes(self, model: KernelModel, before: dict | None, want: dict | None) -> list[Op]:
        return []

    def tagged(self, model: KernelModel, backend) -> list:
        """Every rule of ours (this tag exactly) in the backend's tables, in listing order (duplicates kept)."""
        return [
            rule
            for table in backend.tables
            for rule in model.listing(self.ns, backend.name, self.family, table)
            if rule.chain in backend.chains[table] and rule.comment == self.tag
        ]

    def read(self, model: KernelModel) -> dict | None:
        if not model.exists(self.ns):
            return None
        chosen, others = self.backends(model)
        if self.state == "present":
            self.note_siblings(model, chosen)
        rules = [rule for backend in (chosen, *others) for rule in self.tagged(model, backend)]
        extra = self.extra_read(model)
        if not rules and self.state == "absent":
            return None
        return {**self.identity(), "rules": sorted(r.spec() for r in rules), **extra}

    def desired(self) -> dict | None:
        if self.state == "absent":
            return None
        return {**self.identity(), **self.extra_want()}

    def plan(self, model: KernelModel, before: dict | None, want: dict | None) -> list[Op]:
        chosen, others = self.backends(model)
        wanted = [chosen.render(rule) for rule in self.planned_intents(model)] if want else []
        if wanted and chosen.transactional and self.foreign_forward_drop != "ignore" and self.accepts_forward:
            if any(rule.chain == "forward" for rule in wanted):
                drops = model.forward_drops(self.ns, chosen.name, self.family)
                if drops:
                    raise foreign_drop_error(self.ns, drops, "foreign_forward_drop")
        ops = self.extra_changes(model, before, want)
        if before is not None:
            for other in others:
                ops += rule_changes(self.ns, self.tagged(model, other), [], self.family, other.name)
        have = self.tagged(model, chosen) if before is not None else []
        return ops + rule_changes(self.ns, have, wanted, self.family, chosen.name)

    def sibling_tag(self) -> str | None:
        """The tag shared by this object's siblings (same source or port, another interface), if any."""
        return None

    def note_siblings(self, model: KernelModel, backend) -> None:
        """Say when another object of the same source or port (another interface: another identity) is there."""
        base = self.sibling_tag()
        if base is None:
            return
        seen = set()
        for table in backend.tables:
            for rule in model.listing(self.ns, backend.name, self.family, table):
                comment = rule.comment or ""
                if rule.chain in backend.chains[table] and comment != self.tag and comment not in seen:
                    if comment == base or comment.startswith(base + " "):
                        seen.add(comment)
                        other = comment[len(TAG_PREFIX) + 1 :]
                        note = f"{other}{where(self.ns)} is there too (another object: remove it with its own "
                        note += "state=absent if it is no longer wanted)"
                        if note not in model.left:
                            model.left.append(note)

    def result_extra(self, after: dict | None) -> dict:
        return {"rules": list((after or {}).get("rules", []))}


class Masquerade(TaggedRules):
    kind = "masquerade"

    def __init__(self, params: dict, module=None) -> None:
        self.source = norm.network(params["source"], "source")
        out_interface = norm.ifname(params.get("out_interface"), "out_interface")
        # the outgoing interface is part of the identity: two masquerades of one source by two uplinks coexist
        key = self.source + (f" out {out_interface}" if out_interface else "")
        super().__init__(params, norm.family_of(self.source), tag("masquerade", key))
        self.out_interface = out_interface
        self.forwarding = params.get("forwarding", True) is not False
        self.forward_key = FORWARD_KEY[self.family]
        self.exclude = self._exclude(params.get("exclude"))

    def _exclude(self, value: list | None) -> tuple[str, ...]:
        if value is None:
            return (self.source,)
        if not value:
            raise NetnsCoreError(
                "exclude: an empty list would masquerade the subnet's own traffic too; leave exclude out for the"
                " default (the source itself)"
            )
        exclude: list[str] = []
        for index, item in enumerate(value):
            net = norm.network(item, f"exclude[{index}]")
            if norm.family_of(net) != self.family:
                raise NetnsCoreError(
                    f"exclude[{index}] {item!r} is IPv{norm.family_of(net)} but source {self.source!r} is"
                    f" IPv{self.family}"
                )
            if net not in exclude:
                exclude.append(net)
        return tuple(exclude)

    def sibling_tag(self) -> str | None:
        return tag("masquerade", self.source)

    def label(self) -> str:
        out = f" out {self.out_interface}" if self.out_interface else ""
        return f"masquerade {self.source}{out}{where(self.ns)}"

    def identity(self) -> dict:
        return {"netns": self.ns, "source": self.source}

    def intents(self) -> list:
        return masquerade_intents(self.family, self.source, self.out_interface, self.forwarding, self.tag, self.exclude)

    def extra_read(self, model: KernelModel) -> dict:
        return {self.forward_key: read_sysctls(model, self.ns, [self.forward_key])[self.forward_key]}

    def extra_want(self) -> dict:
        return {self.forward_key: "1" if self.forwarding else None}

    def extra_changes(self, model: KernelModel, before: dict | None, want: dict | None) -> list[Op]:
        if not (want and self.forwarding):
            return []
        return sysctl_changes(
            model, self.ns, {self.forward_key: (before or {}).get(self.forward_key)}, {self.forward_key: "1"}
        )
