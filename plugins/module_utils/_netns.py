# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The netns resource: a named network namespace under /run/netns, its loopback, its net.* sysctls, and its
names and resolvers (/etc/netns/NAME/hosts and resolv.conf, see _netns_etc)."""

from __future__ import annotations

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._constants import LOOPBACK
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel
from ansible_collections.netns.core.plugins.module_utils._netlink import foreign_netns_error, namespace_id, netns_path
from ansible_collections.netns.core.plugins.module_utils._netns_etc import file_bodies, file_changes, read_files
from ansible_collections.netns.core.plugins.module_utils._ops import (
    AttachNetns,
    CreateNetns,
    DeleteNetns,
    Op,
    SetUp,
    UnlinkStaleNetns,
)
from ansible_collections.netns.core.plugins.module_utils._ownership import claim_namespace, leave_namespace, mark_new
from ansible_collections.netns.core.plugins.module_utils._resource import Resource
from ansible_collections.netns.core.plugins.module_utils._sysctl import read_sysctls, sysctl_changes


class Netns(Resource):
    kind = "netns"

    def __init__(self, params: dict, shared: dict | None = None) -> None:
        super().__init__(params)
        self.name = norm.netns_name(params["name"], "name")
        self.loopback = params.get("loopback", True) is not False
        self.sysctl = {
            norm.sysctl_key(key, "sysctl key"): norm.sysctl_value(value, f"sysctl {key}")
            for key, value in (params.get("sysctl") or {}).items()
        }
        self.pid = norm.positive_int(params.get("pid"), "pid", 1, 2**22)
        self.owner = norm.owner(params.get("owner"))
        self.adopt = bool(params.get("adopt"))
        self.files = file_bodies(
            params, shared
        )  # filename under /etc/netns/NAME -> wanted lines (None: no file of ours)
        self._pid_namespace_id: str | None = None

    def label(self) -> str:
        return f"netns {self.name}"

    def read(self, model: KernelModel) -> dict | None:
        status = model.status(self.name)
        if status == "foreign":
            raise foreign_netns_error(self.name)
        if status == "absent":
            return None
        if status == "stale":
            return {"name": self.name, "stale": True}
        lo = model.link(self.name, LOOPBACK)
        state = {
            "name": self.name,
            "loopback": bool(lo and lo["up"]),
            "sysctl": read_sysctls(model, self.name, sorted(self.sysctl)) if self.state == "present" else {},
        }
        if self.pid is not None:
            state["namespace"] = model.namespace_id(self.name)
        files = read_files(model, self.name)
        if files:
            state["files"] = files
        return state

    def desired(self) -> dict | None:
        if self.state == "absent":
            return None
        want = {"name": self.name, "loopback": self.loopback, "sysctl": dict(self.sysctl)}
        if self.pid is not None:
            want["namespace"] = self.pid_namespace_id()
        if any(body is not None for body in self.files.values()):
            want["files"] = dict(self.files)
        return want

    def pid_namespace_id(self) -> str:
        """The network namespace of process `pid`, as `readlink /proc/PID/ns/net` names it."""
        if self._pid_namespace_id is None:
            try:
                self._pid_namespace_id = namespace_id(f"/proc/{self.pid}/ns/net")
            except FileNotFoundError:
                raise NetnsCoreError(f"pid {self.pid}: no such process") from None
            except PermissionError:
                raise NetnsCoreError(f"pid {self.pid}: reading its network namespace needs root") from None
        return self._pid_namespace_id

    def plan(self, model: KernelModel, before: dict | None, want: dict | None) -> list[Op]:
        stale = before is not None and before.get("stale")
        if want is None:
            # our files go first (the reverse of present), also when the namespace is already gone
            no_files = {name: None for name in self.files}
            if before is None:
                return file_changes(model, self.name, no_files)
            if stale:
                return file_changes(model, self.name, no_files) + [
                    UnlinkStaleNetns(self.name).says(f"remove stale netns file {netns_path(self.name)}")
                ]
            if leave_namespace(model, self.name, self.owner):
                return []
            ops = file_changes(model, self.name, no_files)
            if self.pid is not None:
                text = f"remove the name {self.name} (the namespace lives on with its processes)"
                return [*ops, DeleteNetns(self.name, lives_on=True).says(text)]
            peers = model.links_into(self.name)
            return [*ops, DeleteNetns(self.name, peers).says(f"delete netns {self.name}")]
        if self.pid is not None and before is not None and not stale and before["namespace"] != want["namespace"]:
            raise NetnsCoreError(
                f"netns {self.name!r} already names another network namespace ({before['namespace']}) than the one "
                f"of pid {self.pid} ({want['namespace']}); remove that name first or choose another"
            )
        ops: list[Op] = []
        have = before
        if before is None or stale:
            if stale:
                ops.append(
                    UnlinkStaleNetns(self.name).says(
                        f"remove stale netns file {netns_path(self.name)} (no namespace mounted)"
                    )
                )
            if self.pid is not None:
                text = f"attach netns {self.name} to the network namespace of pid {self.pid} ({want['namespace']})"
                ops.append(AttachNetns(self.name, self.pid, want["namespace"]).says(text))
            else:
                ops.append(CreateNetns(self.name).says(f"create netns {self.name}"))
            ops += mark_new(self.name, LOOPBACK, self.owner, f"netns {self.name}")
            have = {"name": self.name, "loopback": False, "sysctl": {}}
        else:
            ops += claim_namespace(model, self.name, self.owner, self.adopt)
        if have["loopback"] != want["loopback"]:
            ops.append(
                SetUp(self.name, LOOPBACK, want["loopback"]).says(
                    f"bring lo {'up' if want['loopback'] else 'down'} in netns {self.name}"
                )
            )
        ops += sysctl_changes(model, self.name, have["sysctl"], want["sysctl"])
        return ops + file_changes(model, self.name, want.get("files") or {name: None for name in self.files})
