"""Metrics: hand-worked cases, agreement with plain loop versions, edge cases and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from reckernels import Dataset, metrics as m

RANKING = {"precision": m.precision_at_k, "recall": m.recall_at_k, "ndcg": m.ndcg_at_k, "map": m.map_at_k,
           "hit_rate": m.hit_rate_at_k, "mrr": m.mrr_at_k}


# ---------------------------------------------------------------------- rmse / mae
def test_rmse_mae_mse_hand_worked():
    # errors 1, 0, 2: squared 1, 0, 4 -> mse 5/3, rmse sqrt(5/3); absolute 1, 0, 2 -> mae 1
    assert m.mse([1, 2, 3], [2, 2, 5]) == pytest.approx(5 / 3)
    assert m.rmse([1, 2, 3], [2, 2, 5]) == pytest.approx(math.sqrt(5 / 3))
    assert m.mae(np.array([1.0, 2.0, 3.0]), [2, 2, 5]) == pytest.approx(1.0)


@pytest.mark.parametrize("f", [m.rmse, m.mae, m.mse])
def test_error_metrics_reject_bad_input(f):
    with pytest.raises(ValueError, match="same length"):
        f([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="empty"):
        f([], [])
    with pytest.raises(ValueError, match="y_pred holds 1 NaN"):
        f([1, 2], [1, np.nan])
    with pytest.raises(ValueError, match="y_true"):
        f([np.inf, 2], [1, 2])
    with pytest.raises(TypeError, match="y_true"):
        f(["a", "b"], [1, 2])


# ---------------------------------------------------------------------- ranking, hand-worked
REC = np.array([[1, 2, 3, 4],
                [5, 6, -1, -1],
                [7, 8, 9, 10]])
REL = [[2, 4, 11], [5], []]  # the third row has no relevant item: excluded from every mean


def test_ranking_metrics_hand_worked_at_4():
    # row 0: hits at positions 2 and 4, |rel| = 3; row 1: hit at position 1, |rel| = 1 (two padding slots)
    # precision: (2/4 + 1/4) / 2 = 0.375;  recall: (2/3 + 1/1) / 2 = 5/6
    # ndcg row 0: DCG = 1/log2(3) + 1/log2(5), IDCG = 1 + 1/log2(3) + 1/log2(4) (min(4, 3) = 3 terms); row 1: 1
    # map row 0: (P@2 + P@4) / min(4, 3) = (1/2 + 2/4) / 3 = 1/3; row 1: 1 -> mean 2/3
    # hit rate: (1 + 1) / 2 = 1;  mrr: (1/2 + 1/1) / 2 = 0.75
    ndcg0 = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))
    expected = {"precision": 0.375, "recall": 5 / 6, "ndcg": (ndcg0 + 1) / 2, "map": 2 / 3,
                "hit_rate": 1.0, "mrr": 0.75}
    for name, f in RANKING.items():
        assert f(REC, REL, k=4) == pytest.approx(expected[name]), name
    assert m.ranking_metrics(REC, REL, 4) == pytest.approx(expected)
    assert m.ndcg_at_k(REC, REL, k=4, per_user=True) == pytest.approx([ndcg0, 1.0])


def test_ranking_at_2_only_looks_at_the_top_2():
    # row 0 top-2 = [1, 2]: one hit at position 2; IDCG over min(2, 3) = 2 positions; AP = (1/2) / 2
    assert m.precision_at_k(REC, REL, k=2, per_user=True) == pytest.approx([0.5, 0.5])
    assert m.ndcg_at_k(REC, REL, k=2, per_user=True) == pytest.approx(
        [(1 / math.log2(3)) / (1 + 1 / math.log2(3)), 1.0])
    assert m.map_at_k(REC, REL, k=2, per_user=True) == pytest.approx([0.25, 1.0])
    assert m.mrr_at_k(REC, REL, k=1, per_user=True) == pytest.approx([0.0, 1.0])


def test_k_larger_than_the_list_counts_missing_slots_as_misses():
    # one list of 2 items, both relevant, k = 5: precision 2/5; recall 2/2; ndcg 1 (IDCG over min(5, 2) = 2)
    rec, rel = np.array([[3, 4]]), [[3, 4]]
    assert m.precision_at_k(rec, rel, k=5) == pytest.approx(0.4)
    assert m.recall_at_k(rec, rel, k=5) == pytest.approx(1.0)
    assert m.ndcg_at_k(rec, rel, k=5) == pytest.approx(1.0)
    assert m.map_at_k(rec, rel, k=5) == pytest.approx(1.0)


def test_string_ids_and_padding():
    rec = np.array([["a", "b", ""], ["c", "", ""]])
    rel = [{"b", "z"}, ["c", ""]]  # "" is padding: never a hit, and not a relevant item either
    # row 0: hit at position 2 of 3 -> precision 1/3, recall 1/2; row 1: hit at position 1 -> 1/3, recall 1/1
    assert m.precision_at_k(rec, rel, k=3) == pytest.approx(1 / 3)
    assert m.recall_at_k(rec, rel, k=3) == pytest.approx((1 / 2 + 1) / 2)
    assert m.mrr_at_k(rec, rel, k=3) == pytest.approx((1 / 2 + 1) / 2)


def test_repeated_items_count_once():
    # [5, 5, 6] against {5}: the repeat at position 2 is not a second hit -> precision 1/3
    assert m.precision_at_k(np.array([[5, 5, 6]]), [[5]], k=3) == pytest.approx(1 / 3)


def test_rows_without_relevant_items_are_excluded_and_all_empty_raises():
    assert m.hit_rate_at_k(REC, REL, k=4, per_user=True).shape == (2,)
    with pytest.raises(ValueError, match="no row of relevant"):
        m.precision_at_k(REC, [[], [], []], k=3)


def test_ranking_rejects_bad_input():
    with pytest.raises(ValueError, match="k must be"):
        m.precision_at_k(REC, REL, k=0)
    with pytest.raises(ValueError, match="recommended must be a 2-d"):
        m.recall_at_k(np.array([1, 2, 3]), [[1]], k=2)
    with pytest.raises(ValueError, match="relevant has 2 rows but recommended has 3"):
        m.ndcg_at_k(REC, REL[:2], k=2)
    with pytest.raises(TypeError, match="relevant holds ids of dtype <U"):
        m.map_at_k(REC, [["2"], [], []], k=2)
    with pytest.raises(TypeError, match="recommended must hold integer or string"):
        m.map_at_k(np.array([[1.5, 2.0]]), [[1]], k=2)
    with pytest.raises(TypeError, match="relevant must be a sequence"):
        m.mrr_at_k(REC, 5, k=2)
    with pytest.raises(ValueError, match="unknown name"):
        m.ranking_metrics(REC, REL, 2, metrics=("precision", "auc"))


# ---------------------------------------------------------------------- ranking vs a plain loop
def _loop_metrics(rec_row, rel_row, k):
    """Each metric for one list, written out position by position."""
    rel = set(rel_row)
    seen, hits = set(), []
    for j in range(k):
        item = rec_row[j] if j < len(rec_row) else None
        hit = item is not None and item not in (-1, "") and item not in seen and item in rel
        seen.add(item)
        hits.append(hit)
    n_hits, cap = sum(hits), min(k, len(rel))
    dcg = sum(1 / math.log2(j + 2) for j in range(k) if hits[j])
    idcg = sum(1 / math.log2(j + 2) for j in range(cap))
    ap = sum(sum(hits[:j + 1]) / (j + 1) for j in range(k) if hits[j]) / cap
    first = next((j for j in range(k) if hits[j]), None)
    return {"precision": n_hits / k, "recall": n_hits / len(rel), "ndcg": dcg / idcg, "map": ap,
            "hit_rate": float(n_hits > 0), "mrr": 0.0 if first is None else 1 / (first + 1)}


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 10), st.booleans())
def test_ranking_matches_a_loop_on_random_lists(seed, k, as_strings):
    r = np.random.default_rng(seed)
    n_rows, width, n_items = int(r.integers(1, 6)), int(r.integers(1, 8)), 12
    rec = r.integers(-1, n_items, size=(n_rows, width))
    rel = [r.choice(n_items, size=int(r.integers(0, 5)), replace=False) for _ in range(n_rows)]
    if as_strings:
        rec = np.where(rec < 0, "", np.char.add("s", rec.astype(str)))
        rel = [np.char.add("s", x.astype(str)) if len(x) else [] for x in rel]
    rows = [i for i in range(n_rows) if len(rel[i])]
    if not rows:
        with pytest.raises(ValueError, match="no row of relevant"):
            m.precision_at_k(rec, rel, k)
        return
    expected = [_loop_metrics(rec[i].tolist(), list(rel[i]), k) for i in rows]
    for name, f in RANKING.items():
        values = f(rec, rel, k, per_user=True)
        assert values == pytest.approx([e[name] for e in expected]), name
        assert f(rec, rel, k) == pytest.approx(np.mean([e[name] for e in expected]))


# ---------------------------------------------------------------------- beyond accuracy
def test_catalogue_coverage():
    # distinct items 1..10 (padding -1 not counted): 10 of 20
    assert m.catalogue_coverage(REC, 20) == pytest.approx(0.5)
    assert m.catalogue_coverage(np.array([["a", ""], ["a", "b"]]), 4) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="n_items"):
        m.catalogue_coverage(REC, 5)
    with pytest.raises(ValueError, match="n_items"):
        m.catalogue_coverage(REC, 0)


def test_novelty_hand_worked():
    # shares 1/2 -> 1 bit, 1/4 -> 2 bits, 1 -> 0 bits
    # list [0, 1] -> (1 + 2) / 2 = 1.5; list [2, pad] -> 0 / 1 = 0; mean 0.75
    shares = np.array([0.5, 0.25, 1.0])
    assert m.novelty(np.array([[0, 1], [2, -1]]), shares) == pytest.approx(0.75)
    rec = np.array([["x", "y"], ["z", ""]])
    assert m.novelty(rec, shares, item_ids=["x", "y", "z"]) == pytest.approx(0.75)


def test_novelty_matches_a_loop(rng):
    shares = rng.uniform(0.01, 1, 15)
    rec = rng.integers(-1, 15, size=(6, 5))
    per_list = [np.mean([-math.log2(shares[i]) for i in row if i >= 0]) for row in rec if (row >= 0).any()]
    assert m.novelty(rec, shares) == pytest.approx(np.mean(per_list))


def test_popularity_shares_are_shares_of_users():
    data = Dataset(["a", "b", "c", "a"], ["x", "x", "x", "y"], np.ones(4))
    ids, shares = m.popularity_shares(data)
    assert ids.tolist() == ["x", "y"] and shares.tolist() == pytest.approx([1.0, 1 / 3])


def test_novelty_rejects_bad_input():
    with pytest.raises(ValueError, match="item_popularity"):
        m.novelty(np.array([[0]]), [0.0, 0.5])
    with pytest.raises(ValueError, match="missing from item_popularity"):
        m.novelty(np.array([[0, 7]]), [0.5, 0.5])
    with pytest.raises(TypeError, match="item_ids"):
        m.novelty(np.array([["a"]]), [0.5])
    with pytest.raises(ValueError, match="item_ids has 1"):
        m.novelty(np.array([["a"]]), [0.5, 0.5], item_ids=["a"])
    with pytest.raises(ValueError, match="only padding"):
        m.novelty(np.array([[-1, -1]]), [0.5])


def test_intra_list_diversity_hand_worked():
    # items 0, 1 orthogonal (distance 1), items 0, 2 parallel (distance 0), items 1, 2 orthogonal
    # list [0, 1, 2]: pairs (0,1)=1, (0,2)=0, (1,2)=1 -> 2/3; list [0, 2, pad] -> 0; list [1, pad, pad] has no pair
    vectors = np.array([[1.0, 0.0], [0.0, 3.0], [2.0, 0.0]])
    rec = np.array([[0, 1, 2], [0, 2, -1], [1, -1, -1]])
    assert m.intra_list_diversity(rec, vectors) == pytest.approx((2 / 3 + 0) / 2)
    srec = np.array([["p", "q", "r"]])
    assert m.intra_list_diversity(srec, vectors, item_ids=["p", "q", "r"]) == pytest.approx(2 / 3)


def test_intra_list_diversity_matches_a_loop(rng):
    vectors = rng.normal(size=(10, 4))
    rec = rng.integers(-1, 10, size=(5, 4))
    expected = []
    for row in rec:
        items = [i for i in row if i >= 0]
        pairs = [(a, b) for x, a in enumerate(items) for b in items[x + 1:]]
        if pairs:
            cos = [vectors[a] @ vectors[b] / np.linalg.norm(vectors[a]) / np.linalg.norm(vectors[b]) for a, b in pairs]
            expected.append(np.mean([1 - c for c in cos]))
    assert m.intra_list_diversity(rec, vectors) == pytest.approx(np.mean(expected))


def test_intra_list_diversity_rejects_bad_input():
    with pytest.raises(ValueError, match="all-zero"):
        m.intra_list_diversity(np.array([[0, 1]]), np.array([[0.0, 0.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="2-d"):
        m.intra_list_diversity(np.array([[0, 1]]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="two items"):
        m.intra_list_diversity(np.array([[0, -1]]), np.eye(2))
    with pytest.raises(ValueError, match="missing from item_vectors"):
        m.intra_list_diversity(np.array([[0, 5]]), np.eye(2))
