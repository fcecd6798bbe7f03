"""Shared-drive discovery: what is ignored, what waits to settle, and landing copies."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from public_health.returns.discovery import Candidate, discover, land


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
