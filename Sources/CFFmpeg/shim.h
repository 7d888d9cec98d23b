#ifndef VLPACK_CFFMPEG_SHIM_H
#define VLPACK_CFFMPEG_SHIM_H
#include <errno.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libavutil/channel_layout.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
#include <libavutil/samplefmt.h>
#include <libavutil/tx.h>
#include <libavutil/mem.h>

/* Swift does not import function-like macros: these restate them. */
static inline int vlff_averror(int e) { return AVERROR(e); }
static inline int vlff_averror_eof(void) { return AVERROR_EOF; }
static inline int vlff_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int vlff_averror_stream_not_found(void) { return AVERROR_STREAM_NOT_FOUND; }
static inline int vlff_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
static inline int64_t vlff_nopts_value(void) { return AV_NOPTS_VALUE; }
#endif
