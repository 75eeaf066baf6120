# cython: language_level=3
"""What the compiled kernels run with on this machine: the CPU clone they dispatch to, OpenMP.

The kernels' hot C functions are built as GCC target clones (kernels/rk_simd.h) and the loader
picks one clone per function for the running CPU. ``cpu_dispatch()`` asks the CPU the same
questions the loader's resolver asks, so ``reckernels info`` can say which clone runs here;
``openmp()`` reports the OpenMP runtime the extension was linked with.
"""

import re

cdef extern from *:
    """
    #include "rk_simd.h"  /* RK_CLONES: the clone targets of the hot functions */
    #define RK_STR_(x) #x
    #define RK_STR(x) RK_STR_(x)
    static const char* rk_clones_spelled(void) { return RK_STR(RK_CLONES); }
    #if defined(_OPENMP)
    #include <omp.h>
    static int rk_omp_max_threads(void) { return omp_get_max_threads(); }
    static int rk_omp_version(void) { return _OPENMP; }
    #else
    static int rk_omp_max_threads(void) { return 1; }
    static int rk_omp_version(void) { return 0; }
    #endif

    /* 1 when this build compiles the hot functions as x86-64 target clones (GCC on Linux x86-64) */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define RK_HAS_CLONES 1
    static int rk_cpu_has(const char* level) {
        __builtin_cpu_init();
        if (level[0] == '4') return __builtin_cpu_supports("x86-64-v4");
        if (level[0] == '3') return __builtin_cpu_supports("x86-64-v3");
        if (level[0] == '2') return __builtin_cpu_supports("x86-64-v2");
        return 1;
    }
    #else
    #define RK_HAS_CLONES 0
    static int rk_cpu_has(const char* level) { (void)level; return 0; }
    #endif
    """
    int rk_omp_max_threads() nogil
    int rk_omp_version() nogil
    int RK_HAS_CLONES
    int rk_cpu_has(const char* level) nogil
    const char* rk_clones_spelled() nogil


def openmp():
    """(OpenMP version date as _OPENMP, e.g. 201511, or 0 without OpenMP; omp_get_max_threads())."""
    return rk_omp_version(), rk_omp_max_threads()


def cpu_levels():
    """Which x86-64 micro-architecture levels this CPU supports: {"x86-64-v2": bool, "v3", "v4"}.

    Empty where the build has no run-time clones (not GCC on Linux x86-64): there the kernels
    run the code compiled for the build's own target.
    """
    if not RK_HAS_CLONES:
        return {}
    return {f"x86-64-v{n}": bool(rk_cpu_has(str(n).encode())) for n in (2, 3, 4)}


def clone_targets():
    """The x86-64 levels the hot functions are cloned for, best first (e.g. ["x86-64-v4",
    "x86-64-v3", "baseline"]); empty where the build has no run-time clones."""
    if not RK_HAS_CLONES:
        return []
    spelled = rk_clones_spelled().decode()
    levels = re.findall(r"arch=(x86-64-v[0-9])", spelled)
    return sorted(levels, reverse=True) + (["baseline"] if '"default"' in spelled else [])


def dispatched_clone():
    """The clone the loader picks here: the best of ``clone_targets()`` that this CPU supports
    (the ifunc resolver's rule), or None without run-time clones."""
    have = cpu_levels()
    for level in clone_targets():
        if level == "baseline" or have.get(level):
            return level
    return None
