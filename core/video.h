/* Frame source for the pipeline: a video file (any container and codec FFmpeg
 * reads), a single still image, or a folder of images, delivered one frame at a
 * time as 8-bit BGR plus 8-bit gray, with a 0-based frame number and a
 * timestamp in seconds.
 *
 * Fidelity: OpenFace reads video through OpenCV 4.6's VideoCapture (FFmpeg
 * backend) and makes the gray frame with cv::cvtColor(BGR2GRAY). This reader
 * reproduces that conversion exactly: sws_scale to BGR24 with SWS_BICUBIC on a
 * context of the decoder's coded size into a 32-byte-aligned buffer, the same
 * display-matrix rotation, OpenCV's frame-rate and frame-count queries, and
 * OpenFace's timestamp rule (frame_number * (1 / fps), fps 30 when unknown).
 * Folders follow OpenFace's SequenceCapture: the files ending in .jpg, .jpeg,
 * .png or .bmp (case as written), sorted by name, timestamp 0, fps 0. Images
 * are read as cv::imread(IMREAD_COLOR) reads them: JPEG files with libjpeg
 * (imread.h), other formats with FFmpeg (exact for 8-bit BMP and PNG).
 *
 * Streaming: memory does not grow with the video's length; buffers are reused.
 * A frame that fails to decode is skipped and counted (au_video_decode_errors),
 * it does not end the stream (OpenCV's grabFrame would stop there; the frames
 * it delivers are the same). A folder skips and counts unreadable images
 * (OpenFace would stop). A read error other than end of file ends a video
 * after the frames already decoded, counted. FFmpeg's log level is
 * process-global and is left to the program. No global state: one AuVideo per
 * thread. */
#ifndef AU_VIDEO_H
#define AU_VIDEO_H

#include <stdint.h>

#include "error.h"
#include "image.h"

typedef struct AuVideo AuVideo;

typedef enum AuVideoKind {
    AU_VIDEO_FILE = 0,     /* a video stream */
    AU_VIDEO_IMAGE = 1,    /* one still image (one frame) */
    AU_VIDEO_SEQUENCE = 2, /* a folder of images */
} AuVideoKind;

/* One decoded frame. Zero-initialise before the first au_video_read; the
 * images are reused by later reads of the same size and freed by au_frame_free. */
typedef struct AuFrame {
    AuImageU8 bgr;        /* 3 channels, B G R */
    AuImageU8 gray;       /* 1 channel, cv::cvtColor(BGR2GRAY) of bgr */
    int64_t frame_number; /* 0-based index of the delivered frame */
    double timestamp;     /* seconds: frame_number * (1 / fps); 0 for images */
} AuFrame;

typedef struct AuVideoOptions {
    int decoder_threads; /* FFmpeg decoder threads; 0 = FFmpeg's automatic choice. Default 1. */
    /* 1: always convert with sws_scale and then to gray, as OpenCV; 0 (the
     * default): where it gives the same bytes (checked once per video), one
     * fused pass instead (AuDsp.yuv420_to_bgr_gray_u8). For tests. */
    int swscale_only;
} AuVideoOptions;

/* Fills opts with the defaults. */
void au_video_options_default(AuVideoOptions *opts);

/* Opens path: a video file, an image file or a folder of images. On failure
 * *v is NULL and err names path. */
AuStatus au_video_open(AuVideo **v, const char *path, AuError *err);
AuStatus au_video_open_ex(AuVideo **v, const char *path, const AuVideoOptions *opts, AuError *err);

/* Decodes the next frame into frame. Returns AU_ERR_EOF (with err->msg set)
 * after the last frame; AU_ERR_DECODE when a single image cannot be decoded;
 * other errors (out of memory, unconvertible pixel format) name the file. */
AuStatus au_video_read(AuVideo *v, AuFrame *frame, AuError *err);

/* Accepts NULL. */
void au_video_close(AuVideo *v);
void au_frame_free(AuFrame *frame);

AuVideoKind au_video_kind(const AuVideo *v);
const char *au_video_path(const AuVideo *v);
/* Frame size after rotation (of the first image for folders). */
int au_video_width(const AuVideo *v);
int au_video_height(const AuVideo *v);
/* Frames per second as OpenFace uses it: OpenCV 4.6's CAP_PROP_FPS (the
 * stream's average frame rate), or 30 when the container gives none; 0 for
 * images and folders. */
double au_video_fps(const AuVideo *v);
/* Frame count estimate: OpenCV's CAP_PROP_FRAME_COUNT for video (the stream's
 * frame count, else duration * fps rounded), the number of images otherwise. */
int64_t au_video_frame_count(const AuVideo *v);
/* Frames delivered so far. */
int64_t au_video_frames_read(const AuVideo *v);
/* Packets, frames or images that failed to decode and were skipped. */
int64_t au_video_decode_errors(const AuVideo *v);
/* 1 once the frames are converted in the fused pass (AuVideoOptions.swscale_only
 * off and its check against swscale passed), else 0. */
int au_video_converts_fused(const AuVideo *v);
/* Message of the most recent skipped decode error ("" if none). */
const char *au_video_last_decode_error(const AuVideo *v);

#endif
