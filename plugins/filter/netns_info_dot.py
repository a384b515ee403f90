# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.netns_info_dot: a Graphviz picture of what netns.core.netns_info saw."""

from __future__ import annotations

DOCUMENTATION = r"""
name: netns_info_dot
short_description: Draw netns_info as a Graphviz DOT graph
version_added: 1.0.0
description:
  - One box per namespace (the host too), one node per interface with its global addresses, bridges drawn as
    such, a line per veth pair, a dashed line from each bridge port to its bridge, and a note per namespace with
    the NAT (masquerade) and published ports (port_forward) netns.core tagged there (iptables or nftables rules).
options:
  _input:
    description: The C(netns_info) returned by M(netns.core.netns_info).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Facts
  netns.core.netns_info:
  register: info

- name: Write the picture
  ansible.builtin.copy:
    content: "{{ info.netns_info | netns.core.netns_info_dot }}"
    dest: /tmp/lab.dot
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The graph in the DOT language.
  type: str
"""

import json

from ansible.errors import AnsibleFilterError


def _q(text: str) -> str:
    return json.dumps(str(text))  # a double-quoted DOT id with escapes


def _node(ns: str | None, ifname: str) -> str:
    return _q(f"{ns or 'host'}/{ifname}")


def _dnat_target(rule: str) -> str | None:
    """Where a DNAT rule sends connections: iptables (--to-destination A:P) or nftables (dnat ip to A:P ...)."""
    if "--to-destination " in rule:
        return rule.split("--to-destination ")[1].split()[0]
    for family in ("ip", "ip6"):
        if f" dnat {family} to " in rule:
            return rule.split(f" dnat {family} to ")[1].split()[0]
    return None


def _nat_lines(rules: list[dict]) -> list[str]:
    lines = []
    for tag in sorted({rule["tag"] for rule in rules}):
        what = tag.split(" ", 2)[1:]
        if what[0] == "masquerade":
            lines.append(f"NAT out: {what[1]}")
        elif what[0] == "port_forward":
            targets = sorted({_dnat_target(r["rule"]) for r in rules if r["tag"] == tag} - {None})
            lines.append(f"published {what[1]} -> {', '.join(targets)}")
        else:
            lines.append(" ".join(what))
    return lines


def netns_info_dot(info: dict) -> str:
    if not isinstance(info, dict) or "namespaces" not in info:
        raise AnsibleFilterError("netns_info_dot expects the netns_info dict returned by netns.core.netns_info")
    spaces = [(None, info["host"])] if info.get("host") else []
    spaces += sorted(info["namespaces"].items())
    out = ["graph netns {", "  graph [rankdir=LR, fontname=Helvetica];", "  node [fontname=Helvetica, fontsize=10];"]
    edges, drawn = [], set()
    for index, (ns, facts) in enumerate(spaces):
        out.append(f"  subgraph cluster_{index} {{")
        out.append(f"    label={_q(ns or 'host')}; style=rounded;")
        for ifname, link in sorted(facts.get("links", {}).items()):
            if ifname == "lo":
                continue
            addresses = [a["address"] for a in facts.get("addresses", {}).get(ifname, []) if a["scope"] == "global"]
            label = "\\n".join([ifname, *addresses])
            shape = "box3d" if link["kind"] == "bridge" else "box" if link["kind"] == "veth" else "ellipse"
            style = "" if link["up"] else ", style=dashed"
            out.append(f'    {_node(ns, ifname)} [label="{label}", shape={shape}{style}];')
            if link.get("master"):
                edges.append(f"  {_node(ns, ifname)} -- {_node(ns, link['master'])} [style=dashed];")
            peer = link.get("peer") or {}
            if peer.get("name"):
                key = frozenset({(ns, ifname), (peer.get("netns"), peer["name"])})
                if key not in drawn:
                    drawn.add(key)
                    edges.append(f"  {_node(ns, ifname)} -- {_node(peer.get('netns'), peer['name'])} [penwidth=2];")
        notes = _nat_lines(facts.get("rules", []))
        if facts.get("ip_forward"):
            notes.insert(0, "ip_forward on")
        if notes:
            out.append(f"    {_q((ns or 'host') + '/notes')} [label={_q(chr(10).join(notes))}, shape=note];")
        out.append("  }")
    return "\n".join(out + edges + ["}"]) + "\n"


class FilterModule:
    def filters(self) -> dict:
        return {"netns_info_dot": netns_info_dot}
