// JPEG decoding through libjpeg(-turbo). libjpeg reports fatal errors by calling error_exit, which
// must not return; this file turns that into a longjmp back to vl_jpeg_decode_rgb, so Swift never
// sees setjmp/longjmp.
#include "vl_jpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

struct vl_error_mgr {
    struct jpeg_error_mgr base;
    jmp_buf escape;
};

static void vl_error_exit(j_common_ptr cinfo) {
    struct vl_error_mgr *err = (struct vl_error_mgr *)cinfo->err;
    longjmp(err->escape, 1);
}

static void vl_silent(j_common_ptr cinfo, int level) { (void)cinfo; (void)level; }

int vl_jpeg_decode_rgb(const uint8_t *data, size_t size, size_t max_pixels,
                       uint8_t **pixels, int *width, int *height, char *error, size_t error_size) {
    struct jpeg_decompress_struct cinfo;
    struct vl_error_mgr jerr;
    uint8_t *volatile out = NULL;
    volatile int result = 1;

    *pixels = NULL;
    if (error_size) error[0] = 0;
    cinfo.err = jpeg_std_error(&jerr.base);
    jerr.base.error_exit = vl_error_exit;
    jerr.base.emit_message = vl_silent;
    if (setjmp(jerr.escape)) {
        if (error_size) {
            char message[JMSG_LENGTH_MAX];
            (*cinfo.err->format_message)((j_common_ptr)&cinfo, message);
            snprintf(error, error_size, "%s", message);
        }
        jpeg_destroy_decompress(&cinfo);
        free(out);
        return result;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        if (error_size) snprintf(error, error_size, "CMYK/YCCK JPEG");
        jpeg_destroy_decompress(&cinfo);
        return 2;
    }
    int gray = cinfo.jpeg_color_space == JCS_GRAYSCALE;
    cinfo.out_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&cinfo);
    size_t w = cinfo.output_width, h = cinfo.output_height;
    if (w == 0 || h == 0 || w > max_pixels / h) {
        if (error_size) snprintf(error, error_size, "%zux%zu picture exceeds the limit", w, h);
        jpeg_destroy_decompress(&cinfo);
        return 3;
    }
    out = malloc(w * h * 3);
    if (!out) {
        if (error_size) snprintf(error, error_size, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        return 4;
    }
    while (cinfo.output_scanline < h) {
        uint8_t *row = out + (size_t)cinfo.output_scanline * w * 3;
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        if (gray) {  // expand in place, right to left
            for (size_t x = w; x-- > 0;) row[3 * x] = row[3 * x + 1] = row[3 * x + 2] = row[x];
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    *pixels = out;
    *width = (int)w;
    *height = (int)h;
    return 0;
}

void vl_jpeg_free(uint8_t *pixels) { free(pixels); }
