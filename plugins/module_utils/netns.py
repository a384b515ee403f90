# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The netns resource: a named network namespace under /run/netns, its loopback and its net.* sysctls."""

from __future__ import annotations

import os

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._deps import pyroute2_netns
from ansible_collections.netns.core.plugins.module_utils._netlink import Session, netns_path, netns_status
from ansible_collections.netns.core.plugins.module_utils._resource import Change, Resource
from ansible_collections.netns.core.plugins.module_utils.sysctl import apply_sysctl, read_sysctls, sysctl_changes

LOOPBACK = "lo"


class Netns(Resource):
    kind = "netns"

    def __init__(self, params: dict) -> None:
        super().__init__(params)
        self.name = norm.netns_name(params["name"], "name")
        self.loopback = params.get("loopback", True) is not False
        self.sysctl = {
            norm.sysctl_key(key, "sysctl key"): norm.sysctl_value(value, f"sysctl {key}")
            for key, value in (params.get("sysctl") or {}).items()
        }

    def label(self) -> str:
        return f"netns {self.name}"

    def read(self, session: Session) -> dict | None:
        status = netns_status(self.name)
        if status == "absent":
            return None
        if status == "stale":
            return {"name": self.name, "stale": True}
        lo = session.view(self.name).link(LOOPBACK)
        return {
            "name": self.name,
            "loopback": bool(lo and lo["up"]),
            "sysctl": read_sysctls(session, self.name, sorted(self.sysctl)) if self.state == "present" else {},
        }

    def desired(self) -> dict | None:
        if self.state == "absent":
            return None
        return {"name": self.name, "loopback": self.loopback, "sysctl": dict(self.sysctl)}

    def plan(self, before: dict | None, want: dict | None) -> list[Change]:
        if want is None:
            if before is None:
                return []
            if before.get("stale"):
                return [Change("unlink", self.name, {}, f"remove stale netns file {netns_path(self.name)}")]
            return [Change("delete", self.name, {}, f"delete netns {self.name}")]
        changes: list[Change] = []
        have = before
        if before is None or before.get("stale"):
            if before is not None:
                changes.append(
                    Change(
                        "unlink",
                        self.name,
                        {},
                        f"remove stale netns file {netns_path(self.name)} (no namespace mounted)",
                    )
                )
            changes.append(Change("create", self.name, {}, f"create netns {self.name}"))
            have = {"name": self.name, "loopback": False, "sysctl": {}}
        if have["loopback"] != want["loopback"]:
            changes.append(
                Change(
                    "loopback",
                    self.name,
                    {"up": want["loopback"]},
                    f"bring lo {'up' if want['loopback'] else 'down'} in netns {self.name}",
                )
            )
        return changes + sysctl_changes(self.name, have["sysctl"], want["sysctl"])

    def predict(self, before: dict | None, want: dict | None) -> dict | None:
        if before is not None and before.get("stale"):
            before = None
        return super().predict(before, want)

    def apply(self, session: Session, change: Change) -> None:
        if change.op == "create":
            pyroute2_netns.create(self.name)
        elif change.op == "delete":
            session.forget(self.name)
            pyroute2_netns.remove(self.name)
        elif change.op == "unlink":
            os.unlink(netns_path(self.name))
        elif change.op == "loopback":
            ipr = session.ipr(self.name)
            ipr.link("set", index=ipr.link_lookup(ifname=LOOPBACK)[0], state="up" if change.args["up"] else "down")
        elif change.op == "sysctl":
            apply_sysctl(session, change)
        session.invalidate(self.name)
