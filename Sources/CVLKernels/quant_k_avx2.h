// Private to CVLKernels: AVX2 K-quant sub-block searches (quant_k_avx2.c). Call only when
// vl_quant_cpu_has_avx2() is true.
#ifndef VL_QUANT_K_AVX2_H
#define VL_QUANT_K_AVX2_H
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#define VL_HAVE_K_AVX2 1
/// fit_scale_min of the 8 sub-blocks of one Q4_K block (256 values): levels L[256], scales[8], mins[8] (= −min).
void vl_q4k_fit8_avx2(const float *x, uint8_t *L, float *scales, float *mins);
/// The refinement of q4_k_block for all 8 sub-blocks: levels for (ls, lm), then the neighbouring
/// (sc, m) pairs, keeping strictly better ones (updates ls[8], lm[8] and L[256]).
void vl_q4k_refine8_avx2(const float *x, float d, float dmin, int *ls, int *lm, uint8_t *L);
/// fit_symmetric of 8 consecutive Q6_K sub-blocks (128 values): levels L[128] (offset by 32), scales[8].
void vl_q6k_fit8_avx2(const float *x, uint8_t *L, float *scales);
/// The refinement of q6_k_block for 8 consecutive sub-blocks: updates sc[8] and L[128].
void vl_q6k_refine8_avx2(const float *x, float d, int *sc, uint8_t *L);
#endif
#endif
