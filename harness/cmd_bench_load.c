/* bench-load: how long loading the whole model set takes (issue: at most 0.2 s
 * on the project's machine; OpenFace C++ takes 0.2-0.35 s). Wall time per load,
 * repeated, with min / median / max, so a reader sees the spread on a shared
 * machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "sysinfo.h"
#include "data_dir.h"
#include "models.h"

/* Seconds on the monotonic clock. */
static double now_s(void)
{
    return 1e-9 * (double)auh_monotonic_ns();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int auh_cmd_bench_load(int argc, char **argv)
{
    char models[1024];
    auh_default_models_dir(models, sizeof(models));
    int n = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--models") && i + 1 < argc)
            snprintf(models, sizeof(models), "%s", argv[++i]);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = atoi(argv[++i]);
        else {
            fprintf(stderr, "bench-load: unknown option '%s' (--models DIR, -n N)\n", argv[i]);
            return 2;
        }
    }
    if (n < 1 || n > 1000) {
        fprintf(stderr, "bench-load: -n must be in 1..1000\n");
        return 2;
    }
    double *t = calloc((size_t)n, sizeof(double));
    if (!t)
        return 1;
    for (int k = 0; k < n; k++) {
        AuModels m;
        AuError err = {0};
        double t0 = now_s();
        AuStatus st = au_models_load(&m, models, &err);
        t[k] = now_s() - t0;
        if (st) {
            fprintf(stderr, "bench-load: %s\n", err.msg);
            free(t);
            return 1;
        }
        if (k == 0)
            printf("models: %s\n  CLNF %d points, %d scales, %d parts; MTCNN; validator; AU dynamic + static; AU PDM %d points\n",
                   models, m.clnf.pdm.n_points, m.clnf.n_scales, m.clnf.n_parts, m.au_pdm.n_points);
        au_models_free(&m);
    }
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    printf("load whole model set, %d runs: min %.3f s, median %.3f s, max %.3f s (OpenFace C++: 0.2-0.35 s)\n", n, t[0],
           t[n / 2], t[n - 1]);
    free(t);
    return 0;
}
