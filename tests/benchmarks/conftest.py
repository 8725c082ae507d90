"""Benchmarks are not tests: they are run by ``python -m tests.benchmarks.run`` only."""

collect_ignore_glob = ["*"]
