# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""nftables: netns.core's own table, read with `nft -j`, changed in one `nft -f` transaction per call.

Every rule of ours lives in table `inet netns_core` (one table for IPv4 and IPv6; NAT in the inet family needs
Linux 5.2), in four base chains made with the first rule; the table goes with the last rule. Every rule carries a
comment, the same tag text the iptables backend writes. Rules are compared in the text nft lists them in (the
JSON listing turned back into that text by `statement_of`); another table is never written, only its chains'
hooks and policies are read (to find a forward chain whose DROP policy would drop what ours accepts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._netlink import Session

FAMILY = "inet"
TABLE = "netns_core"
#: our base chains and their definitions (nat ones at the priorities iptables-nft's nat chains use)
CHAINS = {
    "postrouting": "type nat hook postrouting priority srcnat; policy accept;",
    "prerouting": "type nat hook prerouting priority dstnat; policy accept;",
    "output": "type nat hook output priority -100; policy accept;",
    "forward": "type filter hook forward priority filter; policy accept;",
}
NFPROTO = {4: "ipv4", 6: "ipv6"}
IP = {4: "ip", 6: "ip6"}


@dataclass(frozen=True)
class NftRule:
    """One rule of our table: chain, the statement as nft lists it (without the comment), the comment (our tag),
    the address family it matches, and the kernel's handle (None for a rule still to be added)."""

    chain: str
    statement: str
    comment: str | None
    family: int | None
    handle: int | None = field(default=None, compare=False)
    insert: bool = field(default=False, compare=False)

    table = TABLE

    @property
    def key(self) -> tuple:
        return (self.chain, self.statement, self.comment)

    def text(self) -> str:
        return self.statement + (f' comment "{self.comment}"' if self.comment is not None else "")

    def spec(self) -> str:
        """The rule as `nft add rule` takes it: 'inet netns_core postrouting ip saddr ... comment "..."'."""
        return f"{FAMILY} {TABLE} {self.chain} {self.text()}"

    def describe_add(self) -> str:
        return self.add_line()

    def add_line(self) -> str:
        return f"{'insert' if self.insert else 'add'} rule {self.spec()}"

    def delete_line(self) -> str:
        return f"delete rule {FAMILY} {TABLE} {self.chain} handle {self.handle}"

    def describe_delete(self) -> str:
        return f"delete rule {self.spec()} (handle {self.handle})"


def address(cidr: str) -> str:
    """A CIDR as nft lists it: a host route without its prefix length."""
    text, _slash, length = cidr.partition("/")
    full = 128 if ":" in text else 32
    return text if not length or int(length) == full else cidr


# -- reading: `nft -j` back into the text nft lists ------------------------------------------------------------
class Unknown(Exception):
    """An expression netns.core never writes: the rule is somebody else's shape (never equal to ours)."""


def _left(expr: dict) -> str:
    if "payload" in expr:
        return f"{expr['payload']['protocol']} {expr['payload']['field']}"
    if "meta" in expr:
        key = expr["meta"]["key"]
        return key if key in ("iifname", "oifname") else f"meta {key}"
    if "ct" in expr:
        return f"ct {expr['ct']['key']}"
    if "fib" in expr:
        return f"fib {' . '.join(expr['fib']['flags'])} {expr['fib']['result']}"
    raise Unknown(json.dumps(expr))


def _right(value, quoted: bool) -> str:
    if isinstance(value, bool):
        raise Unknown(json.dumps(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value) if quoted else value
    if isinstance(value, dict) and "prefix" in value:
        return f"{value['prefix']['addr']}/{value['prefix']['len']}"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(value)
    raise Unknown(json.dumps(value))


def _expression(expr: dict) -> str:
    if "match" in expr:
        match = expr["match"]
        left = _left(match["left"])
        op = {"==": "", "in": "", "!=": "!= ", "!": "! "}.get(match["op"])  # "!": none of these flags
        if op is None:
            raise Unknown(json.dumps(expr))
        return f"{left} {op}{_right(match['right'], left in ('iifname', 'oifname'))}"
    for verdict in ("accept", "drop", "return", "masquerade"):
        if verdict in expr and expr[verdict] is None:
            return verdict
    if "dnat" in expr:
        dnat = expr["dnat"]
        to = f"[{dnat['addr']}]" if dnat.get("family") == "ip6" else dnat["addr"]
        return f"dnat {dnat['family']} to {to}" + (f":{dnat['port']}" if "port" in dnat else "")
    raise Unknown(json.dumps(expr))


def _family(exprs: list) -> int | None:
    for expr in exprs:
        match = expr.get("match") or {}
        payload = (match.get("left") or {}).get("payload") or {}
        if payload.get("protocol") in ("ip", "ip6"):
            return 4 if payload["protocol"] == "ip" else 6
        if (match.get("left") or {}).get("meta", {}).get("key") == "nfproto":
            return {"ipv4": 4, "ipv6": 6}.get(match.get("right"))
        if "dnat" in expr:
            return {"ip": 4, "ip6": 6}.get(expr["dnat"].get("family"))
    return None


def statement_of(exprs: list) -> str:
    """The statement of a rule (as nft lists it, without the comment) from its `nft -j` expressions."""
    try:
        return " ".join(_expression(expr) for expr in exprs)
    except (Unknown, KeyError, TypeError) as exc:
        return f"<not written by netns.core: {exc}>"


def parse_table(listing: str) -> tuple[list[NftRule], list[str]]:
    """(rules in listing order, chain names) of `nft -j list table inet netns_core` output."""
    rules, chains = [], []
    for entry in json.loads(listing).get("nftables", []):
        if "chain" in entry:
            chains.append(entry["chain"]["name"])
        elif "rule" in entry:
            rule = entry["rule"]
            exprs = rule.get("expr") or []
            statement = statement_of(exprs)
            rules.append(NftRule(rule["chain"], statement, rule.get("comment"), _family(exprs), rule["handle"]))
    return rules, chains


def forward_drops(listing: str, family: int) -> list[str]:
    """'table ip filter, chain FORWARD' for each base chain of another table on the forward hook whose policy is
    drop and that sees packets of `family`, from `nft -j list chains` output."""
    families = {"inet", IP[family]}
    found = []
    for entry in json.loads(listing).get("nftables", []):
        chain = entry.get("chain") or {}
        if chain.get("hook") != "forward" or chain.get("policy") != "drop" or chain.get("family") not in families:
            continue
        if (chain["family"], chain["table"]) != (FAMILY, TABLE):
            found.append(f"table {chain['family']} {chain['table']}, chain {chain['name']}")
    return found


# -- running nft -----------------------------------------------------------------------------------------------
class Nft:
    """Runs nft inside a namespace, through the module's run_command; reads our table and the chains' hooks."""

    def __init__(self, module, session: Session) -> None:
        self.module = module
        self.session = session
        self._binary: str | None = None

    @property
    def binary(self) -> str:
        if self._binary is None:
            self._binary = self.module.get_bin_path("nft")
            if not self._binary:
                raise NetnsCoreError(
                    "firewall_backend=nftables: the nft command is not installed on the target "
                    "(apt-get install nftables / dnf install nftables)"
                )
        return self._binary

    def run(self, ns: str | None, argv: list[str], data: str | None = None) -> tuple[int, str, str]:
        with self.session.inside(ns):
            return self.module.run_command([self.binary, *argv], data=data, binary_data=data is not None)

    def table(self, ns: str | None) -> tuple[list[NftRule], list[str]] | None:
        """Our table's rules and chains; None when the table does not exist."""
        rc, out, err = self.run(ns, ["-j", "list", "table", FAMILY, TABLE])
        if rc != 0:
            if "No such file or directory" in err:
                return None
            raise NetnsCoreError(f"nft -j list table {FAMILY} {TABLE}{_where(ns)} failed (rc={rc}): {err.strip()}")
        return parse_table(out)

    def chains(self, ns: str | None) -> str:
        rc, out, err = self.run(ns, ["-j", "list", "chains"])
        if rc != 0:
            raise NetnsCoreError(f"nft -j list chains{_where(ns)} failed (rc={rc}): {err.strip()}")
        return out

    def apply(self, ns: str | None, script: str, count: int) -> None:
        rc, out, err = self.run(ns, ["-f", "-"], data=script)
        if rc != 0:
            cause = (err.strip() or out.strip()).replace("\n", " | ")
            raise NetnsCoreError(
                f"nft -f{_where(ns)} refused the transaction of {count} rule change(s), so none of them was "
                f"applied: {cause}"
            )


def _where(ns: str | None) -> str:
    return f" in netns {ns}" if ns else ""


def transaction(table: tuple[list[NftRule], list[str]] | None, changes: list[tuple[str, NftRule]]) -> str:
    """The `nft -f` script of one namespace's changes (('add'|'delete', rule) in order), given the table as read.
    Adds make the table and our chains first; when nothing is left in the table but our empty chains, the table
    is deleted instead (with what was left in it)."""
    rules, chains = table if table is not None else ([], [])
    deleted = {rule.handle for op, rule in changes if op == "delete"}
    added = [rule for op, rule in changes if op == "add"]
    left = [rule for rule in rules if rule.handle not in deleted] + added
    if table is not None and not left and set(chains) <= set(CHAINS):
        return f"delete table {FAMILY} {TABLE}\n"
    lines = []
    if added:
        lines.append(f"add table {FAMILY} {TABLE}")
        lines += [f"add chain {FAMILY} {TABLE} {name} {{ {spec} }}" for name, spec in CHAINS.items()]
    for op, rule in changes:
        lines.append(rule.delete_line() if op == "delete" else rule.add_line())
    return "".join(line + "\n" for line in lines)
