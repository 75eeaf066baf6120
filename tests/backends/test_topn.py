"""Contract: the top-k kernel of every backend equals the reference (reckernels.topn's NumPy code).

Output is exact: the same items in the same order (score descending, ties by the smaller item
index), -1 / -inf in the slots no candidate fills, and seen items written as -inf in place.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def seen_csr(rng, n_users, n_items, density):
    indptr, indices = [0], []
    for _ in range(n_users):
        cols = np.flatnonzero(rng.random(n_items) < density)
        rng.shuffle(cols)
        indices.extend(cols)
        indptr.append(len(indices))
    return np.array(indptr, dtype=np.int64), np.array(indices, dtype=np.int32)


def both(module, reference, scores, users, seen, k, exclude):
    got_scores, want_scores = scores.copy(), scores.copy()
    got = module.topk_rows(got_scores, users, *seen, k, exclude, 2)
    want = reference.topk_rows(want_scores, users, *seen, k, exclude, 1)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got_scores, want_scores)
    return got


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n_rows=st.integers(0, 12), n_items=st.integers(1, 15),
       k=st.integers(1, 20), density=st.floats(0.0, 1.0), distinct=st.integers(1, 6), exclude=st.booleans())
def test_topk_equals_reference(backend, reference, seed, n_rows, n_items, k, density, distinct, exclude):
    name, module = backend
    rng = np.random.default_rng(seed)
    n_users = 5
    seen = seen_csr(rng, n_users, n_items, density)
    scores = rng.integers(0, distinct, (n_rows, n_items)).astype(float)  # few values: many ties
    scores[rng.random(scores.shape) < 0.1] = -np.inf  # items with no score are never picked
    users = rng.integers(-1, n_users, n_rows).astype(np.int32)
    both(module, reference, scores, users, seen, k, exclude)


def test_ties_padding_and_exclusion(backend, reference):
    name, module = backend
    seen = (np.array([0, 2], np.int64), np.array([3, 0], np.int32))  # user 0 rated items 3 and 0
    scores = np.array([[1.0, 2.0, 2.0, 5.0, 2.0], [1.0, 2.0, 2.0, 5.0, 2.0]])
    users = np.array([0, -1], np.int32)  # an unknown user has nothing to exclude
    idx, val = both(module, reference, scores, users, seen, 6, True)
    np.testing.assert_array_equal(idx, [[1, 2, 4, -1, -1, -1], [3, 1, 2, 4, 0, -1]])
    np.testing.assert_array_equal(val[0], [2, 2, 2, -np.inf, -np.inf, -np.inf])
    idx, _ = both(module, reference, scores, users, seen, 2, False)
    np.testing.assert_array_equal(idx, [[3, 1], [3, 1]])


def test_larger_block(backend, reference):
    name, module = backend
    rng = np.random.default_rng(3)
    n_rows, n_items = (40, 60) if name == "cuda" else (300, 500)
    seen = seen_csr(rng, 50, n_items, 0.1)
    scores = np.round(rng.normal(size=(n_rows, n_items)), 1)
    users = rng.integers(0, 50, n_rows).astype(np.int32)
    for k in (1, 10, n_items + 3):
        both(module, reference, scores, users, seen, k, True)


@pytest.mark.parametrize("bad, error, match", [
    (dict(scores=np.zeros((2, 3), np.float32)), TypeError, "scores must be"),
    (dict(users=np.zeros(3, np.int32)), ValueError, "one entry per row"),
    (dict(users=np.array([0, 5], np.int32)), ValueError, "inner ids in"),
    (dict(k=0), ValueError, "k must be >= 1"),
])
def test_bad_arguments_are_named(backend, bad, error, match):
    name, module = backend
    args = dict(scores=np.zeros((2, 3)), users=np.zeros(2, np.int32), k=2)
    args.update(bad)
    with pytest.raises(error, match=match):
        module.topk_rows(args["scores"], args["users"], np.array([0, 1], np.int64), np.array([0], np.int32),
                         args["k"], True, 1)
