# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures of the reliability tests (inputs tried, crash trials, foreign objects checked), for the README.

Each passing test records its figures in .build/reliability/figures.json (or $NETNS_CORE_FIGURES); `make
reliability` prints them.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

FIGURES = Path(
    os.environ.get("NETNS_CORE_FIGURES") or Path(__file__).resolve().parents[2] / ".build/reliability/figures.json"
)


def record_figure(name: str, value) -> None:
    """Add one figure; test files running at once (tests/tools/shards.py) take turns on a lock file."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with open(FIGURES.with_name(FIGURES.name + ".lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
        figures[name] = value
        FIGURES.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


def summary(figures: dict) -> str:
    """The figures in a few lines, as the README's Reliability section quotes them."""
    lines = []
    bad = figures.get("bad_inputs_real")
    if bad:
        lines.append(
            f"bad inputs: {bad} cases, each run for real and under --check; every one refused, kernel unchanged"
        )
    subjects = figures.get("check_mode_subjects")
    if subjects:
        lines.append(f"check mode: {len(subjects)} subjects ({', '.join(subjects)}), 5 states each: pure and truthful")
    crash = figures.get("crash")
    if crash:
        lines.append(
            f"crashes: {crash['trials']} trials (seed {crash['seed']}), {crash['converge_kills']} converges and"
            f" {crash['teardown_kills']} teardowns of {crash['containers']} containers killed; bridge ports built"
            f" when killed: {crash['bridge_ports_when_killed']}; every recovery exact, then changed=0, teardown empty"
        )
    foreign = figures.get("foreign_objects")
    if foreign:
        lines.append("foreign state: " + ", ".join(f"{v} {k}" for k, v in foreign.items()) + ": byte-identical")
    if figures.get("concurrency"):
        c = figures["concurrency"]
        lines.append(
            f"concurrency: {c['networks']} networks x {c['containers_each']} containers at once,"
            f" started {c['start_offsets_s']} s apart: equal to one after the other"
        )
    hostile = figures.get("hostile_inputs_real")
    if hostile:
        seconds = figures.get("hostile_inputs_real_seconds")
        lines.append(
            f"hostile input: {hostile} cases (values the kernel rewrites, reserved names, knowable conflicts), real"
            f" and --check: every one refused before anything changed, no traceback ({seconds} s for all, real)"
        )
    ownership = figures.get("ownership_conflicts_real")
    if ownership:
        lines.append(
            f"ownership: {ownership} ways a second network asks for the first one's objects, real and --check:"
            " refused naming both networks, the first untouched and working"
        )
    privilege = sorted(k for k in figures if k.startswith("privilege_"))
    if privilege:
        lines.append(
            "privilege: " + ", ".join(f"{k[len('privilege_') :]} {figures[k]} tasks refused" for k in privilege)
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(f"reliability figures ({FIGURES}):")
    print(summary(json.loads(FIGURES.read_text())) if FIGURES.exists() else "none recorded")
