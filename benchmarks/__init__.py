"""Benchmark programs: the bare-SimPy floor, the naive peer model and the figure runner."""
