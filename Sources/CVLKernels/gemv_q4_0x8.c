// Q4_0 regrouped eight rows at a time (Q4_0x8) for one-token decoding.
//
// The plain Q4_0 kernel reduces one row at a time: per 32-value block it converts an integer dot product
// to f32 and scales it alone, which kept it compute-bound at about half the read bandwidth here. With
// eight rows' blocks side by side, one 256-bit register holds four values of each of the eight rows, the
// activations are broadcast four at a time, and the eight rows' sums end in the eight f32 lanes: one
// convert, one scale product and one FMA per eight row-blocks, and no horizontal sums.
//
// Layout, per group g of rows 8g..8g+7 and per block column b (144 bytes, groups and columns in order):
//   bytes 0..15     the eight rows' f16 scales d, row r at 2r;
//   bytes 16..143   four chunks of 32 bytes: byte 4r + i of chunk c holds row r's value 4c + i in its low
//                   nibble and value 16 + 4c + i in its high nibble (Q4_0's nibbles, value = d·(n − 8)).
// The same bytes as Q4_0 (18 per 32 values), only moved; dequantizing gives bit-equal values.
#include <stdint.h>
#include <string.h>
#include "quant_common.h"
#include "vl_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VL_X86 1
#endif

int vl_quant_cpu_has_avx2(void);

enum { group_rows = 8, q4_0_bytes = 18, group_block_bytes = 144, q8_0_bytes = 34, q8_0x8u_block_bytes = 272 };

/* Eight rows' blocks side by side: per group and block column the eight f16 scales, then `words`
 * chunks of 32 bytes, word k of row r's block (its bytes 2 + 4k..) at 4r of chunk k, xor `flip`. */
static inline __attribute__((always_inline)) void regroup_rows(const uint8_t *src, uint8_t *dst, int64_t cols, int64_t group_begin,
                                                              int64_t group_end, int64_t src_block_bytes, int words, uint32_t flip) {
    const int64_t blocks = cols / 32, row_bytes = blocks * src_block_bytes, dst_block_bytes = 16 + 32 * words;
    for (int64_t g = group_begin; g < group_end; g++) {
        const uint8_t *rows = src + g * group_rows * row_bytes;
        uint8_t *out = dst + g * blocks * dst_block_bytes;
        for (int64_t b = 0; b < blocks; b++, out += dst_block_bytes)
            for (int r = 0; r < group_rows; r++) {
                const uint8_t *block = rows + r * row_bytes + b * src_block_bytes;
                memcpy(out + 2 * r, block, 2);
                for (int k = 0; k < words; k++) {
                    uint32_t word;
                    memcpy(&word, block + 2 + 4 * k, 4);
                    word ^= flip;
                    memcpy(out + 16 + 32 * k + 4 * r, &word, 4);
                }
            }
    }
}

/* Q4_0 byte j holds values j (low nibble) and j + 16 (high): exactly what chunk j / 4 wants at 4r + j % 4.
 * So a block's 16 nibble bytes move as four 4-byte words, word c of row r to chunk c at 4r. */
void vl_q4_0x8_repack(const uint8_t *src, uint8_t *dst, int64_t cols, int64_t group_begin, int64_t group_end) {
    regroup_rows(src, dst, cols, group_begin, group_end, q4_0_bytes, 4, 0);
}

/* Q8_0x8u, for prefill tiles: per group of eight rows and block column, the eight f16 scales (16 bytes)
 * and eight chunks of 32 bytes, byte 4r + i of chunk k holding row r's value 4k + i plus 128 (its sign
 * bit flipped), an unsigned byte as `vpdpbusd` wants. */
void vl_q8_0x8u_repack(const uint8_t *src, uint8_t *dst, int64_t cols, int64_t group_begin, int64_t group_end) {
    regroup_rows(src, dst, cols, group_begin, group_end, q8_0_bytes, 8, 0x80808080u);
}

int64_t vl_q8_0x8u_bytes(int64_t rows, int64_t cols) { return rows / group_rows * (cols / 32) * q8_0x8u_block_bytes; }

void vl_q4_0x8_dequantize_ref(const uint8_t *w, int64_t cols, int64_t row_begin, int64_t row_end, float *out) {
    const int64_t blocks = cols / 32;
    for (int64_t row = row_begin; row < row_end; row++) {
        const int64_t g = row / group_rows, r = row % group_rows;
        float *dst = out + (row - row_begin) * cols;
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *block = w + (g * blocks + b) * group_block_bytes;
            const float d = vl_load_f16(block + 2 * r);
            for (int j = 0; j < 16; j++) {
                const uint8_t byte = block[16 + 32 * (j / 4) + 4 * r + j % 4];
                dst[32 * b + j] = d * (float)((byte & 0xF) - 8);
                dst[32 * b + j + 16] = d * (float)((byte >> 4) - 8);
            }
        }
    }
}

/* Σ n·x over the block's unsigned nibbles n, minus 8·Σx (the sums of the activations' halves), is the
 * signed Σ (n − 8)·x: the kernels multiply unsigned nibbles by signed activations directly. */
void vl_gemv_q4_0x8_q8_ref(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    const int64_t blocks = cols / 32;
    for (int64_t g = row_begin / group_rows; g < row_end / group_rows; g++) {
        float sum[group_rows] = {0};
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *block = w + (g * blocks + b) * group_block_bytes;
            const int8_t *qx = x->q + 32 * b;
            const int xsum = x->sums[2 * b] + x->sums[2 * b + 1];
            for (int r = 0; r < group_rows; r++) {
                int dot = 0;
                for (int j = 0; j < 16; j++) {
                    const uint8_t byte = block[16 + 32 * (j / 4) + 4 * r + j % 4];
                    dot += (byte & 0xF) * qx[j] + (byte >> 4) * qx[j + 16];
                }
                sum[r] += vl_load_f16(block + 2 * r) * x->d[b] * (float)(dot - 8 * xsum);
            }
        }
        for (int r = 0; r < group_rows; r++) y[g * group_rows + r] = sum[r];
    }
}

/* Many tokens: token t's row of y (stride ldy) is the one-token product with x[t]. */
void vl_gemm_q4_0x8_q8_ref(const uint8_t *w, const vl_q8_activations *x, int64_t tokens, float *y, int64_t ldy, int64_t cols,
                           int64_t row_begin, int64_t row_end) {
    for (int64_t t = 0; t < tokens; t++) vl_gemv_q4_0x8_q8_ref(w, x + t, y + t * ldy, cols, row_begin, row_end);
}

void vl_gemm_q8_0x8u_q8_ref(const uint8_t *w, const vl_q8_activations *x, int64_t tokens, float *y, int64_t ldy, int64_t cols,
                            int64_t row_begin, int64_t row_end) {
    const int64_t blocks = cols / 32;
    for (int64_t t = 0; t < tokens; t++)
        for (int64_t row = row_begin; row < row_end; row++) {
            const int64_t g = row / group_rows, r = row % group_rows;
            float sum = 0;
            for (int64_t b = 0; b < blocks; b++) {
                const uint8_t *block = w + (g * blocks + b) * q8_0x8u_block_bytes;
                const int8_t *qx = x[t].q + 32 * b;
                int dot = 0;
                for (int j = 0; j < 32; j++) dot += (int)(int8_t)(block[16 + 32 * (j / 4) + 4 * r + j % 4] ^ 0x80) * qx[j];
                sum += vl_load_f16(block + 2 * r) * x[t].d[b] * (float)dot;
            }
            y[t * ldy + row] = sum;
        }
}

/* Block b's 32 activations as eight 4-byte words (broadcast one at a time against a chunk of eight
 * rows' values: word k holds values 4k..4k + 3), and Σx, which turns a sum over unsigned stored values
 * u = v + bias into the signed one: Σ v·x = Σ u·x − bias·Σx. */
static inline __attribute__((always_inline)) int block_activations(const vl_q8_activations *x, int64_t b, int32_t quads[8]) {
    memcpy(quads, x->q + 32 * b, 32);
    return x->sums[2 * b] + x->sums[2 * b + 1];
}

#if VL_X86
__attribute__((target("avx2,fma,f16c"))) static void q4_0x8_avx2(
    const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    const int64_t blocks = cols / 32;
    const __m256i low = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    for (int64_t g = row_begin / group_rows; g < row_end / group_rows; g++) {
        const uint8_t *block = w + g * blocks * group_block_bytes;
        __m256 acc = _mm256_setzero_ps();
        for (int64_t b = 0; b < blocks; b++, block += group_block_bytes) {
            for (int line = 0; line < group_block_bytes; line += 64) _mm_prefetch((const char *)block + VL_PREFETCH_DISTANCE + line, _MM_HINT_T0);
            int32_t quads[8];
            const int offset = 8 * block_activations(x, b, quads);
            // 16-bit sums stay exact: 8 products of pairs, each ≤ 2·15·127, total ≤ 30480 < 2^15.
            __m256i pairs = _mm256_setzero_si256();
            for (int c = 0; c < 4; c++) {
                const __m256i bytes = _mm256_loadu_si256((const __m256i *)(block + 16 + 32 * c));
                pairs = _mm256_add_epi16(pairs, _mm256_maddubs_epi16(_mm256_and_si256(bytes, low), _mm256_set1_epi32(quads[c])));
                pairs = _mm256_add_epi16(
                    pairs, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(bytes, 4), low), _mm256_set1_epi32(quads[4 + c])));
            }
            const __m256i dots = _mm256_sub_epi32(_mm256_madd_epi16(pairs, ones), _mm256_set1_epi32(offset));
            const __m256 scales = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)block)), _mm256_set1_ps(x->d[b]));
            acc = _mm256_fmadd_ps(scales, _mm256_cvtepi32_ps(dots), acc);
        }
        _mm256_storeu_ps(y + g * group_rows, acc);
    }
}

/* The same step with AVX-512 VNNI at 256 bits: `vpdpbusd` adds the four nibble × activation products of
 * each int32 lane straight into the row's sum (exact), where AVX2 needs maddubs, an int16 add and a
 * final madd. Wider registers would buy nothing here: two blocks per step need their halves gathered
 * from 144 bytes apart, and this CPU splits 512-bit operations in two. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c"))) static void q4_0x8_avx512(
    const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    const int64_t blocks = cols / 32;
    const __m256i low = _mm256_set1_epi8(0x0F);
    for (int64_t g = row_begin / group_rows; g < row_end / group_rows; g++) {
        const uint8_t *block = w + g * blocks * group_block_bytes;
        __m256 acc = _mm256_setzero_ps();
        for (int64_t b = 0; b < blocks; b++, block += group_block_bytes) {
            for (int line = 0; line < group_block_bytes; line += 64) _mm_prefetch((const char *)block + VL_PREFETCH_DISTANCE + line, _MM_HINT_T0);
            int32_t quads[8];
            __m256i dots = _mm256_set1_epi32(-8 * block_activations(x, b, quads));
            for (int c = 0; c < 4; c++) {
                const __m256i bytes = _mm256_loadu_si256((const __m256i *)(block + 16 + 32 * c));
                dots = _mm256_dpbusd_epi32(dots, _mm256_and_si256(bytes, low), _mm256_set1_epi32(quads[c]));
                dots = _mm256_dpbusd_epi32(dots, _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low), _mm256_set1_epi32(quads[4 + c]));
            }
            const __m256 scales = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)block)), _mm256_set1_ps(x->d[b]));
            acc = _mm256_fmadd_ps(scales, _mm256_cvtepi32_ps(dots), acc);
        }
        _mm256_storeu_ps(y + g * group_rows, acc);
    }
}

/* Prefill with integer products, for Q4_0x8 and for Q8_0 tiles regrouped the same way (Q8_0x8u,
 * below): each group's block decoded once into eight registers of unsigned values u = v + bias (Q4_0's
 * nibbles, bias 8; Q8_0's bytes + 128) and reused for `micro` tokens at a time, so the decoding is paid
 * once per four tokens. Tokens go in tiles of `tile_tokens` (their 8-bit activations, 64 × cols bytes,
 * stay in L2 while every group of the range passes over them); the weights are read once per tile.
 * For Q4_0x8 the sums per (row, token) come in the same block order as the one-token kernel. */
enum { micro = 4, tile_tokens = 64 };
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c"), always_inline)) static inline void gemm_x8_avx512(
    const uint8_t *w, int64_t block_bytes, int nibbles, int bias, const vl_q8_activations *x, int64_t tokens, float *y, int64_t ldy,
    int64_t cols, int64_t row_begin, int64_t row_end) {
    const int64_t blocks = cols / 32;
    const __m256i low = _mm256_set1_epi8(0x0F);
    for (int64_t t0 = 0; t0 < tokens; t0 += tile_tokens) {
        const int64_t t1 = t0 + tile_tokens < tokens ? t0 + tile_tokens : tokens;
        for (int64_t g = row_begin / group_rows; g < row_end / group_rows; g++) {
            const uint8_t *group = w + g * blocks * block_bytes;
            for (int64_t t = t0; t < t1; t += micro) {
                const int n = t1 - t < micro ? (int)(t1 - t) : micro;
                __m256 acc[micro];
                for (int i = 0; i < micro; i++) acc[i] = _mm256_setzero_ps();
                const uint8_t *block = group;
                for (int64_t b = 0; b < blocks; b++, block += block_bytes) {
                    __m256i values[8];
                    if (nibbles)
                        for (int c = 0; c < 4; c++) {
                            const __m256i bytes = _mm256_loadu_si256((const __m256i *)(block + 16 + 32 * c));
                            values[c] = _mm256_and_si256(bytes, low);
                            values[4 + c] = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low);
                        }
                    else
                        for (int k = 0; k < 8; k++) values[k] = _mm256_loadu_si256((const __m256i *)(block + 16 + 32 * k));
                    const __m256 scales = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)block));
                    for (int i = 0; i < micro; i++) {
                        if (i >= n) break;
                        const vl_q8_activations *xa = x + t + i;
                        int32_t quads[8];
                        __m256i dots = _mm256_set1_epi32(-bias * block_activations(xa, b, quads));
                        for (int k = 0; k < 8; k++) dots = _mm256_dpbusd_epi32(dots, values[k], _mm256_set1_epi32(quads[k]));
                        acc[i] = _mm256_fmadd_ps(_mm256_mul_ps(scales, _mm256_set1_ps(xa->d[b])), _mm256_cvtepi32_ps(dots), acc[i]);
                    }
                }
                for (int i = 0; i < n; i++) _mm256_storeu_ps(y + (t + i) * ldy + g * group_rows, acc[i]);
            }
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c"))) static void gemm_q4_0x8_avx512(
    const uint8_t *w, const vl_q8_activations *x, int64_t tokens, float *y, int64_t ldy, int64_t cols, int64_t row_begin, int64_t row_end) {
    gemm_x8_avx512(w, group_block_bytes, 1, 8, x, tokens, y, ldy, cols, row_begin, row_end);
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c"))) static void gemm_q8_0x8u_avx512(
    const uint8_t *w, const vl_q8_activations *x, int64_t tokens, float *y, int64_t ldy, int64_t cols, int64_t row_begin, int64_t row_end) {
    gemm_x8_avx512(w, q8_0x8u_block_bytes, 0, 128, x, tokens, y, ldy, cols, row_begin, row_end);
}

/* The row's four nibble words of a block gathered back into Q4_0's 16 bytes, then widened eight
 * values at a time: (n − 8)·d is one exact integer conversion and one product, as in the plain loop. */
__attribute__((target("avx2,fma,f16c"))) static void dequantize_avx2(const uint8_t *w, int64_t cols, int64_t row_begin, int64_t row_end, float *out) {
    const int64_t blocks = cols / 32;
    const __m128i low = _mm_set1_epi8(0x0F);
    const __m256i eight = _mm256_set1_epi32(8);
    for (int64_t row = row_begin; row < row_end; row++) {
        const int64_t g = row / group_rows, r = row % group_rows;
        float *dst = out + (row - row_begin) * cols;
        const uint8_t *block = w + g * blocks * group_block_bytes;
        for (int64_t b = 0; b < blocks; b++, block += group_block_bytes, dst += 32) {
            int32_t words[4];
            for (int c = 0; c < 4; c++) memcpy(&words[c], block + 16 + 32 * c + 4 * r, 4);
            const __m128i bytes = _mm_loadu_si128((const __m128i *)words);
            const __m128i lo = _mm_and_si128(bytes, low), hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), low);
            const __m256 d = _mm256_set1_ps(vl_load_f16(block + 2 * r));
            const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
            for (int k = 0; k < 4; k++) {
                const __m256i n = _mm256_sub_epi32(_mm256_cvtepu8_epi32(parts[k]), eight);
                _mm256_storeu_ps(dst + 8 * k, _mm256_mul_ps(_mm256_cvtepi32_ps(n), d));
            }
        }
    }
}
#endif

void vl_q4_0x8_dequantize(const uint8_t *w, int64_t cols, int64_t row_begin, int64_t row_end, float *out) {
#if VL_X86
    if (vl_quant_cpu_has_avx2()) { dequantize_avx2(w, cols, row_begin, row_end, out); return; }
#endif
    vl_q4_0x8_dequantize_ref(w, cols, row_begin, row_end, out);
}

void vl_gemv_q4_0x8_q8_avx2(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
#if VL_X86
    if (vl_quant_cpu_has_avx2()) { q4_0x8_avx2(w, x, y, cols, row_begin, row_end); return; }
#endif
    vl_gemv_q4_0x8_q8_ref(w, x, y, cols, row_begin, row_end);
}

void vl_gemv_q4_0x8_q8_avx512(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
#if VL_X86
    q4_0x8_avx512(w, x, y, cols, row_begin, row_end);
#else
    vl_gemv_q4_0x8_q8_ref(w, x, y, cols, row_begin, row_end);
#endif
}

void vl_gemv_q4_0x8_q8(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    if (vl_cpu_has_avx512_vnni()) vl_gemv_q4_0x8_q8_avx512(w, x, y, cols, row_begin, row_end);
    else vl_gemv_q4_0x8_q8_avx2(w, x, y, cols, row_begin, row_end);
}

void vl_gemm_q4_0x8_q8(const uint8_t *w, const vl_q8_activations *x, int64_t tokens, float *y, int64_t ldy, int64_t cols, int64_t row_begin,
                       int64_t row_end) {
#if VL_X86
    if (vl_cpu_has_avx512_vnni()) { gemm_q4_0x8_avx512(w, x, tokens, y, ldy, cols, row_begin, row_end); return; }
#endif
    vl_gemm_q4_0x8_q8_ref(w, x, tokens, y, ldy, cols, row_begin, row_end);
}

void vl_gemm_q8_0x8u_q8(const uint8_t *w, const vl_q8_activations *x, int64_t tokens, float *y, int64_t ldy, int64_t cols, int64_t row_begin,
                        int64_t row_end) {
#if VL_X86
    if (vl_cpu_has_avx512_vnni()) { gemm_q8_0x8u_avx512(w, x, tokens, y, ldy, cols, row_begin, row_end); return; }
#endif
    vl_gemm_q8_0x8u_q8_ref(w, x, tokens, y, ldy, cols, row_begin, row_end);
}
