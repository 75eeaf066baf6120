"""Compiled Cython kernels (built from kernels/*.pyx by setup.py). Use reckernels.backends.cython."""
