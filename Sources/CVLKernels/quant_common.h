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

#endif
