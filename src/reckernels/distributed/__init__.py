"""reckernels on a Dask cluster: cross-validation and grid search, fits, top-N for every user.

    from distributed import Client, LocalCluster
    import reckernels as rk, reckernels.distributed as rkd

    client = Client(LocalCluster(n_workers=2))
    rkd.cross_validate(rk.SVD(), data, cv=5)              # the folds as tasks, data scattered once
    model = rkd.fit(rk.ALS(), ddf)                          # half-sweeps on the workers
    rkd.recommend_all(model, k=10).to_parquet("top10/")     # (user, rank, item, score), one part per block

Needs the ``dask`` extra (``pip install "reckernels[dask]"``). ``client=None`` uses the current
Dask client. Results equal the local functions' (see each function).
"""

from ._cluster import resolve_client
from .evaluation import cross_validate, grid_search
from .fit import fit
from .recommend import recommend_all

__all__ = ["cross_validate", "grid_search", "fit", "recommend_all", "resolve_client"]
