// Matrix-vector products over GGUF blocks for one-token LLM decoding, with the activations quantized to
// 8-bit blocks as ggml's vec_dot_*_q8_* do: y[r] = Σ_c W[r, c]·x̂[c] for rows [row_begin, row_end), where
// x̂ is x rounded to blocks of int8 with one f32 scale each: 32 values for Q8_0/Q4_0/Q4_1 (ggml's
// Q8_0/Q8_1), 256 for Q4_K/Q6_K (ggml's Q8_K). The products are integer within a
// block (exact), so the only loss beyond the weights' own is x̂ − x (|x̂ − x| ≤ d_x/2 per value).
//
// Each format has an AVX2 kernel (maddubs/madd integer dot products, F16C scales) and a plain `_ref`
// kernel beside it computing the same integer block sums in portable C; they differ only in the order the
// f32 block terms are added. The public entry points pick AVX2 when the CPU has it; Q8_0 and Q4_K also
// have AVX-512 VNNI kernels (gemv_blocks_avx512.c), picked first where the CPU has them. Q4_0's hot path
// is the regrouped Q4_0x8 kernel; Q4_1 and Q6_K (lm_head, a few matrices of q4_k_m) keep AVX2.
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "multiversion.h"
#include "quant_common.h"
#include "vl_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VL_X86 1
#define VL_AVX2_FMA __attribute__((target("avx2,fma,f16c")))
#endif

int vl_quant_cpu_has_avx2(void);

// ------------------------------------------------------------------ activations

VL_MULTIVERSION
void vl_quantize_q8_activations(const float *x, int64_t n, int64_t block, int8_t *q, float *d, int16_t *sums) {
    for (int64_t b = 0; b < n / block; b++) {
        const float *xb = x + block * b;
        float amax = 0;
        int nan = 0;
        for (int64_t j = 0; j < block; j++) {
            amax = fmaxf(amax, fabsf(xb[j]));
            nan |= isnan(xb[j]);
        }
        // A non-finite input makes the block's scale NaN/inf, so it reaches y as NaN instead of vanishing
        // into a zero block (and no NaN is ever converted to an integer).
        const float scale = amax / 127.0f;
        const float inverse = scale != 0 && isfinite(scale) && !nan ? 1.0f / scale : 0.0f;
        d[b] = nan ? NAN : scale;
        for (int64_t j = 0; j < block; j++) q[block * b + j] = (int8_t)(int)nearbyintf(inverse == 0 ? 0 : xb[j] * inverse);
    }
    for (int64_t h = 0; h < n / 16; h++) {
        int sum = 0;
        for (int j = 0; j < 16; j++) sum += q[16 * h + j];
        sums[h] = (int16_t)sum;
    }
}

// ------------------------------------------------------------------ plain reference kernels

/* Q8_0: 34 bytes per 32 values: f16 scale, then 32 int8. */
void vl_gemv_q8_0_q8_ref(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    const int64_t blocks = cols / 32;
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *row = w + r * blocks * 34;
        float sum = 0;
        for (int64_t b = 0; b < blocks; b++) {
            const int8_t *qw = (const int8_t *)(row + 34 * b + 2), *qx = x->q + 32 * b;
            int dot = 0;
            for (int j = 0; j < 32; j++) dot += qw[j] * qx[j];
            sum += vl_load_f16(row + 34 * b) * x->d[b] * (float)dot;
        }
        y[r] = sum;
    }
}

/* Q4_0: 18 bytes per 32 values: f16 d, 16 bytes (value j low nibble, j + 16 high), value = d·(n − 8). */
void vl_gemv_q4_0_q8_ref(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    const int64_t blocks = cols / 32;
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *row = w + r * blocks * 18;
        float sum = 0;
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *qw = row + 18 * b + 2;
            const int8_t *qx = x->q + 32 * b;
            int dot = 0;
            for (int j = 0; j < 16; j++) dot += ((qw[j] & 0xF) - 8) * qx[j] + ((qw[j] >> 4) - 8) * qx[j + 16];
            sum += vl_load_f16(row + 18 * b) * x->d[b] * (float)dot;
        }
        y[r] = sum;
    }
}

/* Q4_1: 20 bytes per 32 values: f16 d, f16 m, 16 bytes of nibbles; value = d·n + m. */
void vl_gemv_q4_1_q8_ref(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    const int64_t blocks = cols / 32;
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *row = w + r * blocks * 20;
        float sum = 0;
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *blk = row + 20 * b, *qw = blk + 4;
            const int8_t *qx = x->q + 32 * b;
            int dot = 0;
            for (int j = 0; j < 16; j++) dot += (qw[j] & 0xF) * qx[j] + (qw[j] >> 4) * qx[j + 16];
            const int xsum = x->sums[2 * b] + x->sums[2 * b + 1];
            sum += x->d[b] * (vl_load_f16(blk) * (float)dot + vl_load_f16(blk + 2) * (float)xsum);
        }
        y[r] = sum;
    }
}

/* Q4_K: 144 bytes per 256 values: f16 d, f16 dmin, 12 bytes of 6-bit (scale, min) for 8 sub-blocks of
 * 32, 128 bytes of nibbles (sub-blocks 2k and 2k + 1 share 32 bytes: low and high nibbles);
 * value = d·scale·n − dmin·min. Activations in 256-value blocks (one scale per weight block). */
void vl_gemv_q4_k_q8_ref(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    const int64_t blocks = cols / 256;
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *row = w + r * blocks * 144;
        float sum = 0;
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *blk = row + 144 * b;
            int dot = 0, mins = 0;
            for (int j = 0; j < 8; j++) {
                int sc, m;
                vl_q4k_unpack(blk + 4, j, &sc, &m);
                const uint8_t *qw = blk + 16 + 32 * (j / 2);
                const int shift = (j & 1) * 4;
                const int8_t *qx = x->q + 256 * b + 32 * j;
                int part = 0;
                for (int i = 0; i < 32; i++) part += ((qw[i] >> shift) & 0xF) * qx[i];
                dot += sc * part;
                mins += m * (x->sums[16 * b + 2 * j] + x->sums[16 * b + 2 * j + 1]);
            }
            sum += x->d[b] * (vl_load_f16(blk) * (float)dot - vl_load_f16(blk + 2) * (float)mins);
        }
        y[r] = sum;
    }
}

/* Q6_K: 210 bytes per 256 values: 128 bytes low nibbles ql, 64 bytes high 2-bit pairs qh, 16 int8
 * scales (one per 16 values), f16 d; value = d·scale·(q − 32). Value 128h + 32k + l of the block
 * (h < 2, k < 4, l < 32) takes its low bits from ql[64h + 32(k & 1) + l] (low nibble for k < 2, else
 * high), its high bits from qh[32h + l] >> 2k, and scale 8h + 2k + l/16. */
static inline __attribute__((always_inline)) int q6_k_value(const uint8_t *blk, int h, int k, int l) {
    const uint8_t lowByte = blk[64 * h + 32 * (k & 1) + l];
    const int low = k < 2 ? lowByte & 0xF : lowByte >> 4;
    const int high = (blk[128 + 32 * h + l] >> (2 * k)) & 3;
    return (low | (high << 4)) - 32;
}

void vl_gemv_q6_k_q8_ref(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    const int64_t blocks = cols / 256;
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *row = w + r * blocks * 210;
        float sum = 0;
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *blk = row + 210 * b;
            const int8_t *scales = (const int8_t *)(blk + 192);
            int dot = 0;
            for (int h = 0; h < 2; h++)
                for (int k = 0; k < 4; k++) {
                    const int8_t *qx = x->q + 256 * b + 128 * h + 32 * k;
                    for (int l = 0; l < 32; l++) dot += scales[8 * h + 2 * k + l / 16] * q6_k_value(blk, h, k, l) * qx[l];
                }
            sum += vl_load_f16(blk + 208) * x->d[b] * (float)dot;
        }
        y[r] = sum;
    }
}

// ------------------------------------------------------------------ AVX2 kernels
#if VL_X86

/* Σ of unsigned × signed byte products, 4 adjacent pairs per int32 lane (no saturation for |u| ≤ 128,
 * |s| ≤ 127: 2·128·127 < 2^15). */
VL_AVX2_FMA static inline __m256i dot_u8s8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* Σ of signed × signed byte products, through |a| and sign(a)·b. */
VL_AVX2_FMA static inline __m256i dot_s8s8(__m256i a, __m256i b) {
    return dot_u8s8(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

VL_AVX2_FMA static inline float load_f16_avx2(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

VL_AVX2_FMA static inline void prefetch_ahead(const uint8_t *p) { _mm_prefetch((const char *)(p + VL_PREFETCH_DISTANCE), _MM_HINT_T0); }

/* 32 nibbles of 16 bytes: value j < 16 from the low nibble of byte j, j ≥ 16 from the high one. */
VL_AVX2_FMA static inline __m256i nibbles_q4(const uint8_t *p) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0F));
}

VL_AVX2_FMA static void q8_0_avx2(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t r0, int64_t r1) {
    const int64_t blocks = cols / 32;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * blocks * 34;
        __m256 acc = _mm256_setzero_ps();
        for (int64_t b = 0; b < blocks; b++) {
            prefetch_ahead(row + 34 * b);
            const __m256i qw = _mm256_loadu_si256((const __m256i *)(row + 34 * b + 2));
            const __m256i qx = _mm256_loadu_si256((const __m256i *)(x->q + 32 * b));
            const __m256 scale = _mm256_set1_ps(load_f16_avx2(row + 34 * b) * x->d[b]);
            acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(dot_s8s8(qw, qx)), acc);
        }
        y[r] = vl_hsum_ps256(acc);
    }
}

VL_AVX2_FMA static void q4_0_avx2(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t r0, int64_t r1) {
    const int64_t blocks = cols / 32;
    const __m256i eight = _mm256_set1_epi8(8);
    int64_t r = r0;
    // Two rows at a time share the activation loads and keep two independent FMA chains in flight.
    for (; r + 2 <= r1; r += 2) {
        const uint8_t *row0 = w + r * blocks * 18, *row1 = row0 + blocks * 18;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        for (int64_t b = 0; b < blocks; b++) {
            prefetch_ahead(row0 + 18 * b);
            prefetch_ahead(row1 + 18 * b);
            const __m256i qx = _mm256_loadu_si256((const __m256i *)(x->q + 32 * b));
            const float dx = x->d[b];
            const __m256i q0 = _mm256_sub_epi8(nibbles_q4(row0 + 18 * b + 2), eight);
            const __m256i q1 = _mm256_sub_epi8(nibbles_q4(row1 + 18 * b + 2), eight);
            acc0 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16_avx2(row0 + 18 * b) * dx), _mm256_cvtepi32_ps(dot_s8s8(q0, qx)), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_set1_ps(load_f16_avx2(row1 + 18 * b) * dx), _mm256_cvtepi32_ps(dot_s8s8(q1, qx)), acc1);
        }
        y[r] = vl_hsum_ps256(acc0);
        y[r + 1] = vl_hsum_ps256(acc1);
    }
    for (; r < r1; r++) {
        const uint8_t *row = w + r * blocks * 18;
        __m256 acc = _mm256_setzero_ps();
        for (int64_t b = 0; b < blocks; b++) {
            prefetch_ahead(row + 18 * b);
            const __m256i qw = _mm256_sub_epi8(nibbles_q4(row + 18 * b + 2), eight);
            const __m256i qx = _mm256_loadu_si256((const __m256i *)(x->q + 32 * b));
            const __m256 scale = _mm256_set1_ps(load_f16_avx2(row + 18 * b) * x->d[b]);
            acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(dot_s8s8(qw, qx)), acc);
        }
        y[r] = vl_hsum_ps256(acc);
    }
}

VL_AVX2_FMA static void q4_1_avx2(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t r0, int64_t r1) {
    const int64_t blocks = cols / 32;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * blocks * 20;
        __m256 acc = _mm256_setzero_ps();
        float offsets = 0;
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *blk = row + 20 * b;
            prefetch_ahead(blk);
            const __m256i qx = _mm256_loadu_si256((const __m256i *)(x->q + 32 * b));
            const __m256 scale = _mm256_set1_ps(load_f16_avx2(blk) * x->d[b]);
            acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(dot_u8s8(nibbles_q4(blk + 4), qx)), acc);
            offsets += load_f16_avx2(blk + 2) * x->d[b] * (float)(x->sums[2 * b] + x->sums[2 * b + 1]);
        }
        y[r] = vl_hsum_ps256(acc) + offsets;
    }
}

/* The K-quants accumulate a whole 256-value block in int32 (scales applied with madd_epi16) and
 * convert once per block, which the single activation scale per 256 values allows. Q4_K's 6-bit scales
 * and mins are unpacked four at a time and the mins' products with the activation sums are one madd
 * (vl_q4k_scales_min_dots): the per-value scalar unpack had kept this kernel compute-bound. */
VL_AVX2_FMA static void q4_k_avx2(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t r0, int64_t r1) {
    const int64_t blocks = cols / 256;
    const __m256i low = _mm256_set1_epi8(0x0F);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * blocks * 144;
        __m256 acc = _mm256_setzero_ps();
        __m128 minAcc = _mm_setzero_ps();
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *blk = row + 144 * b;
            prefetch_ahead(blk);
            prefetch_ahead(blk + 64);
            prefetch_ahead(blk + 128);
            __m128i minDots;
            const uint64_t scales = vl_q4k_scales_min_dots(blk, x->sums + 16 * b, &minDots);
            const int8_t *qx = x->q + 256 * b;
            __m256i sum = _mm256_setzero_si256();
            for (int k = 0; k < 4; k++) {
                const __m256i bytes = _mm256_loadu_si256((const __m256i *)(blk + 16 + 32 * k));
                const __m256i lo = _mm256_and_si256(bytes, low), hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low);
                const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(qx + 64 * k)));
                const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(qx + 64 * k + 32)));
                sum = _mm256_add_epi32(sum, _mm256_madd_epi16(plo, _mm256_set1_epi16((short)((scales >> (16 * k)) & 0xFF))));
                sum = _mm256_add_epi32(sum, _mm256_madd_epi16(phi, _mm256_set1_epi16((short)((scales >> (16 * k + 8)) & 0xFF))));
            }
            const float dx = x->d[b];
            acc = _mm256_fmadd_ps(_mm256_set1_ps(load_f16_avx2(blk) * dx), _mm256_cvtepi32_ps(sum), acc);
            minAcc = _mm_fmadd_ps(_mm_set1_ps(load_f16_avx2(blk + 2) * dx), _mm_cvtepi32_ps(minDots), minAcc);
        }
        y[r] = vl_hsum_ps256(acc) - vl_hsum_ps128(minAcc);
    }
}

/* Q6_K's values q − 32 are taken as the unsigned q (0..63) times the activations, less 32·Σ over each
 * 16-value group of its scale times the activations' sum there: the groups are exactly the scales'
 * (value 16j..16j + 15 has scale j), so the correction is one madd of the 16 scales with the 16 sums,
 * and the kernel needs no sign trick. Unsigned 6-bit × signed 8-bit pairs stay exact in int16
 * (2·63·127 < 2^15). Each sub-block's pair of scales is broadcast from the widened scale vector. */
VL_AVX2_FMA static void q6_k_avx2(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t r0, int64_t r1) {
    const int64_t blocks = cols / 256;
    const __m256i low = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3);
    // Within each 32-bit lane holding scales (2m, 2m + 1): the low 128 bits take 2m, the high ones 2m + 1.
    const __m256i spread = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * blocks * 210;
        __m256 acc = _mm256_setzero_ps();
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *blk = row + 210 * b;
            for (int line = 0; line < 210; line += 64) prefetch_ahead(blk + line);
            const __m256i scales = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192)));
            const __m256i sums = _mm256_loadu_si256((const __m256i *)(x->sums + 16 * b));
            const int8_t *qx = x->q + 256 * b;
            __m256i sum = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(scales, sums), 5));
            for (int h = 0; h < 2; h++) {
                const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(blk + 64 * h));
                const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(blk + 64 * h + 32));
                const __m256i qh = _mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * h));
                const __m256i lows[4] = {
                    _mm256_and_si256(ql0, low), _mm256_and_si256(ql1, low),
                    _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low), _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low)};
                for (int k = 0; k < 4; k++) {
                    // High bits ≤ 3 shifted by 4 stay inside their byte, so 16-bit shifts are safe.
                    const __m256i high = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), two), 4);
                    const __m256i q8 = _mm256_loadu_si256((const __m256i *)(qx + 128 * h + 32 * k));
                    const __m256i pairs = _mm256_maddubs_epi16(_mm256_or_si256(lows[k], high), q8);
                    const __m256i pair = _mm256_permutevar8x32_epi32(scales, _mm256_set1_epi32(4 * h + k));
                    sum = _mm256_add_epi32(sum, _mm256_madd_epi16(pairs, _mm256_shuffle_epi8(pair, spread)));
                }
            }
            acc = _mm256_fmadd_ps(_mm256_set1_ps(load_f16_avx2(blk + 208) * x->d[b]), _mm256_cvtepi32_ps(sum), acc);
        }
        y[r] = vl_hsum_ps256(acc);
    }
}

/* `entry`: the AVX2 kernel `name##_avx2` where the CPU has AVX2, else the plain one. */
#define VL_GEMV_ENTRY(entry, name)                                                                                \
    void entry(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) { \
        if (vl_quant_cpu_has_avx2()) name##_avx2(w, x, y, cols, row_begin, row_end);                             \
        else vl_gemv_##name##_q8_ref(w, x, y, cols, row_begin, row_end);                                         \
    }
#else
#define VL_GEMV_ENTRY(entry, name)                                                                                \
    void entry(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) { \
        vl_gemv_##name##_q8_ref(w, x, y, cols, row_begin, row_end);                                              \
    }
#endif
#define VL_GEMV_DISPATCH(name) VL_GEMV_ENTRY(vl_gemv_##name##_q8, name)

VL_GEMV_DISPATCH(q4_0)
VL_GEMV_DISPATCH(q4_1)
VL_GEMV_DISPATCH(q6_k)

/* Q8_0 and Q4_K: AVX-512 VNNI first (vl_cpu_has_avx512_vnni is 0 off x86); their AVX2 kernels exported
 * so tests hold each ISA's kernel equal. */
#define VL_GEMV_DISPATCH_WIDE(name)                                                                                   \
    VL_GEMV_ENTRY(vl_gemv_##name##_q8_avx2, name)                                                                      \
    void vl_gemv_##name##_q8(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin,      \
                             int64_t row_end) {                                                                       \
        if (vl_cpu_has_avx512_vnni()) vl_gemv_##name##_q8_avx512(w, x, y, cols, row_begin, row_end);                 \
        else vl_gemv_##name##_q8_avx2(w, x, y, cols, row_begin, row_end);                                            \
    }
VL_GEMV_DISPATCH_WIDE(q8_0)
VL_GEMV_DISPATCH_WIDE(q4_k)
