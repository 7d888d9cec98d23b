// Matrix-vector products that read GGUF blocks straight from the mapping (one-token LLM decoding):
// y[r] = Σ_c W[r, c] · x[c] for rows [row_begin, row_end), W stored as `rows × cols/32` blocks.
// Dequantization happens in registers; nothing is converted into memory. Each optimized kernel has a
// plain `_ref` beside it, held equal in the tests within f32 rounding (the sums run in another order).
#include <stdint.h>
#include <string.h>
#include "quant_common.h"
#include "vl_kernels.h"

#include "multiversion.h"
#define VL_ALWAYS_INLINE static inline __attribute__((always_inline))

/* The integer values of one 32-value block (the scale is applied per block). */
typedef void (*vl_block_ints)(const uint8_t *block, float out[32]);

/* Q8_0: 34 bytes per 32 values: f16 scale d, then 32 int8 q; value = d·q. */
VL_ALWAYS_INLINE void q8_0_ints(const uint8_t *block, float out[32]) {
    const int8_t *q = (const int8_t *)(block + 2);
    for (int j = 0; j < 32; j++) out[j] = (float)q[j];
}

/* Q4_0: 18 bytes per 32 values: f16 scale d, then 16 bytes; byte j holds value j (low nibble) and
 * value j + 16 (high nibble), each as nibble − 8; value = d·(nibble − 8). */
VL_ALWAYS_INLINE void q4_0_ints(const uint8_t *block, float out[32]) {
    const uint8_t *q = block + 2;
    for (int j = 0; j < 16; j++) {
        out[j] = (float)((q[j] & 0x0F) - 8);
        out[j + 16] = (float)((q[j] >> 4) - 8);
    }
}

/* Σ over blocks of d · Σ_j ints[j]·x[j], in 16 independent f32 lanes the compiler keeps in registers. */
VL_ALWAYS_INLINE void gemv_rows(const uint8_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end,
                                int64_t block_bytes, vl_block_ints ints) {
    const int64_t blocks = cols / 32;
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *row = w + r * blocks * block_bytes;
        float acc[16] = {0};
        for (int64_t b = 0; b < blocks; b++) {
            float v[32], part[16];
            ints(row + b * block_bytes, v);
            const float *xb = x + b * 32;
            for (int j = 0; j < 16; j++) part[j] = v[j] * xb[j] + v[j + 16] * xb[j + 16];
            const float d = vl_load_f16(row + b * block_bytes);
            for (int j = 0; j < 16; j++) acc[j] += d * part[j];
        }
        float sum = 0;
        for (int j = 0; j < 16; j++) sum += acc[j];
        y[r] = sum;
    }
}

/* The reference: every product d·q·x summed in double, in storage order. */
VL_ALWAYS_INLINE void gemv_rows_ref(const uint8_t *w, const float *x, float *y, int64_t cols, int64_t row_begin,
                                    int64_t row_end, int64_t block_bytes, vl_block_ints ints) {
    const int64_t blocks = cols / 32;
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *row = w + r * blocks * block_bytes;
        double sum = 0;
        for (int64_t b = 0; b < blocks; b++) {
            float v[32];
            ints(row + b * block_bytes, v);
            const float d = vl_load_f16(row + b * block_bytes);
            for (int j = 0; j < 32; j++) sum += (double)(d * v[j]) * (double)x[b * 32 + j];
        }
        y[r] = (float)sum;
    }
}

VL_MULTIVERSION
void vl_gemv_q8_0(const uint8_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    gemv_rows(w, x, y, cols, row_begin, row_end, 34, q8_0_ints);
}

void vl_gemv_q8_0_ref(const uint8_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    gemv_rows_ref(w, x, y, cols, row_begin, row_end, 34, q8_0_ints);
}

VL_MULTIVERSION
void vl_gemv_q4_0(const uint8_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    gemv_rows(w, x, y, cols, row_begin, row_end, 18, q4_0_ints);
}

void vl_gemv_q4_0_ref(const uint8_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    gemv_rows_ref(w, x, y, cols, row_begin, row_end, 18, q4_0_ints);
}

/* Any other block format (Q4_1, Q4_K, Q6_K): each block is dequantized by the format's exact
 * dequantizer into a stack buffer (at most 256 values, in L1) and dotted with x there, so the matrix
 * is still read once and never converted into memory. */
VL_MULTIVERSION
void vl_gemv_dequantized(vl_dequantize_blocks dequantize, int64_t block_values, int64_t block_bytes, const uint8_t *w,
                         const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    const int64_t blocks = cols / block_values;
    float v[256];
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *row = w + r * blocks * block_bytes;
        float acc[16] = {0};
        for (int64_t b = 0; b < blocks; b++) {
            dequantize(row + b * block_bytes, v, 1);
            const float *xb = x + b * block_values;
            for (int64_t j = 0; j < block_values; j += 16)
                for (int k = 0; k < 16; k++) acc[k] += v[j + k] * xb[j + k];
        }
        float sum = 0;
        for (int k = 0; k < 16; k++) sum += acc[k];
        y[r] = sum;
    }
}

/* F16 weights: 256 values at a time widened (F16C where the CPU has it) into a stack buffer. */
VL_MULTIVERSION
void vl_gemv_f16(const uint16_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    float v[256];
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint16_t *row = w + r * cols;
        float acc[16] = {0};
        for (int64_t c = 0; c < cols; c += 256) {
            const int64_t n = cols - c < 256 ? cols - c : 256;
            vl_f16_to_f32(row + c, v, (size_t)n, 1);
            int64_t j = 0;
            for (; j + 16 <= n; j += 16)
                for (int k = 0; k < 16; k++) acc[k] += v[j + k] * x[c + j + k];
            for (; j < n; j++) acc[0] += v[j] * x[c + j];
        }
        float sum = 0;
        for (int k = 0; k < 16; k++) sum += acc[k];
        y[r] = sum;
    }
}

/* Q4_K: 144 bytes per 256 values: f16 d, f16 dmin, 12 bytes of packed 6-bit (scale, min) for 8
 * sub-blocks of 32, then 128 bytes of 4-bit q (sub-blocks 2k and 2k+1 share 32 bytes: low and high
 * nibbles); value = d·scale·q − dmin·min. Per sub-block: d·scale·Σq·x − dmin·min·Σx. */
VL_MULTIVERSION
void vl_gemv_q4_k(const uint8_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    const int64_t blocks = cols / 256;
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *row = w + r * blocks * 144;
        float total = 0;
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *blk = row + b * 144;
            const float d = vl_load_f16(blk), dmin = vl_load_f16(blk + 2);
            const float *xb = x + b * 256;
            for (int j = 0; j < 8; j++) {
                int sc, m;
                vl_q4k_unpack(blk + 4, j, &sc, &m);
                const uint8_t *q = blk + 16 + 32 * (j / 2);
                const int shift = (j & 1) * 4;
                const float *xs = xb + 32 * j;
                float qx[16] = {0}, sx[16] = {0};
                for (int i = 0; i < 16; i++) {
                    qx[i] = (float)((q[i] >> shift) & 0xF) * xs[i] + (float)((q[i + 16] >> shift) & 0xF) * xs[i + 16];
                    sx[i] = xs[i] + xs[i + 16];
                }
                float sq = 0, ss = 0;
                for (int i = 0; i < 16; i++) { sq += qx[i]; ss += sx[i]; }
                total += d * (float)sc * sq - dmin * (float)m * ss;
            }
        }
        y[r] = total;
    }
}
