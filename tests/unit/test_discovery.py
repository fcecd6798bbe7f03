"""Shared-drive discovery: what is ignored, what waits to settle, and landing copies."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from public_health.returns.discovery import Candidate, UnsafeFileError, discover, land


def _touch(path, content=b"x", age=3600.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    t = time.time() - age
    os.utime(path, (t, t))
    return path


def test_ignores_lock_temp_hidden_and_other_files(tmp_path):
    _touch(tmp_path / "Trust" / "ht" / "healthy_together_2017-18-Q2.xlsx")
    _touch(tmp_path / "Trust" / "ht" / "~$healthy_together_2017-18-Q2.xlsx")
    _touch(tmp_path / "Trust" / "ht" / "E54A9C10.tmp")
    _touch(tmp_path / "Trust" / ".DS_Store")
    _touch(tmp_path / ".snapshot" / "old.xlsx")
    _touch(tmp_path / "notes.docx")
    _touch(tmp_path / "export.csv")
    found = discover(tmp_path, settle_seconds=60)
    assert sorted(c.relative for c in found.ready) == ["Trust/ht/healthy_together_2017-18-Q2.xlsx", "export.csv"]
    reasons = dict(found.ignored)
    assert "lock file" in reasons["Trust/ht/~$healthy_together_2017-18-Q2.xlsx"]
    assert "temporary" in reasons["Trust/ht/E54A9C10.tmp"]
    assert "hidden" in reasons["Trust/.DS_Store"]
    assert "hidden folder" in reasons[".snapshot/old.xlsx"]
    assert "not a return file type" in reasons["notes.docx"]


def test_recently_changed_and_empty_files_wait(tmp_path):
    _touch(tmp_path / "settled.xlsx", age=600)
    _touch(tmp_path / "saving.xlsx", age=5)
    _touch(tmp_path / "empty.xlsx", content=b"", age=600)
    found = discover(tmp_path, settle_seconds=120)
    assert [c.relative for c in found.ready] == ["settled.xlsx"]
    assert sorted(c.relative for c in found.settling) == ["empty.xlsx", "saving.xlsx"]


def test_ready_files_come_oldest_first(tmp_path):
    _touch(tmp_path / "b_v2.xlsx", age=100)
    _touch(tmp_path / "a_v1.xlsx", age=500)
    assert [c.relative for c in discover(tmp_path, 10).ready] == ["a_v1.xlsx", "b_v2.xlsx"]


def test_missing_root_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="returns.shared_drive"):
        discover(tmp_path / "nowhere", 10)


def test_land_copies_by_content_and_never_touches_the_source(tmp_path):
    src = _touch(tmp_path / "drive" / "r.xlsx", content=b"return bytes")
    before = (src.stat().st_mtime, src.read_bytes())
    st = src.stat()
    landed, sha = land(Candidate(src, "r.xlsx", st.st_size, st.st_mtime), tmp_path / "landing")
    assert sha == hashlib.sha256(b"return bytes").hexdigest()
    assert landed == tmp_path / "landing" / sha[:16] / "r.xlsx" and landed.read_bytes() == b"return bytes"
    assert (src.stat().st_mtime, src.read_bytes()) == before


def test_land_refuses_a_file_that_changed_since_it_was_seen(tmp_path):
    src = _touch(tmp_path / "drive" / "r.xlsx", content=b"first")
    st = src.stat()
    stale = Candidate(src, "r.xlsx", st.st_size, st.st_mtime - 10)   # what the scan saw earlier
    assert land(stale, tmp_path / "landing") is None
    assert not any(p.suffix == ".xlsx" for p in (tmp_path / "landing").rglob("*"))


# Issue 14: the shared drive is untrusted input. A link named like a return and pointing out of the share was
# followed: the whole file was copied into landing and quarantine and its first line shown to analysts.

SECRET = b"root:x:0:0:root:/root:/bin/bash\n"


def _outside(tmp_path):
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(SECRET)
    elsewhere = tmp_path / "outside" / "folder"
    _touch(elsewhere / "smoking_cessation_2017-18-Q1.xlsx", content=SECRET)
    return secret, elsewhere


def test_a_link_out_of_the_share_is_refused_and_never_followed(tmp_path):
    drive = tmp_path / "drive"
    real = _touch(drive / "Leicester City" / "smoking_cessation" / "smoking_cessation_2017-18-Q2.xlsx")
    secret, elsewhere = _outside(tmp_path)
    link = drive / "Leicester City" / "smoking_cessation" / "smoking_cessation_2017-18-Q3.xlsx"
    link.symlink_to(secret)
    (drive / "Leicester City" / "linked").symlink_to(elsewhere, target_is_directory=True)
    found = discover(drive, settle_seconds=60)
    assert [c.path for c in found.ready] == [real]
    ignored = dict(found.ignored)
    assert "symbolic link" in ignored["Leicester City/smoking_cessation/smoking_cessation_2017-18-Q3.xlsx"]
    assert "symbolic link" in ignored["Leicester City/linked"]
    assert not any("smoking_cessation_2017-18-Q1" in rel for rel, _ in found.ignored + [(c.relative, "") for c in
                                                                                         found.ready + found.settling])


def test_land_refuses_a_file_swapped_for_a_link_after_the_scan(tmp_path):
    drive = tmp_path / "drive"
    src = _touch(drive / "r.xlsx", content=b"return bytes")
    st = src.stat()
    candidate = Candidate(src, "r.xlsx", st.st_size, st.st_mtime)
    secret, _ = _outside(tmp_path)
    src.unlink()
    src.symlink_to(secret)   # swapped between the scan and the copy
    with pytest.raises(UnsafeFileError, match="r.xlsx: a symbolic link: refused and not followed"):
        land(candidate, tmp_path / "landing")
    landed = [p.read_bytes() for p in (tmp_path / "landing").rglob("*") if p.is_file()]
    assert SECRET not in landed and not any(SECRET in b for b in landed)


def test_land_refuses_what_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "drive" / "r.csv"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    found = discover(tmp_path / "drive", settle_seconds=0, now=time.time() + 3600)
    assert found.ready == [] and "not a regular file" in dict(found.ignored)["r.csv"]
    with pytest.raises(UnsafeFileError, match="not a regular file"):
        land(Candidate(fifo, "r.csv", 0, 0.0), tmp_path / "landing")
