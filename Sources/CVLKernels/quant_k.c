// Optimized Q4_K / Q6_K kernels (the Swift reference in Sources/VLQuant/Q4_K.swift and Q6_K.swift
// documents the layouts and the algorithm; this file must stay operation-for-operation identical).
//
// Algorithm: ggml's reference search (weighted least-squares fit of scale/min per sub-block over a
// grid of candidate inverse scales, then 6-bit / 8-bit quantization of the sub-block scales against
// one f16 super-scale), followed by a refinement ggml does not do: each sub-block tries its
// neighbouring quantized scales (and mins) and keeps a candidate only when its exact dequantized
// squared error is strictly smaller. Because the first candidate is ggml's own choice, every
// sub-block's error is <= ggml's.
//
// Speed: the sums are order-dependent (bit-exactness with the reference), so they are not
// vectorized across elements; instead quant_k_avx2.c runs the sub-block searches of one block in
// parallel lanes (same operations per lane), and the multithreaded driver splits rows.
#pragma STDC FP_CONTRACT OFF
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include "vl_kernels.h"
#include "quant_common.h"
#include "quant_k_avx2.h"
#include <math.h>
#include <string.h>

enum { QK = 256, Q4K_BYTES = 144, Q6K_BYTES = 210, Q4K_RADIUS = 1, Q6K_RADIUS = 2 };
static const float GROUP_EPS = 1e-15f;  // ggml's GROUP_MAX_EPS: below this a group is all zero

// ------------------------------------------------------------------ Q4_K

/// Asymmetric fit x ~ scale*L - negMin with L in [0, 15] for 32 values (weighted; 21-step search).
static float fit_scale_min(const float *x, const float *w, uint8_t *L, float *neg_min) {
    const int nmax = 15;
    uint8_t aux[32];
    float min = x[0], max = x[0], sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < 32; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, 32);
        *neg_min = -min;
        return 0.0f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1 / iscale;
    float best = 0;
    for (int i = 0; i < 32; i++) {
        int l = vl_nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        float diff = scale * (float)L[i] + min - x[i];
        best += w[i] * (diff * diff);
    }
    for (int step = 0; step <= 20; step++) {
        iscale = (-1.0f + 0.1f * (float)step + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < 32; i++) {
            int l = vl_nearest_int(iscale * (x[i] - min));
            l = l < 0 ? 0 : l > nmax ? nmax : l;
            aux[i] = (uint8_t)l;
            sum_l += w[i] * (float)l;
            sum_l2 += w[i] * (float)l * (float)l;
            sum_xl += w[i] * (float)l * x[i];
        }
        float det = sum_w * sum_l2 - sum_l * sum_l;
        if (det > 0) {
            float s = (sum_w * sum_xl - sum_x * sum_l) / det;
            float m = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if (m > 0) { m = 0; s = sum_xl / sum_l2; }
            float err = 0;
            for (int i = 0; i < 32; i++) {
                float diff = s * (float)aux[i] + m - x[i];
                err += w[i] * (diff * diff);
            }
            if (err < best) {
                memcpy(L, aux, 32);
                best = err;
                scale = s;
                min = m;
            }
        }
    }
    *neg_min = -min;
    return scale;
}

/// Squared error of one 32-value sub-block exactly as the gguf dequantizer reconstructs it.
static double q4k_sub_error(const float *x, float d, float dmin, int sc, int m, const uint8_t *L) {
    const float ds = d * (float)sc, dm = dmin * (float)m;
    double e = 0;
    for (int i = 0; i < 32; i++) {
        double diff = (double)(ds * (float)L[i] - dm) - (double)x[i];
        e += diff * diff;
    }
    return e;
}

static void q4k_levels(const float *x, float d, float dmin, int sc, int m, uint8_t *L) {
    const float ds = d * (float)sc, dm = dmin * (float)m;
    if (ds == 0.0f) return;  // levels are irrelevant (every value decodes to -dm); keep the caller's
    for (int i = 0; i < 32; i++) {
        int l = vl_nearest_int((x[i] + dm) / ds);
        L[i] = (uint8_t)(l < 0 ? 0 : l > 15 ? 15 : l);
    }
}

static void q4_k_block(const float *x, uint8_t *y, int avx2) {
    uint8_t L[QK], cand[32];
    float w[32], scales[8], mins[8], max_scale = 0, max_min = 0;
#if VL_HAVE_K_AVX2
    if (avx2) vl_q4k_fit8_avx2(x, L, scales, mins);  // the same search, 8 sub-blocks per instruction
#endif
    for (int j = 0; j < 8; j++) {
        if (!avx2) {
            const float *xs = x + 32 * j;
            float sum_x2 = 0;
            for (int i = 0; i < 32; i++) sum_x2 += xs[i] * xs[i];
            const float av = sqrtf(sum_x2 / 32);
            for (int i = 0; i < 32; i++) w[i] = av + fabsf(xs[i]);
            scales[j] = fit_scale_min(xs, w, L + 32 * j, &mins[j]);
        }
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    vl_store_f16(y, max_scale / 63.0f);
    vl_store_f16(y + 2, max_min / 63.0f);
    const float d = vl_load_f16(y), dmin = vl_load_f16(y + 2);
    int ls[8], lm[8];
    for (int j = 0; j < 8; j++) {
        uint8_t a = (uint8_t)vl_nearest_int(inv_scale * scales[j]);
        uint8_t b = (uint8_t)vl_nearest_int(inv_min * mins[j]);
        ls[j] = a < 63 ? a : 63;
        lm[j] = b < 63 ? b : 63;
    }
#if VL_HAVE_K_AVX2
    if (avx2) vl_q4k_refine8_avx2(x, d, dmin, ls, lm, L);  // the refinement below, 8 sub-blocks per instruction
#endif
    for (int j = 0; j < 8 && !avx2; j++) {
        const float *xs = x + 32 * j;
        uint8_t *Ls = L + 32 * j;
        q4k_levels(xs, d, dmin, ls[j], lm[j], Ls);
        double best = q4k_sub_error(xs, d, dmin, ls[j], lm[j], Ls);
        const int s0 = ls[j], m0 = lm[j];
        for (int ds = -Q4K_RADIUS; ds <= Q4K_RADIUS; ds++) {
            for (int dm = -Q4K_RADIUS; dm <= Q4K_RADIUS; dm++) {
                const int s = s0 + ds, m = m0 + dm;
                if ((ds == 0 && dm == 0) || s < 0 || s > 63 || m < 0 || m > 63) continue;
                memset(cand, 0, 32);
                q4k_levels(xs, d, dmin, s, m, cand);
                const double e = q4k_sub_error(xs, d, dmin, s, m, cand);
                if (e < best) { best = e; ls[j] = s; lm[j] = m; memcpy(Ls, cand, 32); }
            }
        }
    }
    uint8_t *sc = y + 4;
    for (int j = 0; j < 4; j++) {
        sc[j] = (uint8_t)(ls[j] | ((ls[j + 4] >> 4) << 6));
        sc[j + 4] = (uint8_t)(lm[j] | ((lm[j + 4] >> 4) << 6));
        sc[j + 8] = (uint8_t)((ls[j + 4] & 0xF) | ((lm[j + 4] & 0xF) << 4));
    }
    uint8_t *q = y + 16;
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < 32; i++) q[32 * c + i] = (uint8_t)(L[64 * c + i] | (L[64 * c + 32 + i] << 4));
}

// ------------------------------------------------------------------ Q6_K

/// Symmetric fit x ~ scale*(L-32), L in [0, 63], for 16 values, weights x^2 (19 candidate scales).
static float fit_symmetric(const float *x, uint8_t *L) {
    const int nmax = 32;
    float amax = 0, max = 0;
    for (int i = 0; i < 16; i++) {
        float a = fabsf(x[i]);
        if (a > amax) { amax = a; max = x[i]; }
    }
    if (amax < GROUP_EPS) { memset(L, 0, 16); return 0.0f; }
    float iscale = (float)(-nmax) / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < 16; i++) {
        int l = vl_nearest_int(iscale * x[i]);
        l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
        L[i] = (uint8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int step = -9; step <= 9; step++) {
        if (step == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)step) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < 16; i++) {
            int l = vl_nearest_int(iscale * x[i]);
            l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
            float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < 16; i++) {
                int l = vl_nearest_int(iscale * x[i]);
                l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
                L[i] = (uint8_t)(l + nmax);
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

static double q6k_sub_error(const float *x, float d, int sc, const uint8_t *L) {
    const float ds = d * (float)sc;
    double e = 0;
    for (int i = 0; i < 16; i++) {
        double diff = (double)(ds * (float)((int)L[i] - 32)) - (double)x[i];
        e += diff * diff;
    }
    return e;
}

static void q6k_levels(const float *x, float d, int sc, uint8_t *L) {
    const float ds = d * (float)sc;
    if (ds == 0.0f) return;
    for (int i = 0; i < 16; i++) {
        int l = vl_nearest_int(x[i] / ds);
        L[i] = (uint8_t)((l < -32 ? -32 : l > 31 ? 31 : l) + 32);
    }
}

static void q6_k_block(const float *x, uint8_t *y, int avx2) {
    uint8_t L[QK], cand[16];
    float scales[16], max_scale = 0, max_abs = 0;
#if VL_HAVE_K_AVX2
    if (avx2) {
        vl_q6k_fit8_avx2(x, L, scales);
        vl_q6k_fit8_avx2(x + 128, L + 128, scales + 8);
    }
#endif
    for (int j = 0; j < 16; j++) {
        if (!avx2) scales[j] = fit_symmetric(x + 16 * j, L + 16 * j);
        const float a = fabsf(scales[j]);
        if (a > max_abs) { max_abs = a; max_scale = scales[j]; }
    }
    if (max_abs < GROUP_EPS) { memset(y, 0, Q6K_BYTES); return; }
    const float iscale = -128.0f / max_scale;
    vl_store_f16(y + 208, 1 / iscale);
    const float d = vl_load_f16(y + 208);
    int sc[16];
    for (int j = 0; j < 16; j++) {
        int s = vl_nearest_int(iscale * scales[j]);
        sc[j] = (int8_t)(s < 127 ? s : 127);
    }
#if VL_HAVE_K_AVX2
    if (avx2) {  // the refinement below, 8 sub-blocks per instruction
        vl_q6k_refine8_avx2(x, d, sc, L);
        vl_q6k_refine8_avx2(x + 128, d, sc + 8, L + 128);
        for (int j = 0; j < 16; j++) y[192 + j] = (uint8_t)(int8_t)sc[j];
    }
#endif
    for (int j = 0; j < 16 && !avx2; j++) {
        const float *xs = x + 16 * j;
        uint8_t *Ls = L + 16 * j;
        q6k_levels(xs, d, sc[j], Ls);
        double best = q6k_sub_error(xs, d, sc[j], Ls);
        const int s0 = sc[j];
        for (int ds = -Q6K_RADIUS; ds <= Q6K_RADIUS; ds++) {
            const int c = s0 + ds;
            if (ds == 0 || c < -128 || c > 127) continue;
            memset(cand, 32, 16);
            q6k_levels(xs, d, c, cand);
            const double e = q6k_sub_error(xs, d, c, cand);
            if (e < best) { best = e; sc[j] = c; memcpy(Ls, cand, 16); }
        }
        y[192 + j] = (uint8_t)(int8_t)sc[j];
    }
    for (int h = 0; h < 2; h++) {
        const uint8_t *Lh = L + 128 * h;
        uint8_t *ql = y + 64 * h, *qh = y + 128 + 32 * h;
        for (int i = 0; i < 32; i++) {
            const int q1 = Lh[i], q2 = Lh[i + 32], q3 = Lh[i + 64], q4 = Lh[i + 96];
            ql[i] = (uint8_t)((q1 & 0xF) | ((q3 & 0xF) << 4));
            ql[i + 32] = (uint8_t)((q2 & 0xF) | ((q4 & 0xF) << 4));
            qh[i] = (uint8_t)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
        }
    }
}

// ------------------------------------------------------------------ entry points

/// Whether the AVX2 sub-block search runs (asked for, compiled in, and the CPU has it).
static int use_avx2(int simd) {
#if VL_HAVE_K_AVX2
    return simd && vl_quant_cpu_has_avx2();
#else
    (void)simd;
    return 0;
#endif
}

void vl_quantize_q4_k(const float *x, uint8_t *y, size_t nblocks, int simd) {
    const int avx2 = use_avx2(simd);
    for (size_t b = 0; b < nblocks; b++) q4_k_block(x + QK * b, y + Q4K_BYTES * b, avx2);
}

void vl_quantize_q6_k(const float *x, uint8_t *y, size_t nblocks, int simd) {
    const int avx2 = use_avx2(simd);
    for (size_t b = 0; b < nblocks; b++) q6_k_block(x + QK * b, y + Q6K_BYTES * b, avx2);
}

void vl_dequantize_q4_k(const uint8_t *y, float *x, size_t nblocks) {
    for (size_t b = 0; b < nblocks; b++, y += Q4K_BYTES, x += QK) {
        const float d = vl_load_f16(y), dmin = vl_load_f16(y + 2);
        for (int j = 0; j < 8; j++) {
            int sc, m;
            vl_q4k_unpack(y + 4, j, &sc, &m);
            const float ds = d * (float)sc, dm = dmin * (float)m;
            const uint8_t *q = y + 16 + 32 * (j / 2);
            const int shift = (j & 1) * 4;
            for (int i = 0; i < 32; i++) x[32 * j + i] = ds * (float)((q[i] >> shift) & 0xF) - dm;
        }
    }
}

void vl_dequantize_q6_k(const uint8_t *y, float *x, size_t nblocks) {
    for (size_t b = 0; b < nblocks; b++, y += Q6K_BYTES, x += QK) {
        const float d = vl_load_f16(y + 208);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = y + 64 * h, *qh = y + 128 + 32 * h;
            const int8_t *sc = (const int8_t *)(y + 192 + 8 * h);
            float *out = x + 128 * h;
            for (int i = 0; i < 32; i++) {
                const int g = i / 16;
                const int q1 = ((ql[i] & 0xF) | (((qh[i] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[i + 32] & 0xF) | (((qh[i] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[i] >> 4) | (((qh[i] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[i + 32] >> 4) | (((qh[i] >> 6) & 3) << 4)) - 32;
                out[i] = (d * (float)sc[g]) * (float)q1;
                out[i + 32] = (d * (float)sc[g + 2]) * (float)q2;
                out[i + 64] = (d * (float)sc[g + 4]) * (float)q3;
                out[i + 96] = (d * (float)sc[g + 6]) * (float)q4;
            }
        }
    }
}
