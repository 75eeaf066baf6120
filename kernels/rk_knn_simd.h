/* The k-NN kernels' two widest loops (kernels/knn.pyx), in AVX-512 or AVX2 where the CPU has it.

   rk_gather_d / rk_gather_f, the candidate pass: for each candidate p in [0, n), its similarity
   s = srow[idx[p]] (a row of the dense similarity matrix, double or float) and centred rating
   dev[p]. The candidates with s > 0 are appended to bs / bd in candidate order and their number
   is returned; where ks is not NULL, those with s > 0 and s >= g (the selection guess) are also
   appended to ks / kd, their number in *n_keep. One pass serves both: a guess that keeps too
   few needs no second look at the candidates.

   This pass reads every candidate of every pair, so it is the kernels' widest loop. On a CPU
   with AVX-512 it runs 8 candidates per step: one gather of their similarities, the compares,
   and compresses of the kept lanes to the front of a register that is stored whole (the
   compress-to-memory form is microcoded on AMD Zen 4); with AVX2, 4 per step, a permute in
   place of the compress. The stores therefore write up to RK_GATHER_PAD values past the last
   kept one: bs, bd, ks and kd need that much room. Elsewhere (other CPUs, compilers or
   platforms) a branch-free scalar loop does the same. All return the same values: nothing is
   computed, only copied.

   rk_kth_largest, the selection: the k-th largest of n values (1 <= k <= n), by quickselect,
   and how many of them are larger (*n_above); see below. The loops are picked once, on the
   first call. */
#ifndef RK_KNN_SIMD_H
#define RK_KNN_SIMD_H

#include <stddef.h>

#define RK_GATHER_PAD 8

#define RK_GATHER_SCALAR(T)                                                                  \
    ptrdiff_t c = 0, kept = 0;                                                               \
    for (ptrdiff_t p = 0; p < n; p++) {                                                      \
        double s = (double)srow[idx[p]];                                                     \
        bs[c] = s;                                                                           \
        bd[c] = dev[p];                                                                      \
        c += s > 0;                                                                          \
        if (ks) {                                                                            \
            ks[kept] = s;                                                                    \
            kd[kept] = dev[p];                                                               \
            kept += (s > 0) & (s >= g);                                                      \
        }                                                                                    \
    }                                                                                        \
    if (ks) *n_keep = kept;                                                                  \
    return c;

static ptrdiff_t rk_gather_d_scalar(const double* srow, const int* idx, const double* dev, ptrdiff_t n,
                                    double g, double* bs, double* bd, double* ks, double* kd, ptrdiff_t* n_keep) {
    RK_GATHER_SCALAR(double)
}

static ptrdiff_t rk_gather_f_scalar(const float* srow, const int* idx, const double* dev, ptrdiff_t n,
                                    double g, double* bs, double* bd, double* ks, double* kd, ptrdiff_t* n_keep) {
    RK_GATHER_SCALAR(float)
}

static inline double rk_median3(double a, double b, double c) {
    if (a < b) return b < c ? b : (a < c ? c : a);
    return a < c ? a : (b < c ? c : b);
}

/* A quickselect between rounds: the range `in[0:n]` holds the target-th largest, with
   `greater` values left behind above it; keep and other are the buffers the next round writes. */
typedef struct {
    const double* in;
    double* keep;
    double* other;
    ptrdiff_t n, target, greater;
} rk_select;

static inline double rk_select_pivot(const rk_select* s) {
    return rk_median3(s->in[0], s->in[(s->n - 1) >> 1], s->in[s->n - 1]);
}

/* After a round put the `above` values larger than its pivot at the front of keep and the
   `below` smaller ones at the front of other: 1 when the pivot is the value sought (*n_above
   set), else 0 with the range narrowed to the side that holds it. */
static inline int rk_select_narrow(rk_select* s, ptrdiff_t above, ptrdiff_t below, ptrdiff_t* n_above) {
    const ptrdiff_t not_below = s->n - below;
    double* swap;
    if (s->target < above) {
        s->in = s->keep;
        s->n = above;
    } else if (s->target < not_below) {
        *n_above = s->greater + above;
        return 1;
    } else {
        s->target -= not_below;
        s->greater += not_below;
        s->in = s->other;
        s->n = below;
        swap = s->keep; s->keep = s->other; s->other = swap;
    }
    return 0;
}

/* The k-th largest of src[0:n] (src left as it is), by quickselect. Each round reads the range
   once around a median-of-3 pivot and writes the values above it to the front of one buffer
   and those below it to the front of the other (the equal ones are only counted: ties, common
   in similarities, end the search at once), then goes on with the side that holds the k-th
   largest. Each value is stored to both buffers and only the index of the one it belongs to
   steps: no branch on the data (mispredicted about half the time) and no store that a later
   load of the same round waits for. The side kept can be the range it was read from (a write
   never passes the read), so two buffers (a, t; n + RK_GATHER_PAD values each) serve every
   round. The AVX-512 loop below takes the same rounds, 8 values per step. */
static double rk_kth_largest_scalar(const double* src, ptrdiff_t n, ptrdiff_t k, double* a, double* t,
                                    ptrdiff_t* n_above) {
    rk_select s = {src, a, t, n, k - 1, 0};
    while (s.n > 1) {
        const double pivot = rk_select_pivot(&s);
        ptrdiff_t above = 0, below = 0;
        for (ptrdiff_t p = 0; p < s.n; p++) {
            const double v = s.in[p];
            s.keep[above] = v;
            s.other[below] = v;
            above += v > pivot;
            below += v < pivot;
        }
        if (rk_select_narrow(&s, above, below, n_above)) return pivot;
    }
    *n_above = s.greater;
    return s.in[0];
}

/* GCC or clang on x86-64 Linux, as for RK_CLONES in rk_simd.h (elsewhere the CPU query or the
   target attribute may be missing): the AVX-512 and AVX2 loops beside the scalar ones */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>
#define RK_GATHER_V4 1
#define RK_V4 __attribute__((target("avx512f,avx512vl,avx512dq,popcnt")))

/* 8 candidates from p on (the first `live` lanes valid): appended as the scalar loop does */
#define RK_GATHER_STEP(LOAD_S)                                                               \
    {                                                                                        \
        __m512d s = LOAD_S;                                                                  \
        __m512d d = _mm512_maskz_loadu_pd(live, dev + p);                                    \
        __mmask8 positive = _mm512_mask_cmp_pd_mask(live, s, zero, _CMP_GT_OQ);              \
        _mm512_storeu_pd(bs + c, _mm512_maskz_compress_pd(positive, s));                     \
        _mm512_storeu_pd(bd + c, _mm512_maskz_compress_pd(positive, d));                     \
        c += __builtin_popcount((unsigned)positive);                                         \
        if (ks) {                                                                            \
            __mmask8 keep = _mm512_mask_cmp_pd_mask(positive, s, gv, _CMP_GE_OQ);            \
            _mm512_storeu_pd(ks + kept, _mm512_maskz_compress_pd(keep, s));                  \
            _mm512_storeu_pd(kd + kept, _mm512_maskz_compress_pd(keep, d));                  \
            kept += __builtin_popcount((unsigned)keep);                                      \
        }                                                                                    \
    }

RK_V4 static ptrdiff_t rk_gather_d_v4(const double* srow, const int* idx, const double* dev, ptrdiff_t n,
                                      double g, double* bs, double* bd, double* ks, double* kd, ptrdiff_t* n_keep) {
    const __m512d zero = _mm512_setzero_pd(), gv = _mm512_set1_pd(g);
    ptrdiff_t p = 0, c = 0, kept = 0;
    for (; p < n; p += 8) {
        __mmask8 live = n - p >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (n - p)) - 1);
        __m256i at = _mm256_maskz_loadu_epi32(live, idx + p);
        RK_GATHER_STEP(_mm512_mask_i32gather_pd(zero, live, at, srow, 8))
    }
    if (ks) *n_keep = kept;
    return c;
}

RK_V4 static ptrdiff_t rk_gather_f_v4(const float* srow, const int* idx, const double* dev, ptrdiff_t n,
                                      double g, double* bs, double* bd, double* ks, double* kd, ptrdiff_t* n_keep) {
    const __m512d zero = _mm512_setzero_pd(), gv = _mm512_set1_pd(g);
    ptrdiff_t p = 0, c = 0, kept = 0;
    for (; p < n; p += 8) {
        __mmask8 live = n - p >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (n - p)) - 1);
        __m256i at = _mm256_maskz_loadu_epi32(live, idx + p);
        RK_GATHER_STEP(_mm512_cvtps_pd(_mm256_mmask_i32gather_ps(_mm256_setzero_ps(), live, at, srow, 4)))
    }
    if (ks) *n_keep = kept;
    return c;
}

/* The scalar quickselect's rounds, 8 values per step: the kept lanes compressed to the front of
   a register that is stored whole (up to RK_GATHER_PAD values past the last kept one). */
RK_V4 static double rk_kth_largest_v4(const double* src, ptrdiff_t n, ptrdiff_t k, double* a, double* t,
                                      ptrdiff_t* n_above) {
    rk_select s = {src, a, t, n, k - 1, 0};
    while (s.n > 1) {
        const __m512d pv = _mm512_set1_pd(rk_select_pivot(&s));
        ptrdiff_t above = 0, below = 0;
        for (ptrdiff_t p = 0; p < s.n; p += 8) {
            __mmask8 live = s.n - p >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (s.n - p)) - 1);
            __m512d v = _mm512_maskz_loadu_pd(live, s.in + p);
            __mmask8 gt = _mm512_mask_cmp_pd_mask(live, v, pv, _CMP_GT_OQ);
            __mmask8 lt = _mm512_mask_cmp_pd_mask(live, v, pv, _CMP_LT_OQ);
            _mm512_storeu_pd(s.keep + above, _mm512_maskz_compress_pd(gt, v));
            _mm512_storeu_pd(s.other + below, _mm512_maskz_compress_pd(lt, v));
            above += __builtin_popcount((unsigned)gt);
            below += __builtin_popcount((unsigned)lt);
        }
        if (rk_select_narrow(&s, above, below, n_above)) return _mm512_cvtsd_f64(pv);
    }
    *n_above = s.greater;
    return s.in[0];
}

/* The AVX2 loops, for x86-64 CPUs without AVX-512 (AMD before Zen 4, Intel client cores): 4
   candidates per step. AVX2 has gathers but no compress: the kept lanes move to the front by a
   permute whose lane order a 4-bit mask picks from RK_FRONT (16 rows); the register is stored
   whole, up to 4 values past the last kept one (within RK_GATHER_PAD). */
#define RK_V3 __attribute__((target("avx2,popcnt")))

static const int RK_FRONT[16][8] __attribute__((aligned(32))) = {
    {0, 1, 0, 1, 0, 1, 0, 1}, {0, 1, 0, 1, 0, 1, 0, 1}, {2, 3, 0, 1, 0, 1, 0, 1}, {0, 1, 2, 3, 0, 1, 0, 1},
    {4, 5, 0, 1, 0, 1, 0, 1}, {0, 1, 4, 5, 0, 1, 0, 1}, {2, 3, 4, 5, 0, 1, 0, 1}, {0, 1, 2, 3, 4, 5, 0, 1},
    {6, 7, 0, 1, 0, 1, 0, 1}, {0, 1, 6, 7, 0, 1, 0, 1}, {2, 3, 6, 7, 0, 1, 0, 1}, {0, 1, 2, 3, 6, 7, 0, 1},
    {4, 5, 6, 7, 0, 1, 0, 1}, {0, 1, 4, 5, 6, 7, 0, 1}, {2, 3, 4, 5, 6, 7, 0, 1}, {0, 1, 2, 3, 4, 5, 6, 7}};

RK_V3 static inline __m256d rk_front_v3(__m256d v, int mask) {
    return _mm256_castsi256_pd(
        _mm256_permutevar8x32_epi32(_mm256_castpd_si256(v), _mm256_load_si256((const __m256i*)RK_FRONT[mask])));
}

/* the mask of the first `live` (0..4) lanes, as a double compare result and as an int32 one */
RK_V3 static inline __m256i rk_live_v3(ptrdiff_t live) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(live), _mm256_setr_epi64x(0, 1, 2, 3));
}

/* 4 candidates from p on (the lanes of `live` valid): appended as the scalar loop does */
#define RK_GATHER_STEP_V3(LOAD_S)                                                            \
    {                                                                                        \
        __m256d s = LOAD_S;                                                                  \
        __m256d d = _mm256_maskload_pd(dev + p, live);                                       \
        __m256d pos = _mm256_and_pd(_mm256_castsi256_pd(live), _mm256_cmp_pd(s, zero, _CMP_GT_OQ)); \
        int positive = _mm256_movemask_pd(pos);                                              \
        _mm256_storeu_pd(bs + c, rk_front_v3(s, positive));                                  \
        _mm256_storeu_pd(bd + c, rk_front_v3(d, positive));                                  \
        c += __builtin_popcount((unsigned)positive);                                         \
        if (ks) {                                                                            \
            int keep = positive & _mm256_movemask_pd(_mm256_cmp_pd(s, gv, _CMP_GE_OQ));      \
            _mm256_storeu_pd(ks + kept, rk_front_v3(s, keep));                               \
            _mm256_storeu_pd(kd + kept, rk_front_v3(d, keep));                               \
            kept += __builtin_popcount((unsigned)keep);                                      \
        }                                                                                    \
    }

/* the candidates' indexes of the live lanes (the others 0: a gather of them reads srow[0]) */
#define RK_LIVE_INDEX_V3                                                                     \
    __m256i live = rk_live_v3(n - p < 4 ? n - p : 4);                                        \
    __m128i live32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(live, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6))); \
    __m128i at = _mm_maskload_epi32(idx + p, live32);

RK_V3 static ptrdiff_t rk_gather_d_v3(const double* srow, const int* idx, const double* dev, ptrdiff_t n,
                                      double g, double* bs, double* bd, double* ks, double* kd, ptrdiff_t* n_keep) {
    const __m256d zero = _mm256_setzero_pd(), gv = _mm256_set1_pd(g);
    ptrdiff_t p = 0, c = 0, kept = 0;
    for (; p < n; p += 4) {
        RK_LIVE_INDEX_V3
        RK_GATHER_STEP_V3(_mm256_mask_i32gather_pd(zero, srow, at, _mm256_castsi256_pd(live), 8))
    }
    if (ks) *n_keep = kept;
    return c;
}

RK_V3 static ptrdiff_t rk_gather_f_v3(const float* srow, const int* idx, const double* dev, ptrdiff_t n,
                                      double g, double* bs, double* bd, double* ks, double* kd, ptrdiff_t* n_keep) {
    const __m256d zero = _mm256_setzero_pd(), gv = _mm256_set1_pd(g);
    ptrdiff_t p = 0, c = 0, kept = 0;
    for (; p < n; p += 4) {
        RK_LIVE_INDEX_V3
        RK_GATHER_STEP_V3(_mm256_cvtps_pd(_mm_mask_i32gather_ps(_mm_setzero_ps(), srow, at, _mm_castsi128_ps(live32), 4)))
    }
    if (ks) *n_keep = kept;
    return c;
}

/* The scalar quickselect's rounds, 4 values per step */
RK_V3 static double rk_kth_largest_v3(const double* src, ptrdiff_t n, ptrdiff_t k, double* a, double* t,
                                      ptrdiff_t* n_above) {
    rk_select s = {src, a, t, n, k - 1, 0};
    while (s.n > 1) {
        const double pivot = rk_select_pivot(&s);
        const __m256d pv = _mm256_set1_pd(pivot);
        ptrdiff_t above = 0, below = 0;
        for (ptrdiff_t p = 0; p < s.n; p += 4) {
            __m256i live = rk_live_v3(s.n - p < 4 ? s.n - p : 4);
            __m256d v = _mm256_maskload_pd(s.in + p, live);
            int gt = _mm256_movemask_pd(_mm256_and_pd(_mm256_castsi256_pd(live), _mm256_cmp_pd(v, pv, _CMP_GT_OQ)));
            int lt = _mm256_movemask_pd(_mm256_and_pd(_mm256_castsi256_pd(live), _mm256_cmp_pd(v, pv, _CMP_LT_OQ)));
            _mm256_storeu_pd(s.keep + above, rk_front_v3(v, gt));
            _mm256_storeu_pd(s.other + below, rk_front_v3(v, lt));
            above += __builtin_popcount((unsigned)gt);
            below += __builtin_popcount((unsigned)lt);
        }
        if (rk_select_narrow(&s, above, below, n_above)) return pivot;
    }
    *n_above = s.greater;
    return s.in[0];
}

/* The widest loops in use: 2 AVX-512 (F, VL, DQ), 1 AVX2, 0 scalar; -1: not asked yet (a race
   only asks twice) */
static int rk_gather_level = -1;

static int rk_gather_cpu_level(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return 2;
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}

static inline int rk_gather_widest(void) {
    if (rk_gather_level < 0) rk_gather_level = rk_gather_cpu_level();
    return rk_gather_level;
}
#endif

/* Tests run every loop on one machine: the widest loops at most `level` (2 AVX-512, 1 AVX2, 0
   scalar) that the CPU has are used from now on; returns their level. */
static int rk_knn_simd_use(int level) {
#ifdef RK_GATHER_V4
    int cpu = rk_gather_cpu_level();
    rk_gather_level = level < cpu ? (level < 0 ? 0 : level) : cpu;
    return rk_gather_level;
#else
    (void)level;
    return 0;
#endif
}

static inline ptrdiff_t rk_gather_d(const double* srow, const int* idx, const double* dev, ptrdiff_t n,
                                    double g, double* bs, double* bd, double* ks, double* kd, ptrdiff_t* n_keep) {
#ifdef RK_GATHER_V4
    switch (rk_gather_widest()) {
        case 2: return rk_gather_d_v4(srow, idx, dev, n, g, bs, bd, ks, kd, n_keep);
        case 1: return rk_gather_d_v3(srow, idx, dev, n, g, bs, bd, ks, kd, n_keep);
    }
#endif
    return rk_gather_d_scalar(srow, idx, dev, n, g, bs, bd, ks, kd, n_keep);
}

static inline ptrdiff_t rk_gather_f(const float* srow, const int* idx, const double* dev, ptrdiff_t n,
                                    double g, double* bs, double* bd, double* ks, double* kd, ptrdiff_t* n_keep) {
#ifdef RK_GATHER_V4
    switch (rk_gather_widest()) {
        case 2: return rk_gather_f_v4(srow, idx, dev, n, g, bs, bd, ks, kd, n_keep);
        case 1: return rk_gather_f_v3(srow, idx, dev, n, g, bs, bd, ks, kd, n_keep);
    }
#endif
    return rk_gather_f_scalar(srow, idx, dev, n, g, bs, bd, ks, kd, n_keep);
}

/* a and t: scratch for n + RK_GATHER_PAD values each */
static inline double rk_kth_largest(const double* src, ptrdiff_t n, ptrdiff_t k, double* a, double* t,
                                    ptrdiff_t* n_above) {
#ifdef RK_GATHER_V4
    switch (rk_gather_widest()) {
        case 2: return rk_kth_largest_v4(src, n, k, a, t, n_above);
        case 1: return rk_kth_largest_v3(src, n, k, a, t, n_above);
    }
#endif
    return rk_kth_largest_scalar(src, n, k, a, t, n_above);
}

#endif
