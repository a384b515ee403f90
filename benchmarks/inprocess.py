# SPDX-License-Identifier: GPL-3.0-or-later
"""The bridge_nat network's module work without Ansible around it: where the time of one network call goes.

Runs only inside tests/sandbox.sh (it creates namespaces, links and rules). Usage:
    tests/sandbox.sh .venv/bin/python benchmarks/inprocess.py [N ...] [--profile]
Prints, per N: check on an empty host, first converge, idempotent re-run, teardown (seconds of module work).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
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
    args = parser.parse_args()
    if os.environ.get("NETNS_CORE_SANDBOX") != "1":
        sys.exit("run me inside tests/sandbox.sh")
    count_requests()
    for n in args.sizes:
        check, changed_check = phase(args.profile, "check", n, "present", True)
        converge, changed = phase(args.profile, "converge", n, "present", False)
        again, changed_again = phase(args.profile, "again", n, "present", False)
        teardown, _changed = phase(args.profile, "teardown", n, "absent", False)
        assert changed_check and changed and not changed_again, (changed_check, changed, changed_again)
        print(f"N={n}: check {check:.2f} s, converge {converge:.2f} s, again {again:.2f} s, teardown {teardown:.2f} s")
        print(f"N={n} netlink requests: " + ", ".join(f"{name} {count}" for name, count in COUNTS.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
