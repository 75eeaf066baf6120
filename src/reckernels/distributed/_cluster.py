"""Finding the Dask client, and the few task helpers every distributed routine shares."""

from __future__ import annotations

try:
    import dask  # noqa: F401
    from distributed import Client, get_client
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("reckernels.distributed needs Dask: pip install 'reckernels[dask]' "
                      "(dask[dataframe] and distributed).") from exc


def resolve_client(client=None) -> Client:
    """``client`` itself, else the client of the running Dask session (``distributed.get_client``)."""
    if client is not None:
        if not isinstance(client, Client):
            raise TypeError(f"client must be a distributed.Client, got {type(client).__name__}.")
        return client
    try:
        return get_client()
    except ValueError:
        raise ValueError("no Dask client: pass client=Client(...), or start one first, for example "
                         "client = distributed.Client(distributed.LocalCluster(n_workers=2)).") from None


def n_workers(client: Client) -> int:
    """Workers the scheduler knows now (at least 1, so that a block count is never 0)."""
    return max(1, len(client.scheduler_info().get("workers", {})))
