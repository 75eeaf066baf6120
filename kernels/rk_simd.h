/* Shared by the Cython kernels: how the hot C primitives get AVX-512 and AVX2/FMA in a
   portable build.

   One build runs on any x86-64 CPU yet uses the widest vectors the CPU has: GCC compiles a
   function marked RK_CLONES three times (x86-64-v4: AVX-512F/BW/DQ/VL; x86-64-v3: AVX2/FMA;
   baseline) and picks the clone once at load time (ifunc). Elsewhere (clang, macOS, Windows,
   ARM) the mark is empty and the plain loops are compiled for the build's target. Loops inside such functions carry `omp simd` so they
   vectorise, reductions included, without -ffast-math. */
#ifndef RK_SIMD_H
#define RK_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define RK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RK_CLONES
#endif

/* A hint that a row will be read (and written) soon; a no-op where the compiler lacks it. */
#if defined(__GNUC__) || defined(__clang__)
#define RK_PREFETCH_W(addr) __builtin_prefetch((addr), 1, 3)
#else
#define RK_PREFETCH_W(addr) ((void)0)
#endif

/* 32-byte vectors (one AVX register; two SSE ones in the baseline clone) for loads from rows
   that need not be 32-byte aligned: aligned(sizeof(T)) and may_alias make such loads legal. */
typedef float rk_u8sf __attribute__((vector_size(32), aligned(4), __may_alias__));
typedef double rk_u4df __attribute__((vector_size(32), aligned(8), __may_alias__));

#endif
