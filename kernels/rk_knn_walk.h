/* The item-based top-N walk over bit sets (kernels/knn.pyx, knn_recommend_item_walk).

   One target item i and a block of users (rows). i's positive neighbours are walked most
   similar first; each neighbour j hands its similarity s to every row that rated j and still
   has room (fewer than k contributors taken), so a row's sums end up over its k most similar
   rated neighbours. `bits` holds, per item j, the rows that rated j (n_words 64-bit words);
   `base` the position in `xd` (the block's centred ratings, by item, rows ascending) of each
   word's first rater. The set of rows with room (`open`) is a bit set as well, so a step
   touches only rows that take something: the rows that are full cost one AND per word, not a
   step each (on ML-100K about a third of a per-rater walk's steps, half in the blocks of heavy
   raters). A row's rating of j is found by counting the raters below it in its word (popcount).

   Ties: a row whose k-th contributor came from a run of equal similarities in which it then
   meets one more rated neighbour had to leave that one out; which of the tied ones the per-pair
   definition takes depends on the candidate order, so such rows are flagged (`flagged`) for an
   exact score. The walk ends at the first run boundary once no row has room.

   The sums are those of a per-rater walk in the same order; RK_CLONES gives the AVX2 clone
   (x86-64-v3) the popcnt and tzcnt instructions, the baseline clone counts in software. */
#ifndef RK_KNN_WALK_H
#define RK_KNN_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "rk_simd.h"

RK_CLONES static void rk_walk_bits(const double* nbr_s, const int32_t* nbr_v, ptrdiff_t n_nb,
                                   const unsigned long long* bits, const long long* base, ptrdiff_t n_words,
                                   const double* xd, long long k, unsigned long long* open, unsigned long long* fill_run,
                                   unsigned long long* flagged, double* ss, double* sr, long long* cnt) {
    ptrdiff_t n_open = 0;
    for (ptrdiff_t w = 0; w < n_words; w++) {
        n_open += __builtin_popcountll(open[w]);
        fill_run[w] = 0;  /* rows whose k-th contributor came in the current run */
        flagged[w] = 0;
    }
    for (ptrdiff_t q = 0; q < n_nb; q++) {
        const double s = nbr_s[q];
        if (q > 0 && s != nbr_s[q - 1]) {
            if (n_open == 0) break;
            for (ptrdiff_t w = 0; w < n_words; w++) fill_run[w] = 0;
        }
        const unsigned long long* rb = bits + (ptrdiff_t)nbr_v[q] * n_words;
        const long long* bb = base + (ptrdiff_t)nbr_v[q] * n_words;
        for (ptrdiff_t w = 0; w < n_words; w++) {
            const uint64_t r = rb[w];
            flagged[w] |= r & fill_run[w];  /* full since earlier in this run, and tied again */
            uint64_t a = r & open[w];
            if (a == 0) continue;
            const double* xw = xd + bb[w];
            double* ssw = ss + 64 * w;
            double* srw = sr + 64 * w;
            long long* cw = cnt + 64 * w;
            uint64_t now_full = 0;
            do {
                const int b = __builtin_ctzll(a);
                a &= a - 1;
                const double d = xw[__builtin_popcountll(r & ((UINT64_C(1) << b) - 1))];
                ssw[b] += s;
                srw[b] += s * d;
                now_full |= (uint64_t)(++cw[b] == k) << b;
            } while (a);
            open[w] ^= now_full;
            fill_run[w] |= now_full;
            n_open -= __builtin_popcountll(now_full);
        }
    }
}

#endif
