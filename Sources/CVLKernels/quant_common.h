// Shared helpers for the quantization kernels (private to CVLKernels).
#ifndef VL_QUANT_COMMON_H
#define VL_QUANT_COMMON_H
#include <stdint.h>
#include <string.h>

/// How far ahead of its cursor a one-token (GEMV) kernel prefetches each weight stream, in bytes. The
/// hardware prefetcher alone left these kernels at a third of the read bandwidth when the weights stream
/// from DRAM (Q4_0: 4.4 GB/s; 7.5 with 1 KB ahead); 2 KB ahead took the regrouped Q4_0 kernel on two
/// cores from 17.5-18.7 to 19.8-22.2 GB/s (a 200 MB stream, this machine's AMD EPYC).
#define VL_PREFETCH_DISTANCE 2048

/// f16 bits -> f32, exact for every value (subnormals included).
static inline float vl_f16_to_f32_scalar(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (man << 13);
    } else if (exp == 0) {
        if (man == 0) { bits = sign; }
        else {
            float f = (float)man * 0x1p-24f;  // exact: man < 2^10
            memcpy(&bits, &f, 4);
            bits |= sign;
        }
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

/// f32 -> f16 bits, round to nearest even (what ggml's and numpy's conversions do); overflow -> inf.
static inline uint16_t vl_f32_to_f16_bits(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    uint32_t a = bits & 0x7FFFFFFFu;
    if (a > 0x7F800000u) return sign | 0x7E00 | (uint16_t)((a >> 13) & 0x3FF);
    if (a >= 0x47800000u) return sign | 0x7C00;
    if (a < 0x38800000u) {
        // Subnormal or zero in f16: count units of 2^-24 and round to nearest even (exact scaling).
        float m;
        memcpy(&m, &a, 4);
        m *= 0x1p24f;
        float r = __builtin_rintf(m);  // default rounding mode is nearest-even
        return sign | (uint16_t)r;
    }
    uint32_t rounded = a + 0x0FFF + ((a >> 13) & 1);
    return sign | (uint16_t)((rounded >> 13) - (112 << 10));
}

static inline void vl_store_f16(uint8_t *dst, float f) {
    uint16_t h = vl_f32_to_f16_bits(f);
    dst[0] = (uint8_t)h;
    dst[1] = (uint8_t)(h >> 8);
}

static inline float vl_load_f16(const uint8_t *src) {
    return vl_f16_to_f32_scalar((uint16_t)(src[0] | (src[1] << 8)));
}

/// ggml's nearest_int: adding 1.5*2^23 puts the rounded integer in the low mantissa bits (ties to
/// even, valid for |v| <= 2^22). Reproduced bit for bit, including what it yields outside that range.
static inline int vl_nearest_int(float v) {
    float t = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &t, 4);
    return (i & 0x007FFFFF) - 0x00400000;
}
/// Q4_K's 6-bit scale and min of sub-block j (0..7) from the block's 12 packed bytes `s`.
static inline __attribute__((always_inline)) void vl_q4k_unpack(const uint8_t *s, int j, int *sc, int *m) {
    if (j < 4) { *sc = s[j] & 63; *m = s[j + 4] & 63; }
    else {
        *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
/// Q4_K's eight 6-bit scales of the block at `blk`, as bytes 0-7 of the result, and in `min_dots` the
/// four int32 sums min(2i)·Σx(2i) + min(2i+1)·Σx(2i+1), from the 16 activation sums of 16 values each
/// (`sums`). The 12 packed bytes are read as three little-endian words: bytes 0-3 hold scale j < 4 in
/// bits 0-5 and bits 4-5 of scale j + 4 in bits 6-7; bytes 4-7 the same for the mins; bytes 8-11 the
/// low four bits of scale j + 4 (low nibble) and of min j + 4 (high nibble). |Σx| over 32 values ≤
/// 32·127 fits int16, so the mins' products are one madd. Inlined into AVX2 and AVX-512 callers alike.
__attribute__((target("avx2"), always_inline)) static inline uint64_t vl_q4k_scales_min_dots(const uint8_t *blk, const int16_t *sums,
                                                                                          __m128i *min_dots) {
    uint32_t packed[3];
    memcpy(packed, blk + 4, 12);
    const uint32_t highBits = 0x03030303, sixBits = 0x3F3F3F3F, nibbles = 0x0F0F0F0F;
    const uint32_t mins03 = packed[1] & sixBits, mins47 = ((packed[2] >> 4) & nibbles) | (((packed[1] >> 6) & highBits) << 4);
    const __m128i subSums = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)sums), _mm_loadu_si128((const __m128i *)(sums + 8)));
    *min_dots = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)mins47, (int)mins03)), subSums);
    return (uint64_t)(packed[0] & sixBits) | (uint64_t)((packed[2] & nibbles) | (((packed[0] >> 6) & highBits) << 4)) << 32;
}

/// The four f32 lanes of `v` added.
__attribute__((target("avx2"), always_inline)) static inline float vl_hsum_ps128(__m128 v) {
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));
    return _mm_cvtss_f32(_mm_add_ss(v, _mm_movehdup_ps(v)));
}

/// The eight f32 lanes of `v` added.
__attribute__((target("avx2"), always_inline)) static inline float vl_hsum_ps256(__m256 v) {
    return vl_hsum_ps128(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}
#endif

#endif
