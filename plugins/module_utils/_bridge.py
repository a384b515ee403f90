# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The bridge resource: a Linux bridge in a namespace, with addresses, mtu and STP."""

from __future__ import annotations

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._iface import config_changes, fresh_state, refuse_other_kind
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel, where
from ansible_collections.netns.core.plugins.module_utils._ops import CreateBridge, DeleteLink, Op, SetStp
from ansible_collections.netns.core.plugins.module_utils._ownership import claim, mark_new, overlapping, someone_elses
from ansible_collections.netns.core.plugins.module_utils._resource import Resource


class Bridge(Resource):
    kind = "bridge"

    def __init__(self, params: dict) -> None:
        super().__init__(params)
        self.name = norm.ifname(params["name"], "name")
        self.ns = norm.netns_name(params.get("netns"))
        self.addresses = norm.address_list(params.get("addresses"))
        self.mtu = norm.mtu(params.get("mtu"))
        self.stp = bool(params.get("stp"))
        self.owner = norm.owner(params.get("owner"))
        if self.state == "present":
            norm.interface_config(self.name, self.mtu, self.addresses)

    def claims(self) -> list[tuple[str | None, str]]:
        return [(self.ns, self.name)]

    def label(self) -> str:
        return f"bridge {self.name}{where(self.ns)}"

    def namespaces(self) -> list[tuple[str, str | None]]:
        return [("netns", self.ns)]

    def read(self, model: KernelModel) -> dict | None:
        refuse_other_kind(model, self.ns, self.name, "bridge", "name")
        state = model.interface(self.ns, self.name)
        if state is None:
            return None
        state["stp"] = model.link(self.ns, self.name).get("stp", False)
        return state

    def desired(self) -> dict | None:
        if self.state == "absent":
            return None
        return {
            "name": self.name,
            "netns": self.ns,
            "kind": "bridge",
            "mtu": self.mtu,
            "master": None,
            "up": True,
            "addresses": self.addresses,
            "stp": self.stp,
        }

    def plan(self, model: KernelModel, before: dict | None, want: dict | None) -> list[Op]:
        at = f"{self.name}{where(self.ns)}"
        what = f"bridge {at}"
        if want is None:
            if before is None or someone_elses(model, self.ns, self.name, self.owner, what):
                return []
            return [DeleteLink(self.ns, self.name).says(f"delete bridge {at} (its ports are released)")]
        settled = (
            before is not None
            and before["addresses"] == self.addresses
            and model.owner(self.ns, self.name) == self.owner
        )
        if self.owner is not None and self.addresses and not settled:
            # a new subnet (or a bridge not yet ours) must not overlap another interface's; an unchanged one of
            # ours was checked when it was made (another network is refused at its own run)
            overlapping(model, self.ns, self.name, self.addresses, self.owner)
        ops: list[Op] = []
        have = before
        lost = frozenset()
        if before is None:
            stp = " with stp on" if self.stp else ""
            ops.append(CreateBridge(self.ns, self.name, self.mtu, self.stp).says(f"create bridge {at}{stp}"))
            ops += mark_new(self.ns, self.name, self.owner, what)
            have = {**fresh_state(self.name, self.ns, "bridge", self.mtu), "stp": self.stp}
        else:
            ops += claim(model, self.ns, self.name, self.owner, what)
            lost = model.secondaries_lost_with_primary(self.ns, self.name)
            if have.get("stp") != self.stp:
                ops.append(
                    SetStp(self.ns, self.name, self.stp).says(f"turn stp {'on' if self.stp else 'off'} on bridge {at}")
                )
        return ops + config_changes(have, {**want, "master": None}, lost)
