# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Names and DNS of a namespace: the files /etc/netns/NAME/resolv.conf and /etc/netns/NAME/hosts.

`ip netns exec NAME CMD` bind-mounts every entry of /etc/netns/NAME over /etc/ENTRY for CMD (ip-netns(8)), and the
netns.core.netns connection runs every task through `ip netns exec`: so a namespace gets its own resolvers and host
names without touching the host's /etc.

Ownership, without any marker file (every entry of the directory would be bind-mounted over /etc):
- a file netns.core writes starts with NETNS_ETC_HEADER; a file that does not is someone else's: it is never
  overwritten (a run that wants it fails, nothing changed) nor removed;
- when netns.core makes /etc/netns/NAME, the files it writes there carry a second line, NETNS_ETC_DIR_MARK; the
  directory is removed (rmdir) only when one of our files says so and nothing else is left in it. A directory
  somebody else made stays, and so does one that holds files of others (the result says so).
A directory of ours is made with its files and removed with them in one step (see _netnsfs): a run killed half way
never leaves one without the files that say it is ours. What a killed run leaves in /etc/netns (a temporary file
or directory named after its process) is removed by the next run that plans files there, once that process is gone.
Validation (names, addresses, options) is pure and happens before anything is read.
"""

from __future__ import annotations

import re
import sys

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._constants import (
    NETNS_ETC_DIR_MARK,
    NETNS_ETC_FILES,
    NETNS_ETC_HEADER,
)
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel
from ansible_collections.netns.core.plugins.module_utils._netnsfs import etc_path
from ansible_collections.netns.core.plugins.module_utils._ops import (
    MakeDirectory,
    Op,
    RemoveDirectory,
    RemoveFile,
    RemoveLeftover,
    WriteFile,
)

#: the option that writes each file
OPTION_OF = {"resolv.conf": "resolv_conf", "hosts": "hosts"}
#: glibc and musl ask the first three nameservers only (MAXNS)
MAX_NAMESERVERS = 3
#: what a hosts file names the loopback addresses, unless the mapping names localhost itself (as Docker writes them)
LOCALHOST_LINES = ("127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback")
RESOLVER_OPTION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(:[0-9]+)?$")


# -- validation and rendering (pure) ------------------------------------------------------------------------------
def _list(value: object, option: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise NetnsCoreError(f"{option} must be a list, got {value!r}")
    return value


def resolv_conf_lines(value: dict | None, option: str = "resolv_conf") -> list[str] | None:
    """The lines of resolv.conf (without our header); None for no file (nothing given, or an empty dict)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise NetnsCoreError(f"{option} must be a dict of nameservers, search and options, got {value!r}")
    unknown = sorted(set(value) - {"nameservers", "search", "options"})
    if unknown:
        raise NetnsCoreError(f"{option}: unknown key(s) {', '.join(unknown)}; use nameservers, search, options")
    nameservers = [
        norm.ip(server, f"{option}.nameservers[{index}]")
        for index, server in enumerate(_list(value.get("nameservers"), f"{option}.nameservers"))
    ]
    search = [
        norm.host_name(domain, f"{option}.search[{index}]")
        for index, domain in enumerate(_list(value.get("search"), f"{option}.search"))
    ]
    options = []
    for index, word in enumerate(_list(value.get("options"), f"{option}.options")):
        if not isinstance(word, str) or not RESOLVER_OPTION_RE.fullmatch(word):
            raise NetnsCoreError(
                f"{option}.options[{index}] {word!r} is not a resolver option: one word, optionally with :N "
                "(e.g. ndots:2, timeout:1, edns0, rotate)"
            )
        options.append(word)
    if not nameservers:
        if search or options:
            raise NetnsCoreError(
                f"{option}: search and options need nameservers (without any, the resolver asks 127.0.0.1); give "
                "nameservers, or leave resolv_conf out to keep the host's /etc/resolv.conf"
            )
        return None
    if len(nameservers) > MAX_NAMESERVERS:
        raise NetnsCoreError(
            f"{option}.nameservers has {len(nameservers)} servers ({', '.join(nameservers)}); the resolver asks the "
            f"first {MAX_NAMESERVERS} only: give at most {MAX_NAMESERVERS}"
        )
    lines = [f"nameserver {server}" for server in dict.fromkeys(nameservers)]
    if search:
        lines.append("search " + " ".join(dict.fromkeys(search)))
    if options:
        lines.append("options " + " ".join(dict.fromkeys(options)))
    return lines


def hosts_lines(value: dict | None, option: str = "hosts") -> list[str] | None:
    """The lines of the hosts file (without our header): the localhost lines unless the mapping names
    localhost, then one `IP<TAB>NAME` line per address, names sorted (so the content does not depend on how the
    mapping travelled: YAML dumpers sort keys), each name's addresses in the order given; None for no file."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise NetnsCoreError(f"{option} must be a mapping of host name to a list of IP addresses, got {value!r}")
    lines = []
    for name, addresses in sorted(value.items(), key=lambda item: str(item[0])):
        name = norm.host_name(name, f"{option}: name")
        ips = [norm.ip(a, f"{option}.{name}[{index}]") for index, a in enumerate(_list(addresses, f"{option}.{name}"))]
        if not ips:
            raise NetnsCoreError(f"{option}.{name} has no address; give one or more IP addresses, or leave {name} out")
        lines += [f"{ip}\t{name}" for ip in dict.fromkeys(ips)]
    named = {line.split("\t")[1].lower() for line in lines}
    return (list(LOCALHOST_LINES) if "localhost" not in named else []) + lines


def file_bodies(params: dict, shared: dict | None = None) -> dict[str, list[str] | None]:
    """filename -> the lines netns.core wants there (without header), None = no file of ours. `shared`: lines
    already made from a mapping object, by its identity (a network's hosts table, the same object in every
    namespace of a call, is normalised once, not once per namespace)."""
    hosts = params.get("hosts")
    if shared is not None and hosts is not None:
        if id(hosts) not in shared:
            shared[id(hosts)] = (hosts, hosts_lines(hosts))  # the object is kept: its id is not reused meanwhile
        lines = shared[id(hosts)][1]
    else:
        lines = hosts_lines(hosts)
    return {"resolv.conf": resolv_conf_lines(params.get("resolv_conf")), "hosts": lines}


def render(body: list[str], directory_ours: bool) -> str:
    header = [NETNS_ETC_HEADER] + ([NETNS_ETC_DIR_MARK] if directory_ours else [])
    return sys.intern("\n".join(header + body) + "\n")  # the same text for every namespace of a network: one copy


def is_ours(content: str | None) -> bool:
    return content is not None and content.startswith(NETNS_ETC_HEADER + "\n")


def marks_directory(content: str | None) -> bool:
    return is_ours(content) and content.split("\n", 2)[1] == NETNS_ETC_DIR_MARK


# -- state and plan --------------------------------------------------------------------------------------------
def read_files(model: KernelModel, ns: str) -> dict[str, list[str]]:
    """path -> lines of the files of /etc/netns/NS netns.core writes (ours or not), for those that exist."""
    files = {}
    for name in NETNS_ETC_FILES:
        path = etc_path(ns, name)
        kind, content = model.etc_file(path)
        if kind == "regular file":
            # interned: the hosts files of a network's namespaces repeat the same lines (N files of N lines each);
            # shared, they cost a pointer a line instead of a string (at N=1000, 8 MB instead of 70)
            files[path] = [sys.intern(line) for line in content.splitlines()]
        elif kind != "missing":
            files[path] = [f"({kind}, not a file)"]
    return files


def leftover_removals(model: KernelModel) -> list[Op]:
    """Remove what runs that died left in /etc/netns (see _netnsfs); a leftover directory that holds anything but
    files of ours stays (the result says so)."""
    ops: list[Op] = []
    for path, kind, entries in model.etc_leftovers():
        if kind == "directory" and not set(entries) <= set(NETNS_ETC_FILES):
            said = f"{path} left as it is: a run that died left it, but it holds {', '.join(entries)}"
            if said not in model.left:  # said once per call
                model.left.append(said)
            continue
        files = tuple(entries) if kind == "directory" else None
        ops.append(RemoveLeftover(path, files).says(f"remove {path} (left by a run that died)"))
    return ops


def file_changes(model: KernelModel, ns: str, bodies: dict[str, list[str] | None]) -> list[Op]:
    """The operations that leave exactly `bodies` in /etc/netns/NS as our files (see the module docstring):
    write what differs, remove our files no longer wanted, and our directory once nothing is left in it; before
    them, remove what runs that died left in /etc/netns."""
    directory = etc_path(ns)
    directory_kind, entries = model.etc_directory(directory)
    current = {name: model.etc_file(etc_path(ns, name)) for name in NETNS_ETC_FILES}
    ours = {name for name, (_kind, content) in current.items() if is_ours(content)}
    directory_ours = directory_kind == "missing" or any(marks_directory(current[name][1]) for name in ours)
    wanted = {name: body for name, body in bodies.items() if body is not None}
    if wanted and directory_kind not in ("missing", "directory"):
        raise NetnsCoreError(
            f"{directory} is a {directory_kind}, not a directory: netns.core neither follows nor removes it; move it"
            f" away, or leave {' and '.join(OPTION_OF[name] for name in wanted)} out"
        )
    ops: list[Op] = leftover_removals(model)
    if wanted and directory_kind == "missing":
        files = {name: render(wanted[name], True) for name in NETNS_ETC_FILES if name in wanted}
        ops.append(MakeDirectory(directory, files).says(f"create directory {directory} with {' and '.join(files)}"))
        return ops
    removed = []
    for name in NETNS_ETC_FILES:
        path = etc_path(ns, name)
        kind, content = current[name]
        if name in wanted:
            if kind not in ("missing", "regular file"):
                raise NetnsCoreError(
                    f"{path} is a {kind}, not a file: netns.core neither follows nor removes it; move it away, or "
                    f"leave {OPTION_OF[name]} out"
                )
            if kind == "regular file" and name not in ours:
                raise NetnsCoreError(
                    f"{path} exists and netns.core did not write it (its first line is not {NETNS_ETC_HEADER!r}):"
                    f" refusing to overwrite it; move it away, or leave {OPTION_OF[name]} out"
                )
            text = render(wanted[name], directory_ours)
            if content != text:
                ops.append(WriteFile(path, text).says(f"{'write' if content is None else 'rewrite'} {path}"))
        elif name in ours:
            ops.append(RemoveFile(path).says(f"remove {path}"))
            removed.append(name)
    if not wanted and directory_kind == "directory" and directory_ours:
        others = [entry for entry in entries if entry not in removed]
        if not others:  # our files and their directory go in one step, instead of the RemoveFiles
            ops = [op for op in ops if not isinstance(op, RemoveFile)]
            text = f"remove directory {directory} with {' and '.join(removed)}"
            ops.append(RemoveDirectory(directory, tuple(removed)).says(text))
        elif removed:
            model.left.append(
                f"{directory} left as it is: it holds files netns.core did not write ({', '.join(others)})"
            )
    return ops
