# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The isolation resource: traffic between one bridge and every other bridge netns.core manages is dropped.

"Every other bridge netns.core manages" is read from the kernel when the plan is made: each bridge in the namespace
that carries another network's owner mark (its alias, see _ownership). Per other bridge, two tagged drops (one each
way) ahead of every accept: the iptables backend writes them into mangle FORWARD (the kernel runs it before filter
FORWARD, so they win over any accept there, under policy ACCEPT or DROP), the nftables backend at the top of our
forward chain. Connections to a published port (DNAT) pass: the host's address is the outside's way in too.
A bridge made after the plan is covered by the next run (or by its own network's isolation, which drops both ways).
"""

from __future__ import annotations

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._firewall import ForwardDropRule
from ansible_collections.netns.core.plugins.module_utils._iptables import tag
from ansible_collections.netns.core.plugins.module_utils._masquerade import TaggedRules
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel, where


def isolation_intents(family: int, bridge: str, others: list[str], comment: str) -> list:
    """Two drops per other bridge, one each way (pure)."""
    rules: list = []
    for other in sorted(others):
        rules += [
            ForwardDropRule(family, comment, bridge, other),
            ForwardDropRule(family, comment, other, bridge),
        ]
    return rules


def managed_bridges(model: KernelModel, ns: str | None, bridge: str, owner: str | None) -> list[str]:
    """The bridges of the namespace that carry another netns.core network's owner mark (not this one's)."""
    found = []
    for name in model.link_names(ns):
        link = model.link(ns, name)
        if name != bridge and link and link["kind"] == "bridge":
            other = model.owner(ns, name)
            if other is not None and other != owner:
                found.append(name)
    return found


class Isolation(TaggedRules):
    kind = "isolation"
    accepts_forward = False

    def __init__(self, params: dict) -> None:
        self.bridge = norm.ifname(params["bridge"], "bridge")
        family = params.get("family") or 4
        if family not in (4, 6):
            raise NetnsCoreError(f"family {family!r} is not 4 or 6")
        super().__init__(params, family, tag("isolation", self.bridge))
        self.owner = norm.owner(params.get("owner"))
        if params.get("isolated") is False:  # listed, not isolated: its drops are removed (as by state=absent)
            self.state = "absent"

    def label(self) -> str:
        return f"isolation of bridge {self.bridge} (IPv{self.family}){where(self.ns)}"

    def identity(self) -> dict:
        return {"netns": self.ns, "bridge": self.bridge, "family": self.family}

    def intents(self) -> list:
        return []

    def planned_intents(self, model: KernelModel) -> list:
        others = managed_bridges(model, self.ns, self.bridge, self.owner) if model.exists(self.ns) else []
        return isolation_intents(self.family, self.bridge, others, self.tag)
