"""implicit.evaluation's splits and ranking metrics, with implicit 0.7.3's signatures and results.

The metrics ask the model for each batch of 1000 test users' top K (``model.recommend``) and score
the whole batch at once with NumPy (membership by sorted keys, cumulative sums): no Python loop per
user. The definitions are implicit's: precision divides the hits by sum(min(K, |test_u|)); MAP,
nDCG (binary gains, ideal DCG over min(K, |test_u|) items) and AUC (implicit's approximation from the
top-K list) are averaged over the users with at least one test item. A slot the model left empty
(fewer than K results, id -1) counts as a miss.
"""

from __future__ import annotations

import numpy as np

from ._common import check_n
from ._tqdm import progress
from .als import check_random_state


def _coo(ratings, name="ratings"):
    import scipy.sparse as sp

    if not sp.issparse(ratings):
        raise TypeError(f"{name} must be a scipy.sparse matrix, got {type(ratings).__name__}.")
    return ratings.tocoo()


def train_test_split(ratings, train_percentage=0.8, random_state=None):
    """Each stored entry goes to train with probability train_percentage: (train, test) CSR.

    The same draws as implicit (one uniform per entry from ``default_rng(random_state)``), so the
    same seed gives implicit's split. Negative entries of the test part are dropped.
    """
    import scipy.sparse as sp

    if not 0.0 <= float(train_percentage) <= 1.0:
        raise ValueError(f"train_percentage must be in [0, 1], got {train_percentage}.")
    coo = _coo(ratings)
    rng = check_random_state(random_state)
    draw = rng.random(len(coo.data))
    to_train = draw < train_percentage

    def part(mask):
        return sp.csr_matrix((coo.data[mask], (coo.row[mask], coo.col[mask])), shape=coo.shape, dtype=coo.dtype)

    train, test = part(to_train), part(~to_train)
    test.data[test.data < 0] = 0
    test.eliminate_zeros()
    return train, test


def leave_k_out_split(ratings, K=1, train_only_size=0.0, random_state=None):
    """Hold out K entries of every user with more than K + 1 entries: (train, test) CSR.

    Which K: as implicit 0.7.3, the user's entries are shuffled with uniforms drawn from numpy's
    *global* generator (``np.random.random``; so ``np.random.seed`` reproduces implicit's split) and
    the last K in that order go to test. ``train_only_size`` of the users (chosen with
    ``random_state``) stay in train only. Unlike implicit, user ids that skip values (users with too
    few entries) do not shift which entries are held out.
    """
    import scipy.sparse as sp

    if isinstance(K, (bool, np.bool_)) or not isinstance(K, (int, np.integer)) or K < 1:
        raise ValueError(f"The 'K' must be >= 1, got {K!r}.")
    if not 0.0 <= train_only_size < 1.0:
        raise ValueError(f"The 'train_only_size' must be in the range (0.0 <= x < 1.0), got {train_only_size}.")
    coo = _coo(ratings)
    rng = check_random_state(random_state)
    users, items, data = coo.row, coo.col, coo.data
    unique_users, counts = np.unique(users, return_counts=True)
    eligible = counts > K + 1
    if train_only_size > 0.0:
        chosen = rng.choice(len(unique_users), size=max(1, int(len(unique_users) * train_only_size)), replace=False)
        eligible &= ~np.isin(unique_users, chosen)  # implicit compares the ids with positions: kept as is
    in_test_users = np.isin(users, unique_users[eligible])
    cand_users, cand_items, cand_data = users[in_test_users], items[in_test_users], data[in_test_users]

    by_user = cand_users.argsort()
    ordered = cand_users[by_user]
    shuffled = (ordered + np.random.random(ordered.shape)).argsort()  # blocks per user, shuffled within
    block_end = np.cumsum(np.unique(ordered, return_counts=True)[1]) - 1
    tail_pos = (block_end[:, None] - np.arange(K)[None, ::-1]).ravel()
    test_idx = by_user[shuffled[tail_pos]]
    train_idx = np.setdiff1d(np.arange(len(cand_users)), test_idx)

    test = sp.csr_matrix((cand_data[test_idx], (cand_users[test_idx], cand_items[test_idx])),
                         shape=coo.shape, dtype=coo.dtype)
    train = sp.csr_matrix((np.r_[data[~in_test_users], cand_data[train_idx]],
                           (np.r_[users[~in_test_users], cand_users[train_idx]],
                            np.r_[items[~in_test_users], cand_items[train_idx]])),
                          shape=coo.shape, dtype=coo.dtype)
    return train, test


def _csr(m, name):
    import scipy.sparse as sp

    if not sp.issparse(m):
        raise TypeError(f"{name} must be a scipy.sparse users x items matrix, got {type(m).__name__}.")
    m = m.tocsr() if not isinstance(m, sp.csr_matrix) else m
    if not m.has_canonical_format:
        m = m.copy()
        m.sum_duplicates()
    return m


def ranking_metrics_at_k(model, train_user_items, test_user_items, K=10, show_progress=True, num_threads=1):
    """{"precision", "map", "ndcg", "auc"} at K of ``model`` on the test users (as implicit's)."""
    K = check_n(K)
    train = _csr(train_user_items, "train_user_items")
    test = _csr(test_user_items, "test_user_items")
    if train.shape != test.shape:
        raise ValueError(f"train_user_items {train.shape} and test_user_items {test.shape} must have the same "
                         "shape (users x items).")
    n_users, n_items = test.shape
    n_pos_all = np.diff(test.indptr)
    to_score = np.flatnonzero(n_pos_all > 0).astype(np.int32)
    if len(to_score) == 0:
        raise ValueError("test_user_items holds no interaction: there is nothing to evaluate.")
    test_keys = np.sort(np.repeat(np.arange(n_users, dtype=np.int64), n_pos_all) * n_items + test.indices)
    gains = 1.0 / np.log2(np.arange(2, K + 2))
    ideal = np.cumsum(gains)
    relevant = pr_div = mean_ap = ndcg = mean_auc = 0.0
    with progress(len(to_score), show_progress) as bar:
        for lo in range(0, len(to_score), 1000):
            batch = to_score[lo:lo + 1000]
            ids, _ = model.recommend(batch, train[batch], N=K)
            ids = np.asarray(ids).reshape(len(batch), -1)[:, :K].astype(np.int64)
            hit = np.zeros((len(batch), K), dtype=bool)
            got = ids.shape[1]
            valid = (ids >= 0) & (ids < n_items)
            keys = batch[:, None].astype(np.int64) * n_items + np.where(valid, ids, 0)
            pos = np.minimum(np.searchsorted(test_keys, keys), len(test_keys) - 1)
            hit[:, :got] = valid & (test_keys[pos] == keys)
            n_pos = n_pos_all[batch].astype(np.float64)
            cut = np.minimum(K, n_pos)
            hits_so_far = np.cumsum(hit, axis=1)
            relevant += hit.sum()
            pr_div += cut.sum()
            mean_ap += np.sum((hit * hits_so_far / np.arange(1, K + 1)).sum(axis=1) / cut)
            ndcg += np.sum((hit * gains).sum(axis=1) / ideal[cut.astype(np.int64) - 1])
            n_neg = n_items - n_pos
            total_hits = hits_so_far[:, -1]
            misses = K - total_hits
            auc = (np.where(hit, 0, hits_so_far)).sum(axis=1) + (total_hits + n_pos) / 2.0 * (n_neg - misses)
            with np.errstate(divide="ignore", invalid="ignore"):
                mean_auc += np.sum(auc / (n_pos * n_neg))
            bar.update(len(batch))
    total = len(to_score)
    return {"precision": float(relevant / pr_div), "map": float(mean_ap / total), "ndcg": float(ndcg / total),
            "auc": float(mean_auc / total)}


def precision_at_k(model, train_user_items, test_user_items, K=10, show_progress=True, num_threads=1):
    """Hits in the top K over sum of min(K, test items) (implicit's p@k)."""
    return ranking_metrics_at_k(model, train_user_items, test_user_items, K, show_progress, num_threads)["precision"]


def mean_average_precision_at_k(model, train_user_items, test_user_items, K=10, show_progress=True, num_threads=1):
    """MAP@K as implicit's."""
    return ranking_metrics_at_k(model, train_user_items, test_user_items, K, show_progress, num_threads)["map"]


def ndcg_at_k(model, train_user_items, test_user_items, K=10, show_progress=True, num_threads=1):
    """nDCG@K as implicit's."""
    return ranking_metrics_at_k(model, train_user_items, test_user_items, K, show_progress, num_threads)["ndcg"]


def AUC_at_k(model, train_user_items, test_user_items, K=10, show_progress=True, num_threads=1):  # noqa: N802
    """implicit's AUC@K."""
    return ranking_metrics_at_k(model, train_user_items, test_user_items, K, show_progress, num_threads)["auc"]
