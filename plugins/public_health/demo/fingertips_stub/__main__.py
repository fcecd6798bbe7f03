"""Serve the demo dataset until interrupted: ``python -m public_health.demo.fingertips_stub --port 8999``.

``--national`` serves the whole PHOF profile at national volume instead (``national.py``; ``--scale 0.05`` for
an evenly spread 5% of its indicators), with districts (area type 501) as well as counties and UAs (502)."""

from __future__ import annotations

import argparse
import logging
import threading

from public_health.demo.fingertips_stub.fixtures import default_demo_dataset
from public_health.demo.fingertips_stub.server import StubServer

log = logging.getLogger("public_health.demo.fingertips_stub")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a stub of the Fingertips API with fixture data.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8999, help="port to listen on (default 8999; 0 = any free)")
    parser.add_argument("--national", action="store_true",
                        help="serve every PHOF indicator for England, regions, counties and UAs, and districts")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="with --national: the share of the profile's indicators to serve (default 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.national:
        from public_health.demo.fingertips_stub.national import national_dataset

        dataset = national_dataset(scale=args.scale)
        rows = dataset.served_row_counts()
        log.info("national dataset: %d indicators; all_data rows %s (%s in all)", len(dataset.indicators),
                 ", ".join(f"{n:,} for area type {t}" for t, n in rows.items()), f"{sum(rows.values()):,}")
    else:
        dataset = default_demo_dataset()
    server = StubServer(dataset, host=args.host, port=args.port).start()
    log.info("Fingertips stub ready: set FINGERTIPS_OFFLINE=1 FINGERTIPS_BASE_URL=%s (Ctrl-C to stop)", server.base_url)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
