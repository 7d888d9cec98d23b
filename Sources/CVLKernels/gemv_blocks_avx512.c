// AVX-512 VNNI kernels for one-token decoding, beside the AVX2 ones of gemv_blocks.c and held equal to
// the same `_ref` kernels: Q8_0 and Q4_K, the two block types whose AVX2 kernels measured
// compute-bound rather than bandwidth-bound. `vpdpbusd` adds four unsigned × signed byte products into
// each int32 lane without saturation, so a block's integer dot product is exact in one instruction
// where AVX2 needs maddubs (int16) and madd. Picked at run time when the CPU has AVX-512 F/BW/VL/DQ
// and VNNI (vl_cpu_has_avx512_vnni); the block sums differ from AVX2's only in f32 summation order.
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include "quant_common.h"
#include "vl_kernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define VL_AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

int vl_cpu_has_avx512(void) {
    static _Atomic int cached = -1;  // every thread computes the same value: relaxed order suffices
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
            __builtin_cpu_supports("f16c");
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

int vl_cpu_has_avx512_vnni(void) {
    static _Atomic int cached = -1;  // asked on every kernel dispatch: cached like vl_cpu_has_avx512
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        v = vl_cpu_has_avx512() && __builtin_cpu_supports("avx512vnni");  // vl_cpu_has_avx512 ran __builtin_cpu_init
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

VL_AVX512_VNNI static inline float load_f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

VL_AVX512_VNNI static inline void prefetch_ahead(const uint8_t *p) { _mm_prefetch((const char *)(p + VL_PREFETCH_DISTANCE), _MM_HINT_T0); }

/* Two 32-byte halves (possibly unaligned, not adjacent) as one 512-bit vector. */
VL_AVX512_VNNI static inline __m512i load_halves(const void *low, const void *high) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)low)), _mm256_loadu_si256((const __m256i *)high), 1);
}

/* Two Q8_0 blocks per step: |w| as the unsigned operand and x negated where w < 0 (Q8_0's values and
 * the activations lie in −127…127, so neither negation overflows), lanes 0-7 for the first block and
 * 8-15 for the second, each scaled by its own d_w·d_x. An odd last block goes through the plain sum. */
VL_AVX512_VNNI void vl_gemv_q8_0_q8_avx512(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin,
                                           int64_t row_end) {
    const int64_t blocks = cols / 32;
    const __m512i zero = _mm512_setzero_si512();
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *row = w + r * blocks * 34;
        __m512 acc = _mm512_setzero_ps();
        int64_t b = 0;
        for (; b + 2 <= blocks; b += 2) {
            const uint8_t *first = row + 34 * b, *second = first + 34;
            prefetch_ahead(first);
            prefetch_ahead(second + 30);
            const __m512i qw = load_halves(first + 2, second + 2);
            const __m512i qx = _mm512_loadu_si512((const void *)(x->q + 32 * b));
            const __m512i signedX = _mm512_mask_sub_epi8(qx, _mm512_movepi8_mask(qw), zero, qx);
            const __m512i dots = _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(qw), signedX);
            const __m512 scales =
                _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(load_f16(first) * x->d[b]), _mm512_set1_ps(load_f16(second) * x->d[b + 1]));
            acc = _mm512_fmadd_ps(scales, _mm512_cvtepi32_ps(dots), acc);
        }
        float sum = _mm512_reduce_add_ps(acc);
        for (; b < blocks; b++) {
            const int8_t *qw = (const int8_t *)(row + 34 * b + 2), *qx = x->q + 32 * b;
            int dot = 0;
            for (int j = 0; j < 32; j++) dot += qw[j] * qx[j];
            sum += load_f16(row + 34 * b) * x->d[b] * (float)dot;
        }
        y[r] = sum;
    }
}

/* Q4_K, 64 nibble bytes per step: lanes 0-7 hold sub-block 4k (low nibbles of chunk 2k) or 4k + 1 (its
 * high nibbles), lanes 8-15 sub-block 4k + 2 or 4k + 3 (chunk 2k + 1), against the matching 32
 * activations of each half. Each lane's int32 dot is multiplied by its sub-block's 6-bit scale
 * (|dot| ≤ 4·15·127, times ≤ 63: far inside int32) and the block's total is converted once, as in the
 * AVX2 kernel, with the same scale/min unpack and mins' madd (vl_q4k_scales_min_dots). */
VL_AVX512_VNNI void vl_gemv_q4_k_q8_avx512(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin,
                                           int64_t row_end) {
    const int64_t blocks = cols / 256;
    const __m512i low = _mm512_set1_epi8(0x0F), zero = _mm512_setzero_si512();
    // Scale lane selectors: step k takes sub-blocks (4k, 4k + 2) for the low nibbles, (4k + 1, 4k + 3) for the high.
    const __m512i pick[2][2] = {
        {_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2), _mm512_setr_epi32(1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3)},
        {_mm512_setr_epi32(4, 4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 6, 6, 6), _mm512_setr_epi32(5, 5, 5, 5, 5, 5, 5, 5, 7, 7, 7, 7, 7, 7, 7, 7)}};
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *row = w + r * blocks * 144;
        __m512 acc = _mm512_setzero_ps();
        __m128 minAcc = _mm_setzero_ps();
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *blk = row + 144 * b;
            prefetch_ahead(blk);
            prefetch_ahead(blk + 64);
            prefetch_ahead(blk + 128);
            __m128i minDots;
            const uint64_t scaleBytes = vl_q4k_scales_min_dots(blk, x->sums + 16 * b, &minDots);
            const __m512i scales = _mm512_cvtepu8_epi32(_mm_set_epi64x(0, (long long)scaleBytes));
            const int8_t *qx = x->q + 256 * b;
            __m512i sum = zero;
            for (int k = 0; k < 2; k++) {
                const __m512i bytes = _mm512_loadu_si512((const void *)(blk + 16 + 64 * k));
                const __m512i lo = _mm512_and_si512(bytes, low), hi = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low);
                const int8_t *q = qx + 128 * k;
                const __m512i dotLo = _mm512_dpbusd_epi32(zero, lo, load_halves(q, q + 64));
                const __m512i dotHi = _mm512_dpbusd_epi32(zero, hi, load_halves(q + 32, q + 96));
                sum = _mm512_add_epi32(sum, _mm512_mullo_epi32(dotLo, _mm512_permutexvar_epi32(pick[k][0], scales)));
                sum = _mm512_add_epi32(sum, _mm512_mullo_epi32(dotHi, _mm512_permutexvar_epi32(pick[k][1], scales)));
            }
            const float dx = x->d[b];
            acc = _mm512_fmadd_ps(_mm512_set1_ps(load_f16(blk) * dx), _mm512_cvtepi32_ps(sum), acc);
            minAcc = _mm_fmadd_ps(_mm_set1_ps(load_f16(blk + 2) * dx), _mm_cvtepi32_ps(minDots), minAcc);
        }
        y[r] = _mm512_reduce_add_ps(acc) - vl_hsum_ps128(minAcc);
    }
}
#else
int vl_cpu_has_avx512(void) { return 0; }
int vl_cpu_has_avx512_vnni(void) { return 0; }
void vl_gemv_q8_0_q8_avx512(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    vl_gemv_q8_0_q8_ref(w, x, y, cols, row_begin, row_end);
}
void vl_gemv_q4_k_q8_avx512(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    vl_gemv_q4_k_q8_ref(w, x, y, cols, row_begin, row_end);
}
#endif
