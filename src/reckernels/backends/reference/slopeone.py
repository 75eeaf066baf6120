"""Slope One (Lemire & Maclachlan 2005) as scikit-surprise 1.1.5's SlopeOne computes it.

Written for clarity: this is the oracle the compiled backends are tested against.

Fitting. Rows are items: (indptr, indices, data) is the by-item matrix (each item's raters,
in ascending user order) and (t_indptr, t_indices, t_data) the by-user one. For an item row i,
walk i's raters u and each u's items j, adding 1 to freq(i, j) and r_ui - r_uj to a dense row
buffer; then dev(i, j) = that sum / freq(i, j) (sparse times sparse, as the similarity kernels).
Every pair's sum therefore runs over the common users in ascending user order, as
scikit-surprise's loop over its users does, and dev(j, i) is exactly -dev(i, j). The diagonal
has freq(i, i) = i's rating count and dev(i, i) = 0; a pair nobody co-rated has freq 0, dev 0.

Storages: ``slopeone_dense`` fills rows of dense (n_items, n_items) ``dev`` (float64) and
``freq`` (int32) arrays on and right of the diagonal (a backend may leave the entries left of it
unspecified: the Cython kernel computes j >= i only), and ``slopeone_mirror`` then sets
dev(j, i) = 0 - dev(i, j) and freq(j, i) = freq(i, j) for i < j (equal to computing them); ``slopeone_count`` gives each row's number of pairs with freq > 0, from
which the caller builds ``out_indptr``; ``slopeone_sparse`` then fills those rows of a CSR store
(``out_indices`` ascending per row, ``out_dev``, ``out_freq``). Both compute the rows
[row_start, row_stop) only, so the caller can go block by block.

Prediction for (u, i): impossible (estimate = global mean) when u or i is unknown (-1); else
mean_u + sum of dev(i, j) / |R_i(u)| over R_i(u) = the items j that u rated (in u's rating order)
with freq(i, j) > 0; just mean_u when R_i(u) is empty. Unclipped.
"""

import numpy as np

from .._checks import check_csr


def check_fit_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop):
    """The two matrices are transposes in shape (n_rows x n_cols and back), rows in range."""
    n_rows, n_cols = len(indptr) - 1, len(t_indptr) - 1
    check_csr(indptr, indices, data, n_rows=n_rows, n_cols=n_cols)
    check_csr(t_indptr, t_indices, t_data, n_rows=n_cols, n_cols=n_rows)
    if len(indices) != len(t_indices):
        raise ValueError(f"the by-item and by-user matrices hold {len(indices)} and {len(t_indices)} "
                         "ratings; they must be transposes of each other.")
    if not 0 <= row_start <= row_stop <= n_rows:
        raise ValueError(f"rows [{row_start}, {row_stop}) are not within [0, {n_rows}).")
    return n_rows


def check_dense_out(n_rows, dev, freq):
    for name, arr, dtype in (("dev", dev, np.float64), ("freq", freq, np.int32)):
        if arr.shape != (n_rows, n_rows) or arr.dtype != dtype or not arr.flags.c_contiguous:
            raise ValueError(f"{name} must be a C-contiguous ({n_rows}, {n_rows}) {np.dtype(dtype).name} array, "
                             f"got {arr.dtype} {arr.shape}.")


def check_sparse_out(n_rows, out_indptr, out_indices, out_dev, out_freq):
    if out_indptr.shape != (n_rows + 1,) or out_indptr.dtype != np.int64:
        raise ValueError(f"out_indptr must be an int64 array of length {n_rows + 1}, got {out_indptr.dtype} "
                         f"{out_indptr.shape}.")
    nnz = int(out_indptr[-1])
    for name, arr, dtype in (("out_indices", out_indices, np.int32), ("out_dev", out_dev, np.float64),
                             ("out_freq", out_freq, np.int32)):
        if arr.shape != (nnz,) or arr.dtype != dtype:
            raise ValueError(f"{name} must be a {np.dtype(dtype).name} array of length {nnz}, got {arr.dtype} "
                             f"{arr.shape}.")


def check_predict_args(users, items, u_indptr, u_indices, user_mean, n_items, est, impossible):
    n = len(users)
    if len(items) != n or est.shape != (n,) or impossible.shape != (n,):
        raise ValueError(f"users, items, est and impossible must have one length, got {len(users)}, "
                         f"{len(items)}, {est.shape} and {impossible.shape}.")
    if users.dtype != np.int32 or items.dtype != np.int32:
        raise ValueError("users and items must be int32 inner ids (-1 = unknown).")
    if est.dtype != np.float64 or impossible.dtype != np.uint8:
        raise ValueError("est must be float64 and impossible uint8.")
    n_users = len(u_indptr) - 1
    if len(user_mean) != n_users:
        raise ValueError(f"user_mean has {len(user_mean)} entries for {n_users} users.")
    if n and (users.max() >= n_users or items.max() >= n_items or users.min() < -1 or items.min() < -1):
        raise ValueError(f"inner ids out of range: users must be in [-1, {n_users}), items in [-1, {n_items}).")
    if len(u_indices) and (u_indices.min() < 0 or u_indices.max() >= n_items):
        raise ValueError(f"u_indices must be item ids in [0, {n_items}).")


def _row_sums(x, indptr, indices, data, t_indptr, t_indices, t_data, n_cols):
    """(freq row, deviation-sum row) of item x: the walk over x's raters and their items."""
    segments = [np.arange(t_indptr[c], t_indptr[c + 1]) for c in indices[indptr[x]:indptr[x + 1]]]
    q = np.concatenate(segments) if segments else np.empty(0, dtype=np.int64)
    xv = np.repeat(data[indptr[x]:indptr[x + 1]], [len(s) for s in segments])
    cols = t_indices[q]
    freq = np.bincount(cols, minlength=n_cols)
    sums = np.bincount(cols, weights=xv - t_data[q], minlength=n_cols)  # adds in walk order
    return freq, sums


def _finish(x, freq, sums):
    dev = np.zeros(len(freq))
    on = freq > 0
    dev[on] = sums[on] / freq[on]
    dev[x] = 0.0
    return dev


def slopeone_dense(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, dev, freq,
                   n_threads=1):
    """Rows [row_start, row_stop) of the dense ``dev`` and ``freq`` (overwritten; whole rows here)."""
    n = check_fit_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop)
    check_dense_out(n, dev, freq)
    for x in range(row_start, row_stop):
        f, s = _row_sums(x, indptr, indices, data, t_indptr, t_indices, t_data, n)
        freq[x] = f
        dev[x] = _finish(x, f, s)


def slopeone_mirror(dev, freq, n_threads=1):
    """The lower triangles from the upper ones: dev(j, i) = 0 - dev(i, j), freq(j, i) = freq(i, j)."""
    check_dense_out(dev.shape[0], dev, freq)
    lower = np.tril_indices(dev.shape[0], -1)
    dev[lower] = 0.0 - dev.T[lower]
    freq[lower] = freq.T[lower]


def slopeone_count(indptr, indices, t_indptr, t_indices, row_start, row_stop, counts, n_threads=1):
    """counts[x] = the number of items j with freq(x, j) > 0, for x in [row_start, row_stop)."""
    n = len(indptr) - 1
    if counts.shape != (n,) or counts.dtype != np.int64:
        raise ValueError(f"counts must be an int64 array of length {n}, got {counts.dtype} {counts.shape}.")
    for x in range(row_start, row_stop):
        users = indices[indptr[x]:indptr[x + 1]]
        touched = [t_indices[t_indptr[c]:t_indptr[c + 1]] for c in users]
        counts[x] = len(np.unique(np.concatenate(touched))) if touched else 0


def slopeone_sparse(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
                    out_indptr, out_indices, out_dev, out_freq, n_threads=1):
    """Rows [row_start, row_stop) of the CSR store whose row lengths ``out_indptr`` gives."""
    n = check_fit_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop)
    check_sparse_out(n, out_indptr, out_indices, out_dev, out_freq)
    for x in range(row_start, row_stop):
        f, s = _row_sums(x, indptr, indices, data, t_indptr, t_indices, t_data, n)
        cols = np.flatnonzero(f)
        lo, hi = out_indptr[x], out_indptr[x + 1]
        if hi - lo != len(cols):
            raise ValueError(f"out_indptr gives row {x} {hi - lo} entries, it has {len(cols)}; "
                             "build out_indptr from slopeone_count.")
        out_indices[lo:hi] = cols
        out_freq[lo:hi] = f[cols]
        out_dev[lo:hi] = _finish(x, f, s)[cols]


def _predict(users, items, u_indptr, u_indices, user_mean, global_mean, est, impossible, lookup):
    for p in range(len(users)):
        u, i = users[p], items[p]
        if u < 0 or i < 0:
            est[p], impossible[p] = global_mean, 1
            continue
        total, n = 0.0, 0
        for j in u_indices[u_indptr[u]:u_indptr[u + 1]]:
            found, d = lookup(i, j)
            if found:
                total += d
                n += 1
        est[p] = user_mean[u] + total / n if n else user_mean[u]
        impossible[p] = 0


def slopeone_predict_dense(users, items, u_indptr, u_indices, user_mean, dev, freq, global_mean, est, impossible,
                           n_threads=1):
    """est[p] (unclipped) and impossible[p] (uint8) for the pairs, from the dense store."""
    check_predict_args(users, items, u_indptr, u_indices, user_mean, dev.shape[0], est, impossible)
    check_dense_out(dev.shape[0], dev, freq)
    _predict(users, items, u_indptr, u_indices, user_mean, global_mean, est, impossible,
             lambda i, j: (freq[i, j] > 0, dev[i, j]))


def slopeone_predict_sparse(users, items, u_indptr, u_indices, user_mean, s_indptr, s_indices, s_dev, global_mean,
                            est, impossible, n_threads=1):
    """As slopeone_predict_dense from the CSR store (a pair is there iff its freq > 0)."""
    check_predict_args(users, items, u_indptr, u_indices, user_mean, len(s_indptr) - 1, est, impossible)
    if len(s_indices) != s_indptr[-1] or len(s_dev) != s_indptr[-1]:
        raise ValueError("s_indices and s_dev must have s_indptr[-1] entries.")

    def lookup(i, j):
        lo, hi = s_indptr[i], s_indptr[i + 1]
        k = lo + int(np.searchsorted(s_indices[lo:hi], j))
        return (k < hi and s_indices[k] == j), (s_dev[k] if k < hi else 0.0)

    _predict(users, items, u_indptr, u_indices, user_mean, global_mean, est, impossible, lookup)
