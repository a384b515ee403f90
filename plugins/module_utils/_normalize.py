# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Pure validation and normalisation: names, CIDRs, routes and sysctl keys in canonical form.

Everything here is side-effect free and needs no root, so it runs before any socket opens.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.netns.core.plugins.module_utils._constants import (
    IFNAME_RE,
    IFNAMSIZ,
    MTU_MAX,
    MTU_MIN,
    NETNS_NAME_RE,
)
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError

# Linux accepts any byte but '/', ':' and whitespace in an interface name; netns.core accepts the characters
# interface names are made of in practice (eth0, br-1a2b, veth.10, wlp2s0) and refuses shell metacharacters,
# quotes and the like, so that a name cannot turn into something else in a script that reads it back.
SYSCTL_KEY_RE = re.compile(r"^net(\.[A-Za-z0-9_-]+)+$")


def netns_name(value: str | None, option: str = "netns") -> str | None:
    """A namespace name under /run/netns, or None for the host's own namespace."""
    if value is None:
        return None
    if not isinstance(value, str) or not NETNS_NAME_RE.match(value) or value in (".", ".."):
        raise NetnsCoreError(
            f"{option} {value!r} is not a valid namespace name: use 1-64 characters from "
            "A-Z a-z 0-9 _ . - starting with a letter or digit"
        )
    return value


def ifname(value: str | None, option: str = "name") -> str | None:
    """An interface name: at most IFNAMSIZ characters of IFNAME_RE."""
    if value is None:
        return None
    if not isinstance(value, str) or value == "":
        raise NetnsCoreError(f"{option} must be a non-empty interface name, got {value!r}")
    if len(value) > IFNAMSIZ:
        raise NetnsCoreError(f"{option}: interface name {value!r} has {len(value)} characters; Linux allows {IFNAMSIZ}")
    if value in (".", "..") or not IFNAME_RE.match(value):
        bad = sorted({c for c in value if not (c.isascii() and (c.isalnum() or c in "_.-"))})
        raise NetnsCoreError(
            f"{option}: interface name {value!r} is not valid: use A-Z a-z 0-9 _ . - (starting with a letter, digit"
            f" or _){'; it contains ' + ', '.join(repr(c) for c in bad) if bad else ''}"
        )
    return value


def ip(value: str, option: str) -> str:
    """A single IP address in canonical text form."""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise NetnsCoreError(f"{option} {value!r} is not an IP address") from None


def interface_address(value: str, option: str = "addresses") -> str:
    """An interface address in CIDR form (address/prefix), canonical: '10.0.0.1/24', 'fd00::1/64'."""
    text = str(value).strip()
    if "/" not in text:
        raise NetnsCoreError(f"{option}: {value!r} is not in CIDR form (address/prefix, e.g. 10.0.0.1/24)")
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise NetnsCoreError(f"{option}: {value!r} is not a valid CIDR address") from None
    return iface.with_prefixlen


def address_list(values: list | None, option: str = "addresses") -> list[str] | None:
    """A sorted, de-duplicated list of canonical interface addresses; None stays None (untouched)."""
    if values is None:
        return None
    return sorted({interface_address(v, option) for v in values}, key=address_sort_key)


def address_sort_key(cidr: str) -> tuple[int, int, int]:
    iface = ipaddress.ip_interface(cidr)
    return (iface.version, int(iface.ip), iface.network.prefixlen)


def network(value: str, option: str) -> str:
    """A network in CIDR form with host bits cleared: '10.0.0.5/24' -> '10.0.0.0/24'."""
    try:
        return str(ipaddress.ip_network(str(value).strip(), strict=False))
    except ValueError:
        raise NetnsCoreError(f"{option} {value!r} is not a valid CIDR network") from None


def route_destination(value: str, gateway: str | None, option: str = "destination") -> str:
    """A route destination as a network: 'default' -> 0.0.0.0/0 (or ::/0 for an IPv6 gateway).

    An address without prefix is a host route; host bits set under a prefix are refused, as ip(8) does,
    because they usually hide a typo.
    """
    text = str(value).strip()
    if text == "default":
        if gateway is not None and ipaddress.ip_address(gateway).version == 6:
            return "::/0"
        return "0.0.0.0/0"
    try:
        return str(ipaddress.ip_network(text))
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise NetnsCoreError(f"{option} {value!r} is neither a CIDR network nor 'default'") from None
    raise NetnsCoreError(f"{option} {value!r} has host bits set; did you mean {loose}?")


def family_of(cidr_or_ip: str) -> int:
    """4 or 6."""
    text = cidr_or_ip.split("/", 1)[0]
    return ipaddress.ip_address(text).version


def is_link_local(cidr: str) -> bool:
    return ipaddress.ip_interface(cidr).ip.is_link_local


def sysctl_key(value: str, option: str = "name") -> str:
    """A network sysctl key in dotted form; anything outside net.* is refused."""
    text = str(value).strip()
    if not SYSCTL_KEY_RE.match(text):
        raise NetnsCoreError(
            f"{option} {value!r} is not a network sysctl: only keys under 'net.' in dotted form "
            "(e.g. net.ipv4.ip_forward) are managed here"
        )
    return text


def sysctl_value(value: object, option: str = "value") -> str:
    """A sysctl value as the kernel prints it: fields separated by single tabs; booleans as 1/0."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None or isinstance(value, (dict, list)):
        raise NetnsCoreError(f"{option} {value!r} is not a sysctl value (use a string or a number)")
    text = "\t".join(str(value).split())
    if text == "":
        raise NetnsCoreError(f"{option} must not be empty")
    return text


def positive_int(value: int | None, option: str, low: int = 1, high: int = 2**31 - 1) -> int | None:
    if value is None:
        return None
    if not low <= int(value) <= high:
        raise NetnsCoreError(f"{option} {value!r} is out of range ({low}-{high})")
    return int(value)


def mtu(value: int | None, option: str = "mtu") -> int | None:
    return positive_int(value, option, MTU_MIN, MTU_MAX)
