# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.sysctl against the real kernel (inside the sandbox)."""

from __future__ import annotations

from conftest import fails_cleanly, four_steps, sh


def test_inside_a_namespace():
    sh("ip netns add router")
    task = {"netns.core.sysctl": {"netns": "router", "name": "net.ipv6.conf.all.forwarding", "value": 1}}

    def verify():
        assert sh("ip netns exec router sysctl -n net.ipv6.conf.all.forwarding").strip() == "1"
        assert sh("sysctl -n net.ipv6.conf.all.forwarding").strip() == "0"

    (result,) = four_steps([task], verify)
    assert result["diff"] == {
        "before": {"netns": "router", "name": "net.ipv6.conf.all.forwarding", "value": "0"},
        "after": {"netns": "router", "name": "net.ipv6.conf.all.forwarding", "value": "1"},
    }


def test_on_the_sandbox_host_with_a_multi_value_key():
    task = {"netns.core.sysctl": {"name": "net.ipv4.ip_local_port_range", "value": "20000   30000"}}

    def verify():
        assert sh("sysctl -n net.ipv4.ip_local_port_range").split() == ["20000", "30000"]

    four_steps([task], verify)


def test_refused_and_unknown_keys():
    fails_cleanly("sysctl", {"name": "kernel.hostname", "value": "x"}, "kernel.hostname", "net.")
    fails_cleanly("sysctl", {"name": "net.ipv4.no_such_key", "value": "1"}, "net.ipv4.no_such_key", "does not exist")
    fails_cleanly(
        "sysctl",
        {"name": "net.ipv4.ip_forward", "value": 1, "netns": "nope"},
        "netns 'nope' does not exist",
        check_warns=("check mode: netns 'nope' does not exist",),
    )
