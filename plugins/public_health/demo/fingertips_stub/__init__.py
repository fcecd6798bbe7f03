"""A stub of the Fingertips API for tests and the offline demo.

Serve it with ``make stub`` (``python -m public_health.demo.fingertips_stub --port 8999``), then point the
product at it: ``FINGERTIPS_OFFLINE=1 FINGERTIPS_BASE_URL=http://127.0.0.1:8999/api``. ``national_dataset()``
(``--national``) is the whole PHOF profile at national volume, districts included (national.py).
"""

from public_health.demo.fingertips_stub.fixtures import FixtureDataset, default_demo_dataset, generate_dataset
from public_health.demo.fingertips_stub.national import NationalDataset, national_dataset
from public_health.demo.fingertips_stub.server import StubServer, serve_offline_stub

__all__ = ["FixtureDataset", "NationalDataset", "StubServer", "default_demo_dataset", "generate_dataset",
           "national_dataset", "serve_offline_stub"]
