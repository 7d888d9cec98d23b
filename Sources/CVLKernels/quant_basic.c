// Optimized Q8_0 / Q4_0 / Q4_1 kernels and f16/bf16 widening.
//
// Bit-exactness contract: every value must come out exactly as ggml's reference quantizers (and the
// gguf Python package, which copies them) compute it in f32: d from a max, id = 1/d, then x*id
// rounded. The AVX2 path does the same IEEE operations lane by lane, so it is exact, not "close".
// FMA contraction is disabled for the whole file: a fused x*id+8.5 rounds once instead of twice.
#pragma STDC FP_CONTRACT OFF
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include "vl_kernels.h"
#include "quant_common.h"
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VL_X86 1
#endif

int vl_quant_cpu_has_avx2(void) {
#if VL_X86
    // Every thread computes the same value, so relaxed order suffices; a plain int here was a data
    // race (undefined behaviour, reported by ThreadSanitizer when two workers widen f16 at once).
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
#else
    return 0;
#endif
}

// ------------------------------------------------------------------ scalar blocks

static void q8_0_scalar(const float *x, uint8_t *y) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) {
        float a = fabsf(x[j]);
        if (a > amax) amax = a;
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    vl_store_f16(y, d);
    for (int j = 0; j < 32; j++) y[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
}

static void q4_0_scalar(const float *x, uint8_t *y) {
    // The signed value of largest magnitude, first occurrence (ggml scans with a strict '<').
    // Starting from x[0] (not from 0) matches numpy's argmax in the gguf package also for an
    // all-zero block whose first element is -0.0, which decides the sign of d.
    float amax = fabsf(x[0]), max = x[0];
    for (int j = 1; j < 32; j++) {
        float a = fabsf(x[j]);
        if (amax < a) { amax = a; max = x[j]; }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    vl_store_f16(y, d);
    for (int j = 0; j < 16; j++) {
        int lo = (int)(x[j] * id + 8.5f), hi = (int)(x[j + 16] * id + 8.5f);
        if (lo > 15) lo = 15;
        if (hi > 15) hi = 15;
        y[2 + j] = (uint8_t)(lo | (hi << 4));
    }
}

static void q4_1_scalar(const float *x, uint8_t *y) {
    float min = x[0], max = x[0];
    for (int j = 1; j < 32; j++) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    vl_store_f16(y, d);
    vl_store_f16(y + 2, min);
    for (int j = 0; j < 16; j++) {
        int lo = (int)((x[j] - min) * id + 0.5f), hi = (int)((x[j + 16] - min) * id + 0.5f);
        if (lo > 15) lo = 15;
        if (hi > 15) hi = 15;
        y[4 + j] = (uint8_t)(lo | (hi << 4));
    }
}

// ------------------------------------------------------------------ AVX2 blocks
#if VL_X86
#define VL_AVX2 __attribute__((target("avx2,f16c")))

VL_AVX2 static inline float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

VL_AVX2 static inline float hmin8(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/// Packs 4x8 int32 lanes (values fit in int8) into 32 bytes in element order.
VL_AVX2 static inline __m256i pack32(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    __m256i all = _mm256_packs_epi16(ab, cd);
    // packs work inside 128-bit lanes; this restores a0..7 b0..7 c0..7 d0..7.
    return _mm256_permutevar8x32_epi32(all, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/// Element j in the low nibble, j+16 in the high nibble (GGUF Q4_0/Q4_1 order).
VL_AVX2 static inline void store_nibbles(__m256i q, uint8_t *dst) {
    __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    _mm_storeu_si128((__m128i *)dst, _mm_or_si128(lo, _mm_slli_epi16(hi, 4)));
}

VL_AVX2 static void q8_0_avx2(const float *x, uint8_t *y) {
    const __m256 signmask = _mm256_set1_ps(-0.0f);
    __m256 v[4], m = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        m = _mm256_max_ps(m, _mm256_andnot_ps(signmask, v[k]));
    }
    const float d = hmax8(m) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    vl_store_f16(y, d);
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; k++) {
        // roundf without a branch: |p| = f + frac, and floor(2*frac) is 1 exactly when frac >= 0.5.
        __m256 p = _mm256_mul_ps(v[k], vid);
        __m256 a = _mm256_andnot_ps(signmask, p);
        __m256 f = _mm256_floor_ps(a);
        __m256 fr = _mm256_sub_ps(a, f);
        __m256 r = _mm256_add_ps(f, _mm256_floor_ps(_mm256_add_ps(fr, fr)));
        r = _mm256_or_ps(r, _mm256_and_ps(signmask, p));
        q[k] = _mm256_cvtps_epi32(r);
    }
    _mm256_storeu_si256((__m256i *)(y + 2), pack32(q[0], q[1], q[2], q[3]));
}

VL_AVX2 static void q4_0_avx2(const float *x, uint8_t *y) {
    const __m256 signmask = _mm256_set1_ps(-0.0f);
    __m256 v[4], m = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        m = _mm256_max_ps(m, _mm256_andnot_ps(signmask, v[k]));
    }
    const float amax = hmax8(m);
    float max = x[0];
    {
        // First element whose magnitude equals the max keeps its sign (matches the scalar scan).
        const __m256 va = _mm256_set1_ps(amax);
        for (int k = 0; k < 4; k++) {
            int bits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(signmask, v[k]), va, _CMP_EQ_OQ));
            if (bits) { max = x[8 * k + __builtin_ctz((unsigned)bits)]; break; }
        }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    vl_store_f16(y, d);
    const __m256 vid = _mm256_set1_ps(id), half = _mm256_set1_ps(8.5f);
    const __m256i fifteen = _mm256_set1_epi32(15);
    __m256i q[4];
    for (int k = 0; k < 4; k++) {
        __m256 t = _mm256_add_ps(_mm256_mul_ps(v[k], vid), half);
        t = _mm256_round_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        q[k] = _mm256_min_epi32(_mm256_cvttps_epi32(t), fifteen);
    }
    store_nibbles(pack32(q[0], q[1], q[2], q[3]), y + 2);
}

VL_AVX2 static void q4_1_avx2(const float *x, uint8_t *y) {
    __m256 v[4];
    v[0] = _mm256_loadu_ps(x);
    __m256 lo = v[0], hi = v[0];
    for (int k = 1; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        lo = _mm256_min_ps(lo, v[k]);
        hi = _mm256_max_ps(hi, v[k]);
    }
    const float min = hmin8(lo), max = hmax8(hi);
    const float d = (max - min) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    vl_store_f16(y, d);
    vl_store_f16(y + 2, min);
    const __m256 vid = _mm256_set1_ps(id), vmin = _mm256_set1_ps(min), half = _mm256_set1_ps(0.5f);
    const __m256i fifteen = _mm256_set1_epi32(15);
    __m256i q[4];
    for (int k = 0; k < 4; k++) {
        __m256 t = _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(v[k], vmin), vid), half);
        t = _mm256_round_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        q[k] = _mm256_min_epi32(_mm256_cvttps_epi32(t), fifteen);
    }
    store_nibbles(pack32(q[0], q[1], q[2], q[3]), y + 4);
}

VL_AVX2 static void f16_to_f32_avx2(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    }
    for (; i < n; i++) dst[i] = vl_f16_to_f32_scalar(src[i]);
}
#endif

// ------------------------------------------------------------------ dispatch

#if VL_X86
#define DISPATCH(scalar, avx2)                                                        \
    if (simd && vl_quant_cpu_has_avx2()) {                                            \
        for (size_t b = 0; b < nblocks; b++) avx2(x + 32 * b, y + BYTES * b);         \
        return;                                                                       \
    }                                                                                 \
    for (size_t b = 0; b < nblocks; b++) scalar(x + 32 * b, y + BYTES * b);
#else
#define DISPATCH(scalar, avx2)                                                        \
    (void)simd;                                                                       \
    for (size_t b = 0; b < nblocks; b++) scalar(x + 32 * b, y + BYTES * b);
#endif

#define BYTES 34
void vl_quantize_q8_0(const float *x, uint8_t *y, size_t nblocks, int simd) { DISPATCH(q8_0_scalar, q8_0_avx2) }
#undef BYTES
#define BYTES 18
void vl_quantize_q4_0(const float *x, uint8_t *y, size_t nblocks, int simd) { DISPATCH(q4_0_scalar, q4_0_avx2) }
#undef BYTES
#define BYTES 20
void vl_quantize_q4_1(const float *x, uint8_t *y, size_t nblocks, int simd) { DISPATCH(q4_1_scalar, q4_1_avx2) }
#undef BYTES

// Dequantization is one multiply(-add) per element; the compiler vectorizes these loops.
void vl_dequantize_q8_0(const uint8_t *y, float *x, size_t nblocks) {
    for (size_t b = 0; b < nblocks; b++, y += 34, x += 32) {
        const float d = vl_load_f16(y);
        for (int j = 0; j < 32; j++) x[j] = (float)(int8_t)y[2 + j] * d;
    }
}

void vl_dequantize_q4_0(const uint8_t *y, float *x, size_t nblocks) {
    for (size_t b = 0; b < nblocks; b++, y += 18, x += 32) {
        const float d = vl_load_f16(y);
        for (int j = 0; j < 16; j++) {
            x[j] = d * (float)((y[2 + j] & 0x0F) - 8);
            x[j + 16] = d * (float)((y[2 + j] >> 4) - 8);
        }
    }
}

void vl_dequantize_q4_1(const uint8_t *y, float *x, size_t nblocks) {
    for (size_t b = 0; b < nblocks; b++, y += 20, x += 32) {
        const float d = vl_load_f16(y), m = vl_load_f16(y + 2);
        for (int j = 0; j < 16; j++) {
            x[j] = d * (float)(y[4 + j] & 0x0F) + m;
            x[j + 16] = d * (float)(y[4 + j] >> 4) + m;
        }
    }
}

void vl_f16_to_f32(const uint16_t *src, float *dst, size_t n, int simd) {
#if VL_X86
    if (simd && vl_quant_cpu_has_avx2()) { f16_to_f32_avx2(src, dst, n); return; }
#else
    (void)simd;
#endif
    for (size_t i = 0; i < n; i++) dst[i] = vl_f16_to_f32_scalar(src[i]);
}

void vl_bf16_to_f32(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)src[i] << 16;
        memcpy(dst + i, &bits, 4);
    }
}
