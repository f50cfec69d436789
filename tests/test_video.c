/* The frame source: every frame of OpenFace's two sample videos against the
 * decoder dump in reference/intermediates/{changeLighting,default}/frames.csv
 * (channel sums, hashes, timestamps), image folders and still images against
 * cv::imread's pixels, a synthetic rotated video written here with FFmpeg,
 * and bad input (missing, empty, not media, truncated, corrupted). */
#include "autest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/log.h>

#include "imread.h"
#include "video.h"

/* frames.csv's hashes are FNV-1a 64 with prime 0x100000001b3 but offset basis
 * 1469598103934665603 = 0x14650fb0739d0383: the decimal offset basis
 * 14695981039346656037 with its last digit lost in the dump code. Found by
 * running FNV-1a backwards from the reference hash over our frame-1 bytes
 * (BGR and gray both give this start state), then confirmed on all frames. */
#define REF_FNV_BASIS 0x14650fb0739d0383ULL

static uint64_t fnv_image(const AuImageU8 *im, uint64_t h)
{
    for (int y = 0; y < im->height; y++) {
        const uint8_t *r = au_image_u8_row(im, y);
        for (size_t i = 0; i < (size_t)im->width * (size_t)im->channels; i++) {
            h ^= r[i];
            h *= 0x100000001b3ULL;
        }
    }
    return h;
}

static void channel_sums(const AuImageU8 *im, double s[3])
{
    s[0] = s[1] = s[2] = 0;
    for (int y = 0; y < im->height; y++) {
        const uint8_t *r = au_image_u8_row(im, y);
        for (int x = 0; x < im->width; x++)
            for (int c = 0; c < im->channels; c++)
                s[c] += r[x * im->channels + c];
    }
}

typedef struct RefFrame {
    int frame, reader_frame, width, height, channels;
    double timestamp, sum_b, sum_g, sum_r, sum_gray;
    uint64_t fnv_bgr, fnv_gray;
} RefFrame;

static int load_ref_frames(const char *path, RefFrame *rows, int max)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    char line[512];
    int n = 0;
    if (!fgets(line, sizeof(line), f))
        fail_msg("empty %s", path);
    assert_non_null(strstr(line, "frame,reader_frame_number,timestamp,width,height,channels,sum_b,sum_g,sum_r,"
                                 "sum_gray,fnv1a64_bgr,fnv1a64_gray"));
    while (n < max && fgets(line, sizeof(line), f)) {
        RefFrame *r = &rows[n];
        if (sscanf(line, "%d,%d,%lf,%d,%d,%d,%lf,%lf,%lf,%lf,%" SCNx64 ",%" SCNx64, &r->frame, &r->reader_frame,
                   &r->timestamp, &r->width, &r->height, &r->channels, &r->sum_b, &r->sum_g, &r->sum_r, &r->sum_gray,
                   &r->fnv_bgr, &r->fnv_gray) != 12)
            fail_msg("%s: bad row %d: %s", path, n + 2, line);
        n++;
    }
    fclose(f);
    return n;
}

/* Decodes the whole video and checks every frame against frames.csv. */
static void check_video_against_reference(const char *name, int expect_frames, int64_t expect_count_estimate)
{
    char vpath[1024], rpath[1024], rel[256];
    snprintf(rel, sizeof(rel), "openface/videos/%s.wmv", name);
    autest_path(vpath, sizeof(vpath), rel);
    snprintf(rel, sizeof(rel), "openface/reference/intermediates/%s/frames.csv", name);
    autest_path(rpath, sizeof(rpath), rel);
    autest_require_file(vpath);
    autest_require_file(rpath);

    RefFrame *ref = calloc(400, sizeof(*ref));
    int nref = load_ref_frames(rpath, ref, 400);
    assert_int_equal(nref, expect_frames);

    AuVideo *v = NULL;
    AuError err = {0};
    assert_int_equal(au_video_open(&v, vpath, &err), AU_OK);
    assert_int_equal(au_video_kind(v), AU_VIDEO_FILE);
    assert_int_equal(au_video_width(v), 640);
    assert_int_equal(au_video_height(v), 480);
    assert_true(au_video_fps(v) == 15.0);
    /* CAP_PROP_FRAME_COUNT as cv2 reports it (changeLighting: 90, of which 88 decode). */
    assert_int_equal(au_video_frame_count(v), expect_count_estimate);

    AuFrame fr = {0};
    int n = 0;
    AuStatus s;
    while ((s = au_video_read(v, &fr, &err)) == AU_OK) {
        assert_true(n < nref);
        const RefFrame *r = &ref[n];
        assert_int_equal(fr.frame_number, n);
        assert_int_equal(r->frame, n + 1);
        if (fr.timestamp != r->timestamp)
            fail_msg("%s frame %d: timestamp %.17g, reference %.17g", name, n + 1, fr.timestamp, r->timestamp);
        assert_int_equal(fr.bgr.width, r->width);
        assert_int_equal(fr.bgr.height, r->height);
        assert_int_equal(fr.bgr.channels, 3);
        assert_int_equal(fr.gray.channels, 1);
        double sums[3], gsum[3];
        channel_sums(&fr.bgr, sums);
        channel_sums(&fr.gray, gsum);
        if (sums[0] != r->sum_b || sums[1] != r->sum_g || sums[2] != r->sum_r || gsum[0] != r->sum_gray)
            fail_msg("%s frame %d: sums %.0f %.0f %.0f gray %.0f, reference %.0f %.0f %.0f gray %.0f", name, n + 1,
                     sums[0], sums[1], sums[2], gsum[0], r->sum_b, r->sum_g, r->sum_r, r->sum_gray);
        uint64_t hb = fnv_image(&fr.bgr, REF_FNV_BASIS), hg = fnv_image(&fr.gray, REF_FNV_BASIS);
        if (hb != r->fnv_bgr || hg != r->fnv_gray)
            fail_msg("%s frame %d: hashes %016" PRIx64 " %016" PRIx64 ", reference %016" PRIx64 " %016" PRIx64, name,
                     n + 1, hb, hg, r->fnv_bgr, r->fnv_gray);
        n++;
    }
    assert_int_equal(s, AU_ERR_EOF);
    assert_non_null(strstr(err.msg, name));
    assert_int_equal(n, expect_frames);
    assert_int_equal(au_video_frames_read(v), expect_frames);
    assert_int_equal(au_video_decode_errors(v), 0);
    /* Reading past the end keeps saying so. */
    assert_int_equal(au_video_read(v, &fr, &err), AU_ERR_EOF);
    au_frame_free(&fr);
    au_video_close(v);
    free(ref);
}

static void test_changelighting_frames_match_reference(void **state)
{
    (void)state;
    check_video_against_reference("changeLighting", 88, 90);
}

static void test_default_frames_match_reference(void **state)
{
    (void)state;
    check_video_against_reference("default", 288, 288);
}

/* The fused YUV -> BGR + gray pass against OpenCV's route (sws_scale, then
 * the gray conversion), frame by frame on both videos, with the SIMD table and
 * with C only (AU_CPU_MASK=0): the same bytes, and the fused pass is the one
 * that ran (frames.csv above checks those bytes against OpenCV itself). */
static void test_fused_conversion_matches_swscale(void **state)
{
    (void)state;
    const char *names[] = {"openface/videos/changeLighting.wmv", "openface/videos/default.wmv"};
    for (int k = 0; k < 2; k++)
        for (int c_only = 0; c_only < 2; c_only++) {
            char p[1024];
            autest_path(p, sizeof(p), names[k]);
            autest_require_file(p);
            if (c_only)
                setenv("AU_CPU_MASK", "0", 1);
            AuVideoOptions fused_opts, sws_opts;
            au_video_options_default(&fused_opts);
            au_video_options_default(&sws_opts);
            sws_opts.swscale_only = 1;
            AuVideo *a = NULL, *b = NULL;
            AuError err = {0};
            assert_int_equal(au_video_open_ex(&a, p, &fused_opts, &err), AU_OK);
            assert_int_equal(au_video_open_ex(&b, p, &sws_opts, &err), AU_OK);
            unsetenv("AU_CPU_MASK");
            AuFrame fa = {0}, fb = {0};
            int n = 0;
            while (au_video_read(a, &fa, &err) == AU_OK) {
                assert_int_equal(au_video_read(b, &fb, &err), AU_OK);
                assert_int_equal(fa.bgr.width, fb.bgr.width);
                assert_int_equal(fa.bgr.height, fb.bgr.height);
                for (int y = 0; y < fa.bgr.height; y++) {
                    if (memcmp(au_image_u8_row(&fa.bgr, y), au_image_u8_row(&fb.bgr, y), (size_t)fa.bgr.width * 3))
                        fail_msg("%s frame %d row %d: BGR differs from swscale's", names[k], n, y);
                    if (memcmp(au_image_u8_row(&fa.gray, y), au_image_u8_row(&fb.gray, y), (size_t)fa.gray.width))
                        fail_msg("%s frame %d row %d: gray differs", names[k], n, y);
                }
                n++;
            }
            assert_int_equal(au_video_read(b, &fb, &err), AU_ERR_EOF);
            assert_true(n > 80);
            assert_int_equal(au_video_converts_fused(a), 1);
            assert_int_equal(au_video_converts_fused(b), 0);
            au_frame_free(&fa);
            au_frame_free(&fb);
            au_video_close(a);
            au_video_close(b);
        }
}

/* Streaming: the frame's buffers are reused, so memory does not grow. With
 * more decoder threads the frames are the same (frames.csv hashes). */
static void test_frame_buffers_reused(void **state)
{
    (void)state;
    char p[1024], r[1024];
    autest_path(p, sizeof(p), "openface/videos/changeLighting.wmv");
    autest_path(r, sizeof(r), "openface/reference/intermediates/changeLighting/frames.csv");
    RefFrame *ref = calloc(100, sizeof(*ref));
    assert_int_equal(load_ref_frames(r, ref, 100), 88);
    AuVideo *v;
    AuError err = {0};
    AuVideoOptions opts;
    au_video_options_default(&opts);
    assert_int_equal(opts.decoder_threads, 1);
    opts.decoder_threads = 0; /* FFmpeg's choice */
    assert_int_equal(au_video_open_ex(&v, p, &opts, &err), AU_OK);
    AuFrame fr = {0};
    assert_int_equal(au_video_read(v, &fr, &err), AU_OK);
    uint8_t *b = fr.bgr.data, *g = fr.gray.data;
    for (int i = 1; i <= 10; i++) {
        assert_int_equal(au_video_read(v, &fr, &err), AU_OK);
        assert_ptr_equal(fr.bgr.data, b);
        assert_ptr_equal(fr.gray.data, g);
        assert_true(fnv_image(&fr.bgr, REF_FNV_BASIS) == ref[i].fnv_bgr);
    }
    assert_int_equal(fr.frame_number, 10);
    free(ref);
    au_frame_free(&fr);
    assert_null(fr.bgr.data);
    au_video_close(v);
    au_video_close(NULL);
    au_frame_free(NULL);
}

/* The image folder: 30 JPEGs in name order, like SequenceCapture. The sums of
 * 001.jpg and 030.jpg are cv2.imread's (OpenCV 4.6, this machine's libjpeg). */
static void test_image_sequence_folder(void **state)
{
    (void)state;
    char dir[1024];
    autest_path(dir, sizeof(dir), "openface/videos/image_sequence");
    AuVideo *v;
    AuError err = {0};
    assert_int_equal(au_video_open(&v, dir, &err), AU_OK);
    assert_int_equal(au_video_kind(v), AU_VIDEO_SEQUENCE);
    assert_int_equal(au_video_frame_count(v), 30);
    assert_int_equal(au_video_width(v), 640);
    assert_int_equal(au_video_height(v), 480);
    assert_true(au_video_fps(v) == 0.0);
    AuFrame fr = {0};
    int n = 0;
    AuStatus s;
    while ((s = au_video_read(v, &fr, &err)) == AU_OK) {
        assert_int_equal(fr.frame_number, n);
        assert_true(fr.timestamp == 0.0);
        assert_int_equal(fr.bgr.width, 640);
        assert_int_equal(fr.bgr.height, 480);
        double sums[3];
        channel_sums(&fr.bgr, sums);
        if (n == 0) {
            assert_true(sums[0] == 55393143 && sums[1] == 56938177 && sums[2] == 55423515);
        } else if (n == 29) {
            assert_true(sums[0] == 55422790 && sums[1] == 56930537 && sums[2] == 55308542);
        }
        n++;
    }
    assert_int_equal(s, AU_ERR_EOF);
    assert_int_equal(n, 30);
    assert_int_equal(au_video_decode_errors(v), 0);
    au_frame_free(&fr);
    au_video_close(v);
}

/* A single JPEG: one frame, cv2.imread's channel sums (sample1.jpg, 640x400). */
static void test_single_jpeg(void **state)
{
    (void)state;
    char p[1024];
    autest_path(p, sizeof(p), "openface/videos/images/sample1.jpg");
    AuVideo *v;
    AuError err = {0};
    assert_int_equal(au_video_open(&v, p, &err), AU_OK);
    assert_int_equal(au_video_kind(v), AU_VIDEO_IMAGE);
    assert_int_equal(au_video_width(v), 640);
    assert_int_equal(au_video_height(v), 400);
    assert_int_equal(au_video_frame_count(v), 1);
    AuFrame fr = {0};
    assert_int_equal(au_video_read(v, &fr, &err), AU_OK);
    double sums[3];
    channel_sums(&fr.bgr, sums);
    assert_true(sums[0] == 30088741 && sums[1] == 30356107 && sums[2] == 41440637);
    assert_int_equal(fr.gray.width, 640);
    assert_int_equal(au_video_read(v, &fr, &err), AU_ERR_EOF);
    au_frame_free(&fr);
    au_video_close(v);
}

/* A BMP (FFmpeg path): OpenFace's aligned face, 112x112. */
static void test_single_bmp(void **state)
{
    (void)state;
    char p[1024];
    autest_path(p, sizeof(p), "openface/reference/changeLighting_hog_aligned/changeLighting_aligned/frame_det_00_000001.bmp");
    AuVideo *v;
    AuError err = {0};
    assert_int_equal(au_video_open(&v, p, &err), AU_OK);
    assert_int_equal(au_video_kind(v), AU_VIDEO_IMAGE);
    AuFrame fr = {0};
    assert_int_equal(au_video_read(v, &fr, &err), AU_OK);
    assert_int_equal(fr.bgr.width, 112);
    assert_int_equal(fr.bgr.height, 112);
    /* The masked corner is black; the face centre is not. */
    assert_int_equal(au_image_u8_row(&fr.bgr, 0)[0], 0);
    assert_true(au_image_u8_row(&fr.gray, 56)[56] > 20);
    assert_int_equal(au_video_read(v, &fr, &err), AU_ERR_EOF);
    au_frame_free(&fr);
    au_video_close(v);
}

/* EXIF orientation: 001.jpg with an APP1 orientation tag inserted decodes
 * rotated, as cv::imread does (orientation 6 = 90 degrees clockwise). */
static void test_jpeg_exif_orientation(void **state)
{
    (void)state;
    char src[1024], tmp[512], path[1024];
    autest_path(src, sizeof(src), "openface/videos/image_sequence/001.jpg");
    unsigned char *data;
    size_t size;
    assert_int_equal(autest_read_file(src, &data, &size), 0);
    /* APP1: "Exif\0\0", big-endian TIFF, IFD0 with one SHORT entry 0x0112 = 6. */
    static const unsigned char app1[] = {0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0x00, 0x2A,
                                         0x00, 0x00, 0x00, 0x08, 0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00,
                                         0x00, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    unsigned char *rot = malloc(size + sizeof(app1));
    memcpy(rot, data, 2);
    memcpy(rot + 2, app1, sizeof(app1));
    memcpy(rot + 2 + sizeof(app1), data + 2, size - 2);
    assert_int_equal(au_jpeg_exif_orientation(rot, size + sizeof(app1)), 6);
    assert_int_equal(au_jpeg_exif_orientation(data, size), 1);
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(path, sizeof(path), "%s/rotated.jpg", tmp);
    autest_write_file(path, rot, size + sizeof(app1));

    AuImageU8 a = {0}, b = {0};
    AuError err = {0};
    assert_int_equal(au_jpeg_read_bgr(src, &a, &err), AU_OK);
    assert_int_equal(au_jpeg_read_bgr(path, &b, &err), AU_OK);
    assert_int_equal(b.width, a.height);
    assert_int_equal(b.height, a.width);
    int mism = 0;
    for (int y = 0; y < b.height; y++)
        for (int x = 0; x < b.width; x++)
            for (int c = 0; c < 3; c++)
                mism += au_image_u8_row(&b, y)[3 * x + c] != au_image_u8_row(&a, a.height - 1 - x)[3 * y + c];
    assert_int_equal(mism, 0);
    int w, h;
    assert_int_equal(au_jpeg_size(path, &w, &h, &err), AU_OK);
    assert_int_equal(w, 480);
    assert_int_equal(h, 640);
    au_image_u8_free(&a);
    au_image_u8_free(&b);
    autest_rmtree(tmp);
    free(rot);
    free(data);
}

/* ---- a synthetic video written with FFmpeg: PNG frames in MOV, rotated ------------ */

static uint8_t pattern(int x, int y, int c, int n) { return (uint8_t)(c == 0 ? x * 7 + y + n : c == 1 ? y * 5 + 3 * x : (x * y + 11 * n) & 255); }

/* Writes n frames of w x h RGB24 PNG in a MOV with a display matrix of
 * rotation_ccw degrees (FFmpeg's convention), at fps frames per second; without
 * packet durations MOV's edit list ends where the last frame starts. */
static void write_png_mov(const char *path, int w, int h, int n, int fps, double rotation_ccw, int durations)
{
    AVFormatContext *oc = NULL;
    assert_true(avformat_alloc_output_context2(&oc, NULL, "mov", path) >= 0);
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    assert_non_null(codec);
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    enc->width = w;
    enc->height = h;
    enc->pix_fmt = AV_PIX_FMT_RGB24;
    enc->time_base = (AVRational){1, fps};
    enc->framerate = (AVRational){fps, 1};
    if (oc->oformat->flags & AVFMT_GLOBALHEADER)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    assert_true(avcodec_open2(enc, codec, NULL) >= 0);
    AVStream *st = avformat_new_stream(oc, NULL);
    assert_true(avcodec_parameters_from_context(st->codecpar, enc) >= 0);
    st->time_base = enc->time_base;
    if (rotation_ccw != 0) {
#if LIBAVFORMAT_VERSION_INT < AV_VERSION_INT(60, 15, 100) /* before FFmpeg 6.1 */
        uint8_t *m = av_stream_new_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
#else
        AVPacketSideData *sd = av_packet_side_data_new(&st->codecpar->coded_side_data, &st->codecpar->nb_coded_side_data,
                                                       AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t), 0);
        uint8_t *m = sd ? sd->data : NULL;
#endif
        assert_non_null(m);
        av_display_rotation_set((int32_t *)m, rotation_ccw);
    }
    assert_true(avio_open(&oc->pb, path, AVIO_FLAG_WRITE) >= 0);
    assert_true(avformat_write_header(oc, NULL) >= 0);
    AVFrame *fr = av_frame_alloc();
    fr->format = AV_PIX_FMT_RGB24;
    fr->width = w;
    fr->height = h;
    assert_true(av_frame_get_buffer(fr, 0) >= 0);
    AVPacket *pkt = av_packet_alloc();
    for (int i = 0; i <= n; i++) {
        if (i < n) {
            assert_true(av_frame_make_writable(fr) >= 0);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++)
                        fr->data[0][y * fr->linesize[0] + 3 * x + c] = pattern(x, y, c, i);
            fr->pts = i;
        }
        assert_true(avcodec_send_frame(enc, i < n ? fr : NULL) >= 0);
        while (avcodec_receive_packet(enc, pkt) >= 0) {
            if (durations)
                pkt->duration = 1;
            av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
            pkt->stream_index = st->index;
            assert_true(av_interleaved_write_frame(oc, pkt) >= 0);
        }
    }
    assert_true(av_write_trailer(oc) >= 0);
    av_packet_free(&pkt);
    av_frame_free(&fr);
    avcodec_free_context(&enc);
    avio_closep(&oc->pb);
    avformat_free_context(oc);
}

static int read_all_count(const char *path)
{
    AuVideo *v;
    AuError err = {0};
    assert_int_equal(au_video_open(&v, path, &err), AU_OK);
    AuFrame fr = {0};
    int n = 0;
    while (au_video_read(v, &fr, &err) == AU_OK)
        n++;
    assert_int_equal(err.code, AU_ERR_EOF);
    au_frame_free(&fr);
    au_video_close(v);
    return n;
}

static void test_synthetic_rotated_mov(void **state)
{
    (void)state;
    char tmp[512], path[1024];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(path, sizeof(path), "%s/synthetic.mov", tmp);
    const int w = 33, h = 21, n = 5;
    /* A display matrix set to -90 reads back as 90 (cv2: ORIENTATION_META 90)
     * and OpenCV turns the frames 90 degrees clockwise. */
    write_png_mov(path, w, h, n, 10, -90.0, 1);
    AuVideo *v;
    AuError err = {0};
    assert_int_equal(au_video_open(&v, path, &err), AU_OK);
    assert_int_equal(au_video_kind(v), AU_VIDEO_FILE);
    assert_int_equal(au_video_width(v), h);
    assert_int_equal(au_video_height(v), w);
    assert_true(au_video_fps(v) == 10.0);
    assert_int_equal(au_video_frame_count(v), n);
    AuFrame fr = {0};
    int k = 0;
    while (au_video_read(v, &fr, &err) == AU_OK) {
        assert_int_equal(fr.bgr.width, h);
        assert_int_equal(fr.bgr.height, w);
        assert_true(fr.timestamp == k * (1.0 / 10.0));
        int mism = 0;
        for (int i = 0; i < fr.bgr.height; i++)
            for (int j = 0; j < fr.bgr.width; j++) {
                const uint8_t *px = au_image_u8_row(&fr.bgr, i) + 3 * j;
                int sx = i, sy = h - 1 - j; /* cv::ROTATE_90_CLOCKWISE */
                mism += px[0] != pattern(sx, sy, 2, k) || px[1] != pattern(sx, sy, 1, k) ||
                        px[2] != pattern(sx, sy, 0, k);
            }
        assert_int_equal(mism, 0);
        k++;
    }
    assert_int_equal(err.code, AU_ERR_EOF);
    assert_int_equal(k, n);
    au_frame_free(&fr);
    au_video_close(v);

    /* No rotation, no packet durations: the last frame is cut by the edit
     * list and the average rate is 5 frames over 0.4 s; cv2 also reads 4
     * frames and reports 12.5 fps (not av_guess_frame_rate's 10). */
    write_png_mov(path, w, h, 5, 10, 0.0, 0);
    assert_int_equal(read_all_count(path), 4);
    assert_int_equal(au_video_open(&v, path, &err), AU_OK);
    assert_true(au_video_fps(v) == 12.5);
    assert_int_equal(au_video_width(v), w);
    assert_int_equal(au_video_read(v, &fr, &err), AU_OK);
    assert_int_equal(au_image_u8_row(&fr.bgr, 20)[3 * 32 + 2], pattern(32, 20, 0, 0));
    assert_int_equal(au_image_u8_row(&fr.bgr, 20)[3 * 32 + 0], pattern(32, 20, 2, 0));
    au_frame_free(&fr);
    au_video_close(v);
    autest_rmtree(tmp);
}

/* ---- bad input ---------------------------------------------------------------------- */

static void expect_open_error(const char *path, const char *must_contain)
{
    AuVideo *v = (AuVideo *)1;
    AuError err = {0};
    AuStatus s = au_video_open(&v, path, &err);
    if (s == AU_OK)
        fail_msg("%s was accepted", path);
    assert_null(v);
    if (!strstr(err.msg, must_contain))
        fail_msg("error for %s does not name it: %s", path, err.msg);
}

static void test_bad_paths(void **state)
{
    (void)state;
    char tmp[512], p[1024];
    autest_mkdtemp(tmp, sizeof(tmp));

    snprintf(p, sizeof(p), "%s/missing.mp4", tmp);
    expect_open_error(p, "missing.mp4");
    AuVideo *v;
    AuError err = {0};
    assert_int_equal(au_video_open(&v, p, &err), AU_ERR_IO);

    snprintf(p, sizeof(p), "%s/empty.wmv", tmp);
    autest_write_file(p, "", 0);
    expect_open_error(p, "empty.wmv");

    snprintf(p, sizeof(p), "%s/text.mp4", tmp);
    const char *txt = "this is not a video, just some words in a file\n";
    autest_write_file(p, txt, strlen(txt));
    expect_open_error(p, "text.mp4");

    snprintf(p, sizeof(p), "%s/fake.jpg", tmp);
    const unsigned char fake[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 2, 3, 4, 5};
    autest_write_file(p, fake, sizeof(fake));
    expect_open_error(p, "fake.jpg");

    snprintf(p, sizeof(p), "%s/folder", tmp);
    mkdir(p, 0755);
    expect_open_error(p, "folder");
    snprintf(p, sizeof(p), "%s/folder/notes.txt", tmp);
    autest_write_file(p, "x", 1);
    snprintf(p, sizeof(p), "%s/folder/UPPER.JPG", tmp); /* OpenFace matches extensions case-sensitively */
    autest_write_file(p, "x", 1);
    snprintf(p, sizeof(p), "%s/folder", tmp);
    expect_open_error(p, "folder");

    expect_open_error("", "empty");
    autest_rmtree(tmp);
}

/* A folder with a broken image among good ones: the broken one is skipped and
 * counted, the others come in name order. */
static void test_sequence_skips_bad_image(void **state)
{
    (void)state;
    char tmp[512], src[1024], dst[1024], rel[128];
    autest_mkdtemp(tmp, sizeof(tmp));
    for (int i = 1; i <= 3; i++) {
        snprintf(rel, sizeof(rel), "openface/videos/image_sequence/%03d.jpg", i);
        autest_path(src, sizeof(src), rel);
        snprintf(dst, sizeof(dst), "%s/%03d.jpg", tmp, i);
        autest_copy_file(src, dst);
    }
    snprintf(dst, sizeof(dst), "%s/002.jpg", tmp);
    autest_write_file(dst, "", 0);
    snprintf(dst, sizeof(dst), "%s/004.png", tmp);
    autest_write_file(dst, "not a png", 9);
    AuVideo *v;
    AuError err = {0};
    assert_int_equal(au_video_open(&v, tmp, &err), AU_OK);
    assert_int_equal(au_video_frame_count(v), 4);
    AuFrame fr = {0};
    int n = 0;
    double first = -1, second = -1;
    while (au_video_read(v, &fr, &err) == AU_OK) {
        double s[3];
        channel_sums(&fr.bgr, s);
        if (n == 0)
            first = s[0];
        else
            second = s[0];
        assert_int_equal(fr.frame_number, n);
        n++;
    }
    assert_int_equal(err.code, AU_ERR_EOF);
    assert_int_equal(n, 2);
    assert_true(first == 55393143); /* 001.jpg, cv2.imread */
    assert_true(second != first);
    assert_int_equal(au_video_decode_errors(v), 2);
    assert_non_null(strstr(au_video_last_decode_error(v), "004.png"));
    au_frame_free(&fr);
    au_video_close(v);
    autest_rmtree(tmp);
}

/* Reads every frame; AU_OK at a clean end of stream. */
static AuStatus read_all(const char *path, void *ctx, AuError *err)
{
    int *frames = ctx;
    AuVideo *v;
    AuStatus s = au_video_open(&v, path, err);
    if (s != AU_OK)
        return s;
    AuFrame fr = {0};
    int n = 0;
    while ((s = au_video_read(v, &fr, err)) == AU_OK) {
        assert_int_equal(fr.frame_number, n);
        assert_int_equal(fr.gray.width, fr.bgr.width);
        n++;
    }
    au_frame_free(&fr);
    au_video_close(v);
    if (frames)
        *frames = n;
    return s == AU_ERR_EOF ? AU_OK : s;
}

/* A cut video is a shorter video: it opens (unless the cut is inside the
 * header) and yields a prefix of frames; nothing crashes or leaks. */
static void test_truncated_video(void **state)
{
    (void)state;
    char src[1024], tmp[512], p[1024];
    autest_path(src, sizeof(src), "openface/videos/changeLighting.wmv");
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(p, sizeof(p), "%s/cut.wmv", tmp);
    unsigned char *data;
    size_t size;
    assert_int_equal(autest_read_file(src, &data, &size), 0);
    const double fractions[] = {0.0, 0.25, 0.5, 0.9};
    int prev = -1;
    for (size_t i = 0; i < sizeof(fractions) / sizeof(fractions[0]); i++) {
        size_t cut = (size_t)(fractions[i] * (double)size);
        autest_write_file(p, data, cut);
        AuError err = {0};
        int frames = 0;
        AuStatus s = read_all(p, &frames, &err);
        if (cut == 0) {
            assert_int_not_equal(s, AU_OK);
            assert_non_null(strstr(err.msg, "cut.wmv"));
            continue;
        }
        if (s != AU_OK)
            assert_non_null(strstr(err.msg, "cut.wmv"));
        else {
            assert_true(frames < 88);
            assert_true(frames >= prev);
            prev = frames;
        }
    }
    assert_true(prev > 40); /* 90% of the file still gives most frames */
    /* Cut inside the ASF header: rejected, naming the file. */
    autest_write_file(p, data, 100);
    AuError err = {0};
    assert_int_not_equal(read_all(p, NULL, &err), AU_OK);
    assert_non_null(strstr(err.msg, "cut.wmv"));
    free(data);
    autest_rmtree(tmp);
}

static void test_corrupted_video(void **state)
{
    (void)state;
    char src[1024], tmp[512], p[1024];
    autest_path(src, sizeof(src), "openface/videos/changeLighting.wmv");
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(p, sizeof(p), "%s/bad.wmv", tmp);
    autest_copy_file(src, p);
    autest_check_corruptions(p, p, read_all, NULL, 4, 40, 1234);
    autest_rmtree(tmp);
}

/* Cut and corrupted JPEGs: libjpeg (like cv::imread) returns what it could
 * decode or an error naming the file; never a crash. */
static AuStatus read_one_image(const char *path, void *ctx, AuError *err)
{
    (void)ctx;
    AuVideo *v;
    AuStatus s = au_video_open(&v, path, err);
    if (s != AU_OK)
        return s;
    AuFrame fr = {0};
    s = au_video_read(v, &fr, err);
    if (s == AU_OK) {
        assert_int_equal(fr.bgr.width, au_video_width(v));
        assert_int_equal(fr.bgr.height, au_video_height(v));
    }
    au_frame_free(&fr);
    au_video_close(v);
    return s;
}

static void test_damaged_jpeg(void **state)
{
    (void)state;
    char src[1024], tmp[512], p[1024];
    autest_path(src, sizeof(src), "openface/videos/images/sample1.jpg");
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(p, sizeof(p), "%s/cut.jpg", tmp);
    unsigned char *data;
    size_t size;
    assert_int_equal(autest_read_file(src, &data, &size), 0);
    const size_t cuts[] = {3, 20, 200, 600, size / 3, size - 10};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        autest_write_file(p, data, cuts[i]);
        AuError err = {0};
        AuStatus s = read_one_image(p, NULL, &err);
        if (s != AU_OK)
            assert_non_null(strstr(err.msg, "cut.jpg"));
        if (cuts[i] < 200)
            assert_int_not_equal(s, AU_OK); /* no image header yet */
    }
    autest_copy_file(src, p);
    autest_check_corruptions(p, p, read_one_image, NULL, 12, 8, 99);
    free(data);
    autest_rmtree(tmp);
}

int main(void)
{
    av_log_set_level(AV_LOG_QUIET); /* the program's choice; core leaves it alone */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changelighting_frames_match_reference),
        cmocka_unit_test(test_default_frames_match_reference),
        cmocka_unit_test(test_fused_conversion_matches_swscale),
        cmocka_unit_test(test_frame_buffers_reused),
        cmocka_unit_test(test_image_sequence_folder),
        cmocka_unit_test(test_single_jpeg),
        cmocka_unit_test(test_single_bmp),
        cmocka_unit_test(test_jpeg_exif_orientation),
        cmocka_unit_test(test_synthetic_rotated_mov),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_sequence_skips_bad_image),
        cmocka_unit_test(test_truncated_video),
        cmocka_unit_test(test_corrupted_video),
        cmocka_unit_test(test_damaged_jpeg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
