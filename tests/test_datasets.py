"""reckernels.datasets: MovieLens readers, the cached downloader (against a local HTTP server)
and the synthetic generator. Every file is written by the test itself, except the optional
comparisons with scikit-surprise on the real MovieLens 100K and latest-small (skipped when absent)."""

import gzip
import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from reckernels.data import Dataset
from reckernels.datasets import load_movielens, make_ratings, read_ratings

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
U_DATA = SHARED_DATA / "ml-100k" / "u.data"
LATEST_SMALL = SHARED_DATA / "ml-latest-small" / "ratings.csv"

# (user, item, rating, timestamp) rows with repeated users and items, in a deliberate order
ROWS = [("196", "242", 3, 881250949), ("186", "302", 3, 891717742), ("22", "377", 1, 878887116),
        ("196", "51", 2, 880606923), ("7", "242", 5, 886397596), ("22", "302", 4, 884182806)]


def write(path: Path, text: str, *, compress=False, newline="\n") -> Path:
    data = text.replace("\n", newline).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def lines(rows, sep):
    return "".join(sep.join(str(v) for v in row) + "\n" for row in rows)


def assert_rows(data: Dataset, rows, *, half_stars=False):
    """The data set holds exactly ``rows``, in order, with string ids numbered by first appearance."""
    assert data.users.tolist() == [r[0] for r in rows]
    assert data.items.tolist() == [r[1] for r in rows]
    assert data.ratings.tolist() == [float(r[2]) for r in rows]
    assert data.timestamps.tolist() == [r[3] for r in rows]
    assert data.user_ids.tolist() == list(dict.fromkeys(r[0] for r in rows))
    assert data.item_ids.tolist() == list(dict.fromkeys(r[1] for r in rows))
    assert data.rating_scale == ((0.5, 5.0) if half_stars else (1.0, 5.0))


# ---------------------------------------------------------------------------------- MovieLens layouts


@pytest.mark.parametrize("compress", [False, True])
def test_u_data_layout(tmp_path, compress):
    path = write(tmp_path / ("u.data.gz" if compress else "u.data"), lines(ROWS, "\t"), compress=compress)
    for fmt in ("auto", "ml-100k"):
        assert_rows(read_ratings(path, fmt), ROWS)


@pytest.mark.parametrize("compress", [False, True])
def test_ratings_dat_layout(tmp_path, compress):
    path = write(tmp_path / ("ratings.dat.gz" if compress else "ratings.dat"), lines(ROWS, "::"), compress=compress)
    for fmt in ("auto", "ml-1m"):
        assert_rows(read_ratings(path, fmt), ROWS)


@pytest.mark.parametrize("compress", [False, True])
def test_ratings_csv_layout_with_header_and_crlf(tmp_path, compress):
    rows = [(u, i, r - 0.5, t) for u, i, r, t in ROWS]
    text = "userId,movieId,rating,timestamp\n" + lines(rows, ",")
    path = write(tmp_path / ("ratings.csv.gz" if compress else "ratings.csv"), text, compress=compress,
                 newline="\r\n")
    for fmt in ("auto", "ml-latest"):
        assert_rows(read_ratings(path, fmt), rows, half_stars=True)


def test_auto_detection_uses_the_content_not_the_name(tmp_path):
    assert_rows(read_ratings(write(tmp_path / "whatever.txt", lines(ROWS, "::"))), ROWS)
    assert_rows(read_ratings(write(tmp_path / "x.csv.gz", lines(ROWS, "\t"), compress=True)), ROWS)


def test_movielens_ids_as_ints(tmp_path):
    data = read_ratings(write(tmp_path / "u.data", lines(ROWS, "\t")), id_type=int)
    assert data.user_ids.tolist() == [196, 186, 22, 7]
    assert data.items.dtype.kind == "i"


def test_inner_ids_follow_first_appearance_and_keep_row_order(tmp_path):
    rng = np.random.default_rng(3)
    keys = rng.choice(60 * 50, size=400, replace=False)
    rows = [(str(k // 50 * 7 + 3), str(k % 50 * 11 + 1), int(rng.integers(1, 6)), 880000000 + j)
            for j, k in enumerate(keys)]
    path = write(tmp_path / "u.data", lines(rows, "\t"))
    data = read_ratings(path)
    # MovieLens ids are parsed as integers, then turned into strings: the same as reading the text
    text = read_ratings(path, "csv", sep="\t")
    for name in ("user_ids", "item_ids", "inner_users", "inner_items", "ratings", "timestamps"):
        assert getattr(data, name).dtype == getattr(text, name).dtype
        assert np.array_equal(getattr(data, name), getattr(text, name))
    users = list(dict.fromkeys(r[0] for r in rows))
    items = list(dict.fromkeys(r[1] for r in rows))
    assert data.user_ids.tolist() == users and data.item_ids.tolist() == items
    for u, raw in enumerate(users):  # each user's ratings in file order, as scikit-surprise's ur
        want = [(items.index(r[1]), float(r[2])) for r in rows if r[0] == raw]
        got_items, got_ratings = data.csr.row(u)
        assert list(zip(got_items.tolist(), got_ratings.tolist())) == want


def test_movielens_rating_scale_can_be_overridden(tmp_path):
    path = write(tmp_path / "u.data", lines(ROWS, "\t"))
    assert read_ratings(path, rating_scale=(0, 10)).rating_scale == (0.0, 10.0)


# ---------------------------------------------------------------------------------- generic delimited files


def test_csv_with_header_and_named_columns(tmp_path):
    text = "ts;sku;who;stars\n" + "".join(f"{t};{i};{u};{r}\n" for u, i, r, t in ROWS)
    path = write(tmp_path / "log.txt", text)
    data = read_ratings(path, "csv", sep=";", header=True,
                        columns={"user": "who", "item": "sku", "rating": "stars", "timestamp": "ts"})
    assert_rows(data, ROWS)
    # the same by position, and auto switches to csv when the layout is described
    data = read_ratings(path, sep=";", header=0, columns={"user": 2, "item": 1, "rating": 3, "timestamp": 0})
    assert_rows(data, ROWS)


def test_csv_multi_character_separator_and_default_columns(tmp_path):
    path = write(tmp_path / "r.txt", lines(ROWS, "||"))
    data = read_ratings(path, "csv", sep="||")
    assert_rows(data, ROWS)


def test_csv_implicit_without_ratings(tmp_path):
    path = write(tmp_path / "clicks.csv", "customer,product\nalice,p1\nbob,p1\nalice,p2\n")
    data = read_ratings(path, "csv", header=True)
    assert data.users.tolist() == ["alice", "bob", "alice"] and data.items.tolist() == ["p1", "p1", "p2"]
    assert data.ratings.tolist() == [1.0, 1.0, 1.0] and data.timestamps is None
    data = read_ratings(path, "csv", header=True, columns={"user": "product", "item": "customer"})
    assert data.user_ids.tolist() == ["p1", "p2"]


def test_csv_string_ids_are_kept_verbatim(tmp_path):
    path = write(tmp_path / "r.csv", "007,NA,4\n7,null,3\nu1,NA,5\n")
    data = read_ratings(path, "csv")
    assert data.users.tolist() == ["007", "7", "u1"]
    assert data.item_ids.tolist() == ["NA", "null"]
    assert data.rating_scale == (3.0, 5.0)  # the observed range when none is declared


def test_csv_gz_and_int_ids(tmp_path):
    path = write(tmp_path / "r.csv.gz", "1,10,2.5\n2,10,4\n1,11,1\n", compress=True)
    data = read_ratings(path, "csv", id_type=int, rating_scale=(0.5, 5))
    assert data.user_ids.tolist() == [1, 2] and data.item_ids.tolist() == [10, 11]
    assert data.ratings.tolist() == [2.5, 4.0, 1.0]


def test_duplicates_policy(tmp_path):
    path = write(tmp_path / "u.data", lines(ROWS + [("22", "377", 5, 890000000)], "\t"))
    with pytest.raises(ValueError, match="duplicate .*user='22', item='377'"):
        read_ratings(path)
    last = read_ratings(path, duplicates="last")  # the later row stays, where it is
    assert last.users.tolist()[-1] == "22" and last.ratings.tolist()[-1] == 5.0 and len(last) == len(ROWS)
    assert read_ratings(path, duplicates="first").ratings.tolist() == [float(r[2]) for r in ROWS]


# ---------------------------------------------------------------------------------- reader errors


def test_missing_file_and_unknown_options(tmp_path):
    with pytest.raises(FileNotFoundError, match="path='.*nope.data' does not exist"):
        read_ratings(tmp_path / "nope.data")
    path = write(tmp_path / "u.data", lines(ROWS, "\t"))
    with pytest.raises(ValueError, match="format='ml-5k' is not a known option"):
        read_ratings(path, "ml-5k")
    with pytest.raises(ValueError, match="id_type must be str or int"):
        read_ratings(path, id_type=float)
    with pytest.raises(ValueError, match="duplicates='keep' is not a known option"):
        read_ratings(path, duplicates="keep")
    with pytest.raises(ValueError, match="sep= only apply to format='csv'"):
        read_ratings(path, "ml-100k", sep="\t")
    with pytest.raises(ValueError, match="header must be None/False .* got -1"):
        read_ratings(path, "csv", header=-1)
    with pytest.raises(ValueError, match="sep must be a non-empty string"):
        read_ratings(path, "csv", sep="")


def test_unrecognised_file_asks_for_a_format(tmp_path):
    with pytest.raises(ValueError, match="could not recognise.*format='csv'"):
        read_ratings(write(tmp_path / "r.csv", "1,2,3\n"))


def test_wrong_column_count(tmp_path):
    with pytest.raises(ValueError, match="3 field\\(s\\) per line but format='ml-100k' expects 4"):
        read_ratings(write(tmp_path / "u.data", "1\t2\t3\n4\t5\t6\n"))
    with pytest.raises(ValueError, match="Expected 4 fields in line 2, saw 5"):
        read_ratings(write(tmp_path / "u.data", "1\t2\t3\t4\n5\t6\t7\t8\t9\n"))
    with pytest.raises(ValueError, match="line 2: the rating field is empty"):
        read_ratings(write(tmp_path / "u.data", "1\t2\t3\t4\n5\t6\n"))
    with pytest.raises(ValueError, match="has 5 column\\(s\\); without columns="):
        read_ratings(write(tmp_path / "r.csv", "1,2,3,4,5\n"), "csv")


def test_bad_ratings_give_the_line(tmp_path):
    with pytest.raises(ValueError, match="line 3: the rating field is 'four'; a rating must be a finite number"):
        read_ratings(write(tmp_path / "u.data", "1\t2\t3\t4\n1\t3\t3\t4\n1\t4\tfour\t4\n"))
    with pytest.raises(ValueError, match="line 2: the rating field is 'NaN'"):
        read_ratings(write(tmp_path / "u.data", "1\t2\t3\t4\n1\t3\tNaN\t4\n"))
    with pytest.raises(ValueError, match="line 3: the rating field is empty"):  # header is line 1
        read_ratings(write(tmp_path / "r.csv", "u,i,r\na,b,1\nc,d,\n"), "csv", header=True)
    with pytest.raises(ValueError, match="line 4: the rating field is 'four'"):  # blank lines are skipped, counted
        read_ratings(write(tmp_path / "u.data", "1\t2\t3\t4\n\n1\t3\t3\t4\n1\t4\tfour\t4\n"))
    with pytest.raises(ValueError, match="line 4: the rating field is 'x'"):  # header on line 2 (header=1)
        read_ratings(write(tmp_path / "r.csv", "# export\nu,i,r\na,b,1\nc,d,x\n"), "csv", header=1)
    with pytest.raises(ValueError, match="outside rating_scale=\\(1.0, 5.0\\).*position 1 \\(6.0\\)"):
        read_ratings(write(tmp_path / "u.data", "1\t2\t3\t4\n1\t3\t6\t4\n"))


def test_layout_errors(tmp_path):
    with pytest.raises(ValueError, match="line 2: the item field is 'x9'.*MovieLens ids are integers"):
        read_ratings(write(tmp_path / "u.data", "1\t2\t3\t4\n1\tx9\t3\t4\n"))
    with pytest.raises(ValueError, match="header 'user,movie,rating,timestamp' but format='ml-latest' expects"):
        read_ratings(write(tmp_path / "r.csv", "user,movie,rating,timestamp\n1,2,3,4\n"), "ml-latest")
    with pytest.raises(ValueError, match="is empty"):
        read_ratings(write(tmp_path / "e.data", ""), "ml-100k")
    path = write(tmp_path / "r.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(ValueError, match="columns\\['rating'\\]='stars' is not in the header.*\\['a', 'b', 'c'\\]"):
        read_ratings(path, "csv", header=True, columns={"user": "a", "item": "b", "rating": "stars"})
    with pytest.raises(ValueError, match="must be a position \\(int\\), since the file has no header"):
        read_ratings(path, "csv", columns={"user": "a", "item": "b"})
    with pytest.raises(ValueError, match="must name the 'user' and 'item' columns"):
        read_ratings(path, "csv", columns={"user": 0, "score": 2})
    with pytest.raises(ValueError, match="columns\\['item'\\]=7 is out of range"):
        read_ratings(path, "csv", columns={"user": 0, "item": 7})
    with pytest.raises(ValueError, match="line 1: the user field is 'a'; ids must be integers here"):
        read_ratings(path, "csv", id_type=int)


@pytest.mark.movielens
@pytest.mark.skipif(not U_DATA.exists(), reason=f"MovieLens 100K not found at {U_DATA}")
def test_real_u_data_matches_scikit_surprise():
    surprise = pytest.importorskip("surprise")
    trainset = surprise.Dataset.load_from_file(str(U_DATA), surprise.Reader("ml-100k")).build_full_trainset()
    data = read_ratings(U_DATA)
    assert (data.n_users, data.n_items, data.n_ratings) == (trainset.n_users, trainset.n_items, trainset.n_ratings)
    assert data.user_ids.tolist() == [trainset.to_raw_uid(u) for u in range(trainset.n_users)]
    assert data.item_ids.tolist() == [trainset.to_raw_iid(i) for i in range(trainset.n_items)]
    for u in range(trainset.n_users):
        items, ratings = data.csr.row(u)
        assert list(zip(items.tolist(), ratings.tolist())) == trainset.ur[u]
    for i in range(trainset.n_items):
        users, ratings = data.csc.row(i)
        assert list(zip(users.tolist(), ratings.tolist())) == trainset.ir[i]
    first = U_DATA.read_text().split("\n", 1)[0].split("\t")
    assert [data.users[0], data.items[0], data.ratings[0], data.timestamps[0]] == \
        [first[0], first[1], float(first[2]), int(first[3])]


@pytest.mark.movielens
@pytest.mark.skipif(not LATEST_SMALL.exists(), reason=f"MovieLens latest-small not found at {LATEST_SMALL}")
def test_real_ratings_csv_matches_scikit_surprise():
    surprise = pytest.importorskip("surprise")
    reader = surprise.Reader(line_format="user item rating timestamp", sep=",", skip_lines=1, rating_scale=(0.5, 5))
    trainset = surprise.Dataset.load_from_file(str(LATEST_SMALL), reader).build_full_trainset()
    data = read_ratings(LATEST_SMALL)
    assert data.rating_scale == (0.5, 5.0) and data.n_ratings == trainset.n_ratings == 100_836
    assert data.user_ids.tolist() == [trainset.to_raw_uid(u) for u in range(trainset.n_users)]
    assert data.item_ids.tolist() == [trainset.to_raw_iid(i) for i in range(trainset.n_items)]
    assert all(list(zip(*(a.tolist() for a in data.csr.row(u)))) == trainset.ur[u] for u in range(trainset.n_users))


# ---------------------------------------------------------------------------------- download and cache

DOWNLOAD_ROWS = [(u, i, (u * i) % 5 + 1, 880000000 + 10 * u + i) for u in range(1, 30) for i in range(1, 40, u % 5 + 1)]


@pytest.fixture
def grouplens(tmp_path, monkeypatch):
    """A local HTTP server (127.0.0.1 only) serving an ml-100k.zip with the real archive layout."""
    served = tmp_path / "served"
    served.mkdir()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ml-100k/", "")
        zf.writestr("ml-100k/u.data", lines(DOWNLOAD_ROWS, "\t"))
        zf.writestr("ml-100k/README", "synthetic test archive\n")
    archive = served / "ml-100k.zip"
    archive.write_bytes(buf.getvalue())
    (served / "broken.zip").write_bytes(b"this is not a zip file")
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}/", hits=hits,
                              md5=hashlib.md5(archive.read_bytes()).hexdigest(),
                              sha256=hashlib.sha256(archive.read_bytes()).hexdigest(),
                              broken_md5=hashlib.md5(b"this is not a zip file").hexdigest())
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_download_verifies_unpacks_and_caches(grouplens, tmp_path):
    cache = tmp_path / "cache"
    data = load_movielens("ml-100k", cache, url=grouplens.url + "ml-100k.zip", checksum=grouplens.md5)
    rows = [tuple(str(v) if k < 2 else v for k, v in enumerate(r)) for r in DOWNLOAD_ROWS]
    assert_rows(data, rows)
    assert grouplens.hits == ["/ml-100k.zip"]
    assert sorted(p.name for p in cache.iterdir()) == ["ml-100k"]  # no zip, no temporary files left
    assert sorted(p.name for p in (cache / "ml-100k").iterdir()) == ["README", "u.data"]
    # cached: no request, even with download=False and no url
    again = load_movielens("ml-100k", cache, download=False)
    assert grouplens.hits == ["/ml-100k.zip"]
    assert np.array_equal(again.inner_users, data.inner_users) and again.users.tolist() == data.users.tolist()


def test_download_accepts_sha256_and_the_environment_cache(grouplens, tmp_path, monkeypatch):
    monkeypatch.setenv("RECKERNELS_DATA", str(tmp_path / "env-cache"))
    data = load_movielens("ml-100k", url=grouplens.url + "ml-100k.zip", checksum=grouplens.sha256.upper())
    assert len(data) == len(DOWNLOAD_ROWS)
    assert (tmp_path / "env-cache" / "ml-100k" / "u.data").is_file()
    local = (tmp_path / "served" / "ml-100k.zip").resolve().as_uri()  # file:// urls work too, offline
    assert len(load_movielens("ml-100k", tmp_path / "other", url=local, checksum=grouplens.md5)) == len(data)


def test_wrong_checksum_raises_and_keeps_nothing(grouplens, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match=f"md5 is {grouplens.md5}, expected 0{{32}}.*Nothing was kept"):
        load_movielens("ml-100k", cache, url=grouplens.url + "ml-100k.zip", checksum="0" * 32)
    assert list(cache.iterdir()) == []
    # the official checksum applies when only the url is replaced
    with pytest.raises(ValueError, match="expected 0e33842e24a9c977be4e0107933c0723"):
        load_movielens("ml-100k", cache, url=grouplens.url + "ml-100k.zip")
    assert list(cache.iterdir()) == []
    with pytest.raises(ValueError, match="checksum must be an md5 .* or sha256"):
        load_movielens("ml-100k", cache, url=grouplens.url + "ml-100k.zip", checksum="abc")


def test_failed_or_corrupt_downloads_keep_nothing(grouplens, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(OSError, match="could not download MovieLens 'ml-100k' from .*404.*Nothing was kept"):
        load_movielens("ml-100k", cache, url=grouplens.url + "missing.zip", checksum=grouplens.md5)
    with pytest.raises(ValueError, match="not a valid zip file"):
        load_movielens("ml-100k", cache, url=grouplens.url + "broken.zip", checksum=grouplens.broken_md5)
    assert list(cache.iterdir()) == []
    with pytest.raises(ValueError, match="has no ml-1m/ratings.dat"):  # a zip with the wrong layout
        load_movielens("ml-1m", cache, url=grouplens.url + "ml-100k.zip", checksum=grouplens.md5)
    assert list(cache.iterdir()) == []


def test_no_download_without_cache_says_where_it_looked(tmp_path):
    cache = tmp_path / "empty"
    with pytest.raises(FileNotFoundError, match=f"not in the cache: {cache}/ml-1m/ratings.dat does not exist.*"
                                                f"download=True.*files.grouplens.org/datasets/movielens/ml-1m.zip"):
        load_movielens("ml-1m", cache, download=False)
    with pytest.raises(ValueError, match="name='ml-5m' is not a known option"):
        load_movielens("ml-5m", cache)


# ---------------------------------------------------------------------------------- synthetic data


def pair_keys(data):
    return data.inner_users.astype(np.int64) * data.n_items + data.inner_items


def test_make_ratings_defaults_have_the_ml100k_shape():
    data = make_ratings()
    assert (data.n_ratings, data.n_users, data.n_items) == (100_000, 943, 1682)
    assert data.rating_scale == (1.0, 5.0)
    assert set(np.unique(data.ratings)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert len(np.unique(pair_keys(data))) == data.n_ratings
    assert sorted(data.user_ids.tolist()) == list(range(1, 944))
    assert sorted(data.item_ids.tolist()) == list(range(1, 1683))  # n_ratings >= n_users + n_items
    assert 3.0 < data.ratings.mean() < 4.0 and 0.8 < data.ratings.std() < 1.4


def test_make_ratings_is_deterministic():
    a, b = make_ratings(200, 150, 5000, random_state=5), make_ratings(200, 150, 5000, random_state=5)
    for name in ("users", "items", "ratings", "timestamps", "user_ids", "item_ids", "inner_users", "inner_items"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    c = make_ratings(200, 150, 5000, random_state=6)
    assert not np.array_equal(a.users, c.users)


def test_make_ratings_equals_the_public_constructor():
    for kwargs in ({}, {"implicit": True}, {"timestamps": False, "step": 0.5, "rating_scale": (0.5, 5)}):
        data = make_ratings(120, 90, 3000, **kwargs)
        ref = Dataset(data.users, data.items, data.ratings, data.timestamps, rating_scale=data.rating_scale)
        for name in ("inner_users", "inner_items", "ratings", "user_ids", "item_ids"):
            got, want = getattr(data, name), getattr(ref, name)
            assert got.dtype == want.dtype and np.array_equal(got, want), name
        assert data.rating_scale == ref.rating_scale
        assert np.array_equal(data.csr.indptr, ref.csr.indptr) and np.array_equal(data.csr.indices, ref.csr.indices)


def test_make_ratings_long_tails():
    data = make_ratings(2000, 3000, 150_000, random_state=1)
    item_counts = np.sort(np.bincount(data.inner_items))[::-1]
    user_counts = np.sort(np.bincount(data.inner_users))[::-1]
    assert item_counts[:300].sum() > 0.4 * data.n_ratings  # the top 10% of items
    assert item_counts[-1] >= 1 and np.median(item_counts) < item_counts.mean()
    assert user_counts[0] > 8 * np.median(user_counts) and user_counts[-1] >= 1
    flat = make_ratings(2000, 3000, 150_000, popularity=0, random_state=1)
    assert np.bincount(flat.inner_items).max() < 3 * flat.n_ratings / 3000


def test_make_ratings_timestamps():
    data = make_ratings(300, 200, 8000, random_state=2)
    assert np.all(np.diff(data.timestamps) >= 0)  # rows in time order, so each user's are too
    assert data.timestamps.dtype == np.int64 and data.timestamps.min() >= 946_684_800
    for inner in (data.inner_users, data.inner_items):  # inner ids number first appearances in time
        assert np.all(np.diff(np.unique(inner, return_index=True)[1]) > 0)
    untimed = make_ratings(300, 200, 8000, random_state=2, timestamps=False)
    assert untimed.timestamps is None
    assert untimed.users.tolist() == data.users.tolist() and np.array_equal(untimed.ratings, data.ratings)


def test_make_ratings_scales_steps_and_implicit():
    data = make_ratings(100, 80, 2000, rating_scale=(0.5, 5), step=0.5)
    assert data.ratings.min() >= 0.5 and data.ratings.max() <= 5 and np.all((data.ratings * 2) % 1 == 0)
    assert len(np.unique(data.ratings)) > 5
    continuous = make_ratings(100, 80, 2000, rating_scale=(0, 1), step=0, noise=0.1)
    assert len(np.unique(continuous.ratings)) > 1000 and continuous.ratings.max() <= 1
    implicit = make_ratings(100, 80, 2000, implicit=True)
    assert implicit.rating_scale == (1.0, 1.0) and np.all(implicit.ratings == 1)


def test_make_ratings_ratings_carry_user_and_item_effects():
    data = make_ratings(300, 200, 30_000, noise=0.3, random_state=4)
    item_means = np.bincount(data.inner_items, data.ratings) / np.bincount(data.inner_items)
    assert item_means.std() > 0.3  # far more than the noise alone gives on ~150 ratings per item


def test_make_ratings_dense_and_tiny_grids():
    full = make_ratings(30, 20, 600, random_state=3)  # every cell
    assert len(np.unique(pair_keys(full))) == 600
    nearly = make_ratings(60, 50, 2900, random_state=3, implicit=True)
    assert len(np.unique(pair_keys(nearly))) == 2900 and nearly.n_users == 60
    few = make_ratings(50, 1000, 60)  # fewer ratings than users + items: every user still present
    assert few.n_users == 50 and few.n_ratings == 60


def test_make_ratings_argument_errors():
    with pytest.raises(ValueError, match="n_ratings=601 is more than the n_users \\* n_items = 600"):
        make_ratings(30, 20, 601)
    with pytest.raises(ValueError, match="n_ratings=10 is less than n_users=30"):
        make_ratings(30, 20, 10)
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        make_ratings(30, 20, 100, noise=-1)
    with pytest.raises(TypeError, match="n_users must be an integer"):
        make_ratings(30.5, 20, 100)
    with pytest.raises(ValueError, match="rating_scale must be finite with low <= high"):
        make_ratings(30, 20, 100, rating_scale=(5, 1))
