"""SGD matrix factorisation (SVD, SVD++), written for clarity: the oracle for the other backends.

Rates and regularisation terms come as small arrays: ``lr = [lr_bu, lr_bi, lr_pu, lr_qi]``
(SVD++ appends ``lr_yj``), ``reg`` likewise. Every epoch function updates the arrays in
place and returns the sum of squared training errors seen during the epoch (each error is
taken before its update, as the SGD step sees it).

Serial kernels walk users in inner order and each user's ratings in CSR order, exactly as
scikit-surprise walks ``trainset.all_ratings()``. SVD++'s parallel kernel is Hogwild over users
(see ``svdpp_epoch_hogwild``). SVD's blocked kernel takes the ratings grouped into a B x B
grid of (user block, item block) cells (``block_ptr`` has B*B + 1 entries, cell (r, c) at
position r*B + c) and runs B "diagonal" steps per epoch; in step s the cells (r, (r + s) % B)
share no user and no item, so the compiled backends run them concurrently and the result
depends on the grid, never on the thread timing. Here they run one after another, which
gives the same numbers.
"""

import numpy as np


def svd_epoch(indptr, indices, data, global_mean, bu, bi, pu, qi, lr, reg, biased):
    """One epoch of scikit-surprise's SVD, in its order; both factor vectors from their old values."""
    lr_bu, lr_bi, lr_pu, lr_qi = lr
    reg_bu, reg_bi, reg_pu, reg_qi = reg
    loss = 0.0
    for u in range(len(bu)):
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            err = data[p] - (global_mean + bu[u] + bi[i] + np.dot(qi[i], pu[u]))
            loss += err * err
            if biased:
                bu[u] += lr_bu * (err - reg_bu * bu[u])
                bi[i] += lr_bi * (err - reg_bi * bi[i])
            pu_old, qi_old = pu[u].copy(), qi[i].copy()
            pu[u] += lr_pu * (err * qi_old - reg_pu * pu_old)
            qi[i] += lr_qi * (err * pu_old - reg_qi * qi_old)
    return float(loss)


def grid_cells(block_ptr):
    """Cells of a blocked epoch in schedule order: [(r, c, lo, hi)] step by step."""
    n_blocks = grid_size(block_ptr)
    return [(r, (r + s) % n_blocks, block_ptr[r * n_blocks + (r + s) % n_blocks],
             block_ptr[r * n_blocks + (r + s) % n_blocks + 1])
            for s in range(n_blocks) for r in range(n_blocks)]


def grid_size(block_ptr) -> int:
    n_blocks = int(round(np.sqrt(len(block_ptr) - 1)))
    if n_blocks * n_blocks != len(block_ptr) - 1:
        raise ValueError(f"block_ptr has length {len(block_ptr)}; a B x B grid needs B*B + 1 entries.")
    return n_blocks


def svd_epoch_blocked(block_ptr, users, items, ratings, global_mean, bu, bi, pu, qi, lr, reg, biased,
                      n_threads=1):
    """One epoch of SVD's update rule over the grid's cells in schedule order (see the module doc)."""
    lr_bu, lr_bi, lr_pu, lr_qi = lr
    reg_bu, reg_bi, reg_pu, reg_qi = reg
    loss = 0.0
    for _, _, lo, hi in grid_cells(block_ptr):
        for p in range(lo, hi):
            u, i = users[p], items[p]
            err = ratings[p] - (global_mean + bu[u] + bi[i] + np.dot(qi[i], pu[u]))
            loss += float(err) * float(err)
            if biased:
                bu[u] += lr_bu * (err - reg_bu * bu[u])
                bi[i] += lr_bi * (err - reg_bi * bi[i])
            pu_old, qi_old = pu[u].copy(), qi[i].copy()
            pu[u] += lr_pu * (err * qi_old - reg_pu * pu_old)
            qi[i] += lr_qi * (err * pu_old - reg_qi * qi_old)
    return loss


def svdpp_epoch(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg):
    """One epoch of scikit-surprise's SVD++ exactly as it is written: the implicit sum
    |I_u|^-1/2 * sum(y_j) is recomputed from the current y_j before every rating."""
    lr_bu, lr_bi, lr_pu, lr_qi, lr_yj = lr
    reg_bu, reg_bi, reg_pu, reg_qi, reg_yj = reg
    loss = 0.0
    for u in range(len(bu)):
        rated = indices[indptr[u]:indptr[u + 1]]
        sqrt_iu = pu.dtype.type(np.sqrt(len(rated)))
        for p in range(indptr[u], indptr[u + 1]):
            i = indices[p]
            implicit = np.zeros(pu.shape[1], dtype=pu.dtype)
            for j in rated:  # left to right, each term divided first, as scikit-surprise sums
                implicit += yj[j] / sqrt_iu
            err = data[p] - (global_mean + bu[u] + bi[i] + np.dot(qi[i], pu[u] + implicit))
            loss += float(err) * float(err)
            bu[u] += lr_bu * (err - reg_bu * bu[u])
            bi[i] += lr_bi * (err - reg_bi * bi[i])
            pu_old, qi_old = pu[u].copy(), qi[i].copy()
            pu[u] += lr_pu * (err * qi_old - reg_pu * pu_old)
            qi[i] += lr_qi * (err * (pu_old + implicit) - reg_qi * qi_old)
            yj[rated] += lr_yj * (err * qi_old / sqrt_iu - reg_yj * yj[rated])
    return loss


def svdpp_epoch_hogwild(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg, n_threads=1):
    """SVD++'s parallel epoch: users run concurrently, each one's ratings as in ``svdpp_epoch``,
    updating the shared item parameters without locks (Hogwild, Recht et al. 2011).

    With one thread it is ``svdpp_epoch`` in the factors' dtype (float32 or float64); with more,
    concurrent users may overwrite each other's updates of a shared item now and then, so the
    result varies slightly from run to run. The reference runs one thread: it defines the
    one-thread result, which the compiled backends reproduce.
    """
    return svdpp_epoch(indptr, indices, data, global_mean, bu, bi, pu, qi, yj, lr, reg)


# --------------------------------------------------------------------------- argument checks
# The compiled backends run without bounds checks; these O(1) checks are what they rely on
# beyond the Dataset's guarantee that every index is in range.

def check_model(bu, bi, pu, qi, yj=None, *, dtype=None):
    """Biases and factors agree in shape and dtype, are C-contiguous and writeable."""
    dtype = np.dtype(pu.dtype if dtype is None else dtype)
    arrays = {"bu": bu, "bi": bi, "pu": pu, "qi": qi, **({} if yj is None else {"yj": yj})}
    for name, a in arrays.items():
        if not isinstance(a, np.ndarray) or a.dtype != dtype or not a.flags.c_contiguous or not a.flags.writeable:
            raise ValueError(f"{name} must be a writeable C-contiguous {dtype} array, got "
                             f"{type(a).__name__} {getattr(a, 'dtype', '')}.")
    if pu.ndim != 2 or qi.ndim != 2 or pu.shape != (len(bu), pu.shape[1]) or qi.shape != (len(bi), pu.shape[1]):
        raise ValueError(f"pu must be (n_users={len(bu)}, k) and qi (n_items={len(bi)}, k) with the same k; "
                         f"got {pu.shape} and {qi.shape}.")
    if yj is not None and yj.shape != qi.shape:
        raise ValueError(f"yj must have qi's shape {qi.shape}, got {yj.shape}.")
    names = list(arrays)
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            if np.may_share_memory(arrays[names[a]], arrays[names[b]]):
                raise ValueError(f"{names[a]} and {names[b]} share memory; pass separate arrays.")


def check_rates(lr, reg, n, dtype):
    """``lr`` and ``reg`` as contiguous arrays of ``n`` finite values >= 0 in ``dtype``."""
    out = []
    for name, v in (("lr", lr), ("reg", reg)):
        a = np.ascontiguousarray(v, dtype=dtype)
        if a.shape != (n,) or not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"{name} must hold {n} finite numbers >= 0, got {v!r}.")
        out.append(a)
    return out


def check_grid(block_ptr, users, items, ratings, dtype):
    """The grid's arrays agree in length; returns B (the grid is B x B)."""
    n_blocks = grid_size(block_ptr)
    if not (len(users) == len(items) == len(ratings)):
        raise ValueError(f"users ({len(users)}), items ({len(items)}) and ratings ({len(ratings)}) "
                         "must have the same length.")
    if block_ptr[0] != 0 or block_ptr[-1] != len(users) or np.any(np.diff(block_ptr) < 0):
        raise ValueError("block_ptr must be non-decreasing from 0 to len(users).")
    if np.asarray(ratings).dtype != dtype:
        raise ValueError(f"ratings must have the factors' dtype {np.dtype(dtype)}, got {np.asarray(ratings).dtype}.")
    return n_blocks


# --------------------------------------------------------------------------- waves of a blocked epoch
#: the most ratings one wave of a blocked epoch holds (about 0.5 ms of one thread's work): a step
#: whose cells hold more is cut into parts, so one epoch can run as several short calls even on a
#: grid of a few blocks (Ctrl-C is answered between calls, see backends/_slices.py)
WAVE_RATINGS = 1 << 14
#: the most parts a step is cut into (the wave table then has at most MAX_BLOCKS * MAX_WAVE_PARTS entries)
MAX_WAVE_PARTS = 1 << 10


def grid_waves(block_ptr, n_blocks):
    """(parts, cost) of the blocked epoch's waves: step s of the B steps is cut into ``parts``
    waves; wave w = s * parts + j runs part j of each of the step's cells, i.e. cell c's ratings
    ``lo + n*j // parts`` .. ``lo + n*(j + 1) // parts`` (lo = block_ptr[c], n its size). Running
    the waves in order, in any number of calls, makes the updates of one call of the whole epoch:
    each cell's ratings in their order, the cells of a step independent of each other. ``cost``
    (B * parts + 1 entries, float64) is the cumulative ratings of the waves, a row pointer for
    ``run_sliced``."""
    sizes = np.diff(np.asarray(block_ptr, dtype=np.int64)).reshape(n_blocks, n_blocks)
    r = np.arange(n_blocks)
    step = sizes[r[None, :], (r[None, :] + r[:, None]) % n_blocks].sum(axis=1)  # ratings of step s
    parts = int(min(MAX_WAVE_PARTS, max(1, -(-int(step.max(initial=0)) // WAVE_RATINGS))))
    cost = np.zeros(n_blocks * parts + 1)
    np.cumsum(np.repeat(step / parts, parts), out=cost[1:])
    return parts, cost
