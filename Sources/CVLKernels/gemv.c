// Matrix-vector products over float weights for one-token LLM decoding: y[r] = Σ_c W[r, c]·x[c] for rows
// [row_begin, row_end), W stored F16 or BF16 and widened in registers (nothing is converted into memory),
// the products and sums in f32. The F16 kernel has AVX-512 and AVX2/F16C/FMA versions and the plain
// `_ref` beside them; they differ only in summation order.
#include <stdint.h>
#include <string.h>
#include "multiversion.h"
#include "quant_common.h"
#include "vl_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VL_X86 1
#endif

int vl_quant_cpu_has_avx2(void);

void vl_gemv_f16_ref(const uint16_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint16_t *row = w + r * cols;
        float acc[8] = {0};
        int64_t c = 0;
        for (; c + 8 <= cols; c += 8)
            for (int k = 0; k < 8; k++) acc[k] += vl_f16_to_f32_scalar(row[c + k]) * x[c + k];
        for (; c < cols; c++) acc[0] += vl_f16_to_f32_scalar(row[c]) * x[c];
        float sum = 0;
        for (int k = 0; k < 8; k++) sum += acc[k];
        y[r] = sum;
    }
}

#if VL_X86
#define VL_F16X8(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))

/* Four rows per pass share each load of x: x is f32, twice the bytes of an F16 row, and past ~8 K
 * columns it no longer fits L1, so one row at a time read it from L2 once per row (measured: 10 → 12.5
 * GB/s on 4096 × 11008 with one thread). */
__attribute__((target("avx2,fma,f16c"))) static void f16_avx2(const uint16_t *w, const float *x, float *y, int64_t cols, int64_t r0,
                                                              int64_t r1) {
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        const uint16_t *p0 = w + r * cols, *p1 = p0 + cols, *p2 = p1 + cols, *p3 = p2 + cols;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int64_t c = 0;
        // 32 values: one 64-byte line of each row per pass, so one prefetch per row.
        for (; c + 32 <= cols; c += 32) {
            _mm_prefetch((const char *)(p0 + c) + VL_PREFETCH_DISTANCE, _MM_HINT_T0);
            _mm_prefetch((const char *)(p1 + c) + VL_PREFETCH_DISTANCE, _MM_HINT_T0);
            _mm_prefetch((const char *)(p2 + c) + VL_PREFETCH_DISTANCE, _MM_HINT_T0);
            _mm_prefetch((const char *)(p3 + c) + VL_PREFETCH_DISTANCE, _MM_HINT_T0);
            for (int k = 0; k < 32; k += 8) {
                const __m256 xk = _mm256_loadu_ps(x + c + k);
                a0 = _mm256_fmadd_ps(VL_F16X8(p0 + c + k), xk, a0);
                a1 = _mm256_fmadd_ps(VL_F16X8(p1 + c + k), xk, a1);
                a2 = _mm256_fmadd_ps(VL_F16X8(p2 + c + k), xk, a2);
                a3 = _mm256_fmadd_ps(VL_F16X8(p3 + c + k), xk, a3);
            }
        }
        for (; c + 8 <= cols; c += 8) {
            const __m256 x0 = _mm256_loadu_ps(x + c);
            a0 = _mm256_fmadd_ps(VL_F16X8(p0 + c), x0, a0);
            a1 = _mm256_fmadd_ps(VL_F16X8(p1 + c), x0, a1);
            a2 = _mm256_fmadd_ps(VL_F16X8(p2 + c), x0, a2);
            a3 = _mm256_fmadd_ps(VL_F16X8(p3 + c), x0, a3);
        }
        float s0 = vl_hsum_ps256(a0), s1 = vl_hsum_ps256(a1), s2 = vl_hsum_ps256(a2), s3 = vl_hsum_ps256(a3);
        for (; c < cols; c++) {
            s0 += _cvtsh_ss(p0[c]) * x[c];
            s1 += _cvtsh_ss(p1[c]) * x[c];
            s2 += _cvtsh_ss(p2[c]) * x[c];
            s3 += _cvtsh_ss(p3[c]) * x[c];
        }
        y[r] = s0, y[r + 1] = s1, y[r + 2] = s2, y[r + 3] = s3;
    }
    for (; r < r1; r++) {
        const uint16_t *row = w + r * cols;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int64_t c = 0;
        for (; c + 32 <= cols; c += 32) {
            _mm_prefetch((const char *)(row + c) + VL_PREFETCH_DISTANCE, _MM_HINT_T0);
            a0 = _mm256_fmadd_ps(VL_F16X8(row + c), _mm256_loadu_ps(x + c), a0);
            a1 = _mm256_fmadd_ps(VL_F16X8(row + c + 8), _mm256_loadu_ps(x + c + 8), a1);
            a2 = _mm256_fmadd_ps(VL_F16X8(row + c + 16), _mm256_loadu_ps(x + c + 16), a2);
            a3 = _mm256_fmadd_ps(VL_F16X8(row + c + 24), _mm256_loadu_ps(x + c + 24), a3);
        }
        for (; c + 8 <= cols; c += 8) a0 = _mm256_fmadd_ps(VL_F16X8(row + c), _mm256_loadu_ps(x + c), a0);
        float sum = vl_hsum_ps256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (; c < cols; c++) sum += _cvtsh_ss(row[c]) * x[c];
        y[r] = sum;
    }
}

/* No software prefetch, and x loaded once per step for as many rows as it takes to keep x cheap: one
 * row per pass (a single sequential stream, four accumulators) while x (cols f32) fits in half of L1,
 * eight rows per pass beyond that, so each load of x serves eight rows while it streams from L2. On the
 * AVX-512 machine (2 threads, 900 MB of F16 rows) one row per pass measured 28-29 GB/s at 2048 columns
 * and 25-26 at 5632, eight rows 24-29 and 30-31: the larger x is, the more the shared loads pay; the
 * AVX2 kernel above gave 20-26 and prefetching cost this kernel bandwidth. The column tail is masked. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c"))) static void f16_avx512(const uint16_t *w, const float *x, float *y,
                                                                                               int64_t cols, int64_t r0, int64_t r1) {
    const int64_t full = cols & ~(int64_t)15;
    const __mmask16 tail = (__mmask16)((1u << (cols - full)) - 1);
    int64_t r = r0;
    if (cols > 4096)
        for (; r + 8 <= r1; r += 8) {
            const uint16_t *row = w + r * cols;
            __m512 acc[8];
            for (int i = 0; i < 8; i++) acc[i] = _mm512_setzero_ps();
            for (int64_t c = 0; c < full; c += 16) {
                const __m512 xc = _mm512_loadu_ps(x + c);
                for (int i = 0; i < 8; i++)
                    acc[i] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + i * cols + c))), xc, acc[i]);
            }
            if (tail) {
                const __m512 xc = _mm512_maskz_loadu_ps(tail, x + full);
                for (int i = 0; i < 8; i++)
                    acc[i] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail, row + i * cols + full)), xc, acc[i]);
            }
            for (int i = 0; i < 8; i++) y[r + i] = _mm512_reduce_add_ps(acc[i]);
        }
    for (; r < r1; r++) {
        const uint16_t *row = w + r * cols;
        __m512 acc[4];
        for (int i = 0; i < 4; i++) acc[i] = _mm512_setzero_ps();
        int64_t c = 0;
        for (; c + 64 <= full; c += 64)
            for (int i = 0; i < 4; i++)
                acc[i] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + c + 16 * i))), _mm512_loadu_ps(x + c + 16 * i), acc[i]);
        for (; c < full; c += 16)
            acc[0] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + c))), _mm512_loadu_ps(x + c), acc[0]);
        if (tail)
            acc[1] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail, row + full)), _mm512_maskz_loadu_ps(tail, x + full), acc[1]);
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
    }
}
#endif

void vl_gemv_f16_avx2(const uint16_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
#if VL_X86
    if (vl_quant_cpu_has_avx2()) { f16_avx2(w, x, y, cols, row_begin, row_end); return; }
#endif
    vl_gemv_f16_ref(w, x, y, cols, row_begin, row_end);
}

void vl_gemv_f16_avx512(const uint16_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
#if VL_X86
    f16_avx512(w, x, y, cols, row_begin, row_end);
#else
    vl_gemv_f16_ref(w, x, y, cols, row_begin, row_end);
#endif
}

void vl_gemv_f16(const uint16_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    if (vl_cpu_has_avx512()) vl_gemv_f16_avx512(w, x, y, cols, row_begin, row_end);
    else vl_gemv_f16_avx2(w, x, y, cols, row_begin, row_end);
}

/* BF16 is the top half of an f32, so widening is a shift; the compiler vectorizes this loop. */
VL_MULTIVERSION
void vl_gemv_bf16(const uint16_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end) {
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint16_t *row = w + r * cols;
        float acc[16] = {0};
        int64_t c = 0;
        for (; c + 16 <= cols; c += 16)
            for (int k = 0; k < 16; k++) {
                const uint32_t bits = (uint32_t)row[c + k] << 16;
                float v;
                memcpy(&v, &bits, 4);
                acc[k] += v * x[c + k];
            }
        for (; c < cols; c++) {
            const uint32_t bits = (uint32_t)row[c] << 16;
            float v;
            memcpy(&v, &bits, 4);
            acc[0] += v * x[c];
        }
        float sum = 0;
        for (int k = 0; k < 16; k++) sum += acc[k];
        y[r] = sum;
    }
}
