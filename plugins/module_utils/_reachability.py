# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Reachability probes: many ICMP echoes and TCP connects, from many namespaces, at once, in this one process.

Every socket is opened with this thread joined to its source namespace (setns) and keeps that namespace when the
thread goes home; one event loop then sends and waits for all of them together. ICMP uses one raw socket per
source namespace and address family (root has CAP_NET_RAW); a probe sends an echo request every second until a
reply (reachable), an ICMP error (unreachable, with its reason) or its timeout. TCP makes one non-blocking connect
per probe: an accepted connection is reachable, a refusal or a timeout is not. Names are resolved as
`ip netns exec SOURCE getent ahosts NAME` would: in a child that joins the source namespace with the files of
/etc/netns/SOURCE bind-mounted over /etc. Nothing is changed anywhere.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import heapq
import ipaddress
import json
import os
import resource
import select
import selectors
import socket
import struct
import time
from dataclasses import dataclass, field

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._netlink import Session, netns_path, netns_status

HOST = "host"
CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_REC, MS_SLAVE, MS_BIND = 0x4000, 0x80000, 0x1000
ICMP_FILTER = 1  # SOL_RAW option: a bit set drops that ICMP type
SOL_RAW = 255
ICMP6_FILTER = 1
ECHO = {4: (8, 0), 6: (128, 129)}  # (request, reply)
ERRORS = {  # ICMP error types -> reason, per family
    4: {3: "destination unreachable", 11: "time exceeded"},
    6: {1: "destination unreachable", 3: "time exceeded"},
}
RESEND_SECONDS = 1.0
MAX_TCP_IN_FLIGHT = 256
IFA_F_DADFAILED, IFA_F_TENTATIVE = 0x08, 0x40
PAYLOAD = b"netns.core reach"
MAX_LISTED = 100  # probes named in a failure's message (all of them are in the result's probes)


@dataclass
class Probe:
    source: str | None  # None: the host
    to: str
    port: int | None
    expect: str
    timeout: float
    where: str  # probes[3] or matrix
    address: str | None = None
    result: str | None = None
    rtt_ms: float | None = None
    error: str | None = None
    sent: dict = field(default_factory=dict)  # icmp seq (0 for tcp) -> monotonic time of sending
    deadline: float = 0.0
    tcp: socket.socket | None = None

    @property
    def protocol(self) -> str:
        return "icmp" if self.port is None else "tcp"

    def report(self) -> dict:
        return {
            "from": self.source or HOST,
            "to": self.to,
            "address": self.address,
            "protocol": self.protocol,
            "port": self.port,
            "expect": self.expect,
            "result": self.result,
            "rtt_ms": self.rtt_ms,
            "error": self.error,
            "as_expected": self.result == self.expect,
        }

    def line(self) -> str:
        target = self.to if self.address in (None, self.to) else f"{self.to} ({self.address})"
        port = f" port {self.port}" if self.port is not None else " (icmp)"
        why = f": {self.error}" if self.error else ""
        return f"{self.source or HOST} -> {target}{port} is {self.result}{why}, expected {self.expect}"


# -- what to probe ------------------------------------------------------------------------------------------------
def source_name(value: object, option: str) -> str | None:
    if value in (None, HOST):
        return None
    return norm.netns_name(str(value), option)


def build_probes(params: dict) -> tuple[list[Probe], list[str]]:
    """The explicit probes (validated, before any socket opens) and the matrix namespaces."""
    default_timeout = positive_timeout(params.get("timeout"), "timeout", 2.0)
    probes = []
    for index, raw in enumerate(params.get("probes") or []):
        where = f"probes[{index}]"
        port = raw.get("port")
        if port is not None and not 1 <= port <= 65535:
            raise NetnsCoreError(f"{where}.port: {port} is not a TCP port (1-65535)")
        sources = [source_name(value, f"{where}.from") for value in one_or_many(raw.get("from"), f"{where}.from")]
        targets = [str(value).strip() for value in one_or_many(raw.get("to"), f"{where}.to")]
        if not targets or not all(targets):
            raise NetnsCoreError(f"{where}.to: give an address or a name (or a list of them)")
        timeout = positive_timeout(raw.get("timeout"), f"{where}.timeout", default_timeout)
        for source in sources:
            for to in targets:
                probes.append(Probe(source, to, port, raw.get("expect") or "reachable", timeout, where))
    matrix = [norm.netns_name(name, "matrix") for name in params.get("matrix") or []]
    if len(set(matrix)) != len(matrix):
        raise NetnsCoreError("matrix: each namespace once")
    return probes, matrix


def one_or_many(value: object, option: str) -> list:
    """A string (or number), or a list of them: one probe per item."""
    if value is None:
        return [None]
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, (str, int, float)) or isinstance(item, bool):
            raise NetnsCoreError(f"{option}: {item!r} is not a name or an address")
    return items


def positive_timeout(value: float | None, option: str, default: float) -> float:
    if value is None:
        return default
    if not 0 < value <= 60:
        raise NetnsCoreError(f"{option}: {value} must be more than 0 and at most 60 (seconds)")
    return float(value)


def check_namespaces(probes: list[Probe], matrix: list[str]) -> None:
    """Every source namespace exists (an unknown one is an error, before anything is sent)."""
    missing: dict[str, list[str]] = {}
    for probe in probes:
        if probe.source is not None and netns_status(probe.source) != "present":
            missing.setdefault(probe.source, []).append(probe.where)
    for ns in matrix:
        if netns_status(ns) != "present":
            missing.setdefault(ns, []).append("matrix")
    if missing:
        raise NetnsCoreError(
            "; ".join(
                f"netns {ns!r} ({', '.join(dict.fromkeys(where))}) does not exist" for ns, where in missing.items()
            )
            + "; nothing was probed"
        )


def namespace_addresses(session: Session, ns: str) -> list[str]:
    """The global addresses of a namespace (IPv4, then IPv6), without those still in (or failed) DAD."""
    found = []
    for msg in session.rtnl(ns).addresses():
        flags = msg.get("IFA_FLAGS") or msg["flags"]
        address = msg.get("IFA_ADDRESS") if msg["family"] == socket.AF_INET6 else msg.get("IFA_LOCAL")
        if msg["scope"] != 0 or address is None or flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED):
            continue
        found.append(address)
    return sorted(set(found), key=lambda a: (ipaddress.ip_address(a).version, ipaddress.ip_address(a)))


def matrix_probes(session: Session, matrix: list[str], timeout: float) -> list[Probe]:
    addresses = {ns: namespace_addresses(session, ns) for ns in matrix}
    probes = []
    for source in matrix:
        for target in matrix:
            if target != source:
                for address in addresses[target]:
                    probes.append(Probe(source, address, None, "reachable", timeout, "matrix"))
    return probes


# -- names ----------------------------------------------------------------------------------------------------------
def _libc():
    return ctypes.CDLL(None, use_errno=True)


def resolve_all(probes: list[Probe]) -> None:
    """Set each probe's address: its `to` when that is an address, else the first address the source resolves it to
    (a name that does not resolve makes the probe unreachable, with the reason)."""
    names: dict[str | None, set[str]] = {}
    for probe in probes:
        try:
            probe.address = str(ipaddress.ip_address(probe.to))
        except ValueError:
            names.setdefault(probe.source, set()).add(probe.to)
    resolved: dict[tuple[str | None, str], str | None] = {}
    for source, wanted in names.items():
        deadline = max(p.timeout for p in probes if p.source == source and p.address is None)
        for name, address in resolve_in(source, sorted(wanted), deadline).items():
            resolved[(source, name)] = address
    for probe in probes:
        if probe.address is None:
            probe.address = resolved.get((probe.source, probe.to))
            if probe.address is None:
                probe.result = "unreachable"
                probe.error = f"{probe.to!r} does not resolve in {_where(probe.source)}"


def _where(source: str | None) -> str:
    return "the host" if source is None else f"netns {source}"


def _first_address(name: str) -> str | None:
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return None
    return str(infos[0][4][0]) if infos else None


def resolve_in(source: str | None, names: list[str], timeout: float) -> dict[str, str | None]:
    if source is None:
        return {name: _first_address(name) for name in names}
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(read_end)
            _enter_like_ip_netns_exec(source)
            answer = json.dumps({name: _first_address(name) for name in names}).encode()
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(answer)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                os.kill(pid, 9)
                break
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    try:
        return json.loads(data.decode()) if data else {}
    except ValueError:
        return {}


def _enter_like_ip_netns_exec(source: str) -> None:
    """In a child: a private mount namespace with /etc/netns/SOURCE/* bound over /etc/*, then the netns."""
    libc = _libc()
    etc = os.path.join("/etc/netns", source)
    if os.path.isdir(etc):
        if libc.unshare(CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
        if libc.mount(b"none", b"/", None, MS_REC | MS_SLAVE, None) != 0:
            raise OSError(ctypes.get_errno(), "mount --make-rslave /")
        for entry in sorted(os.listdir(etc)):
            target = os.path.join("/etc", entry)
            if os.path.exists(target):
                libc.mount(os.path.join(etc, entry).encode(), target.encode(), b"none", MS_BIND, None)
    fd = os.open(netns_path(source), os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), f"setns {source}")


# -- sockets in namespaces ------------------------------------------------------------------------------------------
class Joiner:
    """Opens sockets inside namespaces: joins, opens, comes home (fds of each namespace kept open)."""

    def __init__(self) -> None:
        self.libc = _libc()
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        self.fds: dict[str, int] = {}

    @contextlib.contextmanager
    def inside(self, ns: str | None):
        if ns is None:
            yield
            return
        if ns not in self.fds:
            self.fds[ns] = os.open(netns_path(ns), os.O_RDONLY)
        if self.libc.setns(self.fds[ns], CLONE_NEWNET) != 0:
            raise NetnsCoreError(f"cannot join netns {ns!r}: {os.strerror(ctypes.get_errno())}")
        try:
            yield
        finally:
            if self.libc.setns(self.home, CLONE_NEWNET) != 0:  # pragma: no cover (the kernel let us leave)
                raise NetnsCoreError("cannot return to the host namespace")

    def close(self) -> None:
        for fd in [self.home, *self.fds.values()]:
            os.close(fd)


def _icmp_socket(family: int) -> socket.socket:
    if family == 4:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        blocked = 0xFFFFFFFF & ~((1 << 0) | (1 << 3) | (1 << 11))  # only echo replies and errors
        sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", blocked))
    else:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        words = [0xFFFFFFFF] * 8
        for kind in (129, 1, 3):
            words[kind >> 5] &= ~(1 << (kind & 31))
        sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("8I", *words))
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)  # SO_RCVBUFFORCE: room for every reply at once
    sock.setblocking(False)
    return sock


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(family: int, ident: int, seq: int) -> bytes:
    kind = ECHO[family][0]
    header = struct.pack("!BBHHH", kind, 0, 0, ident, seq)
    if family == 6:
        return header + PAYLOAD  # the kernel fills in the ICMPv6 checksum
    return struct.pack("!BBHHH", kind, 0, checksum(header + PAYLOAD), ident, seq) + PAYLOAD


def parse_icmp(family: int, packet: bytes) -> tuple[str, int, int, str | None] | None:
    """('reply'|'error', ident, seq, reason) of a received packet (IPv4 raw sockets see the IP header too)."""
    if family == 4:
        if len(packet) < 20:
            return None
        packet = packet[(packet[0] & 0x0F) * 4 :]
    if len(packet) < 8:
        return None
    kind, code = packet[0], packet[1]
    if kind == ECHO[family][1]:
        _k, _c, _sum, ident, seq = struct.unpack("!BBHHH", packet[:8])
        return "reply", ident, seq, None
    if kind in ERRORS[family]:
        inner = packet[8:]
        if family == 4:
            if len(inner) < 28:
                return None
            inner = inner[(inner[0] & 0x0F) * 4 :]
        else:
            if len(inner) < 48 or inner[6] != socket.IPPROTO_ICMPV6:
                return None
            inner = inner[40:]
        if len(inner) < 8 or inner[0] != ECHO[family][0]:
            return None
        _k, _c, _sum, ident, seq = struct.unpack("!BBHHH", inner[:8])
        return "error", ident, seq, f"{ERRORS[family][kind]} (code {code})"
    return None


# -- the run --------------------------------------------------------------------------------------------------------
def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Runner:
    """One event loop for every probe (see the module docstring)."""

    def __init__(self, probes: list[Probe]) -> None:
        self.probes = probes
        self.joiner = Joiner()
        self.selector = selectors.DefaultSelector()
        self.icmp: dict[tuple[str | None, int], tuple[socket.socket, int]] = {}  # (source, family) -> (sock, ident)
        self.waiting: dict[tuple[str | None, int, int], Probe] = {}  # (source, family, seq) -> probe
        self.seq: dict[tuple[str | None, int], int] = {}
        self.timers: list[tuple[float, int, int]] = []  # (when, order, probe index)
        self.tcp_queue: list[int] = []
        self.tcp_in_flight = 0
        self.open = 0

    def run(self) -> None:
        _raise_fd_limit()
        try:
            self._start()
            self._loop()
        finally:
            for key in list(self.selector.get_map().values()):
                key.fileobj.close()
            self.selector.close()
            self.joiner.close()

    def _start(self) -> None:
        now = time.monotonic()
        for index, probe in enumerate(self.probes):
            if probe.result is not None:
                continue
            self.open += 1
            probe.deadline = now + probe.timeout
            heapq.heappush(self.timers, (probe.deadline, index, index))
            if probe.port is None:
                self._send_echo(index)
            else:
                self.tcp_queue.append(index)
        self.tcp_queue.reverse()
        self._start_tcp()

    def _family(self, probe: Probe) -> int:
        return ipaddress.ip_address(probe.address).version

    def _socket(self, source: str | None, family: int) -> tuple[socket.socket, int]:
        key = (source, family)
        if key not in self.icmp:
            with self.joiner.inside(source):
                sock = _icmp_socket(family)
            ident = (os.getpid() + len(self.icmp)) & 0xFFFF
            self.icmp[key] = (sock, ident)
            self.selector.register(sock, selectors.EVENT_READ, ("icmp", source, family))
        return self.icmp[key]

    def _send_echo(self, index: int) -> None:
        probe = self.probes[index]
        family = self._family(probe)
        sock, ident = self._socket(probe.source, family)
        seq = self.seq.get((probe.source, family), 0) + 1 & 0xFFFF
        self.seq[(probe.source, family)] = seq
        self.waiting[(probe.source, family, seq)] = probe
        probe.sent[seq] = time.monotonic()
        try:
            sock.sendto(echo_request(family, ident, seq), (probe.address, 0))
        except BlockingIOError:
            pass  # the next resend tries again
        except OSError as exc:
            self._finish(probe, "unreachable", error=_os_reason(exc))
            return
        resend = probe.sent[seq] + RESEND_SECONDS
        if resend < probe.deadline:
            heapq.heappush(self.timers, (resend, -1, index))

    def _start_tcp(self) -> None:
        while self.tcp_queue and self.tcp_in_flight < MAX_TCP_IN_FLIGHT:
            index = self.tcp_queue.pop()
            probe = self.probes[index]
            family = socket.AF_INET if self._family(probe) == 4 else socket.AF_INET6
            with self.joiner.inside(probe.source):
                sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setblocking(False)
            probe.sent[0] = time.monotonic()
            code = sock.connect_ex((probe.address, probe.port))
            if code not in (0, errno.EINPROGRESS):
                sock.close()
                self._finish(probe, "unreachable", error=_os_reason(OSError(code, os.strerror(code))))
                continue
            self.tcp_in_flight += 1
            probe.tcp = sock
            self.selector.register(sock, selectors.EVENT_WRITE, ("tcp", index))

    def _loop(self) -> None:
        while self.open:
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _when, order, index = heapq.heappop(self.timers)
                probe = self.probes[index]
                if probe.result is not None:
                    continue
                if order == -1:
                    self._send_echo(index)
                elif now >= probe.deadline:
                    self._finish(probe, "unreachable", error=f"no answer within {probe.timeout:g} s")
            if not self.open:
                break
            wait = max(0.0, self.timers[0][0] - time.monotonic()) if self.timers else 0.1
            for key, _events in self.selector.select(wait):
                if key.data[0] == "icmp":
                    self._receive(key.fileobj, key.data[1], key.data[2])
                else:
                    self._connected(key.data[1])

    def _receive(self, sock: socket.socket, source: str | None, family: int) -> None:
        ident = self.icmp[(source, family)][1]
        while True:
            try:
                packet, sender = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            now = time.monotonic()
            parsed = parse_icmp(family, packet)
            if parsed is None or parsed[1] != ident:
                continue
            kind, _ident, seq, reason = parsed
            probe = self.waiting.get((source, family, seq))
            if probe is None or probe.result is not None:
                continue
            if kind == "reply":
                if ipaddress.ip_address(sender[0]) != ipaddress.ip_address(probe.address):
                    continue
                self._finish(probe, "reachable", rtt=now - probe.sent[seq])
            else:
                self._finish(probe, "unreachable", error=f"{reason} from {sender[0]}")

    def _connected(self, index: int) -> None:
        probe = self.probes[index]
        sock = probe.tcp
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code == 0:
            self._finish(probe, "reachable", rtt=time.monotonic() - probe.sent[0])
        else:
            self._finish(probe, "unreachable", error=_os_reason(OSError(code, os.strerror(code))))

    def _finish(self, probe: Probe, result: str, rtt: float | None = None, error: str | None = None) -> None:
        probe.result, probe.error = result, error
        probe.rtt_ms = None if rtt is None else round(rtt * 1000, 3)
        self.open -= 1
        sock = probe.tcp
        if sock is not None:
            self.selector.unregister(sock)
            sock.close()
            probe.tcp = None
            self.tcp_in_flight -= 1
            self._start_tcp()


def _os_reason(exc: OSError) -> str:
    reasons = {
        errno.ECONNREFUSED: "connection refused",
        errno.EHOSTUNREACH: "no route to host",
        errno.ENETUNREACH: "network unreachable",
        errno.ETIMEDOUT: "timed out",
        errno.EACCES: "refused by the local firewall or a broadcast address",
        errno.EPERM: "refused by the local firewall",
    }
    return reasons.get(exc.errno, os.strerror(exc.errno) if exc.errno else str(exc))


def reach(session: Session, params: dict) -> dict:
    """Validate, resolve, probe; the module's result, or NetnsCoreError listing the probes that differ."""
    probes, matrix = build_probes(params)
    if not probes and not matrix:
        raise NetnsCoreError("give probes, a matrix, or both")
    check_namespaces(probes, matrix)
    started = time.monotonic()
    probes += matrix_probes(session, matrix, positive_timeout(params.get("timeout"), "timeout", 2.0))
    resolve_all(probes)
    Runner(probes).run()
    seconds = round(time.monotonic() - started, 3)
    differ = [probe for probe in probes if probe.result != probe.expect]
    reports = [probe.report() for probe in probes]
    summary = {
        "probes": len(probes),
        "as_expected": len(probes) - len(differ),
        "differ": len(differ),
        "seconds": seconds,
    }
    if differ:
        listed = "; ".join(probe.line() for probe in differ[:MAX_LISTED])
        more = (
            f"; and {len(differ) - MAX_LISTED} more (see probes[] with as_expected false)"
            if len(differ) > MAX_LISTED
            else ""
        )
        raise NetnsCoreError(
            f"{len(differ)} of {len(probes)} probes differ from what was expected: {listed}{more}",
            probes=reports,
            summary=summary,
        )
    return {"changed": False, "probes": reports, "summary": summary}
