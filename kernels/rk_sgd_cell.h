/* One cell of the blocked SVD epoch and one user of the Hogwild SVD++ epoch (kernels/sgd.pyx),
   written once for both precisions: sgd.pyx includes this file twice, with
     RK_T        the element type (float or double),
     RK_V        an unaligned 32-byte vector of RK_T (rk_simd.h: rk_u8sf, rk_u4df),
     RK_NAME(f)  the function's name with the precision's prefix (rk_ssvd_cell, rk_dsvd_cell,
                 rk_ssvdpp_user, rk_dsvdpp_user).

   The cell walks its ratings lo..hi in order, adding each squared error to ``loss`` (the cell's
   sum so far: a cell run in parts, one call each, sums exactly as in one call): for each, the error of mu + b_u + b_i + q_i . p_u,
   the biases, then p_u += lr_pu (err q_i - reg_pu p_u) and q_i += lr_qi (err p_u - reg_qi q_i)
   from the old values. What makes it fast:
   - RK_CLONES compiles it three times (AVX-512, AVX2/FMA, baseline), the clone picked at load
     time. Rows are walked in 32-byte vectors (8 floats / 4 doubles; two SSE registers in the
     baseline clone, one AVX register in the others, which the AVX-512 clone encodes with EVEX
     and its 32 registers), then the last k % 8 (k % 4) values one by one. Every clone adds in
     the same order, so the AVX2 and AVX-512 clones give the same numbers (both fuse
     multiply-adds; the baseline clone cannot). Measured and dropped (benchmarks, Zen 4):
     64-byte (16-float) vectors, about 15% slower in the AVX-512 clone (Zen 4 runs 512-bit
     operations as two 256-bit halves, and a row of 100 floats starts 16 bytes off a cache
     line, so probably every 64-byte access splits) and 6x slower in the AVX2 clone (GCC
     lowers the 64-byte generic vectors poorly there); ending each row with one more vector
     that overlaps the last whole one instead of the scalar tail, slower for k = 128 (probably
     store forwarding: the next update of the row loads what two stores wrote).
   - Up to four consecutive ratings that share neither a user nor an item run at once (the grid
     interleaves each cell's four quarters so that they mostly do, see build_grid): the result
     is that of doing them one after the other, but four dependency chains (dot -> error ->
     update) overlap instead of each waiting on the previous one. Where they conflict, two or one.
   - The factor step is p <- a_p p + (lr_pu err) q with a_p = 1 - lr_pu reg_pu fixed for the
     epoch: two vector operations per row chunk instead of three (the same update, rounded
     differently: about one ulp per step).
   - The item rows of the ratings RK_AHEAD places ahead are prefetched: items come from all over
     Q; users advance in order within each quarter.
   RK_FAST lets the compiler fuse multiply-adds here (sgd.pyx is built with -ffp-contract=off
   for the serial kernels' sake). */

#define RK_L ((int)(sizeof(RK_V) / sizeof(RK_T)))
#define RK_AT(x) (*(const RK_V *)(x))
#define RK_PUT(x, v) __builtin_memcpy((x), &(v), sizeof(RK_V))

#ifndef RK_AHEAD
#define RK_AHEAD 8   /* ratings between an item row's prefetch and its use */
#define RK_FAST __attribute__((optimize("fp-contract=fast")))
/* rows of 2, 3, 4, 5, 7, 8, 13, 16 or 25 vectors: 10, 20, 32, 50, 64, 100, 128 and 200 factors padded
   (float32: 16, 24, 32, 56, 64, 104, 128, 200; float64: 12, 20, 32, 52, 64, 100, 200) get a cell
   compiled for their width (measured: about 10% faster for 100 factors than the loop over any k) */
#define RK_CELL_CASES case 2: return RK_CELL(2 * RK_L); case 3: return RK_CELL(3 * RK_L); \
    case 4: return RK_CELL(4 * RK_L); case 5: return RK_CELL(5 * RK_L); case 7: return RK_CELL(7 * RK_L); \
    case 8: return RK_CELL(8 * RK_L); case 13: return RK_CELL(13 * RK_L); case 16: return RK_CELL(16 * RK_L); \
    case 25: return RK_CELL(25 * RK_L);
static inline __attribute__((always_inline)) void rk_prefetch_row(const void *row, int bytes) {
    for (int b = 0; b < bytes; b += 64) RK_PREFETCH_W((const char *)row + b);
    RK_PREFETCH_W((const char *)row + bytes - 1);
}
#endif

/* The lanes of v summed as a fixed tree (halves, then quarters, ...), written out lane by lane: the
   loop over a copy in memory that it replaces made GCC add the last two lanes through the stack (a
   store and two reloads in every rating's dependency chain). The same additions in the same order. */
static inline __attribute__((always_inline)) RK_T RK_NAME(hsum)(RK_V v) {
    if (RK_L == 8) {
        const RK_T a0 = v[0] + v[4], a1 = v[1] + v[5], a2 = v[2] + v[6], a3 = v[3] + v[7];
        return (a0 + a2) + (a1 + a3);
    }
    if (RK_L == 4)
        return (v[0] + v[2]) + (v[1] + v[3]);
    RK_T t[RK_L];
    __builtin_memcpy(t, &v, sizeof t);
    for (int w = RK_L / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++) t[l] += t[l + w];
    return t[0];
}

/* Rows of k >= RK_L values: whole vectors up to full = k - k % RK_L, then one by one. */
static inline __attribute__((always_inline)) RK_T RK_NAME(dot)(const RK_T *a, const RK_T *b, int full, int k) {
    RK_V s = {0};
    for (int f = 0; f < full; f += RK_L) s += RK_AT(a + f) * RK_AT(b + f);
    RK_T t = RK_NAME(hsum)(s);
    for (int f = full; f < k; f++) t += a[f] * b[f];
    return t;
}

/* p <- ap p + bp q, q <- aq q + bq p, the old values on the right. */
static inline __attribute__((always_inline)) void RK_NAME(step)(RK_T *restrict p, RK_T *restrict q, int full,
                                                                 int k, RK_T ap, RK_T bp, RK_T aq, RK_T bq) {
    for (int f = 0; f < full; f += RK_L) {
        const RK_V pv = RK_AT(p + f), qv = RK_AT(q + f);
        const RK_V np_ = ap * pv + bp * qv, nq_ = aq * qv + bq * pv;
        RK_PUT(p + f, np_);
        RK_PUT(q + f, nq_);
    }
    for (int f = full; f < k; f++) {
        const RK_T pf = p[f], qf = q[f];
        p[f] = ap * pf + bp * qf;
        q[f] = aq * qf + bq * pf;
    }
}

/* The same two operations for rows shorter than one vector, element by element. */
static inline __attribute__((always_inline)) RK_T RK_NAME(dot_short)(const RK_T *a, const RK_T *b, int k) {
    RK_T s = 0;
    for (int f = 0; f < k; f++) s += a[f] * b[f];
    return s;
}

static inline __attribute__((always_inline)) void RK_NAME(step_short)(RK_T *restrict p, RK_T *restrict q, int k,
                                                                       RK_T ap, RK_T bp, RK_T aq, RK_T bq) {
    for (int f = 0; f < k; f++) {
        const RK_T pf = p[f], qf = q[f];
        p[f] = ap * pf + bp * qf;
        q[f] = aq * qf + bq * pf;
    }
}

static inline __attribute__((always_inline)) double RK_NAME(svd_cell_any)(long long lo, long long hi, const int *users, const int *items,
        const RK_T *ratings, RK_T mu, RK_T *bu, RK_T *bi, RK_T *pu, RK_T *qi, int k, const RK_T *lr,
        const RK_T *reg, int biased, double loss) {
    const RK_T lr_bu = lr[0], lr_bi = lr[1], lr_pu = lr[2], lr_qi = lr[3];
    const RK_T reg_bu = reg[0], reg_bi = reg[1];
    const RK_T ap = 1 - lr_pu * reg[2], aq = 1 - lr_qi * reg[3];
    const int row_bytes = k * (int)sizeof(RK_T);
    const int wide = k >= RK_L, full = k - k % RK_L;
    long long p = lo;
    while (p < hi) {
        for (long long a = p + RK_AHEAD; a < p + RK_AHEAD + 4 && a < hi; a++)
            rk_prefetch_row(qi + (long long)items[a] * k, row_bytes);
        int n = 1;  /* how many of the next ratings run together: 4, 2 or 1 */
        if (p + 1 < hi && users[p + 1] != users[p] && items[p + 1] != items[p]) {
            n = 2;
            if (p + 3 < hi) {
                const int *u = users + p, *i = items + p;
                if (u[2] != u[0] && u[2] != u[1] && u[3] != u[0] && u[3] != u[1] && u[3] != u[2] &&
                    i[2] != i[0] && i[2] != i[1] && i[3] != i[0] && i[3] != i[1] && i[3] != i[2])
                    n = 4;
            }
        }
        RK_T *pr[4], *qr[4];
        RK_T dot[4];
        for (int j = 0; j < n; j++) {
            pr[j] = pu + (long long)users[p + j] * k;
            qr[j] = qi + (long long)items[p + j] * k;
        }
        if (!wide) {
            for (int j = 0; j < n; j++) dot[j] = RK_NAME(dot_short)(qr[j], pr[j], k);
        } else if (n == 4) {  /* four dot products in one pass: four independent sums */
            RK_V s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
            for (int f = 0; f < full; f += RK_L) {
                s0 += RK_AT(qr[0] + f) * RK_AT(pr[0] + f);
                s1 += RK_AT(qr[1] + f) * RK_AT(pr[1] + f);
                s2 += RK_AT(qr[2] + f) * RK_AT(pr[2] + f);
                s3 += RK_AT(qr[3] + f) * RK_AT(pr[3] + f);
            }
            dot[0] = RK_NAME(hsum)(s0);
            dot[1] = RK_NAME(hsum)(s1);
            dot[2] = RK_NAME(hsum)(s2);
            dot[3] = RK_NAME(hsum)(s3);
            for (int f = full; f < k; f++) {
                dot[0] += qr[0][f] * pr[0][f];
                dot[1] += qr[1][f] * pr[1][f];
                dot[2] += qr[2][f] * pr[2][f];
                dot[3] += qr[3][f] * pr[3][f];
            }
        } else {
            for (int j = 0; j < n; j++) dot[j] = RK_NAME(dot)(qr[j], pr[j], full, k);
        }
        RK_T bp[4], bq[4];
        for (int j = 0; j < n; j++) {
            const int u = users[p + j], i = items[p + j];
            const RK_T e = ratings[p + j] - (mu + bu[u] + bi[i] + dot[j]);
            loss += (double)e * e;
            if (biased) {
                bu[u] += lr_bu * (e - reg_bu * bu[u]);
                bi[i] += lr_bi * (e - reg_bi * bi[i]);
            }
            bp[j] = lr_pu * e;
            bq[j] = lr_qi * e;
        }
        if (!wide) {
            for (int j = 0; j < n; j++) RK_NAME(step_short)(pr[j], qr[j], k, ap, bp[j], aq, bq[j]);
        } else {
            for (int j = 0; j < n; j++) RK_NAME(step)(pr[j], qr[j], full, k, ap, bp[j], aq, bq[j]);
        }
        p += n;
    }
    return loss;
}

/* The cell for rows of whole vectors (k % RK_L == 0: the estimator pads its factor rows to a
   multiple of 32 bytes, 32-byte aligned, and the padding lanes stay 0 under the update rule), with
   k a compile-time constant where svd_cell's switch names it: no partial vector, no loop
   bookkeeping per ratings group, the four rows' loops fused. The numbers are svd_cell_any's: the
   same sums in the same order. */
static inline __attribute__((always_inline)) double RK_NAME(svd_cell_vec)(long long lo, long long hi,
        const int *users, const int *items, const RK_T *ratings, RK_T mu, RK_T *bu, RK_T *bi, RK_T *pu, RK_T *qi,
        const int k, const RK_T *lr, const RK_T *reg, int biased, double loss) {
    const RK_T lr_bu = lr[0], lr_bi = lr[1], lr_pu = lr[2], lr_qi = lr[3];
    const RK_T reg_bu = reg[0], reg_bi = reg[1];
    const RK_T ap = 1 - lr_pu * reg[2], aq = 1 - lr_qi * reg[3];
    const int row_bytes = k * (int)sizeof(RK_T);
    long long p = lo;
    while (p < hi) {
        const int *u = users + p, *i = items + p;
        if (p + RK_AHEAD + 4 <= hi)
            for (int a = RK_AHEAD; a < RK_AHEAD + 4; a++) {
                const char *row = (const char *)(qi + (long long)i[a] * k);
                for (int b = 0; b < row_bytes; b += 64) RK_PREFETCH_W(row + b);
            }
        if (p + 4 <= hi && u[1] != u[0] && i[1] != i[0] && u[2] != u[0] && u[2] != u[1] && u[3] != u[0] &&
                u[3] != u[1] && u[3] != u[2] && i[2] != i[0] && i[2] != i[1] && i[3] != i[0] && i[3] != i[1] &&
                i[3] != i[2]) {  /* four ratings that share no row: their chains overlap */
            RK_T *restrict p0 = pu + (long long)u[0] * k, *restrict p1 = pu + (long long)u[1] * k;
            RK_T *restrict p2 = pu + (long long)u[2] * k, *restrict p3 = pu + (long long)u[3] * k;
            RK_T *restrict q0 = qi + (long long)i[0] * k, *restrict q1 = qi + (long long)i[1] * k;
            RK_T *restrict q2 = qi + (long long)i[2] * k, *restrict q3 = qi + (long long)i[3] * k;
            RK_V s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
            for (int f = 0; f < k; f += RK_L) {
                s0 += RK_AT(q0 + f) * RK_AT(p0 + f);
                s1 += RK_AT(q1 + f) * RK_AT(p1 + f);
                s2 += RK_AT(q2 + f) * RK_AT(p2 + f);
                s3 += RK_AT(q3 + f) * RK_AT(p3 + f);
            }
            const RK_T dot[4] = {RK_NAME(hsum)(s0), RK_NAME(hsum)(s1), RK_NAME(hsum)(s2), RK_NAME(hsum)(s3)};
            RK_T bp[4], bq[4];
            for (int j = 0; j < 4; j++) {
                const RK_T e = ratings[p + j] - (mu + bu[u[j]] + bi[i[j]] + dot[j]);
                loss += (double)e * e;
                if (biased) {
                    bu[u[j]] += lr_bu * (e - reg_bu * bu[u[j]]);
                    bi[i[j]] += lr_bi * (e - reg_bi * bi[i[j]]);
                }
                bp[j] = lr_pu * e;
                bq[j] = lr_qi * e;
            }
            for (int f = 0; f < k; f += RK_L) {
                const RK_V a0 = RK_AT(p0 + f), c0 = RK_AT(q0 + f), a1 = RK_AT(p1 + f), c1 = RK_AT(q1 + f);
                const RK_V a2 = RK_AT(p2 + f), c2 = RK_AT(q2 + f), a3 = RK_AT(p3 + f), c3 = RK_AT(q3 + f);
                const RK_V x0 = ap * a0 + bp[0] * c0, y0 = aq * c0 + bq[0] * a0;
                const RK_V x1 = ap * a1 + bp[1] * c1, y1 = aq * c1 + bq[1] * a1;
                const RK_V x2 = ap * a2 + bp[2] * c2, y2 = aq * c2 + bq[2] * a2;
                const RK_V x3 = ap * a3 + bp[3] * c3, y3 = aq * c3 + bq[3] * a3;
                RK_PUT(p0 + f, x0); RK_PUT(q0 + f, y0); RK_PUT(p1 + f, x1); RK_PUT(q1 + f, y1);
                RK_PUT(p2 + f, x2); RK_PUT(q2 + f, y2); RK_PUT(p3 + f, x3); RK_PUT(q3 + f, y3);
            }
            p += 4;
        } else {  /* one rating: the next group starts after it */
            RK_T *pr = pu + (long long)u[0] * k, *qr = qi + (long long)i[0] * k;
            RK_V s0 = {0};
            for (int f = 0; f < k; f += RK_L) s0 += RK_AT(qr + f) * RK_AT(pr + f);
            const RK_T e = ratings[p] - (mu + bu[u[0]] + bi[i[0]] + RK_NAME(hsum)(s0));
            loss += (double)e * e;
            if (biased) {
                bu[u[0]] += lr_bu * (e - reg_bu * bu[u[0]]);
                bi[i[0]] += lr_bi * (e - reg_bi * bi[i[0]]);
            }
            RK_NAME(step)(pr, qr, k, k, ap, lr_pu * e, aq, lr_qi * e);
            p += 1;
        }
    }
    return loss;
}

RK_CLONES RK_FAST static double RK_NAME(svd_cell)(long long lo, long long hi, const int *users, const int *items,
        const RK_T *ratings, RK_T mu, RK_T *bu, RK_T *bi, RK_T *pu, RK_T *qi, int k, const RK_T *lr,
        const RK_T *reg, int biased, double loss) {
#define RK_CELL(kk) RK_NAME(svd_cell_vec)(lo, hi, users, items, ratings, mu, bu, bi, pu, qi, kk, lr, reg, biased, loss)
    if (k % RK_L != 0)
        return RK_NAME(svd_cell_any)(lo, hi, users, items, ratings, mu, bu, bi, pu, qi, k, lr, reg, biased, loss);
    switch (k / RK_L) {  /* padded widths of the usual factor counts (in vectors), then any */
        RK_CELL_CASES
        default: return RK_CELL(k);
    }
#undef RK_CELL
}

/* User u's ratings (positions lo..hi of the by-user CSR) in scikit-surprise's SVD++ order, O(k)
   each: the algebra of _svdpp_user in kernels/sgd.pyx (y_j = A y0_j + B while u's ratings run,
   the y_j written once at the end), compiled with the clones and vectorised loops (the dot
   product reassociates: `omp simd reduction`). The Hogwild epoch runs it on parallel threads;
   the exact epoch keeps the Cython version, whose sums run left to right. z, shift, implicit:
   k scratch values each, private to the calling thread. */
RK_CLONES RK_FAST static double RK_NAME(svdpp_user)(long long lo, long long hi, long long u, const int *indices,
        const RK_T *data, RK_T mu, RK_T *bu, RK_T *bi, RK_T *pu, RK_T *qi, RK_T *yj, int k, const RK_T *lr,
        const RK_T *reg, RK_T *restrict z, RK_T *restrict shift, RK_T *restrict implicit) {
    if (lo == hi) return 0.0;
    const RK_T s = (RK_T)sqrt((double)(hi - lo));
    const RK_T decay = 1 - lr[4] * reg[4];
    RK_T *restrict pr = pu + u * k;
    for (int f = 0; f < k; f++) { z[f] = 0; shift[f] = 0; }
    for (long long q = lo; q < hi; q++) {
        const RK_T *y = yj + (long long)indices[q] * k;
        #pragma omp simd
        for (int f = 0; f < k; f++) z[f] += y[f] / s;
    }
    RK_T scale = 1;
    double loss = 0.0;
    for (long long p = lo; p < hi; p++) {
        const int i = indices[p];
        RK_T *restrict qr = qi + (long long)i * k;
        if (p + 2 < hi) rk_prefetch_row(qi + (long long)indices[p + 2] * k, k * (int)sizeof(RK_T));
        RK_T dot = 0;
        #pragma omp simd reduction(+:dot)
        for (int f = 0; f < k; f++) {
            implicit[f] = scale * z[f] + s * shift[f];
            dot += qr[f] * (pr[f] + implicit[f]);
        }
        const RK_T err = data[p] - (mu + bu[u] + bi[i] + dot);
        loss += (double)err * err;
        bu[u] += lr[0] * (err - reg[0] * bu[u]);
        bi[i] += lr[1] * (err - reg[1] * bi[i]);
        const RK_T lr_pu = lr[2], lr_qi = lr[3], lr_yj = lr[4], reg_pu = reg[2], reg_qi = reg[3];
        #pragma omp simd
        for (int f = 0; f < k; f++) {
            const RK_T puf = pr[f], qif = qr[f];
            pr[f] = puf + lr_pu * (err * qif - reg_pu * puf);
            qr[f] = qif + lr_qi * (err * (puf + implicit[f]) - reg_qi * qif);
            shift[f] = decay * shift[f] + lr_yj * (err * qif / s);
        }
        scale = decay * scale;
    }
    for (long long q = lo; q < hi; q++) {
        RK_T *y = yj + (long long)indices[q] * k;
        #pragma omp simd
        for (int f = 0; f < k; f++) y[f] = scale * y[f] + shift[f];
    }
    return loss;
}

#undef RK_L
#undef RK_AT
#undef RK_PUT
