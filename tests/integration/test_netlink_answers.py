# SPDX-License-Identifier: GPL-3.0-or-later
"""Contract: what the engine reads through its plain netlink socket (Rtnl, AnswerKind: attributes decoded when
asked for) equals what pyroute2's message classes decode from the same kernel, for every kind of state the
engine reads: links of each kind (veth across namespaces, bridge with STP, VXLAN over IPv4 and IPv6, alias, MTU,
master, down), IPv4 primary and secondary and IPv6 addresses, routes of several tables, types, scopes and flags,
permanent neighbours, FDB entries and namespace ids."""

from __future__ import annotations

import os
import sys

from conftest import COLLECTIONS, sh

sys.path.insert(0, COLLECTIONS)

from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg  # noqa: E402
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: E402
from pyroute2.netlink.rtnl.ndmsg import ndmsg  # noqa: E402
from pyroute2.netlink.rtnl.nsidmsg import nsidmsg  # noqa: E402
from pyroute2.netlink.rtnl.rtmsg import rtmsg  # noqa: E402

from ansible_collections.netns.core.plugins.module_utils import _netlink  # noqa: E402

STATE = """set -e
ip netns add a
ip link add veth-a type veth peer name eth0 netns a
ip link add br0 type bridge stp_state 1
ip link set veth-a master br0 mtu 1400 alias 'netns.core test'
ip link set br0 up; ip link set veth-a up
ip addr add 10.98.0.1/24 dev br0; ip addr add 10.98.0.9/24 dev br0; ip addr add fd98::1/64 dev br0 nodad
ip -n a link set lo up; ip -n a link set eth0 up mtu 1400
ip -n a addr add 10.98.0.2/24 dev eth0; ip -n a addr add 10.98.0.3/24 dev eth0; ip -n a addr add 10.99.0.2/16 dev eth0
ip -n a addr add fd98::2/64 dev eth0 nodad
ip -n a link add vx4 type vxlan id 42 local 10.98.0.2 dev eth0 dstport 4789 nolearning
ip -n a link add vx6 type vxlan id 4242 local fd98::2 dstport 8472 learning
ip -n a link add down0 type veth peer name down1
ip -n a link set vx4 up; ip -n a link set vx6 up
ip -n a route add default via 10.98.0.1 metric 5
ip -n a route add 172.16.0.0/16 via 10.98.0.1 dev eth0 table 100 onlink
ip -n a route add blackhole 192.0.2.0/24 table 2000
ip -n a route add 10.200.0.0/24 dev eth0 scope link proto static metric 7
ip -n a -6 route add default via fd98::1 metric 1024
ip -n a -6 route add fd99::/64 dev eth0 table 100
ip -n a neigh add 10.250.0.1 lladdr 0e:00:00:00:00:01 dev vx4 nud permanent
ip -n a neigh add fd98::99 lladdr 0e:00:00:00:00:02 dev vx6 nud permanent
bridge -n a fdb append 0e:00:00:00:00:01 dev vx4 dst 10.98.0.9 self permanent
bridge -n a fdb append 0e:00:00:00:00:02 dev vx6 dst fd98::1 self permanent
"""


def pyroute2_answer(message_class):
    """A decoder for Rtnl that reads with one of pyroute2's message classes (every attribute)."""

    def decode(data, offset: int, length: int):
        message = message_class(data[offset : offset + length])
        message.decode()
        return message

    return decode


def read_both(ns, what):
    """(ours, pyroute2's) for one kind of dump in `ns`, through the same socket."""
    session = _netlink.Session()
    try:
        rtnl = session.rtnl(ns)
        ours = getattr(rtnl, what[0])(*what[1:])
        kind, decode, body = {
            "links": (_netlink.RTM_GETLINK, ifinfmsg, None),
            "addresses": (_netlink.RTM_GETADDR, ifaddrmsg, None),
            "routes": (_netlink.RTM_GETROUTE, rtmsg, None),
            "neighbours": (_netlink.RTM_GETNEIGH, ndmsg, None),
        }[what[0]]
        captured = []
        original = _netlink.Rtnl.dump

        def capture(self, kind_, decode_, body_):
            captured.append(body_)
            return original(self, kind_, decode_, body_)

        _netlink.Rtnl.dump = capture
        try:
            getattr(rtnl, what[0])(*what[1:])
        finally:
            _netlink.Rtnl.dump = original
        theirs = rtnl.dump(kind, pyroute2_answer(decode), captured[0])
        return ours, theirs
    finally:
        session.close()


def address_fields(message):
    return tuple(message[f] for f in ("family", "prefixlen", "flags", "scope", "index")) + (
        message.get("IFA_ADDRESS"),
        message.get("IFA_LOCAL"),
        message.get("IFA_FLAGS"),
    )


def route_fields(message):
    return _netlink.parse_route(message, lambda index: index), message["type"], message["scope"], message["table"]


def neighbour_fields(message):
    return message["ifindex"], message["family"], message["state"], message.get("NDA_DST"), message.get("NDA_LLADDR")


def test_our_answers_are_what_pyroute2_decodes():
    sh(STATE)
    compared = {}
    for ns in (None, "a"):
        ours, theirs = read_both(ns, ("links",))
        assert [_netlink.parse_link(m) for m in ours] == [_netlink.parse_link(m) for m in theirs]
        compared[("links", ns)] = len(ours)
        ours, theirs = read_both(ns, ("addresses",))
        assert [address_fields(m) for m in ours] == [address_fields(m) for m in theirs]
        compared[("addresses", ns)] = len(ours)
        for family in (2, 10):
            ours, theirs = read_both(ns, ("routes", family))
            assert [route_fields(m) for m in ours] == [route_fields(m) for m in theirs]
            compared[("routes", family, ns)] = len(ours)
        for family in (_netlink.AF_UNSPEC, _netlink.AF_BRIDGE):
            ours, theirs = read_both(ns, ("neighbours", family))
            assert [neighbour_fields(m) for m in ours] == [neighbour_fields(m) for m in theirs]
            compared[("neighbours", family, ns)] = len(ours)
    # the comparison saw every kind of state built above (not two empty lists)
    links = {link["name"]: link for link in map(_netlink.parse_link, read_both("a", ("links",))[0])}
    vx4 = {"vni": 42, "port": 4789, "local": "10.98.0.2", "link_index": links["eth0"]["index"], "learning": False}
    assert links["vx4"]["vxlan"] == vx4
    assert links["vx6"]["vxlan"]["local"] == "fd98::2" and links["vx6"]["vxlan"]["learning"]
    assert links["eth0"]["peer_nsid"] is not None and links["down0"]["up"] is False
    host = {link["name"]: link for link in map(_netlink.parse_link, read_both(None, ("links",))[0])}
    assert host["br0"]["stp"] is True and host["veth-a"]["alias"] == "netns.core test"
    assert host["veth-a"]["master_index"] == host["br0"]["index"]
    assert host["veth-a"]["mtu"] == 1400 and host["br0"]["operstate"] in ("UP", "DOWN", "UNKNOWN")
    routes = [_netlink.parse_route(m, str) for m in read_both("a", ("routes", 2))[0]]
    assert {"table": 100, "onlink": True, "gateway": "10.98.0.1"}.items() <= next(
        r for r in routes if r["destination"] == "172.16.0.0/16"
    ).items()
    fdb = [_netlink.parse_fdb(m) for m in read_both("a", ("neighbours", _netlink.AF_BRIDGE))[0]]
    assert ("0e:00:00:00:00:01", "10.98.0.9") in fdb and ("0e:00:00:00:00:02", "fd98::1") in fdb
    assert compared[("addresses", "a")] >= 6 and compared[("neighbours", _netlink.AF_UNSPEC, "a")] >= 2


def test_the_namespace_id_is_what_pyroute2_decodes():
    sh("ip netns add a; ip link add veth-a type veth peer name eth0 netns a")
    session = _netlink.Session()
    try:
        fd = os.open("/run/netns/a", os.O_RDONLY)
        try:
            ours = session.rtnl(None).nsid(fd)
            body = b"\0\0\0\0" + _netlink._attribute(_netlink.NETNSA_FD, fd.to_bytes(4, sys.byteorder))
            (theirs,) = session.rtnl(None).ask(
                _netlink.RTM_GETNSID, pyroute2_answer(nsidmsg), body, _netlink.NLM_F_REQUEST
            )
        finally:
            os.close(fd)
    finally:
        session.close()
    assert ours == theirs.get("NETNSA_NSID") and 0 <= ours < _netlink.NSID_NOT_ASSIGNED


def test_a_session_keeps_a_bounded_number_of_sockets_open():
    """Reading 100 namespaces holds at most OPEN_RTNLS netlink sockets, and each namespace still reads right
    (a socket closed early is opened again where it belongs)."""
    count = _netlink.OPEN_RTNLS + 36
    sh("\n".join(f"ip netns add n{i}; ip -n n{i} link add name d{i} type veth peer name e{i}" for i in range(count)))

    def sockets() -> int:
        found = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                found += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
            except FileNotFoundError:
                pass  # the directory listing's own fd, closed by now
        return found

    before = sockets()
    session = _netlink.Session()
    try:
        for rounds in range(2):
            for i in range(count):
                names = {link["name"] for link in map(_netlink.parse_link, session.rtnl(f"n{i}").links())}
                assert names == {"lo", f"d{i}", f"e{i}"}, (rounds, i, names)
        assert sockets() - before == _netlink.OPEN_RTNLS
    finally:
        session.close()
    assert sockets() == before
