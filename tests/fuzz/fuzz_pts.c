/* libFuzzer target: the iBUG .pts parser (auh_pts_parse) from memory. */
#include "fuzz_common.h"

#include "pts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    AuhPts pts;
    AuError err = {0};
    AuStatus s = auh_pts_parse(&pts, "input.pts", (const char *)data, size, &err);
    fuzz_check_error(s, err.msg, "input.pts");
    if (s == AU_OK) {
        volatile double sum = 0;
        for (int i = 0; i < pts.n_points; i++)
            sum += pts.x[i] + pts.y[i];
        (void)sum;
    }
    auh_pts_free(&pts);
    return 0;
}
