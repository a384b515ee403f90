# SPDX-License-Identifier: GPL-3.0-or-later
"""Names and DNS of a namespace: validation, the exact file contents, and the plan over /etc/netns/NAME (offline
model: no file exists until a test puts one there)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from ansible_collections.netns.core.plugins.module_utils import _ops
from ansible_collections.netns.core.plugins.module_utils._constants import NETNS_ETC_DIR_MARK, NETNS_ETC_HEADER
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel
from ansible_collections.netns.core.plugins.module_utils._netns import Netns
from ansible_collections.netns.core.plugins.module_utils._netns_etc import hosts_lines, resolv_conf_lines
from ansible_collections.netns.core.plugins.module_utils._netnsfs import leftover_pid, process_state
from ansible_collections.netns.core.plugins.module_utils._ops import (
    MakeDirectory,
    RemoveDirectory,
    RemoveFile,
    RemoveLeftover,
    WriteFile,
)

DIR = "/etc/netns/web"
RESOLV = f"{DIR}/resolv.conf"
HOSTS = f"{DIR}/hosts"
PARAMS = {
    "name": "web",
    "resolv_conf": {"nameservers": ["198.51.100.2", "2001:db8::53"], "search": ["lab.example"], "options": ["ndots:1"]},
    "hosts": {"gateway": ["10.98.0.1"], "db": ["10.98.0.3", "fd00:98::3"], "web": "10.98.0.2"},
}


def converge(model: KernelModel, params: dict) -> list:
    """Plan one netns item against the model and simulate it; returns the ops."""
    resource = Netns(params)
    ops = resource.plan(model, resource.read(model), resource.desired())
    for op in ops:
        _ops.known(op).simulate(model)
    return ops


@pytest.fixture
def model():
    return KernelModel(None)


def test_resolv_conf_lines():
    assert resolv_conf_lines(PARAMS["resolv_conf"]) == [
        "nameserver 198.51.100.2",
        "nameserver 2001:db8::53",
        "search lab.example",
        "options ndots:1",
    ]
    assert resolv_conf_lines(None) is None
    assert resolv_conf_lines({"nameservers": [], "search": [], "options": []}) is None


def test_hosts_lines_with_localhost_first_names_sorted_and_one_line_per_address():
    assert hosts_lines(PARAMS["hosts"]) == [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "10.98.0.3\tdb",
        "fd00:98::3\tdb",
        "10.98.0.1\tgateway",
        "10.98.0.2\tweb",
    ]
    assert hosts_lines({"localhost": ["127.0.0.1"]}) == ["127.0.0.1\tlocalhost"]
    assert hosts_lines({}) is None and hosts_lines(None) is None


@pytest.mark.parametrize(
    ("params", "fragments"),
    [
        ({"resolv_conf": {"nameservers": ["1.2.3"]}}, ["resolv_conf.nameservers[0]", "'1.2.3'", "not an IP"]),
        ({"resolv_conf": {"nameservers": ["dns.example"]}}, ["resolv_conf.nameservers[0]", "not an IP"]),
        ({"resolv_conf": {"nameservers": ["1.1.1.1"] * 2 + ["8.8.8.8", "9.9.9.9"]}}, ["at most 3"]),
        ({"resolv_conf": {"search": ["lab"]}}, ["need nameservers"]),
        ({"resolv_conf": {"nameservers": ["1.1.1.1"], "search": ["a lab"]}}, ["resolv_conf.search[0]", "' '"]),
        ({"resolv_conf": {"nameservers": ["1.1.1.1"], "options": ["ndots 2"]}}, ["resolv_conf.options[0]"]),
        ({"hosts": {"my db": ["10.0.0.3"]}}, ["hosts: name 'my db'", "not a valid host name", "' '"]),
        ({"hosts": {"db\nx": ["10.0.0.3"]}}, ["not a valid host name"]),
        ({"hosts": {"db\n": ["10.0.0.3"]}}, ["not a valid host name"]),
        ({"resolv_conf": {"nameservers": ["1.1.1.1"], "options": ["edns0\n"]}}, ["resolv_conf.options[0]"]),
        ({"hosts": {"-db": ["10.0.0.3"]}}, ["not a valid host name"]),
        ({"hosts": {"db": ["10.0.0.300"]}}, ["hosts.db[0] '10.0.0.300' is not an IP address"]),
        ({"hosts": {"db": []}}, ["hosts.db has no address"]),
        ({"hosts": ["db"]}, ["mapping of host name"]),
    ],
)
def test_bad_input_is_refused_naming_option_and_value(params, fragments):
    with pytest.raises(NetnsCoreError) as caught:
        Netns({"name": "web", **params})
    for fragment in fragments:
        assert fragment in caught.value.msg, (fragment, caught.value.msg)


def test_create_makes_the_directory_and_writes_exact_content(model):
    ops = converge(model, PARAMS)
    files = [op for op in ops if isinstance(op, (MakeDirectory, WriteFile))]
    # made with its files in one step (a run killed half way cannot leave it without the files that mark it ours)
    assert [op.describe() for op in files] == [f"create directory {DIR} with resolv.conf and hosts"]
    assert model.etc_file(RESOLV) == (
        "regular file",
        f"{NETNS_ETC_HEADER}\n{NETNS_ETC_DIR_MARK}\nnameserver 198.51.100.2\nnameserver 2001:db8::53\n"
        "search lab.example\noptions ndots:1\n",
    )
    assert model.etc_directory(DIR) == ("directory", ["hosts", "resolv.conf"])
    assert converge(model, PARAMS) == []  # converged
    read = Netns(PARAMS).read(model)
    assert read["files"][HOSTS][2:] == hosts_lines(PARAMS["hosts"])


def test_modify_rewrites_only_what_differs_and_drops_what_is_no_longer_wanted(model):
    converge(model, PARAMS)
    ops = converge(model, {**PARAMS, "resolv_conf": None, "hosts": {"db": ["10.98.0.4"]}})
    assert [op.describe() for op in ops if not isinstance(op, _ops.SetUp)] == [
        f"remove {RESOLV}",
        f"rewrite {HOSTS}",
    ]
    assert model.etc_directory(DIR) == ("directory", ["hosts"])
    ops = converge(model, {"name": "web"})
    assert [op.describe() for op in ops] == [f"remove directory {DIR} with hosts"]
    assert model.etc_directory(DIR) == ("missing", None)


def test_absent_removes_our_files_and_directory_before_the_namespace(model):
    converge(model, PARAMS)
    ops = converge(model, {"name": "web", "state": "absent"})
    assert [type(op) for op in ops] == [RemoveDirectory, _ops.DeleteNetns]
    assert ops[0].files == ("resolv.conf", "hosts")
    assert converge(model, {"name": "web", "state": "absent"}) == []


def test_files_left_by_a_namespace_that_is_gone_are_removed(model):
    model.make_etc_directory(DIR)
    model.put_etc_file(HOSTS, f"{NETNS_ETC_HEADER}\n{NETNS_ETC_DIR_MARK}\n10.0.0.1\tgateway\n")
    ops = converge(model, {"name": "web", "state": "absent"})
    assert [op.describe() for op in ops] == [f"remove directory {DIR} with hosts"]


def test_a_directory_somebody_else_made_is_used_and_left(model):
    model.make_etc_directory(DIR)  # made by somebody else: our files carry no directory mark
    converge(model, PARAMS)
    assert model.etc_file(HOSTS)[1].split("\n")[1] == "127.0.0.1\tlocalhost"
    ops = converge(model, {"name": "web", "state": "absent"})
    assert RemoveDirectory not in {type(op) for op in ops}
    assert model.etc_directory(DIR) == ("directory", [])


def test_our_directory_holding_other_files_is_left_with_a_warning(model):
    converge(model, PARAMS)
    model.put_etc_file(f"{DIR}/gai.conf", "precedence ::ffff:0:0/96 100\n")
    ops = converge(model, {"name": "web", "state": "absent"})
    assert RemoveDirectory not in {type(op) for op in ops}
    assert model.etc_file(f"{DIR}/gai.conf")[0] == "regular file"
    assert model.left == [f"{DIR} left as it is: it holds files netns.core did not write (gai.conf)"]


def test_a_file_we_did_not_write_is_refused_and_never_removed(model):
    model.make_etc_directory(DIR)
    model.put_etc_file(RESOLV, "nameserver 192.0.2.53\n")
    with pytest.raises(NetnsCoreError, match="exists and netns.core did not write it"):
        converge(model, PARAMS)
    ops = converge(model, {"name": "web", "hosts": {"db": ["10.0.0.3"]}})
    assert RemoveFile not in {type(op) for op in ops}
    ops = converge(model, {"name": "web", "state": "absent"})
    assert [op.describe() for op in ops if isinstance(op, (RemoveFile, RemoveDirectory))] == [f"remove {HOSTS}"]
    assert model.etc_file(RESOLV) == ("regular file", "nameserver 192.0.2.53\n")


def test_a_directory_path_that_is_not_a_directory_is_refused(model):
    model._directories[DIR] = ("symbolic link", None)
    with pytest.raises(NetnsCoreError, match="is a symbolic link, not a directory"):
        converge(model, PARAMS)
    assert converge(model, {"name": "web", "state": "absent"}) == []


def test_file_ops_are_registered_and_stale_nothing():
    for op in (
        MakeDirectory(DIR),
        WriteFile(HOSTS, "x\n"),
        RemoveFile(HOSTS),
        RemoveDirectory(DIR),
        RemoveLeftover("/etc/netns/.netns-core-1-x"),
    ):
        assert _ops.known(op) is op
        assert op.stale() == ((), False)


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    return int(child.stdout)


def test_what_a_run_that_died_left_is_removed_once_and_a_living_runs_work_is_not(model):
    dead = dead_pid()
    model.make_etc_directory("/etc/netns")
    left = {
        "file": f"/etc/netns/.netns-core-{dead}-a1b2c3",
        "directory": f"/etc/netns/.netns-core-{dead}-d4e5f6",
        "foreign": f"/etc/netns/.netns-core-{dead}-g7h8i9",
        "living": f"/etc/netns/.netns-core-{os.getpid()}-j0k1l2",
        "not ours": "/etc/netns/.netns-core-backup",
    }
    model.put_etc_file(left["file"], "half a hosts fi")
    model.make_etc_directory(left["directory"])
    model.put_etc_file(f"{left['directory']}/hosts", "...")
    model.make_etc_directory(left["foreign"])
    model.put_etc_file(f"{left['foreign']}/notes", "somebody's")
    model.put_etc_file(left["living"], "being written")
    model.put_etc_file(left["not ours"], "a name like ours, without a pid")
    ops = converge(model, PARAMS)
    removals = [op for op in ops if isinstance(op, RemoveLeftover)]
    assert [op.describe() for op in removals] == [  # in name order
        f"remove {left['file']} (left by a run that died)",
        f"remove {left['directory']} (left by a run that died)",
    ]
    assert removals[0].files is None and removals[1].files == ("hosts",)
    assert model.left == [f"{left['foreign']} left as it is: a run that died left it, but it holds notes"]
    assert model.etc_directory("/etc/netns")[1] == sorted(
        [".netns-core-backup", f".netns-core-{dead}-g7h8i9", f".netns-core-{os.getpid()}-j0k1l2", "web"]
    )
    assert not any(isinstance(op, RemoveLeftover) for op in converge(model, {**PARAMS, "name": "db"}))
    assert model.left == [f"{left['foreign']} left as it is: a run that died left it, but it holds notes"]


def test_a_leftover_is_one_whose_writer_is_gone_or_a_zombie_nobody_reaped():
    assert leftover_pid(f".netns-core-{dead_pid()}-x") is not None
    assert leftover_pid(f".netns-core-{os.getpid()}-x") is None  # still writing
    assert leftover_pid(".netns-core-backup") is None and leftover_pid("web") is None
    assert leftover_pid(".netns-core-\u0663-x") is None  # a digit, but not an ASCII one
    child = subprocess.Popen(["true"])  # ends at once; not reaped until wait()
    try:
        for _attempt in range(500):
            if process_state(child.pid) == "Z":
                break
            time.sleep(0.01)
        assert process_state(child.pid) == "Z"
        assert leftover_pid(f".netns-core-{child.pid}-x") == child.pid
    finally:
        child.wait()
    assert process_state(child.pid) == "X"
