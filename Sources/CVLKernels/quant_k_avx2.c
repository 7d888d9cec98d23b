// AVX2 versions of the K-quant sub-block searches (fit_scale_min for Q4_K, fit_symmetric for Q6_K
// in quant_k.c), vectorized ACROSS sub-blocks: lane j runs sub-block j's search, performing the same
// IEEE f32 operations in the same order as the scalar code, and every branch becomes a per-lane
// blend. The results are therefore bit-identical to the scalar kernels (KQuantTests hold them equal
// on millions of blocks), while 8 sub-blocks advance per instruction.
//
// Layout: the block is transposed once so that vector i holds element i of 8 sub-blocks.
// FMA contraction is off for the file (a fused a*b+c rounds once, the scalar code twice).
#pragma STDC FP_CONTRACT OFF
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include "quant_k_avx2.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2")))

/// ggml's nearest_int, lane by lane: (bits(v + 1.5·2^23) & 0x7FFFFF) − 0x400000.
AVX2 static inline __m256i nearest_int8(__m256 v) {
    const __m256i bits = _mm256_castps_si256(_mm256_add_ps(v, _mm256_set1_ps(12582912.0f)));
    return _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x00400000));
}

AVX2 static inline __m256i clamp8(__m256i v, int lo, int hi) {
    return _mm256_min_epi32(_mm256_max_epi32(v, _mm256_set1_epi32(lo)), _mm256_set1_epi32(hi));
}

/// Lane-wise `mask ? b : a`.
AVX2 static inline __m256 sel(__m256 a, __m256 b, __m256 mask) { return _mm256_blendv_ps(a, b, mask); }
AVX2 static inline __m256i seli(__m256i a, __m256i b, __m256 mask) {
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), mask));
}

// ------------------------------------------------------------------ Q4_K: 8 sub-blocks of 32

AVX2 void vl_q4k_fit8_avx2(const float *x, uint8_t *L, float *scales, float *mins) {
    enum { N = 32 };
    const float nmax = 15.0f;
    __m256 xv[N], wv[N];
    __m256i Lv[N], aux[N];
    // Transpose: xv[i] lane j = x[32j + i].
    for (int i = 0; i < N; i++)
        xv[i] = _mm256_setr_ps(x[i], x[32 + i], x[64 + i], x[96 + i], x[128 + i], x[160 + i], x[192 + i], x[224 + i]);
    // Weights: sqrt(mean x^2) + |x| (q4_k_block's loop).
    __m256 sum_x2 = _mm256_setzero_ps();
    for (int i = 0; i < N; i++) sum_x2 = _mm256_add_ps(sum_x2, _mm256_mul_ps(xv[i], xv[i]));
    const __m256 av = _mm256_sqrt_ps(_mm256_div_ps(sum_x2, _mm256_set1_ps(32.0f)));
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    for (int i = 0; i < N; i++) wv[i] = _mm256_add_ps(av, _mm256_and_ps(xv[i], absmask));

    __m256 mn = xv[0], mx = xv[0], sum_w = wv[0], sum_x = _mm256_mul_ps(wv[0], xv[0]);
    for (int i = 1; i < N; i++) {
        mn = sel(mn, xv[i], _mm256_cmp_ps(xv[i], mn, _CMP_LT_OQ));
        mx = sel(mx, xv[i], _mm256_cmp_ps(xv[i], mx, _CMP_GT_OQ));
        sum_w = _mm256_add_ps(sum_w, wv[i]);
        sum_x = _mm256_add_ps(sum_x, _mm256_mul_ps(wv[i], xv[i]));
    }
    const __m256 zero = _mm256_setzero_ps();
    mn = sel(mn, zero, _mm256_cmp_ps(mn, zero, _CMP_GT_OQ));
    const __m256 flat = _mm256_cmp_ps(mx, mn, _CMP_EQ_OQ);  // max == min: all levels 0, scale 0

    __m256 iscale = _mm256_div_ps(_mm256_set1_ps(nmax), _mm256_sub_ps(mx, mn));
    __m256 scale = _mm256_div_ps(_mm256_set1_ps(1.0f), iscale);
    __m256 best = zero;
    for (int i = 0; i < N; i++) {
        Lv[i] = clamp8(nearest_int8(_mm256_mul_ps(iscale, _mm256_sub_ps(xv[i], mn))), 0, 15);
        const __m256 diff = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(scale, _mm256_cvtepi32_ps(Lv[i])), mn), xv[i]);
        best = _mm256_add_ps(best, _mm256_mul_ps(wv[i], _mm256_mul_ps(diff, diff)));
    }
    // As in the scalar search, an accepted candidate's min becomes the offset of later candidates.
    __m256 minv = mn;
    for (int step = 0; step <= 20; step++) {
        const float c = -1.0f + 0.1f * (float)step + nmax;
        iscale = _mm256_div_ps(_mm256_set1_ps(c), _mm256_sub_ps(mx, minv));
        __m256 sum_l = zero, sum_l2 = zero, sum_xl = zero;
        for (int i = 0; i < N; i++) {
            aux[i] = clamp8(nearest_int8(_mm256_mul_ps(iscale, _mm256_sub_ps(xv[i], minv))), 0, 15);
            const __m256 l = _mm256_cvtepi32_ps(aux[i]);
            const __m256 wl = _mm256_mul_ps(wv[i], l);
            sum_l = _mm256_add_ps(sum_l, wl);
            sum_l2 = _mm256_add_ps(sum_l2, _mm256_mul_ps(wl, l));
            sum_xl = _mm256_add_ps(sum_xl, _mm256_mul_ps(wl, xv[i]));
        }
        const __m256 det = _mm256_sub_ps(_mm256_mul_ps(sum_w, sum_l2), _mm256_mul_ps(sum_l, sum_l));
        const __m256 ok = _mm256_cmp_ps(det, zero, _CMP_GT_OQ);
        if (_mm256_movemask_ps(ok) == 0) continue;
        __m256 s = _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sum_w, sum_xl), _mm256_mul_ps(sum_x, sum_l)), det);
        __m256 m = _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sum_l2, sum_x), _mm256_mul_ps(sum_l, sum_xl)), det);
        const __m256 mpos = _mm256_cmp_ps(m, zero, _CMP_GT_OQ);
        m = sel(m, zero, mpos);
        s = sel(s, _mm256_div_ps(sum_xl, sum_l2), mpos);
        __m256 err = zero;
        for (int i = 0; i < N; i++) {
            const __m256 diff = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(s, _mm256_cvtepi32_ps(aux[i])), m), xv[i]);
            err = _mm256_add_ps(err, _mm256_mul_ps(wv[i], _mm256_mul_ps(diff, diff)));
        }
        const __m256 take = _mm256_and_ps(ok, _mm256_cmp_ps(err, best, _CMP_LT_OQ));
        if (_mm256_movemask_ps(take) == 0) continue;
        for (int i = 0; i < N; i++) Lv[i] = seli(Lv[i], aux[i], take);
        best = sel(best, err, take);
        scale = sel(scale, s, take);
        minv = sel(minv, m, take);
    }
    // Flat lanes: levels 0, scale 0, and the (clamped) min.
    for (int i = 0; i < N; i++) Lv[i] = seli(Lv[i], _mm256_setzero_si256(), flat);
    scale = sel(scale, zero, flat);
    minv = sel(minv, mn, flat);
    _mm256_storeu_ps(scales, scale);
    _mm256_storeu_ps(mins, _mm256_xor_ps(minv, _mm256_set1_ps(-0.0f)));  // -min: sign flip, as the scalar negation
    int32_t lanes[8];
    for (int i = 0; i < N; i++) {
        _mm256_storeu_si256((__m256i *)lanes, Lv[i]);
        for (int j = 0; j < 8; j++) L[32 * j + i] = (uint8_t)lanes[j];
    }
}

/// Lane mask from 8 bits (bit j set → lane j all ones).
AVX2 static inline __m256 mask_from_bits(int bits) {
    const __m256i lanes = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(bits), lanes), lanes));
}

/// q4k_levels for 8 lanes: where d·sc ≠ 0, L = clamp(round((x + dmin·m) / (d·sc)), 0, 15); else L unchanged.
AVX2 static inline void q4k_levels8(const __m256 *xv, __m256 ds, __m256 dm, __m256i *Lv) {
    const __m256 nonzero = _mm256_cmp_ps(ds, _mm256_setzero_ps(), _CMP_NEQ_UQ);
    for (int i = 0; i < 32; i++)
        Lv[i] = seli(Lv[i], clamp8(nearest_int8(_mm256_div_ps(_mm256_add_ps(xv[i], dm), ds)), 0, 15), nonzero);
}

/// q4k_sub_error for 8 lanes, in double: lanes 0–3 in lo, 4–7 in hi, each summed in element order.
AVX2 static inline void q4k_error8(const __m256 *xv, __m256 ds, __m256 dm, const __m256i *Lv, __m256d *lo, __m256d *hi) {
    __m256d elo = _mm256_setzero_pd(), ehi = _mm256_setzero_pd();
    for (int i = 0; i < 32; i++) {
        const __m256 r = _mm256_sub_ps(_mm256_mul_ps(ds, _mm256_cvtepi32_ps(Lv[i])), dm);
        const __m256d dlo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(r)), _mm256_cvtps_pd(_mm256_castps256_ps128(xv[i])));
        const __m256d dhi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(r, 1)), _mm256_cvtps_pd(_mm256_extractf128_ps(xv[i], 1)));
        elo = _mm256_add_pd(elo, _mm256_mul_pd(dlo, dlo));
        ehi = _mm256_add_pd(ehi, _mm256_mul_pd(dhi, dhi));
    }
    *lo = elo;
    *hi = ehi;
}

AVX2 void vl_q4k_refine8_avx2(const float *x, float d, float dmin, int *ls, int *lm, uint8_t *L) {
    enum { N = 32, R = 1 };
    __m256 xv[N];
    __m256i Lv[N], cand[N];
    for (int i = 0; i < N; i++) {
        xv[i] = _mm256_setr_ps(x[i], x[32 + i], x[64 + i], x[96 + i], x[128 + i], x[160 + i], x[192 + i], x[224 + i]);
        Lv[i] = _mm256_setr_epi32(L[i], L[32 + i], L[64 + i], L[96 + i], L[128 + i], L[160 + i], L[192 + i], L[224 + i]);
    }
    const __m256 dv = _mm256_set1_ps(d), dminv = _mm256_set1_ps(dmin);
    const __m256i s0 = _mm256_loadu_si256((const __m256i *)ls), m0 = _mm256_loadu_si256((const __m256i *)lm);
    __m256i sv = s0, mv = m0;
    q4k_levels8(xv, _mm256_mul_ps(dv, _mm256_cvtepi32_ps(s0)), _mm256_mul_ps(dminv, _mm256_cvtepi32_ps(m0)), Lv);
    __m256d best_lo, best_hi;
    q4k_error8(xv, _mm256_mul_ps(dv, _mm256_cvtepi32_ps(s0)), _mm256_mul_ps(dminv, _mm256_cvtepi32_ps(m0)), Lv, &best_lo, &best_hi);
    for (int dsi = -R; dsi <= R; dsi++) {
        for (int dmi = -R; dmi <= R; dmi++) {
            if (dsi == 0 && dmi == 0) continue;
            const __m256i s = _mm256_add_epi32(s0, _mm256_set1_epi32(dsi)), m = _mm256_add_epi32(m0, _mm256_set1_epi32(dmi));
            // valid: 0 <= s, m <= 63
            const __m256i bad = _mm256_or_si256(
                _mm256_or_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), s), _mm256_cmpgt_epi32(s, _mm256_set1_epi32(63))),
                _mm256_or_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), m), _mm256_cmpgt_epi32(m, _mm256_set1_epi32(63))));
            const int valid = ~_mm256_movemask_ps(_mm256_castsi256_ps(bad)) & 0xFF;
            if (!valid) continue;
            const __m256 ds = _mm256_mul_ps(dv, _mm256_cvtepi32_ps(s)), dm = _mm256_mul_ps(dminv, _mm256_cvtepi32_ps(m));
            for (int i = 0; i < N; i++) cand[i] = _mm256_setzero_si256();
            q4k_levels8(xv, ds, dm, cand);
            __m256d e_lo, e_hi;
            q4k_error8(xv, ds, dm, cand, &e_lo, &e_hi);
            const int better = _mm256_movemask_pd(_mm256_cmp_pd(e_lo, best_lo, _CMP_LT_OQ))
                             | _mm256_movemask_pd(_mm256_cmp_pd(e_hi, best_hi, _CMP_LT_OQ)) << 4;
            const int take_bits = better & valid;
            if (!take_bits) continue;
            const __m256 take = mask_from_bits(take_bits);
            for (int i = 0; i < N; i++) Lv[i] = seli(Lv[i], cand[i], take);
            best_lo = _mm256_blendv_pd(best_lo, e_lo, _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(_mm256_castps_si256(take)))));
            best_hi = _mm256_blendv_pd(best_hi, e_hi, _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(_mm256_castps_si256(take), 1))));
            sv = seli(sv, s, take);
            mv = seli(mv, m, take);
        }
    }
    _mm256_storeu_si256((__m256i *)ls, sv);
    _mm256_storeu_si256((__m256i *)lm, mv);
    int32_t lanes[8];
    for (int i = 0; i < N; i++) {
        _mm256_storeu_si256((__m256i *)lanes, Lv[i]);
        for (int j = 0; j < 8; j++) L[32 * j + i] = (uint8_t)lanes[j];
    }
}

// ------------------------------------------------------------------ Q6_K: 8 sub-blocks of 16

AVX2 void vl_q6k_fit8_avx2(const float *x, uint8_t *L, float *scales) {
    enum { N = 16 };
    const int nmax = 32;
    __m256 xv[N];
    __m256i Lv[N], cur[N];
    for (int i = 0; i < N; i++)
        xv[i] = _mm256_setr_ps(x[i], x[16 + i], x[32 + i], x[48 + i], x[64 + i], x[80 + i], x[96 + i], x[112 + i]);
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 zero = _mm256_setzero_ps();
    __m256 amax = zero, mx = zero;
    for (int i = 0; i < N; i++) {
        const __m256 a = _mm256_and_ps(xv[i], absmask);
        const __m256 gt = _mm256_cmp_ps(a, amax, _CMP_GT_OQ);
        amax = sel(amax, a, gt);
        mx = sel(mx, xv[i], gt);
    }
    const __m256 tiny = _mm256_cmp_ps(amax, _mm256_set1_ps(1e-15f), _CMP_LT_OQ);
    __m256 iscale = _mm256_div_ps(_mm256_set1_ps((float)-nmax), mx);
    __m256 sumlx = zero, suml2 = zero;
    for (int i = 0; i < N; i++) {
        const __m256i l = clamp8(nearest_int8(_mm256_mul_ps(iscale, xv[i])), -nmax, nmax - 1);
        Lv[i] = l;
        const __m256 lf = _mm256_cvtepi32_ps(l), w = _mm256_mul_ps(xv[i], xv[i]);
        sumlx = _mm256_add_ps(sumlx, _mm256_mul_ps(_mm256_mul_ps(w, xv[i]), lf));
        suml2 = _mm256_add_ps(suml2, _mm256_mul_ps(_mm256_mul_ps(w, lf), lf));
    }
    __m256 scale = sel(zero, _mm256_div_ps(sumlx, suml2), _mm256_cmp_ps(suml2, zero, _CMP_NEQ_UQ));
    __m256 best = _mm256_mul_ps(scale, sumlx);
    for (int step = -9; step <= 9; step++) {
        if (step == 0) continue;
        const float c = -((float)nmax + 0.1f * (float)step);
        iscale = _mm256_div_ps(_mm256_set1_ps(c), mx);
        __m256 lx = zero, l2 = zero;
        for (int i = 0; i < N; i++) {
            cur[i] = clamp8(nearest_int8(_mm256_mul_ps(iscale, xv[i])), -nmax, nmax - 1);
            const __m256 lf = _mm256_cvtepi32_ps(cur[i]), w = _mm256_mul_ps(xv[i], xv[i]);
            lx = _mm256_add_ps(lx, _mm256_mul_ps(_mm256_mul_ps(w, xv[i]), lf));
            l2 = _mm256_add_ps(l2, _mm256_mul_ps(_mm256_mul_ps(w, lf), lf));
        }
        const __m256 take = _mm256_and_ps(_mm256_cmp_ps(l2, zero, _CMP_GT_OQ),
                                          _mm256_cmp_ps(_mm256_mul_ps(lx, lx), _mm256_mul_ps(best, l2), _CMP_GT_OQ));
        if (_mm256_movemask_ps(take) == 0) continue;
        for (int i = 0; i < N; i++) Lv[i] = seli(Lv[i], cur[i], take);
        const __m256 s = _mm256_div_ps(lx, l2);
        scale = sel(scale, s, take);
        best = sel(best, _mm256_mul_ps(s, lx), take);
    }
    // Tiny lanes: levels −32 (stored 0) and scale 0.
    for (int i = 0; i < N; i++) Lv[i] = seli(Lv[i], _mm256_set1_epi32(-nmax), tiny);
    scale = sel(scale, zero, tiny);
    _mm256_storeu_ps(scales, scale);
    int32_t lanes[8];
    for (int i = 0; i < N; i++) {
        _mm256_storeu_si256((__m256i *)lanes, Lv[i]);
        for (int j = 0; j < 8; j++) L[16 * j + i] = (uint8_t)(lanes[j] + nmax);
    }
}

/// The refinement of q6_k_block for 8 consecutive sub-blocks (128 values): levels for sc[j], then
/// sc[j] ± 1, ± 2 (within int8), keeping strictly better ones (updates sc[8] and L[128], offset by 32).
AVX2 void vl_q6k_refine8_avx2(const float *x, float d, int *sc, uint8_t *L) {
    enum { N = 16, R = 2 };
    __m256 xv[N];
    __m256i Lv[N], cand[N];
    for (int i = 0; i < N; i++) {
        xv[i] = _mm256_setr_ps(x[i], x[16 + i], x[32 + i], x[48 + i], x[64 + i], x[80 + i], x[96 + i], x[112 + i]);
        Lv[i] = _mm256_setr_epi32(L[i], L[16 + i], L[32 + i], L[48 + i], L[64 + i], L[80 + i], L[96 + i], L[112 + i]);
    }
    const __m256 dv = _mm256_set1_ps(d);
    const __m256i s0 = _mm256_loadu_si256((const __m256i *)sc), k32 = _mm256_set1_epi32(32);
    __m256i sv = s0;
    // levels: where d·sc ≠ 0, L = clamp(round(x / (d·sc)), −32, 31) + 32; error in double per lane.
#define Q6_LEVELS(DS, LV)                                                                                   \
    do {                                                                                                    \
        const __m256 nz = _mm256_cmp_ps(DS, _mm256_setzero_ps(), _CMP_NEQ_UQ);                             \
        for (int i = 0; i < N; i++)                                                                         \
            LV[i] = seli(LV[i], _mm256_add_epi32(clamp8(nearest_int8(_mm256_div_ps(xv[i], DS)), -32, 31), k32), nz); \
    } while (0)
#define Q6_ERROR(DS, LV, LO, HI)                                                                            \
    do {                                                                                                    \
        __m256d elo = _mm256_setzero_pd(), ehi = _mm256_setzero_pd();                                       \
        for (int i = 0; i < N; i++) {                                                                       \
            const __m256 r = _mm256_mul_ps(DS, _mm256_cvtepi32_ps(_mm256_sub_epi32(LV[i], k32)));           \
            const __m256d dlo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(r)), _mm256_cvtps_pd(_mm256_castps256_ps128(xv[i]))); \
            const __m256d dhi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(r, 1)), _mm256_cvtps_pd(_mm256_extractf128_ps(xv[i], 1))); \
            elo = _mm256_add_pd(elo, _mm256_mul_pd(dlo, dlo));                                              \
            ehi = _mm256_add_pd(ehi, _mm256_mul_pd(dhi, dhi));                                              \
        }                                                                                                   \
        LO = elo;                                                                                           \
        HI = ehi;                                                                                           \
    } while (0)
    const __m256 ds0 = _mm256_mul_ps(dv, _mm256_cvtepi32_ps(s0));
    Q6_LEVELS(ds0, Lv);
    __m256d best_lo, best_hi;
    Q6_ERROR(ds0, Lv, best_lo, best_hi);
    for (int off = -R; off <= R; off++) {
        if (off == 0) continue;
        const __m256i c = _mm256_add_epi32(s0, _mm256_set1_epi32(off));
        const __m256i bad = _mm256_or_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(-128), c), _mm256_cmpgt_epi32(c, _mm256_set1_epi32(127)));
        const int valid = ~_mm256_movemask_ps(_mm256_castsi256_ps(bad)) & 0xFF;
        if (!valid) continue;
        const __m256 ds = _mm256_mul_ps(dv, _mm256_cvtepi32_ps(c));
        for (int i = 0; i < N; i++) cand[i] = k32;
        Q6_LEVELS(ds, cand);
        __m256d e_lo, e_hi;
        Q6_ERROR(ds, cand, e_lo, e_hi);
        const int take_bits = (_mm256_movemask_pd(_mm256_cmp_pd(e_lo, best_lo, _CMP_LT_OQ))
                               | _mm256_movemask_pd(_mm256_cmp_pd(e_hi, best_hi, _CMP_LT_OQ)) << 4) & valid;
        if (!take_bits) continue;
        const __m256 take = mask_from_bits(take_bits);
        for (int i = 0; i < N; i++) Lv[i] = seli(Lv[i], cand[i], take);
        best_lo = _mm256_blendv_pd(best_lo, e_lo, _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(_mm256_castps_si256(take)))));
        best_hi = _mm256_blendv_pd(best_hi, e_hi, _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(_mm256_castps_si256(take), 1))));
        sv = seli(sv, c, take);
    }
#undef Q6_LEVELS
#undef Q6_ERROR
    _mm256_storeu_si256((__m256i *)sc, sv);
    int32_t lanes[8];
    for (int i = 0; i < N; i++) {
        _mm256_storeu_si256((__m256i *)lanes, Lv[i]);
        for (int j = 0; j < 8; j++) L[16 * j + i] = (uint8_t)lanes[j];
    }
}

#endif
