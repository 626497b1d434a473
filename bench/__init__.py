"""Benchmarks of gridgov at city scale, run by hand: ``python -m bench.harness``."""
