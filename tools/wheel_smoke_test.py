"""Run by cibuildwheel against each freshly built wheel: every compiled kernel imports, and small
models fit and predict on the compiled backend. Prints `reckernels info` for the build log."""

import importlib
import pkgutil
import sys

import numpy as np

import reckernels as rk
import reckernels._cy
from reckernels._sysinfo import report

modules = [m.name for m in pkgutil.iter_modules(reckernels._cy.__path__)]
for name in modules:
    importlib.import_module(f"reckernels._cy.{name}")
print(f"kernel extensions: {', '.join(sorted(modules))}")
print(report())

data = rk.datasets.make_ratings(60, 40, 900, random_state=0)
train, test = rk.split.train_test_split(data, test_size=0.2, random_state=0)
for model in (rk.BaselineOnly(), rk.SVD(n_epochs=3), rk.ItemKNN(k=10), rk.ImplicitALS(n_epochs=2)):
    model.set_params(backend="cython").fit(train)
    est = model.predict(test.users, test.items)
    ids, _ = model.recommend(train.user_ids[:3], k=5)
    if not np.isfinite(est).all() or ids.shape != (3, 5):
        sys.exit(f"{type(model).__name__}: bad output from the installed wheel")
    print(f"{type(model).__name__}: ok")
