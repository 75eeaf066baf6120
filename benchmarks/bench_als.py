"""ALS and ImplicitALS: ranking quality and speed against implicit 0.7, explicit ALS RMSE, in one run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        python benchmarks/bench_als.py [--sections ranking speed rmse fit] [--threads 2] [--runs 5]

Sections:

- ``ranking``: ImplicitALS and implicit's ``AlternatingLeastSquares`` on a leave-one-out split
  of MovieLens 100K (each user's latest rating held out; ratings as strengths), same factors,
  regularisation, alpha and iterations; ndcg@10 and recall@10 of the held-out item, seen items
  excluded (implicit: ``recommend(userid, user_items, N=10, filter_already_liked_items=True)``).
  Our confidence is 1 + alpha * r, implicit's alpha * value: implicit gets the matrix 1 + alpha * r
  with alpha=1, i.e. the same model. Each library draws its own initial factors; figures are
  means over --seeds seeds.
- ``speed``: 15 iterations, 64 factors, float32, CG with 3 steps, on the same CSR, --threads
  threads each; the MovieLens 1M prefix and a synthetic 10M-rating set (make_ratings), medians of
  --runs runs, alternating ours and theirs. FLOPs are counted for the CG half-sweeps (see flops()).
- ``rmse``: explicit ALS (100 factors, 15 epochs, Cholesky) 5-fold RMSE on MovieLens 100K with
  reckernels.split.KFold(5, random_state=0) for each regularisation of --regs.
- ``fit``: whole-fit wall time on all of MovieLens 100K, medians of --runs: ALS with its defaults
  (100 factors, 15 epochs, Cholesky) in float64 and float32, and ImplicitALS (64 factors,
  15 epochs, float32) with Cholesky and with CG. This is the exact solver's own speed.

OPENBLAS_NUM_THREADS=1 is what implicit asks for (its per-row BLAS calls run inside its own
threads); it is set here before NumPy is imported unless the caller set it.
"""

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ML100K = SHARED / "ml-100k" / "u.data"
ML1M_PREFIX = SHARED / "ml-1m-partial" / "ratings.first487650.dat.gz"
#: this machine's peak float32 rate on 2 cores (AVX2 FMA), for the "fraction of peak" column
PEAK_GFLOPS = 214.0


def confidence_matrix(data, alpha):
    """implicit's input for our model: the users x items matrix 1 + alpha * r (float32)."""
    m = data.to_scipy().astype(np.float32)
    m.data = (1.0 + alpha * m.data).astype(np.float32)
    return m


def implicit_model(factors, reg, iterations, threads, seed):
    from implicit.cpu.als import AlternatingLeastSquares

    return AlternatingLeastSquares(factors=factors, regularization=reg, alpha=1.0, iterations=iterations,
                                   dtype=np.float32, use_cg=True, num_threads=threads, random_state=seed)


# ------------------------------------------------------------------------------------ ranking
def ranking(args):
    import reckernels as rk

    data = rk.datasets.read_ratings(ML100K, format="ml-100k")
    train, test = rk.split.leave_one_out(data)
    relevant = [[item] for item in test.items]
    inner_users = train.to_inner_users(test.users)
    print(f"## ranking: leave-one-out on {ML100K.name} (train {train}, {len(test)} held-out ratings); "
          f"{args.factors} factors, reg {args.reg}, {args.iterations} iterations, {args.seeds} seeds\n")
    print(f"{'alpha':>6} {'ours ndcg@10':>13} {'implicit':>9} {'ratio':>6}   {'ours recall@10':>15} {'implicit':>9} "
          f"{'ratio':>6}")
    for alpha in args.alphas:
        ours, theirs = [], []
        conf = confidence_matrix(train, alpha)
        for seed in range(args.seeds):
            model = rk.ImplicitALS(n_factors=args.factors, reg=args.reg, alpha=alpha, n_epochs=args.iterations,
                                   n_threads=args.threads, random_state=seed).fit(train)
            rec, _ = model.recommend(test.users, k=10)
            ours.append((rk.metrics.ndcg_at_k(rec, relevant, 10), rk.metrics.recall_at_k(rec, relevant, 10)))
            other = implicit_model(args.factors, args.reg, args.iterations, args.threads, seed)
            other.fit(conf, show_progress=False)
            ids, _ = other.recommend(inner_users, conf[inner_users], N=10, filter_already_liked_items=True)
            rec = train.item_ids[ids]
            theirs.append((rk.metrics.ndcg_at_k(rec, relevant, 10), rk.metrics.recall_at_k(rec, relevant, 10)))
        o, t = np.mean(ours, axis=0), np.mean(theirs, axis=0)
        os_, ts = np.std(ours, axis=0), np.std(theirs, axis=0)
        print(f"{alpha:6g} {o[0]:8.4f}±{os_[0]:.3f} {t[0]:6.4f}±{ts[0]:.3f} {o[0] / t[0]:6.3f}   "
              f"{o[1]:10.4f}±{os_[1]:.3f} {t[1]:6.4f}±{ts[1]:.3f} {o[1] / t[1]:6.3f}", flush=True)
    print()


# -------------------------------------------------------------------------------------- speed
def flops(n_users, n_items, nnz, k, iterations, cg_steps=3):
    """Floating-point operations of ``iterations`` CG epochs (both half-sweeps), counting multiply-adds as 2.

    Per half-sweep: the Gram matrix (2 n_other k^2), then per row one residual and cg_steps
    products, each a symv (2 k^2) plus a dot and an axpy per nonzero (4 k); the O(k) vector
    updates are left out.
    """
    per_epoch = 2 * (n_users + n_items) * k * k  # the two Gram matrices
    per_epoch += (cg_steps + 1) * (2 * k * k * (n_users + n_items) + 2 * 4 * k * nnz)
    return per_epoch * iterations


def timed(fit):
    """(wall seconds, CPU seconds of this process) of one call: on a shared machine the CPU time is
    the steadier figure, the wall time the one users see."""
    wall, cpu = time.perf_counter(), time.process_time()
    fit()
    return time.perf_counter() - wall, time.process_time() - cpu


def speed_on(name, data, args, runs):
    import reckernels as rk

    conf = confidence_matrix(data, args.alpha)
    ours = rk.ImplicitALS(n_factors=64, reg=args.reg, alpha=args.alpha, n_epochs=15, n_threads=args.threads,
                          random_state=0)
    csr = data.to_scipy()
    rk.ImplicitALS(n_factors=64, n_epochs=1, n_threads=args.threads).fit(csr)  # warm-up: page faults, threads
    our_t, their_t = [], []
    for run in range(runs):  # alternate, so drifting load hits both alike
        our_t.append(timed(lambda: ours.fit(csr)))
        their_t.append(timed(lambda: implicit_model(64, args.reg, 15, args.threads, run).fit(conf, show_progress=False)))
    (o, o_cpu), (t, t_cpu) = np.median(our_t, axis=0), np.median(their_t, axis=0)
    gf = flops(data.n_users, data.n_items, len(data), 64, 15) / 1e9
    print(f"{name:30s} {len(data):>10,} {o:7.3f} {t:7.3f} {o / t:6.2f} {o_cpu:7.2f} {t_cpu:7.2f} {o_cpu / t_cpu:6.2f} "
          f"{gf:7.1f} {gf / o:7.1f} {100 * gf / o / PEAK_GFLOPS:5.1f}% {gf / t:7.1f}", flush=True)
    print(f"{'':30s} wall s, ours {[round(x[0], 2) for x in our_t]}, implicit {[round(x[0], 2) for x in their_t]}")


def speed(args):
    import reckernels as rk

    print(f"## speed: ImplicitALS vs implicit, 15 iterations, 64 factors, float32, CG 3 steps, alpha {args.alpha}, "
          f"reg {args.reg}, {args.threads} threads, medians of {args.runs} (prefix) / {args.synthetic_runs} (synthetic) "
          "runs\n")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'data':30s} {'ratings':>10} {'ours s':>7} {'impl s':>7} {'ratio':>6} {'ours cpu':>7} {'impl cpu':>7} "
          f"{'ratio':>6} {'GFLOP':>7} {'GFLOP/s':>7} {'peak':>6} {'impl GFLOP/s':>7}")
    prefix = rk.datasets.read_ratings(ML1M_PREFIX, format="ml-1m")
    speed_on("ML-1M prefix", prefix, args, args.runs)
    if args.synthetic:
        synth = rk.datasets.make_ratings(69_878, 10_677, args.synthetic, timestamps=False, random_state=0)
        speed_on(f"make_ratings {args.synthetic / 1e6:g}M (ML-10M shape)", synth, args, args.synthetic_runs)
    print(f"load average after: {os.getloadavg()[0]:.1f}\n")


# --------------------------------------------------------------------------------------- rmse
def rmse(args):
    import reckernels as rk

    data = rk.datasets.read_ratings(ML100K, format="ml-100k")
    folds = list(rk.split.KFold(5, random_state=0).split(data))
    print(f"## explicit ALS: 5-fold RMSE on {ML100K.name}, KFold(5, random_state=0), {args.als_factors} factors, "
          f"15 epochs, Cholesky, float64, {args.threads} threads\n")
    print(f"{'reg':>6} {'mean RMSE':>10}  per fold                                   fit s (median)")
    for reg in args.regs:
        scores, times = [], []
        for train, test in folds:
            start = time.perf_counter()
            model = rk.ALS(n_factors=args.als_factors, reg=reg, n_threads=args.threads, random_state=0).fit(train)
            times.append(time.perf_counter() - start)
            scores.append(rk.metrics.rmse(test.ratings, model.predict(test.users, test.items)))
        print(f"{reg:6g} {np.mean(scores):10.4f}  {' '.join(f'{s:.4f}' for s in scores)}   "
              f"{statistics.median(times):.2f}", flush=True)
    print()


# --------------------------------------------------------------------------------------- fit
def fit(args):
    import reckernels as rk

    data = rk.datasets.read_ratings(ML100K, format="ml-100k")
    print(f"## fit: wall seconds on all of {ML100K.name} ({len(data):,} ratings), {args.threads} threads, "
          f"medians of {args.runs} fits\n")
    models = {
        "ALS defaults (100 factors, Cholesky), float64": lambda: rk.ALS(n_threads=args.threads, random_state=0),
        "ALS defaults, float32": lambda: rk.ALS(dtype="float32", n_threads=args.threads, random_state=0),
        "ImplicitALS 64 factors, Cholesky, float32": lambda: rk.ImplicitALS(
            n_factors=64, solver="cholesky", n_threads=args.threads, random_state=0),
        "ImplicitALS 64 factors, CG 3 steps, float32": lambda: rk.ImplicitALS(
            n_factors=64, n_threads=args.threads, random_state=0),
    }
    for name, make in models.items():
        walls = [timed(lambda: make().fit(data))[0] for _ in range(args.runs)]
        print(f"{name:48s} {statistics.median(walls):7.3f} s   runs {[round(w, 2) for w in walls]}", flush=True)
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", nargs="+", default=["ranking", "speed", "rmse", "fit"],
                    choices=["ranking", "speed", "rmse", "fit"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5, help="timed runs per library (speed) or per model (fit)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds averaged (ranking)")
    ap.add_argument("--factors", type=int, default=64, help="factors (ranking)")
    ap.add_argument("--reg", type=float, default=0.01, help="ImplicitALS regularisation (ranking, speed)")
    ap.add_argument("--iterations", type=int, default=15, help="iterations (ranking)")
    ap.add_argument("--alphas", type=float, nargs="+", default=[1.0, 10.0, 40.0], help="alphas (ranking)")
    ap.add_argument("--alpha", type=float, default=1.0, help="alpha (speed)")
    ap.add_argument("--synthetic", type=int, default=10_000_000, help="synthetic ratings (speed; 0 skips)")
    ap.add_argument("--synthetic-runs", type=int, default=3, help="timed runs per library on the synthetic set")
    ap.add_argument("--regs", type=float, nargs="+", default=[0.05, 0.1, 0.15, 0.2, 0.3], help="ALS regs (rmse)")
    ap.add_argument("--als-factors", type=int, default=100, help="explicit ALS factors (rmse)")
    args = ap.parse_args()

    import implicit
    import reckernels as rk

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; threads: {args.threads}; reckernels "
          f"{rk.__version__} (backend {rk.backends.resolve('auto')}), implicit {implicit.__version__}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    print(f"command: python benchmarks/bench_als.py {' '.join(sys.argv[1:])}\n")
    sections = {"ranking": ranking, "speed": speed, "rmse": rmse, "fit": fit}
    for name in args.sections:
        sections[name](args)


if __name__ == "__main__":
    main()
