"""A stub of the Fingertips API for tests and the offline demo (``python -m public_health.fingertips.stub``)."""

from public_health.fingertips.stub.fixtures import FixtureDataset, default_demo_dataset, generate_dataset
from public_health.fingertips.stub.server import StubServer, serve_offline_stub

__all__ = ["FixtureDataset", "StubServer", "default_demo_dataset", "generate_dataset", "serve_offline_stub"]
