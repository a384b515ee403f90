# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The netns resource: a named network namespace under /run/netns, its loopback and its net.* sysctls."""

from __future__ import annotations

import os

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._deps import pyroute2_netns
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._netlink import Session, netns_path, netns_status
from ansible_collections.netns.core.plugins.module_utils._resource import Change, Resource
from ansible_collections.netns.core.plugins.module_utils._sysctl import apply_sysctl, read_sysctls, sysctl_changes

LOOPBACK = "lo"


def namespace_id(path: str) -> str:
    """'net:[INODE]', as readlink /proc/PID/ns/net prints it, for a namespace file or a name under /run/netns."""
    return f"net:[{os.stat(path).st_ino}]"


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
        self.pid = norm.positive_int(params.get("pid"), "pid", 1, 2**22)
        self._target: str | None = None

    def label(self) -> str:
        return f"netns {self.name}"

    def touched(self) -> set[str | None]:
        return {self.name}

    def read(self, session: Session) -> dict | None:
        status = netns_status(self.name)
        if status == "absent":
            return None
        if status == "stale":
            return {"name": self.name, "stale": True}
        lo = session.view(self.name).link(LOOPBACK)
        state = {
            "name": self.name,
            "loopback": bool(lo and lo["up"]),
            "sysctl": read_sysctls(session, self.name, sorted(self.sysctl)) if self.state == "present" else {},
        }
        if self.pid is not None:
            state["namespace"] = namespace_id(netns_path(self.name))
        return state

    def desired(self) -> dict | None:
        if self.state == "absent":
            return None
        want = {"name": self.name, "loopback": self.loopback, "sysctl": dict(self.sysctl)}
        if self.pid is not None:
            want["namespace"] = self.target()
        return want

    def target(self) -> str:
        """The network namespace of process `pid`, as `readlink /proc/PID/ns/net` names it."""
        if self._target is None:
            try:
                self._target = namespace_id(f"/proc/{self.pid}/ns/net")
            except FileNotFoundError:
                raise NetnsCoreError(f"pid {self.pid}: no such process") from None
            except PermissionError:
                raise NetnsCoreError(f"pid {self.pid}: reading its network namespace needs root") from None
        return self._target

    def validate_live(self, session: Session, before: dict | None, want: dict | None, check_mode: bool) -> None:
        if want is None or self.pid is None or before is None or before.get("stale"):
            return
        if before["namespace"] != want["namespace"]:
            raise NetnsCoreError(
                f"netns {self.name!r} already names another network namespace ({before['namespace']}) than the one "
                f"of pid {self.pid} ({want['namespace']}); remove that name first or choose another"
            )

    def plan(self, before: dict | None, want: dict | None) -> list[Change]:
        if want is None:
            if before is None:
                return []
            if before.get("stale"):
                return [Change("unlink", self.name, {}, f"remove stale netns file {netns_path(self.name)}")]
            if self.pid is not None:
                text = f"remove the name {self.name} (the namespace lives on with its processes)"
                return [Change("delete", self.name, {}, text)]
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
            if self.pid is not None:
                text = f"attach netns {self.name} to the network namespace of pid {self.pid} ({want['namespace']})"
                changes.append(Change("attach", self.name, {"pid": self.pid}, text))
            else:
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
            session.create_netns(self.name)
        elif change.op == "attach":
            try:
                pyroute2_netns.attach(self.name, change.args["pid"])
            except OSError:
                if netns_status(self.name) == "stale":
                    os.unlink(netns_path(self.name))  # the mount failed: leave no empty file behind
                raise
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
        session.invalidate(self.name, indexes=change.op != "loopback")
