# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only callback: writes every task result of a run as JSON to $NETNS_CORE_RESULTS."""

from __future__ import annotations

import json
import os
import sys

from ansible.plugins.callback import CallbackBase

# kernel_state.py, the tests' one reader of the kernel, sits in the directory above this one
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import kernel_state  # noqa: E402

DOCUMENTATION = r"""
name: netns_core_results
type: aggregate
short_description: write task results as JSON (netns.core integration tests only)
description:
  - Writes a list of task results to the file named by the environment variable NETNS_CORE_RESULTS.
  - With NETNS_CORE_SNAPSHOT set (C(raw) or C(stable), a flavour of tests/integration/kernel_state.py), takes
    that snapshot right after each failed task (and each task whose name starts with NETNS_CORE_SNAPSHOT_TASKS)
    and keeps it in the record as C(kernel_after), so a test can compare the kernel after every failure of one
    playbook.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "netns_core_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.results: list[dict] = []

    def _record(self, result, status: str) -> None:
        record = dict(result._result)
        if "status" in record:  # a module's own `status` (uri: the HTTP code) is kept as module_status
            record["module_status"] = record["status"]
        record.update(task=result._task.get_name(), host=result._host.get_name(), status=status)
        flavour = os.environ.get("NETNS_CORE_SNAPSHOT")
        prefix = os.environ.get("NETNS_CORE_SNAPSHOT_TASKS")
        if flavour and (status == "failed" or prefix and record["task"].startswith(prefix)):
            if flavour not in ("raw", "stable"):
                raise ValueError(f"NETNS_CORE_SNAPSHOT is {flavour!r}: say raw or stable (kernel_state.py)")
            record["kernel_after"] = kernel_state.raw() if flavour == "raw" else kernel_state.stable()
        self.results.append(record)

    def v2_runner_on_ok(self, result) -> None:
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors: bool = False) -> None:
        self._record(result, "failed")

    def v2_runner_on_unreachable(self, result) -> None:
        self._record(result, "unreachable")

    def v2_runner_on_skipped(self, result) -> None:
        self._record(result, "skipped")

    def v2_playbook_on_stats(self, stats) -> None:
        with open(os.environ["NETNS_CORE_RESULTS"], "w", encoding="utf-8") as handle:
            json.dump(self.results, handle, default=str)
