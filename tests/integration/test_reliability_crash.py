# SPDX-License-Identifier: GPL-3.0-or-later
"""Reliability 3: a run killed at any point loses nothing.

ansible-playbook converging a 50-container bridge_nat network is killed with SIGKILL at a seeded random moment:
in half the trials the whole process tree at once (ansible-playbook, its workers and the module, which dies
half way through its work: a crash), in the other half ansible-playbook's process group only (what `kill -9`
of it does: Ansible's workers live in sessions of their own, so the module finishes on its own while the next
run starts; the host lock makes that run wait). Then:
  - even trials: the next run converges to exactly the state of an uninterrupted run (namespaces, links,
    masters, MTUs, addresses, routes, iptables rules, sysctls), the run after it reports changed=0, a teardown
    killed the same way at a random moment is followed by one that leaves nothing;
  - odd trials: the teardown right after the crash leaves nothing.
Trial 0 also leaves a namespace file in /run/netns without its mount; trial 1 a container's veth end in the
host namespace and a host end inside another container's namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from conftest import ansible_env, namespaces, sh
from kernel_state import shape
from reliability import record_figure

TRIALS = int(os.environ.get("NETNS_CORE_CRASH_TRIALS", "20"))
SEED = int(os.environ.get("NETNS_CORE_CRASH_SEED", "20261123"))
N = 50
CONTAINERS = [{"name": f"k{i:02d}"} for i in range(N)]
ROLE_VARS = {"bridge_nat_bridge": "kbr0", "bridge_nat_subnet": "10.60.0.0/24", "bridge_nat_containers": CONTAINERS}


class Runner:
    """ansible-playbook on the bridge_nat role, in its own process group (so a kill takes the module too)."""

    def __init__(self, tmp: Path, role_vars: dict | None = None) -> None:
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.playbook = tmp / "crash.yml"
        play = {"hosts": "localhost", "gather_facts": False, "roles": [{"role": "netns.core.bridge_nat"}]}
        self.playbook.write_text(yaml.safe_dump([play]))
        (tmp / "vars.json").write_text(json.dumps(role_vars or ROLE_VARS))
        self.env = ansible_env(tmp, tmp / "results.json")

    def argv(self, state: str) -> list[str]:
        return [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(self.tmp / "inventory"),
            str(self.playbook),
            "-e",
            f"@{self.tmp / 'vars.json'}",
            "-e",
            f"bridge_nat_state={state}",
        ]

    def run(self, state: str) -> dict:
        """A whole run; returns the network task's result."""
        done = subprocess.run(self.argv(state), capture_output=True, text=True, env=self.env, timeout=300, check=False)
        return self.result(done.returncode, done.stdout)

    def start(self, state: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.argv(state), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env
        )

    def result(self, returncode: int, stdout: str) -> dict:
        results = json.loads((self.tmp / "results.json").read_text())
        (network,) = [r for r in results if "Converge the bridge-and-NAT network" in r["task"]]
        assert returncode == 0 and network["status"] == "ok", f"{network.get('msg')}\n{stdout[-3000:]}"
        return network

    def timed(self, state: str) -> float:
        start = time.monotonic()
        self.run(state)
        return time.monotonic() - start

    def killed(self, state: str, after: float, tree: bool) -> bool:
        """Start a run and SIGKILL it after `after` seconds; False if it ended before.

        tree=True: ansible-playbook and every process under it, the module included, die at once (a crash: the
        module stops half way). tree=False: only ansible-playbook's process group, as `kill -9` of it does;
        Ansible's workers run in sessions of their own, so the module lives on and finishes on its own, and the
        next run has to wait for it (netns.core's host lock).
        """
        process = subprocess.Popen(
            self.argv(state),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env,
            start_new_session=True,
        )
        try:
            process.wait(timeout=after)
            return False
        except subprocess.TimeoutExpired:
            if tree:
                kill_tree(process.pid)
            else:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def kill_tree(pid: int) -> None:
    """Freeze the whole tree (SIGSTOP until no new process appears), then SIGKILL every process in it."""
    frozen: set[int] = set()
    while True:
        new = ({pid} | descendants(pid)) - frozen
        if not new:
            break
        for member in new:
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGSTOP)
        frozen |= new
    for member in frozen:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)
    for member in frozen - {pid}:
        for _attempt in range(200):
            if not os.path.exists(f"/proc/{member}") or "Z" in state_of(member):
                break
            time.sleep(0.02)
        else:
            raise AssertionError(f"process {member} outlived SIGKILL")


def state_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


def same_shape(reference: dict, what: str) -> None:
    now = shape()
    if now != reference:
        differ = {}
        for key in sorted(set(reference) | set(now)):
            was, is_ = reference.get(key), now.get(key)
            if was == is_:
                continue
            if isinstance(was, list) and isinstance(is_, list):  # the lines that differ, not two long lists
                differ[key] = {
                    "only then": [x for x in was if x not in is_],
                    "only now": [x for x in is_ if x not in was],
                }
            elif isinstance(was, dict) and isinstance(is_, dict):
                differ[key] = {k: (was.get(k), is_.get(k)) for k in set(was) | set(is_) if was.get(k) != is_.get(k)}
            else:
                differ[key] = (was, is_)
        raise AssertionError(f"{what}: the kernel differs from an uninterrupted run: {differ}")


def nothing_left() -> None:
    assert namespaces() == [], namespaces()
    assert sh("ip -o link show | awk -F': ' '{print $2}'").split() == ["lo"]
    for tool in ("iptables-save", "ip6tables-save"):
        rules = [line for line in sh(tool).splitlines() if line.startswith("-A")]
        assert rules == [], rules
    assert sh("ls -A /run/netns") == ""
    assert sh("ls -A /etc/netns") == "", "left in /etc/netns: " + sh("ls -A /etc/netns")


def mangle(trial: int) -> str:
    """Damage a crash could leave, or a person could: trial 0 a stale namespace file, trial 1 veth ends in the
    wrong namespaces."""
    existing = namespaces()
    if trial == 0:
        victim = "k07"
        if victim in existing:
            sh(f"umount /run/netns/{victim}")  # the namespace dies; its file stays, without a mount
        else:
            sh(f"touch /run/netns/{victim}")
        assert sh(f"ls /run/netns/{victim}") and victim not in sh("grep /run/netns/ /proc/self/mountinfo || true")
        return "stale /run/netns/k07 without its mount"
    if trial == 1:
        done = []
        host = os.getpid()  # this process is the sandbox's host namespace (conftest refuses to run elsewhere)
        assert os.stat(f"/proc/{host}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino
        if {"k03"} <= set(existing) and "eth0" in sh("ip -n k03 -o link show"):
            sh(f"ip -n k03 link set eth0 netns {host}")
            done.append("k03's eth0 moved to the host")
        if {"k05", "k06"} <= set(existing) and "veth-k05" in sh("ip -o link show"):
            sh("ip link set veth-k05 netns k06")
            done.append("veth-k05 moved into k06")
        return ", ".join(done) or "(nothing to move yet)"
    return ""


def test_sigkill_at_random_points_loses_nothing():
    rng = random.Random(SEED)
    log = []
    with tempfile.TemporaryDirectory(prefix="netns-core-crash-") as tmp:
        runner = Runner(Path(tmp))
        converge_time = runner.timed("present")
        reference = shape()
        assert len(namespaces()) == N
        assert runner.run("present")["changed"] is False
        teardown_time = runner.timed("absent")
        nothing_left()
        for trial in range(TRIALS):
            # from 40% of an uninterrupted run on: most kills land while the module works (Ansible's own start-up
            # takes the first ~1.3 s)
            at = rng.uniform(0.4, 1.0) * converge_time
            tree = trial // 2 % 2 == 0  # trials 0, 1, 4, 5, ...: the whole tree; 2, 3, 6, 7, ...: ansible-playbook
            killed = runner.killed("present", at, tree)
            built = len(namespaces())
            ports = len(sh("ip -o link show master kbr0 2>/dev/null || true").splitlines())
            damage = mangle(trial)
            entry = {
                "trial": trial,
                "killed_what": "tree" if tree else "ansible-playbook",
                "kill_converge_at_s": round(at, 2),
                "killed": killed,
                "namespaces_then": built,
                "ports_then": ports,
            }
            if damage:
                entry["damage"] = damage
            if trial % 2 == 0:
                runner.run("present")
                same_shape(reference, f"trial {trial}: the run after the crash")
                assert runner.run("present")["changed"] is False, f"trial {trial}: not idempotent after a crash"
                at2 = rng.uniform(0.4, 1.0) * teardown_time
                entry["kill_teardown_at_s"] = round(at2, 2)
                entry["teardown_killed"] = runner.killed("absent", at2, tree)
                entry["namespaces_at_teardown_kill"] = len(namespaces())
                runner.run("absent")
                nothing_left()
            else:
                runner.run("absent")
                nothing_left()
            log.append(entry)
    kills = [e for e in log if e["killed"]]
    assert len(log) >= 20 or TRIALS < 20
    assert len(kills) >= len(log) // 2, "most kills landed after the run had ended: the timing is off"
    record_figure(
        "crash",
        {
            "trials": len(log),
            "seed": SEED,
            "containers": N,
            "converge_s": round(converge_time, 2),
            "teardown_s": round(teardown_time, 2),
            "converge_kills": len(kills),
            "teardown_kills": sum(1 for e in log if e.get("teardown_killed")),
            "namespaces_built_when_killed": sorted(e["namespaces_then"] for e in kills),
            "bridge_ports_when_killed": sorted(e["ports_then"] for e in kills),
            "tree_kills_mid_work": sum(
                1 for e in kills if e["killed_what"] == "tree" and 0 < e["namespaces_then"] + e["ports_then"] < 2 * N
            ),
            "log": log,
        },
    )
