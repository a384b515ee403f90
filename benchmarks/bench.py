# SPDX-License-Identifier: GPL-3.0-or-later
"""Speed of netns.core against the alternatives: whole `ansible-playbook` wall time, inside the sandbox.

    make bench                       # = bench.py run, then bench.py report
    bench.py run [--runs 5] [--sizes 10 50 100 250] [--slow-max-n 100 | --slow-sizes 10 100] [--slow-runs 2]
    bench.py report                  # benchmarks/results/{results.md,results.csv,bench.png} from samples.json

Each trial runs in its own throw-away sandbox (tests/sandbox.sh: a new network and mount namespace; the real
host's network is never touched and no packet leaves it). Inside a trial every (approach, N) is run once, in a
shuffled order, so every row of a trial saw the same machine; the median over trials is reported with min and
max. After every build the kernel state is checked (namespaces, bridge, every veth and its master, addresses,
default routes, MASQUERADE, ip_forward), and a row that did not build the network fails the run.

Approaches (the same network: a bridge br0 with the gateway, N namespaces c0..cN-1 each with eth0 on the bridge,
an address, a default route, and a MASQUERADE for the subnet):
  role      the netns.core.bridge_nat role: check (empty host), converge, again, check (converged), teardown
  shell     the seeds' plain ip/iptables script (ip netns exec for the containers), one task
  batch     ip -batch for the host, ip -n NAME -batch per namespace, iptables-restore --noflush: the floor
  modules   loops of the single-object modules (netns, bridge, veth, netns_route, masquerade)
  command   community.general.ip_netns + ansible.builtin.command loops of ip / iptables (common practice)
  empty / true / single   an empty play, one command: /bin/true task, one netns module call on an existing netns
  overlay   the netns.core.overlay role over simulated hosts (tests/tools/simhosts.py) with -f 3: 3 hosts x N
            containers against 1 host x N and 1 host x 3N (N = --overlay-n, 50; 0 leaves the row out): converge,
            then the idempotent re-run
The slow rows (modules, command) cost about 0.5 s per loop item: they run up to --slow-max-n, in the first
--slow-runs trials.
"""

from __future__ import annotations

import argparse
import csv
import ipaddress
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PLAYBOOKS = os.path.join(HERE, "playbooks")
RESULTS = os.path.join(HERE, "results")
SAMPLES = os.path.join(RESULTS, "samples.json")
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
BENCH_COLLECTIONS = os.path.join(ROOT, ".build", "bench-collections")
SUBNET = "10.98.0.0/16"
BRIDGE = "br0"
SLOW = ("modules", "command")
FAST = ("role", "shell", "batch")
FIXED = ("empty", "true", "single")
ROLE_PHASES = ("check", "converge", "again", "check_converged", "teardown")
# overlay: (simulated hosts, containers per host as a multiple of --overlay-n)
OVERLAY_SHAPES = ((3, 1), (1, 1), (1, 3))

sys.path.insert(0, COLLECTIONS)


# -- the network, as data ----------------------------------------------------------------------------------------
def network(n: int) -> dict:
    from ansible_collections.netns.core.plugins.filter.bridge_nat_network import bridge_nat_network

    return bridge_nat_network({"bridge": BRIDGE, "subnet": SUBNET, "containers": [{"name": f"c{i}"} for i in range(n)]})


def masquerade_argv(source: str) -> list[list[str]]:
    """The rules the masquerade module makes (untagged here: a script's rules carry no tag)."""
    return [
        ["iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-s", source, "!", "-d", source, "-j", "MASQUERADE"],
        ["iptables", "-w", "-I", "FORWARD", "-s", source, "-j", "ACCEPT"],
        ["iptables", "-w", "-I", "FORWARD", "-d", source, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
         "-j", "ACCEPT"],
    ]  # fmt: skip


def ip_commands(plan: dict, netns_exec: bool) -> list[list[str]]:
    """The network as ip/iptables commands (without creating the namespaces), as the seeds write them."""
    net = plan["network"]
    bridge = net["bridges"][0]
    cmds = [
        ["ip", "link", "add", bridge["name"], "type", "bridge"],
        ["ip", "addr", "add", bridge["addresses"][0], "dev", bridge["name"]],
        ["ip", "link", "set", bridge["name"], "up"],
    ]
    routes = {route["netns"]: route for route in net["routes"]}
    for veth in net["veths"]:
        ns = veth["peer_netns"]
        inside = ["ip", "netns", "exec", ns, "ip"] if netns_exec else ["ip", "-n", ns]
        cmds += [
            ["ip", "link", "add", veth["name"], "type", "veth", "peer", "name", veth["peer"], "netns", ns],
            ["ip", "link", "set", veth["name"], "master", veth["master"]],
            ["ip", "link", "set", veth["name"], "up"],
            inside + ["addr", "add", veth["peer_addresses"][0], "dev", veth["peer"]],
            inside + ["link", "set", veth["peer"], "up"],
            inside + ["link", "set", "lo", "up"],
            inside + ["route", "add", "default", "via", routes[ns]["gateway"]],
        ]
    cmds.append(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    cmds += masquerade_argv(net["masquerades"][0]["source"])
    return cmds


def shell_script(plan: dict) -> str:
    lines = ["set -e"] + [f"ip netns add {ns['name']}" for ns in plan["network"]["namespaces"]]
    lines += [" ".join(cmd) for cmd in ip_commands(plan, netns_exec=True)]
    return "\n".join(lines) + "\n"


def batch_script(plan: dict, workdir: str) -> str:
    """ip -batch for the host, one ip -n NAME -batch per namespace, iptables-restore --noflush for the rules."""
    net = plan["network"]
    bridge = net["bridges"][0]
    host = [f"netns add {ns['name']}" for ns in net["namespaces"]]
    host += [f"link add {bridge['name']} type bridge", f"addr add {bridge['addresses'][0]} dev {bridge['name']}"]
    host += [f"link set {bridge['name']} up"]
    routes = {route["netns"]: route for route in net["routes"]}
    lines = ["set -e", f"ip -batch {workdir}/host.batch"]
    for veth in net["veths"]:
        ns = veth["peer_netns"]
        host += [
            f"link add {veth['name']} type veth peer name {veth['peer']} netns {ns}",
            f"link set {veth['name']} master {veth['master']} up",
        ]
        with open(os.path.join(workdir, f"{ns}.batch"), "w", encoding="ascii") as out:
            out.write(
                f"addr add {veth['peer_addresses'][0]} dev {veth['peer']}\nlink set {veth['peer']} up\n"
                f"link set lo up\nroute add default via {routes[ns]['gateway']}\n"
            )
        lines.append(f"ip -n {ns} -batch {workdir}/{ns}.batch")
    with open(os.path.join(workdir, "host.batch"), "w", encoding="ascii") as out:
        out.write("\n".join(host) + "\n")
    source = net["masquerades"][0]["source"]
    rules = [
        "*nat",
        f"-A POSTROUTING -s {source} ! -d {source} -j MASQUERADE",
        "COMMIT",
        "*filter",
        f"-I FORWARD -s {source} -j ACCEPT",
        f"-I FORWARD -d {source} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "COMMIT",
    ]
    with open(os.path.join(workdir, "rules"), "w", encoding="ascii") as out:
        out.write("\n".join(rules) + "\n")
    lines += ["sysctl -qw net.ipv4.ip_forward=1", f"iptables-restore -w --noflush {workdir}/rules"]
    return "\n".join(lines) + "\n"


# -- running one playbook ----------------------------------------------------------------------------------------
RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def ansible_env() -> dict:
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=f"{COLLECTIONS}:{BENCH_COLLECTIONS}",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
    )
    return env


def playbook(name: str, extra: list[str], python: str | None = None) -> tuple[float, int]:
    """Wall time of one whole ansible-playbook run, and its changed count. A failed run stops the benchmark."""
    argv = [
        os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={python or sys.executable}",
        os.path.join(PLAYBOOKS, name),
        *extra,
    ]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=ansible_env(), check=False)
    seconds = time.perf_counter() - start
    recap = RECAP.findall(proc.stdout) or [("0", "0", "0", "0")]  # an empty play prints no host line
    if proc.returncode != 0 or recap[-1][3] != "0":
        output = f"{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
        sys.exit(f"{name} {' '.join(extra)} failed (rc {proc.returncode}):\n{output}")
    return seconds, int(recap[-1][1])


def overlay_trial(n: int, record) -> None:
    """The overlay role over simulated hosts, each shape in its own set of hosts (built and torn down untimed)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
    import simhosts

    for hosts, factor in OVERLAY_SHAPES:
        per_host = n * factor
        group_vars = {"overlay_containers": [{"name": f"c{i}"} for i in range(per_host)]}
        with simhosts.SimHosts(hosts, group_vars=group_vars) as cluster, tempfile.TemporaryDirectory() as tmp:
            inventory = cluster.write_inventory(os.path.join(tmp, "inventory.yml"))
            env = cluster.ansible_env(ansible_env())
            argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-f", "3", "-i", str(inventory),
                    os.path.join(PLAYBOOKS, "overlay.yml")]  # fmt: skip
            for phase in ("converge", "again"):
                start = time.perf_counter()
                proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
                seconds = time.perf_counter() - start
                recaps = RECAP.findall(proc.stdout)
                if proc.returncode != 0 or len(recaps) != hosts or any(r[3] != "0" for r in recaps):
                    sys.exit(
                        f"overlay {hosts}x{per_host} {phase} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
                    )
                changed = sum(int(r[1]) for r in recaps)
                if phase == "again" and changed:
                    sys.exit(f"overlay {hosts}x{per_host}: the re-run reported changed={changed}")
                record("overlay", f"{phase}_{hosts}x{per_host}", hosts * per_host, seconds, changed)
                verify_overlay(cluster, per_host)


def verify_overlay(cluster, per_host: int) -> None:
    """Every host has its containers and a VXLAN device with one FDB entry per peer; the first container of the
    first host reaches the last container of the last host."""
    names = sorted(cluster.hosts, key=lambda name: cluster.hosts[name].index)
    for name in names:
        count = len(cluster.run(name, "ls /run/netns").split())
        peers = len(
            [line for line in cluster.run(name, "bridge fdb show dev vx-overlay").splitlines() if " dst " in line]
        )
        if count != per_host or peers != len(names) - 1:
            sys.exit(f"overlay: {name} has {count} containers (want {per_host}), {peers} VXLAN peers")
    last = cluster.hosts[names[-1]]
    if not cluster.ping(names[0], f"10.244.{last.index}.{per_host + 1}", netns="c0"):
        sys.exit(f"overlay: {names[0]}/c0 does not reach the last container of {names[-1]}")


# -- what the kernel holds ---------------------------------------------------------------------------------------
def run(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def verify_built(plan: dict) -> None:
    """The whole network is there: every namespace, veth, master, address, default route, the NAT rule."""
    from pyroute2 import IPRoute
    from pyroute2 import netns as pnetns

    net = plan["network"]
    want_ns = {ns["name"] for ns in net["namespaces"]}
    have_ns = set(os.listdir("/run/netns"))
    problems = [f"namespaces missing: {sorted(want_ns - have_ns)[:5]}"] if want_ns - have_ns else []
    with IPRoute() as ipr:
        links = {link.get("IFLA_IFNAME"): link for link in ipr.get_links()}
        bridge = links.get(BRIDGE)
        addresses = {f"{a.get('IFA_LOCAL')}/{a['prefixlen']}" for a in ipr.get_addr(label=BRIDGE)}
    if bridge is None or not bridge["flags"] & 1 or net["bridges"][0]["addresses"][0] not in addresses:
        problems.append(f"bridge {BRIDGE} missing, down or without its address ({sorted(addresses)})")
    for veth in net["veths"]:
        link = links.get(veth["name"])
        if link is None or not link["flags"] & 1 or link.get("IFLA_MASTER") != (bridge or {}).get("index"):
            problems.append(f"{veth['name']}: missing, down or not on {BRIDGE}")
    gateway = net["routes"][0]["gateway"]
    for veth in net["veths"]:
        ns = veth["peer_netns"]
        pnetns.pushns(ns)
        try:
            with IPRoute() as ipr:
                eth = {link.get("IFLA_IFNAME"): link["flags"] & 1 for link in ipr.get_links()}
                addrs = {f"{a.get('IFA_LOCAL')}/{a['prefixlen']}" for a in ipr.get_addr(family=2)}
                gws = {r.get("RTA_GATEWAY") for r in ipr.get_routes(family=2) if r["dst_len"] == 0}
        finally:
            pnetns.popns()
        if not eth.get(veth["peer"]) or not eth.get("lo") or veth["peer_addresses"][0] not in addrs:
            problems.append(f"{ns}: {veth['peer']} or lo down, or address missing ({sorted(addrs)})")
        if gws != {gateway}:
            problems.append(f"{ns}: default route {gws}, expected via {gateway}")
    source = net["masquerades"][0]["source"]
    if not re.search(rf"-s {re.escape(source)} .*-j MASQUERADE", run(["iptables", "-w", "-t", "nat", "-S"])):
        problems.append("no MASQUERADE rule for " + source)
    if open("/proc/sys/net/ipv4/ip_forward", encoding="ascii").read().strip() != "1":
        problems.append("ip_forward is not 1")
    if problems:
        sys.exit(f"N={len(net['veths'])}: the network is not what was asked for: {problems[:10]}")


def verify_empty() -> None:
    leftovers = os.listdir("/run/netns")
    links = run(["ip", "-o", "link", "show"])
    rules = run(["iptables", "-w", "-t", "nat", "-S"]) + run(["iptables", "-w", "-S"])
    if leftovers or BRIDGE + ":" in links or "veth-" in links or "MASQUERADE" in rules or "10.98." in rules:
        sys.exit(f"teardown left something: netns {leftovers[:5]}, links/rules:\n{links}\n{rules}")


def clean(iptables_baseline: str) -> None:
    """Untimed: remove what a script built (sandbox only), back to the trial's empty state."""
    subprocess.run(["ip", "-all", "netns", "delete"], check=False, capture_output=True)
    subprocess.run(["ip", "link", "del", BRIDGE], check=False, capture_output=True)
    subprocess.run(["iptables-restore", "-w"], input=iptables_baseline, text=True, check=True)
    with open("/proc/sys/net/ipv4/ip_forward", "w", encoding="ascii") as out:
        out.write("0")
    for _attempt in range(200):  # host ends of the veths go when the kernel has cleaned up their namespaces
        if "veth-" not in run(["ip", "-o", "link", "show"]):
            break
        time.sleep(0.05)
    verify_empty()


# -- one trial, inside the sandbox -------------------------------------------------------------------------------
def trial(args: argparse.Namespace) -> None:
    if os.environ.get("NETNS_CORE_SANDBOX") != "1":
        sys.exit("bench.py trial creates namespaces, links and rules: it runs only inside tests/sandbox.sh")
    rng = random.Random(args.seed)
    # The sandbox starts with no rules: what clean() puts back (tables listed so that restoring empties them)
    baseline = "".join(
        f"*{table}\n" + "".join(f":{chain} ACCEPT [0:0]\n" for chain in chains) + "COMMIT\n"
        for table, chains in (
            ("nat", ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")),
            ("filter", ("INPUT", "FORWARD", "OUTPUT")),
        )
    )
    samples: list[dict] = []
    workdir = tempfile.mkdtemp(prefix="netns-bench-")
    units = [(a, n) for a in FAST for n in args.sizes]
    if args.slow:
        slow_sizes = args.slow_sizes or [n for n in args.sizes if n <= args.slow_max_n]
        units += [(a, n) for a in SLOW for n in slow_sizes]
    units += [(a, None) for a in FIXED]
    if args.overlay_n:
        units.append(("overlay", args.overlay_n))
    rng.shuffle(units)
    if args.rss:
        units.append(("rss", max(args.sizes)))

    def record(approach: str, phase: str, n: int | None, seconds: float, changed: int, **extra) -> None:
        samples.append(
            {"trial": args.trial, "approach": approach, "phase": phase, "n": n, "seconds": round(seconds, 4),
             "changed": changed, **extra}
        )  # fmt: skip
        print(f"  trial {args.trial} {approach:8} {phase:16} N={n!s:4} {seconds:7.2f} s changed={changed}", flush=True)

    for approach, n in units:
        plan = network(n) if n else None
        varsfile = os.path.join(workdir, f"vars-{n}.json")
        if plan:
            with open(varsfile, "w", encoding="ascii") as out:
                json.dump(
                    {
                        "bridge_nat_bridge": BRIDGE,
                        "bridge_nat_subnet": SUBNET,
                        "bridge_nat_containers": [{"name": f"c{i}"} for i in range(n)],
                        "bench_network": plan["network"],
                        "bench_commands": [" ".join(c) for c in ip_commands(plan, netns_exec=False)],
                    },
                    out,
                )
        extra = ["-e", f"@{varsfile}"]
        if approach == "role":
            for phase in ROLE_PHASES:
                flags = ["--check"] if phase.startswith("check") else []
                state = ["-e", "bridge_nat_state=absent"] if phase == "teardown" else []
                seconds, changed = playbook("role.yml", extra + flags + state)
                record("role", phase, n, seconds, changed)
                if phase == "check":
                    verify_empty()  # check mode changed nothing
                    if changed != 1:
                        sys.exit(f"role --check on an empty host reported changed={changed}")
                elif phase == "converge":
                    verify_built(plan)
                elif phase in ("again", "check_converged"):
                    if changed != 0:
                        sys.exit(f"role {phase} reported changed={changed}")
                    verify_built(plan)
                else:
                    verify_empty()
        elif approach == "rss":
            rss_file = os.path.join(workdir, "rss")
            env_py = os.path.join(workdir, "rss_python")  # an interpreter must be one executable file
            with open(os.path.join(HERE, "rss_python.py"), encoding="utf-8") as source:
                with open(env_py, "w", encoding="utf-8") as wrapper:
                    wrapper.write(f"#!{sys.executable}\n" + source.read())
            os.chmod(env_py, 0o755)
            os.environ.update(BENCH_RSS_FILE=rss_file, BENCH_REAL_PYTHON=sys.executable)
            for phase, state in (("converge", []), ("teardown", ["-e", "bridge_nat_state=absent"])):
                open(rss_file, "w").close()
                seconds, changed = playbook("role.yml", extra + state, python=env_py)
                with open(rss_file, encoding="ascii") as handle:
                    peak = max(int(line) for line in handle if line.strip())
                record("rss", phase, n, seconds, changed, rss_kib=peak)
            verify_empty()
        elif approach in ("shell", "batch"):
            script = os.path.join(workdir, f"{approach}.sh")
            with open(script, "w", encoding="ascii") as out:
                out.write(shell_script(plan) if approach == "shell" else batch_script(plan, workdir))
            seconds, changed = playbook("shell.yml", ["-e", f"bench_script={script}"])
            record(approach, "converge", n, seconds, changed)
            verify_built(plan)
            clean(baseline)
        elif approach in SLOW:
            seconds, changed = playbook(f"{approach}.yml", extra)
            record(approach, "converge", n, seconds, changed)
            verify_built(plan)
            clean(baseline)
        elif approach == "overlay":
            overlay_trial(n, record)
        elif approach == "single":
            subprocess.run(["ip", "netns", "add", "bench-single"], check=True)
            subprocess.run(["ip", "-n", "bench-single", "link", "set", "lo", "up"], check=True)
            seconds, changed = playbook("single.yml", [])
            if changed:
                sys.exit("the single module call on an existing namespace reported a change")
            record("single", "call", None, seconds, changed)
            subprocess.run(["ip", "netns", "delete", "bench-single"], check=True)
        else:
            seconds, changed = playbook(f"{approach}.yml", [])
            record(approach, "call", None, seconds, changed)
    with open(args.out, "w", encoding="ascii") as out:
        json.dump(samples, out)


# -- many trials, outside the sandbox ----------------------------------------------------------------------------
def run_trials(args: argparse.Namespace) -> None:
    os.makedirs(RESULTS, exist_ok=True)
    samples: list[dict] = []
    meta = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "args": vars(args) | {"func": None}, "machine": machine()}
    for index in range(args.runs):
        print(f"trial {index + 1}/{args.runs}", flush=True)
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            argv = [
                os.path.join(ROOT, "tests", "sandbox.sh"),
                sys.executable,
                os.path.abspath(__file__),
                "trial",
                "--trial", str(index),
                "--seed", str(args.seed + index),
                "--out", out.name,
                "--slow-max-n", str(args.slow_max_n),
                "--sizes", *map(str, args.sizes),
            ]  # fmt: skip
            argv += ["--slow-sizes", *map(str, args.slow_sizes)] if args.slow_sizes else []
            argv += ["--slow"] if index < args.slow_runs else []
            argv += ["--overlay-n", str(args.overlay_n)]
            argv += ["--rss"] if index == 0 else []
            subprocess.run(argv, check=True)
            samples += json.load(open(out.name, encoding="ascii"))
        with open(SAMPLES, "w", encoding="ascii") as handle:
            json.dump({"meta": meta, "samples": samples}, handle, indent=0)
    report(args)


def machine() -> dict:
    import platform

    versions = run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "--version"]).splitlines()[0]
    return {
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "ansible": versions,
        "iproute2": run(["ip", "-V"]).strip(),
    }


# -- the report --------------------------------------------------------------------------------------------------
ROWS = [
    ("role", "converge", "bridge_nat role: first converge"),
    ("role", "again", "bridge_nat role: idempotent re-run"),
    ("role", "check", "bridge_nat role: --check, empty host"),
    ("role", "check_converged", "bridge_nat role: --check, converged host"),
    ("role", "teardown", "bridge_nat role: teardown"),
    ("shell", "converge", "shell script of ip/iptables (one task)"),
    ("batch", "converge", "ip -batch (one task): the floor"),
    ("modules", "converge", "loops of single-object modules"),
    ("command", "converge", "ip_netns + command: ip ... loops"),
]
FIXED_ROWS = [
    ("empty", "empty playbook"),
    ("true", "one ansible.builtin.command: /bin/true task"),
    ("single", "one netns.core.netns call on an existing netns"),
]


def stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def report(args: argparse.Namespace) -> None:
    data = json.load(open(SAMPLES, encoding="ascii"))
    samples, meta = data["samples"], data["meta"]
    sizes = sorted({s["n"] for s in samples if s["n"] is not None and s["approach"] not in ("rss", "overlay")})
    table: dict[tuple, dict] = {}
    for approach, phase, _title in ROWS:
        for n in sizes:
            values = [s["seconds"] for s in samples if (s["approach"], s["phase"], s["n"]) == (approach, phase, n)]
            if values:
                table[(approach, phase, n)] = stats(values)
    for approach, _title in FIXED_ROWS:
        values = [s["seconds"] for s in samples if s["approach"] == approach]
        if values:
            table[(approach, "call", None)] = stats(values)

    def cell(key: tuple) -> str:
        if key not in table:
            return "not run"
        st = table[key]
        return f"{st['median']:.2f} ({st['min']:.2f}-{st['max']:.2f})"

    def med(key: tuple) -> float | None:
        return table[key]["median"] if key in table else None

    lines = [
        "# netns.core benchmark results",
        "",
        f"Started {meta['started']}; {meta['machine']['cpus']} CPUs, kernel {meta['machine']['kernel']}, "
        f"Python {meta['machine']['python']}, {meta['machine']['ansible']}, {meta['machine']['iproute2']}.",
        "Whole `ansible-playbook` wall time in seconds, inside the sandbox: median (min-max) over the trials "
        "(runs per cell in results.csv). Every build was checked against the kernel after it ran.",
        "",
        "| approach | " + " | ".join(f"N={n}" for n in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    for approach, phase, title in ROWS:
        lines.append(f"| {title} | " + " | ".join(cell((approach, phase, n)) for n in sizes) + " |")
    lines += ["", "| fixed cost | seconds |", "|---|---|"]
    for approach, title in FIXED_ROWS:
        lines.append(f"| {title} | {cell((approach, 'call', None))} |")
    overlay = {}
    for sample in samples:
        if sample["approach"] == "overlay":
            overlay.setdefault(sample["phase"], []).append(sample["seconds"])
    if overlay:
        lines += ["", "| overlay role, simulated hosts, `-f 3` | seconds |", "|---|---|"]

        def order(phase: str) -> tuple:
            what, shape = phase.split("_")
            hosts, per_host = map(int, shape.split("x"))
            return what != "converge", -hosts, per_host

        for phase in sorted(overlay, key=order):
            what, shape = phase.split("_")
            hosts, per_host = shape.split("x")
            title = f"{'first converge' if what == 'converge' else 'idempotent re-run'}: {hosts} host(s) x {per_host}"
            st = stats(overlay[phase])
            lines.append(f"| {title} | {st['median']:.2f} ({st['min']:.2f}-{st['max']:.2f}) |")
    rss = [s for s in samples if s["approach"] == "rss"]
    if rss:
        lines += ["", "Peak memory (max RSS) of the module process, bridge_nat role:"]
        lines += [f"- N={s['n']} {s['phase']}: {s['rss_kib'] / 1024:.1f} MiB" for s in rss]

    lines += ["", "## Targets (issue 14; N=100 unless said)", ""]
    n = 100
    targets = []
    converge, shell = med(("role", "converge", n)), med(("shell", "converge", n))
    batch, teardown = med(("batch", "converge", n)), med(("role", "teardown", n))
    empty = med(("empty", "call", None))
    if converge and batch:
        targets.append(("first converge / ip -batch <= 1.5", f"{converge / batch:.2f}", converge / batch <= 1.5))
    if converge and shell:
        targets.append(("first converge / shell script <= 0.8", f"{converge / shell:.2f}", converge / shell <= 0.8))
    for phase in ("again", "check_converged"):
        value = med(("role", phase, n))
        if value and empty:
            over = value - empty
            targets.append((f"{phase} - empty playbook <= 0.6 s", f"{over:.2f} s", over <= 0.6))
    if teardown and converge:
        targets.append(("teardown / first converge <= 1.0", f"{teardown / converge:.2f}", teardown <= converge))
    for approach, factor in (("modules", 30), ("command", 20)):
        value = med((approach, "converge", n))
        if value and converge:
            ratio = value / converge
            targets.append((f"{approach} / role converge >= {factor}x", f"{ratio:.1f}x", ratio >= factor))
    big = max(sizes) if sizes else None
    if big and big >= 1000:
        phases = ("converge", "again", "check_converged", "teardown")
        done = [phase for phase in phases if med(("role", phase, big))]
        # every run of the harness checks the kernel after it (built exactly, changed=0 again, nothing left)
        targets.append((f"N={big}: converges, re-runs, checks and tears down, each checked against the kernel",
                        ", ".join(f"{phase} {med(('role', phase, big)):.1f} s" for phase in done) or "not run",
                        len(done) == len(phases)))  # fmt: skip
    low = min((size for size in sizes if size >= 250 and size < (big or 0)), default=n)
    if big and big > low:
        slopes = {}
        for approach in ("role", "batch", "shell"):
            lo, hi = med((approach, "converge", low)), med((approach, "converge", big))
            if lo and hi:
                slopes[approach] = (hi - lo) / (big - low)
        if "role" in slopes and "batch" in slopes:
            ratio = slopes["role"] / slopes["batch"]
            text = ", ".join(f"{a} {s * 1000:.1f} ms" for a, s in slopes.items())
            targets.append((f"slope per container N={low}..{big}: role / ip -batch <= 2", f"{ratio:.2f} ({text})",
                            ratio <= 2))  # fmt: skip
    if rss:
        peak = max(s["rss_kib"] for s in rss) / 1024
        at = max(s["n"] for s in rss)
        targets.append((f"peak RSS of the module process (N={at}) <= 100 MiB", f"{peak:.0f} MiB", peak <= 100))
    single, true = med(("single", "call", None)), med(("true", "call", None))
    if single and true:
        targets.append(("single module call - command /bin/true <= 0.1 s", f"{single - true:.2f} s",
                        single - true <= 0.1))  # fmt: skip
    lines += ["| target | measured | met |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {'met' if ok else 'NOT met'} |" for name, value, ok in targets]
    with open(os.path.join(RESULTS, "results.md"), "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    with open(os.path.join(RESULTS, "results.csv"), "w", encoding="ascii", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["approach", "phase", "n", "median_s", "min_s", "max_s", "runs"])
        for (approach, phase, size), st in sorted(table.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0)):
            writer.writerow([approach, phase, size or "", f"{st['median']:.3f}", f"{st['min']:.3f}",
                             f"{st['max']:.3f}", st["runs"]])  # fmt: skip
        for phase, values in sorted(overlay.items()):
            st = stats(values)
            total = next(x["n"] for x in samples if (x["approach"], x["phase"]) == ("overlay", phase))
            writer.writerow(["overlay", phase, total, f"{st['median']:.3f}", f"{st['min']:.3f}", f"{st['max']:.3f}",
                             st["runs"]])  # fmt: skip
    plot(table, sizes)
    print("\n".join(lines))


def plot(table: dict, sizes: list[int]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (make bench installs it)")
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    for approach, phase, title in ROWS:
        points = [(n, table[(approach, phase, n)]["median"]) for n in sizes if (approach, phase, n) in table]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=title)
    if ("empty", "call", None) in table:
        ax.axhline(table[("empty", "call", None)]["median"], color="grey", linestyle=":", label="empty playbook")
    ax.set_xlabel("containers (N)")
    ax.set_ylabel("ansible-playbook wall time (s, median)")
    ax.set_yscale("log")
    ax.set_title("netns.core: building the bridge-and-NAT network")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(RESULTS, "bench.png"), dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "trial"):
        p = sub.add_parser(name)
        p.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100, 250])
        p.add_argument("--slow-max-n", type=int, default=100)
        p.add_argument("--slow-sizes", type=int, nargs="+", help="sizes for the slow rows (default: up to max-n)")
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--overlay-n", type=int, default=50, help="containers per simulated host (0: no overlay row)")
    sub.choices["run"].add_argument("--runs", type=int, default=5)
    sub.choices["run"].add_argument("--slow-runs", type=int, default=2)
    sub.choices["run"].set_defaults(func=run_trials)
    sub.choices["trial"].add_argument("--trial", type=int, default=0)
    sub.choices["trial"].add_argument("--out", required=True)
    sub.choices["trial"].add_argument("--slow", action="store_true")
    sub.choices["trial"].add_argument("--rss", action="store_true")
    sub.choices["trial"].set_defaults(func=trial)
    sub.add_parser("report").set_defaults(func=report)
    args = parser.parse_args()
    for size in getattr(args, "sizes", []):
        if not 1 <= size <= ipaddress.ip_network(SUBNET).num_addresses - 3:
            parser.error(f"size {size} out of range")
    args.func(args)


if __name__ == "__main__":
    main()
