"""Benchmarks that print their figures: `python -m benchmarks.<name>` from the
repository root (see benchmarks/README.md)."""
