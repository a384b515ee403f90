# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The /run/netns directory, as files: a name's path, whether a namespace is mounted there, what else is there.
And /etc/netns/NAME, the files `ip netns exec NAME` bind-mounts over /etc: read, written atomically, removed.

Pure standard library (no pyroute2), so the controller's connection plugin uses it too. Nothing here opens a
name: a symlink, FIFO or directory under /run/netns is reported, never followed (opening a FIFO blocks). Under
/etc/netns only regular files are read, never through a symlink, and nothing is written or removed outside it.
"""

from __future__ import annotations

import os
import stat
import tempfile

from ansible_collections.netns.core.plugins.module_utils._constants import NETNS_ETC_DIR, NETNS_RUN_DIR


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


# -- /etc/netns ---------------------------------------------------------------------------------------------------
def etc_path(name: str, filename: str | None = None) -> str:
    """/etc/netns/NAME, or /etc/netns/NAME/FILENAME."""
    path = os.path.join(NETNS_ETC_DIR, name)
    return path if filename is None else os.path.join(path, filename)


def _inside_etc(path: str) -> str:
    """Refuse (an internal error) any path that is not strictly below /etc/netns."""
    if os.path.normpath(path) != path or not path.startswith(NETNS_ETC_DIR + "/"):
        raise ValueError(f"internal error: {path!r} is not a path under {NETNS_ETC_DIR}")
    return path


def read_file(path: str) -> tuple[str, str | None]:
    """(kind, content): ('regular file', text) or (another kind as file_kind says it, None); 'missing' if none.
    Undecodable bytes read as U+FFFD (such a file is not one netns.core wrote)."""
    kind = file_kind(path)
    if kind != "regular file":
        return kind, None
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        return kind, handle.read().decode("utf-8", errors="replace")


def read_directory(path: str) -> tuple[str, list[str] | None]:
    """(kind, sorted entry names) for a directory; (another kind, None) otherwise; 'missing' if none."""
    kind = file_kind(path)
    if kind != "directory":
        return kind, None
    return kind, sorted(os.listdir(path))


def make_directory(path: str) -> None:
    """mkdir 0755 (and /etc/netns itself if missing: like /run/netns, it is never removed)."""
    _inside_etc(path)
    os.makedirs(NETNS_ETC_DIR, mode=0o755, exist_ok=True)
    os.mkdir(path, 0o755)
    os.chmod(path, 0o755)  # whatever the umask


def write_file(path: str, content: str) -> None:
    """Replace `path` atomically: a temporary file in /etc/netns (not in /etc/netns/NAME, whose every entry
    `ip netns exec` would try to bind over /etc), written, synced, mode 0644, then renamed over `path`."""
    _inside_etc(path)
    fd, temporary = tempfile.mkstemp(prefix=".netns-core-", dir=NETNS_ETC_DIR)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), 0o644)
        os.rename(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def remove_file(path: str) -> None:
    os.unlink(_inside_etc(path))


def remove_directory(path: str) -> None:
    """rmdir: only an empty directory goes."""
    os.rmdir(_inside_etc(path))
