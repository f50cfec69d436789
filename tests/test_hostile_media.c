/* Hostile media: files that are not what a video should be, and videos that
 * are large or long.
 *
 *  - zero-length files and files cut right after their container header
 *    (AVI, Matroska and ASF/WMV: the header is complete, no frame follows):
 *    opening or the first read fails with an error naming the file, never a
 *    crash (ASan checks the rest);
 *  - a playlist posing as a video makes FFmpeg open no network URL (FFmpeg
 *    5.1 already limits a local playlist to file,crypto,data; the reader now
 *    allows the file protocol only, whatever the FFmpeg build);
 *  - memory does not grow with the video's length beyond what is kept per
 *    frame for the end-of-video AU post-processing, measured with glibc's
 *    mallinfo2 inside tests/au_pipeline_run (the pipeline through au.h):
 *      a long faceless video (3200 frames): only the per-frame AU history;
 *      a tracked video (450 frames of default.wmv looped): that plus
 *      OpenFace's descriptor store (HOG and geometry of the first 3000
 *      successful frames, re-predicted with the final medians);
 *  - a 4K (3840x2160) video runs through the pipeline with a bounded peak RSS.
 * Videos are made here with libavcodec (tests/support/videogen.h), never
 * committed. The memory checks need the Release build (skipped under ASan,
 * whose allocator mallinfo2 does not see, and which is too slow here);
 * scripts/bench_memory.sh measures the same on 3000+ frames. */
#include "autest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "video.h"
#include "videogen.h"

#if defined(__SANITIZE_ADDRESS__)
#define AUTEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AUTEST_SANITIZED 1
#endif
#endif
#ifndef AUTEST_SANITIZED
#define AUTEST_SANITIZED 0
#endif

/* Bytes the pipeline keeps per frame for the post-processing (core/face_analyser.c):
 * 17 intensity + 18 presence doubles, a success byte and a timestamp. */
#define HISTORY_BYTES_PER_FRAME (17 * 8 + 18 * 8 + 1 + 8)
/* Per successful frame among the first 3000 (core/au_postprocess.c descriptor
 * store): the HOG descriptor (12 x 12 cells x 31 floats), the geometry
 * (3 x 68 + 34 doubles) and the frame number. */
#define STORE_BYTES_PER_FRAME (12 * 12 * 31 * 4 + 238 * 8 + 4)
/* malloc's bookkeeping and everything else that may move between two samples. */
#define HEAP_SLACK (256 * 1024)

/* Opening then reading everything: returns the first failure's status (AU_OK
 * if the file opened and gave at least one frame before a clean end). */
static AuStatus open_and_read(const char *path, int *frames, AuError *err)
{
    AuVideo *v = NULL;
    *frames = 0;
    AuStatus s = au_video_open(&v, path, err);
    if (s != AU_OK) {
        assert_null(v);
        return s;
    }
    AuFrame f = {0};
    while ((s = au_video_read(v, &f, err)) == AU_OK)
        (*frames)++;
    au_frame_free(&f);
    au_video_close(v);
    return s == AU_ERR_EOF && *frames > 0 ? AU_OK : s;
}

/* Fails unless reading path fails with a message naming it; returns nothing,
 * leaves the message in msg_out (AU_ERROR_MSG_MAX bytes) when not NULL. */
static void expect_named_failure_msg(const char *path, const char *name, char *msg_out)
{
    AuError err = {0};
    int frames = -1;
    AuStatus s = open_and_read(path, &frames, &err);
    if (s == AU_OK)
        fail_msg("%s: accepted with %d frames", path, frames);
    assert_int_equal(frames, 0);
    if (!strstr(err.msg, name))
        fail_msg("the error for %s does not name it: %s", path, err.msg);
    print_message("%s\n", err.msg);
    if (msg_out)
        snprintf(msg_out, AU_ERROR_MSG_MAX, "%s", err.msg);
}

static void expect_named_failure(const char *path, const char *name)
{
    expect_named_failure_msg(path, name, NULL);
}

/* A video cut after its header: the message says what is wrong, not just
 * "end of stream". */
static void expect_header_only_failure(const char *path, const char *name)
{
    char msg[AU_ERROR_MSG_MAX];
    expect_named_failure_msg(path, name, msg);
    if (!strstr(msg, "no video frame") && !strstr(msg, "not a readable video"))
        fail_msg("unclear error for a video without frames: %s", msg);
}

static void test_zero_length_files(void **state)
{
    (void)state;
    char tmp[512], p[1024];
    autest_mkdtemp(tmp, sizeof(tmp));
    const char *names[] = {"zero.avi", "zero.mp4", "zero.wmv", "zero.mkv", "zero.jpg", "zero"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", tmp, names[i]);
        autest_write_file(p, "", 0);
        expect_named_failure(p, names[i]);
    }
    autest_rmtree(tmp);
}

/* Offset of needle in data, or -1. */
static long find_bytes(const unsigned char *data, size_t size, const void *needle, size_t n)
{
    for (size_t i = 0; i + n <= size; i++)
        if (!memcmp(data + i, needle, n))
            return (long)i;
    return -1;
}

static void make_synthetic(const char *path, int n_frames)
{
    char eb[512];
    if (autest_make_synthetic_video(path, 64, 48, n_frames, 25, eb, sizeof(eb)) != 0)
        fail_msg("%s", eb);
}

static void write_prefix(const char *src, const char *dst, size_t n)
{
    unsigned char *data;
    size_t size;
    assert_int_equal(autest_read_file(src, &data, &size), 0);
    assert_true(n <= size);
    autest_write_file(dst, data, n);
    free(data);
}

static void test_header_only_videos(void **state)
{
    (void)state;
    char tmp[512], full[1024], cut[1024];
    autest_mkdtemp(tmp, sizeof(tmp));
    unsigned char *data;
    size_t size;

    /* AVI: everything up to and including the 'movi' list's type, no chunk. */
    snprintf(full, sizeof(full), "%s/full.avi", tmp);
    make_synthetic(full, 10);
    int frames = 0;
    AuError err = {0};
    assert_int_equal(open_and_read(full, &frames, &err), AU_OK);
    assert_int_equal(frames, 10);
    assert_int_equal(autest_read_file(full, &data, &size), 0);
    long movi = find_bytes(data, size, "movi", 4);
    assert_true(movi > 0);
    free(data);
    snprintf(cut, sizeof(cut), "%s/header_only.avi", tmp);
    write_prefix(full, cut, (size_t)movi + 4);
    expect_header_only_failure(cut, "header_only.avi");

    /* Matroska: EBML header, segment info and tracks, cut before the first Cluster. */
    snprintf(full, sizeof(full), "%s/full.mkv", tmp);
    make_synthetic(full, 10);
    assert_int_equal(open_and_read(full, &frames, &err), AU_OK);
    assert_int_equal(frames, 10);
    assert_int_equal(autest_read_file(full, &data, &size), 0);
    const unsigned char cluster_id[] = {0x1F, 0x43, 0xB6, 0x75};
    long cluster = find_bytes(data, size, cluster_id, 4);
    assert_true(cluster > 0);
    free(data);
    snprintf(cut, sizeof(cut), "%s/header_only.mkv", tmp);
    write_prefix(full, cut, (size_t)cluster);
    expect_header_only_failure(cut, "header_only.mkv");

    /* ASF (OpenFace's sample): the header object (its size is the 64-bit
     * little-endian value at byte 16) and the 50-byte data object header. */
    char wmv[1024];
    autest_path(wmv, sizeof(wmv), "openface/videos/changeLighting.wmv");
    autest_require_file(wmv);
    assert_int_equal(autest_read_file(wmv, &data, &size), 0);
    uint64_t header_size = 0;
    for (int i = 7; i >= 0; i--)
        header_size = header_size << 8 | data[16 + i];
    assert_true(header_size > 30 && header_size + 50 < size);
    free(data);
    snprintf(cut, sizeof(cut), "%s/header_only.wmv", tmp);
    write_prefix(wmv, cut, (size_t)header_size + 50);
    expect_header_only_failure(cut, "header_only.wmv");
    /* and the header object alone */
    write_prefix(wmv, cut, (size_t)header_size);
    expect_header_only_failure(cut, "header_only.wmv");
    autest_rmtree(tmp);
}

/* A "video" that is an HLS playlist naming a network URL: refused, naming the
 * file, and no connection is made (the reader allows FFmpeg the file
 * protocol only). The URL points at a socket listening here, which must see
 * no connection. */
static void test_playlist_makes_no_connection(void **state)
{
    (void)state;
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(srv >= 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    assert_int_equal(bind(srv, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(srv, 4), 0);
    socklen_t len = sizeof(addr);
    assert_int_equal(getsockname(srv, (struct sockaddr *)&addr, &len), 0);
    char tmp[512], p[1024], text[512];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(text, sizeof(text),
             "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://127.0.0.1:%d/segment.ts\n#EXT-X-ENDLIST\n",
             (int)ntohs(addr.sin_port));
    const char *names[] = {"list.m3u8", "clip.avi"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof(p), "%s/%s", tmp, names[i]);
        autest_write_file(p, text, strlen(text));
        expect_named_failure(p, names[i]);
    }
    struct pollfd pfd = {srv, POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 0), 0); /* nobody knocked */
    close(srv);
    autest_rmtree(tmp);
}

/* ---- memory on long and large videos --------------------------------------------- */

typedef struct RunFacts {
    long long frames, successes, maxrss_kb, succ_k, heap_k, heap_last, heap_end;
    int last_success;
} RunFacts;

static long long field(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    if (!p)
        fail_msg("no %s in: %s", key, text);
    return atoll(p + strlen(key));
}

/* Runs tests/au_pipeline_run in a child process (its own peak RSS) and reads its facts. */
static void run_pipeline(const char *video, long long heap_at, RunFacts *out)
{
    char tmp[512], log[1024], at[32];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(log, sizeof(log), "%s/out.txt", tmp);
    snprintf(at, sizeof(at), "%lld", heap_at);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        execl(AU_PIPELINE_RUN_BIN, AU_PIPELINE_RUN_BIN, "--heap-at", at, video, (char *)NULL);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    unsigned char *text;
    size_t size;
    assert_int_equal(autest_read_file(log, &text, &size), 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("au_pipeline_run %s failed: %s", video, (const char *)text);
    print_message("%s: %s", strrchr(video, '/') + 1, (const char *)text);
    const char *t = (const char *)text;
    out->frames = field(t, "frames=");
    out->successes = field(t, "successes=");
    out->maxrss_kb = field(t, "maxrss_kb=");
    out->last_success = (int)field(t, "last_success=");
    out->succ_k = field(t, "succ_k=");
    out->heap_k = field(t, "heap_k=");
    out->heap_last = field(t, "heap_last=");
    out->heap_end = field(t, "heap_end=");
    free(text);
    autest_rmtree(tmp);
}

static int memory_checks_apply(void)
{
    if (AUTEST_SANITIZED) {
        print_message("skipped: sanitized build (mallinfo2 does not see ASan's allocator, and it is too slow); "
                      "the Release build runs this test\n");
        return 0;
    }
#if !defined(__GLIBC__) || __GLIBC__ < 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ < 33)
    print_message("skipped: needs glibc 2.33+ (mallinfo2)\n");
    return 0;
#else
    return 1;
#endif
}

/* Growth between frame k and frame n of arrays grown geometrically (at most
 * doubling) for `per` bytes per frame: capacity(n) <= 2n and capacity(k) >= k. */
static long long doubling_bound(long long k, long long n, long long per)
{
    long long b = (2 * n - k) * per;
    return b > 0 ? b : 0;
}

static void test_long_faceless_video_memory(void **state)
{
    (void)state;
    if (!memory_checks_apply())
        skip();
    char tmp[512], p[1024];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(p, sizeof(p), "%s/faceless_3200.avi", tmp);
    char eb[512];
    if (autest_make_synthetic_video(p, 160, 120, 3200, 30, eb, sizeof(eb)) != 0)
        fail_msg("%s", eb);
    RunFacts r;
    const long long k = 1000;
    run_pipeline(p, k, &r);
    assert_int_equal(r.frames, 3200);
    assert_int_equal(r.successes, 0); /* no face: nothing enters the descriptor store */
    long long growth = r.heap_last - r.heap_k;
    long long bound = doubling_bound(k, r.frames, HISTORY_BYTES_PER_FRAME) + HEAP_SLACK;
    print_message("heap growth frames %lld..%lld: %lld bytes (%.0f per frame), bound %lld\n", k, r.frames, growth,
                  (double)growth / (double)(r.frames - k), bound);
    assert_true(growth <= bound);
    autest_rmtree(tmp);
}

static void test_tracked_video_memory(void **state)
{
    (void)state;
    if (!memory_checks_apply())
        skip();
    char src[1024], tmp[512], p[1024], eb[512];
    autest_path(src, sizeof(src), "openface/videos/default.wmv");
    autest_require_file(src);
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(p, sizeof(p), "%s/default_x450.avi", tmp);
    /* default.wmv has 288 frames: looped once and a half */
    if (autest_make_video_from(p, src, 0, 0, 450, 5, eb, sizeof(eb)) != 0)
        fail_msg("%s", eb);
    RunFacts r;
    const long long k = 150;
    run_pipeline(p, k, &r);
    assert_int_equal(r.frames, 450);
    assert_true(r.successes > 400); /* tracked almost throughout */
    assert_int_equal(r.last_success, 1);
    long long growth = r.heap_last - r.heap_k;
    long long bound = doubling_bound(k, r.frames, HISTORY_BYTES_PER_FRAME) +
                      doubling_bound(r.succ_k, r.successes, STORE_BYTES_PER_FRAME) + HEAP_SLACK;
    print_message("heap growth frames %lld..%lld: %lld bytes (%.0f per frame), bound %lld\n", k, r.frames, growth,
                  (double)growth / (double)(r.frames - k), bound);
    assert_true(growth <= bound);
    autest_rmtree(tmp);
}

static void test_4k_video(void **state)
{
    (void)state;
    if (!memory_checks_apply())
        skip();
    char src[1024], tmp[512], p[1024], eb[512];
    autest_path(src, sizeof(src), "openface/videos/default.wmv");
    autest_require_file(src);
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(p, sizeof(p), "%s/default_4k.avi", tmp);
    if (autest_make_video_from(p, src, 3840, 2160, 6, 5, eb, sizeof(eb)) != 0)
        fail_msg("%s", eb);
    RunFacts r;
    run_pipeline(p, 3, &r);
    assert_int_equal(r.frames, 6);
    assert_int_equal(r.last_success, 1);
    /* Measured 474 MB for 10 frames (Debian 12, one BLAS thread): the 4K BGR
     * and gray frames, FFmpeg's reference frames and MTCNN's first pyramid
     * levels. The bound catches a per-frame copy kept by mistake. */
    assert_true(r.maxrss_kb < 800 * 1024);
    autest_rmtree(tmp);
}

int main(void)
{
    av_log_set_level(AV_LOG_FATAL); /* FFmpeg's complaints about the cut files are expected */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_length_files),
        cmocka_unit_test(test_header_only_videos),
        cmocka_unit_test(test_playlist_makes_no_connection),
        cmocka_unit_test(test_long_faceless_video_memory),
        cmocka_unit_test(test_tracked_video_memory),
        cmocka_unit_test(test_4k_video),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
