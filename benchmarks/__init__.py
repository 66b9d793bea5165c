"""Benchmarks: they measure and report, they never fail (``python -m benchmarks.<name>``)."""
