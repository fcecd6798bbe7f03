"""Demo and test scaffolding, kept apart from the product: the Fingertips API stub with its fixture
dataset (``fingertips_stub``) and the sample shared drive of provider returns (``shared_drive``).

Product code never imports this package; only the command line's demo (``public_health.cli``), the
Makefile's ``stub`` and ``up`` targets, the tests and the benchmarks do.
"""
