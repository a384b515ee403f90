# SPDX-License-Identifier: GPL-3.0-or-later
"""Record real rtnetlink messages for the unit tests of the netlink parsers.

Builds a small scene in the sandbox (a bridge with STP and one without, a veth whose peer is in namespace red, a
veth pair on the host, IPv4 primary + secondary and IPv6 addresses, routes with and without a gateway, in the
main table and table 100), dumps links, addresses and routes over a plain AF_NETLINK socket (no pyroute2: the
bytes are the kernel's) and writes them as hex to the fixture file:

    tests/sandbox.sh python3 tests/tools/record_netlink.py [tests/unit/plugins/module_utils/fixtures/netlink.json]

It refuses to run outside tests/sandbox.sh. MAC addresses are fixed, so a re-recording differs only where the
kernel's messages do.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import struct
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "unit" / "plugins" / "module_utils" / "fixtures" / "netlink.json"

SCENE = [
    "ip netns add red",
    "ip link add br0 address 02:00:00:00:0b:00 type bridge stp_state 0",
    "ip link add br-stp address 02:00:00:00:0b:01 type bridge stp_state 1",
    "ip link add veth0 address 02:00:00:00:00:01 mtu 1400 type veth peer name eth0 address 02:00:00:00:00:02 netns red",
    "ip link add v1 address 02:00:00:00:00:03 type veth peer name v2 address 02:00:00:00:00:04",
    "ip link set veth0 master br0",
    "ip link set br0 up",
    "ip link set veth0 up",
    "ip addr add 10.0.0.1/24 dev br0",
    "ip addr add 10.0.0.2/24 dev br0",  # secondary: 10.0.0.1/24 is the primary of that subnet
    "ip addr add 10.9.0.1/16 dev br0",
    "ip addr add fd00::1/64 dev br0 nodad",
    "ip -n red link set lo up",
    "ip -n red link set eth0 up",
    "ip -n red addr add 10.0.0.5/24 dev eth0",
    "ip -n red addr add fd00::5/64 dev eth0 nodad",
    "ip -n red route add default via 10.0.0.1",
    "ip -n red route add 203.0.113.0/24 dev eth0 metric 50 table 100",
    "ip -n red -6 route add default via fd00::1",
]

NLMSG_DONE, NLMSG_ERROR = 3, 2
RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE = 18, 22, 26
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
REQUESTS = {
    # nlmsg type, family header: ifinfomsg (16 bytes), ifaddrmsg (8), rtmsg (12), all zero = every family
    "links": (RTM_GETLINK, bytes(16)),
    "addresses": (RTM_GETADDR, bytes(8)),
    "routes": (RTM_GETROUTE, bytes(12)),
}


def dump(what: str) -> list[str]:
    """Every message of one rtnetlink dump in this process's network namespace, as hex."""
    kind, body = REQUESTS[what]
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        sock.send(struct.pack("=IHHII", 16 + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
        messages = []
        while True:
            data = sock.recv(1 << 20)
            offset = 0
            while offset < len(data):
                length, msg_type = struct.unpack_from("=IH", data, offset)
                if msg_type == NLMSG_DONE:
                    return messages
                if msg_type == NLMSG_ERROR:
                    raise SystemExit(f"netlink error dumping {what}")
                messages.append(data[offset : offset + length].hex())
                offset += (length + 3) & ~3


def in_sandbox() -> bool:
    return os.environ.get("NETNS_CORE_SANDBOX") == "1" and sorted(os.listdir("/sys/class/net")) == ["lo"]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--dump"]:  # the child, run inside a namespace: print one dump
        print(json.dumps(dump(argv[1])))
        return 0
    if not in_sandbox():
        print(
            "refusing to run outside a fresh sandbox: tests/sandbox.sh python3 " + " ".join(sys.argv), file=sys.stderr
        )
        return 3
    out = Path(argv[0]) if argv else FIXTURE
    for command in SCENE:
        subprocess.run(command.split(), check=True)

    def dump_in(ns: str, what: str) -> list[str]:
        argv = ["ip", "netns", "exec", ns, sys.executable, __file__, "--dump", what]
        return json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)

    fixture = {
        "recorded_by": "tests/tools/record_netlink.py (in tests/sandbox.sh)",
        "kernel": platform.release(),
        "scene": SCENE,
        "dumps": {
            "host links": dump("links"),
            "host addresses": dump("addresses"),
            "red links": dump_in("red", "links"),
            "red addresses": dump_in("red", "addresses"),
            "red routes": dump_in("red", "routes"),
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"{out}: " + ", ".join(f"{key} {len(value)}" for key, value in fixture["dumps"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
