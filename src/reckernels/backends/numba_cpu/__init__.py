"""Numba CPU backend: @njit(parallel=True, cache=True) kernels, compiled on first use."""

from .baseline import baseline_als_epoch, baseline_sgd_epoch

__all__ = ["baseline_als_epoch", "baseline_sgd_epoch"]
