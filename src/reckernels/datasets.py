"""Rating data: MovieLens readers, a cached MovieLens downloader and a synthetic generator.

- :func:`read_ratings` parses the MovieLens layouts (``u.data``, ``ratings.dat``,
  ``ratings.csv``, each optionally gzip-compressed) and generic delimited files into a
  :class:`~reckernels.data.Dataset`, keeping the file's row order, so inner ids follow first
  appearance exactly as scikit-surprise numbers them.
- :func:`load_movielens` downloads an official GroupLens archive once, checks its checksum,
  unpacks it into a cache folder and reads its ratings.
- :func:`make_ratings` generates a deterministic synthetic data set of any size (the
  library's built-in data; MovieLens is research data that cannot be shipped).

pandas is imported inside the readers only, so ``import reckernels`` stays light.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._validation import (
    check_choice,
    check_nonnegative_float,
    check_positive_int,
    check_rating_scale,
)
from .data import DUPLICATE_POLICIES, Dataset, IdMap

__all__ = ["read_ratings", "load_movielens", "make_ratings", "get_data_home", "MOVIELENS"]

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------- reading

ROLES = ("user", "item", "rating", "timestamp")


class _Layout(NamedTuple):
    """A fixed MovieLens file layout: user, item, rating, timestamp on every line."""

    sep: str
    header: tuple | None  # the header line's names, or None when the file has no header
    rating_scale: tuple[float, float]


_LAYOUTS = {
    "ml-100k": _Layout("\t", None, (1.0, 5.0)),  # u.data, u1.base, ...
    "ml-1m": _Layout("::", None, (1.0, 5.0)),  # ratings.dat
    "ml-10m": _Layout("::", None, (0.5, 5.0)),  # ratings.dat with half stars
    "ml-latest": _Layout(",", ("userId", "movieId", "rating", "timestamp"), (0.5, 5.0)),  # ratings.csv
}
FORMATS = ("auto", *_LAYOUTS, "csv")

# multi-character separators are replaced by this byte so that pandas' C parser can split on it
_UNIT_SEP = "\x1f"


def read_ratings(path, format="auto", *, sep=None, header=None, columns=None, rating_scale=None, id_type=str,
                 duplicates="error", encoding="utf-8") -> Dataset:
    """Read a ratings file into a :class:`~reckernels.data.Dataset`, keeping its row order.

    Parameters
    ----------
    path : str or path-like
        The file; gzip-compressed files (``u.data.gz``, ...) are recognised by their content.
    format : str
        ``"ml-100k"`` (tab-separated ``user item rating timestamp``, no header: ``u.data``,
        ``u1.base``, ...), ``"ml-1m"`` and ``"ml-10m"`` (``::``-separated ``ratings.dat``),
        ``"ml-latest"`` (``ratings.csv`` with the header ``userId,movieId,rating,timestamp``,
        as in ml-latest, ml-latest-small, ml-20m and ml-25m), ``"csv"`` (any delimited file,
        described by ``sep``, ``header`` and ``columns``) or ``"auto"``: ``"csv"`` when any of
        ``sep``/``header``/``columns`` is given, else the MovieLens layout recognised from the
        first line (``::``, the ``userId,movieId`` header, or tabs).
    sep : str, optional
        ``format="csv"`` only: the separator, one or more characters taken literally (default ``","``).
    header : None, bool or int, optional
        ``format="csv"`` only: ``None``/``False`` when there is no header line, ``True`` or ``0``
        when the first line names the columns, ``n`` when line ``n`` (from 0) does, the lines
        before it being skipped.
    columns : dict, optional
        ``format="csv"`` only: which column holds each of ``"user"``, ``"item"`` (both required),
        ``"rating"`` and ``"timestamp"`` (optional), by position from 0 or by header name, e.g.
        ``{"user": "customer", "item": "sku"}`` for implicit data. Without it, a file with 2, 3
        or 4 columns is read as user, item[, rating[, timestamp]].
    rating_scale : (low, high), optional
        Ratings outside it raise. Defaults: (1, 5) for ml-100k/ml-1m, (0.5, 5) for ml-10m and
        ml-latest; for ``"csv"`` the observed range. Implicit data (no rating column) gets 1.0.
    id_type : str or int
        ``str`` (default) gives string raw ids, as scikit-surprise reads them; ``int`` parses
        them as integers. MovieLens ids are integers: with ``str`` they become their decimal
        strings (the official files hold plain integers, so these are the file's own text),
        and the file is parsed as integers, which is several times faster.
    duplicates : {"error", "first", "last", "mean"}
        What to do with repeated (user, item) pairs; see :class:`~reckernels.data.Dataset`.
    encoding : str
        The text encoding (MovieLens ratings files are ASCII).
    """
    path = Path(os.fspath(path)).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"path={str(path)!r} does not exist or is not a file; check the path.")
    check_choice("format", format, FORMATS)
    check_choice("duplicates", duplicates, DUPLICATE_POLICIES)
    if id_type not in (str, int):
        raise ValueError(f"id_type must be str or int, got {id_type!r}.")
    custom = {"sep": sep, "header": header, "columns": columns}
    given = [k for k, v in custom.items() if v is not None]
    if format == "auto":
        format = "csv" if given else _sniff_format(path, encoding)
    elif format != "csv" and given:
        raise ValueError(f"{', '.join(g + '=' for g in given)} only apply to format='csv'; format={format!r} "
                         f"has a fixed layout. Drop them, or pass format='csv'.")
    if format == "csv":
        table = _read_table(path, sep if sep is not None else ",", _header_row(header), columns, id_type, encoding)
    else:
        table = _read_movielens_table(path, _LAYOUTS[format], format, encoding)
        if rating_scale is None:
            rating_scale = _LAYOUTS[format].rating_scale
    return _to_dataset(table, rating_scale, id_type, duplicates)


class _Table(NamedTuple):
    """Parsed columns, before they become a Dataset."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray | None
    timestamps: np.ndarray | None


def _to_dataset(table: _Table, rating_scale, id_type, duplicates) -> Dataset:
    # Integer ids number users and items by first appearance exactly like their decimal strings
    # do (the mapping is one-to-one) and are several times faster to sort, so string ids that
    # were parsed as integers become strings in the id maps only, afterwards.
    as_strings = id_type is str and table.users.dtype.kind == "i"
    try:
        data = Dataset.from_arrays(table.users, table.items, table.ratings, table.timestamps,
                                   rating_scale=rating_scale, duplicates=duplicates)
    except ValueError:
        if as_strings:  # build again with string ids, for an error message that shows the ids as strings
            Dataset.from_arrays(table.users.astype(str), table.items.astype(str), table.ratings,
                                table.timestamps, rating_scale=rating_scale, duplicates=duplicates)
        raise
    if as_strings:
        data.user_map = IdMap(_decimal_strings(data.user_ids))
        data.item_map = IdMap(_decimal_strings(data.item_ids))
    return data


def _decimal_strings(ids: np.ndarray) -> np.ndarray:
    """Integers as decimal strings, in the narrowest string dtype (astype(str) gives 21 characters)."""
    text = ids.astype(str)
    return text.astype(f"U{np.strings.str_len(text).max()}")


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _open_binary(path: Path):
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def _sniff_format(path: Path, encoding: str) -> str:
    """The MovieLens layout of a file, recognised from its first line."""
    with _open_binary(path) as f:
        first = f.readline(1 << 16).decode(encoding, errors="replace").lstrip("\ufeff").strip()
    if "::" in first:
        return "ml-1m"
    if first.replace('"', "").lower().startswith("userid,movieid,rating"):
        return "ml-latest"
    if "\t" in first:
        return "ml-100k"
    raise ValueError(
        f"format='auto' could not recognise {str(path)!r} (first line {first[:80]!r}): it is not a MovieLens "
        f"u.data, ratings.dat or ratings.csv. Pass format='csv' with sep=, header= and columns= to describe it."
    )


def _header_row(header) -> int | None:
    """``header`` as pandas' header row (None: no header line)."""
    if header is None or header is False:
        return None
    if header is True:
        return 0
    if isinstance(header, int) and header >= 0:
        return header
    raise ValueError(f"header must be None/False (no header line), True, or the header's line number >= 0; "
                     f"got {header!r}.")


class _Source:
    """A delimited file, parsed by pandas' C parser; file-level problems become errors naming the file.

    That parser splits on one character only, so a longer separator (MovieLens' ``::``) is
    replaced on the bytes, in memory, by a control character that ratings files do not hold.
    """

    def __init__(self, path: Path, sep: str, encoding: str):
        self.path, self.encoding = path, encoding
        if len(sep) == 1:
            self.sep, self.data = sep, None
            self.compression = "gzip" if _is_gzip(path) else None
        else:
            with _open_binary(path) as f:
                self.data = f.read().replace(sep.encode(encoding), _UNIT_SEP.encode(encoding))
            self.sep, self.compression = _UNIT_SEP, None

    def names(self, header) -> list:
        """The column labels: the header's names, or 0..k-1 from the first line's k fields."""
        return [*self._read(header=header, nrows=0).columns]

    def frame(self, header, text_columns=()):
        """Every line; ``text_columns`` are kept as strings, the others' types are inferred."""
        # empty fields (only those) are missing values: ids such as "NA" or "null" stay ids
        return self._read(header=header, dtype={c: str for c in text_columns}, keep_default_na=False,
                          na_values=[""], skip_blank_lines=False)

    def _read(self, **options):
        import pandas as pd

        source = str(self.path) if self.data is None else io.BytesIO(self.data)
        try:
            return pd.read_csv(source, sep=self.sep, encoding=self.encoding, compression=self.compression,
                               engine="c", **options)
        except pd.errors.EmptyDataError:
            raise ValueError(f"{str(self.path)!r} is empty (no ratings to read).") from None
        except pd.errors.ParserError as e:
            raise ValueError(f"could not parse {str(self.path)!r}: {e}. Every line must have the same number of "
                             f"fields; check sep= and the file.") from None
        except UnicodeDecodeError as e:
            raise ValueError(f"{str(self.path)!r} is not valid {self.encoding} text ({e}); pass the right "
                             f"encoding=.") from None


def _read_movielens_table(path: Path, layout: _Layout, format: str, encoding: str) -> _Table:
    header = None if layout.header is None else 0
    source = _Source(path, layout.sep, encoding)
    names = source.names(header)
    if len(names) != 4:
        raise ValueError(f"{str(path)!r} has {len(names)} field(s) per line but format={format!r} expects 4 "
                         f"(user, item, rating, timestamp separated by {layout.sep!r}); pass the right format=, "
                         f"or format='csv' with sep= and columns=.")
    if layout.header is not None and tuple(names) != layout.header:
        raise ValueError(f"{str(path)!r} has the header {','.join(names)!r} but format={format!r} expects "
                         f"{','.join(layout.header)!r}; pass format='csv' with header=True and columns=.")
    return _table(source.frame(header), dict(zip(ROLES, names)), path, header, int, format)


def _read_table(path: Path, sep: str, header, columns, id_type, encoding: str) -> _Table:
    if not isinstance(sep, str) or not sep or sep in ("\n", "\r"):
        raise ValueError(f"sep must be a non-empty string other than a line break, got {sep!r}.")
    source = _Source(path, sep, encoding)
    roles = _resolve_columns(columns, source.names(header), header, path)
    text = [roles["user"], roles["item"]] if id_type is str else []
    return _table(source.frame(header, text), roles, path, header, id_type, "csv")


def _resolve_columns(columns, names, header, path) -> dict:
    """Map each role present (user, item, rating, timestamp) to a pandas column label."""
    if columns is None:
        if not 2 <= len(names) <= 4:
            raise ValueError(
                f"{str(path)!r} has {len(names)} column(s); without columns= a file must have 2 to 4 "
                f"(user, item[, rating[, timestamp]]). Pass columns={{'user': ..., 'item': ..., 'rating': ..., "
                f"'timestamp': ...}} naming the columns (by position or header name)."
            )
        return dict(zip(ROLES, names))
    if not isinstance(columns, dict):
        raise TypeError(f"columns must be a dict from role to column, e.g. {{'user': 0, 'item': 1}}; "
                        f"got {type(columns).__name__}.")
    unknown = sorted(set(columns) - set(ROLES))
    if unknown or not {"user", "item"} <= set(columns):
        raise ValueError(f"columns must name the 'user' and 'item' columns and may name 'rating' and 'timestamp'; "
                         f"got keys {sorted(columns)}.")
    roles = {}
    for role in ROLES:
        if role not in columns:
            continue
        col = columns[role]
        if isinstance(col, (int, np.integer)) and not isinstance(col, bool):
            if not 0 <= col < len(names):
                raise ValueError(f"columns[{role!r}]={col} is out of range: {str(path)!r} has {len(names)} "
                                 f"column(s), numbered from 0.")
            roles[role] = names[col]
        elif isinstance(col, str) and header is not None:
            if col not in names:
                raise ValueError(f"columns[{role!r}]={col!r} is not in the header of {str(path)!r}; "
                                 f"its columns are {names}.")
            roles[role] = col
        else:
            need = "a position (int) or a header name (str)" if header is not None else \
                "a position (int), since the file has no header (pass header=True to use names)"
            raise ValueError(f"columns[{role!r}] must be {need}; got {col!r}.")
    if len(set(roles.values())) < len(roles):
        raise ValueError(f"columns gives the same column to two roles: {columns}.")
    return roles


def _table(df, roles: dict, path: Path, header, id_type, format: str) -> _Table:
    """Check and convert the parsed columns; errors give the file's line number."""
    blank = df.isna().all(axis=1).to_numpy()
    if blank.any():
        df = df[~blank]
    first_line = 1 if header is None else header + 2  # 1-based line of row 0

    def fail(role, pos, what):
        line = int(df.index[pos]) + first_line
        raw = df[roles[role]].iloc[pos]
        raise ValueError(f"{str(path)!r}, line {line}: the {role} field is {'empty' if raw != raw else repr(raw)}; "
                         f"{what}. Fix or remove that line (format={format!r}).")

    if df.empty:
        raise ValueError(f"{str(path)!r} holds no ratings.")
    for role in roles:
        missing = df[roles[role]].isna().to_numpy()
        if missing.any():
            fail(role, int(np.argmax(missing)), "every line needs one")
    ids = []
    for role in ("user", "item"):
        col = df[roles[role]]
        if id_type is str:
            ids.append(col.to_numpy(dtype=str))
        elif col.dtype.kind in "iu":
            ids.append(col.to_numpy(dtype=np.int64))
        else:
            values = _numeric(col)
            bad = ~(np.isfinite(values) & (values == np.round(values)))
            if bad.any():
                fail(role, int(np.argmax(bad)), "ids must be integers here" + (
                    " (id_type=int)" if format == "csv" else "; MovieLens ids are integers, use format='csv'"))
            ids.append(values.astype(np.int64))
    numbers = {}
    for role in ("rating", "timestamp"):
        if role in roles:
            values = _numeric(df[roles[role]])
            bad = ~np.isfinite(values)
            if bad.any():
                fail(role, int(np.argmax(bad)), f"a {role} must be a finite number")
            numbers[role] = values
    return _Table(ids[0], ids[1], numbers.get("rating"), numbers.get("timestamp"))


def _numeric(col) -> np.ndarray:
    """A column as numbers (int64 or float64); text that is not a number becomes NaN."""
    import pandas as pd

    if col.dtype.kind in "iuf":
        return col.to_numpy()
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)


# ---------------------------------------------------------------------------------- MovieLens download


class MovieLensArchive(NamedTuple):
    """An official GroupLens archive: where its ratings are and how to check it."""

    url: str
    checksum: str  # hex md5 (32 digits) or sha256 (64 digits) of the zip file
    ratings: str  # the ratings file inside the zip (and, once unpacked, inside the cache folder)
    format: str  # read_ratings format of that file
    size_mb: int  # download size as GroupLens gives it, for messages


_GROUPLENS = "https://files.grouplens.org/datasets/movielens/"

#: Official archives. The md5 values are those GroupLens publishes beside each zip
#: (``<name>.zip.md5``), each quoted identically by many independent projects. For
#: ml-latest-small no copy of the published md5 could be found; its value is the sha256 of the
#: 2018-09-26 release zip (978,202 bytes), recorded identically by several independent projects.
#: A "latest" archive can be re-released: then pass ``checksum=`` for the new file.
MOVIELENS = {
    "ml-100k": MovieLensArchive(_GROUPLENS + "ml-100k.zip", "0e33842e24a9c977be4e0107933c0723",
                                "ml-100k/u.data", "ml-100k", 5),
    "ml-1m": MovieLensArchive(_GROUPLENS + "ml-1m.zip", "c4d9eecfca2ab87c1945afe126590906",
                              "ml-1m/ratings.dat", "ml-1m", 6),
    "ml-latest-small": MovieLensArchive(_GROUPLENS + "ml-latest-small.zip",
                                        "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
                                        "ml-latest-small/ratings.csv", "ml-latest", 1),
    "ml-20m": MovieLensArchive(_GROUPLENS + "ml-20m.zip", "cd245b17a1ae2cc31bb14903e1204af3",
                               "ml-20m/ratings.csv", "ml-latest", 190),
    "ml-25m": MovieLensArchive(_GROUPLENS + "ml-25m.zip", "6b51fb2759a8657d3bfcbfc42b592ada",
                               "ml-25m/ratings.csv", "ml-latest", 250),
}


def get_data_home(data_home=None) -> Path:
    """The cache folder: ``data_home``, else ``$RECKERNELS_DATA``, else ``~/.cache/reckernels``."""
    if data_home is None:
        data_home = os.environ.get("RECKERNELS_DATA") or Path.home() / ".cache" / "reckernels"
    return Path(os.fspath(data_home)).expanduser()


def load_movielens(name, data_home=None, download=True, *, url=None, checksum=None) -> Dataset:
    """A MovieLens data set, downloaded from GroupLens on first use and cached.

    The archive is streamed to a temporary file in the cache folder, its checksum verified,
    then unpacked into a temporary folder that is renamed into place (``<data_home>/<name>/``),
    so an interrupted or corrupt download never leaves a half-written data set; the zip is then
    removed. Later calls read the unpacked ratings file and never touch the network.

    Parameters
    ----------
    name : {"ml-100k", "ml-1m", "ml-latest-small", "ml-20m", "ml-25m"}
    data_home : path-like, optional
        The cache folder; default ``$RECKERNELS_DATA`` or ``~/.cache/reckernels``.
    download : bool
        When False and the data set is not cached, raise instead of downloading.
    url, checksum : str, optional
        Fetch the archive from another place (a mirror, a local server, ``file://...``) and/or
        check it against another md5 or sha256 hex digest. A url without a checksum is checked
        against the official one.

    MovieLens is licensed for research use by GroupLens (https://grouplens.org/datasets/movielens/);
    do not redistribute it.
    """
    check_choice("name", name, tuple(MOVIELENS))
    archive = MOVIELENS[name]
    checksum = _check_checksum(archive.checksum if checksum is None else checksum)
    root = get_data_home(data_home)
    ratings = root / archive.ratings
    if not ratings.is_file():
        url = archive.url if url is None else url
        if not download:
            raise FileNotFoundError(
                f"MovieLens {name!r} is not in the cache: {ratings} does not exist. Call load_movielens({name!r}) "
                f"with download=True to fetch it from {url} (about {archive.size_mb:g} MB), or pass data_home= "
                f"(or set $RECKERNELS_DATA) to the folder that holds {archive.ratings}."
            )
        _download_and_unpack(name, archive, root, url, checksum)
    return read_ratings(ratings, archive.format)


def _check_checksum(checksum) -> str:
    value = checksum.lower() if isinstance(checksum, str) else None
    if value is None or len(value) not in (32, 64) or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"checksum must be an md5 (32 hex digits) or sha256 (64 hex digits) digest, got {checksum!r}.")
    return value


def _download_and_unpack(name: str, archive: MovieLensArchive, root: Path, url: str, checksum: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{name}-", suffix=".zip.part")
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _fetch(url, out, hashlib.md5() if len(checksum) == 32 else hashlib.sha256(), name, root)
        if digest != checksum:
            raise ValueError(
                f"the archive downloaded from {url} is corrupt or not the expected file: its "
                f"{'md5' if len(checksum) == 32 else 'sha256'} is {digest}, expected {checksum}. Nothing was kept "
                f"in {root}; call load_movielens({name!r}) again to retry (or pass checksum= if you trust a "
                f"newer release)."
            )
        _unpack(Path(tmp), root, archive.ratings, url)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _fetch(url: str, out, hasher, name: str, root: Path) -> str:
    """Stream ``url`` into ``out``; the hex digest of what was received."""
    import urllib.request  # imported here: it pulls in http and ssl, which import reckernels does not need

    logger.info("downloading MovieLens %s from %s into %s", name, url, root)
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            while chunk := response.read(1 << 20):
                hasher.update(chunk)
                out.write(chunk)
    except (OSError, ValueError) as e:  # URLError, HTTPError and timeouts are OSErrors; bad urls ValueErrors
        raise OSError(f"could not download MovieLens {name!r} from {url}: {e}. Nothing was kept in {root}; "
                      f"check the connection and call load_movielens({name!r}) again.") from e
    return hasher.hexdigest()


def _unpack(zip_path: Path, root: Path, ratings: str, url: str) -> None:
    """Unpack into a temporary folder, then rename its top folder into ``root`` in one step."""
    import zipfile

    staging = Path(tempfile.mkdtemp(dir=root, prefix=".unpack-"))
    top = ratings.split("/")[0]
    try:
        try:
            with zipfile.ZipFile(zip_path) as zf:
                if ratings not in zf.namelist():
                    raise ValueError(f"the archive from {url} has no {ratings}; is it the right MovieLens zip?")
                zf.extractall(staging)  # extractall keeps every member inside staging
        except zipfile.BadZipFile as e:
            raise ValueError(f"the archive from {url} is not a valid zip file ({e}).") from None
        try:
            os.rename(staging / top, root / top)
        except OSError:
            # another process may have finished first; anything else in the way is the user's to remove
            if not (root / ratings).is_file():
                raise FileExistsError(f"{root / top} is in the way and holds no {ratings}; delete that folder "
                                      f"and call load_movielens again.") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ---------------------------------------------------------------------------------- synthetic data

_T0 = 946_684_800  # 2000-01-01 UTC
_YEAR = 31_557_600


def make_ratings(n_users=943, n_items=1682, n_ratings=100_000, *, n_factors=10, rating_scale=(1, 5), step=1.0,
                 noise=0.5, popularity=1.0, timestamps=True, implicit=False, random_state=0) -> Dataset:
    """A deterministic synthetic rating data set with MovieLens-like structure.

    Generative model, with ``lo, hi = rating_scale`` and ``span = hi - lo``:

    - **Which pairs are rated.** Item ``i`` has popularity ``w_i = 1 / rank_i ** popularity``
      (a Zipf law over a random ranking of the items); user ``u`` has activity
      ``a_u = exp(popularity * z_u)``, ``z_u ~ N(0, 1)`` (log-normal: a long tail of heavy
      raters). Every user gets one rating first, on an item drawn by popularity; then every
      item gets one, from a user drawn by activity (as far as ``n_ratings`` leaves room); then
      pairs are drawn with probability proportional to ``a_u * w_i`` (times
      ``sigmoid(s_ui / 0.15)`` for implicit data, so that users interact more with what they
      like), without replacement, until there are exactly ``n_ratings`` distinct pairs. Heavy
      users and hit items saturate, which flattens the head as in real data.
      ``popularity=0`` makes every pair equally likely.
    - **Ratings.** ``s_ui = b_u + b_i + p_u . q_i`` with ``b_u ~ N(0, 0.12)``,
      ``b_i ~ N(0, 0.15)`` and ``n_factors``-dimensional Gaussian ``p_u, q_i`` whose dot
      product has standard deviation 0.15 (all in units of ``span``). The rating is
      ``lo + span * (0.625 + s_ui) + N(0, noise)`` rounded to a multiple of ``step`` above
      ``lo`` (``step=0``: not rounded) and clipped to the scale. With ``implicit=True`` every
      rating is 1.0 and the scale is (1, 1).
    - **Timestamps** (seconds since the epoch). Each user starts at a uniform time in 2000-2009
      and rates at uniform times over the next ``n_u`` hours, ``n_u`` being their number of
      ratings. Rows are sorted by time (ties in generation order), so each user's ratings
      appear in time order and inner ids follow first appearance in time;
      ``timestamps=False`` drops the column and keeps the same rows.

    Raw ids are ints: users ``1..n_users``, items ``1..n_items`` (an item may get no rating
    when ``n_ratings < n_users + n_items``). The same arguments give an identical data set.
    Pairs are drawn in vectorised batches of at most 8M and de-duplicated on int64 keys: about
    0.5 s of CPU for 1M ratings, 17 s and a peak of 1.7 GB for 20M (138,000 x 27,000).
    """
    n_users = check_positive_int("n_users", n_users)
    n_items = check_positive_int("n_items", n_items)
    n_ratings = check_positive_int("n_ratings", n_ratings)
    n_factors = check_positive_int("n_factors", n_factors, minimum=0)
    if n_ratings > n_users * n_items:
        raise ValueError(f"n_ratings={n_ratings} is more than the n_users * n_items = {n_users * n_items} distinct "
                         f"(user, item) pairs; lower n_ratings or raise n_users/n_items.")
    if n_ratings < n_users:
        raise ValueError(f"n_ratings={n_ratings} is less than n_users={n_users}, but every user gets at least one "
                         f"rating; raise n_ratings or lower n_users.")
    lo, hi = check_rating_scale(rating_scale)
    step = check_nonnegative_float("step", step)
    noise = check_nonnegative_float("noise", noise)
    popularity = check_nonnegative_float("popularity", popularity)
    rng = np.random.default_rng(random_state)

    model = _LatentModel.draw(n_users, n_items, n_factors, rng)
    items_w = np.exp(-popularity * np.log(rng.permutation(n_items) + 1.0))  # 1 / rank ** popularity
    z = rng.standard_normal(n_users)
    users_w = np.exp(popularity * (z - z.max()))  # at most 1: no overflow for any popularity
    keys = _sample_pairs(n_ratings, users_w, items_w, rng, model if implicit else None)
    users, items = np.divmod(keys, n_items)
    del keys
    if implicit:
        ratings, scale = np.ones(n_ratings), (1.0, 1.0)
    else:
        span = hi - lo
        ratings = lo + span * (0.625 + model.scores(users, items)) + noise * rng.standard_normal(n_ratings)
        if step > 0:
            ratings = lo + np.round((ratings - lo) / step) * step
        ratings, scale = np.clip(ratings, lo, hi), (lo, hi)
    times = _timestamps(users, n_users, rng)
    # sorting unique keys (time, then position) is deterministic with numpy's fast unstable sort
    order = np.sort(times * n_ratings + np.arange(n_ratings)) % n_ratings
    return _distinct_pairs_dataset(users[order], items[order], n_users, n_items, ratings[order],
                                   times[order] if timestamps else None, scale)


def _distinct_pairs_dataset(users, items, n_users, n_items, ratings, timestamps, rating_scale) -> Dataset:
    """What ``Dataset(users + 1, items + 1, ratings, timestamps, rating_scale=...)`` gives, for
    distinct pairs of indices ``0 <= users < n_users``, ``0 <= items < n_items`` and valid ratings.

    The constructor's checks and sorts (de-duplication, ids by first appearance) cost more than
    generating the data; here the ids are numbered with one linear pass instead.
    """
    u_codes, u_raw = _number_by_first_appearance(users, n_users)
    i_codes, i_raw = _number_by_first_appearance(items, n_items)
    data = object.__new__(Dataset)
    data._set(u_codes, i_codes, IdMap(u_raw), IdMap(i_raw), ratings, timestamps, rating_scale)
    return data


def _number_by_first_appearance(values: np.ndarray, n: int):
    """Inner ids (int32) of indices ``0 <= values < n`` by first appearance, and the raw id (index + 1) of each."""
    first = np.full(n, len(values))
    np.minimum.at(first, values, np.arange(len(values)))
    seen = np.flatnonzero(first < len(values))
    ranked = seen[np.argsort(first[seen])]
    inner = np.empty(n, dtype=np.int32)
    inner[ranked] = np.arange(len(ranked), dtype=np.int32)
    return inner[values], ranked.astype(np.int64) + 1


class _LatentModel(NamedTuple):
    """User and item biases and factors (stored factor-major); ``scores`` gives s_ui in units of span."""

    user_bias: np.ndarray
    item_bias: np.ndarray
    user_factors: np.ndarray  # (n_factors, n_users)
    item_factors: np.ndarray  # (n_factors, n_items)

    @classmethod
    def draw(cls, n_users, n_items, n_factors, rng):
        # each factor entry has sd sqrt(0.15 / sqrt(k)), so that p_u . q_i has sd 0.15
        sd = math.sqrt(0.15 / math.sqrt(n_factors)) if n_factors else 0.0
        return cls(rng.normal(0, 0.12, n_users), rng.normal(0, 0.15, n_items),
                   rng.normal(0, sd, (n_factors, n_users)), rng.normal(0, sd, (n_factors, n_items)))

    def scores(self, users, items, chunk=1 << 22):
        out = np.empty(len(users))
        for s in range(0, len(users), chunk):  # chunks bound the temporaries
            u, i = users[s:s + chunk], items[s:s + chunk]
            acc = self.user_bias[u] + self.item_bias[i]
            # one factor at a time: 1-d gathers from small arrays are much faster than gathering rows
            for p, q in zip(self.user_factors, self.item_factors):
                acc += np.take(p, u) * np.take(q, i)
            out[s:s + chunk] = acc
        return out


class _Sampler:
    """Draws indices with probability proportional to fixed weights.

    Inverse CDF with a guide table: the table gives, for each of ``2 n`` equal slices of [0, 1),
    the first index whose cumulative weight exceeds the slice's start, so a draw needs a step
    forward now and then instead of a binary search (same result as ``searchsorted``, several
    times faster).
    """

    def __init__(self, weights):
        self.cdf = np.cumsum(weights)
        self.cdf /= self.cdf[-1]
        slices = 2 * len(self.cdf)
        self.guide = np.searchsorted(self.cdf, np.arange(slices) / slices, side="right")

    def draw(self, size: int, rng) -> np.ndarray:
        x = rng.random(size)
        idx = self.guide[(x * len(self.guide)).astype(np.intp)]
        todo = np.flatnonzero(self.cdf[idx] <= x)
        while len(todo):
            idx[todo] += 1
            todo = todo[self.cdf[idx[todo]] <= x[todo]]
        return idx


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# Drawing with rejection of repeats slows down as the data set nears saturation; once at most
# this many cells are free, the rest is drawn exactly from the free cells instead.
_FILL_FREE = 1 << 25
_MAX_BATCH = 1 << 23


def _sample_pairs(n_ratings, users_w, items_w, rng, model) -> np.ndarray:
    """``n_ratings`` distinct keys ``user * n_items + item``, drawn without replacement.

    Successive draws pick a pair with probability proportional to ``users_w[u] * items_w[i]``
    (times ``sigmoid(s_ui / 0.15)`` when ``model`` is given) among the pairs not drawn yet. It
    is done in batches of independent draws, repeats discarded, topped up until there are
    enough. The result starts with the users' seed pairs, then the items'.
    """
    n_users, n_items = len(users_w), len(items_w)
    users, items = _Sampler(users_w), _Sampler(items_w)
    seeds = np.concatenate([np.arange(n_users) * n_items + items.draw(n_users, rng),
                            users.draw(n_items, rng) * n_items + np.arange(n_items)])
    new, taken = _add_new(np.empty(0, np.int64), seeds, n_ratings)
    drawn, rate = [new], 1.0
    while len(taken) < n_ratings:
        need = n_ratings - len(taken)
        if rate < 0.25 and n_users * n_items - len(taken) <= _FILL_FREE:
            drawn.append(_fill(taken, need, users_w, items_w, rng, model))
            break
        if rate < 1e-3:
            raise RuntimeError(f"make_ratings cannot reach n_ratings={n_ratings}: almost every draw repeats a "
                               f"pair already taken. Lower n_ratings or popularity.")
        size = min(_MAX_BATCH, int(need / rate * 1.1) + 1000)
        u, i = users.draw(size, rng), items.draw(size, rng)
        if model is not None:
            keep = rng.random(size) < _sigmoid(model.scores(u, i) / 0.15)
            u, i = u[keep], i[keep]
        new, taken = _add_new(taken, u * n_items + i, need)
        drawn.append(new)
        rate = max(len(new), 1) / size
    return np.concatenate(drawn)


def _add_new(taken: np.ndarray, candidates: np.ndarray, limit: int):
    """The candidates not in ``taken`` (a sorted array), each once and at most ``limit`` of them,
    and the updated ``taken``.

    When there are more than ``limit``, those drawn first are kept, as drawing one pair at a
    time would do.
    """
    new = _sorted_unique(candidates)
    if len(taken):
        pos = np.minimum(np.searchsorted(taken, new), len(taken) - 1)
        new = new[taken[pos] != new]
    if len(new) > limit:
        order = np.argsort(candidates, kind="stable")
        ordered = candidates[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        first = order[starts][np.searchsorted(ordered[starts], new)]  # where each new key is first drawn
        new = new[np.argsort(first)[:limit]]
    # a stable sort (timsort) merges the two sorted runs in linear time
    return new, np.sort(np.concatenate([taken, np.sort(new)]), kind="stable")


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """np.unique(a), which in numpy 2.4 takes a hash-table path that is far slower on int64 keys."""
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def _fill(taken, need, users_w, items_w, rng, model) -> np.ndarray:
    """``need`` free cells drawn without replacement by weight (Gumbel top-k), in drawing order."""
    n_items = len(items_w)
    cells = _free_cells(taken, len(users_w) * n_items)
    users, items = np.divmod(cells, n_items)
    with np.errstate(divide="ignore"):  # a weight that underflowed to 0 gives -inf: drawn last
        keys = np.log(users_w[users]) + np.log(items_w[items]) + rng.gumbel(size=len(cells))
        if model is not None:
            keys += np.log(_sigmoid(model.scores(users, items) / 0.15))
    top = np.argpartition(-keys, need - 1)[:need] if need < len(cells) else np.arange(len(cells))
    return cells[top[np.argsort(-keys[top], kind="stable")]]


def _free_cells(taken: np.ndarray, n_cells: int, block: int = 1 << 24) -> np.ndarray:
    """The keys in ``range(n_cells)`` that are not in ``taken`` (sorted), found block by block."""
    parts = []
    for start in range(0, n_cells, block):
        stop = min(start + block, n_cells)
        free = np.ones(stop - start, dtype=bool)
        free[taken[np.searchsorted(taken, start):np.searchsorted(taken, stop)] - start] = False
        parts.append(start + np.flatnonzero(free))
    return np.concatenate(parts)


def _timestamps(users: np.ndarray, n_users: int, rng) -> np.ndarray:
    """Per rating: its user's start time plus a uniform offset within their active period."""
    hours = np.bincount(users, minlength=n_users) * 3600.0
    start = _T0 + rng.integers(0, 10 * _YEAR, n_users)
    return start[users] + (rng.random(len(users)) * hours[users]).astype(np.int64)
