# SPDX-License-Identifier: GPL-3.0-or-later
"""The bridge_nat network's module work without Ansible around it: where the time of one network call goes.

Runs only inside tests/sandbox.sh (it creates namespaces, links and rules). Usage:
    tests/sandbox.sh .venv/bin/python benchmarks/inprocess.py [N ...] [--profile]
Prints, per N: check on an empty host, first converge, idempotent re-run, teardown (seconds of module work).
--batch also times `ip -batch` building the same network (bench.py's batch row, without Ansible) at each N, and
prints the slope per container between the smallest and the largest N of both (issue 14's N=1000 target).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))

from ansible_collections.netns.core.plugins.filter.bridge_nat_network import bridge_nat_network  # noqa: E402
from ansible_collections.netns.core.plugins.module_utils._netlink import Session  # noqa: E402
from ansible_collections.netns.core.plugins.module_utils._network import build_items  # noqa: E402
from ansible_collections.netns.core.plugins.module_utils._resource import converge  # noqa: E402


class FakeModule:
    check_mode = False

    def warn(self, text):
        print("warning:", text)

    def get_bin_path(self, name, required=False):
        import shutil

        return shutil.which(name)

    def run_command(self, args, **kwargs):
        import subprocess

        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr


def network_params(n: int, state: str) -> dict:
    plan = bridge_nat_network(
        {"bridge": "br0", "subnet": "10.98.0.0/16", "containers": [{"name": f"c{i}"} for i in range(n)]}
    )
    return {**plan["network"], "state": state}


REQUESTS = [0]
COUNTS: dict[str, int] = {}


def count_requests() -> None:
    """Count the netlink requests the module sends (every buffer through pyroute2's sockets)."""
    from pyroute2.netlink.core import AsyncCoreSocket

    from ansible_collections.netns.core.plugins.module_utils._netlink import Rtnl

    send = AsyncCoreSocket.send
    exchange = Rtnl._exchange

    def counted(self, data, flags=0):
        REQUESTS[0] += 1
        return send(self, data, flags)

    def counted_read(self, *args):
        REQUESTS[0] += 1
        return exchange(self, *args)

    AsyncCoreSocket.send = counted
    Rtnl._exchange = counted_read


def one_call(n: int, state: str, check: bool) -> tuple[float, bool]:
    module = FakeModule()
    module.check_mode = check
    start = time.perf_counter()
    session = Session()
    try:
        items = build_items(network_params(n, state), module)
        outcomes = converge(session, items, check, module).outcomes
    finally:
        session.close()
    return time.perf_counter() - start, any(o.changed for o in outcomes)


def phase(profiled: str | None, name: str, n: int, state: str, check: bool) -> tuple[float, bool]:
    """One call; cProfiled (the top printed) when it is the phase asked for."""
    REQUESTS[0] = 0
    if profiled != name:
        seconds, changed = one_call(n, state, check)
        COUNTS[name] = REQUESTS[0]
        return seconds, changed
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        return one_call(n, state, check)
    finally:
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(40)


def batch_seconds(n: int) -> float:
    """`ip -batch` (and iptables-restore) building bench.py's network of n containers, then everything removed."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench

    workdir = tempfile.mkdtemp(prefix="netns-inprocess-")
    script = bench.batch_script(bench.network(n), workdir)
    start = time.perf_counter()
    subprocess.run(["bash", "-c", script], check=True)
    seconds = time.perf_counter() - start
    clean = (
        f"ip -all netns delete; ip link del {bench.BRIDGE}; iptables -w -t nat -F POSTROUTING; iptables -w -F FORWARD"
    )
    subprocess.run(["bash", "-c", clean], check=True)
    deadline = time.monotonic() + 60  # the host ends of the veths go after their namespaces, asynchronously
    veths = ["ip", "-o", "link", "show", "type", "veth"]
    while subprocess.run(veths, capture_output=True, text=True, check=True).stdout:
        if time.monotonic() > deadline:
            sys.exit("the veths of the ip -batch network did not go within 60 s")
        time.sleep(0.1)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[100])
    parser.add_argument(
        "--profile",
        nargs="?",
        const="converge",
        choices=["check", "converge", "again", "teardown"],
        help="cProfile one phase (default: the first converge) and print the top",
    )
    parser.add_argument("--batch", action="store_true", help="also time ip -batch at each N; print both slopes")
    args = parser.parse_args()
    if os.environ.get("NETNS_CORE_SANDBOX") != "1":
        sys.exit("run me inside tests/sandbox.sh")
    count_requests()
    converges: dict[int, float] = {}
    batches: dict[int, float] = {}
    for n in args.sizes:
        check, changed_check = phase(args.profile, "check", n, "present", True)
        converge, changed = phase(args.profile, "converge", n, "present", False)
        again, changed_again = phase(args.profile, "again", n, "present", False)
        teardown, _changed = phase(args.profile, "teardown", n, "absent", False)
        assert changed_check and changed and not changed_again, (changed_check, changed, changed_again)
        print(f"N={n}: check {check:.2f} s, converge {converge:.2f} s, again {again:.2f} s, teardown {teardown:.2f} s")
        print(f"N={n} netlink requests: " + ", ".join(f"{name} {count}" for name, count in COUNTS.items()))
        converges[n] = converge
        if args.batch:
            batches[n] = batch_seconds(n)
            print(f"N={n}: ip -batch {batches[n]:.2f} s")
    if args.batch and len(converges) > 1:
        low, high = min(converges), max(converges)
        ours = (converges[high] - converges[low]) / (high - low) * 1000
        floor = (batches[high] - batches[low]) / (high - low) * 1000
        print(
            f"slope per container N={low}..{high}: converge {ours:.2f} ms, ip -batch {floor:.2f} ms, "
            f"ratio {ours / floor:.2f} (target <= 2)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
