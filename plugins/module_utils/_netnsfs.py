# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The /run/netns directory, as files: a name's path, whether a namespace is mounted there, what else is there.
And /etc/netns/NAME, the files `ip netns exec NAME` bind-mounts over /etc: read, written atomically, removed.

Every change under /etc/netns is atomic, so a run killed at any moment leaves either the old state or the new one
plus, at most, one work-in-progress entry in /etc/netns itself named .netns-core-PID-... (PID: the writer's
process), which a later run removes once that process is gone (`leftover_pid`, `remove_leftover`):
- a file is written as such a temporary file, then renamed over its path;
- a directory is made as such a temporary directory holding its files, then renamed to its path (so a directory
  of ours is never seen without the files that say it is ours);
- a directory is removed by renaming it to such a name first, then emptying and removing it.

Pure standard library (no pyroute2), so the controller's connection plugin uses it too. Nothing here opens a
name: a symlink, FIFO or directory under /run/netns is reported, never followed (opening a FIFO blocks). Under
/etc/netns only regular files are read, never through a symlink, and nothing is written or removed outside it.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile

from ansible_collections.netns.core.plugins.module_utils._constants import (
    NETNS_ETC_DIR,
    NETNS_ETC_STAGE_PREFIX,
    NETNS_RUN_DIR,
)


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


def _stage_prefix() -> str:
    return f"{NETNS_ETC_STAGE_PREFIX}{os.getpid()}-"


def _write(fd: int, content: str) -> None:
    with os.fdopen(fd, "wb") as handle:
        handle.write(content.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
        os.fchmod(handle.fileno(), 0o644)


def make_directory(path: str, files: dict[str, str]) -> None:
    """Make /etc/netns/NAME (0755) holding `files` (name -> content, 0644) at once: a temporary directory in
    /etc/netns, filled, then renamed to `path`. /etc/netns itself is made if missing (like /run/netns, it is
    never removed)."""
    _inside_etc(path)
    os.makedirs(NETNS_ETC_DIR, mode=0o755, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=_stage_prefix(), dir=NETNS_ETC_DIR)
    try:
        for name, content in files.items():
            _write(os.open(os.path.join(temporary, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), content)
        os.chmod(temporary, 0o755)  # whatever the umask
        if os.path.lexists(path):  # rename() would replace an empty directory somebody made meanwhile
            raise FileExistsError(errno.EEXIST, "made by somebody else meanwhile", path)
        os.rename(temporary, path)
    except BaseException:
        _remove_staged(temporary, list(files))
        raise


def write_file(path: str, content: str) -> None:
    """Replace `path` atomically: a temporary file in /etc/netns (not in /etc/netns/NAME, whose every entry
    `ip netns exec` would try to bind over /etc), written, synced, mode 0644, then renamed over `path`."""
    _inside_etc(path)
    fd, temporary = tempfile.mkstemp(prefix=_stage_prefix(), dir=NETNS_ETC_DIR)
    try:
        _write(fd, content)
        os.rename(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def remove_file(path: str) -> None:
    os.unlink(_inside_etc(path))


def remove_directory(path: str, files: list[str]) -> None:
    """Remove /etc/netns/NAME and `files` in it at once: renamed out of the way first (from then on `ip netns
    exec` binds nothing of it), then emptied and removed. Anything else found in it puts it back, untouched but
    for `files`, and raises."""
    _inside_etc(path)
    temporary = tempfile.mkdtemp(prefix=_stage_prefix(), dir=NETNS_ETC_DIR)
    try:
        os.rename(path, temporary)  # over the empty directory just made: the name is ours, nobody else's
    except BaseException:
        os.rmdir(temporary)
        raise
    try:
        _remove_staged(temporary, files)
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
        os.rename(temporary, path)
        raise OSError(exc.errno, f"{path} holds files netns.core did not write: left as it is") from None


def _remove_staged(directory: str, files: list[str]) -> None:
    for name in files:
        try:
            os.unlink(os.path.join(directory, name))
        except FileNotFoundError:
            pass
    os.rmdir(directory)


# -- work in progress a crash left behind ------------------------------------------------------------------------
def leftover_pid(name: str) -> int | None:
    """The pid of the process whose work in progress the entry `name` of /etc/netns is, if that process is gone
    (then the entry is a crash's leftover); None for any other entry (not ours, or its writer still runs)."""
    if not name.startswith(NETNS_ETC_STAGE_PREFIX):
        return None
    pid, dash, _rest = name[len(NETNS_ETC_STAGE_PREFIX) :].partition("-")
    if not dash or not pid.isdigit() or not pid.isascii():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return int(pid)
    except (PermissionError, OverflowError):
        return None
    # a killed writer nobody has reaped yet (its parent died with it; not every init reaps) is a zombie
    return int(pid) if process_state(int(pid)) in ("Z", "X") else None


def process_state(pid: int) -> str:
    """The state letter /proc/PID/stat gives (R, S, D, Z, ...); X for no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0].decode("ascii")
    except (OSError, IndexError, UnicodeDecodeError):
        return "X"


def remove_leftover(path: str, files: list[str] | None) -> None:
    """Remove a crash's leftover: a temporary file (files None), or a temporary directory with `files` of ours in
    it (a directory holding anything else stays: OSError)."""
    parent, name = os.path.split(_inside_etc(path))
    if parent != NETNS_ETC_DIR or not name.startswith(NETNS_ETC_STAGE_PREFIX):
        raise ValueError(f"internal error: {path!r} is not work in progress of netns.core")
    if files is None:
        os.unlink(path)
    else:
        _remove_staged(path, files)
