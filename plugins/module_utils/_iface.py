# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Configuration shared by every interface we manage (a veth end, a bridge): mtu, master, addresses, up."""

from __future__ import annotations

import ipaddress

from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._netlink import NsView, Session, read_sysctl
from ansible_collections.netns.core.plugins.module_utils._normalize import is_link_local
from ansible_collections.netns.core.plugins.module_utils._resource import Change

DEFAULT_MTU = 1500


def where(ns: str | None) -> str:
    return f" in netns {ns}" if ns else ""


def interface_state(view: NsView, name: str) -> dict | None:
    link = view.link(name)
    if link is None:
        return None
    return {
        "name": name,
        "netns": view.ns,
        "kind": link["kind"],
        "mtu": link["mtu"],
        "master": link["master"],
        "up": link["up"],
        "addresses": view.addresses(name),
    }


def fragile_addresses(view: NsView, name: str) -> frozenset[str]:
    """IPv4 secondaries the kernel deletes together with their primary (net.ipv4.conf.<if>.promote_secondaries=0)."""
    secondaries = view.secondaries(name)
    if not secondaries:
        return frozenset()
    promote = read_sysctl(view.session, view.ns, f"net.ipv4.conf.{name}.promote_secondaries")
    return frozenset() if promote == "1" else frozenset(secondaries)


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


def config_changes(have: dict, want: dict, fragile: frozenset[str] = frozenset()) -> list[Change]:
    """Changes that take an existing interface from `have` to `want` (None in want = left as it is).

    Order: mtu, master, addresses, up (an interface comes up configured). `fragile`: see fragile_addresses().
    """
    name, ns = want["name"], want["netns"]
    at = f"{name}{where(ns)}"
    base = {"ns": ns, "name": name}
    changes: list[Change] = []
    if want.get("mtu") is not None and want["mtu"] != have.get("mtu"):
        changes.append(Change("set_mtu", name, {**base, "mtu": want["mtu"]}, f"set mtu {want['mtu']} on {at}"))
    if want.get("master") is not None and want["master"] != have.get("master"):
        changes.append(
            Change("set_master", name, {**base, "master": want["master"]}, f"attach {at} to bridge {want['master']}")
        )
    if want.get("addresses") is not None:
        changes.extend(address_changes(have, want, base, at, fragile))
    if want.get("up") and not have.get("up"):
        changes.append(Change("set_up", name, base, f"bring {at} up"))
    return changes


def address_changes(have: dict, want: dict, base: dict, at: str, fragile: frozenset[str]) -> list[Change]:
    """Removals (secondaries before primaries), then additions.

    Removing a primary IPv4 address makes the kernel drop the secondaries of its subnet with it (unless
    promote_secondaries is on). A wanted secondary lost that way is added back, and the plan says so.
    """
    have_addresses = [a for a in have.get("addresses") or [] if not is_link_local(a)]
    removed = [a for a in have_addresses if a not in want["addresses"]]
    removed.sort(key=lambda a: a not in fragile)  # secondaries first: their primary's removal would take them
    dropped = {
        kept
        for gone in removed
        if gone not in fragile
        for kept in fragile
        if kept in want["addresses"] and _same_subnet(kept, gone)
    }
    changes = [
        Change("del_address", base["name"], {**base, "address": a}, f"remove address {a} from {at}") for a in removed
    ]
    for address in want["addresses"]:
        if address in dropped:
            text = f"add address {address} to {at} again (the kernel drops secondaries with their primary)"
        elif address not in have_addresses:
            text = f"add address {address} to {at}"
        else:
            continue
        changes.append(Change("add_address", base["name"], {**base, "address": address}, text))
    return changes


def _same_subnet(one: str, other: str) -> bool:
    a, b = ipaddress.ip_interface(one), ipaddress.ip_interface(other)
    return a.version == b.version and a.network == b.network


CONFIG_OPS = frozenset({"set_mtu", "set_master", "del_address", "add_address", "set_up"})


def index_of(session: Session, ns: str | None, name: str, option: str = "interface") -> int:
    index = session.view(ns).index(name)
    if index is None:
        raise NetnsCoreError(f"{option} {name!r} does not exist{where(ns) or ' in the host namespace'}")
    return index


def apply_config(session: Session, change: Change) -> None:
    ns, name = change.args["ns"], change.args["name"]
    ipr = session.ipr(ns)
    index = index_of(session, ns, name)
    if change.op == "set_mtu":
        ipr.link("set", index=index, mtu=change.args["mtu"])
    elif change.op == "set_master":
        master = index_of(session, ns, change.args["master"], "master")
        ipr.link("set", index=index, master=master)
    elif change.op in ("add_address", "del_address"):
        iface = ipaddress.ip_interface(change.args["address"])
        ipr.addr(
            "add" if change.op == "add_address" else "del",
            index=index,
            address=str(iface.ip),
            prefixlen=iface.network.prefixlen,
        )
    elif change.op == "set_up":
        ipr.link("set", index=index, state="up")
    else:
        raise NetnsCoreError(f"internal error: unknown interface change {change.op}")
    session.invalidate(ns, indexes=False)


def require_bridge(view: NsView, master: str | None, option: str, check_mode: bool) -> str | None:
    """A master must be a bridge in the end's namespace; check mode plans one that does not exist yet (and returns
    what it assumed)."""
    if master is None:
        return None
    link = view.link(master) if view.exists else None
    if link is None:
        missing = f"{option} {master!r}: no such bridge{where(view.ns) or ' in the host namespace'}"
        if check_mode:
            return missing
        raise NetnsCoreError(missing)
    if link["kind"] != "bridge":
        raise NetnsCoreError(f"{option} {master!r}{where(view.ns)} is a {link['kind'] or 'device'}, not a bridge")
    return None


def kind_conflict(view: NsView, name: str, expected: str, option: str) -> None:
    link = view.link(name)
    if link is not None and link["kind"] != expected:
        raise NetnsCoreError(
            f"{option} {name!r}: an interface of that name already exists{where(view.ns)} and is a "
            f"{link['kind'] or 'physical/unknown device'}, not a {expected}; refusing to touch it"
        )
