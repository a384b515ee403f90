# SPDX-License-Identifier: GPL-3.0-or-later
"""What the kernel holds in the sandbox: ONE list of what is read, in two flavours.

Read (SOURCES below, per namespace: the sandbox host and every name in /run/netns; plus two file trees):
  /run/netns    each name, file or directory, and whether a namespace is mounted there (a stale file has none)
  /etc/netns    every entry: directories, files with mode and a digest of their content (what `ip netns exec`
                binds over /etc)
  links         ip -j -d link show (a VXLAN device with its details: vni, port, local, learning, underlay link)
  addresses     ip -j addr show
  routes        ip -4 / ip -6 route show table all
  policy_rules  ip -4 / ip -6 rule show
  rules         iptables-save and ip6tables-save (every table)
  sysctl        forwarding (ip_forward, conf/*/forwarding v4 and v6) and conf/*/rp_filter
  neighbours    ip neigh show nud permanent (what somebody set, not what traffic learned), one line per entry with
                its device (a VXLAN device's peers: VTEP address -> VTEP MAC)
  fdb           bridge fdb show: static and permanent unicast entries (not learned ones, not multicast), with
                their device and, on a VXLAN device, their `dst` (a peer's VTEP MAC -> its underlay address; the
                all-zero MAC of flood entries too)
  qdiscs        tc qdisc show
  nftables      nft list ruleset, where the nft command exists

Flavours:
  raw()     text, for byte-for-byte comparisons; the only edits are what moves on the kernel's own clock with
            nobody acting: bridge and bridge-port timers, iptables-save's date comments and packet counters,
            nft counters, learned FDB entries and neighbours. Use settled() to wait until carrier, operstate
            and IPv6 DAD have finished.
  stable()  a dict, for comparisons right after a run: raw() minus what follows a task on the kernel's clock
            (operstate and carrier flags, IPv6 link-local addresses and the routes DAD adds, bridge port
            states), links reduced to what a task sets, neighbours and FDB entries sorted (their dump order follows
            the kernel's hash of them: a device rebuilt with the same entries may list them in another order).
            pytest's snapshot(), the molecule scenarios.

A new kind of state is one Source: a name, the shell command run inside each namespace, and how it is cleaned
for each flavour. Each namespace is read by ONE process (`ip netns exec NS sh -c SCRIPT`).

Another machine: in_process(PID) reads the namespaces of a process (a simulated host of tests/tools/simhosts.py:
its network, mount and UTS namespaces, with its own /run/netns and /sys) by running this file there, so whole
simulated hosts can be compared before and after a run.

Command line (the test callback, molecule):  python kernel_state.py [--raw | --stable]   (JSON for --stable)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

RUN_NETNS = "/run/netns"
ETC_NETNS = "/etc/netns"
HOST = "host"
MARK = "@@netns.core kernel_state@@"

COUNTERS = re.compile(r" \[\d+:\d+\]$", re.MULTILINE)
MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
NFT_COUNTERS = re.compile(r"counter packets \d+ bytes \d+")
# link flags that follow the carrier (a veth's carrier comes up when its peer does)
ASYNC_FLAGS = {"LOWER_UP", "NO-CARRIER", "M-DOWN", "DORMANT"}
# what a task sets on a link; the stable flavour keeps these only
LINK_KEYS = ("ifname", "link_type", "mtu", "master", "link_netnsid", "address")
# what a task sets on a VXLAN device (ip -j -d link: linkinfo.info_data); the stable flavour keeps these
VXLAN_KEYS = ("id", "port", "local", "link", "learning", "group", "remote", "ttl", "udp_csum")


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def _json(text: str) -> list | None:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _json_lines(text: str) -> list | None:
    """The objects of raw()'s one-JSON-object-a-line form, or None when the text is something else (an error)."""
    try:
        return [json.loads(line) for line in text.splitlines()]
    except ValueError:
        return None


# -- cleaning, per source -------------------------------------------------------------------------------------
def _without_timers(value):
    """Bridge and bridge-port timers (gc_timer, forward_delay_timer, ...) count down on their own."""
    if isinstance(value, dict):
        return {key: _without_timers(item) for key, item in value.items() if not key.endswith("_timer")}
    return value


def _links_raw(text: str) -> str:
    links = _json(text)
    if links is None:
        return text
    return "".join(json.dumps(_without_timers(link)) + "\n" for link in links)


def _links_stable(text: str) -> list | str:
    links = _json_lines(text)
    if links is None:
        return text
    stable = []
    for link in links:
        info = link.get("linkinfo") or {}
        entry = {key: link.get(key) for key in LINK_KEYS}
        entry["flags"] = sorted(set(link.get("flags", [])) - ASYNC_FLAGS)
        entry["kind"] = info.get("info_kind")
        entry["slave_kind"] = info.get("info_slave_kind")
        if "stp_state" in (info.get("info_data") or {}):
            entry["stp_state"] = info["info_data"]["stp_state"]
        if entry["kind"] == "vxlan":
            entry["vxlan"] = {key: (info.get("info_data") or {}).get(key) for key in VXLAN_KEYS}
        stable.append(entry)
    return stable


def _addresses_raw(text: str) -> str:
    links = _json(text)
    if links is None:
        return text
    return "".join(json.dumps({"ifname": x.get("ifname"), "addr_info": x.get("addr_info", [])}) + "\n" for x in links)


def _addresses_stable(text: str) -> dict | str:
    links = _json_lines(text)
    if links is None:
        return text
    return {
        x["ifname"]: sorted(
            f"{a['local']}/{a['prefixlen']}" for a in x.get("addr_info", []) if not a["local"].startswith("fe80:")
        )
        for x in links
    }


def _stable_route(line: str) -> str | None:
    """A route line, or None for what IPv6 link-local addresses and DAD bring on the kernel's clock."""
    words = [w for w in line.split() if w != "linkdown"]
    if not words or "fe80::" in line or words[0] in ("local", "anycast", "multicast") and ":" in line:
        return None
    if words[0].startswith("ff00::"):
        return None
    return " ".join(words)


def _routes_stable(text: str) -> list[str]:
    return sorted(filter(None, map(_stable_route, text.splitlines())))


def _save_raw(text: str) -> str:
    """iptables-save without its date comments and chain packet counters (they move with any packet)."""
    return COUNTERS.sub("", "".join(line + "\n" for line in text.splitlines() if not line.startswith("#")))


def _fdb_raw(text: str) -> str:
    """Entries somebody set: static and permanent, unicast (multicast ones follow the addresses' DAD)."""
    kept = []
    for line in text.splitlines():
        words = line.split()
        if not words or not MAC.fullmatch(words[0]):
            kept.append(line.rstrip() + "\n")  # not an entry: an error, say
        elif ("permanent" in words or "static" in words) and not int(words[0][:2], 16) & 1:
            kept.append(line.rstrip() + "\n")
    return "".join(kept)


def _sorted_lines(text: str) -> list[str]:
    """Entries of a table whose dump order follows the kernel's hashing, not what was set (neighbours, FDB)."""
    return sorted(_lines(text))


def _nft_raw(text: str) -> str:
    return NFT_COUNTERS.sub("counter", text)


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Source:
    """One kind of state: a shell command run inside each namespace; `raw` cleans its output for raw(),
    `stable` turns the cleaned output into the stable() value (a list of lines unless said otherwise)."""

    name: str
    command: str
    raw: Callable[[str], str] = _same
    stable: Callable[[str], object] = _lines


SYSCTLS = "net/ipv4/ip_forward net/ipv4/conf/*/forwarding net/ipv4/conf/*/rp_filter net/ipv6/conf/*/forwarding"
SOURCES = (
    Source("links", "ip -j -d link show", _links_raw, _links_stable),
    Source("addresses", "ip -j addr show", _addresses_raw, _addresses_stable),
    Source("routes", "ip -4 route show table all; ip -6 route show table all", _same, _routes_stable),
    Source("policy_rules", "ip -4 rule show | sed 's/^/inet /'; ip -6 rule show | sed 's/^/inet6 /'"),
    Source("rules", "iptables-save; ip6tables-save", _save_raw, _same),
    Source("sysctl", f"cd /proc/sys && grep -H . {SYSCTLS}"),
    Source("neighbours", "ip neigh show nud permanent", _same, _sorted_lines),
    Source("fdb", "bridge fdb show", _fdb_raw, _sorted_lines),
    Source("qdiscs", "tc qdisc show"),
    Source("nftables", "if command -v nft >/dev/null; then nft list ruleset; fi", _nft_raw),
)


# -- reading --------------------------------------------------------------------------------------------------
def namespaces() -> list[str]:
    return sorted(os.listdir(RUN_NETNS))


def namespace_files() -> list[str]:
    """Names in /run/netns with their type and whether a namespace is mounted there."""
    mounted = set()
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if fields[4].startswith(f"{RUN_NETNS}/") and " - nsfs " in line:
                mounted.add(fields[4][len(RUN_NETNS) + 1 :])
    return [
        f"{name} {'dir' if os.path.isdir(f'{RUN_NETNS}/{name}') else 'file'}"
        f" {'mounted' if name in mounted else 'NOT-MOUNTED'}"
        for name in namespaces()
    ]


def etc_netns() -> list[str]:
    """Every entry under /etc/netns (what `ip netns exec` binds over /etc), dot-files too: a directory (even an
    empty one), a file with its mode and a digest of its content, anything else (a symlink, ...) by its kind."""
    found = []
    for top, dirs, files in os.walk(ETC_NETNS):
        dirs.sort()
        for name in dirs:
            path = os.path.join(top, name)
            kind = "symlink" if os.path.islink(path) else f"dir {os.lstat(path).st_mode & 0o7777:o}"
            found.append(f"{path}/ {kind}")
        for name in sorted(files):
            path = os.path.join(top, name)
            mode = os.lstat(path).st_mode
            if not stat.S_ISREG(mode):
                found.append(f"{path} {'symlink' if stat.S_ISLNK(mode) else 'special'}")
                continue
            try:
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()[:16]
            except OSError as exc:
                digest = f"unreadable ({exc.strerror})"
            found.append(f"{path} {mode & 0o7777:o} {digest}")
    return sorted(found)


SCRIPT = "".join(f"{{ {source.command} ; }} 2>&1; echo '{MARK}' {source.name} $?\n" for source in SOURCES)


def _read_space(ns: str | None) -> dict[str, str]:
    """The raw text of every source in one namespace, from one process."""
    argv = ["sh", "-c", SCRIPT] if ns is None else ["ip", "netns", "exec", ns, "sh", "-c", SCRIPT]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    texts: dict[str, str] = {}
    chunk: list[str] = []
    for line in done.stdout.splitlines(keepends=True):
        if MARK in line:  # at the start of the line, unless the output before it lacks a final newline
            before, mark = line.split(MARK, 1)
            name, status = mark.split()
            text = "".join(chunk) + before
            texts[name] = text if status == "0" else f"{text}[exit {status}]\n"
            chunk = []
        else:
            chunk.append(line)
    if len(texts) != len(SOURCES):  # `ip netns exec` itself failed (a stale name, say): say so for each source
        failure = f"{done.stdout}{done.stderr}[exit {done.returncode}]\n"
        return {source.name: failure for source in SOURCES}
    return {source.name: source.raw(texts[source.name]) for source in SOURCES}


def read() -> dict:
    """Every source, cleaned for raw(): {'run_netns': [...], 'etc_netns': [...], 'spaces': {space: {source: text}}},
    where a space is 'host' (the sandbox host) or a namespace name."""
    names = namespaces()
    with ThreadPoolExecutor(max_workers=4) as pool:
        texts = list(pool.map(_read_space, [None, *names]))
    return {
        "names": names,
        "run_netns": namespace_files(),
        "etc_netns": etc_netns(),
        "spaces": dict(zip([HOST, *(f"netns {name}" for name in names)], texts, strict=True)),
    }


# -- the two flavours -----------------------------------------------------------------------------------------
def render(state: dict) -> str:
    parts = ["== /run/netns\n", *(line + "\n" for line in state["run_netns"])]
    parts += ["== /etc/netns\n", *(line + "\n" for line in state["etc_netns"])]
    for space, texts in state["spaces"].items():
        for source in SOURCES:
            parts += [f"== {space}: {source.name}\n", texts[source.name]]
    return "".join(parts)


def raw() -> str:
    return render(read())


def stable() -> dict:
    """{'namespaces': names, 'run_netns': [...], 'etc_netns': [...], 'host': {...}, 'netns NAME': {...}}."""
    state = read()
    result: dict = {"namespaces": state["names"]}
    result.update(run_netns=state["run_netns"], etc_netns=state["etc_netns"])
    for space, texts in state["spaces"].items():
        result[space] = {source.name: source.stable(texts[source.name]) for source in SOURCES}
    return result


def spaces(state: dict) -> dict[str, dict]:
    """The per-namespace parts of a stable() snapshot: {'host': {...}, 'netns NAME': {...}}."""
    return {key: value for key, value in state.items() if key == HOST or key.startswith("netns ")}


def shape(sort_rules: bool = False) -> dict:
    """stable() without what the kernel numbers on its own (MACs, nsids, the order of ifindexes), to compare two
    builds of the same network; sort_rules: firewall rules as a set (iptables' and nft's listing: two networks
    converged at once interleave their rules)."""
    state = stable()
    for value in spaces(state).values():
        if isinstance(value["links"], list):
            for link in value["links"]:
                link.pop("address", None)
                link.pop("link_netnsid", None)
            value["links"].sort(key=lambda link: link["ifname"])
        value["fdb"] = sorted(line.split(" ", 1)[-1] for line in value["fdb"])
        value["qdiscs"] = sorted(value["qdiscs"])
        value["neighbours"] = sorted(value["neighbours"])
        if sort_rules:
            value["rules"] = sorted(value["rules"].splitlines())
            # nft lists the same iptables-nft rules (and our own table's) in their order too
            nft = value.get("nftables")
            value["nftables"] = sorted(nft.splitlines() if isinstance(nft, str) else nft or [])
    return state


def settled(timeout: float = 15.0) -> str:
    """raw(), once the kernel has stopped changing on its own: no IPv6 address still in duplicate address
    detection (its flags change ~1-2 s after it appears) and two reads 0.3 s apart equal (carrier and operstate
    of a veth follow its peer, a bridge port's state follows its carrier)."""
    deadline = time.monotonic() + timeout
    last = raw()
    while True:
        time.sleep(0.3)
        now = raw()
        if now == last and '"tentative"' not in now:
            return now
        if time.monotonic() > deadline:
            raise AssertionError("the kernel state did not settle")
        last = now


def in_process(pid: int, flavour: str = "stable", timeout: float = 180) -> dict | str:
    """raw() or stable() of the namespaces of process `pid` (a simulated host): this file, run in its network,
    mount and UTS namespaces by nsenter."""
    if flavour not in ("raw", "stable"):
        raise ValueError(f"flavour {flavour!r}: raw or stable")
    argv = [
        "nsenter",
        "--target",
        str(pid),
        "--net",
        "--mount",
        "--uts",
        "--",
        sys.executable,
        os.path.abspath(__file__),
    ]
    done = subprocess.run([*argv, f"--{flavour}"], capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"kernel_state in process {pid} failed ({done.returncode}): {done.stderr}")
    return json.loads(done.stdout) if flavour == "stable" else done.stdout


def main(argv: list[str]) -> int:
    if argv == ["--stable"]:
        print(json.dumps(stable(), indent=1, sort_keys=True))
    elif argv in ([], ["--raw"]):
        print(raw(), end="")
    else:
        print(f"usage: {sys.argv[0]} [--raw | --stable]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
