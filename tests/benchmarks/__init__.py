"""Performance benchmarks (issue 7). Not collected by pytest: run ``scripts/benchmark.sh``."""
