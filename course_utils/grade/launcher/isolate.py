"""The Linux calls a warm kernel uses to shut itself in: namespaces, mounts, capabilities.

Python 3.11 has no ``os.unshare`` and no ``mount``; these are thin ``ctypes`` wrappers around
libc, each raising ``OSError`` on failure so that a child whose isolation fails never runs
student code (``fork_server`` ends it). Nothing here is specific to the course.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import platform
import socket
import struct

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
KEYCTL_JOIN_SESSION_KEYRING = 1
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219, "arm64": 219}.get(platform.machine(), 250)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 16384, 1 << 18, 1 << 21, 1 << 24
MNT_DETACH = 2
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41}.get(platform.machine(), 155)
_CAPABILITY_VERSION_3 = 0x20080522
# statvfs's flag bits, and the mount flag each stands for (a remount must keep locked ones)
_KEPT_FLAGS = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
               (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME),
               (os.ST_RELATIME, MS_RELATIME))

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def map_user(uid: int, gid: int) -> None:
    """In a user namespace this process just made: the IDs it had outside map to themselves
    (one ID each, the only mapping a process may write for itself; ``setgroups`` denied
    first, as Linux requires for the group map)."""
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)


def forbid_user_namespaces(proc: str = "/proc") -> None:
    """No user namespace can be made below the current one from now on: its own limit set to
    0 (the limits of /proc/sys/user are per user namespace, and a process without
    CAP_SYS_RESOURCE in it cannot raise the limit again). bwrap's ``--disable-userns``."""
    with open(f"{proc}/sys/user/max_user_namespaces", "w") as handle:
        handle.write("0")


def new_session_keyring() -> None:
    """Join a new, empty session keyring: none inherited from the process this was forked from."""
    result = _libc.syscall(SYS_KEYCTL, KEYCTL_JOIN_SESSION_KEYRING, None)
    if result < 0:
        number = ctypes.get_errno()
        raise OSError(number, f"keyctl(JOIN_SESSION_KEYRING): {os.strerror(number)}")


def mount(source: str | None, target: str, fstype: str | None = None, flags: int = 0,
          data: str | None = None) -> None:
    enc = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {source} on {target}")


def umount(target: str) -> None:
    _check(_libc.umount2(os.fsencode(target), MNT_DETACH), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_libc.syscall(SYS_PIVOT_ROOT, os.fsencode(new_root), os.fsencode(put_old)),
           "pivot_root")


def remount_read_only(path: str) -> None:
    """Make the mount at ``path`` read-only, keeping the flags it has (a mount inherited from a
    more privileged namespace has them locked: a remount without them fails)."""
    have = os.statvfs(path).f_flag
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY
    for bit, flag in _KEPT_FLAGS:
        if have & bit:
            flags |= flag
    mount(None, path, None, flags)


def prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl({option})")


def drop_capabilities() -> None:
    """No capability now or after any exec: the bounding and ambient sets emptied, then the
    effective, permitted and inheritable sets; and no way to gain privileges (setuid files,
    file capabilities) from here on."""
    with open("/proc/sys/kernel/cap_last_cap") as handle:
        last = int(handle.read())
    for cap in range(last + 1):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError as error:
            if error.errno != errno.EINVAL:
                raise
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = struct.pack("Ii", _CAPABILITY_VERSION_3, 0)
    data = ctypes.create_string_buffer(bytes(24))   # two zeroed {effective, permitted, inheritable}
    _check(_libc.capset(ctypes.c_char_p(header), data), "capset")
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def capabilities() -> dict:
    """The capability sets of this process, as /proc says (hex strings)."""
    with open("/proc/self/status") as handle:
        lines = dict(line.split(":", 1) for line in handle if line.startswith("Cap"))
    return {key: value.strip() for key, value in lines.items()}


def loopback_up() -> None:
    """Bring ``lo`` up in a new network namespace (bwrap does the same): the kernel may talk
    to itself over 127.0.0.1, and to nothing else."""
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def die_with_parent(signum: int) -> None:
    prctl(PR_SET_PDEATHSIG, signum)
