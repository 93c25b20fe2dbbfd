"""Benchmarks (not part of the test command): see README.md."""
