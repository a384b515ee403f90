# SPDX-License-Identifier: GPL-3.0-or-later
"""Reliability 3: a run killed at any point loses nothing.

ansible-playbook converging a 50-container bridge_nat network is killed with SIGKILL (its whole process group:
the module dies with it, half way through its work) at a seeded random moment. Then:
  - even trials: the next run converges to exactly the state of an uninterrupted run (namespaces, links,
    masters, MTUs, addresses, routes, iptables rules, sysctls), the run after it reports changed=0, a teardown
    killed at a random moment is followed by one that leaves nothing;
  - odd trials: the teardown right after the crash leaves nothing.
Trial 0 also leaves a namespace file in /run/netns without its mount; trial 1 a container's veth end in the
host namespace and a host end inside another container's namespace.
"""

from __future__ import annotations

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
from conftest import COLLECTIONS, HERE, namespaces, sh, snapshot
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
        (tmp / "inventory").write_text(
            f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n"
        )
        self.env = {
            **os.environ,
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
            "ANSIBLE_CALLBACK_PLUGINS": str(HERE / "callback_plugins"),
            "ANSIBLE_CALLBACKS_ENABLED": "netns_core_results",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "NETNS_CORE_RESULTS": str(tmp / "results.json"),
        }

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
        (network,) = [r for r in results if "actions" in r]
        assert returncode == 0 and network["status"] == "ok", f"{network.get('msg')}\n{stdout[-3000:]}"
        return network

    def timed(self, state: str) -> float:
        start = time.monotonic()
        self.run(state)
        return time.monotonic() - start

    def killed(self, state: str, after: float) -> bool:
        """Start a run and SIGKILL its process group after `after` seconds; False if it ended before."""
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
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            wait_for_group_gone(process.pid)
            return True


def wait_for_group_gone(pgid: int) -> None:
    for _ in range(100):
        alive = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, check=False).returncode == 0
        if not alive:
            return
        time.sleep(0.05)
    raise AssertionError(f"process group {pgid} outlived SIGKILL")


def shape(sort_rules: bool = False) -> dict:
    """What the network is, without what the kernel numbers on its own (MACs, nsids, the order of ifindexes);
    sort_rules: iptables rules as a set (two networks converged at once interleave their rules)."""
    state = snapshot()
    for key, value in state.items():
        if key != "namespaces":
            for link in value["links"]:
                link.pop("address", None)
                link.pop("link_netnsid", None)
            value["links"].sort(key=lambda link: link["ifname"])
            if sort_rules:
                value["rules"] = sorted(value["rules"].splitlines())
    return state


def same_shape(reference: dict, what: str) -> None:
    now = shape()
    if now != reference:
        differ = {
            k: (reference.get(k), now.get(k)) for k in set(reference) | set(now) if reference.get(k) != now.get(k)
        }
        raise AssertionError(f"{what}: the kernel differs from an uninterrupted run: {differ}")


def nothing_left() -> None:
    assert namespaces() == [], namespaces()
    assert sh("ip -o link show | awk -F': ' '{print $2}'").split() == ["lo"]
    for tool in ("iptables-save", "ip6tables-save"):
        rules = [line for line in sh(tool).splitlines() if line.startswith("-A")]
        assert rules == [], rules
    assert sh("ls -A /run/netns") == ""


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
            at = rng.uniform(0.1, 1.0) * converge_time
            killed = runner.killed("present", at)
            built = len(namespaces())
            ports = len(sh("ip -o link show master kbr0 2>/dev/null || true").splitlines())
            damage = mangle(trial)
            entry = {
                "trial": trial,
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
                at2 = rng.uniform(0.1, 1.0) * teardown_time
                entry["kill_teardown_at_s"] = round(at2, 2)
                entry["teardown_killed"] = runner.killed("absent", at2)
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
            "log": log,
        },
    )
