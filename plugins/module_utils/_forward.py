# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The forward resource: a tagged FORWARD accept of traffic from one network to another (ahead of a DROP policy)."""

from __future__ import annotations

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._firewall import ForwardAcceptRule
from ansible_collections.netns.core.plugins.module_utils._iptables import tag
from ansible_collections.netns.core.plugins.module_utils._masquerade import TaggedRules
from ansible_collections.netns.core.plugins.module_utils._model import where


class Forward(TaggedRules):
    """Forwarded packets from `source` to `destination` are accepted, new connections included (routed networks
    that reach each other without NAT: the overlay's hosts)."""

    kind = "forward"

    def __init__(self, params: dict) -> None:
        self.source = norm.network(params["source"], "source")
        self.destination = norm.network(params["destination"], "destination")
        family = norm.family_of(self.source)
        if norm.family_of(self.destination) != family:
            raise NetnsCoreError(
                f"destination {params['destination']!r} is IPv{norm.family_of(self.destination)} but source "
                f"{params['source']!r} is IPv{family}"
            )
        super().__init__(params, family, tag("forward", f"{self.source} to {self.destination}"))

    def label(self) -> str:
        return f"forward {self.source} to {self.destination}{where(self.ns)}"

    def identity(self) -> dict:
        return {"netns": self.ns, "source": self.source, "destination": self.destination}

    def intents(self) -> list:
        return [ForwardAcceptRule(self.family, self.tag, source=self.source, destination=self.destination)]
