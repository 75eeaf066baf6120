"""Row-row similarity over co-rated columns (scikit-surprise 1.1.5 semantics), written for clarity.

Every backend exposes the same two kernels:

``similarity_upper(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
kind, min_support, shrinkage, out, n_threads)``
    For each row x in [row_start, row_stop) write ``out[x, x] = 1`` and ``out[x, x'] = sim(x, x')``
    for every x' > x. ``out`` is the (n_rows, n_rows) result; its lower triangle is not touched
    (the caller mirrors it once every row is done). Each column's row list in t_indices must
    be ascending (the compiled kernels start each column's walk past x by binary search).

``similarity_topm(..., row_start, row_stop, kind, min_support, shrinkage, out_idx, out_sim, n_threads)``
    For each row x in the range, the M = out_idx.shape[1] other rows with the largest nonzero
    similarity (ties: smaller row index first), written to ``out_idx[x]`` sorted by row index
    ascending, with their similarities in ``out_sim[x]``; padded with -1 / 0.

(t_indptr, t_indices, t_data) is the same matrix by column; the compiled backends walk it to
find the rows sharing a column, the reference compares row pairs directly and does not need it.
For the pair (x, x') the sums run over x's columns in x's stored order in every backend.
"""

import math

import numpy as np

KINDS = ("pearson", "pearson_baseline", "cosine", "msd")  # scikit-surprise's similarities
#: plus "dot": the plain sum of x * y over the common columns, no normalisation (implicit's
#: item-item co-occurrence, reckernels.algorithms.itemitem); not a scikit-surprise similarity
ALL_KINDS = KINDS + ("dot",)
PEARSON, PEARSON_BASELINE, COSINE, MSD, DOT = range(len(ALL_KINDS))


def kind_code(kind: str) -> int:
    """The integer the compiled kernels use for ``kind`` (already validated by the caller)."""
    return ALL_KINDS.index(kind)


def pair_similarity(kind, min_support, shrinkage, n, sx, sy, sxx, syy, sxy, sdd):
    """The similarity from the co-rated sums, with scikit-surprise's arithmetic.

    n common columns; sx, sy sums of x's and y's values on them; sxx, syy sums of squares;
    sxy sum of products; sdd sum of squared differences. A zero denominator gives 0 (where
    scikit-surprise would divide by zero), and so does support below ``min_support``.
    """
    if n == 0 or n < min_support:
        return 0.0
    if kind == PEARSON:
        vx = n * sxx - sx * sx
        vy = n * syy - sy * sy
        if vx > 0 and vy > 0:  # zero variance on the common columns (or rounding below it): 0
            den = math.sqrt(vx * vy)
            if den > 0:
                return (n * sxy - sx * sy) / den
        return 0.0
    if kind == MSD:
        return 1.0 / (sdd / n + 1.0)
    if kind == DOT:
        return sxy
    if kind == PEARSON_BASELINE and n < 2:  # scikit-surprise's effective min_support >= 2
        return 0.0
    den = math.sqrt(sxx * syy)
    if not den > 0:
        return 0.0
    if kind == COSINE:
        return sxy / den
    return sxy / den * ((n - 1) / (n - 1 + shrinkage))


def _row_similarities(rows, x, kind, min_support, shrinkage):
    """sim(x, y) for every row y (float64), the diagonal 1; sums over x's columns in order."""
    cols_x, vals_x = rows[x]
    out = np.zeros(len(rows))
    for y, (cols_y, vals_y) in enumerate(rows):
        if y == x:
            out[y] = 1.0
            continue
        n, sx, sy, sxx, syy, sxy, sdd = 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        # every pair of entries on a common column counts (a repeated column counts per entry,
        # as in scikit-surprise, which does not merge duplicates either)
        for c, xv in zip(cols_x.tolist(), vals_x.tolist()):
            for cy, yv in zip(cols_y.tolist(), vals_y.tolist()):
                if cy != c:
                    continue
                n += 1
                sx += xv
                sy += yv
                sxx += xv * xv
                syy += yv * yv
                sxy += xv * yv
                sdd += (xv - yv) * (xv - yv)
        out[y] = pair_similarity(kind, min_support, shrinkage, n, sx, sy, sxx, syy, sxy, sdd)
    return out


def _rows(indptr, indices, data):
    return [(indices[indptr[r]:indptr[r + 1]], data[indptr[r]:indptr[r + 1]]) for r in range(len(indptr) - 1)]


def select_top(sims, x, m):
    """Indices (ascending) of the m other rows with the largest nonzero sims; ties: smaller index."""
    cand = np.flatnonzero(sims != 0)
    cand = cand[cand != x]
    best = cand[np.lexsort((cand, -sims[cand]))[:m]]
    return np.sort(best)


def similarity_upper(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
                     kind, min_support, shrinkage, out, n_threads=1):
    check_kernel_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, kind,
                      out.shape, (len(indptr) - 1, len(indptr) - 1))
    rows = _rows(indptr, indices, data)
    code = kind_code(kind)
    for x in range(row_start, row_stop):
        sims = _row_similarities(rows, x, code, min_support, shrinkage)
        out[x, x:] = sims[x:]


def touch_order(x, indptr, indices, t_indptr, t_indices):
    """The rows sharing a column with x (x included) in the order a walk first meets them: x's
    columns in stored order, each column's rows in the transposed matrix's order."""
    seen, order = set(), []
    for p in range(indptr[x], indptr[x + 1]):
        c = indices[p]
        for y in t_indices[t_indptr[c]:t_indptr[c + 1]].tolist():
            if y not in seen:
                seen.add(y)
                order.append(y)
    return order


def select_implicit(sims, order, m):
    """implicit 0.7.3's TopK over the rows in REVERSE first-touch order (its SparseMatrixMultiplier
    lists them so): a row enters while fewer than m are kept or when its value is strictly larger
    than the smallest kept, which leaves (smallest value, then smallest index) first. Zero values
    count. Returns the kept indices ascending."""
    kept = {}
    for y in reversed(order):
        s = sims[y]
        if len(kept) < m:
            kept[y] = s
        else:
            worst = min(kept, key=lambda i: (kept[i], i))
            if s > kept[worst]:
                del kept[worst]
                kept[y] = s
    return np.array(sorted(kept), dtype=np.int64)


def similarity_topm(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop,
                    kind, min_support, shrinkage, out_idx, out_sim, n_threads=1, implicit_order=False):
    """``implicit_order`` (kind "dot" only): x itself is a candidate (its own sum of squares) and
    the M kept are chosen as implicit's all_pairs_knn chooses them (select_implicit)."""
    check_kernel_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, kind,
                      out_sim.shape, out_idx.shape, implicit_order)
    rows = _rows(indptr, indices, data)
    code = kind_code(kind)
    m = out_idx.shape[1]
    for x in range(row_start, row_stop):
        sims = _row_similarities(rows, x, code, min_support, shrinkage)
        if implicit_order:
            # x's product with itself, every pair of its entries on one column (as for any y)
            cols, vals = rows[x][0].tolist(), rows[x][1].tolist()
            own, n = 0.0, 0
            for c, xv in zip(cols, vals):
                for cy, yv in zip(cols, vals):
                    if cy == c:
                        own += xv * yv
                        n += 1
            sims[x] = pair_similarity(code, min_support, shrinkage, n, 0, 0, 0, 0, own, 0)
            keep = select_implicit(sims, touch_order(x, indptr, indices, t_indptr, t_indices), m)
        else:
            keep = select_top(sims, x, m)
        out_idx[x] = -1
        out_sim[x] = 0
        out_idx[x, :len(keep)] = keep
        out_sim[x, :len(keep)] = sims[keep]


def mirror_upper(out, n_threads=1, tile=128):
    """out[j, i] = out[i, j] for j > i, in place, tile by tile (no n x n temporary)."""
    n = out.shape[0]
    for i0 in range(0, n, tile):
        i1 = min(n, i0 + tile)
        block = out[i0:i1, i0:i1]
        lower = np.tril_indices(i1 - i0, -1)
        block[lower] = block.T[lower]
        for j0 in range(i1, n, tile):
            j1 = min(n, j0 + tile)
            out[j0:j1, i0:i1] = out[i0:i1, j0:j1].T


def check_square(out):
    if out.ndim != 2 or out.shape[0] != out.shape[1] or not out.flags.c_contiguous:
        raise ValueError(f"out must be a square C-contiguous array, got shape {out.shape}.")


def check_kernel_args(indptr, indices, data, t_indptr, t_indices, t_data, row_start, row_stop, kind,
                      out_shape, expected_shape, implicit_order=False):
    """O(1) shape checks every backend's entry points run before a kernel without bounds checks.

    ``out_shape`` is the similarity output's shape; it must equal ``expected_shape``: (n_rows,
    n_rows) for the dense kernel, out_idx's shape (n_rows, M) for the top-M kernel."""
    n_rows = len(indptr) - 1
    if len(indices) != len(data) or len(t_indices) != len(t_data) or len(t_indices) != len(indices):
        raise ValueError(f"indices ({len(indices)}), data ({len(data)}), t_indices ({len(t_indices)}) and "
                         f"t_data ({len(t_data)}) must all have the same length.")
    if n_rows < 0 or len(t_indptr) < 1 or indptr[-1] != len(indices) or t_indptr[-1] != len(t_indices):
        raise ValueError("indptr and t_indptr must end at the number of stored values.")
    if tuple(out_shape) != tuple(expected_shape) or expected_shape[0] != n_rows:
        raise ValueError(f"the similarity output has shape {tuple(out_shape)}, expected {tuple(expected_shape)} "
                         f"with {n_rows} rows (out_sim must have out_idx's shape).")
    if not 0 <= row_start <= row_stop <= n_rows:
        raise ValueError(f"need 0 <= row_start <= row_stop <= n_rows = {n_rows}, got {row_start}, {row_stop}.")
    if kind not in ALL_KINDS:
        raise ValueError(f"kind={kind!r} is not a known similarity; choose one of {', '.join(map(repr, ALL_KINDS))}.")
    if implicit_order and kind != "dot":
        raise ValueError(f"implicit_order applies to kind='dot' only, got kind={kind!r}.")
