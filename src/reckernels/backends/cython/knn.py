"""k-NN prediction and top-N scoring via the compiled kernels in kernels/knn.pyx."""

import weakref

import numpy as np

from reckernels._cy import knn as _cy

from .._knn import BASELINE, BLOCK_BYTES, MEAN, ZSCORE, check_knn_model, check_topk_inputs, recommend_by_blocks, split_similarity
from .._slices import mean_row_length, run_sliced


def _scratch(n_threads, cand_indptr):
    """Per-thread buffers as long as the longest candidate list (with the room the kernels'
    vector stores write past it): similarities; centred ratings and sigmas (twice as long); the
    selection's two scratch rows and the guess's similarities (three times as long)."""
    longest = max(1, int(np.diff(cand_indptr).max())) if len(cand_indptr) > 1 else 1
    longest += _cy.GATHER_PAD
    return np.empty((n_threads, longest)), np.empty((n_threads, 2 * longest)), np.empty((n_threads, 3 * longest))


def knn_predict(users, items, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center,
                user_based, means, sigmas, bu, bi, global_mean, est, actual_k, code, n_threads=1):
    check_knn_model(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, center, user_based,
                    means, sigmas, bu, bi, items=items, outputs=(est, actual_k, code))
    sim64, sim32 = split_similarity(sim_val)
    n_threads = max(1, int(n_threads))
    scratch, guess = _scratch(n_threads, cand_indptr), _guess(sim_val, len(users))
    # pairs are independent: short calls on ranges of them, so Ctrl-C is answered (backends/_slices.py)
    run_sliced(lambda lo, hi: _cy.knn_predict(
        users[lo:hi], items[lo:hi], cand_indptr, cand_indices, cand_data, sim_idx, sim64, sim32, int(k), int(min_k),
        int(center), int(bool(user_based)), means, sigmas, bu, bi, float(global_mean), est[lo:hi], actual_k[lo:hi],
        code[lo:hi], *scratch, _dev_slots(hi - lo, cand_data), guess, n_threads),
        0, len(users), per_row=1 + mean_row_length(cand_indptr))


#: values sampled from each similarity row for the kernels' selection guess (see _guess)
GUESS_SAMPLE = 128


def _guess(sim_val, n_pairs):
    """A sorted (descending) sample of each similarity row, from which the kernels guess, per pair,
    a similarity above which a little more than k of its candidates lie: only those are then
    searched for the k most similar (exact: a pair whose guess keeps fewer than k positive
    candidates looks at all of them). Strided, so deterministic; about 1 KiB a row. Empty (no
    guess) for calls with too few pairs to pay for it."""
    n_rows, cols = sim_val.shape
    if n_rows == 0 or cols == 0 or n_pairs < 8 * n_rows:
        return np.empty((0, 0))
    sample = np.array(sim_val[:, ::max(1, cols // GUESS_SAMPLE)][:, :GUESS_SAMPLE], dtype=np.float64)
    sample.sort(axis=1)
    return np.ascontiguousarray(sample[:, ::-1])


def _dev_slots(n_pairs, cand_data):
    """The kernels' centred-rating array: precomputed (one pass over the candidates) where the pairs
    read candidates about as many times as there are, else empty (centred per candidate read)."""
    return np.empty(len(cand_data)) if 4 * n_pairs >= len(cand_data) else np.empty(0)


def knn_score(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center, user_based,
              means, sigmas, bu, bi, global_mean, scores, n_threads=1):
    check_knn_model(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, center, user_based,
                    means, sigmas, bu, bi, scores=scores)
    sim64, sim32 = split_similarity(sim_val)
    n_threads = max(1, int(n_threads))
    scratch, guess = _scratch(n_threads, cand_indptr), _guess(sim_val, scores.size)
    run_sliced(lambda lo, hi: _cy.knn_score(
        users[lo:hi], cand_indptr, cand_indices, cand_data, sim_idx, sim64, sim32, int(k), int(min_k), int(center),
        int(bool(user_based)), means, sigmas, bu, bi, float(global_mean), scores[lo:hi], *scratch,
        np.empty(n_threads, np.int32), np.empty(n_threads, np.int8), _dev_slots((hi - lo) * scores.shape[1], cand_data),
        guess, n_threads),
        0, len(users), per_row=scores.shape[1] * (1 + mean_row_length(cand_indptr)))


def knn_recommend(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, min_k, center, user_based,
                  means, sigmas, bu, bi, global_mean, seen_indptr, seen_indices, n_items, top, exclude=True,
                  symmetric=False, n_threads=1, item_walk=None):
    """(idx int64, val float64), both (n_users, top): the top ``top`` items per user, seen ones
    excluded, ties by the smaller item.

    User-based: scoring and selection fused, per user. Item-based: users with at most k ratings
    through the fused kernel where the dense storage is ``symmetric`` (the estimator's similarities
    are): their candidates' similarity rows are streamed; the others by knn_score blocks
    (item-major, each item's similarity row hot in cache across the block) and topk_rows. Or,
    with dense storage where ``item_walk`` says so (None: where _walk_steps are fewer than the reads), every known
    user by the item-based walk (_recommend_item_walk), the unknown ones as before.
    """
    from .topn import topk_rows

    check_knn_model(users, cand_indptr, cand_indices, cand_data, sim_idx, sim_val, k, center, user_based,
                    means, sigmas, bu, bi, n_items=n_items)
    check_topk_inputs(np.empty((len(users), 0)), users, seen_indptr, seen_indices, top)
    idx = np.empty((len(users), top), dtype=np.int64)
    val = np.empty((len(users), top))
    fused = np.ones(len(users), bool)
    if not user_based:
        counts = np.diff(cand_indptr)[np.maximum(users, 0)]
        fused = (users >= 0) & (counts <= k) & bool(symmetric) & (sim_idx.shape[0] == 0)
    done = fused.copy()
    if not user_based and sim_idx.shape[0] == 0 and item_walk is not False:
        steps, reads = _walk_steps(users, cand_indptr, cand_indices, sim_val, n_items)
        item_walk = steps < reads if item_walk is None else item_walk
    if item_walk and not user_based and sim_idx.shape[0] == 0:
        walked = np.flatnonzero(users >= 0)
        fused[:] = False
        idx[walked], val[walked] = _recommend_item_walk(
            np.ascontiguousarray(users[walked]), cand_indptr, cand_indices, cand_data, sim_val, k, min_k, center,
            means, sigmas, bu, bi, global_mean, seen_indptr, seen_indices, n_items, top, exclude, n_threads,
            steps)
        done[walked] = True
    if not done.all():
        rest = np.flatnonzero(~done)
        idx[rest], val[rest] = recommend_by_blocks(
            knn_score, topk_rows, np.ascontiguousarray(users[rest]), cand_indptr, cand_indices, cand_data, sim_idx,
            sim_val, k, min_k, center, user_based, means, sigmas, bu, bi, global_mean, seen_indptr, seen_indices,
            n_items, top, exclude, symmetric, n_threads)
    if not fused.any():
        return idx, val
    some = np.ascontiguousarray(users[fused])
    sim64, sim32 = split_similarity(sim_val)
    n_threads = max(1, min(int(n_threads), len(some)))
    f_idx = np.empty((len(some), top), dtype=np.int64)
    f_val = np.empty((len(some), top))
    walk = bool(user_based) and sim_idx.shape[0] == 0
    acc_len = max(4 * n_items, 3 * 64 * ((n_items + 63) // 64)) if walk else 2 * n_items
    buffers = (np.empty((n_threads, n_items)), np.empty((n_threads, acc_len)),
               np.empty((n_threads, n_items), np.int32), *_scratch(n_threads, cand_indptr))
    guess = _guess(sim_val, len(some) * n_items)
    walk_args = _walk_arrays(walk, cand_indptr, cand_indices, cand_data, sim_val.shape[0], n_items, top, n_threads,
                             center, means, sigmas, bu, bi, global_mean)
    sorted_nbrs = (_sorted_neighbours(sim_val, sim64, sim32, n_threads) if walk
                   else (np.empty(0, np.int64), np.empty(0), np.empty(0, np.int32)))
    walk_args = (*walk_args[:7], *sorted_nbrs, *walk_args[7:])
    run_sliced(lambda lo, hi: _cy.knn_recommend(
        some[lo:hi], cand_indptr, cand_indices, cand_data, sim_idx, sim64, sim32, int(k), int(min_k), int(center),
        int(bool(user_based)), means, sigmas, bu, bi, float(global_mean), seen_indptr, seen_indices, bool(exclude),
        bool(symmetric), f_idx[lo:hi], f_val[lo:hi], _dev_slots((hi - lo) * n_items, cand_data), *buffers,
        guess, *walk_args, n_threads),
        0, len(some), per_row=n_items * (1 + mean_row_length(cand_indptr)))
    idx[fused], val[fused] = f_idx, f_val
    return idx, val


def _walk_arrays(walk, cand_indptr, cand_indices, cand_data, n_x, n_items, top, n_threads, center, means, sigmas,
                 bu, bi, global_mean):
    """The user-based walk's inputs (kernels/knn.pyx, _user_based_row): the candidates transposed
    (each neighbour's items and centred ratings, by-user CSR, items ascending; only the walk's
    approximate sums read them, so NumPy's rounding here does not matter), where they are dense
    enough (BIT_WALK_DENSITY) each neighbour's items as a bit set and where each word's ratings
    start, and per-thread scratch; all empty when unused."""
    no_bits = np.empty((0, 0), np.uint64), np.empty((0, 0), np.int64)
    if not walk:
        e64, e32 = np.empty(0, np.int64), np.empty(0, np.int32)
        return (e64, e32, np.empty(0), *no_bits, np.empty((1, 0)), np.empty((1, 0), np.int32),
                np.empty((1, 0), np.uint64), np.empty((1, 0), np.int64))
    order = np.argsort(cand_indices, kind="stable")
    x_indices = np.repeat(np.arange(n_items, dtype=np.int32), np.diff(cand_indptr))[order]
    x_indptr = np.zeros(n_x + 1, np.int64)
    np.cumsum(np.bincount(cand_indices, minlength=n_x), out=x_indptr[1:])
    item = np.repeat(np.arange(n_items), np.diff(cand_indptr))
    v = cand_indices
    if center == MEAN:
        dev = cand_data - means[v]
    elif center == ZSCORE:
        dev = (cand_data - means[v]) / sigmas[v]
    elif center == BASELINE:
        dev = cand_data - (global_mean + bu[v] + bi[item])
    else:
        dev = cand_data
    n_words = (n_items + 63) // 64
    bits = no_bits
    if len(cand_indices) >= BIT_WALK_DENSITY * n_x * n_words:
        x_bits, per_word = _row_bits(cand_indices[order], x_indices, n_items, n_x)
        x_base = np.zeros(per_word.size, np.int64)
        np.cumsum(per_word.ravel()[:-1], out=x_base[1:])
        bits = x_bits, x_base.reshape(x_bits.shape)
    return (x_indptr, x_indices, np.ascontiguousarray(dev[order], dtype=np.float64), *bits,
            np.empty((n_threads, max(1, n_x))), np.empty((n_threads, max(1, n_x)), np.int32),
            np.empty((n_threads, max(1, 3 * n_words)), np.uint64), np.empty((n_threads, top), np.int64))


#: the user-based walk goes over bit sets of items (rk_walk_bits) where the candidates hold at
#: least this many ratings per neighbour and 64 items: a neighbour then costs one AND per word
#: and a step per item with room, against a step per rating in the plain walk (ML-100K: 3.3)
BIT_WALK_DENSITY = 0.5


def _walk_steps(users, cand_indptr, cand_indices, sim_val, n_items):
    """Dense storage: (the item-based walk's steps, the per-pair route's candidate reads) for the
    known ``users``, the first estimated from a strided sample of the similarity rows.

    The walk steps, per target item, over its positive neighbours' raters; the per-pair route
    reads, per target item, every candidate of every user. A step and a read cost about the
    same (about 6-7 ns each here, ML-100K), so the walk wins by the share of positive
    similarities a candidate meets: most with Pearson's signed similarities, none where nearly
    all similarities are positive."""
    known = users[users >= 0]
    if len(known) == 0 or sim_val.shape[0] == 0:
        return 0.0, 0.0
    stride = max(1, sim_val.shape[0] // 256)
    positive_per_column = (sim_val[::stride] > 0).sum(axis=0) * stride
    items = cand_indices[_positions(known, cand_indptr)]
    return float(positive_per_column[items].sum()), float(n_items) * len(items)


#: walk steps per item-walk kernel call: short calls, so that Ctrl-C is answered (_slices.py)
WALK_STEPS_PER_CALL = 1 << 25


#: users per item-walk block, taken in order of activity: a block of heavy raters fills every
#: slot early for most items, and the walk of an item ends once its block's slots are all full.
#: With the bit sets and the pruning floor, larger blocks cost less per user (ML-100K ItemKNN
#: top-10, callgrind, one thread: 128 rows 1.12 G instructions, 256 1.00 G, 512 0.98 G; two
#: threads, wall median of 8 alternated: 0.247 / 0.211 / 0.204 s); BLOCK_BYTES and
#: WALK_STEPS_PER_CALL still cap it
WALK_TIER_ROWS = 512


def _recommend_item_walk(users, cand_indptr, cand_indices, cand_data, sim_val, k, min_k, center, means, sigmas,
                         bu, bi, global_mean, seen_indptr, seen_indices, n_items, top, exclude, n_threads, steps):
    """Item-based top ``top`` for known users, dense storage: kernels/knn.pyx, knn_recommend_item_walk,
    block by block (a score block and its exact flags: BLOCK_BYTES at most; about
    WALK_STEPS_PER_CALL of the ``steps`` the walk takes for all of them; WALK_TIER_ROWS users
    of like activity at most). Each item's positive neighbours are sorted once for all blocks
    (12 bytes each, at most 1.5 times the dense similarity's size)."""
    idx = np.empty((len(users), top), dtype=np.int64)
    val = np.empty((len(users), top))
    if len(users) == 0:
        return idx, val
    sim64, sim32 = split_similarity(sim_val)
    n_threads = max(1, int(n_threads))
    rows = max(1, BLOCK_BYTES // max(1, 9 * n_items))
    rows = min(rows, max(64, int(len(users) * WALK_STEPS_PER_CALL / max(steps, 1.0))))
    rows = min(rows, WALK_TIER_ROWS)
    nbr_indptr, nbr_s, nbr_v = _sorted_neighbours(sim_val, sim64, sim32, n_threads)
    order = np.argsort(-np.diff(cand_indptr)[users], kind="stable")  # the most active first
    probe = _walk_probes(center, means, bi, n_items, top)
    for start in range(0, len(users), rows):
        at = order[start:start + rows]
        block = np.ascontiguousarray(users[at])
        x_arrays = _item_walk_arrays(block, cand_indptr, cand_indices, cand_data, n_items, center, means, sigmas,
                                     bu, bi, global_mean)
        n_words = (len(block) + 63) // 64
        seen_bits = (_seen_bits(block, seen_indptr, seen_indices, n_items) if exclude
                     else np.zeros((n_items, n_words), np.uint64))
        block_idx, block_val = np.empty((len(block), top), dtype=np.int64), np.empty((len(block), top))
        _cy.knn_recommend_item_walk(
            block, cand_indptr, cand_indices, cand_data, sim64, sim32, int(k), int(min_k), int(center), means, sigmas,
            bu, bi, float(global_mean), seen_indptr, seen_indices, bool(exclude), block_idx, block_val,
            _dev_slots(len(block) * n_items, cand_data),
            np.empty((len(block), n_items)), np.empty((len(block), n_items), np.int8), *x_arrays, seen_bits, probe,
            nbr_indptr, nbr_s, nbr_v, np.empty((n_threads, 3 * 64 * n_words)), np.empty((n_threads, 4 * n_words), np.uint64),
            *_scratch(n_threads, cand_indptr), np.empty((n_threads, top), np.int64), n_threads)
        idx[at], val[at] = block_idx, block_val
    return idx, val


#: items the item walk scores first for its pruning floor (at least; 4 x top where that is more):
#: those of the highest mean (baseline: item bias). ML-100K ItemKNN top-10: the floor from 64
#: leaves 51% of the pairs to walk, the final top-10 would leave 48%
WALK_PROBES = 64


def _walk_probes(center, means, bi, n_items, top):
    """The item walk's probe items (kernels/knn.pyx, knn_recommend_item_walk); none where the
    centring gives no per-item bound (none) or they would be every item."""
    n = max(WALK_PROBES, 4 * int(top))
    if center not in (MEAN, ZSCORE, BASELINE) or n >= n_items:
        return np.empty(0, np.int32)
    key = bi if center == BASELINE else means
    return np.sort(np.argsort(-key, kind="stable")[:n]).astype(np.int32)


#: per live dense similarity array (by id): a weak reference to it and its sorted positive
#: neighbours (knn_sorted_neighbours), dropped when the array is freed. A fitted model's
#: similarities never change, so its recommend calls after the first skip the sort (ML-100K
#: ItemKNN top-10 for all users: about a tenth of a call)
_SORTED_NEIGHBOURS = {}


def _sorted_neighbours(sim_val, sim64, sim32, n_threads):
    """knn_sorted_neighbours(sim64, sim32) of ``sim_val``, computed once per array."""
    key = id(sim_val)
    hit = _SORTED_NEIGHBOURS.get(key)
    if hit is not None and hit[0]() is sim_val:
        return hit[1]
    result = _cy.knn_sorted_neighbours(sim64, sim32, n_threads)
    _SORTED_NEIGHBOURS[key] = (weakref.ref(sim_val), result)
    weakref.finalize(sim_val, _SORTED_NEIGHBOURS.pop, key, None)
    return result


def _item_walk_arrays(block, cand_indptr, cand_indices, cand_data, n_items, center, means, sigmas, bu, bi,
                      global_mean):
    """The item-based walk's candidates turned around (kernels/rk_knn_walk.h): (bits, base, dev,
    dev_max). Per item, the bit set of the block's rows that rated it (``bits``, a word per 64
    rows); their centred ratings (divided by the item's sigma for z-score) by item, rows
    ascending (``dev``); where each word's raters start in ``dev`` (``base``); and each row's
    largest centred rating (``dev_max``, -inf for none; the flagged pairs' bound). Only the
    walk's approximate sums and that bound read them, both with a margin far wider than NumPy's
    rounding here."""
    pos = _positions(block, cand_indptr)
    item, rating = cand_indices[pos], cand_data[pos]
    row = np.repeat(np.arange(len(block), dtype=np.int32), np.diff(cand_indptr)[block])
    if center == MEAN:
        dev = rating - means[item]
    elif center == ZSCORE:
        dev = (rating - means[item]) / sigmas[item]
    elif center == BASELINE:
        dev = rating - (global_mean + bi[item] + bu[block[row]])
    else:
        dev = rating
    bits, per_word = _row_bits(item, row, len(block), n_items)
    base = np.zeros(per_word.size, np.int64)
    np.cumsum(per_word.ravel()[:-1], out=base[1:])
    order = np.argsort(item, kind="stable")  # rows stay ascending within an item
    counts = np.diff(cand_indptr)[block]
    dev_max = np.full(len(block), -np.inf)
    rated = counts > 0
    if rated.any():  # rows are contiguous in dev: one segment per row with ratings
        dev_max[rated] = np.maximum.reduceat(dev, (np.cumsum(counts) - counts)[rated])
    return bits, base.reshape(bits.shape), np.ascontiguousarray(dev[order], dtype=np.float64), dev_max


def _row_bits(item, row, n_rows, n_items):
    """(bits, counts), both (n_items, words): per item, the bit set of the rows of the (item, row)
    pairs (unique) and how many lie in each word."""
    n_words = (n_rows + 63) // 64
    word = item.astype(np.int64) * n_words + (row >> 6)
    bits = np.zeros(n_items * n_words, np.uint64)
    np.bitwise_or.at(bits, word, np.left_shift(np.uint64(1), (row & 63).astype(np.uint64)))
    counts = np.bincount(word, minlength=n_items * n_words)
    return bits.reshape(n_items, n_words), counts.reshape(n_items, n_words)


def _seen_bits(block, seen_indptr, seen_indices, n_items):
    """Per item, the bit set of the block's rows that have it among their seen items."""
    pos = _positions(block, seen_indptr)
    row = np.repeat(np.arange(len(block), dtype=np.int32), np.diff(seen_indptr)[block])
    return _row_bits(seen_indices[pos], row, len(block), n_items)[0]


def _positions(rows, indptr):
    """The positions in a CSR's indices of the entries of ``rows``, row after row."""
    lens = np.diff(indptr)[rows]
    ends = np.cumsum(lens)
    return np.arange(int(ends[-1]) if len(ends) else 0) + np.repeat(indptr[rows] - (ends - lens), lens)
