"""Dataset: id maps, sparse views, duplicate policy, and the errors bad input gets."""

import numpy as np
import pytest

from reckernels import Dataset
from reckernels.data import IdMap


def test_inner_ids_follow_first_appearance_and_rows_keep_data_order():
    d = Dataset(["b", "a", "b", "c"], [10, 20, 20, 10], [1, 2, 3, 4])
    assert d.user_ids.tolist() == ["b", "a", "c"]
    assert d.item_ids.tolist() == [10, 20]
    assert d.inner_users.tolist() == [0, 1, 0, 2]
    assert d.csr.indptr.tolist() == [0, 2, 3, 4]
    assert d.csr.indices.tolist() == [0, 1, 1, 0]  # b: items 10, 20 in data order
    assert d.csr.data.tolist() == [1, 3, 2, 4]
    assert d.csc.indices.tolist() == [0, 2, 1, 0]  # item 10: b then c; item 20: a then b
    assert d.csc.data.tolist() == [1, 4, 2, 3]
    assert d.csr.indices.dtype == np.int32 and d.csr.indptr.dtype == np.int64


def test_raw_id_lookup_is_vectorised_and_marks_unknown_ids():
    d = Dataset([5, 3, 9], [1, 1, 2], [1, 2, 3])
    assert d.to_inner_users([9, 5, 4]).tolist() == [2, 0, -1]
    assert d.to_inner_users(["3", "x", 5.0, 5.5]).tolist() == [1, -1, 0, -1]  # ints spelled as text still match
    s = Dataset(["1", "2"], ["a", "b"], [1, 2])
    assert s.to_inner_users([1, "2", "3"]).tolist() == [0, 1, -1]


def test_per_rating_raw_arrays_round_trip():
    rng = np.random.default_rng(0)
    users = rng.integers(0, 50, 300)
    items = rng.integers(0, 40, 300)
    keep = np.unique(users * 100 + items, return_index=True)[1]
    d = Dataset(users[np.sort(keep)], items[np.sort(keep)], np.ones(len(keep)))
    assert np.array_equal(d.users, users[np.sort(keep)])
    assert np.array_equal(d.items, items[np.sort(keep)])
    dense = d.to_scipy().toarray()
    assert dense.sum() == len(keep)


@pytest.mark.parametrize("policy, expected", [("first", [1.0, 2.0]), ("last", [2.0, 3.0]), ("mean", [2.0, 2.0])])
def test_duplicate_policies(policy, expected):
    d = Dataset([5, 3, 5], [1, 1, 1], [1.0, 2.0, 3.0], duplicates=policy)
    assert len(d) == 2
    assert sorted(d.ratings.tolist()) == expected


def test_duplicates_raise_naming_the_first_pair():
    with pytest.raises(ValueError, match=r"user=5, item=1 at row 2.*duplicates="):
        Dataset([5, 3, 5], [1, 1, 1], [1.0, 2.0, 3.0])


@pytest.mark.parametrize("bad, match", [(np.nan, "NaN or infinite"), (np.inf, "NaN or infinite")])
def test_nan_or_infinite_rating_is_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        Dataset([1, 2], [1, 2], [3.0, bad])


def test_rating_outside_declared_scale_is_refused():
    with pytest.raises(ValueError, match=r"outside rating_scale=\(1.0, 5.0\).*position 1"):
        Dataset([1, 2], [1, 2], [3.0, 6.0], rating_scale=(1, 5))


def test_length_mismatch_names_each_array():
    with pytest.raises(ValueError, match="users has 3, items has 2"):
        Dataset([1, 2, 3], [1, 2], [1, 2, 3])


def test_empty_data_is_refused():
    with pytest.raises(ValueError, match="empty"):
        Dataset([], [], [])


def test_bad_scale_and_policy_names():
    with pytest.raises(ValueError, match="rating_scale"):
        Dataset([1], [1], [1.0], rating_scale=(5, 1))
    with pytest.raises(ValueError, match="duplicates='keep'"):
        Dataset([1], [1], [1.0], duplicates="keep")


def test_missing_ids_are_refused():
    with pytest.raises(ValueError, match="users holds missing values"):
        Dataset(np.array(["a", None], dtype=object), [1, 2], [1.0, 2.0])


def test_subset_renumbers_like_a_fresh_trainset():
    d = Dataset(["a", "b", "c", "a"], [1, 2, 1, 3], [1, 2, 3, 4])
    s = d.subset([2, 3, 1])
    fresh = Dataset(["c", "a", "b"], [1, 3, 2], [3, 4, 2], rating_scale=d.rating_scale)
    for attr in ("inner_users", "inner_items", "ratings", "user_ids", "item_ids"):
        assert np.array_equal(getattr(s, attr), getattr(fresh, attr)), attr
    assert s.rating_scale == d.rating_scale


def test_implicit_data_and_pandas_constructor():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"u": [1, 1, 2], "i": ["x", "y", "x"], "t": [3, 1, 2]})
    d = Dataset.from_pandas(df, user_col="u", item_col="i", rating_col=None, timestamp_col="t")
    assert d.ratings.tolist() == [1.0, 1.0, 1.0]
    assert d.timestamps.tolist() == [3, 1, 2]
    with pytest.raises(KeyError, match="rating_col='r' is not a column"):
        Dataset.from_pandas(df, user_col="u", item_col="i", rating_col="r")


def _search_lookup(raw_ids, queries):
    """The plain binary-search lookup every fast path must agree with."""
    raw_ids = np.asarray(raw_ids)
    found = {v: k for k, v in enumerate(raw_ids.tolist())}
    return [found.get(q, -1) for q in np.asarray(queries).tolist()]


@pytest.mark.parametrize("raw_ids", [
    np.array([7, 3, 12, 5]),                      # compact integers: dense table
    np.array([10**12, 3, -5]),                    # wide span: binary search
    np.array(["5", "12", "7", "abc", ""]),        # short Latin-1 strings: packed into integers
    np.array(["long id number one", "b"]),        # too long to pack: string search
    np.array(["ü", "€uro", "x"]),                 # a character above U+00FF: string search
])
def test_idmap_fast_paths_agree_with_search(raw_ids):
    m = IdMap(raw_ids)
    if raw_ids.dtype.kind == "U":
        queries = np.array(["5", "12", "x", "", "abc", "abcdefghij", "€uro", "ü", "12 ", "b", "long id number one"])
    else:
        queries = np.array([7, 12, 13, 2, 3, -5, 10**12, 10**12 + 1, -6, 0])
    assert m.to_inner(queries).tolist() == _search_lookup(raw_ids, queries)
    assert m.to_inner(raw_ids).tolist() == list(range(len(raw_ids)))
