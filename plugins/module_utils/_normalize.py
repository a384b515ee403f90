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
    IPV6_MIN_MTU,
    LOOPBACK,
    MTU_MAX,
    MTU_MIN,
    NETNS_NAME_RE,
    OWNER_RE,
)
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError

# Linux accepts any byte but '/', ':' and whitespace in an interface name; netns.core accepts the characters
# interface names are made of in practice (eth0, br-1a2b, veth.10, wlp2s0) and refuses shell metacharacters,
# quotes and the like, so that a name cannot turn into something else in a script that reads it back.
RESERVED_IFNAMES = ("all", "default")
SYSCTL_KEY_RE = re.compile(r"^net(\.[A-Za-z0-9_-]+)+$")
# a host name as a hosts file or a resolver's search list takes it: dot-separated labels of letters, digits, '-' and
# '_' (container names have it), none starting or ending with '-'; 253 characters at most
HOST_LABEL_RE = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$")
HOST_NAME_MAX = 253


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


def host_name(value: object, option: str) -> str:
    """A host name (or DNS domain): labels of A-Z a-z 0-9 - _ joined by dots."""
    text = value if isinstance(value, str) else ""
    if not text or len(text) > HOST_NAME_MAX or not all(HOST_LABEL_RE.fullmatch(label) for label in text.split(".")):
        bad = sorted({c for c in str(value) if not (c.isascii() and (c.isalnum() or c in "_.-"))})
        raise NetnsCoreError(
            f"{option} {value!r} is not a valid host name: use labels of A-Z a-z 0-9 - _ (not starting or ending "
            f"with -) joined by dots, e.g. db or db.lab, {HOST_NAME_MAX} characters at most"
            f"{'; it contains ' + ', '.join(repr(c) for c in bad) if bad else ''}"
        )
    return text


def ifname(value: str | None, option: str = "name") -> str | None:
    """An interface name: at most IFNAMSIZ characters of IFNAME_RE."""
    if value is None:
        return None
    if not isinstance(value, str) or value == "":
        raise NetnsCoreError(f"{option} must be a non-empty interface name, got {value!r}")
    if len(value) > IFNAMSIZ:
        raise NetnsCoreError(f"{option}: interface name {value!r} has {len(value)} characters; Linux allows {IFNAMSIZ}")
    if value in RESERVED_IFNAMES:
        raise NetnsCoreError(
            f"{option}: interface name {value!r} is reserved (the kernel refuses 'all' and 'default': they name "
            "the sysctl directories net.*.conf.all and .default)"
        )
    if value in (".", "..") or not IFNAME_RE.match(value):
        bad = sorted({c for c in value if not (c.isascii() and (c.isalnum() or c in "_.-"))})
        raise NetnsCoreError(
            f"{option}: interface name {value!r} is not valid: use A-Z a-z 0-9 _ . - (starting with a letter, digit"
            f" or _){'; it contains ' + ', '.join(repr(c) for c in bad) if bad else ''}"
        )
    return value


def plain_address(address, value: object, option: str) -> None:
    """Refuse address forms the kernel stores as something else: a scope id, an IPv4-mapped IPv6 address."""
    if getattr(address, "scope_id", None):
        raise NetnsCoreError(
            f"{option} {value!r}: a scope id (%{address.scope_id}) is not part of an address here; for a link-local "
            "gateway give the interface option instead"
        )
    if address.version == 6 and address.ipv4_mapped is not None:
        raise NetnsCoreError(
            f"{option} {value!r} is an IPv4-mapped IPv6 address; the kernel keeps such addresses apart from IPv4: "
            f"write {address.ipv4_mapped} where IPv4 is meant"
        )


def ip(value: str, option: str) -> str:
    """A single IP address in canonical text form."""
    try:
        address = ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise NetnsCoreError(f"{option} {value!r} is not an IP address") from None
    plain_address(address, value, option)
    return str(address)


def interface_address(value: str, option: str = "addresses") -> str:
    """An interface address in CIDR form (address/prefix), canonical: '10.0.0.1/24', 'fd00::1/64'.

    Refused: what the kernel would store differently or not as a global address (link-local, loopback,
    unspecified, multicast, a scope id, IPv4-mapped IPv6), so that a run that adds it can converge.
    """
    text = str(value).strip()
    if "/" not in text:
        raise NetnsCoreError(f"{option}: {value!r} is not in CIDR form (address/prefix, e.g. 10.0.0.1/24)")
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise NetnsCoreError(f"{option}: {value!r} is not a valid CIDR address") from None
    if "%" in text:  # ipaddress drops an interface's scope id silently
        raise NetnsCoreError(f"{option}: {value!r}: a scope id is not part of an interface address")
    plain_address(iface.ip, value, option)
    for test, what in (
        ("is_unspecified", "the unspecified address"),
        ("is_loopback", "a loopback address (the kernel gives it host scope)"),
        ("is_multicast", "a multicast address"),
        ("is_link_local", "link-local (IPv6 makes its own; netns.core manages global addresses only)"),
    ):
        if getattr(iface.ip, test):
            raise NetnsCoreError(f"{option}: {value!r} is {what}; it cannot be an interface address here")
    return iface.with_prefixlen


def address_list(values: list | None, option: str = "addresses") -> list[str] | None:
    """A sorted, de-duplicated list of canonical interface addresses; None stays None (untouched)."""
    if values is None:
        return None
    addresses = sorted({interface_address(v, option) for v in values}, key=address_sort_key)
    seen: dict[str, str] = {}
    for cidr in addresses:
        ip_text = cidr.split("/")[0]
        if ":" in ip_text and ip_text in seen:
            raise NetnsCoreError(
                f"{option}: {seen[ip_text]} and {cidr} are one IPv6 address with two prefixes; the kernel keeps "
                "one address once: give one prefix"
            )
        seen[ip_text] = cidr
    return addresses


def address_sort_key(cidr: str) -> tuple[int, int, int]:
    iface = ipaddress.ip_interface(cidr)
    return (iface.version, int(iface.ip), iface.network.prefixlen)


def network(value: str, option: str) -> str:
    """A network in CIDR form with host bits cleared: '10.0.0.5/24' -> '10.0.0.0/24'."""
    try:
        net = ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError:
        raise NetnsCoreError(f"{option} {value!r} is not a valid CIDR network") from None
    plain_address(net.network_address, value, option)
    return str(net)


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
        net = ipaddress.ip_network(text)
    except ValueError:
        pass
    else:
        plain_address(net.network_address, value, option)
        return str(net)
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


INTEGER_FIELD_RE = re.compile(r"^-?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$")


def sysctl_value(value: object, option: str = "value") -> str:
    """A sysctl value as the kernel prints it back: fields separated by single tabs; booleans as 1/0; integer
    fields in decimal (the kernel reads 0x1 as 1 and prints 1). A field the kernel would read as another number
    than it looks (0010 is octal: 8) is refused, and so is anything but printable ASCII."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None or isinstance(value, (dict, list)):
        raise NetnsCoreError(f"{option} {value!r} is not a sysctl value (use a string or a number)")
    raw = str(value)
    if "\n" in raw.strip() or "\r" in raw:
        raise NetnsCoreError(f"{option} {value!r} spans lines; a sysctl value is one line of fields")
    if not all(c.isascii() and (c.isprintable() or c in " \t\n") for c in raw):
        raise NetnsCoreError(f"{option} {value!r} is not printable ASCII; the kernel's net.* sysctls take none")
    fields = []
    for field in raw.split():
        if INTEGER_FIELD_RE.match(field):
            number = int(field, 0) if not re.match(r"^-?0[0-7]+$", field) else int(field, 8)
            if re.match(r"^-?0[0-7]+$", field) and number != int(field, 10):
                raise NetnsCoreError(
                    f"{option} {value!r}: the kernel reads {field} as octal and would store {number}; write "
                    f"{number}, or {int(field, 10)} without the leading zero"
                )
            fields.append(str(number))
        else:
            fields.append(field)
    if not fields:
        raise NetnsCoreError(f"{option} must not be empty")
    return "\t".join(fields)


def positive_int(value: int | None, option: str, low: int = 1, high: int = 2**31 - 1) -> int | None:
    if value is None:
        return None
    if not low <= int(value) <= high:
        raise NetnsCoreError(f"{option} {value!r} is out of range ({low}-{high})")
    return int(value)


def mtu(value: int | None, option: str = "mtu") -> int | None:
    return positive_int(value, option, MTU_MIN, MTU_MAX)


def interface_config(name: str, mtu: int | None, addresses: list[str] | None, option: str = "name") -> None:
    """What the kernel would not keep: lo is every namespace's own; an MTU below 1280 drops IPv6."""
    if name == LOOPBACK:
        raise NetnsCoreError(
            f"{option} 'lo' is the loopback interface every namespace has; name the interface otherwise"
        )
    if mtu is not None and mtu < IPV6_MIN_MTU and any(":" in a for a in addresses or []):
        raise NetnsCoreError(
            f"mtu {mtu} is below {IPV6_MIN_MTU}, where the kernel turns IPv6 off on the link and drops its IPv6 "
            f"addresses ({', '.join(a for a in addresses if ':' in a)}); raise the MTU or leave IPv6 out"
        )


def owner(value: str | None, option: str = "owner") -> str | None:
    """A network's name, as netns.core marks its objects with it."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not OWNER_RE.match(value):
        raise NetnsCoreError(
            f"{option} {value!r} is not a valid network name: use 1-64 characters from A-Z a-z 0-9 _ . : / - "
            "starting with a letter or digit"
        )
    return value
