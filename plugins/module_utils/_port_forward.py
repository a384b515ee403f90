# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The port_forward resource: publish a host port to an address inside a container network (DNAT, like -p)."""

from __future__ import annotations

import ipaddress

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._argspec import PROTOCOLS
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._firewall import DnatRule, ForwardAcceptRule, IptablesBackend
from ansible_collections.netns.core.plugins.module_utils._iptables import Rule, tag
from ansible_collections.netns.core.plugins.module_utils._masquerade import TaggedRules
from ansible_collections.netns.core.plugins.module_utils._model import where


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
    norm.plain_address(address, value, "destination")
    if address.is_multicast or address.is_unspecified or address.is_loopback:
        raise NetnsCoreError(f"destination {value!r}: {address} cannot receive a forwarded connection")
    if port is None:
        return str(address), default_port
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise NetnsCoreError(f"destination {value!r}: port {port!r} is not a port number (1-65535)")
    return str(address), int(port)


def port_forward_intents(
    port: int, protocol: str, address: str, to_port: int, in_interface: str | None, comment: str
) -> list:
    """What one published port wants, as backend-neutral rules (pure)."""
    family = norm.family_of(address)
    host = f"{address}/{32 if family == 4 else 128}"
    rules: list = [DnatRule(family, "prerouting", protocol, port, address, to_port, in_interface, comment)]
    if not in_interface:
        # from the host itself, to any of its addresses but loopback
        rules.append(DnatRule(family, "output", protocol, port, address, to_port, None, comment))
    # pass forwarded traffic even where the FORWARD policy is DROP: in, and the replies
    rules += [
        ForwardAcceptRule(family, comment, destination=host, protocol=protocol, dport=to_port, ctstate="DNAT"),
        ForwardAcceptRule(family, comment, source=host, protocol=protocol, sport=to_port, ctstate="DNAT"),
    ]
    return rules


def port_forward_rules(
    port: int, protocol: str, address: str, to_port: int, in_interface: str | None, comment: str
) -> list[Rule]:
    """The iptables rules of one published port, in the exact form `iptables -S` prints them back (pure)."""
    intents = port_forward_intents(port, protocol, address, to_port, in_interface, comment)
    return [IptablesBackend.render(rule) for rule in intents]


class PortForward(TaggedRules):
    kind = "port_forward"

    def __init__(self, params: dict, module=None) -> None:
        self.port = norm.positive_int(params["port"], "port", 1, 65535)
        self.protocol = params.get("protocol") or "tcp"
        if self.protocol not in PROTOCOLS:
            raise NetnsCoreError(f"protocol {self.protocol!r} is not tcp or udp")
        self.address, self.to_port = parse_destination(params["destination"], self.port)
        self.in_interface = norm.ifname(params.get("in_interface"), "in_interface")
        family = norm.family_of(self.address)
        # the incoming interface is part of the identity: one port published on two interfaces is two objects
        key = f"{self.protocol}/{self.port}" + (f" in {self.in_interface}" if self.in_interface else "")
        super().__init__(params, family, tag("port_forward", key))

    def sibling_tag(self) -> str | None:
        return tag("port_forward", f"{self.protocol}/{self.port}")

    def label(self) -> str:
        inbound = f" in {self.in_interface}" if self.in_interface else ""
        return f"port_forward {self.protocol}/{self.port}{inbound} (IPv{self.family}){where(self.ns)}"

    def identity(self) -> dict:
        return {"netns": self.ns, "protocol": self.protocol, "port": self.port, "family": self.family}

    def intents(self) -> list:
        return port_forward_intents(self.port, self.protocol, self.address, self.to_port, self.in_interface, self.tag)
