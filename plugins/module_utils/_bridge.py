# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The bridge resource: a Linux bridge in a namespace, with addresses, mtu and STP."""

from __future__ import annotations

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._iface import (
    CONFIG_OPS,
    apply_config,
    config_changes,
    fragile_addresses,
    fresh_state,
    index_of,
    interface_state,
    kind_conflict,
    where,
)
from ansible_collections.netns.core.plugins.module_utils._netlink import Session
from ansible_collections.netns.core.plugins.module_utils._resource import Change, Resource


class Bridge(Resource):
    kind = "bridge"

    def __init__(self, params: dict) -> None:
        super().__init__(params)
        self.name = norm.ifname(params["name"], "name")
        self.ns = norm.netns_name(params.get("netns"))
        self.addresses = norm.address_list(params.get("addresses"))
        self.mtu = norm.positive_int(params.get("mtu"), "mtu", 68, 65535)
        self.stp = bool(params.get("stp"))

    def label(self) -> str:
        return f"bridge {self.name}{where(self.ns)}"

    def namespaces(self) -> list[tuple[str, str]]:
        return [("netns", self.ns)]

    def read(self, session: Session) -> dict | None:
        view = session.view(self.ns)
        kind_conflict(view, self.name, "bridge", "name")
        state = interface_state(view, self.name)
        if state is None:
            return None
        state["stp"] = view.link(self.name).get("stp", False)
        self._fragile = fragile_addresses(view, self.name)
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

    def plan(self, before: dict | None, want: dict | None) -> list[Change]:
        at = f"{self.name}{where(self.ns)}"
        if want is None:
            if before is None:
                return []
            return [Change("delete", self.name, {"ns": self.ns}, f"delete bridge {at} (its ports are released)")]
        changes: list[Change] = []
        have = before
        if before is None:
            stp = " with stp on" if self.stp else ""
            changes.append(
                Change(
                    "create", self.name, {"ns": self.ns, "mtu": self.mtu, "stp": self.stp}, f"create bridge {at}{stp}"
                )
            )
            have = {**fresh_state(self.name, self.ns, "bridge", self.mtu), "stp": self.stp}
        elif have.get("stp") != self.stp:
            changes.append(
                Change(
                    "set_stp",
                    self.name,
                    {"ns": self.ns, "stp": self.stp},
                    f"turn stp {'on' if self.stp else 'off'} on bridge {at}",
                )
            )
        fragile = getattr(self, "_fragile", frozenset()) if before is not None else frozenset()
        return changes + config_changes(have, {**want, "master": None}, fragile)

    def predict(self, before: dict | None, want: dict | None) -> dict | None:
        if before is None and want is not None:
            before = {**fresh_state(self.name, self.ns, "bridge", self.mtu), "stp": self.stp}
        return super().predict(before, want)

    def apply(self, session: Session, change: Change) -> None:
        ipr = session.ipr(self.ns)
        if change.op == "create":
            extra = {"mtu": self.mtu} if self.mtu else {}
            ipr.link("add", ifname=self.name, kind="bridge", br_stp_state=int(self.stp), **extra)
        elif change.op == "set_stp":
            ipr.link(
                "set", index=index_of(session, self.ns, self.name, "name"), kind="bridge", br_stp_state=int(self.stp)
            )
        elif change.op == "delete":
            ipr.link("del", index=index_of(session, self.ns, self.name, "name"))
        elif change.op in CONFIG_OPS:
            apply_config(session, change)
            return
        session.invalidate(self.ns, indexes=change.op == "delete")
