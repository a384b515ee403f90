# SPDX-License-Identifier: GPL-3.0-or-later
"""Reliability 7: hostile state and input never hang, crash, flap or half-build.

Tried as a hostile user would: values the kernel stores differently from how they were given (they converge or are
refused before anything changes), conflicts knowable before the first change (refused in check mode too, naming
both items), foreign data in iptables listings and under /run/netns (read, never trusted, never opened when it is
not a namespace file), waits that someone else holds (bounded, naming the holder), a rule carrying our tag where we
never write, and drift before a teardown. Every refusal: a clear message, no traceback, the raw kernel state
byte-identical, real and --check.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from conftest import links, play, run, sh
from kernel_state import raw
from reliability import record_figure
from test_reliability_bad_input import settle


def mod(module: str, args: dict) -> dict:
    return {f"netns.core.{module}": args}


def net(**sections) -> dict:
    return mod("network", sections)


MANY = 1100  # more veths than a bridge takes (1023 ports)

# (id, task, fragments the message must contain)
CASES = [
    # values the kernel stores otherwise: refused, saying what the kernel would make of them
    ("sysctl-octal", mod("sysctl", {"name": "net.ipv4.ip_forward", "value": "0010"}), ["0010", "octal", "8"]),
    ("sysctl-newline", mod("sysctl", {"name": "net.ipv4.ip_forward", "value": "1\n0"}), ["value", "lines"]),
    ("sysctl-non-ascii", mod("sysctl", {"name": "net.ipv4.ip_forward", "value": "1é"}), ["value", "ASCII"]),
    (
        "sysctl-one-field-of-two",
        mod("sysctl", {"name": "net.ipv4.ip_local_port_range", "value": 40000}),
        ["ip_local_port_range", "2 field(s)", "1"],
    ),
    ("sysctl-directory", mod("sysctl", {"name": "net.ipv4.conf.all", "value": 1}), ["net.ipv4.conf.all", "directory"]),
    ("sysctl-write-only", mod("sysctl", {"name": "net.ipv4.route.flush", "value": 1}), ["route.flush", "write-only"]),
    (
        "sysctl-read-only",
        mod("sysctl", {"name": "net.ipv4.tcp_available_congestion_control", "value": "reno"}),
        ["tcp_available_congestion_control", "read-only"],
    ),
    (
        "netns-sysctl-octal",
        mod("netns", {"name": "green", "sysctl": {"net.ipv4.ip_forward": "0010"}}),
        ["net.ipv4.ip_forward", "octal"],
    ),
    (
        "address-ipv4-mapped",
        mod("veth", {"name": "v1", "peer": "p1", "addresses": ["::ffff:10.0.0.1/120"]}),
        ["::ffff:10.0.0.1/120", "IPv4-mapped"],
    ),
    ("address-link-local-6", mod("bridge", {"name": "br2", "addresses": ["fe80::1/64"]}), ["fe80::1/64", "link-local"]),
    (
        "address-link-local-4",
        mod("bridge", {"name": "br2", "addresses": ["169.254.10.1/16"]}),
        ["169.254.10.1/16", "link-local"],
    ),
    ("address-unspecified", mod("bridge", {"name": "br2", "addresses": ["0.0.0.0/0"]}), ["0.0.0.0/0", "unspecified"]),
    ("address-loopback", mod("bridge", {"name": "br2", "addresses": ["127.0.0.2/8"]}), ["127.0.0.2/8", "loopback"]),
    (
        "address-two-prefixes",
        mod("bridge", {"name": "br2", "addresses": ["fd00::1/64", "fd00::1/80"]}),
        ["fd00::1/64", "fd00::1/80", "two prefixes"],
    ),
    (
        "route-gateway-mapped",
        mod("netns_route", {"destination": "::/0", "gateway": "::ffff:10.1.0.2"}),
        ["gateway", "::ffff:10.1.0.2"],
    ),
    (
        "route-link-local-gateway-without-interface",
        mod("netns_route", {"destination": "fd09::/64", "gateway": "fe80::1"}),
        ["gateway", "fe80::1", "interface"],
    ),
    (
        "masquerade-scope-id",
        mod("masquerade", {"source": "fd00::%eth0/64"}),
        ["source", "fd00::%eth0/64", "scope id"],
    ),
    ("masquerade-mapped", mod("masquerade", {"source": "::ffff:10.0.0.0/120"}), ["source", "IPv4-mapped"]),
    (
        "port-forward-mapped",
        mod("port_forward", {"port": 8080, "destination": "[::ffff:10.1.0.2]:80"}),
        ["destination", "IPv4-mapped"],
    ),
    # names the kernel reserves
    ("veth-name-all", mod("veth", {"name": "all", "peer": "p1"}), ["'all'", "reserved"]),
    ("bridge-name-default", mod("bridge", {"name": "default"}), ["'default'", "reserved"]),
    ("veth-peer-lo", mod("veth", {"name": "v1", "peer": "lo", "peer_netns": "red"}), ["peer", "'lo'", "loopback"]),
    (
        "bridge-mtu-below-ipv6",
        mod("bridge", {"name": "br2", "mtu": 1200, "addresses": ["fd00::1/64"]}),
        ["mtu 1200", "1280", "fd00::1/64"],
    ),
    # conflicts knowable before the first change, in one call
    (
        "network-same-pair-twice",
        net(
            veths=[
                {"name": "va", "peer": "vb"},
                {"name": "vb", "peer": "va"},
            ]
        ),
        ["veths[1]", "veths[0]", "'vb'"],
    ),
    (
        "network-bridge-and-veth-one-name",
        net(bridges=[{"name": "x0"}], veths=[{"name": "x0", "peer": "x1"}]),
        ["veths[0]", "bridges[0]", "'x0'"],
    ),
    (
        "network-one-end-name-twice",
        net(
            namespaces=[{"name": "n1"}],
            veths=[
                {"name": "h1", "peer": "eth0", "peer_netns": "n1"},
                {"name": "h2", "peer": "eth0", "peer_netns": "n1"},
            ],
        ),
        ["veths[1]", "veths[0]", "'eth0'", "netns n1"],
    ),
    (
        "network-too-many-bridge-ports",
        net(
            bridges=[{"name": "brbig"}],
            veths=[{"name": f"vb{i}", "peer": f"pb{i}", "master": "brbig"} for i in range(MANY)],
        ),
        ["brbig", str(MANY), "1023"],
    ),
    (
        "bridge-nat-subnet-32",
        {
            "ansible.builtin.include_role": {"name": "netns.core.bridge_nat"},
            "vars": {"bridge_nat_bridge": "br-bad", "bridge_nat_subnet": "10.77.0.5/32"},
        },
        ["bridge_nat_subnet", "10.77.0.5/32"],
    ),
]


def baseline() -> None:
    """Something to keep: a namespace with a veth to the host and addresses, a route, a foreign rule."""
    sh(
        "ip netns add red && ip link add v0 type veth peer name eth0 netns red && ip addr add 10.1.0.1/24 dev v0"
        " && ip link set v0 up && ip -n red addr add 10.1.0.2/24 dev eth0 && ip -n red link set eth0 up"
        " && ip -n red route add default via 10.1.0.1 && iptables -w -A FORWARD -s 10.1.0.0/24 -j ACCEPT"
    )
    settle()


def run_corpus(check: bool) -> dict[str, dict]:
    tasks = []
    for case_id, task, _fragments in CASES:
        tasks.append({"name": f"case {case_id}", "ansible.builtin.debug": {"msg": case_id}})
        tasks.append(
            {
                "name": f"block {case_id}",
                "block": [{"name": f"hostile {case_id}", **task}],
                "rescue": [{"name": f"rescued {case_id}", "ansible.builtin.debug": {"msg": "failed as expected"}}],
            }
        )
    env = {"NETNS_CORE_SNAPSHOT": "raw", "NETNS_CORE_SNAPSHOT_TASKS": "hostile"}
    results = play(tasks, check=check, env=env)
    by_case: dict[str, dict] = {}
    current = None
    for result in results:
        if result["task"].startswith("case "):
            current = result["task"][len("case ") :]
        elif "kernel_after" in result and (current not in by_case or by_case[current]["status"] != "failed"):
            by_case[current] = result
    return by_case


@pytest.mark.parametrize("check", [False, True], ids=["real", "check"])
def test_hostile_input_is_refused_before_anything_changes(check):
    baseline()
    before = raw()
    started = time.monotonic()
    failures = run_corpus(check)
    problems = []
    for case_id, _task, fragments in CASES:
        result = failures.get(case_id)
        if result is None or result["status"] != "failed":
            problems.append(f"{case_id}: did not fail: {result}")
            continue
        message = str(result.get("msg", ""))
        if "Traceback" in message + str(result.get("module_stderr", "")) + str(result.get("exception", "")):
            problems.append(f"{case_id}: traceback: {message}")
        missing = [fragment for fragment in fragments if fragment not in message]
        if missing:
            problems.append(f"{case_id}: message lacks {missing}: {message!r}")
        if result["kernel_after"] != before:
            problems.append(f"{case_id}: the kernel changed")
    assert not problems, "\n".join(problems)
    assert raw() == before
    record_figure(f"hostile_inputs_{'check' if check else 'real'}", len(CASES))
    record_figure(f"hostile_inputs_{'check' if check else 'real'}_seconds", round(time.monotonic() - started, 1))


# -- values the kernel rewrites converge ---------------------------------------------------------------------
def test_values_the_kernel_rewrites_converge():
    sh("ip netns add red && ip -n red link add d0 type bridge && ip -n red link set d0 up")
    sh("ip -n red addr add fd00::1/64 dev d0 && ip -n red addr add 10.3.0.1/24 dev d0")
    tasks = [
        mod("sysctl", {"netns": "red", "name": "net.ipv4.ip_forward", "value": "0x1"}),
        mod("sysctl", {"netns": "red", "name": "net.ipv4.conf.all.rp_filter", "value": "01"}),
        mod("sysctl", {"netns": "red", "name": "net.ipv4.ip_local_port_range", "value": "40000 50000"}),
        mod("netns_route", {"netns": "red", "destination": "fd09::/64", "gateway": "fd00::2", "metric": 0}),
        mod("netns_route", {"netns": "red", "destination": "fd0a::/64", "gateway": "fe80::2", "interface": "d0"}),
    ]
    first = play(tasks)
    assert all(r["status"] == "ok" and r["changed"] for r in first), first
    assert sh("ip netns exec red sysctl -n net.ipv4.ip_forward").strip() == "1"
    assert "metric 1024" in sh("ip -n red -6 route show fd09::/64")
    again = play(tasks)
    assert [r["changed"] for r in again] == [False] * len(tasks), again
    checked = play(tasks, check=True)
    assert [r["changed"] for r in checked] == [False] * len(tasks), checked


def test_two_masquerades_of_one_source_by_two_uplinks_coexist():
    tasks = [
        mod("masquerade", {"source": "10.98.0.0/24", "out_interface": "up0"}),
        mod("masquerade", {"source": "10.98.0.0/24", "out_interface": "up1"}),
        mod("port_forward", {"port": 8080, "destination": "10.98.0.2:80", "in_interface": "up0"}),
        mod("port_forward", {"port": 8080, "destination": "10.98.0.2:80", "in_interface": "up1"}),
    ]
    assert all(r["changed"] for r in play(tasks))
    for attempt in range(2):
        again = play(tasks)
        assert [r["changed"] for r in again] == [False] * 4, (attempt, again)  # never flaps
    nat = sh("iptables -w -t nat -S")
    assert "-o up0" in nat and "-o up1" in nat and "-i up0" in nat and "-i up1" in nat
    gone = run("masquerade", {"source": "10.98.0.0/24", "out_interface": "up0", "state": "absent"})
    assert gone["changed"]
    nat = sh("iptables -w -t nat -S")
    assert "-o up0" not in nat and "-o up1" in nat


# -- foreign data -------------------------------------------------------------------------------------------
def test_a_foreign_rule_with_a_newline_in_its_comment_is_read_not_trusted():
    sh("iptables -w -A FORWARD -m comment --comment \"$(printf 'evil\\n-A FORWARD -j DROP')\" -j ACCEPT")
    sh("iptables -w -t nat -A POSTROUTING -m comment --comment \"$(printf 'a\\nb')\" -j RETURN")
    foreign = sh("iptables-save -t nat; iptables-save -t filter")
    result = run("masquerade", {"source": "10.98.0.0/24"})
    assert result["status"] == "ok" and result["changed"], result
    assert len(result["rules"]) == 3
    info = run("netns_info", {})
    assert info["status"] == "ok" and len(info["netns_info"]["host"]["rules"]) == 3, info
    assert run("masquerade", {"source": "10.98.0.0/24", "state": "absent"})["changed"]
    assert sh("iptables-save -t nat; iptables-save -t filter").count("evil") == foreign.count("evil") == 1


def test_a_rule_with_our_tag_in_a_chain_we_never_write_is_not_ours():
    spoof = '-m comment --comment "netns.core masquerade 10.98.0.0/24" -j ACCEPT'
    sh(f"iptables -w -A INPUT -s 10.98.0.0/24 {spoof}")
    for state in ("present", "absent"):
        result = run("masquerade", {"source": "10.98.0.0/24", "state": state})
        assert result["status"] == "ok", result
        assert "netns.core masquerade 10.98.0.0/24" in sh("iptables -w -S INPUT"), state


def test_foreign_entries_under_run_netns_are_reported_never_opened():
    sh("ip netns add good && mkfifo /tmp/netns-core-fifo && ln -s /tmp/netns-core-fifo /run/netns/fifo")
    sh("mkdir /run/netns/adir && touch /run/netns/stale")
    try:
        started = time.monotonic()
        info = run("netns_info", {"host": False})
        assert info["status"] == "ok", info
        assert list(info["netns_info"]["namespaces"]) == ["good"]
        skipped = info["netns_info"]["skipped"]
        assert "symbolic link" in skipped["fifo"] and "directory" in skipped["adir"] and "stale" in skipped["stale"]
        for name in ("fifo", "adir"):
            for state in ("present", "absent"):
                result = run("netns", {"name": name, "state": state})
                assert result["status"] == "failed" and "not a namespace file" in result["msg"], result
        result = run("veth", {"name": "v1", "peer": "p1", "peer_netns": "fifo"})
        assert result["status"] == "failed" and "symbolic link" in result["msg"], result
        assert time.monotonic() - started < 60, "something waited"
        assert os.path.islink("/run/netns/fifo") and os.path.isdir("/run/netns/adir")
    finally:
        sh("rm -f /run/netns/fifo /tmp/netns-core-fifo; rmdir /run/netns/adir", check=False)


def test_run_netns_that_is_a_file_or_missing():
    # a private tmpfs over the sandbox's /run (never the machine's): /run/netns is missing there
    sh("mount -t tmpfs netns-core-test /run")
    try:
        for check in (True, False):
            for module, args in (("netns_info", {}), ("netns", {"name": "x"})):
                if module == "netns" and not check:
                    continue
                result = run(module, args, check=check)
                assert result["status"] == "ok", result
                assert not os.path.exists("/run/netns"), f"{module} (check={check}) created /run/netns"
        sh("touch /run/netns")
        for module, args in (("netns_info", {}), ("netns", {"name": "x"}), ("bridge", {"name": "br0"})):
            result = run(module, args)
            assert result["status"] == "failed" and "/run/netns is a regular file, not a directory" in result["msg"]
            assert "Traceback" not in str(result.get("module_stderr", "")), result
    finally:
        sh("umount -l /run")
    assert os.path.isdir("/run/netns")


# -- bounded waits ------------------------------------------------------------------------------------------
def hold(path: str) -> subprocess.Popen:
    holder = subprocess.Popen(["flock", "-x", path, "sleep", "120"])
    time.sleep(0.5)
    return holder


def test_a_held_xtables_lock_is_a_bounded_wait_that_names_its_holder(tmp_path):
    # iptables-nft ignores the xtables lock; iptables-legacy waits on it
    for tool in ("iptables", "ip6tables"):
        (tmp_path / tool).symlink_to(f"/usr/sbin/{tool}-legacy")
    path = f"{tmp_path}:{os.environ['PATH']}"
    holder = hold("/run/xtables.lock")
    try:
        started = time.monotonic()
        env = {"NETNS_CORE_XTABLES_WAIT": "3", "PATH": path}
        (result,) = play([mod("masquerade", {"source": "10.98.0.0/24"})], env=env)
        took = time.monotonic() - started
        assert result["status"] == "failed", result
        assert "xtables lock" in result["msg"] and f"pid {holder.pid}" in result["msg"], result["msg"]
        assert took < 30, took
    finally:
        holder.kill()
        holder.wait()
    assert "netns.core" not in sh("iptables-save") + sh("iptables-legacy-save")


def test_a_held_host_lock_is_a_bounded_wait_that_names_its_holder():
    holder = hold("/run/netns")
    try:
        started = time.monotonic()
        (result,) = play([mod("netns", {"name": "x"})], env={"NETNS_CORE_LOCK_WAIT": "2"})
        assert result["status"] == "failed" and f"pid {holder.pid}" in result["msg"], result
        assert time.monotonic() - started < 30
    finally:
        holder.kill()
        holder.wait()
    assert not os.path.exists("/run/netns/x")


# -- drift before a teardown --------------------------------------------------------------------------------
def test_teardown_works_through_drift():
    containers = [{"name": f"d{i}"} for i in range(3)]
    role = {
        "ansible.builtin.include_role": {"name": "netns.core.bridge_nat"},
        "vars": {"bridge_nat_bridge": "br-drift", "bridge_nat_subnet": "10.66.0.0/24"},
    }
    built = play([{**role, "vars": {**role["vars"], "bridge_nat_containers": containers}}])
    assert all(r["status"] in ("ok", "skipped") for r in built), built
    sh("ip -n d1 link set eth0 down && ip -n d1 link set eth0 name eth9")
    results = play(
        [{**role, "vars": {**role["vars"], "bridge_nat_containers": containers, "bridge_nat_state": "absent"}}]
    )
    converge = [r for r in results if "actions" in r]
    assert converge and converge[-1]["status"] == "ok", results
    warnings = " ".join(converge[-1].get("warnings") or [])
    assert "left as it is" in warnings and "eth9" in warnings, converge[-1]
    assert sh("ip netns list").strip() == "" and set(links()) == {"lo"}
    assert "netns.core" not in sh("iptables-save")
