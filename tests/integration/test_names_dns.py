# SPDX-License-Identifier: GPL-3.0-or-later
"""Names and DNS: /etc/netns/NAME/resolv.conf and hosts (the sandbox's private /etc/netns), as `ip netns exec`
binds them over /etc; the module, the bridge_nat role, and a resolver in the uplink reached through NAT."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import fails_cleanly, four_steps, namespaces, ours, play, sh
from kernel_state import etc_netns

HEADER = "# netns.core manages this file: edits are overwritten, and it goes with the namespace\n"
MARK = "# netns.core made this directory and removes it when it holds nothing else\n"
LOCALHOST = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
RESOLV = {"nameservers": ["198.51.100.2", "2001:db8::53"], "search": ["lab.example"], "options": ["ndots:1"]}
HOSTS = {"gateway": ["10.98.0.1"], "db": ["10.98.0.3", "fd00:98::3"]}


def content(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def netns(state: str = "present", **options) -> dict:
    return {"netns.core.netns": {"name": "web", "state": state, **options}}


def test_module_create_modify_and_absent():
    resolv = f"{HEADER}{MARK}nameserver 198.51.100.2\nnameserver 2001:db8::53\nsearch lab.example\noptions ndots:1\n"
    hosts = f"{HEADER}{MARK}{LOCALHOST}10.98.0.3\tdb\nfd00:98::3\tdb\n10.98.0.1\tgateway\n"

    def created():
        assert content("/etc/netns/web/resolv.conf") == resolv
        assert content("/etc/netns/web/hosts") == hosts
        assert sh("ip netns exec web cat /etc/resolv.conf") == resolv  # bound over /etc by ip netns exec
        assert sh("ip netns exec web getent hosts db").split() == ["fd00:98::3", "db"]  # getent hosts: IPv6 first
        assert sh("ip netns exec web getent hosts gateway").split() == ["10.98.0.1", "gateway"]
        assert sh("getent hosts db", check=False) == "", "the host's /etc/hosts must not change"
        assert etc_netns() == [
            "/etc/netns/web/ dir 755",
            f"/etc/netns/web/hosts 644 {digest(hosts)}",
            f"/etc/netns/web/resolv.conf 644 {digest(resolv)}",
        ]

    (result,) = four_steps([netns(resolv_conf=RESOLV, hosts=HOSTS)], created)
    assert result["actions"] == [
        "create netns web",
        "bring lo up in netns web",
        "create directory /etc/netns/web with resolv.conf and hosts",
    ]
    assert result["diff"]["after"]["files"] == {
        "/etc/netns/web/resolv.conf": resolv.splitlines(),
        "/etc/netns/web/hosts": hosts.splitlines(),
    }
    inode = os.stat("/etc/netns/web/hosts").st_ino

    changed = f"{HEADER}{MARK}{LOCALHOST}10.98.0.4\tdb\n"

    def modified():
        assert content("/etc/netns/web/resolv.conf") is None
        assert content("/etc/netns/web/hosts") == changed
        assert os.stat("/etc/netns/web/hosts").st_ino != inode, "not replaced by a rename"
        assert sh("ip netns exec web getent hosts db").split() == ["10.98.0.4", "db"]
        assert len(etc_netns()) == 2, "a temporary file was left: " + str(etc_netns())

    (result,) = four_steps([netns(hosts={"db": ["10.98.0.4"]})], modified)
    assert result["actions"] == ["remove /etc/netns/web/resolv.conf", "rewrite /etc/netns/web/hosts"]
    assert result["diff"]["before"]["files"]["/etc/netns/web/resolv.conf"] == resolv.splitlines()
    assert "/etc/netns/web/resolv.conf" not in result["diff"]["after"]["files"]

    def removed():
        assert namespaces() == [] and etc_netns() == []

    (result,) = four_steps([netns("absent")], removed)
    assert result["actions"] == [
        "remove directory /etc/netns/web with hosts",
        "delete netns web",
    ]


def digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_files_left_by_a_namespace_that_is_gone_are_removed():
    (result,) = play([netns(hosts=HOSTS)])
    assert result["changed"]
    sh("ip netns delete web")  # as after a reboot: the namespace is gone, /etc keeps the files
    (result,) = play([netns("absent")])
    assert result["actions"] == ["remove directory /etc/netns/web with hosts"]
    assert etc_netns() == []


def ended_pid() -> int:
    """The pid of a process that has ended (and been reaped): the writer of a crash's leftovers."""
    return int(sh("sh -c 'echo $$'"))


def test_what_a_killed_run_left_in_etc_netns_is_removed_and_a_running_ones_is_not():
    dead, alive = ended_pid(), subprocess.Popen(["sleep", "300"])
    try:
        # what a run killed while writing a file, making a directory and removing one leaves (see _netnsfs)
        sh(f"printf '{HEADER}10.98.0.3\\td' > /etc/netns/.netns-core-{dead}-w1")
        made = f"/etc/netns/.netns-core-{dead}-m2"
        sh(f"mkdir {made} && printf '{HEADER}{MARK}' > {made}/hosts")
        sh(f"mkdir /etc/netns/.netns-core-{dead}-r3")
        # somebody else's, however alike: a writer still running, no pid, something of others in the directory
        sh(f"touch /etc/netns/.netns-core-{alive.pid}-w4 /etc/netns/.netns-core-backup")
        sh(f"mkdir /etc/netns/.netns-core-{dead}-x5 && touch /etc/netns/.netns-core-{dead}-x5/networks")
        kept = [line for line in etc_netns() if "-w4" in line or "backup" in line or "-x5" in line]

        def verify():
            assert etc_netns() == sorted(
                kept + ["/etc/netns/web/ dir 755", f"/etc/netns/web/hosts 644 {digest(hosts)}"]
            )

        hosts = f"{HEADER}{MARK}{LOCALHOST}10.98.0.3\tdb\nfd00:98::3\tdb\n10.98.0.1\tgateway\n"
        (result,) = four_steps([netns(hosts=HOSTS)], verify)
        assert result["actions"][2:5] == [
            f"remove /etc/netns/.netns-core-{dead}-m2 (left by a run that died)",
            f"remove /etc/netns/.netns-core-{dead}-r3 (left by a run that died)",
            f"remove /etc/netns/.netns-core-{dead}-w1 (left by a run that died)",
        ]
        assert f"/etc/netns/.netns-core-{dead}-x5 left as it is: a run that died left it, but it holds networks" in (
            result.get("warnings") or []
        ), result
    finally:
        alive.kill()
        alive.wait()


def test_a_directory_and_files_we_did_not_make_are_left_alone():
    sh("mkdir /etc/netns/web && printf 'loopback 127.0.0.0\\n' > /etc/netns/web/networks")
    before = etc_netns()
    (result,) = play([netns(hosts=HOSTS)])
    assert result["changed"]
    assert content("/etc/netns/web/hosts") == f"{HEADER}{LOCALHOST}10.98.0.3\tdb\nfd00:98::3\tdb\n10.98.0.1\tgateway\n"
    (result,) = play([netns("absent")])
    assert result["actions"] == ["remove /etc/netns/web/hosts", "delete netns web"]
    assert etc_netns() == before, "the directory and the file somebody else made must stay as they were"


def test_a_file_we_did_not_write_is_refused_with_nothing_changed():
    sh("mkdir /etc/netns/web && printf 'nameserver 192.0.2.53\\n' > /etc/netns/web/resolv.conf")
    fails_cleanly("netns", {"name": "web", "resolv_conf": RESOLV}, "/etc/netns/web/resolv.conf exists and netns.core")
    assert content("/etc/netns/web/resolv.conf") == "nameserver 192.0.2.53\n"


def test_bad_input_is_refused_with_nothing_changed():
    fails_cleanly("netns", {"name": "web", "resolv_conf": {"nameservers": ["1.2.3"]}}, "nameservers[0] '1.2.3'")
    fails_cleanly("netns", {"name": "web", "hosts": {"my db": ["10.0.0.3"]}}, "name 'my db' is not a valid host")
    fails_cleanly("netns", {"name": "web", "hosts": {"db": ["10.0.0.300"]}}, "hosts.db[0] '10.0.0.300' is not an IP")
    fails_cleanly(
        "network",
        {"namespaces": [{"name": "web", "resolv_conf": {"nameservers": ["1.1.1.1"], "options": ["ndots 2"]}}]},
        "namespaces[0]: resolv_conf.options[0] 'ndots 2' is not a resolver option",
    )
    assert etc_netns() == []


# -- the bridge_nat role: names between containers, a resolver through NAT -------------------------------------
UPLINK = """
set -e
ip netns add uplink
ip link add up0 type veth peer name eth0 netns uplink
ip addr add 198.51.100.1/24 dev up0; ip link set up0 up
ip -n uplink addr add 198.51.100.2/24 dev eth0; ip -n uplink link set eth0 up; ip -n uplink link set lo up
"""
#: a DNS responder for one name (A svc.example -> 203.0.113.10; anything else NXDOMAIN); prints who asked what
RESPONDER = r"""
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.2", 53))
print("listening", flush=True)
while True:
    data, peer = s.recvfrom(512)
    i, labels = 12, []
    while data[i]:
        labels.append(data[i + 1 : i + 1 + data[i]].decode().lower())
        i += 1 + data[i]
    qtype = struct.unpack("!H", data[i + 1 : i + 3])[0]
    name = ".".join(labels)
    print(peer[0], name, qtype, flush=True)
    answer = b""
    if name == "svc.example" and qtype == 1:
        answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("203.0.113.10")
    rcode = 0 if name == "svc.example" else 3
    header = struct.pack("!HHHHHH", data[0] << 8 | data[1], 0x8180 | rcode, 1, 1 if answer else 0, 0, 0)
    s.sendto(header + data[12 : i + 5] + answer, peer)
"""


def bridge_nat(state: str = "present", **variables) -> dict:
    variables = {"bridge_nat_containers": [{"name": "web"}, {"name": "db"}], "bridge_nat_state": state, **variables}
    return {"ansible.builtin.include_role": {"name": "netns.core.bridge_nat"}, "vars": variables}


def test_bridge_nat_containers_know_each_other_by_name():
    before = etc_netns()

    def verify():
        assert sh("ip netns exec web getent hosts db").split() == ["10.98.0.3", "db"]
        assert sh("ip netns exec db getent hosts web").split() == ["10.98.0.2", "web"]
        assert sh("ip netns exec web getent hosts gateway").split() == ["10.98.0.1", "gateway"]
        assert sh("ip netns exec web getent hosts localhost").split()[1] == "localhost"
        assert sh("ip netns exec web ping -c 1 -W 2 db")
        assert content("/etc/netns/web/resolv.conf") is None, "no bridge_nat_dns: the host's resolv.conf"

    four_steps([bridge_nat()], verify)
    assert ours(play([bridge_nat("absent")]))[0]["changed"]
    assert namespaces() == [] and etc_netns() == before


def test_a_container_resolves_through_nat_with_the_resolver_of_bridge_nat_dns():
    sh(UPLINK)
    server = subprocess.Popen(
        ["ip", "netns", "exec", "uplink", sys.executable, "-c", RESPONDER],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout.readline().strip() == "listening", server.stderr.read()
        results = play([bridge_nat(bridge_nat_dns=["198.51.100.2"])])
        assert all(r["status"] == "ok" for r in results), results
        assert content("/etc/netns/web/resolv.conf") == f"{HEADER}{MARK}nameserver 198.51.100.2\n"
        assert sh("ip netns exec web getent ahostsv4 svc.example").split()[0] == "203.0.113.10"
        resolve = "import socket; print(socket.gethostbyname('svc.example'))"
        assert sh(f'ip netns exec db {sys.executable} -c "{resolve}"').strip() == "203.0.113.10"
        asked = server.stdout.readline().split()
        assert asked[:2] == ["198.51.100.1", "svc.example"], "the query must arrive NATed from the host's uplink"
        assert sh("ip netns exec web getent hosts db").split() == ["10.98.0.3", "db"]  # files first, then DNS
        assert sh("ip netns exec web getent ahostsv4 nothing.example", check=False) == ""
        # the negative control: without bridge_nat_dns the container asks the host's resolvers, not the uplink's
        assert ours(play([bridge_nat()]))[0]["actions"] == [
            "remove /etc/netns/web/resolv.conf",
            "remove /etc/netns/db/resolv.conf",
        ]
        assert content("/etc/netns/web/resolv.conf") is None
        assert ours(play([bridge_nat("absent")]))[0]["changed"]
        assert etc_netns() == []
    finally:
        server.kill()
        server.wait()


def test_bridge_nat_bad_dns_is_refused_before_anything_changes():
    before = etc_netns()
    results = play([bridge_nat(bridge_nat_dns=["not-an-ip"])])
    (failed,) = [r for r in results if r["status"] == "failed"]
    assert "bridge_nat_dns[0] 'not-an-ip' is not an IP address" in failed["msg"], failed["msg"]
    assert namespaces() == [] and etc_netns() == before
