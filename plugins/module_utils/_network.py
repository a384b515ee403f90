# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Many objects in one call: the same resource classes as the single modules, in dependency order."""

from __future__ import annotations

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._argspec import (
    BRIDGE_OPTIONS,
    FIREWALL_OPTIONS,
    FORWARD_OPTIONS,
    ISOLATION_OPTIONS,
    MASQUERADE_OPTIONS,
    NETEM_OPTIONS,
    NETNS_OPTIONS,
    PORT_FORWARD_OPTIONS,
    ROUTE_OPTIONS,
    SYSCTL_OPTIONS,
    VETH_OPTIONS,
    VXLAN_OPTIONS,
    options,
)
from ansible_collections.netns.core.plugins.module_utils._bridge import Bridge
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._forward import Forward
from ansible_collections.netns.core.plugins.module_utils._isolation import Isolation
from ansible_collections.netns.core.plugins.module_utils._masquerade import Masquerade
from ansible_collections.netns.core.plugins.module_utils._netns import Netns
from ansible_collections.netns.core.plugins.module_utils._netns_etc import hosts_lines
from ansible_collections.netns.core.plugins.module_utils._netns_route import Route
from ansible_collections.netns.core.plugins.module_utils._port_forward import PortForward
from ansible_collections.netns.core.plugins.module_utils._resource import Item, Outcome
from ansible_collections.netns.core.plugins.module_utils._sysctl import Sysctl
from ansible_collections.netns.core.plugins.module_utils._veth import Veth
from ansible_collections.netns.core.plugins.module_utils._vxlan import Vxlan


class Call:
    """What the items of one call share while they are built: the module, and lines already made from a mapping
    shared by many items (a network's hosts table), by the mapping's identity."""

    def __init__(self, module) -> None:
        self.module = module
        self.shared: dict = {}


# (section, options of the single module, how to build its resource) in the order a present run applies them
SECTIONS = (
    ("namespaces", NETNS_OPTIONS, lambda params, call: Netns(params, call.shared)),
    ("sysctls", SYSCTL_OPTIONS, lambda params, call: Sysctl(params)),
    ("bridges", BRIDGE_OPTIONS, lambda params, call: Bridge(params)),
    ("veths", VETH_OPTIONS, lambda params, call: Veth(params)),
    ("vxlans", VXLAN_OPTIONS, lambda params, call: Vxlan(params)),
    ("netems", NETEM_OPTIONS, lambda params, call: _netem(params)),
    ("routes", ROUTE_OPTIONS, lambda params, call: Route(params)),
    ("masquerades", MASQUERADE_OPTIONS, lambda params, call: Masquerade(params)),
    ("forwards", FORWARD_OPTIONS, lambda params, call: Forward(params)),
    ("port_forwards", PORT_FORWARD_OPTIONS, lambda params, call: PortForward(params)),
    ("isolations", ISOLATION_OPTIONS, lambda params, call: Isolation(params)),
)


def _netem(params: dict):
    """A Netem resource; _netem (and the traffic control code under it) loads only for a call that has netems."""
    from ansible_collections.netns.core.plugins.module_utils._netem import Netem

    return Netem(params)


SECTION_NAMES = tuple(entry[0] for entry in SECTIONS)


def validate_item(section: str, index: int, kind_options: dict, item: object) -> dict:
    """One list item checked exactly as the single module checks its options (types, defaults, unknown keys)."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    where = f"{section}[{index}]"
    if not isinstance(item, dict):
        raise NetnsCoreError(f"{where}: each item must be a dict of options, got {item!r}")
    result = ArgumentSpecValidator(options(kind_options, with_state=False)).validate(item)
    if result.error_messages:
        raise NetnsCoreError(f"{where}: " + "; ".join(result.error_messages))
    return result.validated_parameters


def build_items(params: dict, module=None) -> list[Item]:
    """Every object as an Item, in the order the state asks for.

    present: namespaces, sysctls, bridges, veths, vxlans, netems, routes, masquerades, forwards, port_forwards,
    isolations.
    absent: the reverse, sysctls left alone.
    All validation happens here, before anything is read or changed.
    """
    state = params.get("state") or "present"
    owner = norm.owner(params.get("owner"))
    adopt = {norm.netns_name(name, "adopt") for name in params.get("adopt") or []}
    items: list[Item] = []
    call = Call(module)
    table = params.get("hosts")
    if table:  # the network's hosts table, checked once here (its errors name the option `hosts`)
        call.shared[id(table)] = (table, hosts_lines(table, "hosts"))
    for section, kind_options, build in SECTIONS:
        if state == "absent" and section == "sysctls":
            continue
        for index, raw in enumerate(params.get(section) or []):
            checked = validate_item(section, index, kind_options, raw)
            for option in FIREWALL_OPTIONS:  # the call's choice, unless the item makes its own
                if option in kind_options and option not in raw:
                    checked[option] = params.get(option) or FIREWALL_OPTIONS[option]["default"]
            checked["state"] = state
            checked["owner"] = owner
            if section == "namespaces":
                checked["adopt"] = checked["name"] in adopt
                if checked.get("hosts") is None and params.get("hosts"):
                    checked["hosts"] = params["hosts"]  # the network's table: one object, normalised once
            try:
                resource = build(checked, call)
            except NetnsCoreError as exc:
                raise NetnsCoreError(f"{section}[{index}]: {exc.msg}") from None
            items.append(Item(section, index, resource))
    if state == "absent":
        items.reverse()
    claimed: dict[tuple, Item] = {}
    for item in items:
        for ns, name in item.resource.claims():
            other = claimed.setdefault((ns, name), item)
            if other is not item:
                at = f" in netns {ns}" if ns else " in the host namespace"
                raise NetnsCoreError(
                    f"{item.where()} and {other.where()} both want interface {name!r}{at}; one name is one interface"
                )
    labels: dict[tuple[str, str], int] = {}
    for item in items:
        key = (item.section, item.resource.label())
        if key in labels:
            raise NetnsCoreError(
                f"{item.section}[{item.index}] describes the same object as {item.section}[{labels[key]}] "
                f"({item.resource.label()}); list each object once"
            )
        labels[key] = item.index
    return items


def network_result(outcomes: list[Outcome], items: list[Item]) -> dict:
    """changed, actions (every change, in order), diff before/after per section and object, and counts."""
    before: dict[str, dict] = {}
    after: dict[str, dict] = {}
    summary = {section: {"objects": 0, "changed": 0} for section in SECTION_NAMES}
    actions: list[str] = []
    for outcome, item in zip(outcomes, items):  # noqa: B905 (equal lengths by construction; py3.9 targets)
        label = item.resource.label()
        before.setdefault(item.section, {})[label] = outcome.before
        after.setdefault(item.section, {})[label] = outcome.after
        summary[item.section]["objects"] += 1
        summary[item.section]["changed"] += int(outcome.changed)
        actions += outcome.actions
    return {
        "changed": bool(actions),
        "actions": actions,
        "diff": {"before": before, "after": after},
        "summary": summary,
    }
