/* The dense algebra of one ALS row solve (kernels/als.pyx), written once for both precisions:
   als.pyx includes this file twice, with
     RK_T        the element type (float or double),
     RK_V        a 32-byte vector of RK_T that may load from unaligned rows (rk_simd.h),
     RK_NAME(f)  the function's name with the precision's prefix (rk_sdot, rk_ddot, ...).
   Every function is compiled for AVX2/FMA and for baseline x86-64 (RK_CLONES), the clone
   chosen at load time; loops carry `omp simd` so they vectorise without -ffast-math.

   Matrices are row-major with a row stride ld that is a multiple of 8 (>= d), so that whole
   vectors starting anywhere in [0, d) stay inside their row. Only the upper triangle of the
   symmetric d x d systems is meaningful; the strictly lower part and the padding columns hold
   finite values that nothing reads. */

#define RK_L ((int)(sizeof(RK_V) / sizeof(RK_T)))

RK_CLONES static RK_T RK_NAME(dot)(int n, const RK_T *x, const RK_T *y) {
    RK_T s = 0;
    #pragma omp simd reduction(+:s)
    for (int i = 0; i < n; i++) s += x[i] * y[i];
    return s;
}

/* y += a * x */
RK_CLONES static void RK_NAME(axpy)(int n, RK_T a, const RK_T *x, RK_T *y) {
    #pragma omp simd
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

/* The implicit CG's pass over a row's nonzeros, c_q = 1 + alpha * data[q], y_q = Y[indices[q]]:
   out += sum_q (c_q - 1)(y_q . v) y_q, or with residual, out += sum_q (c_q - (c_q - 1)(y_q . v)) y_q.
   One call per row and step, the dot and the axpy fused in one loop body. */
RK_CLONES static void RK_NAME(implicit_pass)(long long lo, long long hi, const int *indices,
        const double *data, const RK_T *Y, int k, double alpha, const RK_T *v, RK_T *out, int residual) {
    for (long long q = lo; q < hi; q++) {
        const RK_T *y = Y + (long long)indices[q] * k;
        RK_T w = (RK_T)(alpha * data[q]), s = 0;
        #pragma omp simd reduction(+:s)
        for (int i = 0; i < k; i++) s += y[i] * v[i];
        RK_T coef = residual ? (1 + w) - w * s : w * s;
        #pragma omp simd
        for (int i = 0; i < k; i++) out[i] += coef * y[i];
    }
}

/* Rows a0..d-1 of A's upper triangle += sign * B^T B, B being m rows of stride ld.

   Two rows of A and four vectors of each (eight sums) stay in registers while the m rows of B
   add to them: one load and store of A per m multiply-adds, and enough independent sums to
   hide the FMA latency. Row a is covered by whole groups of four vectors ending at the vector
   that holds column d - 1; the first group may reach back below the diagonal (unread columns,
   cheaper than a slow remainder loop); only in the top rows, where the groups would start
   before column 0, do a few single vectors come first. */
RK_CLONES static void RK_NAME(rank_update)(int a0, int d, int ld, int m, const RK_T *B, RK_T *A,
                                           RK_T sign) {
    const int end = (d + RK_L - 1) / RK_L * RK_L;  /* <= ld */
    const int group = 4 * RK_L;
    int a = a0;
    for (; a < d; a += 2) {
        const int pair = a + 1 < d;  /* the last row may be alone: it then pairs with itself */
        const int a1 = pair ? a + 1 : a;
        RK_T *r0 = A + (long long)a * ld, *r1 = A + (long long)a1 * ld;
        const int n = (end - a / RK_L * RK_L) / RK_L;  /* vectors that hold columns a..d-1 */
        int i = end - (n + 3) / 4 * group;  /* i..end: whole groups covering columns a..d-1 */
        if (i < 0) i = end % group;  /* they would start before column 0: fewer groups */
        for (int j = a / RK_L * RK_L; j < i; j += RK_L) {  /* the vectors before the groups */
            RK_V x0 = {0}, y0 = {0};
            for (int q = 0; q < m; q++) {
                const RK_T *b = B + (long long)q * ld;
                const RK_V v0 = *(const RK_V *)(b + j);
                x0 += b[a] * v0;
                y0 += b[a1] * v0;
            }
            *(RK_V *)(r0 + j) += sign * x0;
            if (pair) *(RK_V *)(r1 + j) += sign * y0;
        }
        for (; i < end; i += group) {
            RK_V x0 = {0}, x1 = {0}, x2 = {0}, x3 = {0}, y0 = {0}, y1 = {0}, y2 = {0}, y3 = {0};
            for (int q = 0; q < m; q++) {
                const RK_T *b = B + (long long)q * ld;
                const RK_T c0 = b[a], c1 = b[a1];
                const RK_V v0 = *(const RK_V *)(b + i), v1 = *(const RK_V *)(b + i + RK_L);
                const RK_V v2 = *(const RK_V *)(b + i + 2 * RK_L), v3 = *(const RK_V *)(b + i + 3 * RK_L);
                x0 += c0 * v0; x1 += c0 * v1; x2 += c0 * v2; x3 += c0 * v3;
                y0 += c1 * v0; y1 += c1 * v1; y2 += c1 * v2; y3 += c1 * v3;
            }
            *(RK_V *)(r0 + i) += sign * x0; *(RK_V *)(r0 + i + RK_L) += sign * x1;
            *(RK_V *)(r0 + i + 2 * RK_L) += sign * x2; *(RK_V *)(r0 + i + 3 * RK_L) += sign * x3;
            if (pair) {
                *(RK_V *)(r1 + i) += sign * y0; *(RK_V *)(r1 + i + RK_L) += sign * y1;
                *(RK_V *)(r1 + i + 2 * RK_L) += sign * y2; *(RK_V *)(r1 + i + 3 * RK_L) += sign * y3;
            }
        }
    }
}

/* Solve A x = b from the upper triangle of A, which is overwritten by U with A = U^T U;
   nonzero if A is not positive definite.

   Right-looking and blocked: the RK_NB rows of a block are factored against each other, then
   the rest of the matrix takes the block's contribution in one rank update (the kernel above),
   so almost all the d^3 / 6 multiply-adds run with A's rows held in registers. */
#define RK_NB 8
RK_CLONES static int RK_NAME(cholesky_solve)(int d, int ld, RK_T *A, const RK_T *b, RK_T *x) {
    for (int c0 = 0; c0 < d; c0 += RK_NB) {
        const int c1 = c0 + RK_NB < d ? c0 + RK_NB : d;
        for (int c = c0; c < c1; c++) {
            RK_T *rc = A + (long long)c * ld;
            if (!(rc[c] > 0)) return 1;  /* not positive definite, or NaN */
            const RK_T pivot = (RK_T)sqrt((double)rc[c]);
            rc[c] = pivot;
            #pragma omp simd
            for (int j = c + 1; j < d; j++) rc[j] /= pivot;
            for (int i = c + 1; i < c1; i++) {
                RK_T *ri = A + (long long)i * ld;
                const RK_T u = rc[i];
                #pragma omp simd
                for (int j = i; j < d; j++) ri[j] -= u * rc[j];
            }
        }
        if (c1 < d) RK_NAME(rank_update)(c1, d, ld, c1 - c0, A + (long long)c0 * ld, A, -1);
    }
    for (int i = 0; i < d; i++) x[i] = b[i];
    for (int i = 0; i < d; i++) {  /* U^T z = b, z in x: row i of U is column i of U^T */
        const RK_T *ri = A + (long long)i * ld;
        const RK_T z = x[i] / ri[i];
        x[i] = z;
        #pragma omp simd
        for (int j = i + 1; j < d; j++) x[j] -= z * ri[j];
    }
    for (int i = d - 1; i >= 0; i--) {  /* U x = z */
        const RK_T *ri = A + (long long)i * ld;
        RK_T t = 0;
        #pragma omp simd reduction(+:t)
        for (int j = i + 1; j < d; j++) t += ri[j] * x[j];
        x[i] = (x[i] - t) / ri[i];
    }
    return 0;
}
#undef RK_NB
#undef RK_L
