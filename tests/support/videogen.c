/* Test video writer (see videogen.h). */
#include "videogen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "video.h"

struct AutestVideoWriter {
    AVFormatContext *oc;
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *frame;
    AVPacket *pkt;
    struct SwsContext *sws;
    int sws_w, sws_h; /* source size the scaler was made for */
    int64_t next_pts;
    int header_written;
    char path[1024];
};

static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *averr(int e, char *b, size_t n)
{
    av_strerror(e, b, n);
    return b;
}

static void writer_free(AutestVideoWriter *w)
{
    if (!w)
        return;
    sws_freeContext(w->sws);
    av_packet_free(&w->pkt);
    av_frame_free(&w->frame);
    avcodec_free_context(&w->enc);
    if (w->oc) {
        if (w->oc->pb)
            avio_closep(&w->oc->pb);
        avformat_free_context(w->oc);
    }
    free(w);
}

int autest_video_writer_open(AutestVideoWriter **out, const char *path, int width, int height, int fps, int qscale,
                             char *errbuf, size_t errlen)
{
    char eb[128];
    *out = NULL;
    if (width <= 0 || height <= 0 || (width & 1) || (height & 1) || fps <= 0)
        return fail(errbuf, errlen, "%s: bad video size %dx%d or rate %d (sizes must be even)", path, width, height,
                    fps);
    AutestVideoWriter *w = calloc(1, sizeof(*w));
    if (!w)
        return fail(errbuf, errlen, "%s: out of memory", path);
    snprintf(w->path, sizeof(w->path), "%s", path);
    int ret = avformat_alloc_output_context2(&w->oc, NULL, NULL, path);
    if (ret < 0 || !w->oc) {
        writer_free(w);
        return fail(errbuf, errlen, "%s: no container for this name: %s", path, averr(ret, eb, sizeof(eb)));
    }
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    if (!codec) {
        writer_free(w);
        return fail(errbuf, errlen, "%s: FFmpeg has no MPEG-4 encoder", path);
    }
    w->enc = avcodec_alloc_context3(codec);
    w->frame = av_frame_alloc();
    w->pkt = av_packet_alloc();
    if (!w->enc || !w->frame || !w->pkt) {
        writer_free(w);
        return fail(errbuf, errlen, "%s: out of memory", path);
    }
    w->enc->width = width;
    w->enc->height = height;
    w->enc->pix_fmt = AV_PIX_FMT_YUV420P;
    w->enc->time_base = (AVRational){1, fps};
    w->enc->framerate = (AVRational){fps, 1};
    w->enc->gop_size = 30;
    w->enc->max_b_frames = 0;
    w->enc->thread_count = 1;
    w->enc->flags |= AV_CODEC_FLAG_QSCALE;
    w->enc->global_quality = FF_QP2LAMBDA * (qscale < 2 ? 2 : qscale > 31 ? 31 : qscale);
    if (w->oc->oformat->flags & AVFMT_GLOBALHEADER)
        w->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((ret = avcodec_open2(w->enc, codec, NULL)) < 0) {
        writer_free(w);
        return fail(errbuf, errlen, "%s: cannot open the MPEG-4 encoder: %s", path, averr(ret, eb, sizeof(eb)));
    }
    w->st = avformat_new_stream(w->oc, NULL);
    if (!w->st || avcodec_parameters_from_context(w->st->codecpar, w->enc) < 0) {
        writer_free(w);
        return fail(errbuf, errlen, "%s: cannot add a video stream", path);
    }
    w->st->time_base = w->enc->time_base;
    w->frame->format = AV_PIX_FMT_YUV420P;
    w->frame->width = width;
    w->frame->height = height;
    if ((ret = av_frame_get_buffer(w->frame, 0)) < 0) {
        writer_free(w);
        return fail(errbuf, errlen, "%s: cannot allocate a frame: %s", path, averr(ret, eb, sizeof(eb)));
    }
    if ((ret = avio_open(&w->oc->pb, path, AVIO_FLAG_WRITE)) < 0) {
        writer_free(w);
        return fail(errbuf, errlen, "%s: cannot create: %s", path, averr(ret, eb, sizeof(eb)));
    }
    if ((ret = avformat_write_header(w->oc, NULL)) < 0) {
        writer_free(w);
        return fail(errbuf, errlen, "%s: cannot write the header: %s", path, averr(ret, eb, sizeof(eb)));
    }
    w->header_written = 1;
    *out = w;
    return 0;
}

/* Sends frame (NULL = flush) and writes every packet that comes out. */
static int encode(AutestVideoWriter *w, AVFrame *frame, char *errbuf, size_t errlen)
{
    char eb[128];
    int ret = avcodec_send_frame(w->enc, frame);
    if (ret < 0)
        return fail(errbuf, errlen, "%s: encoder refused a frame: %s", w->path, averr(ret, eb, sizeof(eb)));
    for (;;) {
        ret = avcodec_receive_packet(w->enc, w->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return fail(errbuf, errlen, "%s: encoding failed: %s", w->path, averr(ret, eb, sizeof(eb)));
        av_packet_rescale_ts(w->pkt, w->enc->time_base, w->st->time_base);
        w->pkt->stream_index = w->st->index;
        if ((ret = av_interleaved_write_frame(w->oc, w->pkt)) < 0)
            return fail(errbuf, errlen, "%s: write failed: %s", w->path, averr(ret, eb, sizeof(eb)));
    }
}

int autest_video_writer_add(AutestVideoWriter *w, const uint8_t *bgr, int src_w, int src_h, size_t stride,
                            char *errbuf, size_t errlen)
{
    if (!w->sws || w->sws_w != src_w || w->sws_h != src_h) {
        sws_freeContext(w->sws);
        w->sws = sws_getContext(src_w, src_h, AV_PIX_FMT_BGR24, w->enc->width, w->enc->height, AV_PIX_FMT_YUV420P,
                                SWS_BICUBIC, NULL, NULL, NULL);
        if (!w->sws)
            return fail(errbuf, errlen, "%s: cannot scale %dx%d to %dx%d", w->path, src_w, src_h, w->enc->width,
                        w->enc->height);
        w->sws_w = src_w;
        w->sws_h = src_h;
    }
    if (av_frame_make_writable(w->frame) < 0)
        return fail(errbuf, errlen, "%s: out of memory", w->path);
    const uint8_t *src[4] = {bgr, NULL, NULL, NULL};
    const int src_stride[4] = {(int)stride, 0, 0, 0};
    sws_scale(w->sws, src, src_stride, 0, src_h, w->frame->data, w->frame->linesize);
    w->frame->pts = w->next_pts++;
    return encode(w, w->frame, errbuf, errlen);
}

int autest_video_writer_close(AutestVideoWriter *w, char *errbuf, size_t errlen)
{
    if (!w)
        return 0;
    int rc = encode(w, NULL, errbuf, errlen);
    if (rc == 0 && w->header_written) {
        char eb[128];
        int ret = av_write_trailer(w->oc);
        if (ret < 0)
            rc = fail(errbuf, errlen, "%s: cannot write the trailer: %s", w->path, averr(ret, eb, sizeof(eb)));
    }
    writer_free(w);
    return rc;
}

int autest_make_video_from(const char *out_path, const char *src_path, int width, int height, int64_t n_frames,
                           int qscale, char *errbuf, size_t errlen)
{
    AuError err = {0};
    AuVideo *v = NULL;
    if (au_video_open(&v, src_path, &err) != AU_OK)
        return fail(errbuf, errlen, "%s", err.msg);
    if (width <= 0 || height <= 0) {
        width = au_video_width(v) & ~1;
        height = au_video_height(v) & ~1;
    }
    int fps = (int)(au_video_fps(v) + 0.5);
    AutestVideoWriter *w = NULL;
    if (autest_video_writer_open(&w, out_path, width, height, fps > 0 ? fps : 30, qscale, errbuf, errlen) != 0) {
        au_video_close(v);
        return -1;
    }
    AuFrame f = {0};
    int rc = 0;
    for (int64_t i = 0; i < n_frames && rc == 0;) {
        AuStatus s = au_video_read(v, &f, &err);
        if (s == AU_ERR_EOF) {
            if (au_video_frames_read(v) == 0) {
                rc = fail(errbuf, errlen, "%s: no frames", src_path);
                break;
            }
            au_video_close(v); /* loop: start the source again */
            v = NULL;
            if (au_video_open(&v, src_path, &err) != AU_OK)
                rc = fail(errbuf, errlen, "%s", err.msg);
            continue;
        }
        if (s != AU_OK) {
            rc = fail(errbuf, errlen, "%s", err.msg);
            break;
        }
        rc = autest_video_writer_add(w, f.bgr.data, f.bgr.width, f.bgr.height, f.bgr.stride, errbuf, errlen);
        i++;
    }
    au_frame_free(&f);
    au_video_close(v);
    if (rc == 0)
        return autest_video_writer_close(w, errbuf, errlen);
    autest_video_writer_close(w, NULL, 0);
    return rc;
}

int autest_make_synthetic_video(const char *out_path, int width, int height, int n_frames, int fps, char *errbuf,
                                size_t errlen)
{
    AutestVideoWriter *w = NULL;
    if (autest_video_writer_open(&w, out_path, width, height, fps, 4, errbuf, errlen) != 0)
        return -1;
    size_t stride = (size_t)width * 3;
    uint8_t *bgr = malloc(stride * (size_t)height);
    if (!bgr) {
        autest_video_writer_close(w, NULL, 0);
        return fail(errbuf, errlen, "%s: out of memory", out_path);
    }
    int rc = 0;
    for (int i = 0; i < n_frames && rc == 0; i++) {
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) {
                uint8_t *p = bgr + (size_t)y * stride + 3 * (size_t)x;
                int in_square = x >= (2 * i) % width && x < (2 * i) % width + width / 4 && y >= height / 3 &&
                                y < height / 3 + height / 4;
                p[0] = (uint8_t)(in_square ? 240 : (x * 255) / (width > 1 ? width - 1 : 1));
                p[1] = (uint8_t)(in_square ? 30 : (y * 255) / (height > 1 ? height - 1 : 1));
                p[2] = (uint8_t)((x + y + 8 * i) & 255);
            }
        rc = autest_video_writer_add(w, bgr, width, height, stride, errbuf, errlen);
    }
    free(bgr);
    if (rc == 0)
        return autest_video_writer_close(w, errbuf, errlen);
    autest_video_writer_close(w, NULL, 0);
    return rc;
}
