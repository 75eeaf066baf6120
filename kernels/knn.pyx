# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""k-NN rating prediction and the k-NN top-N scorer (scikit-surprise's four KNN estimators).

The semantics are documented in reckernels/backends/reference/knn.py: the k most similar
positive candidates (stable), summed in candidate order, so results are bit-identical to the
reference. Per pair, one pass over the candidates copies the positive ones' similarity and
centred rating to buffers (with the dense storage: rk_gather_*, 8 at a time in AVX-512 where
the CPU has it, kernels/rk_knn_simd.h); only when there are more than k, a quickselect
(rk_kth_largest) finds the k-th largest similarity and the buffers are summed over the k
selected (no second look-up of ratings, means or biases). Pairs run in parallel; each thread
has its buffers (as long as the longest candidate list), so nothing is allocated per pair. The
scorer loops so that one similarity row serves many consecutive pairs (it stays in cache).

Top-N with the dense storage walks instead of selecting per pair (_walk): per user (user-based)
or per item (item-based), the positive neighbours, most similar first, over their ratings, into
approximate sums; the items that can reach the top are then scored exactly per pair, so the
result is still the per-pair one.

Bounds checks are off: the wrappers in reckernels.backends.cython.knn check shapes, and ids
come from a Dataset or from IdMap.to_inner (-1 = unknown, handled here).
"""

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY, fabs
from libc.float cimport DBL_EPSILON

import numpy as np

ctypedef long long i64
ctypedef int i32
ctypedef signed char i8
ctypedef unsigned long long u64

cdef enum:  # center codes and outcome codes, as in reckernels.backends.reference.knn
    NONE = 0
    MEAN = 1
    ZSCORE = 2
    BASELINE = 3
    POSSIBLE = 0
    UNKNOWN = 1
    TOO_FEW = 2


cdef struct Model:
    const i64* indptr          # candidates of each target y (CSR)
    const i32* indices
    const double* data
    const i32* sim_idx         # NULL: dense storage
    const double* sim64        # exactly one of sim64 / sim32 is set
    const float* sim32
    Py_ssize_t sim_cols        # n_x (dense) or M (top-M)
    Py_ssize_t longest         # the longest candidate list (the buffers' length)
    int k
    int min_k
    int center
    int user_based
    const double* means
    const double* sigmas
    const double* bu
    const double* bi
    double global_mean
    const double* dev          # NULL, or each candidate's centred rating, precomputed (_fill_dev)
    const double* guess        # NULL, or (n_x, guess_cols): a sample of each row's similarities, descending
    Py_ssize_t guess_cols
    double guess_rank          # the sample rank to read for n_cand candidates: guess_rank / n_cand


cdef inline double _sim(const Model* m, Py_ssize_t x, i32 x2) noexcept nogil:
    cdef Py_ssize_t lo, hi, mid, base = x * m.sim_cols
    cdef i32 v
    if m.sim_idx == NULL:
        return m.sim64[base + x2] if m.sim32 == NULL else m.sim32[base + x2]
    lo = 0
    hi = m.sim_cols
    while lo < hi:  # first stored id >= x2; the -1 padding at the end counts as larger than any id
        mid = (lo + hi) >> 1
        v = m.sim_idx[base + mid]
        if v < 0 or v >= x2:
            hi = mid
        else:
            lo = mid + 1
    if lo < m.sim_cols and m.sim_idx[base + lo] == x2:
        return m.sim64[base + lo] if m.sim32 == NULL else m.sim32[base + lo]
    return 0.0


cdef extern from "rk_knn_simd.h" nogil:
    # the candidate pass for dense storage with the centred ratings precomputed (AVX-512 where
    # the CPU has it); the buffers need RK_GATHER_PAD slots of room past the kept ones
    Py_ssize_t rk_gather_d(const double* srow, const i32* idx, const double* dev, Py_ssize_t n, double g,
                           double* bs, double* bd, double* ks, double* kd, Py_ssize_t* n_keep)
    Py_ssize_t rk_gather_f(const float* srow, const i32* idx, const double* dev, Py_ssize_t n, double g,
                           double* bs, double* bd, double* ks, double* kd, Py_ssize_t* n_keep)
    double rk_kth_largest(const double* src, Py_ssize_t n, Py_ssize_t k, double* a, double* t,
                          Py_ssize_t* n_above)
    int rk_knn_simd_use(int level)
    int RK_GATHER_PAD


#: the scratch rows' room past the longest candidate list (the vector stores of rk_knn_simd.h)
GATHER_PAD = RK_GATHER_PAD


#: the loop widths use_simd names, narrowest first (rk_knn_simd.h's levels)
SIMD_LEVELS = ("scalar", "avx2", "avx512")


def use_simd(str widest):
    """Run the candidate pass and the selection in the widest loops the CPU has up to ``widest``
    (one of SIMD_LEVELS; the default is the widest of all) - for tests of every loop on one
    machine. Returns the name of the loops now used. The results are the same in all of them."""
    if widest not in SIMD_LEVELS:
        raise ValueError(f"widest must be one of {SIMD_LEVELS}, not {widest!r}")
    return SIMD_LEVELS[rk_knn_simd_use(SIMD_LEVELS.index(widest))]


cdef inline double _deviation(const Model* m, i32 nb, double r, i32 y, const double* bx,
                              const double* by) noexcept nogil:
    """The neighbour's rating, centred as the estimator asks (z-score: not yet divided)."""
    if m.center == NONE:
        return r
    if m.center == BASELINE:
        return r - (m.global_mean + bx[nb] + by[y])
    return r - m.means[nb]


cdef inline double _term(const Model* m, double w, double dev, double sigma) noexcept nogil:
    """The neighbour's contribution to the numerator, with scikit-surprise's operation order:
    s * r, s * (r - mean), s * (r - mean) / sigma, s * (r - baseline)."""
    if m.center == ZSCORE:
        return w * dev / sigma
    return w * dev


cdef inline double _threshold(const Model* m, Py_ssize_t x, Py_ssize_t n_cand) noexcept nogil:
    """A guess at the similarity above which about GUESS_MARGIN * k of the n_cand candidates lie
    (0: no guess): the value at that rank in x's sorted sample (m.guess). It only narrows the
    selection: the caller checks that at least k positive candidates clear it, else it looks at all."""
    cdef Py_ssize_t q
    cdef double g
    if m.guess == NULL:
        return 0.0
    q = <Py_ssize_t>(m.guess_rank / <double>n_cand)
    if q >= m.guess_cols:
        return 0.0
    g = m.guess[x * m.guess_cols + q]
    return g if g > 0 else 0.0


cdef inline Py_ssize_t _gather(const Model* m, Py_ssize_t x, i32 y, Py_ssize_t lo, Py_ssize_t hi, double g,
                               double* bs, double* bd, double* bg, const double* bx, const double* by,
                               Py_ssize_t* n_pos) noexcept nogil:
    """Branch-free: the candidates with similarity s > 0 and s >= g appended to the buffers in
    candidate order (similarity, centred rating, and sigma for z-score; a rejected one is written
    and then overwritten); returns their number, and counts all positive ones in n_pos. (Dense
    storage with the centred ratings precomputed takes rk_gather_* instead, see _predict_one.)"""
    cdef Py_ssize_t p, c = 0, npos = 0
    cdef double s
    cdef i32 nb
    for p in range(lo, hi):
        nb = m.indices[p]
        s = _sim(m, x, nb)
        bs[c] = s
        bd[c] = m.dev[p] if m.dev != NULL else _deviation(m, nb, m.data[p], y, bx, by)
        if m.center == ZSCORE:
            bg[c] = m.sigmas[nb]
        c += (s > 0) & (s >= g)
        npos += s > 0
    n_pos[0] = npos
    return c


cdef double _predict_one(const Model* m, i32 u, i32 i, double* bs, double* bd, double* bc,
                         i32* actual_k, i8* code) noexcept nogil:
    """One pair. ``bs`` is a buffer of m.longest slots (the longest candidate list and
    RK_GATHER_PAD more), ``bd`` twice that (deviations, then sigmas), ``bc`` three times (the
    selection's two scratch rows, the guess's similarities)."""
    cdef i32 x, y, nb
    cdef const double* bx
    cdef const double* by
    cdef const double* srow
    cdef double* bg = bd + m.longest
    cdef Py_ssize_t p, q, lo, hi, n, n_pos = 0, above, left, c, kept = 0
    cdef double s, w, dev, sigma = 1.0, sum_sim = 0.0, sum_r = 0.0, est, vk, g
    cdef double* ps
    cdef double* pd
    cdef double* ks
    cdef bint take, tie, summed = False
    if u < 0 or i < 0:
        actual_k[0] = 0
        code[0] = UNKNOWN
        est = m.global_mean
        if m.center == BASELINE:
            est = m.global_mean + (m.bu[u] if u >= 0 else 0.0) + (m.bi[i] if i >= 0 else 0.0)
        return est
    if m.user_based:
        x, y, bx, by = u, i, m.bu, m.bi
    else:
        x, y, bx, by = i, u, m.bi, m.bu
    lo, hi = m.indptr[y], m.indptr[y + 1]
    g = _threshold(m, x, hi - lo) if hi - lo > m.k else 0.0
    c = 0
    ps, pd = bs, bd  # the buffers summed below
    if hi - lo > m.k and m.sim_idx == NULL and m.dev != NULL and m.center != ZSCORE:
        # one pass: every positive candidate to bs / bd, and those at or above the guess g (if
        # any) to bc's third row / bg (unused without z-score); the guess is exact when at least
        # k positive ones clear it (the k most similar are then among them) and more than k are
        # positive, and then only those are searched
        ks = bc + 2 * m.longest if g > 0 else NULL
        if m.sim32 == NULL:
            n_pos = rk_gather_d(m.sim64 + x * m.sim_cols, m.indices + lo, m.dev + lo, hi - lo, g, bs, bd, ks, bg,
                                &kept)
        else:
            n_pos = rk_gather_f(m.sim32 + x * m.sim_cols, m.indices + lo, m.dev + lo, hi - lo, g, bs, bd, ks, bg,
                                &kept)
        c = n_pos
        if ks != NULL and n_pos > m.k and kept >= m.k:
            ps, pd, c = ks, bg, kept
    elif hi - lo > m.k:
        if g > 0:
            # the guess, as above, in two passes
            c = _gather(m, x, y, lo, hi, g, bs, bd, bg, bx, by, &n_pos)
            if c < m.k or n_pos <= m.k:
                c = 0  # missed: look at every candidate
        if c == 0:
            c = _gather(m, x, y, lo, hi, 0.0, bs, bd, bg, bx, by, &n_pos)
    else:
        # few candidates, all positive ones taken: one branch-free pass that sums them (a term of
        # weight 0.0 adds an exact zero, so the sums equal those over the positive ones in
        # candidate order)
        summed = True
        if m.sim_idx == NULL and m.sim32 == NULL and m.dev != NULL and m.center != ZSCORE:
            srow = m.sim64 + x * m.sim_cols
            for p in range(lo, hi):
                s = srow[m.indices[p]]
                w = s if s > 0 else 0.0
                n_pos += s > 0
                sum_sim += w
                sum_r += w * m.dev[p]
        else:
            for p in range(lo, hi):
                nb = m.indices[p]
                s = _sim(m, x, nb)
                w = s if s > 0 else 0.0
                dev = m.dev[p] if m.dev != NULL else _deviation(m, nb, m.data[p], y, bx, by)
                if m.center == ZSCORE:
                    sigma = m.sigmas[nb]
                n_pos += s > 0
                sum_sim += w
                sum_r += _term(m, w, dev, sigma)
    n = m.k if n_pos > m.k else n_pos
    if not summed:
        # the buffers hold c candidates in candidate order, a superset of the taken ones
        if c <= m.k:  # every one taken
            for q in range(c):
                sum_sim += ps[q]
                sum_r += _term(m, ps[q], pd[q], bg[q] if m.center == ZSCORE else 1.0)
        else:
            # the k-th largest similarity vk; taken: every one above vk, then those equal to vk in
            # candidate order while places are left (the stable rule: the earlier candidate wins a
            # tie); branch-free, the others weigh an exact 0.0
            vk = rk_kth_largest(ps, c, m.k, bc, bc + m.longest, &above)
            left = m.k - above
            for q in range(c):
                s = ps[q]
                tie = s == vk
                take = (s > vk) | (tie & (left > 0))
                left -= tie & take
                w = s if take else 0.0
                sum_sim += w
                sum_r += _term(m, w, pd[q], bg[q] if m.center == ZSCORE else 1.0)
    actual_k[0] = <i32>n
    if n < m.min_k or n == 0:
        code[0] = TOO_FEW
        if m.center == NONE:
            return m.global_mean
        if m.center == BASELINE:
            return m.global_mean + m.bu[u] + m.bi[i]
        return m.means[x]
    code[0] = POSSIBLE
    if m.center == NONE:
        return sum_r / sum_sim
    if m.center == BASELINE:
        return (m.global_mean + m.bu[u] + m.bi[i]) + sum_r / sum_sim
    if m.center == ZSCORE:
        return m.means[x] + (sum_r / sum_sim) * m.sigmas[x]
    return m.means[x] + sum_r / sum_sim


cdef Model _model(const i64[::1] cand_indptr, const i32[::1] cand_indices, const double[::1] cand_data,
                  const i32[:, ::1] sim_idx, const double[:, ::1] sim64, const float[:, ::1] sim32,
                  int k, int min_k, int center, int user_based, const double[::1] means,
                  const double[::1] sigmas, const double[::1] bu, const double[::1] bi, double global_mean):
    cdef Model m
    m.indptr = &cand_indptr[0]
    m.indices = &cand_indices[0] if cand_indices.shape[0] else NULL
    m.data = &cand_data[0] if cand_data.shape[0] else NULL
    m.sim_idx = &sim_idx[0, 0] if sim_idx.shape[0] else NULL
    m.sim64 = &sim64[0, 0] if sim64.shape[0] else NULL
    m.sim32 = &sim32[0, 0] if sim32.shape[0] else NULL
    m.sim_cols = sim64.shape[1] if sim64.shape[0] else sim32.shape[1]
    m.k, m.min_k, m.center, m.user_based = k, min_k, center, user_based
    m.means = &means[0] if means.shape[0] else NULL
    m.sigmas = &sigmas[0] if sigmas.shape[0] else NULL
    m.bu = &bu[0] if bu.shape[0] else NULL
    m.bi = &bi[0] if bi.shape[0] else NULL
    m.global_mean = global_mean
    m.longest = 0
    m.dev = NULL
    m.guess = NULL
    m.guess_cols = 0
    m.guess_rank = 0.0
    return m


cdef double GUESS_MARGIN = 1.5  # the guess aims at this many times k candidates (a miss costs a second pass)


cdef void _set_guess(Model* m, const double[:, ::1] guess, Py_ssize_t n_rows) noexcept nogil:
    """Use ``guess`` (empty: none), a sample of each row's similarities sorted descending: among
    n_cand candidates drawn like the row's entries, GUESS_MARGIN * k lie at or above the row's
    value of rank GUESS_MARGIN * k * n_rows / n_cand, i.e. sample rank guess_rank / n_cand."""
    if guess.shape[0] == 0 or guess.shape[1] == 0:
        return
    m.guess = &guess[0, 0]
    m.guess_cols = guess.shape[1]
    m.guess_rank = GUESS_MARGIN * m.k * <double>n_rows * <double>guess.shape[1] / <double>m.sim_cols


cdef void _fill_dev(Model* m, Py_ssize_t n_y, double[::1] dev, int n_threads) noexcept nogil:
    """dev[p] = the centred rating of candidate p (the same expression _predict_one evaluates),
    so that the scorers read one array in candidate order instead of a mean or bias per candidate."""
    cdef Py_ssize_t y, p
    cdef const double* bx = m.bu if m.user_based else m.bi
    cdef const double* by = m.bi if m.user_based else m.bu
    if dev.shape[0] == 0:
        return
    for y in prange(n_y, schedule="static", num_threads=n_threads):
        for p in range(m.indptr[y], m.indptr[y + 1]):
            dev[p] = _deviation(m, m.indices[p], m.data[p], <i32>y, bx, by)
    m.dev = &dev[0]


cdef _check_scratch(double[:, ::1] buf_sim, double[:, ::1] buf_dev, double[:, ::1] buf_copy):
    """The scratch rows _predict_one writes (the wrappers size them; a short one would be written past)."""
    if (buf_dev.shape[1] < 2 * buf_sim.shape[1] or buf_copy.shape[1] < 3 * buf_sim.shape[1]
            or buf_dev.shape[0] < buf_sim.shape[0] or buf_copy.shape[0] < buf_sim.shape[0]):
        raise ValueError("buf_dev and buf_copy need two and three times buf_sim's row length, and as many rows")


def knn_predict(const i32[::1] users, const i32[::1] items, const i64[::1] cand_indptr,
                const i32[::1] cand_indices, const double[::1] cand_data, const i32[:, ::1] sim_idx,
                const double[:, ::1] sim64, const float[:, ::1] sim32, int k, int min_k, int center,
                int user_based, const double[::1] means, const double[::1] sigmas, const double[::1] bu,
                const double[::1] bi, double global_mean, double[::1] est, i32[::1] actual_k, i8[::1] code,
                double[:, ::1] buf_sim, double[:, ::1] buf_dev, double[:, ::1] buf_copy, double[::1] dev,
                const double[:, ::1] guess, int n_threads):
    """Estimates for pairs; ``buf_*`` are per-thread scratch rows (see _predict_one for their lengths);
    ``dev``: empty, or one slot per candidate for the centred ratings (filled here, read per pair)."""
    _check_scratch(buf_sim, buf_dev, buf_copy)
    cdef Model m = _model(cand_indptr, cand_indices, cand_data, sim_idx, sim64, sim32, k, min_k, center,
                          user_based, means, sigmas, bu, bi, global_mean)
    m.longest = buf_sim.shape[1]
    _set_guess(&m, guess, sim64.shape[0] if sim64.shape[0] else sim32.shape[0])
    cdef Py_ssize_t p
    cdef int t
    with nogil:
        _fill_dev(&m, cand_indptr.shape[0] - 1, dev, n_threads)
    for p in prange(users.shape[0], nogil=True, schedule="guided", num_threads=n_threads):
        t = threadid()
        est[p] = _predict_one(&m, users[p], items[p], &buf_sim[t, 0], &buf_dev[t, 0], &buf_copy[t, 0],
                              &actual_k[p], &code[p])


def knn_score(const i32[::1] users, const i64[::1] cand_indptr, const i32[::1] cand_indices,
              const double[::1] cand_data, const i32[:, ::1] sim_idx, const double[:, ::1] sim64,
              const float[:, ::1] sim32, int k, int min_k, int center, int user_based, const double[::1] means,
              const double[::1] sigmas, const double[::1] bu, const double[::1] bi, double global_mean,
              double[:, ::1] scores, double[:, ::1] buf_sim, double[:, ::1] buf_dev, double[:, ::1] buf_copy,
              i32[::1] ak, i8[::1] code, double[::1] dev, const double[:, ::1] guess, int n_threads):
    """``scores[r, i]`` = estimate for (users[r], i) for every item i.

    ``buf_*`` are scratch rows as long as the longest candidate list and ``ak`` / ``code``
    scratch slots, one per thread; ``dev`` as in knn_predict.
    """
    _check_scratch(buf_sim, buf_dev, buf_copy)
    cdef Model m = _model(cand_indptr, cand_indices, cand_data, sim_idx, sim64, sim32, k, min_k, center,
                          user_based, means, sigmas, bu, bi, global_mean)
    m.longest = buf_sim.shape[1]
    _set_guess(&m, guess, sim64.shape[0] if sim64.shape[0] else sim32.shape[0])
    with nogil:
        _fill_dev(&m, cand_indptr.shape[0] - 1, dev, n_threads)
    cdef Py_ssize_t r, i
    cdef int t
    if user_based:  # x = the user: one similarity row per task, hot in cache across all items
        for r in prange(users.shape[0], nogil=True, schedule="dynamic", num_threads=n_threads):
            t = threadid()
            for i in range(scores.shape[1]):
                scores[r, i] = _predict_one(&m, users[r], <i32>i, &buf_sim[t, 0], &buf_dev[t, 0], &buf_copy[t, 0],
                                            &ak[t], &code[t])
    else:  # x = the item: one task per item, its similarity row hot in cache across the block's users
        for i in prange(scores.shape[1], nogil=True, schedule="dynamic", num_threads=n_threads):
            t = threadid()
            for r in range(users.shape[0]):
                scores[r, i] = _predict_one(&m, users[r], <i32>i, &buf_sim[t, 0], &buf_dev[t, 0], &buf_copy[t, 0],
                                            &ak[t], &code[t])


# ---------------------------------------------------------------- recommend: score + top-k, fused
include "_topk_heap.pxi"

ctypedef fused real_t:
    float
    double

cdef enum:
    TILE = 512  # targets per tile: their accumulators (about 32 bytes each) stay in L1 across the candidates


cdef inline double _estimate(const Model* m, i32 u, i32 i, Py_ssize_t n, double sum_sim, double sum_r) noexcept nogil:
    """_predict_one's last step for a known pair (x = u user-based, i item-based)."""
    cdef i32 x = u if m.user_based else i
    if n < m.min_k or n == 0:
        if m.center == NONE:
            return m.global_mean
        if m.center == BASELINE:
            return m.global_mean + m.bu[u] + m.bi[i]
        return m.means[x]
    if m.center == NONE:
        return sum_r / sum_sim
    if m.center == BASELINE:
        return (m.global_mean + m.bu[u] + m.bi[i]) + sum_r / sum_sim
    if m.center == ZSCORE:
        return m.means[x] + (sum_r / sum_sim) * m.sigmas[x]
    return m.means[x] + sum_r / sum_sim


cdef void _item_based_row(const Model* m, const real_t* sim, i32 u, Py_ssize_t n_items, double* row,
                          double* acc, i32* n_take) noexcept nogil:
    """Item-based estimates of every item not marked -inf in ``row`` for a user u who rated at most
    k items, into ``row``.

    The candidates of every target i are then all taken where positive (no selection), they are
    the same for every target, and the dense similarity is symmetric: sim(i, j) = sim[j, i]. So
    the candidates' rows are streamed (contiguous) into per-target sums, tile by tile, in
    candidate order: the sums of _predict_one in the same order, so the estimates are identical."""
    cdef Py_ssize_t lo = m.indptr[u], hi = m.indptr[u + 1], p, i, t0, t1
    cdef double* sum_sim = acc
    cdef double* sum_r = acc + n_items
    cdef const real_t* srow
    cdef double s, w, d, sigma
    for i in range(n_items):
        sum_sim[i] = 0.0
        sum_r[i] = 0.0
        n_take[i] = 0
    for t0 in range((n_items + TILE - 1) // TILE):
        t1 = min(t0 * TILE + TILE, n_items)
        for p in range(lo, hi):
            d = m.dev[p] if m.dev != NULL else _deviation(m, m.indices[p], m.data[p], u, m.bi, m.bu)
            srow = sim + <Py_ssize_t>m.indices[p] * n_items
            if m.center == ZSCORE:
                sigma = m.sigmas[m.indices[p]]
                for i in range(t0 * TILE, t1):
                    s = srow[i]
                    w = s if s > 0 else 0.0
                    sum_sim[i] += w
                    sum_r[i] += w * d / sigma
                    n_take[i] += s > 0
            else:
                for i in range(t0 * TILE, t1):
                    s = srow[i]
                    w = s if s > 0 else 0.0
                    sum_sim[i] += w
                    sum_r[i] += w * d
                    n_take[i] += s > 0
    for i in range(n_items):
        if row[i] != -INFINITY:
            row[i] = _estimate(m, u, <i32>i, n_take[i], sum_sim[i], sum_r[i])



cdef inline double _median3(double a, double b, double c) noexcept nogil:
    if a < b:
        return b if b < c else (c if a < c else a)
    return a if a < c else (c if b < c else b)


cdef void _sort_desc(double* key, i32* val, Py_ssize_t n) noexcept nogil:
    """Quicksort of (key, val) pairs by key, largest first (the order among equal keys is left open:
    the walk below does not depend on it): Hoare partitions around a median-of-3 value (runs of
    equal keys split in the middle, so ties cost no extra rounds), the smaller side sorted by
    recursion (depth at most log2 n) and the larger by the loop; insertion sort below 16."""
    cdef Py_ssize_t i, j
    cdef double pivot, tk
    cdef i32 tv
    while n > 16:
        pivot = _median3(key[0], key[n >> 1], key[n - 1])
        i, j = -1, n
        while True:
            i += 1
            while key[i] > pivot:
                i += 1
            j -= 1
            while key[j] < pivot:
                j -= 1
            if i >= j:
                break
            tk, tv = key[i], val[i]
            key[i], val[i] = key[j], val[j]
            key[j], val[j] = tk, tv
        j += 1  # key[:j] >= pivot >= key[j:], both sides non-empty
        if j < n - j:
            _sort_desc(key, val, j)
            key, val, n = key + j, val + j, n - j
        else:
            _sort_desc(key + j, val + j, n - j)
            n = j
    for i in range(1, n):
        tk, tv = key[i], val[i]
        j = i - 1
        while j >= 0 and key[j] < tk:
            key[j + 1], val[j + 1] = key[j], val[j]
            j -= 1
        key[j + 1], val[j + 1] = tk, tv


cdef extern from "rk_knn_walk.h" nogil:
    # the walk over bit sets of targets (item-based: a block's users; user-based: the items) (see the header)
    void rk_walk_bits(const double* nbr_s, const i32* nbr_v, Py_ssize_t n_nb, const u64* bits, const i64* base,
                      Py_ssize_t n_words, const double* xd, i64 k, u64* open_, u64* fill_run, u64* flagged,
                      double* ss, double* sr, i64* cnt)


cdef struct WalkSlot:  # one target's state in the walk (_walk): one 32-byte load and store per step
    double ss      # the sum of the similarities taken
    double sr      # the sum of their terms
    i64 run        # the run of equal similarities (_walk) that took the target's latest contributor
    i64 cnt        # contributors taken; k + 1: a left-out tie; k + 2: excluded; -1 (afterwards): exact


cdef Py_ssize_t _sorted_neighbours(const Model* m, Py_ssize_t x, double* nbr_s, i32* nbr_v) noexcept nogil:
    """x's positive similarities (dense storage) and their columns, most similar first."""
    cdef Py_ssize_t v, n_nb = 0
    cdef double s
    cdef const double* srow64 = m.sim64 + x * m.sim_cols if m.sim32 == NULL else NULL
    cdef const float* srow32 = m.sim32 + x * m.sim_cols if m.sim32 != NULL else NULL
    for v in range(m.sim_cols):
        s = srow64[v] if srow32 == NULL else srow32[v]
        if s > 0:
            nbr_s[n_nb] = s
            nbr_v[n_nb] = <i32>v
            n_nb += 1
    _sort_desc(nbr_s, nbr_v, n_nb)
    return n_nb


cdef void _walk(const double* nbr_s, const i32* nbr_v, Py_ssize_t n_nb, const i64* xp, const i32* xi,
                const double* xd, Py_ssize_t k, WalkSlot* slot, Py_ssize_t n_open) noexcept nogil:
    """The neighbours, most similar first, over their targets (``xp/xi/xd``: each neighbour's
    targets and centred ratings): each target's slot takes its first k contributors, which are
    its k most similar, summed in that order; a target whose k-th place is tied with one it had
    to leave out (a neighbour of the same run of equal similarities as its k-th finds it full)
    is flagged (cnt k + 1). Targets with cnt k + 2 take none. ``n_open``: the targets that
    start with fewer than k; once every one is full, the walk ends where the next run begins
    (the later neighbours could change nothing)."""
    cdef Py_ssize_t q, p
    cdef i64 c, take, run = 0
    cdef double s, tk
    cdef WalkSlot* a
    cdef double one_if[2]
    one_if[0] = 0.0
    one_if[1] = 1.0
    for q in range(n_nb):
        s = nbr_s[q]
        if q > 0 and s != nbr_s[q - 1]:
            if n_open == 0:
                break
            run += 1
        for p in range(xp[nbr_v[q]], xp[nbr_v[q] + 1]):
            # whether a target is full is unpredictable, so this is branch-free: the sums take
            # products with tk (1.0 or 0.0, read from a table rather than converted), the run
            # a select by mask (a conditional expression here compiles to a mispredicted branch)
            a = &slot[xi[p]]
            c = a.cnt
            take = c < k
            tk = one_if[take]
            a.ss += s * tk
            a.sr += s * (xd[p] * tk)
            a.cnt = c + (take | ((a.run == run) & (c == k)))
            a.run = (run & -take) | (a.run & (take - 1))
            n_open -= take & (c == k - 1)


cdef inline double _walk_delta(const Model* m, double T, double dmax, double sigma) noexcept nogil:
    """A bound on the rounding by which a walk's estimate differs from _predict_one's: two sums of
    at most k terms in different orders, their ratio and the final steps, with a wide margin
    (|terms| <= dmax per unit weight; z-score scales by the target's sigma, at most ``sigma``)."""
    if T == -INFINITY:
        return INFINITY
    return (8.0 * m.k + 32.0) * DBL_EPSILON * (fabs(T) + 1.0 + dmax * (sigma if m.center == ZSCORE else 1.0))


cdef void _user_based_row(const Model* m, i32 u, Py_ssize_t n_items, Py_ssize_t kk, const i64* xp, const i32* xi,
                          const double* xd, const u64* bits, const i64* base, double dmax, double* row,
                          const double* nbr_s, const i32* nbr_v, Py_ssize_t n_nb, WalkSlot* slot, u64* masks,
                          double* bs, double* bd, double* bc, double* top_s, i64* top_j) noexcept nogil:
    """User-based estimates for the items not marked -inf in ``row`` (dense storage), exact where
    they can reach the top kk.

    Instead of selecting the k most similar raters per item, u's positive neighbours are sorted
    once by similarity and walked in that order over their ratings (_walk; ``xp/xi/xd``: the
    by-user CSR of the candidates, ``xd`` their centred ratings, divided by the neighbour's sigma
    for z-score; ``dmax`` the largest |xd|): approximate sums, in similarity order, not candidate
    order. An item whose k-th place is tied with a rater it had to leave out (the stable rule
    then picks by candidate order) is scored exactly at once. The others' sums differ from the
    exact ones by rounding only (at most delta, _walk_delta); every item whose approximate
    estimate is within 2 delta of the kk-th best is then scored exactly by _predict_one, so the
    top kk (all exact) and their order are those of the per-pair definition: the items left
    approximate lie more than delta below kk exact estimates.

    With ``bits`` (per neighbour, the bit set of the items it rated, ``base`` each word's first
    position in ``xd``; ``masks`` 3 x words) the walk is rk_walk_bits over the items as rows: a
    step only for the items with room, the same sums in the same order, the same ties flagged;
    the sums then lie in ``slot`` as three arrays of 64 x words (ss, sr, cnt). Without, _walk
    steps through every rating of every neighbour walked. ``nbr_s/nbr_v``: u's n_nb positive
    neighbours, most similar first (_sorted_neighbours)."""
    cdef Py_ssize_t i, n, w, k = m.k, n_words = (n_items + 63) // 64
    cdef double T, delta
    cdef i32 ak
    cdef i8 code
    cdef Py_ssize_t n_open = 0
    cdef double* ss = <double*>slot
    cdef double* sr = ss + 64 * n_words
    cdef i64* cnt = <i64*>(ss + 128 * n_words)
    cdef u64 live
    if bits != NULL:
        for w in range(n_words):
            live = 0
            for i in range(64 * w, min(64 * w + 64, n_items)):
                live = live | (<u64>(row[i] != -INFINITY) << (i - 64 * w))
                ss[i] = 0.0
                sr[i] = 0.0
                cnt[i] = 0
            masks[w] = live
        rk_walk_bits(nbr_s, nbr_v, n_nb, bits, base, n_words, xd, k, masks, masks + n_words, masks + 2 * n_words,
                     ss, sr, cnt)
        for i in range(n_items):
            if row[i] == -INFINITY:
                continue
            if (masks[2 * n_words + i // 64] >> (i % 64)) & 1:  # a left-out tie: exact now
                row[i] = _predict_one(m, u, <i32>i, bs, bd, bc, &ak, &code)
                cnt[i] = -1
            else:
                row[i] = _estimate(m, u, <i32>i, cnt[i], ss[i], sr[i])
        _top_row(row, n_items, kk, top_s, top_j)
        T = top_s[kk - 1]
        delta = _walk_delta(m, T, dmax, m.sigmas[u] if m.center == ZSCORE else 1.0)
        for i in range(n_items):
            if row[i] != -INFINITY and cnt[i] >= 0 and (delta == INFINITY or row[i] >= T - 2.0 * delta):
                row[i] = _predict_one(m, u, <i32>i, bs, bd, bc, &ak, &code)
        return
    for i in range(n_items):
        slot[i].ss = 0.0
        slot[i].sr = 0.0
        slot[i].run = -1
        slot[i].cnt = k + 2 if row[i] == -INFINITY else 0  # an excluded item never takes a contributor
        n_open += row[i] != -INFINITY
    _walk(nbr_s, nbr_v, n_nb, xp, xi, xd, k, slot, n_open)
    for i in range(n_items):
        if row[i] == -INFINITY:
            continue
        if slot[i].cnt == k + 1:
            row[i] = _predict_one(m, u, <i32>i, bs, bd, bc, &ak, &code)
            slot[i].cnt = -1  # exact
        else:
            n = slot[i].cnt
            row[i] = _estimate(m, u, <i32>i, n, slot[i].ss, slot[i].sr)
    _top_row(row, n_items, kk, top_s, top_j)
    T = top_s[kk - 1]
    delta = _walk_delta(m, T, dmax, m.sigmas[u] if m.center == ZSCORE else 1.0)
    for i in range(n_items):
        if row[i] != -INFINITY and slot[i].cnt >= 0 and (delta == INFINITY or row[i] >= T - 2.0 * delta):
            row[i] = _predict_one(m, u, <i32>i, bs, bd, bc, &ak, &code)


def knn_recommend(const i32[::1] users, const i64[::1] cand_indptr, const i32[::1] cand_indices,
                  const double[::1] cand_data, const i32[:, ::1] sim_idx, const double[:, ::1] sim64,
                  const float[:, ::1] sim32, int k, int min_k, int center, int user_based, const double[::1] means,
                  const double[::1] sigmas, const double[::1] bu, const double[::1] bi, double global_mean,
                  const i64[::1] seen_indptr, const i32[::1] seen_indices, bint exclude, bint symmetric,
                  i64[:, ::1] out_idx, double[:, ::1] out_val, double[::1] dev, double[:, ::1] rows,
                  double[:, ::1] acc, i32[:, ::1] cnt, double[:, ::1] buf_sim, double[:, ::1] buf_dev,
                  double[:, ::1] buf_copy, const double[:, ::1] guess, const i64[::1] x_indptr,
                  const i32[::1] x_indices, const double[::1] x_data, const u64[:, ::1] x_bits,
                  const i64[:, ::1] x_base, double[:, ::1] nbr_s, i32[:, ::1] nbr_v, const i64[::1] sorted_indptr,
                  const double[::1] sorted_s, const i32[::1] sorted_v, u64[:, ::1] masks, i64[:, ::1] top_j,
                  int n_threads):
    """Top-k items per user, the seen ones excluded, without a score block: each thread scores
    one user's row (``rows[t]``) and selects from it at once (topk_rows' rule: best first, ties
    by the smaller item, -inf never, -1 / -inf padding).

    User-based with dense storage: _user_based_row (the neighbours sorted once and walked; ``x_*``
    the candidates transposed with their centred ratings, ``nbr_*`` n_x slots, ``acc`` 4 x n_items
    doubles (a WalkSlot per item) and ``top_j`` kk slots per thread). With ``x_bits`` (n_x rows,
    a word per 64 items: each neighbour's rated items) and ``x_base`` (each word's first position
    in ``x_data``), the walk over bit sets: ``acc`` then needs 3 x 64 x words doubles and
    ``masks`` 3 x words per thread. ``sorted_*``: each user's sorted positive neighbours
    (knn_sorted_neighbours), or empty: sorted per user into ``nbr_*``.
    Item-based with dense ``symmetric`` storage, for users with at most k ratings:
    _item_based_row (``acc`` 2 x n_items doubles and ``cnt`` n_items ints per thread). Otherwise
    _predict_one per pair with the centred ratings precomputed in ``dev`` (one per candidate), on
    the buffers ``buf_*`` as in knn_score. (User-based, one similarity row serves the whole user;
    item-based, the caller sends the other users to knn_score, whose item-major loop keeps each
    item's similarity row in cache across users.)
    """
    _check_scratch(buf_sim, buf_dev, buf_copy)
    cdef Model m = _model(cand_indptr, cand_indices, cand_data, sim_idx, sim64, sim32, k, min_k, center,
                          user_based, means, sigmas, bu, bi, global_mean)
    m.longest = buf_sim.shape[1]
    _set_guess(&m, guess, sim64.shape[0] if sim64.shape[0] else sim32.shape[0])
    cdef Py_ssize_t r, i, p, n_items = rows.shape[1], kk = out_idx.shape[1]
    cdef int t
    cdef i32 u, ak
    cdef i8 code
    cdef bint fused = not user_based and symmetric and sim_idx.shape[0] == 0
    cdef bint walk = user_based and sim_idx.shape[0] == 0 and x_indptr.shape[0] > 0 and kk > 0
    cdef double dmax = 0.0
    cdef Py_ssize_t n_words = (n_items + 63) // 64
    cdef bint bit_walk = walk and x_bits.shape[0] > 0
    cdef bint cached = walk and sorted_indptr.shape[0] > 0
    cdef Py_ssize_t n_nb
    if walk:
        if acc.shape[1] < 4 * n_items:
            raise ValueError("acc needs 4 x n_items doubles per thread for the user-based walk")
        if bit_walk and (x_bits.shape[1] != n_words or x_base.shape[0] != x_bits.shape[0]
                         or x_base.shape[1] != n_words or x_bits.shape[0] != x_indptr.shape[0] - 1
                         or acc.shape[1] < 3 * 64 * n_words or masks.shape[1] < 3 * n_words
                         or masks.shape[0] < n_threads or acc.shape[0] < n_threads):
            raise ValueError("x_bits and x_base need a row per neighbour and a word per 64 items, acc 3 x 64 x "
                             "words doubles and masks 3 x words per thread")
        if sorted_indptr.shape[0] and (sorted_indptr.shape[0] != x_indptr.shape[0]
                                       or sorted_s.shape[0] < sorted_indptr[sorted_indptr.shape[0] - 1]
                                       or sorted_v.shape[0] < sorted_indptr[sorted_indptr.shape[0] - 1]):
            raise ValueError("sorted_indptr needs an entry per neighbour and one more, sorted_s and sorted_v "
                             "its last entry's slots")
        for p in range(x_data.shape[0]):
            dmax = max(dmax, fabs(x_data[p]))
    with nogil:
        _fill_dev(&m, cand_indptr.shape[0] - 1, dev, n_threads)
        for r in prange(users.shape[0], schedule="dynamic", num_threads=n_threads):
            t = threadid()
            u = users[r]
            for i in range(n_items):
                rows[t, i] = 0.0
            if exclude and u >= 0:
                for p in range(seen_indptr[u], seen_indptr[u + 1]):
                    rows[t, seen_indices[p]] = -INFINITY
            if u >= 0 and walk:
                if cached:
                    n_nb = sorted_indptr[u + 1] - sorted_indptr[u]
                else:
                    n_nb = _sorted_neighbours(&m, u, &nbr_s[t, 0], &nbr_v[t, 0])
                _user_based_row(&m, u, n_items, kk, &x_indptr[0], &x_indices[0] if x_indices.shape[0] else NULL,
                                &x_data[0] if x_data.shape[0] else NULL, &x_bits[0, 0] if bit_walk else NULL,
                                &x_base[0, 0] if bit_walk else NULL, dmax, &rows[t, 0],
                                &sorted_s[sorted_indptr[u]] if cached and n_nb else &nbr_s[t, 0],
                                &sorted_v[sorted_indptr[u]] if cached and n_nb else &nbr_v[t, 0], n_nb,
                                <WalkSlot*>&acc[t, 0], &masks[t, 0] if bit_walk else NULL, &buf_sim[t, 0],
                                &buf_dev[t, 0], &buf_copy[t, 0], &out_val[r, 0], &top_j[t, 0])
            elif u >= 0 and fused and m.indptr[u + 1] - m.indptr[u] <= k:
                if m.sim32 != NULL:
                    _item_based_row(&m, m.sim32, u, n_items, &rows[t, 0], &acc[t, 0], &cnt[t, 0])
                else:
                    _item_based_row(&m, m.sim64, u, n_items, &rows[t, 0], &acc[t, 0], &cnt[t, 0])
            else:
                for i in range(n_items):
                    if rows[t, i] != -INFINITY:
                        rows[t, i] = _predict_one(&m, u, <i32>i, &buf_sim[t, 0], &buf_dev[t, 0], &buf_copy[t, 0],
                                                  &ak, &code)
            if kk > 0:
                _top_row(&rows[t, 0], n_items, kk, &out_val[r, 0], &out_idx[r, 0])


cdef Py_ssize_t _count_positive(const Model* m, Py_ssize_t x) noexcept nogil:
    """How many of x's similarities (dense storage) are positive: _sorted_neighbours' count."""
    cdef Py_ssize_t v, n = 0
    cdef const double* srow64 = m.sim64 + x * m.sim_cols if m.sim32 == NULL else NULL
    cdef const float* srow32 = m.sim32 + x * m.sim_cols if m.sim32 != NULL else NULL
    for v in range(m.sim_cols):
        n += (srow64[v] if srow32 == NULL else srow32[v]) > 0
    return n


def knn_sorted_neighbours(const double[:, ::1] sim64, const float[:, ::1] sim32, int n_threads):
    """Every row's positive similarities and their columns, most similar first (_sorted_neighbours):
    (indptr, s, v), row x at indptr[x]:indptr[x + 1]. Rows counted first, then filled, in parallel."""
    cdef Py_ssize_t n_rows = sim64.shape[0] if sim64.shape[0] else sim32.shape[0], x
    cdef Model m
    m.sim64 = &sim64[0, 0] if sim64.shape[0] else NULL
    m.sim32 = &sim32[0, 0] if sim32.shape[0] else NULL
    m.sim_cols = sim64.shape[1] if sim64.shape[0] else sim32.shape[1]
    indptr = np.zeros(n_rows + 1, np.int64)
    cdef i64[::1] ip = indptr
    if m.sim_cols == 0:
        return indptr, np.empty(0), np.empty(0, np.int32)
    for x in prange(n_rows, nogil=True, schedule="static", num_threads=n_threads):
        ip[x + 1] = _count_positive(&m, x)
    np.cumsum(indptr, out=indptr)
    s, v = np.empty(ip[n_rows]), np.empty(ip[n_rows], np.int32)
    cdef double[::1] sv = s
    cdef i32[::1] vv = v
    cdef double* s0 = &sv[0] if ip[n_rows] else NULL
    cdef i32* v0 = &vv[0] if ip[n_rows] else NULL
    if ip[n_rows]:
        for x in prange(n_rows, nogil=True, schedule="dynamic", num_threads=n_threads):
            _sorted_neighbours(&m, x, s0 + ip[x], v0 + ip[x])
    return indptr, s, v


cdef inline double _item_bound(const Model* m, i32 u, i32 i, double dmax_u) noexcept nogil:
    """An upper bound on the item-based estimate of (u, i), _estimate's: the weighted mean of the
    terms is at most u's largest term ``dmax_u`` (its centred ratings, z-score: divided by the
    neighbour's sigma), and 0 where too few neighbours count. _predict_one's rounding of it lies
    far inside _walk_delta."""
    cdef double a = dmax_u if dmax_u > 0 else 0.0
    if m.center == NONE:
        return dmax_u if dmax_u > m.global_mean else m.global_mean
    if m.center == BASELINE:
        return (m.global_mean + m.bu[u] + m.bi[i]) + a
    if m.center == ZSCORE:
        return m.means[i] + a * m.sigmas[i]
    return m.means[i] + a


cdef inline double _bound_key(const Model* m, i32 i, double* scale) noexcept nogil:
    """_item_bound(u, i, d) = key + scale * max(0, d) + _bound_offset(u), up to rounding (mean,
    z-score and baseline centring): the item's part, for the pruning test of _walk_item."""
    if m.center == BASELINE:
        scale[0] = 1.0
        return m.bi[i]
    scale[0] = m.sigmas[i] if m.center == ZSCORE else 1.0
    return m.means[i]


cdef inline double _bound_offset(const Model* m, i32 u) noexcept nogil:
    return m.global_mean + m.bu[u] if m.center == BASELINE else 0.0


cdef double _kth_of(const double* row, const i32* cols, Py_ssize_t n, Py_ssize_t k, double* hs,
                    i64* hj) noexcept nogil:
    """The k-th largest of row[cols[:n]], -inf ignored (-inf if fewer than k others): a size-k heap."""
    cdef Py_ssize_t q, c = 0
    cdef double s
    for q in range(n):
        s = row[cols[q]]
        if s == -INFINITY:
            continue
        if c < k:
            hs[c] = s
            hj[c] = cols[q]
            _sift_up(hs, hj, c)
            c += 1
        elif s > hs[0]:
            hs[0] = s
            hj[0] = cols[q]
            _sift_down(hs, hj, k, 0)
    return hs[0] if c == k else -INFINITY


cdef struct ItemWalk:  # one block of knn_recommend_item_walk: what _walk_item reads and writes
    const Model* m
    const i32* users
    Py_ssize_t n_rows, n_words, n_items
    const i64* nbr_indptr
    const double* nbr_s
    const i32* nbr_v
    const u64* bits
    const i64* base
    const double* x_data
    const u64* seen_bits
    const double* lim   # per row: prune (row, i) where _bound_key + scale * xpos < lim; NULL: none
    const double* xpos  # per row: max(0, x_max)
    double* scores
    i8* exact


cdef void _walk_item(const ItemWalk* b, Py_ssize_t i, double* ss, double* sr, i64* cnt, u64* masks) noexcept nogil:
    """Target item i over the block (see knn_recommend_item_walk): its walk into the sums, then
    the approximate estimates into column i of ``scores``; -inf and a flag in ``exact`` for the
    rows left to the row pass (a left-out tie, or pruned). ``masks``: 4 x n_words words."""
    cdef Py_ssize_t r, w, j, n_words = b.n_words, n_nb = b.nbr_indptr[i + 1] - b.nbr_indptr[i]
    cdef u64* open_ = masks
    cdef u64* flagged = masks + 2 * n_words
    cdef u64* pruned = masks + 3 * n_words
    cdef u64 live, keep
    cdef double key = 0.0, scale = 1.0
    for r in range(b.n_rows):
        ss[r] = 0.0
        sr[r] = 0.0
        cnt[r] = 0
    if b.lim != NULL:
        key = _bound_key(b.m, <i32>i, &scale)
    for w in range(n_words):
        live = ~(<u64>0) if b.n_rows - 64 * w >= 64 else (<u64>1 << (b.n_rows - 64 * w)) - 1
        live = live & ~b.seen_bits[i * n_words + w]
        keep = live
        if b.lim != NULL:
            keep = 0
            for j in range(min(64, b.n_rows - 64 * w)):
                keep = keep | (<u64>(key + scale * b.xpos[64 * w + j] >= b.lim[64 * w + j]) << j)
            keep = keep & live
        open_[w] = keep
        pruned[w] = live & ~keep
    if n_nb > 0:
        rk_walk_bits(b.nbr_s + b.nbr_indptr[i], b.nbr_v + b.nbr_indptr[i], n_nb, b.bits, b.base, n_words,
                     b.x_data, b.m.k, open_, open_ + n_words, flagged, ss, sr, cnt)
    else:
        for w in range(n_words):
            flagged[w] = 0
    for r in range(b.n_rows):
        w = r // 64
        j = r % 64
        b.exact[r * b.n_items + i] = ((flagged[w] | pruned[w]) >> j) & 1
        if b.exact[r * b.n_items + i] or (b.seen_bits[i * n_words + w] >> j) & 1:
            b.scores[r * b.n_items + i] = -INFINITY  # left to the row pass, or seen (left out)
        else:
            b.scores[r * b.n_items + i] = _estimate(b.m, b.users[r], <i32>i, cnt[r], ss[r], sr[r])


def knn_recommend_item_walk(const i32[::1] users, const i64[::1] cand_indptr, const i32[::1] cand_indices,
                            const double[::1] cand_data, const double[:, ::1] sim64, const float[:, ::1] sim32,
                            int k, int min_k, int center, const double[::1] means, const double[::1] sigmas,
                            const double[::1] bu, const double[::1] bi, double global_mean,
                            const i64[::1] seen_indptr, const i32[::1] seen_indices, bint exclude,
                            i64[:, ::1] out_idx, double[:, ::1] out_val, double[::1] dev, double[:, ::1] scores,
                            i8[:, ::1] exact, const u64[:, ::1] bits, const i64[:, ::1] base,
                            const double[::1] x_data, const double[::1] x_max, const u64[:, ::1] seen_bits,
                            const i32[::1] probe, const i64[::1] nbr_indptr, const double[::1] nbr_s,
                            const i32[::1] nbr_v, double[:, ::1] slots, u64[:, ::1] masks,
                            double[:, ::1] buf_sim, double[:, ::1] buf_dev, double[:, ::1] buf_copy,
                            i64[:, ::1] top_j, int n_threads):
    """Item-based top-k for a block of known users (dense storage), the walk turned around.

    Per target item i (in parallel): i's positive neighbours, most similar first, walked over the
    block's users who rated them (rk_walk_bits; ``bits``: per item, the bit set of the block rows
    that rated it, ``base`` each word's first position in ``x_data``, the centred ratings by item,
    rows ascending, divided by the item's sigma for z-score) into per-row sums (``slots``: 3 x
    64 x n_words doubles per thread, ``masks`` 4 x n_words words): approximate estimates into
    ``scores[:, i]``, or a flag in ``exact`` where a left-out tie makes the walk's choice unsure.
    Rows that have i among their seen items (``seen_bits``, as ``bits``) take nothing when
    ``exclude`` (they are left out).

    Pruning: the ``probe`` items (distinct; those likeliest to make the top, empty: no pruning)
    are walked first. Each row's kk-th best of their estimates, L, is a floor under the row's
    final kk-th best, so the other items are walked only for the rows where i's bound
    (_item_bound; ``x_max``: each row's largest ``x_data``) reaches L; the rest are flagged too.
    Mean, z-score and baseline centring (the bound of no centring does not depend on the item).

    Then per row (in parallel), as in _user_based_row: the seen items excluded, T the kk-th best
    approximate estimate, every item within 2 delta of T scored exactly, and the top kk selected
    (topk_rows' rule), so the result is that of the per-pair definition. A flagged item is scored
    exactly only where its bound reaches T - 2 delta: the others lie more than delta below kk
    exact estimates, as the approximate ones left out do. ``nbr_*``: each item's sorted positive
    neighbours (knn_sorted_neighbours), shared by the blocks."""
    _check_scratch(buf_sim, buf_dev, buf_copy)
    cdef Py_ssize_t n_rows = users.shape[0], n_items = scores.shape[1], kk = out_idx.shape[1]
    cdef Py_ssize_t n_words = (n_rows + 63) // 64, n_probe = probe.shape[0]
    if scores.shape[0] < n_rows or exact.shape[0] < n_rows or exact.shape[1] != n_items:
        raise ValueError("scores and exact need a row per user and a column per item")
    if (bits.shape[0] != n_items or bits.shape[1] != n_words or base.shape[0] != n_items or base.shape[1] != n_words
            or seen_bits.shape[0] != n_items or seen_bits.shape[1] != n_words):
        raise ValueError("bits, base and seen_bits need a row per item and a word per 64 users")
    if slots.shape[1] < 3 * 64 * n_words or masks.shape[1] < 4 * n_words or slots.shape[0] < n_threads \
            or masks.shape[0] < n_threads:
        raise ValueError("slots need 3 x 64 x words doubles and masks 4 x words per thread")
    if x_max.shape[0] < n_rows:
        raise ValueError("x_max needs a value per user")
    if nbr_indptr.shape[0] != n_items + 1 or kk < 1:
        raise ValueError("nbr_indptr needs n_items + 1 entries, kk >= 1")
    if nbr_s.shape[0] < nbr_indptr[n_items] or nbr_v.shape[0] < nbr_indptr[n_items]:
        raise ValueError("nbr_s and nbr_v need nbr_indptr[-1] slots")
    is_probe = np.zeros(n_items, np.int8)
    if n_probe:
        if np.min(probe) < 0 or np.max(probe) >= n_items:
            raise ValueError("probe holds item indices")
        is_probe[np.asarray(probe)] = 1
        if is_probe.sum() != n_probe:
            raise ValueError("probe holds distinct items")
    rest = np.flatnonzero(is_probe == 0).astype(np.int32)
    cdef const i32[::1] later = rest
    cdef const i8[::1] probed = is_probe
    lim_arr = np.full(n_rows, -np.inf)
    xpos_arr = np.maximum(np.asarray(x_max[:n_rows]), 0.0)
    cdef double[::1] lim = lim_arr
    cdef const double[::1] xpos = xpos_arr
    cdef bint prune = n_probe > 0 and rest.shape[0] > 0 and center != NONE
    cdef Model m = _model(cand_indptr, cand_indices, cand_data, np.empty((0, 0), np.int32), sim64, sim32, k,
                          min_k, center, 0, means, sigmas, bu, bi, global_mean)
    m.longest = buf_sim.shape[1]
    cdef ItemWalk b
    b.m = &m
    b.users = &users[0] if n_rows else NULL
    b.n_rows, b.n_words, b.n_items = n_rows, n_words, n_items
    b.nbr_indptr = &nbr_indptr[0]
    b.nbr_s = &nbr_s[0] if nbr_s.shape[0] else NULL
    b.nbr_v = &nbr_v[0] if nbr_v.shape[0] else NULL
    b.bits = &bits[0, 0] if bits.shape[0] and n_words else NULL
    b.base = &base[0, 0] if base.shape[0] and n_words else NULL
    b.x_data = &x_data[0] if x_data.shape[0] else NULL
    b.seen_bits = &seen_bits[0, 0] if seen_bits.shape[0] and n_words else NULL
    b.lim = NULL
    b.xpos = &xpos[0] if n_rows else NULL
    b.scores = &scores[0, 0] if n_rows and n_items else NULL
    b.exact = &exact[0, 0] if n_rows and n_items else NULL
    if n_rows == 0 or n_items == 0:
        return
    cdef Py_ssize_t r, i, q, p
    cdef double dmax = 0.0, sigma = 1.0, T, delta, key, scale
    cdef int t
    cdef i32 ak
    cdef i8 code
    cdef bint rescore
    for p in range(x_data.shape[0]):
        dmax = max(dmax, fabs(x_data[p]))
    if center == ZSCORE:
        for i in range(sigmas.shape[0]):
            sigma = max(sigma, sigmas[i])
    with nogil:
        _fill_dev(&m, cand_indptr.shape[0] - 1, dev, n_threads)
        # the probes (or, unpruned, every item), then each row's floor, then the other items
        for q in prange(n_probe if prune else n_items, schedule="dynamic", num_threads=n_threads):
            t = threadid()
            _walk_item(&b, probe[q] if prune else q, &slots[t, 0], &slots[t, 64 * n_words],
                       <i64*>&slots[t, 128 * n_words], &masks[t, 0])
        if prune:
            for r in prange(n_rows, schedule="static", num_threads=n_threads):
                t = threadid()
                T = _kth_of(&scores[r, 0], &probe[0], n_probe, kk, &out_val[r, 0], &top_j[t, 0])
                if T != -INFINITY:
                    lim[r] = T - _bound_offset(&m, users[r])
            b.lim = &lim[0]
            for q in prange(later.shape[0], schedule="dynamic", num_threads=n_threads):
                t = threadid()
                _walk_item(&b, later[q], &slots[t, 0], &slots[t, 64 * n_words], <i64*>&slots[t, 128 * n_words],
                           &masks[t, 0])
        for r in prange(n_rows, schedule="dynamic", num_threads=n_threads):
            t = threadid()
            if exclude:
                for p in range(seen_indptr[users[r]], seen_indptr[users[r] + 1]):
                    scores[r, seen_indices[p]] = -INFINITY
            _top_row(&scores[r, 0], n_items, kk, &out_val[r, 0], &top_j[t, 0])
            T = out_val[r, kk - 1]
            delta = _walk_delta(&m, T, dmax, sigma)
            for i in range(n_items):
                if exact[r, i]:
                    rescore = delta == INFINITY or _item_bound(&m, users[r], <i32>i, x_max[r]) >= T - 2.0 * delta
                else:
                    rescore = scores[r, i] != -INFINITY and (delta == INFINITY or scores[r, i] >= T - 2.0 * delta)
                if rescore:
                    scores[r, i] = _predict_one(&m, users[r], <i32>i, &buf_sim[t, 0], &buf_dev[t, 0], &buf_copy[t, 0],
                                                &ak, &code)
            _top_row(&scores[r, 0], n_items, kk, &out_val[r, 0], &out_idx[r, 0])
