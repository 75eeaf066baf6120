"""Cheap O(1) shape checks run before a compiled kernel that does no bounds checking."""

import numpy as np


def check_csr(indptr, indices, data, *, n_rows, n_cols=None):
    """Lengths of a CSR triple agree with each other and with the row count.

    Index values are not scanned here (that would cost as much as the kernel); arrays built
    by ``Dataset`` or by a validated entry point are in range by construction.
    """
    if len(indptr) != n_rows + 1:
        raise ValueError(f"indptr has length {len(indptr)}, expected n_rows + 1 = {n_rows + 1}.")
    if len(indices) != len(data):
        raise ValueError(f"indices ({len(indices)}) and data ({len(data)}) must have the same length.")
    if n_rows and (indptr[0] != 0 or indptr[-1] != len(indices)):
        raise ValueError("indptr must start at 0 and end at len(indices).")


def validate_csr_indices(indptr, indices, n_cols):
    """Full O(nnz) check, for CSR matrices handed in by users (not built by Dataset)."""
    indptr = np.asarray(indptr)
    indices = np.asarray(indices)
    if np.any(np.diff(indptr) < 0):
        raise ValueError("indptr must be non-decreasing.")
    if indices.size and (indices.min() < 0 or indices.max() >= n_cols):
        raise ValueError(f"column indices must lie in [0, {n_cols}).")
