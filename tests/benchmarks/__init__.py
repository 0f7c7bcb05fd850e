"""The benchmark: ``python -m tests.benchmarks.run`` (see README, "Benchmark")."""
