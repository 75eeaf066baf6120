/* Floating point exactly as scikit-surprise's compiled and Python code computes it.
 *
 * - No fused multiply-add: err + d * d must round twice, as in scikit-surprise's wheels (built
 *   for baseline x86-64, which has no FMA), also when this file is built with -march=native.
 * - rk_libm_square: the C library's pow(x, 2.0), called through a volatile pointer so that the
 *   compiler cannot replace it by x * x. Python's float ** 2 calls pow at run time, and glibc's
 *   pow differs from x * x in the last bit for about 0.1% of arguments: NormalPredictor's sigma
 *   equals scikit-surprise's (a Python sum of (r - mu) ** 2) only with the same pow. */
#ifndef RK_EXACT_FP_H
#define RK_EXACT_FP_H
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <math.h>

static inline double rk_libm_square(double x) {
    double (*volatile f)(double, double) = pow;
    return f(x, 2.0);
}
#endif
