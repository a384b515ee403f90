# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The sysctl resource: one runtime net.* sysctl inside a namespace (nothing persisted)."""

from __future__ import annotations

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._iface import where
from ansible_collections.netns.core.plugins.module_utils._netlink import Session, read_sysctl, write_sysctl
from ansible_collections.netns.core.plugins.module_utils._resource import Change, Resource


def sysctl_changes(ns: str | None, have: dict, want: dict) -> list[Change]:
    """Set every key of `want` whose value differs from `have` (pure)."""
    return [
        Change("sysctl", key, {"ns": ns, "key": key, "value": value}, f"set {key}={value}{where(ns)}")
        for key, value in sorted(want.items())
        if have.get(key) != value
    ]


def read_sysctls(session: Session, ns: str | None, keys: list[str]) -> dict:
    """Current values of `keys` in `ns`; a namespace that does not exist yet reads as unset."""
    if not session.view(ns).exists:
        return dict.fromkeys(keys)
    values = {}
    for key in keys:
        value = read_sysctl(session, ns, key)
        if value is None:
            raise NetnsCoreError(f"sysctl {key!r} does not exist{where(ns) or ' in the host namespace'}")
        values[key] = value
    return values


def apply_sysctl(session: Session, change: Change) -> None:
    write_sysctl(session, change.args["ns"], change.args["key"], change.args["value"])


class Sysctl(Resource):
    kind = "sysctl"

    def __init__(self, params: dict) -> None:
        super().__init__(params)
        self.key = norm.sysctl_key(params["name"], "name")
        self.value = norm.sysctl_value(params["value"], "value")
        self.ns = norm.netns_name(params.get("netns"))

    def label(self) -> str:
        return f"sysctl {self.key}{where(self.ns)}"

    def namespaces(self) -> list[tuple[str, str]]:
        return [("netns", self.ns)]

    def read(self, session: Session) -> dict | None:
        return {"netns": self.ns, "name": self.key, "value": read_sysctls(session, self.ns, [self.key])[self.key]}

    def desired(self) -> dict | None:
        return {"netns": self.ns, "name": self.key, "value": self.value}

    def plan(self, before: dict | None, want: dict | None) -> list[Change]:
        return sysctl_changes(self.ns, {self.key: (before or {}).get("value")}, {self.key: want["value"]})

    def apply(self, session: Session, change: Change) -> None:
        apply_sysctl(session, change)
