# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The /run/netns directory, as files: a name's path, whether a namespace is mounted there, what else is there.

Pure standard library (no pyroute2), so the controller's connection plugin uses it too. Nothing here opens a
name: a symlink, FIFO or directory under /run/netns is reported, never followed (opening a FIFO blocks).
"""

from __future__ import annotations

import os
import stat

from ansible_collections.netns.core.plugins.module_utils._constants import NETNS_RUN_DIR


def netns_path(name: str) -> str:
    return os.path.join(NETNS_RUN_DIR, name)


def netns_status(name: str) -> str:
    """'present', 'absent', 'stale' (a file under /run/netns with no namespace mounted on it), or 'foreign'
    (a symlink, directory, FIFO or anything else that is not a namespace file: never opened, never touched)."""
    path = netns_path(name)
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "absent"
    if not stat.S_ISREG(st.st_mode):
        return "foreign"
    # A live name is an nsfs bind mount: its device differs from the directory's.
    return "present" if st.st_dev != os.stat(NETNS_RUN_DIR).st_dev else "stale"


FILE_KINDS = (
    (stat.S_ISLNK, "symbolic link"),
    (stat.S_ISDIR, "directory"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


def file_kind(path: str) -> str:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "missing"
    return next((what for test, what in FILE_KINDS if test(mode)), "regular file")


def list_netns() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_RUN_DIR))
    except (FileNotFoundError, NotADirectoryError):
        return []
