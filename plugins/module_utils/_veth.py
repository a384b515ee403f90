# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The veth resource: a pair whose ends live in (possibly different) namespaces, each born in place."""

from __future__ import annotations

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._iface import (
    CONFIG_OPS,
    apply_config,
    config_changes,
    fragile_addresses,
    fresh_state,
    index_of,
    interface_state,
    require_bridge,
    where,
)
from ansible_collections.netns.core.plugins.module_utils._netlink import Link, Session
from ansible_collections.netns.core.plugins.module_utils._resource import Change, Resource

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
        self.mtu = norm.positive_int(params.get("mtu"), "mtu", 68, 65535)
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

    def label(self) -> str:
        return f"veth {self.name}{where(self.ns)} <-> {self.peer}{where(self.peer_ns)}"

    def namespaces(self) -> list[tuple[str, str]]:
        return [("netns", self.ns), ("peer_netns", self.peer_ns)]

    # -- read ---------------------------------------------------------------------------------------------
    def read(self, session: Session) -> dict | None:
        """The pair as it is, wherever its ends are; an interface in the way that is not this pair is an error."""
        end = self._veth_or_none(session, self.ns, self.name, "name")
        if end is not None:
            peer_ns, peer = self._peer_of(session, self.ns, end, self.peer_ns)
            self._expect_name(peer, self.peer, self.name, self.ns, peer_ns, "peer")
            return self._pair_state(session, (self.ns, end), (peer_ns, peer))
        peer = self._veth_or_none(session, self.peer_ns, self.peer, "peer")
        if peer is not None:
            end_ns, end = self._peer_of(session, self.peer_ns, peer, self.ns)
            self._expect_name(end, self.name, self.peer, self.peer_ns, end_ns, "name")
            return self._pair_state(session, (end_ns, end), (self.peer_ns, peer))
        return None

    @staticmethod
    def _veth_or_none(session: Session, ns: str | None, name: str, option: str) -> Link | None:
        link = session.view(ns).link(name)
        if link is not None and link["kind"] != "veth":
            raise NetnsCoreError(
                f"{option} {name!r}: an interface of that name already exists{where(ns) or ' in the host namespace'}"
                f" and is a {link['kind'] or 'physical/unknown device'}, not a veth; refusing to touch it"
            )
        return link

    @staticmethod
    def _peer_of(session: Session, ns: str | None, link: Link, expected_ns: str | None) -> tuple[str | None, Link]:
        """The other end of a veth and the namespace it is in."""
        if link["peer_nsid"] is None:
            peer_ns = ns
        else:
            peer_ns = session.find_by_nsid(ns, link["peer_nsid"], expected_ns)
            if peer_ns == "?":
                raise NetnsCoreError(
                    f"the peer of veth {link['name']!r}{where(ns)} is in a namespace with no name under /run/netns; "
                    "refusing to touch it"
                )
        peer = session.view(peer_ns).link_by_index(link["peer_index"])
        if peer is None:
            raise NetnsCoreError(f"cannot find the peer of veth {link['name']!r}{where(ns)}")
        return peer_ns, peer

    @staticmethod
    def _expect_name(found: Link, wanted: str, name: str, ns: str | None, found_ns: str | None, option: str) -> None:
        if found["name"] != wanted:
            raise NetnsCoreError(
                f"{option} {wanted!r}: interface {name!r}{where(ns) or ' in the host namespace'} is a veth whose peer"
                f" is {found['name']!r}{where(found_ns) or ' in the host namespace'}, not this pair; refusing to "
                "touch it"
            )

    def _pair_state(self, session: Session, end: tuple[str | None, Link], peer: tuple[str | None, Link]) -> dict:
        self._fragile = {
            "end": fragile_addresses(session.view(end[0]), end[1]["name"]),
            "peer": fragile_addresses(session.view(peer[0]), peer[1]["name"]),
        }
        return {
            "end": interface_state(session.view(end[0]), end[1]["name"]),
            "peer": interface_state(session.view(peer[0]), peer[1]["name"]),
        }

    # -- want, plan ---------------------------------------------------------------------------------------
    def desired(self) -> dict | None:
        if self.state == "absent":
            return None
        return {side: dict(self.want_ends[side]) for side in ENDS}

    def validate_live(self, session: Session, before: dict | None, want: dict | None, check_mode: bool) -> None:
        if want is None:
            return
        for side, option in (("end", "master"), ("peer", "peer_master")):
            end = want[side]
            missing = require_bridge(session.view(end["netns"]), end["master"], option, check_mode)
            if missing:
                self.assume(missing)

    def plan(self, before: dict | None, want: dict | None) -> list[Change]:
        if want is None:
            if before is None:
                return []
            end = before["end"]
            return [Change("delete", end["name"], {"ns": end["netns"]}, f"delete veth pair {self._describe(before)}")]
        changes: list[Change] = []
        fragile = dict(getattr(self, "_fragile", {})) if before is not None else {}
        if before is None:
            changes.append(Change("create", self.name, {}, f"create veth pair {self._describe(want)}"))
            have = {side: fresh_state(want[side]["name"], want[side]["netns"], "veth", self.mtu) for side in ENDS}
        else:
            have = {side: dict(before[side]) for side in ENDS}
            for side in ENDS:
                if have[side]["netns"] != want[side]["netns"]:
                    target = want[side]["netns"]
                    changes.append(
                        Change(
                            "move",
                            want[side]["name"],
                            {"ns": have[side]["netns"], "to": target},
                            f"move {want[side]['name']} into {f'netns {target}' if target else 'the host'}",
                        )
                    )
                    moved = fresh_state(want[side]["name"], target, "veth", have[side]["mtu"])
                    have[side] = moved
                    fragile.pop(side, None)
        for side in ENDS:
            changes.extend(config_changes(have[side], want[side], fragile.get(side, frozenset())))
        return changes

    @staticmethod
    def _describe(state: dict) -> str:
        end, peer = state["end"], state["peer"]
        return f"{end['name']}{where(end['netns'])} <-> {peer['name']}{where(peer['netns'])}"

    def predict(self, before: dict | None, want: dict | None) -> dict | None:
        if before is None and want is not None:
            before = {side: fresh_state(want[side]["name"], want[side]["netns"], "veth", self.mtu) for side in ENDS}
        return super().predict(before, want)

    # -- apply --------------------------------------------------------------------------------------------
    def apply(self, session: Session, change: Change) -> None:
        if change.op == "create":
            peer = {"ifname": self.peer}
            if self.peer_ns != self.ns:
                peer["net_ns_fd"] = session.ns_fd(self.peer_ns)
            extra = {}
            if self.mtu:
                extra["mtu"] = peer["mtu"] = self.mtu
            session.ipr(self.ns).link("add", ifname=self.name, kind="veth", peer=peer, **extra)
            session.invalidate(self.ns, indexes=False)
            session.invalidate(self.peer_ns, indexes=False)
        elif change.op == "move":
            ns = change.args["ns"]
            session.ipr(ns).link(
                "set", index=index_of(session, ns, change.target), net_ns_fd=session.ns_fd(change.args["to"])
            )
            session.invalidate(everything=True)
        elif change.op == "delete":
            ns = change.args["ns"]
            session.ipr(ns).link("del", index=index_of(session, ns, change.target))
            session.invalidate(everything=True)
        elif change.op in CONFIG_OPS:
            apply_config(session, change)
