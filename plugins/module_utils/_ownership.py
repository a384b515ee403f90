# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Which network made an object, and what a network may do to objects it did not make.

A network call with an owner (netns.core.network's `owner`; the roles pass their network's name) marks every
namespace, bridge and veth end it makes: the link's alias (IFLA_IFALIAS, for a namespace the alias of its lo) is
"netns.core owner=NAME". The mark lives in the kernel with the object: it survives a crash of the run, dies with
the object, and check mode reads it like everything else. So:
- an object another network marked is never changed, adopted or removed (a removal leaves it, and says so);
- an unmarked object of ours (made before marks existed, or by a run killed before it marked it) is marked;
- a namespace that holds interfaces this call does not make is someone else's: it is refused (and left alone by
  a removal) unless the namespace item says `adopt: true`.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.netns.core.plugins.module_utils._constants import LOOPBACK, OWNER_PREFIX
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel, where
from ansible_collections.netns.core.plugins.module_utils._ops import Op, SetAlias


def mark(owner: str) -> str:
    return OWNER_PREFIX + owner


def claim(model: KernelModel, ns: str | None, name: str, owner: str | None, what: str) -> list[Op]:
    """An existing link this call wants: refused if another network marked it; marked if nobody did."""
    if owner is None:
        return []
    current = model.owner(ns, name)
    if current == owner:
        return []
    if current is not None:
        raise NetnsCoreError(
            f"{what} belongs to network {current!r}, and this is network {owner!r}: refusing to touch it (give "
            f"this network another name for it, or remove it from {current!r} first)"
        )
    return [SetAlias(ns, name, mark(owner)).says(f"mark {what} as network {owner}'s")]


def mark_new(ns: str | None, name: str, owner: str | None, what: str) -> list[Op]:
    """A link this call creates gets its network's mark."""
    if owner is None:
        return []
    return [SetAlias(ns, name, mark(owner)).says(f"mark {what} as network {owner}'s")]


def someone_elses(model: KernelModel, ns: str | None, name: str, owner: str | None, what: str) -> bool:
    """state=absent: a link another network marked is left as it is (and the result says so)."""
    current = model.owner(ns, name)
    if owner is None or current in (None, owner):
        return False
    model.left.append(f"{what} left as it is: it belongs to network {current!r}, not {owner!r}")
    return True


def foreign_interfaces(model: KernelModel, ns: str) -> list[str]:
    """The interfaces of a namespace that no object of this call is (someone else made them)."""
    return [name for name in model.link_names(ns) if name != LOOPBACK and (ns, name) not in model.claims]


def claim_namespace(model: KernelModel, ns: str, owner: str | None, adopt: bool) -> list[Op]:
    """An existing namespace this call wants (see the module docstring)."""
    what = f"netns {ns}"
    if owner is None:
        return []
    current = model.owner(ns, LOOPBACK)
    if current == owner:
        return []
    if current is not None:
        return claim(model, ns, LOOPBACK, owner, what)  # refuses
    foreign = foreign_interfaces(model, ns)
    if foreign and not adopt:
        raise NetnsCoreError(
            f"{what} already exists and holds interfaces this network does not make ({', '.join(foreign)}): it "
            "is someone else's; refusing to adopt it (name the container otherwise, or set adopt: true on this "
            "namespace to make it this network's)"
        )
    return [SetAlias(ns, LOOPBACK, mark(owner)).says(f"mark {what} as network {owner}'s")]


def leave_namespace(model: KernelModel, ns: str, owner: str | None) -> bool:
    """state=absent: leave a namespace another network marked, or an unmarked one holding others' interfaces."""
    if owner is None:
        return False
    if someone_elses(model, ns, LOOPBACK, owner, f"netns {ns}"):
        return True
    foreign = foreign_interfaces(model, ns) if model.owner(ns, LOOPBACK) is None else []
    if foreign:
        model.left.append(
            f"netns {ns} left as it is: it is not marked as network {owner!r}'s and holds interfaces this network"
            f" does not make ({', '.join(foreign)})"
        )
        return True
    return False


def overlapping(model: KernelModel, ns: str | None, name: str, addresses: list[str], owner: str) -> None:
    """A network's gateway subnet must not overlap an address another interface of its namespace holds, unless
    that interface is the same network's (an overlay's VXLAN device holds its subnet's VTEP address)."""
    mine = [ipaddress.ip_interface(a).network for a in addresses]
    for other, held in model.all_addresses(ns).items():
        if other == name or model.owner(ns, other) == owner:
            continue
        for address in held:
            theirs = ipaddress.ip_interface(address)
            for net in mine:
                if net.version == theirs.version and net.overlaps(theirs.network):
                    who = model.owner(ns, other)
                    by = f" (network {who!r})" if who else ""
                    raise NetnsCoreError(
                        f"subnet {net} of network {owner!r} overlaps {address} on {other}{by}{where(ns)}: two "
                        "networks on one host need subnets apart"
                    )
