# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.network's front door: items checked like the single modules, ordered by state, planned once."""

from __future__ import annotations

import pytest

from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._network import build_items
from ansible_collections.netns.core.plugins.module_utils._resource import Change, Outcome, without_promised
from ansible_collections.netns.core.plugins.module_utils._sysctl import Sysctl

SPEC = {
    "namespaces": [{"name": "red", "sysctl": {"net.ipv4.ip_forward": 1}}],
    "sysctls": [{"name": "net.ipv4.ip_forward", "value": 1}],
    "bridges": [{"name": "br0"}],
    "veths": [{"name": "veth-red", "peer": "eth0", "peer_netns": "red", "master": "br0"}],
    "routes": [{"netns": "red", "destination": "default", "gateway": "10.0.0.1"}],
    "masquerades": [{"source": "10.0.0.0/24"}],
}


def test_present_order_and_coming_namespaces():
    items, coming = build_items({**SPEC, "state": "present"}, module=None)
    assert [i.section for i in items] == ["namespaces", "sysctls", "bridges", "veths", "routes", "masquerades"]
    assert coming == {"red"}
    assert all(i.resource.state == "present" for i in items)
    assert items[2].resource.stp is False  # defaults of the single module applied


def test_absent_reverses_and_leaves_sysctls():
    items, coming = build_items({**SPEC, "state": "absent"}, module=None)
    assert [i.section for i in items] == ["masquerades", "routes", "veths", "bridges", "namespaces"]
    assert coming == set()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"veths": [{"name": "a"}]}, r"veths\[0\]: missing required arguments: peer"),
        ({"bridges": [{"name": "b", "stp": "maybe"}]}, r"bridges\[0\]: .*stp"),
        ({"routes": [{"destination": "x", "gateway": "10.0.0.1", "via": 1}]}, r"routes\[0\]: .*via"),
        ({"routes": [{"destination": "10.0.0.5/24", "gateway": "10.0.0.1"}]}, r"routes\[0\]: destination .* host bits"),
        ({"namespaces": ["red"]}, r"namespaces\[0\]: each item must be a dict"),
        ({"masquerades": [{"source": "10.0.0.0/8"}, {"source": "10.0.0.0/8"}]}, r"masquerades\[1\] describes the same"),
    ],
)
def test_refusals_name_the_item(spec, message):
    with pytest.raises(NetnsCoreError, match=message):
        build_items({"state": "present", **spec}, module=None)


def test_a_sysctl_planned_earlier_in_the_call_is_not_planned_again():
    resource = Sysctl({"name": "net.ipv4.ip_forward", "value": 1, "netns": "r"})
    write = Change("sysctl", "net.ipv4.ip_forward", {"ns": "r", "key": "net.ipv4.ip_forward", "value": "1"}, "set")
    promised: set = set()
    first = without_promised(Outcome(True, None, {}, ["set"], resource, [write]), promised)
    assert first.changed and first.actions == ["set"]
    second = without_promised(Outcome(True, {"v": 0}, {"v": 1}, ["set"], resource, [write]), promised)
    assert not second.changed and second.actions == [] and second.after == {"v": 0}
