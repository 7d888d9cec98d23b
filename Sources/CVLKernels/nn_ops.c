// Element-wise and row-wise kernels of the f32 inference path (Sources/VLInference/Ops.swift).
// Plain C so the compiler vectorizes the loops; the math library supplies erff/expf.
#include <math.h>
#include "vl_kernels.h"

#include "multiversion.h"

/* Lanes of the partial sums/maxima below: independent accumulators the compiler can keep in one
 * vector register (a single scalar accumulator forces a serial loop without -ffast-math). */
#define VL_LANES 16

/* ---- Branch-free exp and erf that the compiler vectorizes (libm's expf/erff are calls) ----
 * Coefficients fitted for this file (least squares, numpy + mpmath, see the comments); measured max
 * errors: exp ≤ 2 ulp on [-87, 88]; erf ≤ 4e-9 absolute + float rounding. */

/// e^x: x = n·ln2 + r, |r| ≤ ln2/2, e^r by its Taylor series to degree 7 (remainder < 6e-9), 2^n
/// from the exponent bits. x below −87.3 gives 0 (the softmax's exp(x − max) never needs less).
static inline __attribute__((always_inline)) float vexp(float x) {
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693145751953125f, ln2_lo = 1.42860682030941723e-06f;
    const float round_magic = 12582912.0f;  // 1.5·2^23: adding and subtracting it rounds to an integer
    float xc = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
    float n = (xc * log2e + round_magic) - round_magic;
    float r = (xc - n * ln2_hi) - n * ln2_lo;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { int32_t i; float f; } scale = { .i = ((int32_t)n + 127) << 23 };
    float y = p * scale.f;
    return x < -87.3f ? 0.0f : y;
}

/// erf(z): |z| < 1: z·A(z²) (degree-7 fit of erf(z)/z); 1 ≤ |z| < 4: 1 − e^(−z²)·B(u), u = (|z| − 2.5)/1.5
/// (degree-12 fit of erfc(z)·e^(z²), rel. error 2.4e-8); |z| ≥ 4: ±1 (erfc(4) = 1.5e-8 < half an ulp of 1).
static inline __attribute__((always_inline)) float verf(float z) {
    float a = z < 0 ? -z : z;
    float s = a * a;
    float pa = -9.8084866387e-06f;
    pa = pa * s + 1.1312874595e-04f;
    pa = pa * s - 8.4901662497e-04f;
    pa = pa * s + 5.2214211939e-03f;
    pa = pa * s - 2.6865557813e-02f;
    pa = pa * s + 1.1283784455e-01f;
    pa = pa * s - 3.7612638580e-01f;
    pa = pa * s + 1.1283791671e+00f;
    float small = a * pa;
    float u = (a - 2.5f) * (1.0f / 1.5f);
    float pb = 1.3584281211e-05f;
    pb = pb * u - 3.6271104654e-05f;
    pb = pb * u + 5.5606105499e-05f;
    pb = pb * u - 1.4562890938e-04f;
    pb = pb * u + 4.1381967909e-04f;
    pb = pb * u - 1.0155697870e-03f;
    pb = pb * u + 2.4020303988e-03f;
    pb = pb * u - 5.5679502187e-03f;
    pb = pb * u + 1.2489633484e-02f;
    pb = pb * u - 2.7005626171e-02f;
    pb = pb * u + 5.6110477991e-02f;
    pb = pb * u - 1.1152100907e-01f;
    pb = pb * u + 2.1080636421e-01f;
    float large = 1.0f - vexp(-s) * pb;
    float e = a < 1.0f ? small : (a < 4.0f ? large : 1.0f);
    return z < 0 ? -e : e;
}

VL_MULTIVERSION void vl_gelu_erf_f32(float *x, size_t n) {
    const float inv_sqrt2 = 0.70710678118654752440f;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + verf(v * inv_sqrt2));
    }
}

void vl_gelu_erf_libm_f32(float *x, size_t n) {
    const float inv_sqrt2 = 0.70710678118654752440f;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + erff(v * inv_sqrt2));
    }
}

/// max(x[0..n)) with VL_LANES independent maxima (order does not change a maximum: exact).
static inline __attribute__((always_inline)) float row_max(const float *x, size_t n) {
    float lane[VL_LANES];
    for (int l = 0; l < VL_LANES; l++) lane[l] = x[0];
    size_t j = 0;
    for (; j + VL_LANES <= n; j += VL_LANES)
        for (int l = 0; l < VL_LANES; l++) lane[l] = x[j + l] > lane[l] ? x[j + l] : lane[l];
    float m = x[0];
    for (int l = 0; l < VL_LANES; l++) m = lane[l] > m ? lane[l] : m;
    for (; j < n; j++) m = x[j] > m ? x[j] : m;
    return m;
}

/// Σ x[0..n) in VL_LANES partial sums (pairwise-like: more accurate than one running sum).
static inline __attribute__((always_inline)) float row_sum(const float *x, size_t n) {
    float lane[VL_LANES] = {0};
    size_t j = 0;
    for (; j + VL_LANES <= n; j += VL_LANES)
        for (int l = 0; l < VL_LANES; l++) lane[l] += x[j + l];
    float s = 0.0f;
    for (int l = 0; l < VL_LANES; l++) s += lane[l];
    for (; j < n; j++) s += x[j];
    return s;
}

VL_MULTIVERSION void vl_softmax_rows_f32(float *x, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        const float m = row_max(row, cols);
        for (size_t j = 0; j < cols; j++) row[j] = vexp(row[j] - m);
        const float inv = 1.0f / row_sum(row, cols);
        for (size_t j = 0; j < cols; j++) row[j] *= inv;
    }
}

VL_MULTIVERSION void vl_exp_f32(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = vexp(x[i]);
}

/// Σ x[0..n) − shift, in double, VL_LANES partial sums (each of (x − shift) or (x − shift)²).
static inline __attribute__((always_inline)) double sum_shifted(const float *x, size_t n, double shift, int squared) {
    double lane[VL_LANES] = {0};
    size_t j = 0;
    for (; j + VL_LANES <= n; j += VL_LANES)
        for (int l = 0; l < VL_LANES; l++) {
            double d = (double)x[j + l] - shift;
            lane[l] += squared ? d * d : d;
        }
    double s = 0.0;
    for (int l = 0; l < VL_LANES; l++) s += lane[l];
    for (; j < n; j++) {
        double d = (double)x[j] - shift;
        s += squared ? d * d : d;
    }
    return s;
}

VL_MULTIVERSION void vl_layer_norm_f32(const float *x, float *y, size_t rows, size_t dim,
                                       const float *weight, const float *bias, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *in = x + r * dim;
        float *out = y + r * dim;
        // Two passes with double accumulators: the mean, then the biased variance around it.
        const double mean = sum_shifted(in, dim, 0.0, 0) / (double)dim;
        const double ss = sum_shifted(in, dim, mean, 1);
        const float rstd = (float)(1.0 / sqrt(ss / (double)dim + (double)eps));
        const float m = (float)mean;
        for (size_t j = 0; j < dim; j++) out[j] = (in[j] - m) * rstd * weight[j] + bias[j];
    }
}

VL_MULTIVERSION void vl_add_f32(float *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

VL_MULTIVERSION void vl_add_rows_f32(float *dst, const float *row, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        float *d = dst + r * cols;
        for (size_t j = 0; j < cols; j++) d[j] += row[j];
    }
}
