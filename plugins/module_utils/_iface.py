# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Configuration shared by every interface we manage (a veth end, a bridge): mtu, master, addresses, up."""

from __future__ import annotations

import ipaddress

from ansible_collections.netns.core.plugins.module_utils._constants import DEFAULT_MTU
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel, where, where_or_host
from ansible_collections.netns.core.plugins.module_utils._normalize import is_link_local
from ansible_collections.netns.core.plugins.module_utils._ops import (
    AddAddress,
    DelAddress,
    Op,
    SetMaster,
    SetMtu,
    SetUp,
)


def fresh_state(name: str, ns: str | None, kind: str, mtu: int | None) -> dict:
    """What a just-created interface looks like: no master, no address, down."""
    return {
        "name": name,
        "netns": ns,
        "kind": kind,
        "mtu": mtu or DEFAULT_MTU,
        "master": None,
        "up": False,
        "addresses": [],
    }


def config_changes(have: dict, want: dict, lost_with_primary: frozenset[str] = frozenset()) -> list[Op]:
    """Operations that take an existing interface from `have` to `want` (None in want = left as it is).

    Order: mtu, master, addresses, up (an interface comes up configured). `lost_with_primary`: the IPv4
    secondaries the kernel deletes with their primary (KernelModel.secondaries_lost_with_primary).
    """
    name, ns = want["name"], want["netns"]
    at = f"{name}{where(ns)}"
    ops: list[Op] = []
    if want.get("mtu") is not None and want["mtu"] != have.get("mtu"):
        ops.append(SetMtu(ns, name, want["mtu"]).says(f"set mtu {want['mtu']} on {at}"))
    if want.get("master") is not None and want["master"] != have.get("master"):
        ops.append(SetMaster(ns, name, want["master"]).says(f"attach {at} to bridge {want['master']}"))
    if want.get("addresses") is not None:
        ops.extend(address_changes(have, want, at, lost_with_primary))
    if want.get("up") and not have.get("up"):
        ops.append(SetUp(ns, name, True).says(f"bring {at} up"))
    return ops


def address_changes(have: dict, want: dict, at: str, lost_with_primary: frozenset[str]) -> list[Op]:
    """Removals (secondaries before primaries), then additions.

    Removing a primary IPv4 address makes the kernel drop the secondaries of its subnet with it (unless
    promote_secondaries is on). A wanted secondary lost that way is added back, and the plan says so.
    """
    name, ns = want["name"], want["netns"]
    have_addresses = [a for a in have.get("addresses") or [] if not is_link_local(a)]
    removed = [a for a in have_addresses if a not in want["addresses"]]
    removed.sort(key=lambda a: a not in lost_with_primary)  # secondaries first: their primary's removal takes them
    dropped = {
        kept
        for gone in removed
        if gone not in lost_with_primary
        for kept in lost_with_primary
        if kept in want["addresses"] and _same_subnet(kept, gone)
    }
    ops: list[Op] = [DelAddress(ns, name, a).says(f"remove address {a} from {at}") for a in removed]
    for address in want["addresses"]:
        if address in dropped:
            text = f"add address {address} to {at} again (the kernel drops secondaries with their primary)"
        elif address not in have_addresses:
            text = f"add address {address} to {at}"
        else:
            continue
        ops.append(AddAddress(ns, name, address).says(text))
    return ops


def _same_subnet(one: str, other: str) -> bool:
    a, b = ipaddress.ip_interface(one), ipaddress.ip_interface(other)
    return a.version == b.version and a.network == b.network


def require_bridge(model: KernelModel, ns: str | None, master: str | None, option: str) -> None:
    """A master must be a bridge in the end's namespace (or be planned as one by an earlier item of the call);
    a check run may plan around one that is missing."""
    if master is None:
        return
    link = model.link(ns, master) if model.exists(ns) else None
    if link is None:
        model.missing(f"{option} {master!r}: no such bridge{where_or_host(ns)}")
    elif link["kind"] != "bridge":
        raise NetnsCoreError(f"{option} {master!r}{where(ns)} is a {link['kind'] or 'device'}, not a bridge")


def refuse_other_kind(model: KernelModel, ns: str | None, name: str, expected: str, option: str) -> None:
    """An interface of this name that is not of the expected kind is someone else's: never touched."""
    link = model.link(ns, name)
    if link is not None and link["kind"] != expected:
        raise NetnsCoreError(
            f"{option} {name!r}: an interface of that name already exists{where_or_host(ns)} and is a "
            f"{link['kind'] or 'physical/unknown device'}, not a {expected}; refusing to touch it"
        )
