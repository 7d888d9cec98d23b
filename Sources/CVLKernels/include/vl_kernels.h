#ifndef VL_KERNELS_H
#define VL_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/// Incremental SHA-256 (FIPS 180-4).
typedef struct {
    uint32_t state[8];
    uint64_t length;      // bytes hashed so far
    uint8_t buffer[64];
    size_t buffered;
} vl_sha256_ctx;

void vl_sha256_init(vl_sha256_ctx *ctx);
void vl_sha256_update(vl_sha256_ctx *ctx, const void *data, size_t count);
void vl_sha256_final(vl_sha256_ctx *ctx, uint8_t digest[32]);
/// 1 when the SHA CPU extensions are used, 0 for the plain C compression function.
int vl_sha256_uses_extensions(void);
/// The plain C compression function, so tests can hold the accelerated one equal to it.
void vl_sha256_compress_ref_for_testing(uint32_t state[8], const uint8_t *block);

/* ---- GGUF block quantization (quant_basic.c, quant_k.c) ----
 * All functions work on whole blocks: `x` holds nblocks * block-elements floats, `y` holds
 * nblocks * block-bytes bytes (Q8_0 32/34, Q4_0 32/18, Q4_1 32/20, Q4_K 256/144, Q6_K 256/210).
 * `simd` != 0 allows the AVX2 path when the CPU has it (checked once at run time); 0 forces the
 * portable scalar C path. Both give bit-identical bytes. No FMA is ever used: fusing a*b+c changes
 * rounding and breaks bit-exactness with ggml / the gguf package. */
int vl_quant_cpu_has_avx2(void);

void vl_quantize_q8_0(const float *x, uint8_t *y, size_t nblocks, int simd);
void vl_quantize_q4_0(const float *x, uint8_t *y, size_t nblocks, int simd);
void vl_quantize_q4_1(const float *x, uint8_t *y, size_t nblocks, int simd);
void vl_quantize_q4_k(const float *x, uint8_t *y, size_t nblocks, int simd);
void vl_quantize_q6_k(const float *x, uint8_t *y, size_t nblocks, int simd);

void vl_dequantize_q8_0(const uint8_t *y, float *x, size_t nblocks);
void vl_dequantize_q4_0(const uint8_t *y, float *x, size_t nblocks);
void vl_dequantize_q4_1(const uint8_t *y, float *x, size_t nblocks);
void vl_dequantize_q4_k(const uint8_t *y, float *x, size_t nblocks);
void vl_dequantize_q6_k(const uint8_t *y, float *x, size_t nblocks);

/* Exact widening of little-endian f16 / bf16 values to f32 (F16C when `simd` and available). */
void vl_f16_to_f32(const uint16_t *src, float *dst, size_t n, int simd);
void vl_bf16_to_f32(const uint16_t *src, float *dst, size_t n);

/// Starts writing [offset, offset+count) of fd back to disk without waiting (Linux sync_file_range).
int vl_start_writeback(int fd, int64_t offset, int64_t count);
/// Waits until [offset, offset+count) of fd is on disk. Returns 0 or -1 with errno set.
int vl_wait_writeback(int fd, int64_t offset, int64_t count);

/// An unnamed file in `folder` (open(2) with O_TMPFILE | O_WRONLY | O_CLOEXEC), or -1 with errno
/// (EOPNOTSUPP where O_TMPFILE does not exist).
int vl_open_tmpfile(const char *folder, unsigned mode);

/// Remembers a temporary file to unlink if the process gets SIGINT/SIGTERM/SIGHUP (32 at most).
/// Returns its slot for `vl_cleanup_unregister`, or -1 when none is free. Thread-safe.
int vl_cleanup_register(const char *path);
/// Forgets the file in `slot` (from `vl_cleanup_register`; -1 is ignored). Call once per slot.
void vl_cleanup_unregister(int slot);
/// Installs the handlers that unlink registered files and then re-raise the signal.
void vl_cleanup_install_signal_handlers(void);
/// Unlinks every registered file (async-signal-safe; for fatal-signal handlers).
void vl_cleanup_remove_registered(void);

/* ---- SIGBUS from a mapped file that shrank (mapguard.c) ---- */
/// Installs the SIGBUS handler once (also done by the calls below).
void vl_mapguard_install(void);
/// Remembers [base, base+length) as a mapping of `path` (256 at most; -1 when full: such a mapping
/// is then unguarded and a fault in it crashes as before).
int vl_mapguard_register(const void *base, size_t length, const char *path);
void vl_mapguard_unregister(const void *base);
/// memcpy that returns -1 (errno EFAULT) instead of dying when `src` lies in a registered mapping
/// whose file was truncated under it. A fault in a registered mapping outside this call prints one
/// error line naming the file, removes registered temporaries and exits 1.
int vl_guarded_copy(void *dst, const void *src, size_t count);
/* ---- f32 inference kernels (nn_ops.c); row-major, in place where the output is x ---- */
/// x = 0.5·x·(1 + erf(x/√2)) (exact-erf GELU, torch's nn.GELU()).
void vl_gelu_erf_f32(float *x, size_t n);
/// The same with libm's erff (the slower, scalar form the fast one is tested against).
void vl_gelu_erf_libm_f32(float *x, size_t n);
/// y = e^x with the vectorizable exp the softmax uses.
void vl_exp_f32(const float *x, float *y, size_t n);
/// Each row of `cols` values: exp(x − max) / Σ (softmax over the last dimension).
void vl_softmax_rows_f32(float *x, size_t rows, size_t cols);
/// y = (x − mean) / √(var + eps) · weight + bias per row (biased variance, double accumulators); y may be x.
void vl_layer_norm_f32(const float *x, float *y, size_t rows, size_t dim, const float *weight, const float *bias, float eps);
/// dst += src.
void vl_add_f32(float *dst, const float *src, size_t n);
/// dst[r, :] += row for every row r.
void vl_add_rows_f32(float *dst, const float *row, size_t rows, size_t cols);

/* ---- matrix-vector products for one-token decoding (gemv.c, gemv_blocks.c) ----
 * y[r] = Σ_c W[r, c]·x[c] for r in [row_begin, row_end) over weights read straight from the mapping. */
/// F16 / BF16 weights (rows × cols halves), any cols, f32 products. vl_gemv_f16 picks the widest of
/// the per-ISA F16 kernels, which tests hold equal to `_ref`: AVX2 (plain C without it) and AVX-512
/// (only where vl_cpu_has_avx512()).
void vl_gemv_f16(const uint16_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end);
void vl_gemv_f16_ref(const uint16_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end);
void vl_gemv_f16_avx2(const uint16_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end);
void vl_gemv_f16_avx512(const uint16_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end);
/// AVX-512 F/BW/VL/DQ with AVX2, FMA and F16C.
int vl_cpu_has_avx512(void);
void vl_gemv_bf16(const uint16_t *w, const float *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end);

/// Activations quantized to 8-bit blocks (as ggml's Q8_0/Q8_K for its vec_dot kernels): block b of B
/// values holds q[Bb..<Bb+B] = round(x / d[b]) with d[b] = max|x| / 127; sums[h] is the sum of the
/// 16 values q[16h..<16h+16]. B is 32 for Q8_0/Q4_0/Q4_1 weights, 256 for Q4_K/Q6_K.
typedef struct vl_q8_activations {
    const int8_t *q;
    const float *d;
    const int16_t *sums;
} vl_q8_activations;
/// n a multiple of block (32 or 256); q holds n, d n/block, sums n/16 values.
void vl_quantize_q8_activations(const float *x, int64_t n, int64_t block, int8_t *q, float *d, int16_t *sums);

/// Block weights (cols a multiple of the block: 32, or 256 for Q4_K/Q6_K) times quantized activations:
/// integer dot products per block, AVX2 when the CPU has it (AVX-512 VNNI for Q8_0 and Q4_K); each
/// `_ref` is the same math in plain C.
#define VL_GEMV_Q8(name)                                                                                          \
    void vl_gemv_##name##_q8(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, \
                             int64_t row_end);                                                                    \
    void vl_gemv_##name##_q8_ref(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, \
                                 int64_t row_end);
VL_GEMV_Q8(q8_0)
VL_GEMV_Q8(q4_0)
VL_GEMV_Q8(q4_1)
VL_GEMV_Q8(q4_k)
VL_GEMV_Q8(q6_k)
#undef VL_GEMV_Q8
/// Q8_0 and Q4_K per instruction set, for tests that hold each equal to `_ref` (the plain entry points
/// above pick the widest): AVX2 (plain C without it), AVX-512 VNNI (only where vl_cpu_has_avx512_vnni()).
int vl_cpu_has_avx512_vnni(void);
void vl_gemv_q8_0_q8_avx2(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end);
void vl_gemv_q8_0_q8_avx512(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end);
void vl_gemv_q4_k_q8_avx2(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end);
void vl_gemv_q4_k_q8_avx512(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end);

/// Q4_0 regrouped eight rows at a time (gemv_q4_0x8.c has the layout): the same bytes as Q4_0, moved so
/// that one kernel step covers a block of eight rows. Rows come in groups of 8; `cols` a multiple of 32.
/// Repack writes groups [group_begin, group_end) of `src` (Q4_0 rows) into `dst` (the whole matrix's layout).
void vl_q4_0x8_repack(const uint8_t *src, uint8_t *dst, int64_t cols, int64_t group_begin, int64_t group_end);
/// Rows [row_begin, row_end) as f32 into out (the first of them at out[0]); bit-equal to Q4_0's dequantizer.
void vl_q4_0x8_dequantize(const uint8_t *w, int64_t cols, int64_t row_begin, int64_t row_end, float *out);
void vl_q4_0x8_dequantize_ref(const uint8_t *w, int64_t cols, int64_t row_begin, int64_t row_end, float *out);
/// Like the Q4_0 kernels (activations in 32-value blocks); row_begin and row_end multiples of 8.
void vl_gemv_q4_0x8_q8(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end);
void vl_gemv_q4_0x8_q8_ref(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end);
/// Per instruction set, as for Q8_0 and Q4_K above: AVX2 (plain C without it), AVX-512 VNNI (only where
/// vl_cpu_has_avx512_vnni()).
void vl_gemv_q4_0x8_q8_avx2(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end);
void vl_gemv_q4_0x8_q8_avx512(const uint8_t *w, const vl_q8_activations *x, float *y, int64_t cols, int64_t row_begin, int64_t row_end);
/// Prefill: for each token t < tokens, y[t·ldy + r] = the one-token product of x[t] (an array of `tokens`
/// activations, 32-value blocks) for rows [row_begin, row_end), multiples of 8. Integer products with
/// AVX-512 VNNI (vl_cpu_has_avx512_vnni()); elsewhere the `_ref` loop, which is slow: callers without
/// VNNI widen tiles to f32 and use sgemm instead.
void vl_gemm_q4_0x8_q8(const uint8_t *w, const vl_q8_activations *x, int64_t tokens, float *y, int64_t ldy, int64_t cols, int64_t row_begin,
                       int64_t row_end);
void vl_gemm_q4_0x8_q8_ref(const uint8_t *w, const vl_q8_activations *x, int64_t tokens, float *y, int64_t ldy, int64_t cols,
                           int64_t row_begin, int64_t row_end);
/// Q8_0 rows regrouped for prefill (Q8_0x8u, gemv_q4_0x8.c has the layout): groups [group_begin,
/// group_end) of eight rows of `src` (Q8_0) into `dst`; 272 bytes per group and block column. The GEMM
/// is the Q4_0x8 one's over these bytes (rows multiples of 8; VNNI, else the slow `_ref`).
void vl_q8_0x8u_repack(const uint8_t *src, uint8_t *dst, int64_t cols, int64_t group_begin, int64_t group_end);
/// Bytes of `rows` (a multiple of 8) × `cols` Q8_0 values regrouped as Q8_0x8u.
int64_t vl_q8_0x8u_bytes(int64_t rows, int64_t cols);
void vl_gemm_q8_0x8u_q8(const uint8_t *w, const vl_q8_activations *x, int64_t tokens, float *y, int64_t ldy, int64_t cols, int64_t row_begin,
                        int64_t row_end);
void vl_gemm_q8_0x8u_q8_ref(const uint8_t *w, const vl_q8_activations *x, int64_t tokens, float *y, int64_t ldy, int64_t cols,
                            int64_t row_begin, int64_t row_end);

/* ---- spinning ---- */
/// One iteration of a spin-wait: the CPU's pause hint (x86), so a spinning thread yields its core's
/// shared resources and leaves the loop without a memory-order mis-speculation.
static inline void vl_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#endif
