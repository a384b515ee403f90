# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.network's front door: items checked like the single modules, ordered by state, planned once."""

from __future__ import annotations

import pytest

from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._network import build_items

SPEC = {
    "namespaces": [{"name": "red", "sysctl": {"net.ipv4.ip_forward": 1}}],
    "sysctls": [{"name": "net.ipv4.ip_forward", "value": 1}],
    "bridges": [{"name": "br0"}],
    "veths": [{"name": "veth-red", "peer": "eth0", "peer_netns": "red", "master": "br0"}],
    "routes": [{"netns": "red", "destination": "default", "gateway": "10.0.0.1"}],
    "masquerades": [{"source": "10.0.0.0/24"}],
}


def test_present_order():
    items = build_items({**SPEC, "state": "present"}, module=None)
    assert [i.section for i in items] == ["namespaces", "sysctls", "bridges", "veths", "routes", "masquerades"]
    assert all(i.resource.state == "present" for i in items)
    assert items[2].resource.stp is False  # defaults of the single module applied


def test_absent_reverses_and_leaves_sysctls():
    items = build_items({**SPEC, "state": "absent"}, module=None)
    assert [i.section for i in items] == ["masquerades", "routes", "veths", "bridges", "namespaces"]


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


def test_the_networks_hosts_table_reaches_every_namespace_without_its_own_once_normalised():
    table = {"web": ["10.98.0.2"], "db": ["10.98.0.3"]}
    items = build_items(
        {
            "hosts": table,
            "namespaces": [{"name": "web"}, {"name": "db"}, {"name": "own", "hosts": {"x": ["10.0.0.9"]}}],
        }
    )
    files = {item.resource.name: item.resource.files["hosts"] for item in items}
    assert files["web"] is files["db"], "one list of lines for the shared table, not one per namespace"
    assert files["web"][-2:] == ["10.98.0.3\tdb", "10.98.0.2\tweb"]
    assert files["own"][-1] == "10.0.0.9\tx"


def test_a_bad_hosts_table_is_refused_naming_the_option():
    with pytest.raises(NetnsCoreError, match=r"^hosts: name 'my db' is not a valid host"):
        build_items({"hosts": {"my db": ["10.0.0.3"]}, "namespaces": [{"name": "web"}]})
