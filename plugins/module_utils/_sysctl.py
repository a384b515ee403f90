# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The sysctl resource: one runtime net.* sysctl inside a namespace (nothing persisted)."""

from __future__ import annotations

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel, where, where_or_host
from ansible_collections.netns.core.plugins.module_utils._ops import Op, WriteSysctl
from ansible_collections.netns.core.plugins.module_utils._resource import Resource


def sysctl_changes(model: KernelModel, ns: str | None, have: dict, want: dict) -> list[Op]:
    """Set every key of `want` whose value differs from `have`; a write that could not converge is refused."""
    ops: list[Op] = []
    for key, value in sorted(want.items()):
        if have.get(key) == value:
            continue
        refusal = model.sysctl_refusal(ns, key, value)
        if refusal:
            raise NetnsCoreError(refusal)
        ops.append(WriteSysctl(ns, key, value).says(f"set {key}={value}{where(ns)}"))
    return ops


def read_sysctls(model: KernelModel, ns: str | None, keys: list[str]) -> dict:
    """Current values of `keys` in `ns`; in a namespace this call makes they read as unset."""
    values = {}
    for key in keys:
        value = model.sysctl(ns, key)
        if value is None and model.knows_sysctls(ns):
            raise NetnsCoreError(f"sysctl {key!r} does not exist{where_or_host(ns)}")
        values[key] = value
    return values


class Sysctl(Resource):
    kind = "sysctl"

    def __init__(self, params: dict) -> None:
        super().__init__(params)
        self.key = norm.sysctl_key(params["name"], "name")
        self.value = norm.sysctl_value(params["value"], "value")
        self.ns = norm.netns_name(params.get("netns"))

    def label(self) -> str:
        return f"sysctl {self.key}{where(self.ns)}"

    def namespaces(self) -> list[tuple[str, str | None]]:
        return [("netns", self.ns)]

    def read(self, model: KernelModel) -> dict | None:
        return {"netns": self.ns, "name": self.key, "value": read_sysctls(model, self.ns, [self.key])[self.key]}

    def desired(self) -> dict | None:
        return {"netns": self.ns, "name": self.key, "value": self.value}

    def plan(self, model: KernelModel, before: dict | None, want: dict | None) -> list[Op]:
        return sysctl_changes(model, self.ns, {self.key: (before or {}).get("value")}, {self.key: want["value"]})
