# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Every constant of the collection, in one place: the modules, the engine and the controller plugins (filters,
the connection plugin) import them from here. Pure: no import beyond the standard library."""

from __future__ import annotations

import re

#: where named network namespaces live (as `ip netns add` makes them)
NETNS_RUN_DIR = "/run/netns"
#: a namespace name netns.core accepts (the connection plugin and the modules alike)
NETNS_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: the longest interface name Linux accepts (IFNAMSIZ less the terminating NUL)
IFNAMSIZ = 15
#: the interface-name characters netns.core accepts (eth0, br-1a2b, veth.10, wlp2s0); no shell metacharacters
IFNAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
#: the MTU range a veth or bridge takes (ETH_MIN_MTU .. IP_MAX_MTU)
MTU_MIN, MTU_MAX = 68, 65535
#: the MTU of a new veth or bridge when none is given
DEFAULT_MTU = 1500
#: the main routing table
MAIN_TABLE = 254
#: the metric the kernel gives a route without one, per family
DEFAULT_METRIC = {4: 0, 6: 1024}
#: the metric of the prefix route the kernel adds with an address, per family
PREFIX_ROUTE_METRIC = {4: 0, 6: 256}
#: the sysctl that turns forwarding on, per family
FORWARD_KEY = {4: "net.ipv4.ip_forward", 6: "net.ipv6.conf.all.forwarding"}
#: the iptables tables netns.core writes (mangle: the isolation drops, whose FORWARD runs before filter's)
FIREWALL_TABLES = ("nat", "filter", "mangle")
#: every firewall rule of ours carries a comment "<TAG_PREFIX> <what> <key>"
TAG_PREFIX = "netns.core"
#: the alias (IFLA_IFALIAS) that marks a link, or a namespace's lo, as made by one netns.core network
OWNER_PREFIX = "netns.core owner="
#: a network's name (the owner in that marker)
OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")
#: the loopback interface of every namespace
LOOPBACK = "lo"
#: the most ports a Linux bridge takes (port numbers are 10 bits, 0 is reserved): the 1024th is refused
BRIDGE_MAX_PORTS = 1023
#: the smallest MTU a link keeps IPv6 on (below it the kernel removes the link's IPv6 addresses)
IPV6_MIN_MTU = 1280

#: VXLAN: the largest VNI (24 bits), the IANA port (the kernel's own default, 8472, is Linux's historical one), and
#: what a device's MTU loses to encapsulation (linux include/net/vxlan.h VXLAN_HEADROOM, VXLAN6_HEADROOM)
VNI_MAX = 2**24 - 1
VXLAN_PORT = 4789
VXLAN_HEADROOM = 50
VXLAN6_HEADROOM = 70

#: where `ip netns exec NAME` finds the files it bind-mounts over /etc (/etc/netns/NAME/resolv.conf, .../hosts)
NETNS_ETC_DIR = "/etc/netns"
#: the files of /etc/netns/NAME netns.core writes (the netns options resolv_conf and hosts)
NETNS_ETC_FILES = ("resolv.conf", "hosts")
#: the first line of every file netns.core writes there: a file that starts otherwise is not ours, never touched
NETNS_ETC_HEADER = "# netns.core manages this file: edits are overwritten, and it goes with the namespace"
#: the second line of our files when netns.core made their directory (it then removes the directory once empty)
NETNS_ETC_DIR_MARK = "# netns.core made this directory and removes it when it holds nothing else"
#: how the names of netns.core's work in progress in /etc/netns begin (a file being written, a directory being made
#: or removed), followed by the writer's pid and a dash: one whose process is gone is a crash's leftover
NETNS_ETC_STAGE_PREFIX = ".netns-core-"
#: the handle of netns.core's root qdisc (4e53:, "NS") and the kernel's root parent
TC_HANDLE = 0x4E530000
TC_H_ROOT = 0xFFFFFFFF
