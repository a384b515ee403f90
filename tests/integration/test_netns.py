# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.netns against the real kernel (inside the sandbox)."""

from __future__ import annotations

from conftest import fails_cleanly, four_steps, links, namespaces, play, run, sh, snapshot


def test_create_with_loopback_and_sysctl():
    task = {"netns.core.netns": {"name": "red", "sysctl": {"net.ipv4.ip_forward": 1}}}

    def verify():
        assert namespaces() == ["red"]
        assert "UP" in links("red")["lo"]["flags"]
        assert sh("ip netns exec red sysctl -n net.ipv4.ip_forward").strip() == "1"
        assert sh("sysctl -n net.ipv4.ip_forward").strip() == "0", "the host's ip_forward must not change"

    (result,) = four_steps([task], verify)
    assert result["actions"] == [
        "create netns red",
        "bring lo up in netns red",
        "set net.ipv4.ip_forward=1 in netns red",
    ]
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"] == {"name": "red", "loopback": True, "sysctl": {"net.ipv4.ip_forward": "1"}}


def test_loopback_false_keeps_lo_down():
    four_steps(
        [{"netns.core.netns": {"name": "blue", "loopback": False}}], lambda: "UP" not in links("blue")["lo"]["flags"]
    )


def test_names_that_are_prefixes_of_each_other():
    sh("ip netns add red")
    (result,) = play([{"netns.core.netns": {"name": "red2"}}])
    assert result["changed"] and namespaces() == ["red", "red2"]
    sh("ip netns delete red")
    (result,) = play([{"netns.core.netns": {"name": "red"}}])
    assert result["changed"] and namespaces() == ["red", "red2"]
    (result,) = play([{"netns.core.netns": {"name": "red", "state": "absent"}}])
    assert result["changed"] and namespaces() == ["red2"]
    (result,) = play([{"netns.core.netns": {"name": "re", "state": "absent"}}])
    assert not result["changed"] and namespaces() == ["red2"]


def test_absent():
    sh("ip netns add gone")

    def verify():
        assert namespaces() == []

    (result,) = four_steps([{"netns.core.netns": {"name": "gone", "state": "absent"}}], verify)
    assert result["actions"] == ["delete netns gone"]


def test_stale_file_is_repaired():
    sh("touch /run/netns/stale")
    result = run("netns", {"name": "stale"})
    assert result["changed"]
    assert result["actions"][0].startswith("remove stale netns file")
    assert "lo" in links("stale")
    assert not run("netns", {"name": "stale"})["changed"]


def test_check_run_of_a_whole_play_plans_later_tasks():
    """A check run where later tasks need a namespace an earlier task creates plans instead of failing."""
    tasks = [
        {"netns.core.netns": {"name": "red"}},
        {"netns.core.veth": {"name": "eth0", "netns": "red", "peer": "veth-red", "addresses": ["10.9.0.2/24"]}},
        {"netns.core.netns_route": {"netns": "red", "destination": "default", "gateway": "10.9.0.1"}},
        {"netns.core.sysctl": {"netns": "red", "name": "net.ipv4.conf.all.forwarding", "value": 1}},
        {"netns.core.masquerade": {"netns": "red", "source": "10.9.0.0/24"}},
    ]
    before = snapshot()
    results = play(tasks, check=True)
    assert [r["status"] for r in results] == ["ok"] * 5, results
    assert all(r["changed"] for r in results)
    assert snapshot() == before


def test_bad_sysctl_key_refused():
    fails_cleanly("netns", {"name": "red", "sysctl": {"kernel.hostname": "x"}}, "kernel.hostname", "net.")
