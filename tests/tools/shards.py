# SPDX-License-Identifier: GPL-3.0-or-later
"""Run test files in parallel, each in a sandbox of its own (tests/sandbox.sh: a private network and mount
namespace), and fail if any of them fails.

    python tests/tools/shards.py [--jobs N] [--alone FILE]... FILE... [-- PYTEST-ARGS...]

- Up to N (default $NETNS_CORE_SHARDS, else 3) pytest processes at once, one test file each, the longest first
  (the durations of the last run, kept in .build/shards.json; the file size for a file not timed yet), so the
  files spread over the workers as they finish.
- --alone FILE: run after all the others, with nothing else running (tests whose figures depend on timing).
- Each file's pytest output is printed in one block when the file is done, with its exit status and time; the
  exit status is 0 only if every file passed.

The sandboxes are private, so the files cannot see each other's namespaces, links or rules. What they share is
the machine's CPU, /tmp (tests use unique temporary names) and the xtables lock (iptables -w waits for it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIMES = REPO / ".build" / "shards.json"


def sandboxed_pytest(path: str, pytest_args: list[str]) -> list[str]:
    env = [f"PATH={os.environ.get('PATH', '')}"]
    if os.environ.get("ANSIBLE_COLLECTIONS_PATH"):
        env.append(f"ANSIBLE_COLLECTIONS_PATH={os.environ['ANSIBLE_COLLECTIONS_PATH']}")
    # no cache: the processes run at once in one tree
    pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *pytest_args, path]
    return [str(REPO / "tests" / "sandbox.sh"), "env", *env, *pytest]


class Shards:
    def __init__(self, pytest_args: list[str]) -> None:
        self.pytest_args = pytest_args
        self.lock = threading.Lock()
        self.results: dict[str, tuple[int, float]] = {}

    def run_one(self, path: str, worker: int) -> None:
        with self.lock:
            print(f"[sandbox {worker}] {path}: started", flush=True)
        start = time.monotonic()
        done = subprocess.run(
            sandboxed_pytest(path, self.pytest_args),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        elapsed = time.monotonic() - start
        verdict = "passed" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
        with self.lock:
            self.results[path] = (done.returncode, elapsed)
            print(f"===== [sandbox {worker}] {path}: {verdict} in {elapsed:.1f} s", flush=True)
            print(done.stdout.rstrip("\n"), flush=True)

    def pool(self, paths: list[str], jobs: int) -> None:
        queue = list(paths)

        def worker(number: int) -> None:
            while True:
                with self.lock:
                    if not queue:
                        return
                    path = queue.pop(0)
                self.run_one(path, number)

        threads = [threading.Thread(target=worker, args=(n + 1,)) for n in range(min(jobs, len(paths)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def longest_first(paths: list[str]) -> list[str]:
    try:
        known = json.loads(TIMES.read_text())
    except (OSError, ValueError):
        known = {}
    # no time recorded yet: the file size as a guess (about 1 s of tests per 100 bytes of test code)
    return sorted(paths, key=lambda p: known.get(p, os.path.getsize(REPO / p) / 100), reverse=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("NETNS_CORE_SHARDS") or 3))
    parser.add_argument("--alone", action="append", default=[], help="run this file after the others, alone")
    parser.add_argument("files", nargs="*")
    if "--" in argv:
        cut = argv.index("--")
        argv, pytest_args = argv[:cut], argv[cut + 1 :]
    else:
        pytest_args = ["-q"]
    args = parser.parse_args(argv)
    paths = [os.path.relpath(Path(p).resolve(), REPO) for p in args.files]
    alone = [os.path.relpath(Path(p).resolve(), REPO) for p in args.alone]
    paths = [p for p in paths if p not in alone]
    shards = Shards(pytest_args)
    start = time.monotonic()
    print(f"{len(paths)} test files in up to {args.jobs} sandboxes at once, then {len(alone)} alone", flush=True)
    shards.pool(longest_first(paths), args.jobs)
    for path in alone:
        shards.run_one(path, 1)
    wall = time.monotonic() - start

    times = {}
    with contextlib.suppress(OSError, ValueError):
        times = json.loads(TIMES.read_text())
    times.update({path: round(elapsed, 1) for path, (_code, elapsed) in shards.results.items()})
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    TIMES.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")

    failed = sorted(path for path, (code, _elapsed) in shards.results.items() if code != 0)
    print("===== summary", flush=True)
    for path, (code, elapsed) in sorted(shards.results.items(), key=lambda item: -item[1][1]):
        print(f"  {'ok    ' if code == 0 else 'FAILED'} {elapsed:7.1f} s  {path}")
    print(f"{len(shards.results) - len(failed)} of {len(shards.results)} files passed; wall time {wall:.1f} s")
    return 1 if failed or len(shards.results) != len(paths) + len(alone) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
