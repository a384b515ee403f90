# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulated hosts of tests/tools/simhosts.py and the test connection `nsenter`: what the overlay tests,
the demo, molecule and the benchmark stand on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from conftest import BIN, HERE, links

sys.path.insert(0, str(HERE.parent / "tools"))
import simhosts  # noqa: E402


def playbook(cluster: simhosts.SimHosts, plays: list[dict], forks: int = 3) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="netns-core-sim-") as tmp:
        cluster.write_inventory(Path(tmp, "inventory.yml"))
        Path(tmp, "play.yml").write_text(yaml.safe_dump(plays))
        results = Path(tmp, "results.json")
        env = cluster.ansible_env()
        env.update(
            ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="netns_core_results",
            NETNS_CORE_RESULTS=str(results),
        )
        argv = [str(BIN / "ansible-playbook"), "-f", str(forks), "-i", str(Path(tmp, "inventory.yml"))]
        done = subprocess.run(
            [*argv, str(Path(tmp, "play.yml"))], capture_output=True, text=True, env=env, timeout=180, check=False
        )
        assert results.exists(), done.stdout + done.stderr
        return json.loads(results.read_text())


def test_each_simulated_host_is_a_machine_of_its_own():
    before = links()
    with simhosts.SimHosts(3) as cluster:
        results = playbook(
            cluster,
            [
                {
                    "hosts": "overlay",
                    "gather_facts": True,
                    "gather_subset": ["network"],
                    "tasks": [
                        {"name": "add", "ansible.builtin.command": "ip netns add c-{{ inventory_hostname }}"},
                        {"name": "list", "ansible.builtin.command": "ip netns list", "changed_when": False},
                        {"name": "sys", "ansible.builtin.command": "ls /sys/class/net", "changed_when": False},
                        {
                            "name": "facts",
                            "ansible.builtin.debug": {
                                "msg": "{{ [ansible_facts.interfaces | sort, ansible_facts.default_ipv4.address,"
                                " ansible_facts.hostname] }}"
                            },
                        },
                        {"name": "peer", "ansible.builtin.command": "ping -c 1 -W 2 192.168.50.3"},
                        {"name": "internet", "ansible.builtin.command": "ping -c 1 -W 2 203.0.113.1"},
                    ],
                }
            ],
        )
        seen = {(r["task"], r["host"]): r for r in results}
        for index in (1, 2, 3):
            host = f"host{index}"
            assert all(seen[(t, host)]["status"] == "ok" for t in ("add", "list", "peer", "internet")), results
            assert seen[("facts", host)]["msg"] == [["eth0", "lo"], f"192.168.50.{index}", host]
            # /run/netns and /sys are the simulated host's own
            assert seen[("list", host)]["stdout"].split() == [f"c-{host}"]
            assert seen[("sys", host)]["stdout_lines"] == ["eth0", "lo"]
        assert os.listdir("/run/netns") == []  # the sandbox's own /run/netns saw nothing

        # a container of a simulated host, addressed by the helpers and by the connection's nsenter_netns
        cluster.run("host2", "ip -n c-host2 link set lo up")
        assert cluster.run("host2", "ip -br link", netns="c-host2").split()[0] == "lo"
        server = cluster.popen("host2", "exec sleep 300", netns="c-host2")
        cluster.host_vars["host2"] = {"nsenter_netns": "c-host2"}
        (inner,) = playbook(cluster, [{"hosts": "host2", "gather_facts": False, "tasks": [{"command": "ip -o link"}]}])
        assert [line.split()[1] for line in inner["stdout_lines"]] == ["lo:"], inner

        snap = cluster.snapshot("host2")
        assert snap["namespaces"] == ["c-host2"]
        assert [link["ifname"] for link in snap["host"]["links"]] == ["lo", "eth0"]
        assert "192.168.50.2/24" in snap["host"]["addresses"]["eth0"]
    # teardown: the server left in the container was killed, the links are the sandbox's own again
    assert server.wait(timeout=5) == -9
    assert links().keys() == before.keys()


def test_run_wraps_a_command_and_tears_down():
    done = subprocess.run(
        [sys.executable, str(HERE.parent / "tools" / "simhosts.py"), "run", "--hosts", "2", "--", "sh", "-c",
         'grep -c nsenter_pid "$SIMHOSTS_INVENTORY"; exit 7'],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 7, done.stderr
    assert done.stdout.strip() == "3"  # host1, host2 and the internet
    assert list(links()) == ["lo"]


def test_refuses_to_run_outside_the_sandbox():
    env = {**os.environ, "NETNS_CORE_SANDBOX": "0"}
    done = subprocess.run(
        [sys.executable, str(HERE.parent / "tools" / "simhosts.py"), "run", "--", "true"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0 and "only inside tests/sandbox.sh" in done.stderr
