/* Frame source: FFmpeg decoding with OpenCV 4.6 VideoCapture's conversion, and
 * OpenFace SequenceCapture's rules for folders and timestamps. See video.h. */
#include "video.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "cpu.h"
#include "dsp.h"
#include "imgproc.h"
#include "imread.h"

/* A receive_frame error that repeats this many times without progress means
 * the decoder is stuck, not that one frame is bad. */
#define AU_VIDEO_MAX_CONSECUTIVE_ERRORS 1000

struct AuVideo {
    AuVideoKind kind;
    char *path;
    AuVideoOptions opts;

    /* FFmpeg state of the file being decoded (the video, or the current image). */
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int stream_index;
    AVPacket *pkt;
    AVFrame *frame;
    int draining;

    /* Conversion to BGR24: one context, one 32-byte-aligned target buffer of the
     * decoder's coded size, as OpenCV's retrieveFrame keeps them. */
    struct SwsContext *sws;
    AVFrame *bgr;
    int sws_w, sws_h, sws_fmt;
    /* 1 when the table's yuv420_to_bgr_gray_u8 gave swscale's bytes on the
     * probe frame for this context (video_fused_probe), -1 when it did not
     * or does not apply, 0 not yet probed */
    int fused;

    /* The gray conversion runs through the bit-exact table (au_dsp_init):
     * every variant gets OpenCV's bytes, the SIMD ones sooner. */
    AuDsp dsp;

    int rotation; /* clockwise degrees applied to frames: 0, 90, 180, 270 */
    int width, height;
    double fps;         /* OpenFace's fps: CAP_PROP_FPS, 30 if unknown; 0 for images */
    int64_t nb_frames;  /* container's frame count (0 unknown) */
    int64_t frame_count;
    int image_is_jpeg; /* AU_VIDEO_IMAGE decoded with libjpeg as cv::imread */
    int64_t frames_read;
    int64_t decode_errors;
    char last_error[AU_ERROR_MSG_MAX];

    /* Folders. */
    char **files;
    size_t n_files, next_file;
};

void au_video_options_default(AuVideoOptions *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->decoder_threads = 1;
}

static const char *av_err_text(int code, char *buf, size_t n)
{
    if (av_strerror(code, buf, n) < 0)
        snprintf(buf, n, "FFmpeg error %d", code);
    return buf;
}

static void note_decode_error(AuVideo *v, const char *file, const char *what, int code)
{
    char eb[128];
    v->decode_errors++;
    snprintf(v->last_error, sizeof(v->last_error), "%s: %s: %s", file, what, av_err_text(code, eb, sizeof(eb)));
}

static void media_close(AuVideo *v)
{
    avcodec_free_context(&v->dec);
    avformat_close_input(&v->fmt);
    v->stream_index = -1;
    v->draining = 0;
}

/* OpenCV's rotation_angle: round(display matrix angle), in [0, 360). */
static int stream_rotation(const AVStream *st)
{
    const uint8_t *m = NULL;
#if LIBAVFORMAT_VERSION_INT < AV_VERSION_INT(60, 15, 100) /* before FFmpeg 6.1 */
    m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
#else
    const AVPacketSideData *sd = av_packet_side_data_get(st->codecpar->coded_side_data,
                                                         st->codecpar->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX);
    if (sd)
        m = sd->data;
#endif
    if (!m)
        return 0;
    double a = av_display_rotation_get((const int32_t *)m);
    if (isnan(a))
        return 0;
    /* OpenCV 4.6 takes the angle as av_display_rotation_get returns it (later
     * versions negate it); checked with cv2 on a MOV written with a display
     * matrix: CAP_PROP_ORIENTATION_META 90 and a clockwise turn. */
    long r = lrint(a); /* cvRound: round half to even */
    if (r < 0)
        r += 360;
    /* OpenCV's applyMetadataRotation rotates only by these. */
    return (r == 90 || r == 180 || r == 270) ? (int)r : 0;
}

/* OpenCV's r2d: 0 for a zero numerator or denominator. */
static double av_q2d_or_zero(AVRational r) { return (r.num == 0 || r.den == 0) ? 0.0 : (double)r.num / (double)r.den; }

static int is_still_image_format(const AVInputFormat *f)
{
    size_t n = strlen(f->name);
    return strcmp(f->name, "image2") == 0 || (n > 5 && strcmp(f->name + n - 5, "_pipe") == 0);
}

/* Opens file and its first video stream's decoder. */
static AuStatus media_open(AuVideo *v, const char *file, AuError *err)
{
    char eb[128];
    struct stat st;
    if (stat(file, &st) != 0)
        return au_error_set(err, AU_ERR_IO, "%s: cannot open: %s", file, strerror(errno));
    if (S_ISREG(st.st_mode) && st.st_size == 0)
        return au_error_set(err, AU_ERR_FORMAT, "%s: empty file (0 bytes), not a video or image", file);

    AVDictionary *dict = NULL;
    /* A file name is a file name: no image2 "%d" pattern expansion. */
    av_dict_set(&dict, "pattern_type", "none", 0);
    /* Local files only: a "video" that is really a playlist (HLS, DASH,
     * concat) must not make FFmpeg open network URLs. */
    av_dict_set(&dict, "protocol_whitelist", "file", 0);
    int ret = avformat_open_input(&v->fmt, file, NULL, &dict);
    av_dict_free(&dict);
    if (ret < 0)
        return au_error_set(err, ret == AVERROR(ENOENT) ? AU_ERR_IO : AU_ERR_FORMAT,
                            "%s: not a readable video or image: %s", file, av_err_text(ret, eb, sizeof(eb)));
    ret = avformat_find_stream_info(v->fmt, NULL);
    if (ret < 0)
        return au_error_set(err, AU_ERR_FORMAT, "%s: cannot read stream parameters: %s", file,
                            av_err_text(ret, eb, sizeof(eb)));

    /* OpenCV takes the first video stream; cover art (attached pictures) is
     * passed over unless it is all there is. */
    int idx = -1;
    for (unsigned i = 0; i < v->fmt->nb_streams; i++) {
        const AVStream *s = v->fmt->streams[i];
        if (s->codecpar->codec_type != AVMEDIA_TYPE_VIDEO)
            continue;
        if (idx < 0)
            idx = (int)i;
        if (!(s->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
            idx = (int)i;
            break;
        }
    }
    if (idx < 0)
        return au_error_set(err, AU_ERR_UNSUPPORTED, "%s: no video stream", file);
    AVStream *vs = v->fmt->streams[idx];
    const AVCodec *codec = avcodec_find_decoder(vs->codecpar->codec_id);
    if (!codec)
        return au_error_set(err, AU_ERR_UNSUPPORTED, "%s: no decoder for codec '%s'", file,
                            avcodec_get_name(vs->codecpar->codec_id));
    v->dec = avcodec_alloc_context3(codec);
    if (!v->dec)
        return au_error_set(err, AU_ERR_NOMEM, "%s: cannot allocate decoder", file);
    ret = avcodec_parameters_to_context(v->dec, vs->codecpar);
    if (ret < 0)
        return au_error_set(err, AU_ERR_FORMAT, "%s: bad codec parameters: %s", file, av_err_text(ret, eb, sizeof(eb)));
    v->dec->thread_count = v->opts.decoder_threads;
    ret = avcodec_open2(v->dec, codec, NULL);
    if (ret < 0)
        return au_error_set(err, AU_ERR_UNSUPPORTED, "%s: cannot open decoder '%s': %s", file, codec->name,
                            av_err_text(ret, eb, sizeof(eb)));
    v->stream_index = idx;
    v->draining = 0;
    return AU_OK;
}

/* Next decoded picture of the open file into v->frame. AU_ERR_EOF at the end;
 * undecodable packets and frames are counted and skipped. */
static AuStatus media_decode(AuVideo *v, const char *file, AuError *err)
{
    int consecutive = 0;
    for (;;) {
        int ret = avcodec_receive_frame(v->dec, v->frame);
        if (ret >= 0)
            return AU_OK;
        if (ret == AVERROR_EOF)
            return au_error_set(err, AU_ERR_EOF, "%s: end of stream", file);
        if (ret != AVERROR(EAGAIN)) {
            note_decode_error(v, file, "frame decode failed", ret);
            if (++consecutive >= AU_VIDEO_MAX_CONSECUTIVE_ERRORS)
                return au_error_set(err, AU_ERR_DECODE, "%s: decoder keeps failing: %s", file, v->last_error);
            continue;
        }
        if (v->draining) /* cannot happen with a conforming decoder: EOF follows a flush */
            return au_error_set(err, AU_ERR_EOF, "%s: end of stream", file);
        ret = av_read_frame(v->fmt, v->pkt);
        if (ret == AVERROR(EAGAIN))
            continue;
        if (ret < 0) {
            /* A read error other than EOF ends the input, as in ffmpeg(1); the
             * frames already in the decoder are still delivered. */
            if (ret != AVERROR_EOF)
                note_decode_error(v, file, "read failed", ret);
            v->draining = 1;
            avcodec_send_packet(v->dec, NULL);
            continue;
        }
        if (v->pkt->stream_index != v->stream_index) {
            av_packet_unref(v->pkt);
            continue;
        }
        ret = avcodec_send_packet(v->dec, v->pkt);
        av_packet_unref(v->pkt);
        if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
            note_decode_error(v, file, "packet decode failed", ret);
    }
}

/* Copies the w x h top-left part of the BGR24 buffer into out, rotated. */
static void copy_rotated(const uint8_t *src, int linesize, int w, int h, int rotation, AuImageU8 *out)
{
    if (rotation == 0) {
        for (int y = 0; y < h; y++)
            memcpy(au_image_u8_row(out, y), src + (size_t)y * (size_t)linesize, (size_t)w * 3);
        return;
    }
    for (int i = 0; i < out->height; i++) {
        uint8_t *d = au_image_u8_row(out, i);
        for (int j = 0; j < out->width; j++) {
            int sy, sx;
            if (rotation == 90) { /* cv::ROTATE_90_CLOCKWISE */
                sy = h - 1 - j;
                sx = i;
            } else if (rotation == 270) { /* cv::ROTATE_90_COUNTERCLOCKWISE */
                sy = j;
                sx = w - 1 - i;
            } else { /* cv::ROTATE_180 */
                sy = h - 1 - i;
                sx = w - 1 - j;
            }
            const uint8_t *s = src + (size_t)sy * (size_t)linesize + (size_t)sx * 3;
            d[3 * j] = s[0];
            d[3 * j + 1] = s[1];
            d[3 * j + 2] = s[2];
        }
    }
}

static AuStatus frame_images(AuFrame *out, int w, int h, AuError *err)
{
    if (out->bgr.data && (out->bgr.width != w || out->bgr.height != h || out->bgr.channels != 3))
        au_image_u8_free(&out->bgr);
    if (out->gray.data && (out->gray.width != w || out->gray.height != h || out->gray.channels != 1))
        au_image_u8_free(&out->gray);
    AuStatus s;
    if (!out->bgr.data && (s = au_image_u8_alloc(&out->bgr, w, h, 3, err)) != AU_OK)
        return s;
    if (!out->gray.data && (s = au_image_u8_alloc(&out->gray, w, h, 1, err)) != AU_OK)
        return s;
    return AU_OK;
}

/* out->bgr as a w x h BGR image with this row stride in a 64-byte aligned
 * buffer with 64 bytes of slack (as FFmpeg's frame buffers), kept when it
 * already is one. Freed with free() like the others. */
static AuStatus bgr_like_buffer(AuFrame *out, int w, int h, size_t stride, AuError *err)
{
    AuImageU8 *b = &out->bgr;
    if (b->data && b->width == w && b->height == h && b->channels == 3 && b->stride == stride &&
        ((uintptr_t)b->data & 63) == 0)
        return AU_OK;
    au_image_u8_free(b);
    if (w <= 0 || h <= 0 || stride < (size_t)w * 3 || stride > SIZE_MAX / (size_t)h - 64)
        return au_error_set(err, AU_ERR_ARG, "invalid BGR image %dx%d with stride %zu", w, h, stride);
    void *p = NULL;
    if (posix_memalign(&p, 64, stride * (size_t)h + 64))
        return au_error_set(err, AU_ERR_NOMEM, "cannot allocate image %dx%dx3", w, h);
    b->data = p;
    b->width = w;
    b->height = h;
    b->channels = 3;
    b->stride = stride;
    return AU_OK;
}

/* 16-bit still images (PNG): cv::imread keeps the high byte of each sample
 * (libpng's png_set_strip_16) where swscale would round. Returns 1 when the
 * frame was such an image and has been converted. */
static int convert_image16(const AVFrame *f, AuFrame *out)
{
    int nc, le, gray;
    switch (f->format) {
    case AV_PIX_FMT_RGB48BE: nc = 3, le = 0, gray = 0; break;
    case AV_PIX_FMT_RGB48LE: nc = 3, le = 1, gray = 0; break;
    case AV_PIX_FMT_RGBA64BE: nc = 4, le = 0, gray = 0; break;
    case AV_PIX_FMT_RGBA64LE: nc = 4, le = 1, gray = 0; break;
    case AV_PIX_FMT_GRAY16BE: nc = 1, le = 0, gray = 1; break;
    case AV_PIX_FMT_GRAY16LE: nc = 1, le = 1, gray = 1; break;
    case AV_PIX_FMT_YA16BE: nc = 2, le = 0, gray = 1; break;
    case AV_PIX_FMT_YA16LE: nc = 2, le = 1, gray = 1; break;
    default: return 0;
    }
    int hi = le ? 1 : 0; /* byte offset of the high byte within a sample */
    for (int y = 0; y < f->height; y++) {
        const uint8_t *s = f->data[0] + (size_t)y * (size_t)f->linesize[0];
        uint8_t *d = au_image_u8_row(&out->bgr, y);
        for (int x = 0; x < f->width; x++, s += 2 * nc, d += 3) {
            if (gray) {
                d[0] = d[1] = d[2] = s[hi];
            } else {
                d[0] = s[4 + hi];
                d[1] = s[2 + hi];
                d[2] = s[hi];
            }
        }
    }
    return 1;
}

/* out->gray from out->bgr: cv::cvtColor(BGR2GRAY), row by row through the table. */
static void gray_from_bgr(const AuVideo *v, AuFrame *out)
{
    for (int y = 0; y < out->bgr.height; y++)
        v->dsp.bgr_to_gray_u8(au_image_u8_row(&out->gray, y), au_image_u8_row(&out->bgr, y), out->bgr.width);
}

/* Whether the fused row converter may replace sws_scale + gray for this
 * context: YUV420P at an even height (the unscaled SSSE3 path swscale takes
 * there; FFmpeg uses another for odd heights), and the converter's bytes
 * equal swscale's on a synthetic frame of the context's size that holds
 * every luma value and, where the frame has room (320x256 chroma samples),
 * every (U, V) pair. Any other swscale build, CPU path or colour setting
 * that computes differently shows up here and keeps swscale. */
static int video_fused_probe(AuVideo *v, int w, int h, int linesize)
{
    if (v->sws_fmt != AV_PIX_FMT_YUV420P || (h & 1) || w < 2)
        return -1;
    const int cw = (w + 1) / 2, ch = h / 2;
    uint8_t *yp = malloc((size_t)w * (size_t)h), *up = malloc((size_t)cw * (size_t)ch);
    uint8_t *vp = malloc((size_t)cw * (size_t)ch), *ref = malloc((size_t)linesize * (size_t)h + 64);
    uint8_t *row = malloc((size_t)w * 3), *gray = malloc((size_t)w);
    int ok = yp && up && vp && ref && row && gray;
    if (ok) {
        for (int yy = 0; yy < h; yy++)
            for (int x = 0; x < w; x++)
                yp[(size_t)yy * (size_t)w + (size_t)x] = (uint8_t)(x * 7 + yy * 13 + (x >> 8));
        for (size_t i = 0; i < (size_t)cw * (size_t)ch; i++) {
            up[i] = (uint8_t)i;
            vp[i] = (uint8_t)((i >> 8) + (i >> 16) * 131);
        }
        const uint8_t *src[4] = {yp, up, vp, NULL};
        const int src_ls[4] = {w, cw, cw, 0};
        uint8_t *dst[4] = {ref, NULL, NULL, NULL};
        const int dst_ls[4] = {linesize, 0, 0, 0};
        ok = sws_scale(v->sws, src, src_ls, 0, h, dst, dst_ls) > 0;
        for (int yy = 0; ok && yy < h; yy++) {
            const size_t c = (size_t)(yy >> 1) * (size_t)cw;
            v->dsp.yuv420_to_bgr_gray_u8(row, gray, yp + (size_t)yy * (size_t)w, up + c, vp + c, w);
            ok = !memcmp(row, ref + (size_t)yy * (size_t)linesize, (size_t)w * 3);
        }
    }
    free(yp);
    free(up);
    free(vp);
    free(ref);
    free(row);
    free(gray);
    return ok ? 1 : -1;
}

/* v->frame -> out->bgr (OpenCV's sws_scale call) and out->gray. */
static AuStatus convert_frame(AuVideo *v, const char *file, int rotation, AuFrame *out, AuError *err)
{
    const AVFrame *f = v->frame;
    int w = f->width, h = f->height;
    if (w <= 0 || h <= 0)
        return au_error_set(err, AU_ERR_DECODE, "%s: decoded frame has size %dx%d", file, w, h);
    if (v->kind != AU_VIDEO_FILE && rotation == 0) {
        AuStatus s = frame_images(out, w, h, err);
        if (s != AU_OK)
            return s;
        if (convert_image16(f, out)) {
            gray_from_bgr(v, out);
            return AU_OK;
        }
    }
    /* OpenCV converts at the decoder's coded size (it can exceed the picture,
     * e.g. 1088 rows for 1080p H.264) and crops; the coded size decides
     * swscale's code path, so it is kept. */
    int cw = v->dec->coded_width > w ? v->dec->coded_width : w;
    int ch = v->dec->coded_height > h ? v->dec->coded_height : h;
    if (!v->sws || v->sws_w != cw || v->sws_h != ch || v->sws_fmt != f->format) {
        v->sws = sws_getCachedContext(v->sws, cw, ch, (enum AVPixelFormat)f->format, cw, ch, AV_PIX_FMT_BGR24,
                                      SWS_BICUBIC, NULL, NULL, NULL);
        if (!v->sws)
            return au_error_set(err, AU_ERR_UNSUPPORTED, "%s: cannot convert pixel format '%s' (%dx%d) to BGR", file,
                                av_get_pix_fmt_name((enum AVPixelFormat)f->format), cw, ch);
        v->sws_w = cw;
        v->sws_h = ch;
        v->sws_fmt = f->format;
        v->fused = 0;
    }
    if (v->bgr->width != cw || v->bgr->height != ch || !v->bgr->data[0]) {
        av_frame_unref(v->bgr);
        v->bgr->format = AV_PIX_FMT_BGR24;
        v->bgr->width = cw;
        v->bgr->height = ch;
        /* 32-byte alignment as OpenCV: swscale's SIMD row length depends on the linesize. */
        if (av_frame_get_buffer(v->bgr, 32) < 0)
            return au_error_set(err, AU_ERR_NOMEM, "%s: cannot allocate %dx%d BGR buffer", file, cw, ch);
    }
    /* Unrotated and uncropped: swscale writes straight into the frame's BGR
     * image, laid out as its own buffer (same linesize, 64-byte alignment,
     * padding), so its code path and bytes are the same and the copy goes. */
    const int direct = rotation == 0 && cw == w && ch == h;
    if (direct) {
        AuStatus s = bgr_like_buffer(out, w, h, (size_t)v->bgr->linesize[0], err);
        if (s != AU_OK)
            return s;
        if (!v->fused)
            v->fused = v->opts.swscale_only ? -1 : video_fused_probe(v, w, h, v->bgr->linesize[0]);
        if (v->fused > 0) {
            /* swscale's bytes and the gray image in one pass over the frame */
            if ((s = frame_images(out, w, h, err)) != AU_OK)
                return s;
            for (int y = 0; y < h; y++)
                v->dsp.yuv420_to_bgr_gray_u8(au_image_u8_row(&out->bgr, y), au_image_u8_row(&out->gray, y),
                                             f->data[0] + (ptrdiff_t)y * f->linesize[0],
                                             f->data[1] + (ptrdiff_t)(y >> 1) * f->linesize[1],
                                             f->data[2] + (ptrdiff_t)(y >> 1) * f->linesize[2], w);
            return AU_OK;
        }
    }
    uint8_t *dst[4] = {direct ? out->bgr.data : v->bgr->data[0], NULL, NULL, NULL};
    int dst_linesize[4] = {v->bgr->linesize[0], 0, 0, 0};
    int ret = sws_scale(v->sws, (const uint8_t *const *)f->data, f->linesize, 0, h, dst, dst_linesize);
    if (ret <= 0) {
        char eb[128];
        return au_error_set(err, AU_ERR_DECODE, "%s: pixel conversion failed: %s", file, av_err_text(ret, eb, sizeof(eb)));
    }
    if (direct) {
        AuStatus s = frame_images(out, w, h, err); /* the gray image */
        if (s != AU_OK)
            return s;
        gray_from_bgr(v, out);
        return AU_OK;
    }
    int ow = (rotation == 90 || rotation == 270) ? h : w;
    int oh = (rotation == 90 || rotation == 270) ? w : h;
    AuStatus s = frame_images(out, ow, oh, err);
    if (s != AU_OK)
        return s;
    copy_rotated(v->bgr->data[0], v->bgr->linesize[0], w, h, rotation, &out->bgr);
    gray_from_bgr(v, out);
    return AU_OK;
}

/* ---- folders ---------------------------------------------------------------- */

static int has_image_extension(const char *name)
{
    /* OpenFace's SequenceCapture: exact, case-sensitive extensions. */
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    return strcmp(dot, ".jpg") == 0 || strcmp(dot, ".jpeg") == 0 || strcmp(dot, ".png") == 0 ||
           strcmp(dot, ".bmp") == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static AuStatus list_images(AuVideo *v, const char *dir, AuError *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return au_error_set(err, AU_ERR_IO, "%s: cannot read folder: %s", dir, strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    AuStatus s = AU_OK;
    while ((e = readdir(d)) != NULL) {
        if (!has_image_extension(e->d_name))
            continue;
        if (v->n_files == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            char **nf = realloc(v->files, ncap * sizeof(*nf));
            if (!nf) {
                s = au_error_set(err, AU_ERR_NOMEM, "%s: out of memory listing images", dir);
                break;
            }
            v->files = nf;
            cap = ncap;
        }
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(n);
        if (!p) {
            s = au_error_set(err, AU_ERR_NOMEM, "%s: out of memory listing images", dir);
            break;
        }
        snprintf(p, n, "%s/%s", dir, e->d_name);
        v->files[v->n_files++] = p;
    }
    closedir(d);
    if (s != AU_OK)
        return s;
    if (v->n_files == 0)
        return au_error_set(err, AU_ERR_FORMAT, "%s: no .jpg, .jpeg, .png or .bmp images in folder", dir);
    /* std::sort of fs::path in one folder: byte-wise name order. */
    qsort(v->files, v->n_files, sizeof(*v->files), cmp_str);
    return AU_OK;
}

/* JPEG via libjpeg as cv::imread, then the gray image. */
static AuStatus read_jpeg(const char *file, AuFrame *out, AuError *err)
{
    AuStatus s = au_jpeg_read_bgr(file, &out->bgr, err);
    if (s != AU_OK)
        return s;
    if ((s = frame_images(out, out->bgr.width, out->bgr.height, err)) != AU_OK)
        return s;
    au_bgr_to_gray_u8(&out->bgr, &out->gray);
    return AU_OK;
}

/* Decodes the single picture of an image file into out: JPEG as cv::imread
 * does (libjpeg), other formats with FFmpeg. */
static AuStatus decode_image(AuVideo *v, const char *file, AuFrame *out, AuError *err)
{
    if (au_is_jpeg_file(file))
        return read_jpeg(file, out, err);
    AuStatus s = media_open(v, file, err);
    if (s == AU_OK) {
        s = media_decode(v, file, err);
        if (s == AU_ERR_EOF)
            s = v->last_error[0] ? au_error_set(err, AU_ERR_DECODE, "%s (no decodable picture)", v->last_error)
                                 : au_error_set(err, AU_ERR_DECODE, "%s: no decodable picture", file);
        if (s == AU_OK)
            s = convert_frame(v, file, 0, out, err);
    }
    media_close(v);
    return s;
}

/* ---- public ----------------------------------------------------------------- */

AuStatus au_video_open(AuVideo **v, const char *path, AuError *err)
{
    AuVideoOptions o;
    au_video_options_default(&o);
    return au_video_open_ex(v, path, &o, err);
}

AuStatus au_video_open_ex(AuVideo **out, const char *path, const AuVideoOptions *opts, AuError *err)
{
    *out = NULL;
    if (!path || !*path)
        return au_error_set(err, AU_ERR_ARG, "video path is empty");
    AuVideo *v = calloc(1, sizeof(*v));
    if (!v)
        return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory", path);
    v->stream_index = -1;
    v->opts = *opts;
    /* A bad AU_CPU_MASK is reported by the tracker; here it means C. */
    unsigned cpu = 0;
    if (au_cpu_flags(&cpu, NULL) != AU_OK)
        cpu = 0;
    au_dsp_init(&v->dsp, cpu);
    if (v->opts.decoder_threads < 0)
        v->opts.decoder_threads = 1;
    AuStatus s = AU_OK;
    v->path = strdup(path);
    v->pkt = av_packet_alloc();
    v->frame = av_frame_alloc();
    v->bgr = av_frame_alloc();
    if (!v->path || !v->pkt || !v->frame || !v->bgr) {
        s = au_error_set(err, AU_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }

    struct stat st;
    if (stat(path, &st) != 0) {
        s = au_error_set(err, AU_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        v->kind = AU_VIDEO_SEQUENCE;
        if ((s = list_images(v, path, err)) != AU_OK)
            goto fail;
        /* OpenFace takes the sequence's size from its first image. */
        if (au_is_jpeg_file(v->files[0])) {
            if ((s = au_jpeg_size(v->files[0], &v->width, &v->height, err)) != AU_OK)
                goto fail;
        } else {
            if ((s = media_open(v, v->files[0], err)) != AU_OK)
                goto fail;
            const AVCodecParameters *par = v->fmt->streams[v->stream_index]->codecpar;
            v->width = par->width;
            v->height = par->height;
            media_close(v);
        }
        v->fps = 0;
        v->frame_count = (int64_t)v->n_files;
        *out = v;
        return AU_OK;
    }

    if (au_is_jpeg_file(path)) {
        v->kind = AU_VIDEO_IMAGE;
        v->image_is_jpeg = 1;
        if ((s = au_jpeg_size(path, &v->width, &v->height, err)) != AU_OK)
            goto fail;
        v->fps = 0;
        v->frame_count = 1;
        *out = v;
        return AU_OK;
    }
    if ((s = media_open(v, path, err)) != AU_OK)
        goto fail;
    AVStream *vs = v->fmt->streams[v->stream_index];
    if (is_still_image_format(v->fmt->iformat)) {
        v->kind = AU_VIDEO_IMAGE;
        v->width = vs->codecpar->width;
        v->height = vs->codecpar->height;
        v->fps = 0;
        v->frame_count = 1;
        *out = v;
        return AU_OK;
    }

    v->kind = AU_VIDEO_FILE;
    v->rotation = stream_rotation(vs);
    int w = vs->codecpar->width, h = vs->codecpar->height;
    v->width = (v->rotation % 180) ? h : w;
    v->height = (v->rotation % 180) ? w : h;
    /* CAP_PROP_FPS in OpenCV 4.6: the stream's avg_frame_rate, else 1 / time
     * base (cv2 gives 12.5 for 5 frames at 10 fps in a MOV, where
     * av_guess_frame_rate would say 10). OpenFace assumes 30 when it is unusable. */
    double fps_cv = av_q2d_or_zero(vs->avg_frame_rate);
    if (fps_cv < 0.000025) {
        double tb = av_q2d_or_zero(vs->time_base);
        fps_cv = tb > 0 ? 1.0 / tb : 0.0;
    }
    v->fps = (fps_cv != fps_cv || fps_cv <= 0 || isinf(fps_cv)) ? 30.0 : fps_cv;
    /* CAP_PROP_FRAME_COUNT: nb_frames, else round(duration * fps). */
    v->nb_frames = vs->nb_frames > 0 ? vs->nb_frames : 0;
    if (v->nb_frames > 0) {
        v->frame_count = v->nb_frames;
    } else {
        double sec = v->fmt->duration == AV_NOPTS_VALUE ? 0.0 : (double)v->fmt->duration / (double)AV_TIME_BASE;
        if (sec < 0.000025 && vs->duration != AV_NOPTS_VALUE)
            sec = (double)vs->duration * av_q2d_or_zero(vs->time_base);
        double n = floor(sec * fps_cv + 0.5);
        v->frame_count = (n > 0 && n < 9e18) ? (int64_t)n : 0;
    }
    *out = v;
    return AU_OK;

fail:
    au_video_close(v);
    return s;
}

AuStatus au_video_read(AuVideo *v, AuFrame *frame, AuError *err)
{
    if (!v || !frame)
        return au_error_set(err, AU_ERR_ARG, "au_video_read: NULL argument");
    AuStatus s;
    switch (v->kind) {
    case AU_VIDEO_FILE:
        /* OpenCV's grabFrame stops once more frames than the container's count
         * were read; kept so that frame counts match OpenFace. */
        if (v->nb_frames > 0 && v->frames_read > v->nb_frames)
            return au_error_set(err, AU_ERR_EOF, "%s: end of stream", v->path);
        s = media_decode(v, v->path, err);
        /* A file that ends before its first frame (cut after the container
         * header, or nothing decodable) is an error, not an empty video: say so
         * rather than "end of stream". */
        if (s == AU_ERR_EOF && v->frames_read == 0)
            return v->last_error[0]
                       ? au_error_set(err, AU_ERR_FORMAT, "%s: no video frame could be decoded (last error: %s)",
                                      v->path, v->last_error)
                       : au_error_set(err, AU_ERR_FORMAT,
                                      "%s: no video frame in the file (it ends after the container header)", v->path);
        if (s != AU_OK)
            return s;
        s = convert_frame(v, v->path, v->rotation, frame, err);
        if (s != AU_OK)
            return s;
        frame->frame_number = v->frames_read;
        /* OpenFace: timestamp = frame_num * (1.0 / fps), in this order. */
        frame->timestamp = (double)v->frames_read * (1.0 / v->fps);
        v->frames_read++;
        return AU_OK;
    case AU_VIDEO_IMAGE:
        if (v->frames_read > 0 || (!v->fmt && !v->image_is_jpeg))
            return au_error_set(err, AU_ERR_EOF, "%s: end of stream", v->path);
        if (v->image_is_jpeg) {
            if ((s = read_jpeg(v->path, frame, err)) != AU_OK)
                return s;
            frame->frame_number = 0;
            frame->timestamp = 0;
            v->frames_read = 1;
            return AU_OK;
        }
        s = media_decode(v, v->path, err);
        if (s == AU_ERR_EOF)
            s = v->last_error[0] ? au_error_set(err, AU_ERR_DECODE, "%s (no decodable picture)", v->last_error)
                                 : au_error_set(err, AU_ERR_DECODE, "%s: no decodable picture", v->path);
        if (s == AU_OK)
            s = convert_frame(v, v->path, 0, frame, err);
        media_close(v);
        if (s != AU_OK)
            return s;
        frame->frame_number = 0;
        frame->timestamp = 0;
        v->frames_read = 1;
        return AU_OK;
    case AU_VIDEO_SEQUENCE:
        while (v->next_file < v->n_files) {
            const char *file = v->files[v->next_file++];
            AuError e2 = {0};
            int64_t errors_before = v->decode_errors;
            s = decode_image(v, file, frame, &e2);
            if (s == AU_OK) {
                frame->frame_number = v->frames_read++;
                frame->timestamp = 0; /* OpenFace gives image sequences no time */
                return AU_OK;
            }
            if (s == AU_ERR_NOMEM) {
                if (err)
                    *err = e2;
                return s;
            }
            v->decode_errors = errors_before + 1; /* one bad image, however many bad packets */
            snprintf(v->last_error, sizeof(v->last_error), "%s", e2.msg);
        }
        return au_error_set(err, AU_ERR_EOF, "%s: end of image sequence", v->path);
    }
    return au_error_set(err, AU_ERR_ARG, "%s: bad reader kind", v->path);
}

void au_video_close(AuVideo *v)
{
    if (!v)
        return;
    media_close(v);
    sws_freeContext(v->sws);
    av_frame_free(&v->bgr);
    av_frame_free(&v->frame);
    av_packet_free(&v->pkt);
    for (size_t i = 0; i < v->n_files; i++)
        free(v->files[i]);
    free(v->files);
    free(v->path);
    free(v);
}

void au_frame_free(AuFrame *frame)
{
    if (!frame)
        return;
    au_image_u8_free(&frame->bgr);
    au_image_u8_free(&frame->gray);
    memset(frame, 0, sizeof(*frame));
}

AuVideoKind au_video_kind(const AuVideo *v) { return v->kind; }
const char *au_video_path(const AuVideo *v) { return v->path; }
int au_video_width(const AuVideo *v) { return v->width; }
int au_video_height(const AuVideo *v) { return v->height; }
double au_video_fps(const AuVideo *v) { return v->fps; }
int64_t au_video_frame_count(const AuVideo *v) { return v->frame_count; }
int64_t au_video_frames_read(const AuVideo *v) { return v->frames_read; }
int64_t au_video_decode_errors(const AuVideo *v) { return v->decode_errors; }
int au_video_converts_fused(const AuVideo *v) { return v->fused > 0; }
const char *au_video_last_decode_error(const AuVideo *v) { return v->last_error; }
