"""Scheduled outputs built from the warehouse: the performance report and the BCF return."""
