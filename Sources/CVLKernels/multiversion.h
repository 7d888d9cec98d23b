// VL_MULTIVERSION: one definition of how the hot kernels are compiled for several CPUs (private to
// CVLKernels; used by nn_ops.c and gemv.c).
#ifndef VL_MULTIVERSION_H
#define VL_MULTIVERSION_H

/* Each hot kernel is compiled three times (AVX-512, AVX2, baseline x86-64) and the loader picks the
 * widest the CPU has (GNU ifunc). Without it the loops are 4 floats wide (SSE2) and GELU alone took
 * ~4 % of a ViT-g forward. No FMA is enabled, so every clone performs the same IEEE operations.
 * Helpers the clones share are always_inline: otherwise each clone calls one baseline copy. */
/* Not under ThreadSanitizer: clang instruments the generated ifunc resolvers with
 * __tsan_func_entry, and the loader runs them while relocating, before the TSan runtime is set up,
 * so every TSan binary crashed at load (SIGSEGV in vl_layer_norm_f32[resolver]). ASan is fine. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VL_NO_IFUNC 1
#endif
#endif
#if defined(__x86_64__) && defined(__linux__) && !defined(VL_NO_IFUNC)
#define VL_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VL_MULTIVERSION
#endif

#endif
