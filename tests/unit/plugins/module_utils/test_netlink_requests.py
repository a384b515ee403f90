# SPDX-License-Identifier: GPL-3.0-or-later
"""The changes Rtnl sends through its plain socket are byte for byte what pyroute2's IPRoute sends for the same
call: each request function against pyroute2's request compiler (IPBatch), sequence number and port id aside."""

from __future__ import annotations

import struct

import pytest
from pyroute2.iproute.linux import IPBatch

from ansible_collections.netns.core.plugins.module_utils._netlink import (
    NLMSG_HEADER,
    address_request,
    del_link,
    new_bridge,
    new_veth,
    route_request,
    set_link,
)


def ours(request: tuple) -> bytes:
    kind, flags, message = request
    message.encode()
    body = bytes(message.data[NLMSG_HEADER.size :])
    return NLMSG_HEADER.pack(NLMSG_HEADER.size + len(body), kind, flags, 0, 0) + body


def pyroute2s(call) -> bytes:
    batch = IPBatch()
    try:
        call(batch)
        data = bytearray(batch.asyncore.batch)
    finally:
        batch.close()
    length = struct.unpack_from("=L", data)[0]
    assert length == len(data), "one message"
    struct.pack_into("=LL", data, 8, 0, 0)  # sequence number, port id
    return bytes(data)


CASES = {
    "veth into a namespace, with mtu": (
        new_veth("veth-c0", "eth0", 5, 1400),
        lambda b: b.link(
            "add", ifname="veth-c0", kind="veth", peer={"ifname": "eth0", "net_ns_fd": 5, "mtu": 1400}, mtu=1400
        ),
    ),
    "veth in one namespace": (
        new_veth("veth-a", "veth-b", None, None),
        lambda b: b.link("add", ifname="veth-a", kind="veth", peer={"ifname": "veth-b"}),
    ),
    "bridge with stp and mtu": (
        new_bridge("br0", True, 9000),
        lambda b: b.link("add", ifname="br0", kind="bridge", br_stp_state=1, mtu=9000),
    ),
    "bridge": (new_bridge("br0", False, None), lambda b: b.link("add", ifname="br0", kind="bridge", br_stp_state=0)),
    "up": (set_link(7, up=True), lambda b: b.link("set", index=7, state="up")),
    "down": (set_link(7, up=False), lambda b: b.link("set", index=7, state="down")),
    "master": (set_link(7, IFLA_MASTER=3), lambda b: b.link("set", index=7, master=3)),
    "no master": (set_link(7, IFLA_MASTER=0), lambda b: b.link("set", index=7, master=0)),
    "mtu": (set_link(7, IFLA_MTU=1400), lambda b: b.link("set", index=7, mtu=1400)),
    "alias": (set_link(7, IFLA_IFALIAS="netns.core net"), lambda b: b.link("set", index=7, ifalias="netns.core net")),
    "move": (set_link(7, IFLA_NET_NS_FD=5), lambda b: b.link("set", index=7, net_ns_fd=5)),
    "delete": (del_link(7), lambda b: b.link("del", index=7)),
    "add IPv4": (
        address_request("add", 7, "10.98.0.2", 16, 4),
        lambda b: b.addr("add", index=7, address="10.98.0.2", prefixlen=16),
    ),
    "add IPv6 nodad": (
        address_request("add", 7, "fd00::2", 64, 6, flags=2),
        lambda b: b.addr("add", index=7, address="fd00::2", prefixlen=64, flags=2),
    ),
    "delete IPv4": (
        address_request("del", 7, "10.98.0.2", 16, 4),
        lambda b: b.addr("del", index=7, address="10.98.0.2", prefixlen=16),
    ),
    "delete IPv6": (
        address_request("del", 7, "fd00::2", 64, 6),
        lambda b: b.addr("del", index=7, address="fd00::2", prefixlen=64),
    ),
    "default route via a gateway": (
        route_request("replace", 2, "0.0.0.0", 0, 254, 0, proto=4, gateway="10.98.0.1"),
        lambda b: b.route("replace", proto=4, family=2, dst="0.0.0.0", dst_len=0, table=254, priority=0,
                          gateway="10.98.0.1"),
    ),
    "link route in another table": (
        route_request("replace", 2, "10.0.0.0", 8, 1000, 5, proto=4, oif=3, scope=253),
        lambda b: b.route("replace", proto=4, family=2, dst="10.0.0.0", dst_len=8, table=1000, priority=5, oif=3,
                          scope=253),
    ),
    "IPv6 onlink route": (
        route_request("replace", 10, "fd00:1::", 64, 254, 1024, proto=4, gateway="fd00::1", oif=4, flags=4),
        lambda b: b.route("replace", proto=4, family=10, dst="fd00:1::", dst_len=64, table=254, priority=1024,
                          gateway="fd00::1", oif=4, flags=4),
    ),
    "delete a route": (
        route_request("del", 2, "10.0.0.0", 8, 1000, 0, oif=3, scope=255),
        lambda b: b.route("del", scope=255, family=2, dst="10.0.0.0", dst_len=8, table=1000, priority=0, oif=3),
    ),
    "delete a default route": (
        route_request("del", 10, "::", 0, 254, 1024, gateway="fd00::1", scope=255),
        lambda b: b.route("del", scope=255, family=10, dst="::", dst_len=0, table=254, priority=1024,
                          gateway="fd00::1"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_request_is_what_pyroute2_sends(case):
    request, call = CASES[case]
    assert ours(request) == pyroute2s(call)


def test_an_unknown_command_raises():
    with pytest.raises(ValueError, match="unknown address command"):
        address_request("change", 7, "10.0.0.1", 24, 4)
    with pytest.raises(ValueError, match="unknown route command"):
        route_request("add", 2, "0.0.0.0", 0, 254, 0)
