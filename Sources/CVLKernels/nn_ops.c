// Element-wise and row-wise kernels of the f32 inference path (Sources/VLInference/Ops.swift).
// Plain C so the compiler vectorizes the loops; the math library supplies erff/expf.
#include <math.h>
#include "vl_kernels.h"

void vl_gelu_erf_f32(float *x, size_t n) {
    const float inv_sqrt2 = 0.70710678118654752440f;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + erff(v * inv_sqrt2));
    }
}

void vl_softmax_rows_f32(float *x, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
        float m = row[0];
        for (size_t j = 1; j < cols; j++) m = row[j] > m ? row[j] : m;
        float sum = 0.0f;
        for (size_t j = 0; j < cols; j++) {
            float e = expf(row[j] - m);
            row[j] = e;
            sum += e;
        }
        float inv = 1.0f / sum;
        for (size_t j = 0; j < cols; j++) row[j] *= inv;
    }
}

void vl_layer_norm_f32(const float *x, float *y, size_t rows, size_t dim,
                       const float *weight, const float *bias, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *in = x + r * dim;
        float *out = y + r * dim;
        // Two passes with double accumulators: the mean, then the biased variance around it.
        double s = 0.0;
        for (size_t j = 0; j < dim; j++) s += in[j];
        const double mean = s / (double)dim;
        double ss = 0.0;
        for (size_t j = 0; j < dim; j++) {
            double d = in[j] - mean;
            ss += d * d;
        }
        const float rstd = (float)(1.0 / sqrt(ss / (double)dim + (double)eps));
        const float m = (float)mean;
        for (size_t j = 0; j < dim; j++) out[j] = (in[j] - m) * rstd * weight[j] + bias[j];
    }
}

void vl_add_f32(float *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

void vl_add_rows_f32(float *dst, const float *row, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        float *d = dst + r * cols;
        for (size_t j = 0; j < cols; j++) d[j] += row[j];
    }
}
