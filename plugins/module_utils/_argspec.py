# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The options of every resource, said once: the single modules and netns.core.network validate with these."""

from __future__ import annotations

import copy

from ansible_collections.netns.core.plugins.module_utils._constants import VXLAN_PORT

NETNS = {"type": "str"}
STATE = {"type": "str", "choices": ["present", "absent"], "default": "present"}
ADDRESSES = {"type": "list", "elements": "str"}
PROTOCOLS = ("tcp", "udp")
#: the rule-making kinds' choice of firewall (see _firewall); the network module says them once for its sections
FIREWALL_OPTIONS = {
    "firewall_backend": {"type": "str", "choices": ["auto", "iptables", "nftables"], "default": "auto"},
    "foreign_forward_drop": {"type": "str", "choices": ["fail", "ignore"], "default": "fail"},
}

# Options per resource kind, without `state` (the network module has one state for everything).
NETNS_OPTIONS = {
    "name": {"type": "str", "required": True},
    "loopback": {"type": "bool", "default": True},
    "sysctl": {"type": "dict", "default": {}},
    "pid": {"type": "int"},
    "resolv_conf": {
        "type": "dict",
        "options": {
            "nameservers": {"type": "list", "elements": "str", "default": []},
            "search": {"type": "list", "elements": "str", "default": []},
            "options": {"type": "list", "elements": "str", "default": []},
        },
    },
    "hosts": {"type": "dict"},
}
SYSCTL_OPTIONS = {
    "name": {"type": "str", "required": True},
    "value": {"type": "raw", "required": True},
    "netns": NETNS,
}
BRIDGE_OPTIONS = {
    "name": {"type": "str", "required": True},
    "netns": NETNS,
    "addresses": ADDRESSES,
    "mtu": {"type": "int"},
    "stp": {"type": "bool", "default": False},
}
VETH_OPTIONS = {
    "name": {"type": "str", "required": True},
    "peer": {"type": "str", "required": True},
    "netns": NETNS,
    "peer_netns": NETNS,
    "addresses": ADDRESSES,
    "peer_addresses": ADDRESSES,
    "master": {"type": "str"},
    "peer_master": {"type": "str"},
    "mtu": {"type": "int"},
}
VXLAN_OPTIONS = {
    "name": {"type": "str", "required": True},
    "netns": NETNS,
    "vni": {"type": "int"},
    "port": {"type": "int", "default": VXLAN_PORT},
    "local": {"type": "str"},
    "underlay_interface": {"type": "str"},
    "mac": {"type": "str"},
    "mtu": {"type": "int"},
    "learning": {"type": "bool", "default": False},
    "addresses": ADDRESSES,
    "peers": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "remote": {"type": "str", "required": True},
            "mac": {"type": "str", "required": True},
            "address": {"type": "str", "required": True},
            "subnets": {"type": "list", "elements": "str", "default": []},
        },
    },
}
ROUTE_OPTIONS = {
    "destination": {"type": "str", "required": True},
    "gateway": {"type": "str"},
    "interface": {"type": "str"},
    "netns": NETNS,
    "metric": {"type": "int"},
    "table": {"type": "int", "default": 254},
    "onlink": {"type": "bool", "default": False},
}
MASQUERADE_OPTIONS = {
    "source": {"type": "str", "required": True},
    "netns": NETNS,
    "out_interface": {"type": "str"},
    "forwarding": {"type": "bool", "default": True},
    "exclude": {"type": "list", "elements": "str"},
    **FIREWALL_OPTIONS,
}
FORWARD_OPTIONS = {
    "source": {"type": "str", "required": True},
    "destination": {"type": "str", "required": True},
    "netns": NETNS,
    **FIREWALL_OPTIONS,
}
ISOLATION_OPTIONS = {
    "bridge": {"type": "str", "required": True},
    "family": {"type": "int", "choices": [4, 6], "default": 4},
    "isolated": {"type": "bool", "default": True},
    "netns": NETNS,
    **FIREWALL_OPTIONS,
}

PORT_FORWARD_OPTIONS = {
    "port": {"type": "int", "required": True},
    "protocol": {"type": "str", "choices": list(PROTOCOLS), "default": "tcp"},
    "destination": {"type": "str", "required": True},
    "netns": NETNS,
    "in_interface": {"type": "str"},
    **FIREWALL_OPTIONS,
}
NETEM_OPTIONS = {
    "interface": {"type": "str", "required": True},
    "netns": NETNS,
    "delay": {"type": "str"},
    "jitter": {"type": "str"},
    "loss": {"type": "str"},
    "rate": {"type": "str"},
    "duplicate": {"type": "str"},
    "corrupt": {"type": "str"},
    "reorder": {"type": "str"},
}
REACHABILITY_OPTIONS = {
    "probes": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "from": {"type": "raw", "default": "host"},
            "to": {"type": "raw", "required": True},
            "port": {"type": "int"},
            "expect": {"type": "str", "choices": ["reachable", "unreachable"], "default": "reachable"},
            "timeout": {"type": "float"},
        },
    },
    "matrix": {"type": "list", "elements": "str", "default": []},
    "timeout": {"type": "float", "default": 2.0},
}


def options(kind_options: dict, with_state: bool = True) -> dict:
    """A fresh argument_spec for one kind (AnsibleModule may mutate what it is given)."""
    spec = copy.deepcopy(kind_options)
    if with_state:
        spec["state"] = dict(STATE)
    return spec
