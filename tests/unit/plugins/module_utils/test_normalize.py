# SPDX-License-Identifier: GPL-3.0-or-later
"""Validation and normalisation: every refusal names the option, the value and the cause."""

from __future__ import annotations

import pytest

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError


@pytest.mark.parametrize("name", ["red", "ns1", "a", "Lab-1.x_y", "0", "x" * 64])
def test_valid_namespace_names(name):
    assert norm.netns_name(name) == name


@pytest.mark.parametrize("name", ["", "-red", ".hidden", "a/b", "has space", "x" * 65, "..", "ünï"])
def test_invalid_namespace_names(name):
    with pytest.raises(NetnsCoreError, match="is not a valid namespace name") as err:
        norm.netns_name(name, "peer_netns")
    assert err.value.msg.startswith(f"peer_netns {name!r}")


def test_host_namespace_is_none():
    assert norm.netns_name(None) is None


def test_interface_name_too_long_says_how_long():
    with pytest.raises(NetnsCoreError) as err:
        norm.ifname("veth-averylongname", "name")
    assert err.value.msg == "name: interface name 'veth-averylongname' has 18 characters; Linux allows 15"


@pytest.mark.parametrize(
    "name", ["eth0:1", "a/b", "a b", "tab\tx", ".", "..", "v;reboot", "$(id)", "`id`", "a'b", 'a"b', "a|b", "-x", "é0"]
)
def test_interface_name_bad_characters(name):
    with pytest.raises(NetnsCoreError, match=r"is not valid: use A-Z a-z 0-9 _ \. -") as err:
        norm.ifname(name, "peer")
    assert err.value.msg.startswith(f"peer: interface name {name!r}")


@pytest.mark.parametrize("name", ["eth0", "br-1a2b3c4d", "veth.10", "wlp2s0", "_x", "docker0", "virbr0-nic"])
def test_interface_names_in_use_are_accepted(name):
    assert norm.ifname(name, "name") == name


def test_interface_name_of_exactly_15_is_fine():
    assert norm.ifname("x" * 15) == "x" * 15


def test_empty_interface_name():
    with pytest.raises(NetnsCoreError, match="non-empty"):
        norm.ifname("")


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("10.0.0.1/24", "10.0.0.1/24"),
        (" 10.0.0.1/24 ", "10.0.0.1/24"),
        ("FD00:0::1/64", "fd00::1/64"),
        ("10.0.0.0/8", "10.0.0.0/8"),
    ],
)
def test_interface_address_canonical(given, canonical):
    assert norm.interface_address(given) == canonical


def test_interface_address_needs_a_prefix():
    with pytest.raises(NetnsCoreError, match="not in CIDR form"):
        norm.interface_address("10.0.0.1", "peer_addresses")


@pytest.mark.parametrize("bad", ["10.0.0.300/24", "10.0.0.1/33", "fd00::1/129", "nonsense/8"])
def test_interface_address_invalid(bad):
    with pytest.raises(NetnsCoreError, match="not a valid CIDR address"):
        norm.interface_address(bad)


def test_address_list_sorted_unique_v4_before_v6():
    got = norm.address_list(["fd00::2/64", "10.0.0.9/24", "10.0.0.10/24", "10.0.0.9/24"])
    assert got == ["10.0.0.9/24", "10.0.0.10/24", "fd00::2/64"]
    assert norm.address_list(None) is None
    assert norm.address_list([]) == []


def test_network_clears_host_bits():
    assert norm.network("10.88.0.5/16", "source") == "10.88.0.0/16"
    with pytest.raises(NetnsCoreError, match="source 'x' is not a valid CIDR network"):
        norm.network("x", "source")


@pytest.mark.parametrize(
    ("value", "gateway", "expected"),
    [
        ("default", None, "0.0.0.0/0"),
        ("default", "10.0.0.1", "0.0.0.0/0"),
        ("default", "fd00::1", "::/0"),
        ("203.0.113.0/24", None, "203.0.113.0/24"),
        ("203.0.113.7", None, "203.0.113.7/32"),
        ("fd00:1::/64", None, "fd00:1::/64"),
    ],
)
def test_route_destination(value, gateway, expected):
    assert norm.route_destination(value, gateway) == expected


def test_route_destination_with_host_bits_suggests_the_network():
    with pytest.raises(NetnsCoreError, match=r"has host bits set; did you mean 10\.0\.0\.0/24\?"):
        norm.route_destination("10.0.0.5/24", None)


def test_route_destination_garbage():
    with pytest.raises(NetnsCoreError, match="neither a CIDR network nor 'default'"):
        norm.route_destination("everywhere", None)


def test_ip_and_family():
    assert norm.ip("fd00:0::1", "gateway") == "fd00::1"
    assert norm.family_of("10.0.0.0/8") == 4 and norm.family_of("::/0") == 6
    with pytest.raises(NetnsCoreError, match="gateway '10.0.0' is not an IP address"):
        norm.ip("10.0.0", "gateway")


def test_link_local():
    assert norm.is_link_local("fe80::1/64") and norm.is_link_local("169.254.1.1/16")
    assert not norm.is_link_local("fd00::1/64")


@pytest.mark.parametrize(
    "key", ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv4.conf.eth-0.rp_filter"]
)
def test_sysctl_keys(key):
    assert norm.sysctl_key(key) == key


@pytest.mark.parametrize("key", ["kernel.hostname", "net", "net..x", "net/ipv4/ip_forward", "vm.swappiness"])
def test_sysctl_keys_outside_net_are_refused(key):
    with pytest.raises(NetnsCoreError, match="only keys under 'net.'"):
        norm.sysctl_key(key)


@pytest.mark.parametrize(
    ("value", "text"), [(1, "1"), (True, "1"), (False, "0"), ("4096 87380  6291456", "4096\t87380\t6291456")]
)
def test_sysctl_values_as_the_kernel_prints_them(value, text):
    assert norm.sysctl_value(value) == text


@pytest.mark.parametrize("value", [None, [], {}, "  "])
def test_bad_sysctl_values(value):
    with pytest.raises(NetnsCoreError):
        norm.sysctl_value(value)


def test_positive_int_range():
    assert norm.positive_int(None, "mtu") is None
    assert norm.positive_int(1500, "mtu", 68, 65535) == 1500
    with pytest.raises(NetnsCoreError, match=r"mtu 67 is out of range \(68-65535\)"):
        norm.positive_int(67, "mtu", 68, 65535)


@pytest.mark.parametrize(
    ("given", "stored"),
    [("01", "1"), ("0x1", "1"), ("1", "1"), ("-0", "0"), ("32768 60999", "32768\t60999"), ("cubic", "cubic")],
)
def test_sysctl_values_are_written_as_the_kernel_prints_them(given, stored):
    assert norm.sysctl_value(given) == stored


@pytest.mark.parametrize(
    ("given", "message"),
    [("0010", "octal and would store 8"), ("1\n0", "spans lines"), ("1é", "not printable ASCII"), ("", "empty")],
)
def test_sysctl_values_the_kernel_would_store_otherwise_are_refused(given, message):
    with pytest.raises(NetnsCoreError, match=message):
        norm.sysctl_value(given)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("::ffff:10.0.0.1/120", "IPv4-mapped"),
        ("fe80::1/64", "link-local"),
        ("169.254.1.1/16", "link-local"),
        ("127.0.0.2/8", "loopback"),
        ("0.0.0.0/0", "unspecified"),
        ("224.0.0.1/4", "multicast"),
        ("fd00::1%eth0/64", "fd00::1%eth0/64"),
    ],
)
def test_interface_addresses_the_kernel_would_not_keep_are_refused(given, message):
    with pytest.raises(NetnsCoreError, match=message):
        norm.interface_address(given)


def test_one_ipv6_address_with_two_prefixes_is_refused():
    with pytest.raises(NetnsCoreError, match="two prefixes"):
        norm.address_list(["fd00::1/64", "fd00::1/80"])
    assert norm.address_list(["10.0.0.1/24", "10.0.0.1/16"]) == ["10.0.0.1/16", "10.0.0.1/24"]


@pytest.mark.parametrize("name", ["all", "default"])
def test_reserved_interface_names(name):
    with pytest.raises(NetnsCoreError, match="reserved"):
        norm.ifname(name)


def test_interface_config_refuses_lo_and_an_mtu_that_drops_ipv6():
    with pytest.raises(NetnsCoreError, match="loopback"):
        norm.interface_config("lo", None, None)
    with pytest.raises(NetnsCoreError, match="1280"):
        norm.interface_config("eth0", 1200, ["fd00::1/64"])
    norm.interface_config("eth0", 1200, ["10.0.0.1/24"])


def test_a_network_with_a_scope_id_is_refused():
    with pytest.raises(NetnsCoreError, match="scope id"):
        norm.network("fd00::%eth0/64", "source")
