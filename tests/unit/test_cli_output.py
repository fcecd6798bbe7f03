"""Issue 12: `make demo` prints what a person needs; library output, warnings and the tracebacks of expected
failures go to the run's log file, not the terminal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging, os, sys, warnings
from pathlib import Path
from public_health import cli

cli.say("before")
path = cli.log_to_file(Path(sys.argv[1]))
cli.say("for the person")
print("library chatter")
logging.getLogger("weasyprint").warning("Ignored `fill: #ffffff` at 1:1, unknown property.")
warnings.warn("something deprecated", DeprecationWarning)
os.write(2, b"a C library writing to fd 2\\n")
try:
    raise RuntimeError("expected quarantine")
except RuntimeError:
    logging.getLogger("task").exception("Task failed with exception")
cli.say(cli.one_line("  quarantined (as intended): " + "x " * 200, "/data/quarantine/abc/report.md"))
"""


def test_demo_output_goes_to_the_terminal_and_the_rest_to_the_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "demo.log"
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-c", "import logging; logging.basicConfig(level=logging.WARNING)\n" + SCRIPT,
         str(log)],
        capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT / "plugins"), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["before", "for the person"]
    assert len(lines) == 3 and lines[2].startswith("  quarantined (as intended): x x")
    assert lines[2].endswith("… (report: /data/quarantine/abc/report.md)") and len(lines[2]) < 220
    assert proc.stderr == ""
    text = log.read_text()
    for noise in ("library chatter", "Ignored `fill", "something deprecated", "a C library", "Traceback",
                  "RuntimeError: expected quarantine"):
        assert noise in text, noise
    assert "for the person" not in text
