#ifndef VL_JPEG_H
#define VL_JPEG_H
#include <stddef.h>
#include <stdint.h>

/// Decodes a baseline or progressive JPEG held in memory to 8-bit RGB (rows top to bottom, no
/// padding) with libjpeg-turbo's defaults, as Pillow decodes it: integer slow DCT, fancy
/// (triangular) chroma upsampling; grayscale pictures are replicated to R=G=B.
/// On success returns 0 and sets *pixels (free with vl_jpeg_free), *width, *height.
/// On failure returns non-zero and writes libjpeg's message into `error` (NUL-terminated).
/// CMYK/YCCK pictures are refused (return 2). Pictures over `max_pixels` are refused (return 3).
int vl_jpeg_decode_rgb(const uint8_t *data, size_t size, size_t max_pixels,
                       uint8_t **pixels, int *width, int *height, char *error, size_t error_size);
void vl_jpeg_free(uint8_t *pixels);
#endif
