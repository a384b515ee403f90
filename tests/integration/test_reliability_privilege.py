# SPDX-License-Identifier: GPL-3.0-or-later
"""Reliability 6: without root, every module says root is needed; no traceback, nothing changed.

The controller runs as usual; the module runs through an interpreter wrapper made with setpriv(1):
  - as the user nobody (uid 65534, no groups, no capabilities), with the system's python3 (this test's venv may
    sit where nobody cannot read it) and pipelining, so the module never needs a file nobody cannot read;
  - as root without CAP_NET_ADMIN and CAP_SYS_ADMIN (dropped from the bounding set), with the venv's python.
Every module and the bridge_nat role, real and --check: failed, "needs root" in the message, no traceback, the
raw kernel state byte-identical.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import play, sh
from kernel_state import raw
from reliability import record_figure

TASKS = [
    {"netns.core.netns": {"name": "p1"}},
    {"netns.core.veth": {"name": "pv0", "peer": "pv1"}},
    {"netns.core.bridge": {"name": "pbr0"}},
    {"netns.core.netns_route": {"destination": "10.9.0.0/16", "interface": "lo"}},
    {"netns.core.masquerade": {"source": "10.9.0.0/24"}},
    {"netns.core.sysctl": {"name": "net.ipv4.ip_forward", "value": 1}},
    {"netns.core.port_forward": {"port": 8080, "destination": "10.9.0.2"}},
    {"netns.core.network": {"namespaces": [{"name": "p2"}]}},
    {"netns.core.netns_info": {}},
    {
        "ansible.builtin.include_role": {"name": "netns.core.bridge_nat"},
        "vars": {"bridge_nat_containers": [{"name": "p3"}]},
    },
]

WRAPPERS = {
    "nobody": 'exec setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$@"',
    "root-without-caps": (
        f'exec setpriv --bounding-set=-net_admin,-sys_admin --inh-caps=-net_admin,-sys_admin {sys.executable} "$@"'
    ),
}


@pytest.mark.parametrize("who", list(WRAPPERS))
@pytest.mark.parametrize("check", [False, True], ids=["real", "check"])
def test_without_root_a_clear_error_and_nothing_changed(who, check, tmp_path):
    if who == "nobody" and not shutil.which("python3", path="/usr/bin"):
        pytest.skip("no /usr/bin/python3 to run the module as nobody")
    sh("ip netns add existing")
    wrapper = Path(tempfile.mkdtemp(prefix="netns-core-priv-")) / "python"
    wrapper.write_text(f"#!/bin/sh\n{WRAPPERS[who]}\n")
    wrapper.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    os.chmod(wrapper.parent, 0o755)
    before = raw()
    tasks = [{**task, "ignore_errors": True, "name": f"task {i}"} for i, task in enumerate(TASKS)]
    results = play(
        tasks,
        check=check,
        extra=["-e", f"ansible_python_interpreter={wrapper}"],
        env={"ANSIBLE_PIPELINING": "1"},
    )
    failed = [r for r in results if r["status"] == "failed"]
    assert len(failed) == len(TASKS), [(r["task"], r["status"], r.get("msg")) for r in results]
    for result in failed:
        text = f"{result.get('msg')} {result.get('module_stderr', '')} {result.get('exception', '')}"
        assert "needs root" in result["msg"] and "CAP_NET_ADMIN" in result["msg"], result
        assert "Traceback" not in text, result
    assert raw() == before
    shutil.rmtree(wrapper.parent)
    record_figure(f"privilege_{who}_{'check' if check else 'real'}", len(failed))
