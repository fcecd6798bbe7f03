"""Finding provider returns on the shared drive, and copying them to the landing area.

The shared drive is only ever read. A file is a candidate when it looks like a return (``.xlsx``,
``.xlsm``, ``.xls``, ``.csv``) and is not a lock, temporary or hidden file; it is *ready* once its
size and modification time have stood still for the settle time (a provider may still be saving it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RETURN_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")
_CHUNK = 1 << 20
#: What a link on the share is told: it is never followed, so nothing outside the share is ever read.
SYMLINK_REASON = ("a symbolic link: refused and not followed (only regular files inside the shared drive are read; "
                  "save the return itself on the share)")


class UnsafeFileError(OSError):
    """A file on the shared drive that must not be read: a link, or not a regular file."""


@dataclass(frozen=True)
class Candidate:
    """A file on the shared drive that may be a return: found by the scan, taken by the process step."""

    path: Path          # absolute path on the shared drive
    relative: str       # path relative to the shared-drive root (how people name it)
    size: int
    mtime: float        # seconds since the epoch

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "relative": self.relative, "size": self.size, "mtime": self.mtime}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        return cls(Path(data["path"]), data["relative"], int(data["size"]), float(data["mtime"]))


@dataclass(frozen=True)
class Discovery:
    ready: list[Candidate]
    settling: list[Candidate]
    ignored: list[tuple[str, str]]  # (relative path, why)


def ignore_reason(relative: Path) -> str | None:
    """Why a file is not a return to read, or None when it may be one."""
    for part in relative.parts[:-1]:
        if part.startswith("."):
            return "inside a hidden folder"
    name = relative.name
    if name.startswith("~$"):
        return "Office lock file (the workbook is open somewhere)"
    if name.startswith("."):
        return "hidden file"
    lowered = name.lower()
    if lowered.endswith((".tmp", ".part", ".crdownload", "~")):
        return "temporary file (still being written)"
    if not lowered.endswith(RETURN_SUFFIXES):
        return f"not a return file type ({', '.join(RETURN_SUFFIXES)})"
    return None


def discover(root: Path, settle_seconds: float, now: float | None = None) -> Discovery:
    """Walk ``root`` recursively; sort files into ready, still settling, and ignored."""
    if not root.is_dir():
        raise FileNotFoundError(f"shared drive {root} does not exist or is not a folder (config returns.shared_drive)")
    now = time.time() if now is None else now
    ready: list[Candidate] = []
    settling: list[Candidate] = []
    ignored: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):   # never descends into a linked folder
        for name in [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            ignored.append((str((Path(dirpath) / name).relative_to(root)), SYMLINK_REASON))
            dirnames.remove(name)
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            relative = path.relative_to(root)
            reason = ignore_reason(relative)
            if reason:
                ignored.append((str(relative), reason))
                continue
            try:
                st = path.lstat()   # the entry itself: a link is not followed, not even to look at its size
            except FileNotFoundError:   # removed while we looked
                continue
            if stat.S_ISLNK(st.st_mode):
                ignored.append((str(relative), SYMLINK_REASON))
                continue
            if not stat.S_ISREG(st.st_mode):
                ignored.append((str(relative), "not a regular file (a device, socket or pipe): refused"))
                continue
            candidate = Candidate(path, str(relative), st.st_size, st.st_mtime)
            if now - st.st_mtime < settle_seconds or st.st_size == 0:
                settling.append(candidate)
            else:
                ready.append(candidate)
    ready.sort(key=lambda c: (c.mtime, c.relative))
    return Discovery(ready, settling, ignored)


def land(candidate: Candidate, landing_root: Path) -> tuple[Path, str] | None:
    """Copy a ready file to ``landing_root/<sha16>/<name>`` hashing as it goes; (landing path, sha256).

    Returns None when the file changed while being copied (it is still being written): it is left
    for the next run. The shared-drive file is never modified.
    """
    landing_root.mkdir(parents=True, exist_ok=True)
    try:   # O_NOFOLLOW: a file swapped for a link after the scan is refused, not followed out of the share
        fd = os.open(candidate.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if candidate.path.is_symlink():
            raise UnsafeFileError(f"{candidate.relative}: {SYMLINK_REASON}") from None
        raise exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafeFileError(f"{candidate.relative}: not a regular file: refused without reading it")
    tmp = landing_root / f".incoming-{os.getpid()}-{candidate.path.name}"
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as src, tmp.open("wb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
    st = os.stat(candidate.path, follow_symlinks=False)
    if st.st_size != candidate.size or st.st_mtime != candidate.mtime:
        tmp.unlink(missing_ok=True)
        log.info("%s changed while being copied; left for the next run", candidate.relative)
        return None
    sha = digest.hexdigest()
    final_dir = landing_root / sha[:16]
    final_dir.mkdir(parents=True, exist_ok=True)
    final = final_dir / candidate.path.name
    if final.exists():
        tmp.unlink()
    else:
        shutil.move(tmp, final)
        os.utime(final, (candidate.mtime, candidate.mtime))
    return final, sha
