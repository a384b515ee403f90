# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input fails before anything changes, with a message naming the option and the value."""

from __future__ import annotations

import pytest
from conftest import fails_cleanly, sh

CASES = [
    ("veth", {"name": "veth-averylongname", "peer": "p"}, ["veth-averylongname", "18 characters", "15"]),
    ("veth", {"name": "a/b", "peer": "p"}, ["'a/b'", "'/'"]),
    ("veth", {"name": "v1", "peer": "v1"}, ["peer", "same"]),
    ("veth", {"name": "v1", "peer": "p1", "addresses": ["10.0.0.1"]}, ["addresses", "10.0.0.1", "CIDR"]),
    ("veth", {"name": "v1", "peer": "p1", "addresses": ["10.0.0.1/64"]}, ["addresses", "10.0.0.1/64"]),
    ("veth", {"name": "v1", "peer": "p1", "peer_netns": "../etc"}, ["peer_netns", "'../etc'"]),
    ("netns", {"name": "red;reboot"}, ["name", "'red;reboot'"]),
    ("netns", {"name": "$(touch /tmp/x)"}, ["name", "$(touch /tmp/x)"]),
    ("bridge", {"name": "br0", "addresses": ["10.0.0.1/33"]}, ["addresses", "10.0.0.1/33"]),
    ("bridge", {"name": "br 0"}, ["'br 0'", "contains ' '"]),
    ("netns_route", {"destination": "10.0.0.5/24", "gateway": "10.0.0.1"}, ["destination", "did you mean 10.0.0.0/24"]),
    ("netns_route", {"destination": "default", "gateway": "10.0.0.300"}, ["gateway", "10.0.0.300"]),
    ("netns_route", {"destination": "10.1.0.0/16", "gateway": "fd00::1"}, ["gateway", "IPv6", "IPv4"]),
    ("masquerade", {"source": "not-a-net"}, ["source", "not-a-net"]),
    ("sysctl", {"name": "net.ipv4/../../kernel", "value": 1}, ["name", "net.ipv4/../../kernel"]),
]


@pytest.mark.parametrize(("module", "args", "fragments"), CASES, ids=[f"{case[0]}-{i}" for i, case in enumerate(CASES)])
def test_bad_input_changes_nothing(module, args, fragments):
    sh("ip netns add red; ip link add br1 type bridge")
    fails_cleanly(module, args, *fragments)  # a real run and a check run
