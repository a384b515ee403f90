# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The run of one module: capabilities first, the host lock, one netlink session, exit_json / fail_json once."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator

from ansible_collections.netns.core.plugins.module_utils._constants import NETNS_RUN_DIR
from ansible_collections.netns.core.plugins.module_utils._deps import HAS_PYROUTE2, PYROUTE2_IMPORT_ERROR
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._netlink import (
    Session,
    env_seconds,
    file_kind,
    lock_holder,
)

LOCK_WAIT_SECONDS = 300


@contextlib.contextmanager
def host_lock(wait: float | None = None, create: bool = True) -> Iterator[None]:
    """One netns.core task at a time per host: an exclusive flock on the /run/netns directory (created as
    `ip netns add` does), held from the first read to the last change. Two playbooks at once, or a re-run while
    the module of a killed ansible-playbook still finishes (Ansible's workers run in their own session, so they
    outlive a SIGKILL of ansible-playbook), then never plan from a state the other is changing. The lock dies
    with its holder; nothing is left on disk. create=False (check mode, facts): a missing /run/netns is not
    made; there is then nothing to lock (no named namespace exists)."""
    if os.path.lexists(NETNS_RUN_DIR) and not os.path.isdir(NETNS_RUN_DIR) or os.path.islink(NETNS_RUN_DIR):
        raise NetnsCoreError(
            f"{NETNS_RUN_DIR} is a {file_kind(NETNS_RUN_DIR)}, not a directory: named network namespaces live "
            "there (ip netns and netns.core); move it away; nothing was changed"
        )
    if not os.path.isdir(NETNS_RUN_DIR):
        if not create:
            yield
            return
        os.makedirs(NETNS_RUN_DIR, mode=0o755, exist_ok=True)
    if wait is None:
        wait = env_seconds("NETNS_CORE_LOCK_WAIT", LOCK_WAIT_SECONDS)
    fd = os.open(NETNS_RUN_DIR, os.O_RDONLY | os.O_DIRECTORY)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise NetnsCoreError(
                        f"another netns.core task ({lock_holder(NETNS_RUN_DIR)}) has held the lock on "
                        f"{NETNS_RUN_DIR} for {wait:.0f} s; nothing was changed"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


# Capabilities every task needs: netlink changes and iptables (CAP_NET_ADMIN), joining and mounting namespaces
# (CAP_SYS_ADMIN). Reads need them too: iptables will not even list rules without CAP_NET_ADMIN.
NEEDED_CAPABILITIES = {"CAP_NET_ADMIN": 12, "CAP_SYS_ADMIN": 21}


def missing_capabilities(status: str | None = None) -> list[str]:
    """The needed capabilities this process's effective set lacks (from /proc/self/status, or `status`)."""
    if status is None:
        try:
            with open("/proc/self/status", encoding="ascii") as handle:
                status = handle.read()
        except OSError:
            return []  # no /proc: let the kernel say what it refuses
    for line in status.splitlines():
        if line.startswith("CapEff:"):
            effective = int(line.split()[1], 16)
            return [name for name, bit in NEEDED_CAPABILITIES.items() if not effective >> bit & 1]
    return []


def run_module(module, work, read_only: bool = False) -> None:
    """Open one netlink session, run `work(session) -> result`, and end the module exactly once. A check run or a
    read-only module (read_only) creates nothing, /run/netns included."""
    missing = missing_capabilities()
    if missing:
        module.fail_json(
            msg=f"{module._name} needs root: this process (uid {os.geteuid()}) lacks {' and '.join(missing)}."
            " Run the task as root (become: true), or give it CAP_NET_ADMIN and CAP_SYS_ADMIN; nothing was changed"
        )
    if not HAS_PYROUTE2:
        from ansible.module_utils.basic import missing_required_lib

        module.fail_json(msg=missing_required_lib("pyroute2"), exception=PYROUTE2_IMPORT_ERROR)
    error: NetnsCoreError | None = None
    try:
        with host_lock(create=not (read_only or module.check_mode)):
            session = Session()
            try:
                result = work(session)
            finally:
                session.close()
    except NetnsCoreError as exc:
        error = exc
    if error is not None:
        # outside the except block, so Ansible does not attach a traceback to a message meant for people
        module.fail_json(msg=error.msg, **{k: v for k, v in error.details.items() if k not in ("errno", "reason")})
    if not module._diff:
        # before/after of every object is read either way (the verification needs it); it goes back only when
        # asked for: of a 100-container network it is 0.5 MB the module scrubs for no_log values and the
        # controller decodes, on every run, to show nobody
        result.pop("diff", None)
    module.exit_json(**result)
