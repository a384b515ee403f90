# SPDX-License-Identifier: GPL-3.0-or-later
"""The overlay (issue 13) across simulated hosts: the netns.core.overlay role run by `ansible-playbook -f 3` over an
inventory of simulated hosts (tests/tools/simhosts.py), each a network, mount and UTS namespace of its own on the
underlay bridge br-under, reached through the test connection `nsenter`.

One cluster of three hosts is built for the whole file (the tests run in order and each leaves the state the next
one starts from, said in its docstring), with the FORWARD policy DROP and rp_filter=1 on every host before anything
converges. Every host has two containers, c0 and c1.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from conftest import BIN, HERE

sys.path.insert(0, str(HERE.parent / "tools"))
import simhosts  # noqa: E402

pytestmark = pytest.mark.overlay

HOSTS = ["host1", "host2", "host3"]
CONTAINERS = ["c0", "c1"]
MTU = 1500 - 50
CIDR = "10.244.0.0/16"
ROLE_PLAY = [{"hosts": "overlay", "gather_facts": False, "roles": [{"role": "netns.core.overlay"}]}]


def address(host: str, container: str) -> str:
    """Host N's subnet is 10.244.N.0/24 (overlay_index N); containers from .2 in list order."""
    return f"10.244.{host.removeprefix('host')}.{2 + CONTAINERS.index(container)}"


@pytest.fixture(autouse=True)
def clean_sandbox():
    """The sandbox host holds the cluster for the whole file: conftest's per-test reset would delete br-under."""
    yield


@pytest.fixture(scope="module")
def cluster():
    with simhosts.SimHosts(3, group_vars={"overlay_containers": [{"name": c} for c in CONTAINERS]}) as hosts:
        for name in HOSTS:
            harden(hosts, name)
        hosts.pristine = hosts.snapshots()  # what teardown must give back
        yield hosts


def harden(cluster: simhosts.SimHosts, name: str) -> None:
    """FORWARD policy DROP and strict reverse-path filtering, as on a hardened host (Docker sets the former); and
    a nat table in use before, as on any host that has NATed: with iptables-nft the first nat rule registers the
    table, which stays (empty, no effect on any packet) when the last rule goes."""
    sysctls = "net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.default.rp_filter=1 net.ipv4.conf.eth0.rp_filter=1"
    nat = "iptables -w -t nat -A POSTROUTING -j RETURN && iptables -w -t nat -D POSTROUTING -j RETURN"
    cluster.run(name, f"iptables -w -P FORWARD DROP && {nat} && sysctl -qw {sysctls}")


# -- running the role -----------------------------------------------------------------------------------------------
class Run:
    def __init__(self, results: list[dict], done: subprocess.CompletedProcess) -> None:
        self.results = results
        self.done = done

    @property
    def ours(self) -> dict[str, dict]:
        """{host: the result of its netns.core.network call} (the role's converge task)."""
        return {r["host"]: r for r in self.results if "actions" in r}

    @property
    def failed(self) -> dict[str, dict]:
        return {r["host"]: r for r in self.results if r["status"] == "failed"}

    def assert_ok(self) -> None:
        bad = [r for r in self.results if r["status"] not in ("ok", "skipped")]
        assert not bad and self.done.returncode == 0, (bad, self.done.stdout[-3000:], self.done.stderr[-3000:])


def ansible(
    cluster: simhosts.SimHosts,
    *,
    names: list[str] | None = None,
    overrides: dict | None = None,
    extra_vars: dict | None = None,
    check: bool = False,
    limit: str | None = None,
    plays: list[dict] | None = None,
) -> Run:
    """ansible-playbook -f 3 --diff over the inventory of `names` (default: every host of the cluster)."""
    with tempfile.TemporaryDirectory(prefix="netns-core-overlay-") as tmp:
        inventory = cluster.write_inventory(Path(tmp, "inventory.yml"), names, overrides)
        Path(tmp, "play.yml").write_text(yaml.safe_dump(plays or ROLE_PLAY))
        results = Path(tmp, "results.json")
        env = cluster.ansible_env()
        env.update(
            ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="netns_core_results",
            ANSIBLE_NOCOLOR="1",
            NETNS_CORE_RESULTS=str(results),
        )
        argv = [str(BIN / "ansible-playbook"), "-f", "3", "--diff", "-i", str(inventory), str(Path(tmp, "play.yml"))]
        argv += ["--check"] * check + (["--limit", limit] if limit else [])
        argv += ["-e", json.dumps(extra_vars)] if extra_vars else []
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
        assert results.exists(), f"ansible-playbook produced no results:\n{done.stdout}\n{done.stderr}"
        return Run(json.loads(results.read_text()), done)


def check_then_real(cluster: simhosts.SimHosts, **kwargs) -> Run:
    """--check --diff (pure: every host as it was) then the real run; the check run told the truth about it."""
    before = cluster.snapshots()
    checked = ansible(cluster, check=True, **kwargs)
    checked.assert_ok()
    assert_same(before, cluster.snapshots(), "--check changed a simulated host")
    real = ansible(cluster, **kwargs)
    real.assert_ok()
    assert checked.ours.keys() == real.ours.keys()
    for host, done in real.ours.items():
        predicted = checked.ours[host]
        assert predicted["actions"] == done["actions"], (host, predicted["actions"], done["actions"])
        assert predicted["changed"] == done["changed"], (host, predicted, done)
        assert predicted["diff"]["after"] == done["diff"]["after"], (host, predicted["diff"], done["diff"])
    return real


def idempotent(cluster: simhosts.SimHosts, **kwargs) -> None:
    """A re-run changes nothing (changed=0, no action, every host as it was), and --check says so."""
    before = cluster.snapshots()
    for check in (False, True):
        again = ansible(cluster, check=check, **kwargs)
        again.assert_ok()
        assert again.ours, "the role ran on no host"
        assert [h for h, r in again.ours.items() if r["changed"] or r["actions"]] == [], again.ours
        assert not any(r.get("changed") for r in again.results), [r for r in again.results if r.get("changed")]
        assert_same(before, cluster.snapshots(), "a re-run changed a simulated host")


def differences(before: dict, after: dict, path: str = "") -> list[str]:
    """Where two snapshots differ, as short lines (for assertion messages)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(before.keys() | after.keys()):
            found += differences(before.get(key), after.get(key), f"{path}/{key}")
        return found
    if isinstance(before, list) and isinstance(after, list) and all(isinstance(x, str) for x in before + after):
        gone, new = sorted(set(before) - set(after)), sorted(set(after) - set(before))
        return [f"{path}: -{gone} +{new}"] if gone or new or before != after else []
    return [] if before == after else [f"{path}: {before!r} -> {after!r}"]


def assert_same(before: dict, after: dict, what: str) -> None:
    assert before == after, f"{what}: " + "; ".join(differences(before, after))[:4000]


# -- what the data plane does ---------------------------------------------------------------------------------------
def unreachable(cluster: simhosts.SimHosts, hosts: list[str]) -> list[str]:
    """Every container pings a container on every other host (c0 -> c1, c1 -> c0 of each peer); the failures."""
    failed = []
    for host in hosts:
        for index, container in enumerate(CONTAINERS):
            for peer in hosts:
                if peer != host:
                    target = address(peer, CONTAINERS[1 - index])
                    if not cluster.ping(host, target, netns=container):
                        failed.append(f"{host}/{container} -> {peer} {target}")
    return failed


SERVER = """
import socket, sys
server = socket.create_server(("{bind}", 8080))
server.settimeout(20)
print("listening", flush=True)
connection, peer = server.accept()
print(peer[0], flush=True)
"""
CLIENT = """
import socket, time
for attempt in range(50):
    try:
        socket.create_connection(("{to}", 8080), timeout=3).close()
        break
    except OSError:
        time.sleep(0.1)
else:
    raise SystemExit("no connection")
"""


def source_seen(cluster: simhosts.SimHosts, server: tuple[str, str | None, str], client: tuple[str, str]) -> str:
    """A TCP server in (host, netns, bind address) accepts one connection from (host, netns): the source it saw."""
    host, netns, bind = server
    process = cluster.popen(
        host, f"exec {sys.executable} -c '{SERVER.format(bind=bind)}'", netns, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().strip() == "listening"
        cluster.run(client[0], f"{sys.executable} -c '{CLIENT.format(to=bind)}'", netns=client[1])
        return process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait()


def without_forwarding(snapshots: dict) -> dict:
    """Snapshots without the forwarding sysctls: netns.core.network leaves sysctls as they are on state=absent, so
    a teardown leaves ip_forward=1 (documented); everything else must be as it was."""
    kept = json.loads(json.dumps(snapshots))
    for snapshot in kept.values():
        for space in [snapshot["host"], *(v for k, v in snapshot.items() if k.startswith("netns "))]:
            space["sysctl"] = [
                line for line in space["sysctl"] if "forwarding" not in line and "ip_forward" not in line
            ]
    return kept


# -- bad input: a clear error naming the host and the variable, nothing changed anywhere -----------------------------
BAD_INPUT = {
    "duplicate index": ({"host3": {"overlay_index": 1}}, None, ["host3", "host1", "overlay_index"]),
    "subnet outside the CIDR": ({"host2": {"overlay_index": None, "overlay_subnet": "10.99.2.0/24"}}, None,
                                ["host2", "overlay_subnet"]),
    "index past the end": ({"host3": {"overlay_index": 256}}, None, ["host3", "overlay_index"]),
    "underlay IP not an address": ({"host2": {"overlay_underlay_ip": "underlay.example"}}, None,
                                   ["host2", "overlay_underlay_ip"]),
    # a group-wide value: every host refuses it, naming itself
    "VNI 0": (None, {"overlay_vni": 0}, ["{host}", "overlay_vni", "0"]),
    "VNI 2**24": (None, {"overlay_vni": 2**24}, ["{host}", "overlay_vni", "16777216"]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_a_clear_error_and_changes_nothing(cluster, case):
    """Empty cluster -> empty cluster."""
    overrides, extra_vars, fragments = BAD_INPUT[case]
    before = cluster.snapshots()
    run = ansible(cluster, overrides=overrides, extra_vars=extra_vars)
    assert run.done.returncode != 0
    assert sorted(run.failed) == HOSTS, run.results  # the whole group is checked on every host
    assert not run.ours, "a host converged despite the bad input"
    for host, result in run.failed.items():
        message = result.get("msg", "")
        assert "Traceback" not in message + result.get("module_stderr", ""), result
        for fragment in fragments:
            assert fragment.format(host=host) in message, (host, fragment, message)
    assert_same(before, cluster.snapshots(), "bad input changed a simulated host")


def test_host_gw_across_subnets_is_refused(cluster):
    """host3's underlay address in a subnet the others are not connected to: host-gw cannot route to it."""
    cluster.run("host3", "ip addr add 192.168.60.3/24 dev eth0")
    overrides = {"host3": {"overlay_underlay_ip": "192.168.60.3"}}
    host_gw = {"overlay_backend": "host-gw"}
    run = None
    try:
        before = cluster.snapshots()
        run = ansible(cluster, overrides=overrides, extra_vars=host_gw)
        assert run.done.returncode != 0
        for host in ("host1", "host2"):
            message = run.failed[host]["msg"]
            assert "host3" in message and "host-gw" in message, message
        assert sorted(run.failed) == HOSTS, f"bad input, yet these hosts converged: {sorted(run.ours)}"
        assert_same(before, cluster.snapshots(), "bad input changed a simulated host")
    finally:
        if run is not None and run.ours:  # undo what a host built anyway, so the next tests start empty
            ansible(
                cluster,
                overrides=overrides,
                extra_vars={**host_gw, "overlay_state": "absent"},
                limit=",".join(run.ours),
            )
        cluster.run("host3", "ip addr del 192.168.60.3/24 dev eth0")


# -- the vxlan backend ----------------------------------------------------------------------------------------------
def test_converge_check_first_is_pure_and_truthful(cluster):
    """Empty cluster -> converged (vxlan)."""
    assert_same(without_forwarding(cluster.pristine), without_forwarding(cluster.snapshots()), "not empty")
    real = check_then_real(cluster)
    assert sorted(real.ours) == HOSTS and all(r["changed"] for r in real.ours.values())
    for host in HOSTS:
        snap = cluster.snapshot(host)
        (vxlan,) = [link for link in snap["host"]["links"] if link["kind"] == "vxlan"]
        index = int(host.removeprefix("host"))
        assert vxlan["vxlan"]["id"] == 1 and vxlan["vxlan"]["port"] == 4789, vxlan
        assert vxlan["vxlan"]["local"] == f"192.168.50.{index}" and vxlan["vxlan"]["learning"] is False, vxlan
        assert vxlan["address"] == f"0e:6e:0a:f4:{index:02x}:00" and vxlan["mtu"] == MTU, vxlan
        peers = [f"10.244.{n}.0" for n in (1, 2, 3) if n != index]
        device = vxlan["ifname"]
        for peer in peers:
            mac = "0e:6e:0a:f4:{:02x}:00".format(int(peer.split(".")[2]))
            assert any(line.startswith(f"{peer} dev {device} lladdr {mac}") for line in snap["host"]["neighbours"])
            assert any(line.startswith(f"{mac} dev {device} dst 192.168.50.{peer.split('.')[2]}") for line in
                       snap["host"]["fdb"]), snap["host"]["fdb"]  # fmt: skip
            route = [r for r in snap["host"]["routes"] if r.startswith(f"{peer}/24 via {peer} dev {device} ")]
            assert len(route) == 1 and "onlink" in route[0].split(), snap["host"]["routes"]
        for container in CONTAINERS:
            assert snap[f"netns {container}"]["addresses"]["eth0"] == [f"{address(host, container)}/24"]
            assert [link["mtu"] for link in snap[f"netns {container}"]["links"] if link["ifname"] == "eth0"] == [MTU]


def test_rerun_changes_nothing(cluster):
    """Converged -> converged."""
    idempotent(cluster)


def test_every_container_reaches_every_other_host(cluster):
    """Converged (FORWARD DROP, rp_filter=1 everywhere)."""
    assert unreachable(cluster, HOSTS) == []


def test_no_nat_inside_the_cluster(cluster):
    """A server in a container of host2 sees the real address of the client container of host1."""
    assert source_seen(cluster, ("host2", "c0", address("host2", "c0")), ("host1", "c1")) == address("host1", "c1")


def test_the_internet_sees_the_hosts_underlay_address(cluster):
    """A container reaches 203.0.113.1 (the internet holder on the underlay) masqueraded to its host's address."""
    seen = source_seen(cluster, ("internet", None, simhosts.INTERNET_ADDRESS), ("host3", "c0"))
    assert seen == "192.168.50.3"


def test_the_overlay_mtu_is_the_path_mtu(cluster):
    """A don't-fragment ping of the largest payload (MTU - 28) passes; one byte more fails."""
    target = address("host2", "c1")
    assert cluster.ping("host1", target, netns="c0", extra=f"-M do -s {MTU - 28}")
    assert not cluster.ping("host1", target, netns="c0", extra=f"-M do -s {MTU - 27}")


def test_a_deleted_vxlan_device_is_rebuilt_and_limit_touches_one_host(cluster):
    """Converged, host1's VXLAN device deleted by hand -> converged; --limit host1 changes nothing on host2/host3."""
    converged = cluster.snapshots()
    cluster.run("host1", "ip link del vx-overlay")
    assert not cluster.ping("host1", address("host2", "c0"), netns="c0")
    others = {h: converged[h] for h in ("host2", "host3")}
    real = check_then_real(cluster, limit="host1")
    assert list(real.ours) == ["host1"] and real.ours["host1"]["changed"], real.ours
    assert cluster.snapshots(["host2", "host3"]) == others, "--limit host1 changed another host"
    assert_same(converged, cluster.snapshots(), "after leave and join")
    assert unreachable(cluster, HOSTS) == []


def test_a_removed_host_disappears_and_an_added_host_renumbers_nobody(cluster):
    """Converged 1-3 -> 1-2 (host3 left the group) -> 1-4 with host4 (index 4) -> host4 torn down -> converged 1-3."""
    converged = cluster.snapshots()
    run = ansible(cluster, names=["host1", "host2"])
    run.assert_ok()
    assert sorted(run.ours) == ["host1", "host2"]
    for host in ("host1", "host2"):
        state = cluster.snapshot(host)["host"]
        for table in ("neighbours", "fdb", "routes"):
            assert not [line for line in state[table] if "10.244.3." in line or "192.168.50.3 " in line + " "], (
                host,
                table,
                state[table],
            )
        assert cluster.ping(host, address("host1" if host == "host2" else "host2", "c0"), netns="c0")

    before = cluster.snapshots()
    cluster.add_host(4)
    harden(cluster, "host4")
    host4_pristine = cluster.snapshot("host4")
    everyone = [*HOSTS, "host4"]
    run = ansible(cluster, names=everyone)
    run.assert_ok()
    after = cluster.snapshots(HOSTS)
    for host in HOSTS:  # no container of an existing host changed (address, links, routes)
        for container in CONTAINERS:
            assert after[host][f"netns {container}"] == before[host][f"netns {container}"], (host, container)
    assert unreachable(cluster, everyone) == []

    # host4 leaves: its own teardown, then the others prune it at their next run
    ansible(cluster, names=everyone, limit="host4", extra_vars={"overlay_state": "absent"}).assert_ok()
    assert_same(
        without_forwarding({"h": host4_pristine}), without_forwarding({"h": cluster.snapshot("host4")}), "teardown"
    )
    cluster.remove_host("host4")
    ansible(cluster).assert_ok()
    assert_same(converged, cluster.snapshots(), "after leave and join")
    assert unreachable(cluster, HOSTS) == []


def test_teardown_leaves_every_host_as_it_was(cluster):
    """Converged -> empty (pristine, but ip_forward: sysctls are left as they are)."""
    real = check_then_real(cluster, extra_vars={"overlay_state": "absent"})
    assert all(r["changed"] for r in real.ours.values())
    assert_same(without_forwarding(cluster.pristine), without_forwarding(cluster.snapshots()), "teardown")


# -- the host-gw backend ---------------------------------------------------------------------------------------------
def test_host_gw_backend(cluster):
    """Empty -> converged with host-gw (same checks) -> empty again."""
    host_gw = {"overlay_backend": "host-gw"}
    check_then_real(cluster, extra_vars=host_gw)
    state = cluster.snapshot("host1")["host"]
    assert not [link for link in state["links"] if link["kind"] == "vxlan"]
    assert "10.244.2.0/24 via 192.168.50.2 dev eth0" in " ".join(state["routes"]), state["routes"]
    idempotent(cluster, extra_vars=host_gw)
    assert unreachable(cluster, HOSTS) == []
    assert source_seen(cluster, ("host3", "c1", address("host3", "c1")), ("host1", "c0")) == address("host1", "c0")
    target = address("host3", "c0")
    assert cluster.ping("host2", target, netns="c1", extra="-M do -s 1472")  # host-gw: the underlay's MTU
    check_then_real(cluster, extra_vars={**host_gw, "overlay_state": "absent"})
    assert_same(without_forwarding(cluster.pristine), without_forwarding(cluster.snapshots()), "teardown")
