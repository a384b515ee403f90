# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The port_forward resource: publish a host port to an address inside a container network (DNAT, like -p)."""

from __future__ import annotations

import ipaddress

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._iface import where
from ansible_collections.netns.core.plugins.module_utils._iptables import Rule, tag
from ansible_collections.netns.core.plugins.module_utils._masquerade import TaggedRules

LOOPBACK_NET = {4: "127.0.0.0/8", 6: "::1/128"}


def parse_destination(value: str, default_port: int) -> tuple[str, int]:
    """'10.0.0.2', '10.0.0.2:80', 'fd00::2' or '[fd00::2]:80' -> (ip, port)."""
    text = str(value).strip()
    host, port = text, None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise NetnsCoreError(f"destination {value!r}: write an IPv6 address with a port as [ADDRESS]:PORT")
        port = rest[1:] or None
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise NetnsCoreError(f"destination {value!r}: {host!r} is not an IP address") from None
    if address.is_multicast or address.is_unspecified or address.is_loopback:
        raise NetnsCoreError(f"destination {value!r}: {address} cannot receive a forwarded connection")
    if port is None:
        return str(address), default_port
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise NetnsCoreError(f"destination {value!r}: port {port!r} is not a port number (1-65535)")
    return str(address), int(port)


def port_forward_rules(
    port: int, protocol: str, address: str, to_port: int, in_interface: str | None, comment: str
) -> list[Rule]:
    """The rules of one published port, in the exact form `iptables -S` prints them back (pure)."""
    family = norm.family_of(address)
    host = f"{address}/{32 if family == 4 else 128}"
    target = f"{address}:{to_port}" if family == 4 else f"[{address}]:{to_port}"
    tagged = ("-m", "comment", "--comment", comment)
    proto = ("-p", protocol, "-m", protocol)
    local = ("-m", "addrtype", "--dst-type", "LOCAL")
    inbound = ("-i", in_interface) if in_interface else ()
    rules = [
        # from other machines (and containers, via the host's addresses)
        Rule(
            "nat",
            "PREROUTING",
            (*inbound, "-p", protocol, *local, "-m", protocol, "--dport", str(port), *tagged)
            + ("-j", "DNAT", "--to-destination", target),
        ),
    ]
    if not in_interface:
        # from the host itself, to any of its addresses but loopback
        rules.append(
            Rule(
                "nat",
                "OUTPUT",
                ("!", "-d", LOOPBACK_NET[family], "-p", protocol, *local, "-m", protocol)
                + ("--dport", str(port), *tagged, "-j", "DNAT", "--to-destination", target),
            )
        )
    rules += [
        # pass forwarded traffic even where the FORWARD policy is DROP: in, and the replies
        Rule(
            "filter",
            "FORWARD",
            ("-d", host, *proto, "--dport", str(to_port), "-m", "conntrack", "--ctstate", "DNAT")
            + (*tagged, "-j", "ACCEPT"),
            insert=True,
        ),
        Rule(
            "filter",
            "FORWARD",
            ("-s", host, *proto, "--sport", str(to_port), "-m", "conntrack", "--ctstate", "DNAT")
            + (*tagged, "-j", "ACCEPT"),
            insert=True,
        ),
    ]
    return rules


class PortForward(TaggedRules):
    kind = "port_forward"

    def __init__(self, params: dict, module) -> None:
        self.port = norm.positive_int(params["port"], "port", 1, 65535)
        self.protocol = params.get("protocol") or "tcp"
        if self.protocol not in ("tcp", "udp"):
            raise NetnsCoreError(f"protocol {self.protocol!r} is not tcp or udp")
        self.address, self.to_port = parse_destination(params["destination"], self.port)
        self.in_interface = norm.ifname(params.get("in_interface"), "in_interface")
        family = norm.family_of(self.address)
        super().__init__(params, module, family, tag("port_forward", f"{self.protocol}/{self.port}"))

    def label(self) -> str:
        return f"port_forward {self.protocol}/{self.port} (IPv{self.family}){where(self.ns)}"

    def identity(self) -> dict:
        return {"netns": self.ns, "protocol": self.protocol, "port": self.port, "family": self.family}

    def want_rules(self) -> list[Rule]:
        return port_forward_rules(self.port, self.protocol, self.address, self.to_port, self.in_interface, self.tag)
