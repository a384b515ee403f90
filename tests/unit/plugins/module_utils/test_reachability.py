# SPDX-License-Identifier: GPL-3.0-or-later
"""reachability without a kernel: option checks, ICMP packets built and parsed, and the failure message."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.netns.core.plugins.module_utils import _reachability as reach
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError


def probes(*items, **params):
    return reach.build_probes({"probes": list(items), **params})


def test_defaults_and_the_host():
    (probe,), matrix = probes({"to": "10.0.0.1", "from": "host"}, timeout=3)
    assert (probe.source, probe.port, probe.expect, probe.timeout, probe.protocol) == (
        None,
        None,
        "reachable",
        3.0,
        "icmp",
    )
    (probe,) = probes({"to": "10.0.0.1", "from": "red", "port": 80, "timeout": 0.5, "expect": "unreachable"})[0]
    assert (probe.source, probe.protocol, probe.timeout) == ("red", "tcp", 0.5)
    assert probes(matrix=["a", "b"])[1] == ["a", "b"]


@pytest.mark.parametrize(
    ("item", "params", "fragment"),
    [
        ({"to": "x", "port": 0}, {}, "probes[0].port: 0 is not a TCP port"),
        ({"to": "x", "port": 70000}, {}, "probes[0].port: 70000"),
        ({"to": " "}, {}, "probes[0].to: give an address or a name"),
        ({"to": "x", "from": "a/b"}, {}, "probes[0].from 'a/b' is not a valid namespace name"),
        ({"to": "x", "timeout": 0}, {}, "probes[0].timeout: 0 must be more than 0"),
        ({"to": "x"}, {"timeout": 61}, "timeout: 61 must be more than 0 and at most 60"),
        ({"to": "x"}, {"matrix": ["a", "a"]}, "matrix: each namespace once"),
    ],
)
def test_refusals_name_the_option(item, params, fragment):
    with pytest.raises(NetnsCoreError) as error:
        probes(item, **params)
    assert fragment in error.value.msg


def test_lists_of_sources_and_targets_make_one_probe_each():
    made = probes({"from": ["a", "b"], "to": ["10.0.0.1", "web"], "port": 22}, {"to": "10.0.0.9"})[0]
    assert [(p.source, p.to, p.port, p.where) for p in made] == [
        ("a", "10.0.0.1", 22, "probes[0]"),
        ("a", "web", 22, "probes[0]"),
        ("b", "10.0.0.1", 22, "probes[0]"),
        ("b", "web", 22, "probes[0]"),
        (None, "10.0.0.9", None, "probes[1]"),
    ]
    with pytest.raises(NetnsCoreError, match=r"probes\[0\]\.to: \{'x': 1\} is not a name or an address"):
        probes({"to": [{"x": 1}]})


def test_echo_request_and_reply_ipv4():
    packet = reach.echo_request(4, 0x1234, 7)
    kind, code, check, ident, seq = struct.unpack("!BBHHH", packet[:8])
    assert (kind, code, ident, seq) == (8, 0, 0x1234, 7)
    assert reach.checksum(packet) == 0  # a valid checksum sums to zero
    ip_header = bytes([0x45]) + bytes(19)
    reply = bytes([0, 0]) + packet[2:]
    assert reach.parse_icmp(4, ip_header + reply) == ("reply", 0x1234, 7, None)
    unreachable = bytes([3, 1, 0, 0, 0, 0, 0, 0]) + ip_header + packet[:8]
    assert reach.parse_icmp(4, ip_header + unreachable) == ("error", 0x1234, 7, "destination unreachable (code 1)")
    assert reach.parse_icmp(4, ip_header + packet) is None  # someone else's echo request


def test_echo_request_and_reply_ipv6():
    packet = reach.echo_request(6, 9, 65535)
    assert packet[0] == 128 and packet[2:4] == b"\0\0"  # the kernel fills in the ICMPv6 checksum
    reply = bytes([129, 0]) + packet[2:]
    assert reach.parse_icmp(6, reply) == ("reply", 9, 65535, None)
    inner_ipv6 = bytes(6) + bytes([58]) + bytes(33)
    error = bytes([1, 3, 0, 0, 0, 0, 0, 0]) + inner_ipv6 + packet[:8]
    assert reach.parse_icmp(6, error) == ("error", 9, 65535, "destination unreachable (code 3)")


def test_a_probe_line_and_report():
    (probe,) = probes({"to": "web", "from": "red", "port": 80})[0]
    probe.address, probe.result, probe.error = "10.0.0.2", "unreachable", "connection refused"
    assert probe.line() == "red -> web (10.0.0.2) port 80 is unreachable: connection refused, expected reachable"
    report = probe.report()
    assert report["from"] == "red" and report["as_expected"] is False and report["protocol"] == "tcp"
