"""Import of the native estimators behind the wrappers, with a clear error when one is missing."""

import importlib


def native(module: str, name: str):
    try:
        return getattr(importlib.import_module(f"reckernels.algorithms.{module}"), name)
    except (ImportError, AttributeError) as exc:
        raise ImportError(f"reckernels.compat.implicit needs reckernels.algorithms.{module}.{name}, which this "
                          f"reckernels build lacks ({exc}); upgrade reckernels.") from exc
