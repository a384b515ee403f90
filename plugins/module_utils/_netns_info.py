# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Read-only facts about namespaces: links, addresses, routes, forwarding and netns.core's tagged rules (iptables
and our nftables table)."""

from __future__ import annotations

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._constants import FIREWALL_TABLES, FORWARD_KEY, TAG_PREFIX
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._iptables import Iptables, comment_of, parse_rules
from ansible_collections.netns.core.plugins.module_utils._model import RTPROT_KERNEL
from ansible_collections.netns.core.plugins.module_utils._netlink import (
    Session,
    file_kind,
    list_netns,
    netns_path,
    netns_status,
    read_sysctl,
)
from ansible_collections.netns.core.plugins.module_utils._nftables import Nft
from ansible_collections.netns.core.plugins.module_utils._tc import qdisc_facts
from ansible_collections.netns.core.plugins.module_utils._vxlan import peers_of

SCOPES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}


def namespace_facts(session: Session, ns: str | None, iptables: list[Iptables], nft: Nft | None = None) -> dict:
    """Everything about one namespace (None = the host), as plain data."""
    view = session.view(ns)
    links = view.links()
    by_index = {link["index"]: name for name, link in links.items()}
    qdiscs = qdisc_facts(view.ipr)
    facts_links = {}
    for name, link in sorted(links.items()):
        entry = {
            "kind": link["kind"] or ("loopback" if name == "lo" else "device"),
            "index": link["index"],
            "up": link["up"],
            "operstate": link.get("operstate"),
            "mtu": link["mtu"],
            "mac": link.get("mac"),
            "master": link["master"],
        }
        if link["kind"] == "veth" and link.get("peer_index"):
            entry["peer"] = _peer(session, ns, link)
        if link["kind"] == "vxlan" and link.get("vxlan"):
            entry["vxlan"] = _vxlan(view, name, link, by_index)
        entry["qdiscs"] = qdiscs.get(link["index"], [])
        facts_links[name] = entry
    addresses: dict[str, list[dict]] = {}
    for msg in view.rtnl.addresses():
        owner = by_index.get(msg["index"])
        address = msg.get("IFA_ADDRESS") if msg["family"] == 10 else msg.get("IFA_LOCAL")
        if owner is None or address is None:
            continue
        addresses.setdefault(owner, []).append(
            {"address": f"{address}/{msg['prefixlen']}", "scope": SCOPES.get(msg["scope"], str(msg["scope"]))}
        )
    routes = [
        {key: route[key] for key in ("family", "table", "destination", "gateway", "interface", "metric")}
        for route in view.routes()
    ]
    rules = []
    for tool in iptables:
        for table in FIREWALL_TABLES:
            for rule in parse_rules(table, tool.run(ns, ["-t", table, "-S"])):
                comment = comment_of(rule) or ""
                if comment.startswith(TAG_PREFIX + " "):
                    family = 4 if tool.command == "iptables" else 6
                    rules.append({"family": family, "rule": rule.spec(), "tag": comment, "backend": "iptables"})
    table = nft.table(ns) if nft is not None else None
    for rule in table[0] if table else []:
        if (rule.comment or "").startswith(TAG_PREFIX + " "):
            rules.append({"family": rule.family, "rule": rule.spec(), "tag": rule.comment, "backend": "nftables"})
    return {
        "links": facts_links,
        "addresses": addresses,
        "routes": routes,
        "ip_forward": read_sysctl(session, ns, FORWARD_KEY[4]) == "1",
        "ipv6_forwarding": read_sysctl(session, ns, FORWARD_KEY[6]) == "1",
        "rules": rules,
    }


def _vxlan(view, name: str, link: dict, by_index: dict) -> dict:
    """A VXLAN device's settings and the peers its entries describe (as netns.core.vxlan's `peers` option)."""
    settings = dict(link["vxlan"])
    settings["underlay_interface"] = by_index.get(settings.pop("link_index", None))
    routes = [
        route
        for route in view.routes()
        if route["interface"] == name and route["gateway"] and route["proto"] != RTPROT_KERNEL
    ]
    return {**settings, "peers": peers_of(view.neighbours(link["index"]), view.fdb(link["index"]), routes)}


def _peer(session: Session, ns: str | None, link: dict) -> dict:
    peer_ns, peer = session.peer_of(ns, link, None)
    if peer_ns == "?":
        return {"netns": None, "name": None, "unnamed_namespace": True}
    return {"netns": peer_ns, "name": peer["name"] if peer else None}


def gather(
    session: Session, names: list[str] | None, host: bool, iptables: list[Iptables], nft: Nft | None = None
) -> dict:
    """netns_info for the host (when asked) and the listed namespaces (default: every one under /run/netns)."""
    listed = list_netns()
    skipped = {}
    for name in listed:
        status = netns_status(name)
        if status != "present":
            path = netns_path(name)
            skipped[name] = (
                f"{path} has no namespace mounted on it (stale)"
                if status == "stale"
                else f"{path} is a {file_kind(path)}"
            )
    if names is None:
        wanted = [name for name in listed if name not in skipped]
    else:
        wanted = [norm.netns_name(name, "names") for name in names]
        missing = [name for name in wanted if name not in listed or name in skipped]
        if missing:
            reasons = [f"{n!r} ({skipped[n]})" if n in skipped else repr(n) for n in missing]
            raise NetnsCoreError(f"names: {', '.join(reasons)} not found under /run/netns")
    info = {"namespaces": {name: namespace_facts(session, name, iptables, nft) for name in wanted}}
    if skipped:
        info["skipped"] = skipped
    if host:
        info["host"] = namespace_facts(session, None, iptables, nft)
    return info
