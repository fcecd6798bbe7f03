"""Serve the demo dataset until interrupted: ``python -m public_health.demo.fingertips_stub --port 8999``."""

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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = StubServer(default_demo_dataset(), host=args.host, port=args.port).start()
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
