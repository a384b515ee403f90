# SPDX-License-Identifier: GPL-3.0-or-later
"""The netns.core.netns connection: ordinary modules run inside the lab's namespaces."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from conftest import BIN, COLLECTIONS, HERE, play_file, sh

INVENTORY = {
    "lab": {
        "hosts": {"lab-red": {}, "lab-blue": {}, "nowhere": {}, "stale": {}, "alink": {}},
        "vars": {"ansible_connection": "netns.core.netns", "ansible_python_interpreter": sys.executable},
    }
}


def run_in_namespaces(tasks: list[dict], hosts: str) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="netns-core-conn-") as tmp:
        Path(tmp, "inventory.yml").write_text(yaml.safe_dump(INVENTORY))
        Path(tmp, "play.yml").write_text(yaml.safe_dump([{"hosts": hosts, "gather_facts": False, "tasks": tasks}]))
        results = Path(tmp, "results.json")
        env = {
            **os.environ,
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
            "ANSIBLE_CALLBACK_PLUGINS": str(HERE / "callback_plugins"),
            "ANSIBLE_CALLBACKS_ENABLED": "netns_core_results",
            "NETNS_CORE_RESULTS": str(results),
        }
        argv = [str(BIN / "ansible-playbook"), "-i", str(Path(tmp, "inventory.yml")), str(Path(tmp, "play.yml"))]
        subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
        return json.loads(results.read_text())


def test_modules_run_inside_each_namespace():
    assert all(r["status"] in ("ok", "skipped") for r in play_file("lab.yml"))
    server = subprocess.Popen(["ip", "netns", "exec", "lab-blue", sys.executable, "-m", "http.server", "8080"])
    try:
        results = run_in_namespaces(
            [
                {"name": "addresses", "ansible.builtin.command": "ip -o -4 addr show dev eth0", "changed_when": False},
                {"name": "links", "ansible.builtin.command": "ls /sys/class/net", "changed_when": False},
                {"name": "wait", "ansible.builtin.wait_for": {"host": "10.98.0.3", "port": 8080, "timeout": 10}},
                {"name": "get", "ansible.builtin.uri": {"url": "http://10.98.0.3:8080/", "return_content": False}},
                # the role's hosts files (/etc/netns/NAME/hosts), bound over /etc/hosts by ip netns exec
                {"name": "names", "ansible.builtin.command": "getent ahostsv4 lab-blue", "changed_when": False},
                {"name": "by name", "ansible.builtin.uri": {"url": "http://lab-blue:8080/", "return_content": False}},
                {"name": "hosts", "ansible.builtin.slurp": {"src": "/etc/hosts"}},
            ],
            "lab-red:lab-blue",
        )
    finally:
        server.kill()
        server.wait()
    seen = {(r["task"], r["host"]): r for r in results}
    assert seen[("addresses", "lab-red")]["stdout"].split()[3] == "10.98.0.2/24"
    assert seen[("addresses", "lab-blue")]["stdout"].split()[3] == "10.98.0.3/24"
    # /sys/class/net inside the namespace shows its own links, not the sandbox host's
    assert seen[("links", "lab-red")]["stdout_lines"] == ["eth0", "lo"]
    for host in ("lab-red", "lab-blue"):
        assert seen[("wait", host)]["status"] == "ok", seen[("wait", host)]
        assert seen[("get", host)]["status"] == "ok" and seen[("get", host)]["module_status"] == 200
        assert seen[("names", host)]["stdout"].split()[0] == "10.98.0.3"
        assert seen[("by name", host)]["status"] == "ok" and seen[("by name", host)]["module_status"] == 200
        hosts = base64.b64decode(seen[("hosts", host)]["content"]).decode()
        assert hosts == Path(f"/etc/netns/{host}/hosts").read_text() and "10.98.0.2\tlab-red\n" in hosts


def test_a_namespace_that_does_not_exist_is_a_clear_failure():
    results = run_in_namespaces([{"ansible.builtin.command": "true"}], "nowhere")
    (result,) = results
    assert result["status"] == "unreachable" and "netns 'nowhere' does not exist under /run/netns" in result["msg"]
    assert "nowhere" not in sh("ip netns list")


def test_a_stale_name_or_a_foreign_entry_is_a_clear_failure():
    sh("touch /run/netns/stale && ln -s /tmp /run/netns/alink")
    try:
        (stale,) = run_in_namespaces([{"ansible.builtin.command": "true"}], "stale")
        assert stale["status"] == "unreachable" and "no namespace mounted on it" in stale["msg"], stale
        (foreign,) = run_in_namespaces([{"ansible.builtin.command": "true"}], "alink")
        assert foreign["status"] == "unreachable" and "is a symbolic link, not a namespace" in foreign["msg"], foreign
    finally:
        sh("rm -f /run/netns/stale /run/netns/alink")
