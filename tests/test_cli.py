"""The reckernels command: demo, evaluate, recommend, info, --help and its errors."""

import subprocess
import sys

import numpy as np
import pytest

from reckernels.cli import main


def test_demo_prints_the_table_and_top10_lists(capsys):
    assert main(["demo", "--algos", "baseline,popular", "--n-users", "200", "--n-items", "150",
                 "--n-ratings", "5000"]) == 0
    out = capsys.readouterr().out
    assert "RMSE" in out and "nDCG@10" in out
    assert out.count("\nbaseline ") == 1 and "popular" in out
    assert "top-10 by baseline" in out and "done in" in out


def test_demo_shows_no_rating_errors_for_models_that_only_rank(capsys):
    assert main(["demo", "--algos", "baseline,implicit_als", "--n-users", "100", "--n-items", "80",
                 "--n-ratings", "2000"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("implicit_als "))
    assert row.split()[1:3] == ["-", "-"]
    assert "(implicit_als) predict a preference, not a rating" in out


@pytest.fixture
def ratings_file(tmp_path):
    rng = np.random.default_rng(0)
    keys = rng.choice(60 * 40, size=800, replace=False)
    path = tmp_path / "ratings.csv"
    lines = ["user,item,rating"] + [f"u{k // 40},i{k % 40},{rng.integers(1, 6)}" for k in keys]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_evaluate_cross_validates_a_file(ratings_file, capsys):
    assert main(["evaluate", "--data", str(ratings_file), "--header", "--algo", "baseline", "--cv", "3"]) == 0
    out = capsys.readouterr().out
    assert "RMSE (testset)" in out and "Fold 3" in out


def test_recommend_for_known_and_unknown_users(ratings_file, capsys):
    assert main(["recommend", "--data", str(ratings_file), "--header", "--algo", "popular",
                 "--user", "u1", "--user", "stranger", "-k", "3", "--param", "verbose=False"]) == 0
    out = capsys.readouterr().out
    assert "user u1:" in out and "cold-start" in out
    assert out.count("  1. ") == 2


def test_errors_exit_non_zero_with_a_message(ratings_file, capsys):
    assert main(["evaluate", "--data", str(ratings_file), "--header", "--algo", "nope"]) == 1
    assert "algorithm 'nope' is not known" in capsys.readouterr().err
    assert main(["recommend", "--data", "missing.csv", "--algo", "popular", "--user", "1"]) == 1
    assert "neither a file" in capsys.readouterr().err
    assert main(["recommend", "--data", str(ratings_file), "--header", "--algo", "popular",
                 "--user", "u1", "--param", "nonsense"]) == 1
    assert "NAME=VALUE" in capsys.readouterr().err


def test_console_entry_point_and_help():
    out = subprocess.run([sys.executable, "-m", "reckernels", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for word in ("demo", "evaluate", "recommend", "info"):
        assert word in out.stdout
    info = subprocess.run([sys.executable, "-m", "reckernels", "info"], capture_output=True, text=True)
    assert info.returncode == 0 and "backend auto" in info.stdout


def test_info_is_a_first_diagnostic(capsys):
    """CPU and kernel clone, OpenMP threads, BLAS and its threading, each backend with a reason."""
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    lines = {line.split(":")[0].strip(): line for line in out.splitlines()}
    for part in ("cpu", "kernels", "threads", "blas", "extras"):
        assert part in lines, f"`reckernels info` says nothing about {part}:\n{out}"
    assert "omp_get_max_threads()" in lines["threads"]
    for backend in ("reference", "cython", "numba", "cuda"):
        row = next(line for line in out.splitlines() if line.strip().startswith(f"backend {backend} "))
        assert row.split()[2] in ("available", "not"), row
        if "not available" in row:
            assert len(row.split("not available:", 1)[1].strip()) > 20, "a backend that cannot run must say why"


def test_runtime_reports_the_clone_this_cpu_dispatches_to():
    runtime = pytest.importorskip("reckernels._cy.runtime")
    targets = runtime.clone_targets()
    if not targets:
        pytest.skip("this build has no run-time CPU dispatch")
    assert targets[-1] == "baseline" and targets == sorted(targets[:-1], reverse=True) + ["baseline"]
    chosen = runtime.dispatched_clone()
    assert chosen in targets
    flags = set(next((l for l in open("/proc/cpuinfo") if l.startswith("flags")), "").split())
    if chosen == "x86-64-v3" or chosen == "x86-64-v4":
        assert {"avx2", "fma"} <= flags
    if chosen == "x86-64-v4":
        assert {"avx512f", "avx512bw", "avx512vl"} <= flags
    version, threads = runtime.openmp()
    assert version >= 200805 and threads >= 1
