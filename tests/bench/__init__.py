"""Benchmark helpers: a synthetic archive generator (:mod:`tests.bench.synth`)."""
