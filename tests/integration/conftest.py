# SPDX-License-Identifier: GPL-3.0-or-later
"""Integration tests: the real modules, through the real Ansible CLI, against the real kernel.

They run ONLY inside the throw-away sandbox of tests/sandbox.sh (a private network + mount namespace whose
"host" has nothing but lo). The guard below refuses to run anywhere else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import kernel_state
import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BIN = Path(sys.executable).parent
COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or str(REPO / ".build" / "collections")


def in_sandbox() -> tuple[bool, str]:
    links = sorted(os.listdir("/sys/class/net"))
    if links != ["lo"]:
        return False, f"this network namespace has links {links}; the sandbox has only lo"
    if os.environ.get("NETNS_CORE_SANDBOX") != "1":
        return False, "NETNS_CORE_SANDBOX is not set"
    if not etc_netns_is_the_sandboxs():
        return False, f"{kernel_state.ETC_NETNS} is not the sandbox's private tmpfs (tests write and wipe it)"
    try:
        if os.stat("/proc/self/ns/net").st_ino == os.stat("/proc/1/ns/net").st_ino:
            return False, "this is the machine's own network namespace"
    except PermissionError:
        pass  # init's namespace may be unreadable; the lo-only check above still holds
    return True, ""


def etc_netns_is_the_sandboxs() -> bool:
    """Whether /etc/netns is the private tmpfs tests/sandbox.sh mounts (its last mount there, the one in effect)."""
    source = None
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if fields[4] == kernel_state.ETC_NETNS:
                source = line.split(" - ", 1)[1].split()[:2]
    return source == ["tmpfs", "netns-etc-sandbox"]


def pytest_sessionstart(session) -> None:
    ok, why = in_sandbox()
    if not ok:
        pytest.exit(f"refusing to run integration tests outside the sandbox ({why}); use: tests/sandbox.sh", 3)


# -- running Ansible ----------------------------------------------------------------------------------------
def sh(command: str, check: bool = True) -> str:
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{command!r} failed ({done.returncode}): {done.stderr}{done.stdout}")
    return done.stdout


def ansible_env(tmp: Path, results: Path, extra: dict | None = None) -> dict:
    """Write `tmp`/inventory (localhost, this Python) and return the environment of an ansible-playbook run whose
    task results the test callback writes to `results`."""
    Path(tmp, "inventory").write_text(
        f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    )
    return {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_CALLBACK_PLUGINS": str(HERE / "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "netns_core_results",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "NETNS_CORE_RESULTS": str(results),
        **(extra or {}),
    }


def play(
    tasks: list[dict],
    check: bool = False,
    diff: bool = True,
    extra: list[str] | None = None,
    playbook: Path | None = None,
    env: dict | None = None,
    wrap: list[str] | None = None,
) -> list[dict]:
    """Run `tasks` as one play (or `playbook`) on localhost; return every task's result (module result + 'status').
    wrap: a command line ansible-playbook runs under (e.g. a private mount namespace hiding a command)."""
    with tempfile.TemporaryDirectory(prefix="netns-core-it-") as tmp:
        if playbook is None:
            playbook = Path(tmp, "play.yml")
            playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
        results = Path(tmp, "results.json")
        env = ansible_env(Path(tmp), results, env)
        argv = [str(BIN / "ansible-playbook"), "-i", str(Path(tmp, "inventory")), str(playbook)]
        argv += ["--check"] * check + ["--diff"] * diff + (extra or [])
        argv = [*(wrap or []), *argv]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, check=False)
        if not results.exists():
            raise AssertionError(f"ansible-playbook produced no results:\n{done.stdout}\n{done.stderr}")
        return json.loads(results.read_text())


def play_file(playbook: str, check: bool = False, extra_vars: dict | None = None) -> list[dict]:
    """Run one of the collection's playbooks (playbooks/NAME.yml) on localhost."""
    path = REPO / "playbooks" / playbook
    extra = ["-e", json.dumps(extra_vars)] if extra_vars else []
    return play([], check=check, extra=extra, playbook=path)


def run(module: str, args: dict, check: bool = False) -> dict:
    """One module call; returns its result."""
    (result,) = play([{"name": module, f"netns.core.{module}": args}], check=check)
    return result


# -- what the kernel holds ----------------------------------------------------------------------------------
# One reader of the kernel for every test, the test callback and molecule: kernel_state.py (its SOURCES list
# says what is read). snapshot() is its stable flavour: without what follows a task on the kernel's own clock
# (carrier and operstate, IPv6 link-local addresses, the routes DAD adds), so it can be taken right after a run.
def namespaces() -> list[str]:
    return kernel_state.namespaces()


def in_ns(ns: str | None, command: str) -> str:
    return command if ns is None else f"ip netns exec {ns} {command}"


def snapshot() -> dict:
    """Everything the tests could change: the sandbox host and every named namespace (kernel_state.stable())."""
    return kernel_state.stable()


def links(ns: str | None = None) -> dict[str, dict]:
    return {link["ifname"]: link for link in json.loads(sh(in_ns(ns, "ip -j -d link show")))}


def addresses(ifname: str, ns: str | None = None, scope: str = "global") -> list[str]:
    (item,) = json.loads(sh(in_ns(ns, f"ip -j addr show dev {ifname}")))
    return sorted(f"{a['local']}/{a['prefixlen']}" for a in item["addr_info"] if a.get("scope") == scope)


def ping(ns: str | None, address: str) -> bool:
    command = ["bash", "-c", in_ns(ns, f"ping -c 1 -W 2 {address}")]
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


# -- the house pattern: check -> real -> again -> check again -----------------------------------------------
def ours(results: list[dict]) -> list[dict]:
    """The results of netns.core modules (they carry `actions`), without set_fact, debug, command and the like."""
    return [r for r in results if "actions" in r]


def assumed(result: dict) -> bool:
    """Whether a check run planned around something missing (and warned)."""
    return any(str(w).startswith("check mode: ") for w in result.get("warnings") or [])


def four_steps(tasks: list[dict] | None, verify, playbook: str | None = None):
    """Run `tasks` (or a playbook file) four times and assert the house properties; returns the real run's results.

    Tasks that are not netns.core modules (a role's set_fact, a playbook's proving pings) may be skipped in check
    mode; the properties are asserted on the netns.core results. The check run's diff.after must equal the real
    run's, except for a single-module task whose check run planned around something an earlier task of the play
    creates (it warns "check mode: ..."): no module can know what another task will make.
    """

    def run_it(check: bool) -> list[dict]:
        results = play(tasks, check=check) if playbook is None else play_file(playbook, check=check)
        assert all(r["status"] in ("ok", "skipped") for r in results), results
        assert ours(results), "no netns.core task ran"
        return results

    before = snapshot()
    checked = run_it(check=True)
    assert any(r["changed"] for r in ours(checked)), "check run predicted no change"
    assert all(r["actions"] for r in ours(checked) if r["changed"]), checked
    assert snapshot() == before, "check mode changed the kernel"

    real = run_it(check=False)
    assert [r["changed"] for r in ours(real)] == [r["changed"] for r in ours(checked)], "check's 'changed' was wrong"
    for predicted, done in zip(ours(checked), ours(real), strict=True):
        assert predicted["actions"] == done["actions"], "check mode announced other actions than the real run took"
        if not assumed(predicted):
            assert predicted["diff"]["after"] == done["diff"]["after"], (predicted["diff"], done["diff"])
    # verify() asserts; a verify that returns something (a bare comparison, `lambda: x in y`) asserts nothing
    assert verify() is None, "verify() returned a value: it must assert what the kernel holds, not return it"

    converged = snapshot()
    again = run_it(check=False)
    assert [r["changed"] for r in again if r["status"] == "ok"] == [False] * len(
        [r for r in again if r["status"] == "ok"]
    ), again
    assert all(r["actions"] == [] for r in ours(again))
    assert snapshot() == converged, "an idempotent run changed the kernel"

    checked_again = run_it(check=True)
    assert not any(r["changed"] for r in checked_again), checked_again
    assert snapshot() == converged
    return real


def fails_cleanly(module: str, args: dict, *fragments: str, check_warns: tuple[str, ...] | None = None) -> dict:
    """The task fails before anything changes, in a real run and in a check run; returns the real run's result.

    Both runs must fail with a message that contains every fragment, without a traceback, and leave the kernel as
    it was. check_warns: the check run instead plans around something an earlier task of the play could create
    (a namespace that does not exist yet): it must then succeed, changed, with a warning containing each of
    these fragments.
    """
    before = snapshot()
    result = run(module, args)
    _failed_with(result, fragments)
    assert snapshot() == before, "a failed task changed the kernel"

    checked = run(module, args, check=True)
    if check_warns is None:
        _failed_with(checked, fragments)
    else:
        assert checked["status"] == "ok" and checked["changed"], checked
        warnings = " ".join(checked.get("warnings", []))
        for fragment in check_warns:
            assert fragment in warnings, (fragment, checked.get("warnings"))
    assert snapshot() == before, "a check run changed the kernel"
    return result


def _failed_with(result: dict, fragments) -> None:
    assert result["status"] == "failed", result
    assert "Traceback" not in result.get("module_stderr", "") + str(result.get("exception", "")), result
    for fragment in fragments:
        assert fragment in result["msg"], (fragment, result["msg"])


@pytest.fixture(autouse=True)
def clean_sandbox():
    """Each test starts from an empty sandbox host (only lo) and leaves it empty again."""
    _reset()
    yield
    _reset()


def _reset() -> None:
    sh("ip -all netns delete 2>/dev/null || true; rm -f /run/netns/*", check=False)
    if etc_netns_is_the_sandboxs():  # checked again: never the machine's /etc/netns
        sh(f"find {kernel_state.ETC_NETNS} -mindepth 1 -delete", check=False)
    for name in links():
        if name != "lo":
            sh(f"ip link del {name} 2>/dev/null || true", check=False)
    sh("ip addr flush dev lo scope global", check=False)  # a test's address on lo (the foreign-state test's)
    for tool in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle", "raw"):
            sh(f"{tool} -w -t {table} -F; {tool} -w -t {table} -X", check=False)
        sh(f"{tool} -w -P FORWARD ACCEPT", check=False)
    sh("sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0", check=False)
    # nftables tables other than iptables-nft's own (ours, a test's foreign ones); iptables-nft's were flushed above
    for table in sh("command -v nft >/dev/null && nft list tables || true", check=False).splitlines():
        if table.split()[1:2] not in (["ip"], ["ip6"]) or table.split()[2:] not in NFT_IPTABLES:
            sh(f"nft delete {table}", check=False)


#: the tables iptables-nft keeps in nftables (families ip and ip6)
NFT_IPTABLES = (["filter"], ["nat"], ["mangle"], ["raw"], ["security"])
