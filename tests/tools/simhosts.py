# SPDX-License-Identifier: GPL-3.0-or-later
"""Simulated hosts on one machine, for the multi-host tests, the overlay demo, molecule and the benchmark.

Inside the sandbox (tests/sandbox.sh) only. A simulated host is a holder process (`sleep`) in its own network,
mount and UTS namespaces, with its own tmpfs on /run/netns (so `ip netns` on one host never sees another's
namespaces) and its own sysfs on /sys (so /sys/class/net shows its own links), hostname hostN. It is joined to the
underlay bridge `br-under` of the sandbox by a veth: `eth0` inside (192.168.50.N/24, MTU 1500, lo and eth0 up,
default route via 192.168.50.254), `uN` on the bridge. One more holder, `internet`, sits on the underlay at
192.168.50.254/24 with the documentation address 203.0.113.1/32 on its lo: what containers reach through their
host's masquerade. No address here is a real one; nothing leaves the sandbox.

Ansible reaches a simulated host through the test connection tests/connection_plugins/nsenter.py (every command
wrapped in `nsenter --target PID --net --mount --uts`; the file system is shared). The inventory written here
(YAML) has the group `overlay` (the simulated hosts) with, per host: ansible_connection nsenter, nsenter_pid,
overlay_index N, overlay_underlay_ip 192.168.50.N, ansible_python_interpreter (this Python); and the group
`internet` (the internet holder).

    with SimHosts(3) as cluster:            # from pytest fixtures, the demo, molecule, the benchmark
        cluster.write_inventory(path)
        env = cluster.ansible_env()          # ANSIBLE_CONNECTION_PLUGINS, ANSIBLE_COLLECTIONS_PATH
        cluster.run("host1", "ip -br addr")                       # in a simulated host
        cluster.run("host1", "ping -c1 10.244.2.2", netns="c0")   # in a container of a simulated host
        cluster.snapshot("host1")                                 # kernel_state.stable() of that host

Command line (inside the sandbox):
    python tests/tools/simhosts.py run [--hosts 3] [--inventory FILE] -- CMD [ARGS...]
        builds the hosts, writes the inventory (SIMHOSTS_INVENTORY is exported to CMD, as are the variables of
        ansible_env()), runs CMD, tears everything down (and checks that nothing is left); CMD's exit status.

Teardown kills every process still inside a simulated host (a server left behind, say), then the holders; the
kernel then frees their namespaces (and the containers' namespaces mounted on their private /run/netns), the
veths go with them, and br-under is deleted. It checks that the sandbox holds the links it held before.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import kernel_state  # noqa: E402  (the one reader of the kernel)

REPO = Path(__file__).resolve().parents[2]
CONNECTION_PLUGINS = REPO / "tests" / "connection_plugins"
COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or str(REPO / ".build" / "collections")

UNDERLAY_BRIDGE = "br-under"
UNDERLAY_PREFIX = "192.168.50."
UNDERLAY_LEN = 24
INTERNET_INDEX = 254
INTERNET_ADDRESS = "203.0.113.1"
NSENTER = ("nsenter", "--net", "--mount", "--uts")
PR_SET_PDEATHSIG = 1

# The holder: mount its private /run/netns and /sys, name itself, bind its own /etc/hosts (its name resolves
# locally: fact gathering's getfqdn() would otherwise ask a name server, 10 s per host) and a resolv.conf without a
# name server (no DNS query ever leaves it), say so, then wait to be killed. $0 = name, $1 = its files' directory.
HOLDER = (
    "set -e; mount -t tmpfs -o mode=0755 simhost-netns /run/netns; mount -t sysfs simhost-sysfs /sys;"
    ' mount --bind "$1/hosts" /etc/hosts; mount --bind "$1/resolv.conf" /etc/resolv.conf;'
    ' hostname "$0"; ip link set lo up; echo ready; exec sleep infinity'
)


def in_sandbox() -> tuple[bool, str]:
    if os.environ.get("NETNS_CORE_SANDBOX") != "1":
        return False, "NETNS_CORE_SANDBOX is not set"
    try:
        if os.stat("/proc/self/ns/net").st_ino == os.stat("/proc/1/ns/net").st_ino:
            return False, "this is the machine's own network namespace"
    except PermissionError:
        pass
    return True, ""


def sh(argv: list[str] | str, check: bool = True, timeout: float = 60, input_text: str | None = None) -> str:
    if isinstance(argv, str):
        argv = ["sh", "-c", argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, input=input_text)
    if check and done.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed ({done.returncode}): {done.stderr}{done.stdout}")
    return done.stdout


def _die_with_parent() -> None:
    """preexec_fn: the holder (unshare execs sh, sh execs sleep: one process) gets SIGKILL when we die."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _links() -> list[str]:
    return sorted(os.listdir("/sys/class/net"))


class SimHost:
    """One holder process and what hangs off it."""

    def __init__(self, name: str, index: int, process: subprocess.Popen) -> None:
        self.name = name
        self.index = index
        self.process = process
        self.pid = process.pid
        self.underlay_ip = f"{UNDERLAY_PREFIX}{index}"
        self.port = f"u{index}"  # its veth end on br-under
        self.mnt_ns = os.stat(f"/proc/{self.pid}/ns/mnt").st_ino

    def argv(self, command: str, netns: str | None = None) -> list[str]:
        """argv that runs `command` (a shell line) in this host, or in its namespace `netns`."""
        inner = ["ip", "netns", "exec", netns] if netns else []
        return [NSENTER[0], "--target", str(self.pid), *NSENTER[1:], "--", *inner, "/bin/sh", "-c", command]


class SimHosts:
    """N simulated hosts (host1..hostN, underlay 192.168.50.1..N) and the internet, as a context manager.

    host_vars: {name: {var: value}} added to the inventory; group_vars: added to the group `overlay`.
    die_with_parent: the holders are killed if this process dies (SIGKILL included), so nothing outlives it.
    """

    def __init__(
        self,
        count: int = 3,
        *,
        host_vars: dict | None = None,
        group_vars: dict | None = None,
        mtu: int = 1500,
        die_with_parent: bool = True,
    ) -> None:
        if not 1 <= count <= 200:
            raise ValueError(f"count {count}: 1..200 simulated hosts")
        self.count = count
        self.host_vars = host_vars or {}
        self.group_vars = group_vars or {}
        self.mtu = mtu
        self.die_with_parent = die_with_parent
        self.hosts: dict[str, SimHost] = {}
        self.internet: SimHost | None = None
        self._links_before: list[str] = []
        self._files = ""

    # -- building ---------------------------------------------------------------------------------------------
    def __enter__(self) -> SimHosts:
        ok, why = in_sandbox()
        if not ok:
            raise RuntimeError(f"simulated hosts are built only inside tests/sandbox.sh ({why})")
        self._links_before = _links()
        if UNDERLAY_BRIDGE in self._links_before:
            raise RuntimeError(f"{UNDERLAY_BRIDGE} exists already: another set of simulated hosts is up")
        self._files = tempfile.mkdtemp(prefix="simhosts-")
        try:
            sh(["ip", "link", "add", UNDERLAY_BRIDGE, "mtu", str(self.mtu), "type", "bridge"])
            sh(["ip", "link", "set", UNDERLAY_BRIDGE, "up"])
            for index in range(1, self.count + 1):
                self.add_host(index)
            self.internet = self._start("internet", INTERNET_INDEX)
            self.run("internet", f"ip addr add {INTERNET_ADDRESS}/32 dev lo")
        except BaseException:
            self.close()
            raise
        return self

    def _start(self, name: str, index: int) -> SimHost:
        files = Path(self._files, name)
        files.mkdir()
        Path(files, "hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {name}\n{UNDERLAY_PREFIX}{index} {name}\n")
        Path(files, "resolv.conf").write_text("# simulated host: no name server\noptions timeout:1 attempts:1\n")
        argv = ["unshare", "--net", "--mount", "--uts", "--propagation", "private", "--", "sh", "-c", HOLDER]
        process = subprocess.Popen(
            [*argv, name, str(files)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_die_with_parent if self.die_with_parent else None,  # noqa: PLW1509 (no threads start it)
            start_new_session=not self.die_with_parent,
        )
        line = process.stdout.readline()
        if line.strip() != "ready":
            process.kill()
            raise RuntimeError(f"simulated host {name} did not start: {line}{process.stderr.read()}")
        process.stdout.close()
        host = SimHost(name, index, process)
        # registered before it is plumbed, so a failure below still kills it
        if name == "internet":
            self.internet = host
        else:
            self.hosts[name] = host
        sh(["ip", "link", "add", host.port, "mtu", str(self.mtu), "type", "veth", "peer", "name", "eth0",
            "mtu", str(self.mtu), "netns", str(host.pid)])  # fmt: skip
        sh(["ip", "link", "set", host.port, "master", UNDERLAY_BRIDGE, "up"])
        sh(
            host.argv(
                f"ip addr add {host.underlay_ip}/{UNDERLAY_LEN} dev eth0 && ip link set eth0 up"
                + ("" if name == "internet" else f" && ip route add default via {UNDERLAY_PREFIX}{INTERNET_INDEX}")
            )
        )
        return host

    def add_host(self, index: int, name: str | None = None) -> SimHost:
        """One more simulated host (also after the start: a host that joins the cluster)."""
        name = name or f"host{index}"
        if name in self.hosts or any(h.index == index for h in self.hosts.values()) or index == INTERNET_INDEX:
            raise ValueError(f"simulated host {name} / index {index} exists already")
        return self._start(name, index)

    # -- using ------------------------------------------------------------------------------------------------
    def host(self, name: str) -> SimHost:
        if name == "internet" and self.internet is not None:
            return self.internet
        return self.hosts[name]

    def run(self, name: str, command: str, netns: str | None = None, check: bool = True, timeout: float = 60) -> str:
        """Run a shell line in simulated host `name` (or in its container namespace `netns`); its stdout."""
        return sh(self.host(name).argv(command, netns), check=check, timeout=timeout)

    def popen(self, name: str, command: str, netns: str | None = None, **kwargs) -> subprocess.Popen:
        """Start a shell line in a simulated host (a server, say); teardown kills it if it still runs."""
        return subprocess.Popen(self.host(name).argv(command, netns), **kwargs)

    def ping(self, name: str, address: str, netns: str | None = None, extra: str = "") -> bool:
        argv = self.host(name).argv(f"ping -c 1 -W 2 {extra} {address}", netns)
        return subprocess.run(argv, capture_output=True, check=False, timeout=30).returncode == 0

    def snapshot(self, name: str, flavour: str = "stable") -> dict | str:
        """What the kernel holds in a simulated host: kernel_state.in_process() (stable() or raw() run inside it)."""
        return kernel_state.in_process(self.host(name).pid, flavour)

    def snapshots(self, names: list[str] | None = None) -> dict[str, dict]:
        """snapshot() of several simulated hosts (default: all of them), read at once."""
        from concurrent.futures import ThreadPoolExecutor

        names = names or sorted(self.hosts)
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            return dict(zip(names, pool.map(self.snapshot, names), strict=True))

    # -- Ansible ----------------------------------------------------------------------------------------------
    def host_entry(self, host: SimHost) -> dict:
        entry = {
            "ansible_connection": "nsenter",
            "nsenter_pid": host.pid,
            "ansible_python_interpreter": sys.executable,
        }
        if host.name != "internet":
            entry.update(overlay_index=host.index, overlay_underlay_ip=host.underlay_ip)
        entry.update(self.host_vars.get(host.name, {}))
        return entry

    def inventory(self, names: list[str] | None = None, overrides: dict | None = None) -> dict:
        """The inventory as data: group `overlay` (these simulated hosts, default all), group `outside` (internet).
        overrides: {host: {var: value}} on top of host_vars (a value None removes the variable)."""
        names = sorted(self.hosts, key=lambda n: self.hosts[n].index) if names is None else names
        hosts = {}
        for name in names:
            entry = self.host_entry(self.hosts[name])
            entry.update((overrides or {}).get(name, {}))
            hosts[name] = {key: value for key, value in entry.items() if value is not None}
        overlay: dict = {"hosts": hosts}
        if self.group_vars:
            overlay["vars"] = dict(self.group_vars)
        groups = {"overlay": overlay}
        if self.internet is not None:
            groups["outside"] = {"hosts": {"internet": self.host_entry(self.internet)}}
        return {"all": {"children": groups}}

    def write_inventory(
        self, path: str | os.PathLike, names: list[str] | None = None, overrides: dict | None = None
    ) -> Path:
        path = Path(path)
        path.write_text(
            "# Simulated hosts (tests/tools/simhosts.py): valid while their holder processes live.\n"
            + yaml.safe_dump(self.inventory(names, overrides), sort_keys=False)
        )
        return path

    @staticmethod
    def ansible_env(base: dict | None = None) -> dict:
        """Environment for ansible-playbook over the inventory: the nsenter connection and the collection."""
        env = dict(os.environ if base is None else base)
        plugins = [str(CONNECTION_PLUGINS)] + (
            [env["ANSIBLE_CONNECTION_PLUGINS"]] if "ANSIBLE_CONNECTION_PLUGINS" in env else []
        )
        env.update(
            ANSIBLE_CONNECTION_PLUGINS=":".join(plugins),
            ANSIBLE_COLLECTIONS_PATH=env.get("ANSIBLE_COLLECTIONS_PATH", COLLECTIONS),
        )
        env.setdefault("ANSIBLE_HOST_KEY_CHECKING", "0")
        env.setdefault("ANSIBLE_RETRY_FILES_ENABLED", "0")
        return env

    # -- teardown ---------------------------------------------------------------------------------------------
    def remove_host(self, name: str) -> None:
        """Kill one simulated host (and everything inside it); its veth goes with it."""
        host = self.hosts.pop(name)
        self._kill(host)

    def _kill(self, host: SimHost) -> None:
        # every process inside the host or one of its containers (servers, pings left behind), then the holder
        for pid in _pids_inside(host):
            if pid != host.pid:
                _kill_pid(pid)
        host.process.kill()
        host.process.wait(timeout=10)
        if host.process.stderr:
            host.process.stderr.close()
        _wait_gone(host.port)

    def close(self) -> None:
        problems = []
        for host in [*self.hosts.values(), *([self.internet] if self.internet else [])]:
            try:
                self._kill(host)
            except Exception as exc:  # noqa: BLE001 - go on with the others, then say so
                problems.append(f"{host.name}: {exc}")
        self.hosts.clear()
        self.internet = None
        sh(["ip", "link", "del", UNDERLAY_BRIDGE], check=False)
        if self._files:
            shutil.rmtree(self._files, ignore_errors=True)
        if self._links_before and _links() != self._links_before:
            problems.append(f"links left: before {self._links_before}, after {_links()}")
        if problems:
            raise RuntimeError("simulated hosts: teardown left something: " + "; ".join(problems))

    def __exit__(self, *exc) -> None:
        self.close()


def _pids_inside(host: SimHost) -> list[int]:
    """Processes in the host's mount namespace, or in its network namespace or one of its containers' (named
    under its private /run/netns; `ip netns exec` gives its commands a mount namespace of their own)."""
    nets = {os.stat(f"/proc/{host.pid}/ns/net").st_ino}
    run_netns = f"/proc/{host.pid}/root/run/netns"
    for name in os.listdir(run_netns):
        try:
            nets.add(os.stat(f"{run_netns}/{name}").st_ino)
        except OSError:
            pass
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if (
                    os.stat(f"/proc/{entry}/ns/mnt").st_ino == host.mnt_ns
                    or os.stat(f"/proc/{entry}/ns/net").st_ino in nets
                ):
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def _kill_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _wait_gone(link: str, timeout: float = 10.0) -> None:
    """The kernel frees a namespace (and deletes its veths) shortly after its last process ends."""
    deadline = time.monotonic() + timeout
    while os.path.exists(f"/sys/class/net/{link}"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{link} is still there {timeout:.0f} s after its simulated host ended")
        time.sleep(0.05)


# -- command line -----------------------------------------------------------------------------------------------
def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="build the hosts, run CMD with SIMHOSTS_INVENTORY set, tear down")
    run.add_argument("--hosts", type=int, default=3)
    run.add_argument("--inventory", help="where to write the inventory (default: a temporary file)")
    run.add_argument("--host-vars", help="JSON: {host: {var: value}} added to the inventory")
    run.add_argument("--group-vars", help="JSON: variables of the group overlay")
    run.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("run: give a command after --")
    with tempfile.TemporaryDirectory(prefix="simhosts-") as tmp:
        inventory = Path(args.inventory or Path(tmp, "inventory.yml")).resolve()
        host_vars = json.loads(args.host_vars) if args.host_vars else None
        group_vars = json.loads(args.group_vars) if args.group_vars else None
        with SimHosts(args.hosts, host_vars=host_vars, group_vars=group_vars) as cluster:
            cluster.write_inventory(inventory)
            env = cluster.ansible_env()
            env["SIMHOSTS_INVENTORY"] = str(inventory)
            code = subprocess.run(cmd, env=env, check=False).returncode
        if args.inventory:
            inventory.unlink(missing_ok=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
