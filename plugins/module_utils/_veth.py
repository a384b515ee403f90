# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The veth resource: a pair whose ends live in (possibly different) namespaces, each born in place."""

from __future__ import annotations

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._iface import (
    config_changes,
    fresh_state,
    refuse_other_kind,
    require_bridge,
)
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel, where, where_or_host
from ansible_collections.netns.core.plugins.module_utils._ops import CreateVeth, DeleteLink, MoveLink, Op
from ansible_collections.netns.core.plugins.module_utils._ownership import claim, mark_new, someone_elses
from ansible_collections.netns.core.plugins.module_utils._resource import Resource

ENDS = ("end", "peer")


class Veth(Resource):
    kind = "veth"

    def __init__(self, params: dict) -> None:
        super().__init__(params)
        self.name = norm.ifname(params["name"], "name")
        self.peer = norm.ifname(params["peer"], "peer")
        self.ns = norm.netns_name(params.get("netns"), "netns")
        self.peer_ns = norm.netns_name(params.get("peer_netns"), "peer_netns")
        if self.name == self.peer and self.ns == self.peer_ns:
            raise NetnsCoreError(
                f"peer {self.peer!r} is the same as name {self.name!r} in the same namespace "
                f"({self.ns or 'host'}); give the ends different names or different namespaces"
            )
        self.mtu = norm.mtu(params.get("mtu"))
        self.owner = norm.owner(params.get("owner"))
        self.want_ends = {
            side: {
                "name": name,
                "netns": ns,
                "kind": "veth",
                "mtu": self.mtu,
                "master": norm.ifname(params.get(prefix + "master"), prefix + "master"),
                "up": True,
                "addresses": norm.address_list(params.get(prefix + "addresses"), prefix + "addresses"),
            }
            for side, name, ns, prefix in (("end", self.name, self.ns, ""), ("peer", self.peer, self.peer_ns, "peer_"))
        }
        if self.state == "present":
            for side, option in (("end", "name"), ("peer", "peer")):
                end = self.want_ends[side]
                norm.interface_config(end["name"], self.mtu, end["addresses"], option)

    def claims(self) -> list[tuple[str | None, str]]:
        return [(self.ns, self.name), (self.peer_ns, self.peer)]

    def label(self) -> str:
        return f"veth {self.name}{where(self.ns)} <-> {self.peer}{where(self.peer_ns)}"

    def namespaces(self) -> list[tuple[str, str | None]]:
        return [("netns", self.ns), ("peer_netns", self.peer_ns)]

    # -- read ---------------------------------------------------------------------------------------------
    def read(self, model: KernelModel) -> dict | None:
        """The pair as it is, wherever its ends are; an interface in the way that is not this pair is an error."""
        for ns, name, option, other_ns, other, other_option in (
            (self.ns, self.name, "name", self.peer_ns, self.peer, "peer"),
            (self.peer_ns, self.peer, "peer", self.ns, self.name, "name"),
        ):
            refuse_other_kind(model, ns, name, "veth", option)
            if model.link(ns, name) is None:
                continue
            try:
                found_ns, found = model.peer(ns, name, other_ns)
            except NetnsCoreError as exc:
                if self.state != "absent":
                    raise
                # its other end is in a namespace with no name (one being deleted, or someone else's)
                model.left.append(f"{self.label()} left as it is: {exc.msg}")
                return None
            if found != other:
                text = (
                    f"{other_option} {other!r}: interface {name!r}{where_or_host(ns)} is a veth whose peer"
                    f" is {found!r}{where_or_host(found_ns)}, not this pair"
                )
                if self.state == "absent":
                    model.left.append(f"{self.label()} left as it is: {text} (renamed or rebuilt by someone else)")
                    return None
                raise NetnsCoreError(text + "; refusing to touch it")
            ends = {option: (ns, name), other_option: (found_ns, found)}
            end, peer = ends["name"], ends["peer"]
            return {"end": model.interface(*end), "peer": model.interface(*peer)}
        return None

    # -- want, plan ---------------------------------------------------------------------------------------
    def desired(self) -> dict | None:
        if self.state == "absent":
            return None
        return {side: dict(self.want_ends[side]) for side in ENDS}

    def plan(self, model: KernelModel, before: dict | None, want: dict | None) -> list[Op]:
        if want is None:
            if before is None:
                return []
            end = before["end"]
            if any(
                someone_elses(
                    model, state["netns"], state["name"], self.owner, f"veth {state['name']}{where(state['netns'])}"
                )
                for state in (before["end"], before["peer"])
            ):
                return []
            peer = (before["peer"]["netns"], before["peer"]["name"])
            return [DeleteLink(end["netns"], end["name"], peer).says(f"delete veth pair {self._describe(before)}")]
        for side, option in (("end", "master"), ("peer", "peer_master")):
            require_bridge(model, want[side]["netns"], want[side]["master"], option)
        ops: list[Op] = []
        lost: dict[str, frozenset[str]] = {}
        if before is None:
            ops.append(
                CreateVeth(self.ns, self.name, self.peer_ns, self.peer, self.mtu).says(
                    f"create veth pair {self._describe(want)}"
                )
            )
            have = {side: fresh_state(want[side]["name"], want[side]["netns"], "veth", self.mtu) for side in ENDS}
            for side in ENDS:
                end = want[side]
                ops += mark_new(end["netns"], end["name"], self.owner, f"{end['name']}{where(end['netns'])}")
        else:
            have = {side: dict(before[side]) for side in ENDS}
            for side in ENDS:
                end = have[side]
                ops += claim(model, end["netns"], end["name"], self.owner, f"{end['name']}{where(end['netns'])}")
            for side in ENDS:
                if have[side]["netns"] != want[side]["netns"]:
                    target, name = want[side]["netns"], want[side]["name"]
                    ops.append(
                        MoveLink(have[side]["netns"], name, target).says(
                            f"move {name} into {f'netns {target}' if target else 'the host'}"
                        )
                    )
                    have[side] = fresh_state(name, target, "veth", have[side]["mtu"])
                else:
                    lost[side] = model.secondaries_lost_with_primary(have[side]["netns"], have[side]["name"])
        for side in ENDS:
            ops.extend(config_changes(have[side], want[side], lost.get(side, frozenset())))
        return ops

    @staticmethod
    def _describe(state: dict) -> str:
        end, peer = state["end"], state["peer"]
        return f"{end['name']}{where(end['netns'])} <-> {peer['name']}{where(peer['netns'])}"
