"""Run a numba parallel kernel on a given number of threads."""

from contextlib import contextmanager

import numba


@contextmanager
def numba_threads(n_threads: int):
    n = max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS))
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(previous)
