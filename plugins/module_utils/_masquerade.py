# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The masquerade resource: tagged MASQUERADE (and FORWARD accept) rules for one source subnet."""

from __future__ import annotations

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._iface import where
from ansible_collections.netns.core.plugins.module_utils._iptables import Iptables, Rule, tag
from ansible_collections.netns.core.plugins.module_utils._netlink import Session
from ansible_collections.netns.core.plugins.module_utils._resource import Change, Resource
from ansible_collections.netns.core.plugins.module_utils._sysctl import apply_sysctl, read_sysctls, sysctl_changes

FORWARD_KEY = {4: "net.ipv4.ip_forward", 6: "net.ipv6.conf.all.forwarding"}
TABLES = ("nat", "filter")


def masquerade_rules(source: str, out_interface: str | None, forwarding: bool, comment: str) -> list[Rule]:
    """The rules for one source, in the exact form `iptables -S` prints them back (pure)."""
    tagged = ("-m", "comment", "--comment", comment)
    out = ("-o", out_interface) if out_interface else ()
    rules = [Rule("nat", "POSTROUTING", ("-s", source, "!", "-d", source, *out, *tagged, "-j", "MASQUERADE"))]
    if forwarding:
        rules += [
            Rule("filter", "FORWARD", ("-s", source, *tagged, "-j", "ACCEPT"), insert=True),
            Rule(
                "filter",
                "FORWARD",
                ("-d", source, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", *tagged, "-j", "ACCEPT"),
                insert=True,
            ),
        ]
    return rules


def rule_changes(ns: str | None, have: list[Rule], want: list[Rule]) -> list[Change]:
    """Delete tagged rules that are not wanted (or are duplicates), add wanted ones that are missing (pure)."""
    changes = []
    seen = set()
    wanted = {rule.key for rule in want}
    for rule in have:
        if rule.key in wanted and rule.key not in seen:
            seen.add(rule.key)
            continue
        changes.append(
            Change("del_rule", rule.chain, {"ns": ns, "rule": rule}, f"delete rule {rule.spec()}{where(ns)}")
        )
    for rule in want:
        if rule.key not in seen:
            changes.append(
                Change("add_rule", rule.chain, {"ns": ns, "rule": rule}, f"add rule {rule.spec()}{where(ns)}")
            )
    return changes


class TaggedRules(Resource):
    """Rules carrying one netns.core tag in one namespace: read back with -S, exactly the wanted set kept.

    Subclasses say which rules they want (`want_rules`) and may manage sysctls with them (`extra_*`).
    """

    result_key = "rules"
    reread_absent = True  # masquerade and port_forward in one namespace share FORWARD accepts

    def __init__(self, params: dict, module, family: int, rule_tag: str) -> None:
        super().__init__(params)
        self.ns = norm.netns_name(params.get("netns"))
        self.family = family
        self.tag = rule_tag
        self.iptables = Iptables(module, None, family)

    def namespaces(self) -> list[tuple[str, str]]:
        return [("netns", self.ns)]

    def identity(self) -> dict:
        raise NotImplementedError

    def want_rules(self) -> list[Rule]:
        raise NotImplementedError

    def extra_read(self, session: Session) -> dict:
        return {}

    def extra_want(self) -> dict:
        return {}

    def extra_changes(self, before: dict | None, want: dict | None) -> list[Change]:
        return []

    def read(self, session: Session) -> dict | None:
        self.iptables.session = session
        if not session.view(self.ns).exists:
            return None
        rules = self.iptables.tagged(self.ns, TABLES, self.tag)
        extra = self.extra_read(session)
        if not rules and self.state == "absent":
            return None
        return {**self.identity(), "rules": sorted(r.spec() for r in rules), **extra}

    def desired(self) -> dict | None:
        if self.state == "absent":
            return None
        return {**self.identity(), "rules": sorted(r.spec() for r in self.want_rules()), **self.extra_want()}

    def plan(self, before: dict | None, want: dict | None) -> list[Change]:
        have_rules = [Rule.from_spec(spec) for spec in (before or {}).get("rules", [])]
        return self.extra_changes(before, want) + rule_changes(self.ns, have_rules, self.want_rules() if want else [])

    def apply(self, session: Session, change: Change) -> None:
        self.iptables.session = session
        if change.op == "sysctl":
            apply_sysctl(session, change)
        elif change.op == "add_rule":
            self.iptables.run(self.ns, change.args["rule"].add_argv())
        elif change.op == "del_rule":
            self.iptables.run(self.ns, change.args["rule"].delete_argv())

    def result_extra(self, after: dict | None) -> dict:
        return {"rules": list((after or {}).get("rules", []))}


class Masquerade(TaggedRules):
    kind = "masquerade"

    def __init__(self, params: dict, module) -> None:
        self.source = norm.network(params["source"], "source")
        super().__init__(params, module, norm.family_of(self.source), tag("masquerade", self.source))
        self.out_interface = norm.ifname(params.get("out_interface"), "out_interface")
        self.forwarding = params.get("forwarding", True) is not False
        self.forward_key = FORWARD_KEY[self.family]

    def label(self) -> str:
        return f"masquerade {self.source}{where(self.ns)}"

    def identity(self) -> dict:
        return {"netns": self.ns, "source": self.source}

    def want_rules(self) -> list[Rule]:
        return masquerade_rules(self.source, self.out_interface, self.forwarding, self.tag)

    def extra_read(self, session: Session) -> dict:
        return {self.forward_key: read_sysctls(session, self.ns, [self.forward_key])[self.forward_key]}

    def extra_want(self) -> dict:
        return {self.forward_key: "1" if self.forwarding else None}

    def extra_changes(self, before: dict | None, want: dict | None) -> list[Change]:
        if not (want and self.forwarding):
            return []
        return sysctl_changes(
            self.ns, {self.forward_key: (before or {}).get(self.forward_key)}, {self.forward_key: "1"}
        )
