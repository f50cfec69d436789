/* probe: decode inputs (videos, images, image folders) end to end and report
 * frames, size, decode errors and decode speed. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "sysinfo.h"
#include "video.h"

/* Seconds on the monotonic clock. */
static double now_s(void)
{
    return 1e-9 * (double)auh_monotonic_ns();
}

static int probe_one(const char *path)
{
    AuVideo *v = NULL;
    AuError err = {0};
    if (au_video_open(&v, path, &err)) {
        fprintf(stderr, "probe: %s\n", err.msg);
        return 1;
    }
    AuFrame f = {0};
    double t0 = now_s();
    AuStatus st;
    unsigned long long sum = 0;
    while ((st = au_video_read(v, &f, &err)) == AU_OK)
        sum += f.gray.data[(size_t)(f.gray.height / 2) * f.gray.stride + (size_t)f.gray.width / 2];
    double dt = now_s() - t0;
    int rc = 0;
    if (st != AU_ERR_EOF) {
        fprintf(stderr, "probe: %s\n", err.msg);
        rc = 1;
    }
    int64_t frames = au_video_frames_read(v);
    printf("%s: %lld frames, %dx%d, %.3f fps, %lld decode errors, decoded at %.0f frames/s\n", path,
           (long long)frames, au_video_width(v), au_video_height(v), au_video_fps(v),
           (long long)au_video_decode_errors(v), dt > 0 ? (double)frames / dt : 0.0);
    (void)sum;
    au_frame_free(&f);
    au_video_close(v);
    return rc;
}

int auh_cmd_probe(int argc, char **argv)
{
    int rc = 0, n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-f") && i + 1 < argc) {
            rc |= probe_one(argv[++i]);
            n++;
        } else {
            fprintf(stderr, "probe: unknown option '%s' (-f INPUT ...)\n", argv[i]);
            return 2;
        }
    }
    if (!n) {
        fprintf(stderr, "probe: no input (-f INPUT ...)\n");
        return 2;
    }
    return rc;
}
