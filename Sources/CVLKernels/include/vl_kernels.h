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

#endif
