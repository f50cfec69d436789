/* au_pipeline_run: the whole pipeline through the public API (core/au.h) on
 * the first N frames of a video, for the memory checks: valgrind
 * (tests/test_valgrind.c), bounded memory on long and 4K videos
 * (tests/test_hostile_media.c, scripts/bench_memory.sh). It does what
 * `auharness extract` does per frame minus the CSV: load the models once,
 * one tracker, every frame processed, the offline post-processing, every
 * final AU value read back.
 *
 *   au_pipeline_run [--frames N] [--models DIR] [--heap-at K] VIDEO
 *
 * Prints one line of key=value facts on stdout:
 *   frames=... successes=... seconds=... fps=... maxrss_kb=... [succ_k=... heap_k=... heap_last=... heap_end=...]
 * maxrss_kb is getrusage(RUSAGE_SELF) ru_maxrss at the end (the peak of
 * this process). With --heap-at K (glibc only), heap_k, heap_last and
 * heap_end are the bytes malloc holds in use (mallinfo2 uordblks + hblkhd)
 * after frame K, after the last frame, and after the post-processing, to
 * show what grows with the video; succ_k: successful frames up to frame K.
 * Exit status 0 on success, 1 with the error on stderr. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "au/au.h"
#include "video.h"

#ifndef AU_TEST_DATA_DIR
#define AU_TEST_DATA_DIR "data"
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long long heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return (long long)(mi.uordblks + mi.hblkhd);
#else
    return -1;
#endif
}

int main(int argc, char **argv)
{
    long long max_frames = -1, heap_at = -1;
    const char *video = NULL;
    char models[2048];
    const char *env = getenv("AU_DATA_DIR");
    snprintf(models, sizeof(models), "%s/openface/models", env && *env ? env : AU_TEST_DATA_DIR);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--frames") && i + 1 < argc)
            max_frames = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--models") && i + 1 < argc)
            snprintf(models, sizeof(models), "%s", argv[++i]);
        else if (!strcmp(argv[i], "--heap-at") && i + 1 < argc)
            heap_at = atoll(argv[++i]);
        else if (argv[i][0] != '-' && !video)
            video = argv[i];
        else {
            fprintf(stderr, "usage: au_pipeline_run [--frames N] [--models DIR] [--heap-at K] VIDEO\n");
            return 2;
        }
    }
    if (!video) {
        fprintf(stderr, "usage: au_pipeline_run [--frames N] [--models DIR] [--heap-at K] VIDEO\n");
        return 2;
    }
    openblas_set_num_threads(1); /* as the harness and OpenFace */

    AuError err = {0};
    AuModelSet *set = NULL;
    AuTracker *t = NULL;
    AuVideo *v = NULL;
    AuFrame f = {0};
    int rc = 1;
    long long n = 0, heap_k = -1, succ = 0, succ_k = 0;
    double t0 = now_s();
    if (au_model_set_load(&set, models, &err) != AU_OK)
        goto out;
    AuTrackerOptions opts;
    au_tracker_options_default(&opts);
    if (au_tracker_create(&t, set, &opts, &err) != AU_OK || au_video_open(&v, video, &err) != AU_OK)
        goto out;
    AuFrameResult r;
    memset(&r, 0, sizeof(r));
    AuStatus st = AU_OK;
    while ((max_frames < 0 || n < max_frames) && (st = au_video_read(v, &f, &err)) == AU_OK) {
        AuInputFrame in = {f.bgr.width, f.bgr.height, f.bgr.data, f.bgr.stride, f.gray.data, f.gray.stride,
                           f.frame_number, f.timestamp};
        if ((st = au_tracker_process(t, &in, &r, &err)) != AU_OK)
            goto out;
        n++;
        succ += r.success != 0;
        if (n == heap_at) {
            heap_k = heap_in_use();
            succ_k = succ;
        }
    }
    if (st != AU_OK && st != AU_ERR_EOF)
        goto out;
    long long heap_last = heap_in_use();
    if (n == 0) {
        fprintf(stderr, "au_pipeline_run: %s: no frames\n", video);
        goto out;
    }
    if (au_tracker_finish(t, &err) != AU_OK)
        goto out;
    double sum = 0;
    for (long long i = 0; i < n; i++) {
        double reg[AU_N_AU_REG], cls[AU_N_AU_CLASS];
        if (au_tracker_final_aus(t, (size_t)i, reg, cls, &err) != AU_OK)
            goto out;
        for (int k = 0; k < AU_N_AU_REG; k++)
            sum += reg[k];
        for (int k = 0; k < AU_N_AU_CLASS; k++)
            sum += cls[k];
    }
    double dt = now_s() - t0;
    long long heap_end = heap_in_use();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("frames=%lld successes=%lld seconds=%.2f fps=%.1f maxrss_kb=%ld last_success=%d au_sum=%.2f", n, succ, dt,
           dt > 0 ? (double)n / dt : 0.0, ru.ru_maxrss, r.success, sum);
    if (heap_at > 0)
        printf(" succ_k=%lld heap_k=%lld heap_last=%lld heap_end=%lld", succ_k, heap_k, heap_last, heap_end);
    printf("\n");
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "au_pipeline_run: %s\n", err.msg[0] ? err.msg : "failed");
    au_frame_free(&f);
    au_video_close(v);
    au_tracker_free(t);
    au_model_set_free(set);
    return rc;
}
