# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""iptables as argv lists (never a shell): tagged rules, read back with -S, run inside a namespace.

Every rule netns.core adds carries `-m comment --comment "netns.core <what> <key>"`; removal only ever
touches rules whose comment is exactly that tag. No chain is flushed, no policy changed; `-w` waits for
the xtables lock. Works with iptables-nft and iptables-legacy (only the common CLI is used).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from ansible_collections.netns.core.plugins.module_utils._constants import TAG_PREFIX
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._netlink import Session, env_seconds, lock_holder

#: how long an iptables command waits for the xtables lock before it gives up (and says who holds it)
XTABLES_WAIT_SECONDS = 20
XTABLES_LOCK = "/run/xtables.lock"


@dataclass(frozen=True)
class Rule:
    """One rule: table, chain, the match/target arguments (as iptables -S prints them), and where to add it."""

    table: str
    chain: str
    args: tuple[str, ...]
    insert: bool = False

    @property
    def key(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.table, self.chain, self.args)

    def spec(self) -> str:
        """The rule in `iptables -S` form, prefixed with its table: '-t nat -A POSTROUTING -s ...'."""
        return f"-t {self.table} -A {self.chain} " + " ".join(quote(a) for a in self.args)

    @classmethod
    def from_spec(cls, spec: str) -> Rule:
        """Inverse of spec(): '-t nat -A POSTROUTING ...' -> Rule."""
        words = shlex.split(spec)
        if words[:1] != ["-t"] or words[2:3] != ["-A"] or len(words) < 4:
            raise ValueError(f"not a rule spec: {spec!r}")
        return cls(words[1], words[3], tuple(words[4:]))

    @property
    def comment(self) -> str | None:
        return comment_of(self)

    def describe_add(self) -> str:
        return f"add rule {self.spec()}"

    def describe_delete(self) -> str:
        return f"delete rule {self.spec()}"

    def add_argv(self) -> list[str]:
        return ["-t", self.table, "-I" if self.insert else "-A", self.chain, *self.args]

    def delete_argv(self) -> list[str]:
        return ["-t", self.table, "-D", self.chain, *self.args]


def quote(arg: str) -> str:
    """Quote as iptables -S does: only arguments with spaces or quotes get double quotes."""
    if arg and not any(c in arg for c in " \"'\\"):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def tag(what: str, key: str) -> str:
    return f"{TAG_PREFIX} {what} {key}"


def parse_rules(table: str, listing: str) -> list[Rule]:
    """Rules (not policies) of `iptables -t TABLE -S` output.

    Foreign rules are read, never trusted: a comment with a newline spans lines (the lines are joined until the
    quoting closes), and a line that cannot be parsed at all is skipped (no rule of ours looks like that).
    """
    rules = []
    lines = listing.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.startswith("-A "):
            continue
        words = None
        while words is None:
            try:
                words = shlex.split(line)
            except ValueError:
                if index >= len(lines):
                    break
                line += "\n" + lines[index]
                index += 1
        if words and len(words) >= 2:
            rules.append(Rule(table, words[1], tuple(words[2:])))
    return rules


def comment_of(rule: Rule) -> str | None:
    args = rule.args
    for i, word in enumerate(args[:-1]):
        if word == "--comment":
            return args[i + 1]
    return None


class Iptables:
    """Runs iptables (or ip6tables) inside a namespace, through the module's run_command."""

    def __init__(self, module, session: Session, family: int = 4) -> None:
        self.module = module
        self.session = session
        self.command = "iptables" if family == 4 else "ip6tables"
        self._binary: str | None = None
        self.wait = int(env_seconds("NETNS_CORE_XTABLES_WAIT", XTABLES_WAIT_SECONDS))

    @property
    def binary(self) -> str:
        if self._binary is None:
            self._binary = self.module.get_bin_path(self.command)
            if not self._binary:
                raise NetnsCoreError(
                    f"{self.command} is not installed on the target (apt-get install iptables / dnf install iptables)"
                )
        return self._binary

    def run(self, ns: str | None, argv: list[str]) -> str:
        with self.session.inside(ns):
            rc, out, err = self.module.run_command([self.binary, "-w", str(self.wait), *argv])
        if rc != 0:
            where = f" in netns {ns}" if ns else ""
            cause = err.strip() or out.strip()
            if "xtables lock" in cause:
                raise NetnsCoreError(
                    f"{self.command} {' '.join(argv)}{where}: another process ({lock_holder(XTABLES_LOCK)}) has held "
                    f"the xtables lock {XTABLES_LOCK} for {self.wait} s; try again when it is done"
                )
            if "Permission denied" in cause or "you must be root" in cause:
                cause += " (needs root: CAP_NET_ADMIN)"
            raise NetnsCoreError(f"{self.command} {' '.join(argv)}{where} failed (rc={rc}): {cause}")
        return out
