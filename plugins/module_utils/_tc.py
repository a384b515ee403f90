# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""Traffic control for netns.core.netem: the root qdisc of one link, over pyroute2's tc support (no `tc` command).

Our qdisc is recognisable by its handle, 4e53: ("NS"), at the root of the link: a root qdisc with that handle and
the kind tbf or netem is ours. A root qdisc with handle 0 is the kernel's default (noqueue, pfifo_fast, mq,
fq_codel, ...), which ours replaces and which comes back when ours is deleted. Any other root qdisc was made by
someone else: netns.core refuses to replace it and never deletes it.

The impairments of a link, in the form users write them (`spec`):
  delay, jitter      microseconds (int)
  loss, duplicate, corrupt, reorder   percent (float)
  rate               bytes per second (int)
A rate alone is shaped with tbf (built into most kernels); anything else uses netem (with the rate, if any, as
netem's own rate). What the kernel holds (`kernel form`) is compared instead: psched ticks for times, the u32 of a
probability, and tbf's rate, buffer (ticks) and limit (bytes).
"""

from __future__ import annotations

import ctypes
import errno
import os
import re

from ansible_collections.netns.core.plugins.module_utils._constants import TC_H_ROOT, TC_HANDLE
from ansible_collections.netns.core.plugins.module_utils._deps import NetlinkError, iproute_class, pyroute2_netns
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError

HANDLE = TC_HANDLE
HANDLE_TEXT = "4e53:"
OURS = ("netem", "tbf")
NETEM_OPTIONS = ("delay", "jitter", "loss", "duplicate", "corrupt", "reorder")
OPTIONS = NETEM_OPTIONS + ("rate",)
PERCENT_OPTIONS = ("loss", "duplicate", "corrupt", "reorder")
NETEM_LIMIT = 1000  # packets netem queues (tc-netem's default)
TBF_LATENCY_US = 50_000  # how long a packet may wait in tbf's queue
TBF_MIN_BURST = 65_536 + 14  # a whole 64 KiB packet fits the bucket, whatever the MTU
MAX_TIME_US = 100_000_000  # 100 s: netem's u32 tick fields hold up to ~274 s
MAX_RATE = 2**32 - 1  # bytes/s (34 gbit): beyond, the kernel needs 64-bit rate attributes
U32 = 2**32 - 1
CLONE_NEWNET = 0x40000000

TIME_UNITS = {"s": 1_000_000, "sec": 1_000_000, "secs": 1_000_000, "ms": 1000, "msec": 1000, "msecs": 1000}
TIME_UNITS.update({"us": 1, "usec": 1, "usecs": 1})
RATE_UNITS = {  # bits per second, as tc(8) spells them
    "bit": 1,
    "kbit": 1000,
    "mbit": 1000**2,
    "gbit": 1000**3,
    "kibit": 1024,
    "mibit": 1024**2,
    "gibit": 1024**3,
    "bps": 8,
    "kbps": 8000,
    "mbps": 8 * 1000**2,
    "gbps": 8 * 1000**3,
}
NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z%]*)\s*$")


class TcError(ValueError):
    """An impairment value that cannot be understood."""


# -- the units people write ---------------------------------------------------------------------------------------
def _split(value: object, option: str) -> tuple[float, str]:
    match = NUMBER.match(str(value))
    if match is None:
        raise TcError(f"{option}: {value!r} is not a number with a unit")
    return float(match.group(1)), match.group(2).lower()


def parse_time(value: object, option: str) -> int:
    """'100ms', '2ms', '1.5s', '500us' (a bare number is milliseconds, as tc) -> microseconds."""
    number, unit = _split(value, option)
    if unit not in TIME_UNITS and unit != "":
        raise TcError(f"{option}: unknown time unit in {value!r}; use s, ms or us")
    micros = round(number * TIME_UNITS.get(unit, 1000))
    if not 0 < micros <= MAX_TIME_US:
        raise TcError(f"{option}: {value!r} must be more than 0 and at most 100s")
    return micros


def parse_percent(value: object, option: str) -> float:
    """'10%', '0.5%', '100%' (or a bare number of percent) -> percent."""
    number, unit = _split(value, option)
    if unit not in ("%", ""):
        raise TcError(f"{option}: {value!r} is not a percentage")
    if not 0 < number <= 100:
        raise TcError(f"{option}: {value!r} must be more than 0% and at most 100%")
    return number


def parse_rate(value: object, option: str) -> int:
    """'10mbit', '512kbit', '1gbit', '100kbps' (bytes) -> bytes per second."""
    number, unit = _split(value, option)
    if unit not in RATE_UNITS:
        raise TcError(f"{option}: unknown rate unit in {value!r}; use bit, kbit, mbit, gbit (or kbps, mbps: bytes)")
    rate = round(number * RATE_UNITS[unit] / 8)
    if not 1 <= rate <= MAX_RATE:
        raise TcError(f"{option}: {value!r} must be at least 8bit and at most 34gbit")
    return rate


def format_time(micros: int) -> str:
    for unit, size in (("s", 1_000_000), ("ms", 1000)):
        if micros % size == 0:
            return f"{micros // size}{unit}"
    return f"{micros}us"


def format_percent(fraction: int) -> str:
    return f"{round(fraction * 100 / U32, 4):g}%"


def format_rate(rate: int) -> str:
    bits = rate * 8
    for unit in ("gbit", "mbit", "kbit"):
        if bits % RATE_UNITS[unit] == 0:
            return f"{bits // RATE_UNITS[unit]}{unit}"
    return f"{bits}bit"


# -- the kernel's units -------------------------------------------------------------------------------------------
def _tick_in_usec() -> float:
    """psched ticks per microsecond, from /proc/net/psched (as tc and pyroute2 compute it): 15.625 on Linux."""
    try:
        with open("/proc/net/psched", encoding="ascii") as handle:
            t2us, us2t, clock_res, _wee = (int(word, 16) for word in handle.read().split())
        return t2us / us2t * (clock_res / 1_000_000)
    except (OSError, ValueError):
        return 15.625


TICKS_PER_US = _tick_in_usec()


def ticks(micros: int) -> int:
    return int(int(micros) * TICKS_PER_US)


def micros_of(tick_count: int) -> int:
    return round(tick_count / TICKS_PER_US)


def fraction(percent: float) -> int:
    """A probability as the kernel's u32 (pyroute2's percent2u32)."""
    return int(U32 * percent / 100)


def kind_of(spec: dict) -> str:
    return "netem" if any(spec.get(key) for key in NETEM_OPTIONS) else "tbf"


def tbf_burst(rate: int) -> int:
    """The bucket: 20 ms of the rate, and never less than a whole 64 KiB packet (a smaller bucket drops every packet
    larger than itself)."""
    return max(rate // 50, TBF_MIN_BURST)


def tbf_limit(rate: int) -> int:
    """The queue in bytes: the bucket and 50 ms of the rate (tc-tbf's `latency 50ms`)."""
    return tbf_burst(rate) + rate * TBF_LATENCY_US // 1_000_000


def kernel_form(spec: dict) -> dict:
    """What the kernel reports for the qdisc `spec` asks for (see the module docstring); the plans compare these."""
    rate = spec.get("rate") or 0
    if kind_of(spec) == "tbf":
        return {"rate": rate, "buffer": ticks(1_000_000 * tbf_burst(rate) / rate), "limit": tbf_limit(rate)}
    return {
        "delay": ticks(spec.get("delay") or 0),
        "jitter": ticks(spec.get("jitter") or 0),
        "loss": fraction(spec.get("loss") or 0),
        "duplicate": fraction(spec.get("duplicate") or 0),
        "corrupt": fraction(spec.get("corrupt") or 0),
        "reorder": fraction(spec.get("reorder") or 0),
        "gap": 1 if spec.get("reorder") else 0,
        "rate": rate,
        "limit": NETEM_LIMIT,
    }


def describe(kind: str | None, form: dict | None) -> dict:
    """The parameters of one of our qdiscs as people write them (for diff and results): qdisc, and each set option."""
    if kind not in OURS or form is None:
        return {"qdisc": kind}
    shown: dict = {"qdisc": kind}
    if kind == "tbf":
        rate = form.get("rate") or 0
        shown["rate"] = format_rate(rate)
        shown["burst"] = round(micros_of(form.get("buffer") or 0) * rate / 1_000_000)
        shown["limit"] = form.get("limit")
        return shown
    for key in ("delay", "jitter"):
        if form.get(key):
            shown[key] = format_time(micros_of(form[key]))
    for key in PERCENT_OPTIONS:
        if form.get(key):
            shown[key] = format_percent(form[key])
    if form.get("rate"):
        shown["rate"] = format_rate(form["rate"])
    return shown


# -- netlink ------------------------------------------------------------------------------------------------------
def tc_arguments(spec: dict) -> tuple[str, dict]:
    """(kind, keyword arguments of pyroute2's IPRoute.tc()) that make the qdisc `spec` asks for, as ours."""
    rate = spec.get("rate") or 0
    if kind_of(spec) == "tbf":
        return "tbf", {"rate": rate, "burst": tbf_burst(rate), "limit": tbf_limit(rate)}
    arguments: dict = {"limit": NETEM_LIMIT}
    for key in ("delay", "jitter"):
        if spec.get(key):
            arguments[key] = int(spec[key])  # pyroute2 takes microseconds and converts them to ticks
    names = {"loss": "loss", "duplicate": "duplicate", "corrupt": "prob_corrupt", "reorder": "prob_reorder"}
    for key, name in names.items():
        if spec.get(key):
            arguments[name] = spec[key]
    if rate:
        arguments["rate"] = rate
    return "netem", arguments


def parse_qdisc(msg) -> dict:
    """One RTM_NEWQDISC message -> {index, handle, parent, kind, form}; form (kernel form) for tbf and netem only."""
    kind = msg.get_attr("TCA_KIND")
    options = msg.get_attr("TCA_OPTIONS")
    form = None
    if kind == "tbf" and options is not None:
        parms = options.get_attr("TCA_TBF_PARMS") or {}
        form = {"rate": parms.get("rate", 0), "buffer": parms.get("buffer", 0), "limit": parms.get("limit", 0)}
    elif kind == "netem" and options is not None:
        reorder = options.get_attr("TCA_NETEM_REORDER") or {}
        corrupt = options.get_attr("TCA_NETEM_CORRUPT") or {}
        rate = options.get_attr("TCA_NETEM_RATE") or {}
        form = {
            "delay": options.get("delay", 0),
            "jitter": options.get("jitter", 0),
            "loss": options.get("loss", 0),
            "duplicate": options.get("duplicate", 0),
            "corrupt": corrupt.get("prob_corrupt", 0),
            "reorder": reorder.get("prob_reorder", 0),
            "gap": options.get("gap", 0),
            "rate": rate.get("rate", 0),
            "limit": options.get("limit", 0),
        }
    return {"index": msg["index"], "handle": msg["handle"], "parent": msg["parent"], "kind": kind, "form": form}


def handle_text(handle: int) -> str:
    major, minor = handle >> 16, handle & 0xFFFF
    return f"{major:x}:{minor:x}" if minor else f"{major:x}:"


def owner(root: dict | None) -> str:
    """'ours', 'default' (the kernel's, handle 0, or none at all) or 'foreign'."""
    if root is None or root["handle"] == 0:
        return "default"
    if root["handle"] == HANDLE and root["kind"] in OURS:
        return "ours"
    return "foreign"


def root_qdisc(ipr_strict, index: int) -> dict | None:
    """The root qdisc of one link (one strict dump filtered by the kernel to that link); None when the link has
    only the built-in noop (a link never brought up)."""
    for msg in ipr_strict.tc("dump", index=index):
        if msg["index"] == index and msg["parent"] == TC_H_ROOT:
            return parse_qdisc(msg)
    return None


def qdisc_kind_available(kind: str, home_fd: int) -> bool:
    """Whether this kernel knows qdisc `kind`, asked without touching any link anyone can see: in a private,
    throw-away network namespace (unshared by this thread, gone when the thread goes home), a root qdisc of that
    kind is added to that namespace's lo. The kernel answers ENOENT ("Specified qdisc kind is unknown") when it
    has no such qdisc (built in or loadable)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise NetnsCoreError(f"cannot make a private namespace to ask the kernel for {kind}: {os.strerror(code)}")
    try:
        probe = iproute_class()()
        try:
            arguments = tc_arguments({"delay": 1000} if kind == "netem" else {"rate": 125_000})[1]
            probe.tc("add", kind, index=1, handle=HANDLE, **arguments)
        except NetlinkError as exc:
            if exc.code == errno.ENOENT:
                return False
            raise NetnsCoreError(f"asking the kernel for the {kind} qdisc failed: {os.strerror(exc.code)}") from None
        finally:
            probe.close()
        return True
    finally:
        pyroute2_netns.setns(home_fd)


def parent_text(parent: int) -> str:
    if parent == TC_H_ROOT:
        return "root"
    if parent == 0xFFFFFFF1:
        return "ingress"  # TC_H_INGRESS (clsact too)
    return handle_text(parent)


def qdisc_facts(ipr) -> dict[int, list[dict]]:
    """Every qdisc of a namespace, by link index, for netns_info: kind, handle, parent, whether netns.core made it
    (ours: the root qdisc with handle 4e53:), and for ours the impairments as the netem module shows them."""
    facts: dict[int, list[dict]] = {}
    for msg in ipr.tc("dump"):
        qdisc = parse_qdisc(msg)
        ours = qdisc["parent"] == TC_H_ROOT and owner(qdisc) == "ours"
        entry = {
            "kind": qdisc["kind"],
            "handle": handle_text(qdisc["handle"]),
            "parent": parent_text(qdisc["parent"]),
            "netns_core": ours,
        }
        if ours:
            entry["parameters"] = describe(qdisc["kind"], qdisc["form"])
        facts.setdefault(qdisc["index"], []).append(entry)
    return facts
