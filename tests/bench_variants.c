/* bench_variants: every variant library side by side in one process, for the
 * speed ratios DESIGN.md asks for (never a test assertion).
 *
 *   bench_variants [--variants a,b,...] [--reps N] [--csv FILE] [VIDEO...]
 *
 * Defaults: every variant of the table, 3 repetitions, the two reference
 * videos (data/openface/videos/default.wmv and changeLighting.wmv). Each
 * variant's models are loaded once; the runs are interleaved (repetition,
 * then video, then variant) so that a change in machine load hits all
 * variants alike. Per video and variant it prints the median and best FPS of
 * the frame loop (decoding included, as variant_run.h defines it), the
 * speed-up of the median against the baseline and against OpenFace C++
 * single-threaded (tracking-loop FPS of data/openface/reference/README.md),
 * the AU accuracy against OpenFace's CSV (mean Pearson r over the intensity
 * AUs, the gate metric) and the mean landmark error; then each stage's share
 * of the frame loop (summed over the repetitions), "other" being decoding and
 * everything outside the stage timers. --csv writes one row per video and
 * variant. Run it with OPENBLAS_NUM_THREADS=1, as the harness does. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autest.h"
#include "sysinfo.h"
#include "variant.h"
#include "variant_run.h"

#define MAX_VARIANTS 32
#define MAX_VIDEOS 16
#define MAX_REPS 50

/* OpenFace C++ FeatureExtraction, single-threaded, tracking loop
 * (data/openface/reference/README.md, "Speed on this machine"). */
static double openface_fps(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!strcmp(base, "default.wmv"))
        return 41.3;
    if (!strcmp(base, "changeLighting.wmv"))
        return 33.5;
    return NAN;
}

typedef struct Cell {
    double fps[MAX_REPS];
    int n;
    int64_t loop_ns;
    int64_t stage_ns[AUV_MAX_STAGES], stage_calls[AUV_MAX_STAGES];
    int64_t frames;
    const char *stage_names[AUV_MAX_STAGES];
    int n_stages;
    AuvScore score;
    int scored;
} Cell;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double s[MAX_REPS];
    memcpy(s, v, (size_t)n * sizeof(double));
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

static double best(const double *v, int n)
{
    double b = 0;
    for (int i = 0; i < n; i++)
        b = fmax(b, v[i]);
    return b;
}

static const char *stem(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int main(int argc, char **argv)
{
    const char *variant_list = NULL, *csv_path = NULL;
    const char *videos[MAX_VIDEOS];
    int n_videos = 0, reps = 3;
    static char default_videos[2][1024];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--variants") && i + 1 < argc)
            variant_list = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--csv") && i + 1 < argc)
            csv_path = argv[++i];
        else if (argv[i][0] == '-' || n_videos == MAX_VIDEOS) {
            fprintf(stderr, "usage: bench_variants [--variants a,b,...] [--reps N] [--csv FILE] [VIDEO...]\n");
            return 2;
        } else
            videos[n_videos++] = argv[i];
    }
    if (reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "bench_variants: --reps must be 1..%d\n", MAX_REPS);
        return 2;
    }
    if (n_videos == 0) {
        snprintf(default_videos[0], sizeof(default_videos[0]), "%s/openface/videos/default.wmv", autest_data_dir());
        snprintf(default_videos[1], sizeof(default_videos[1]), "%s/openface/videos/changeLighting.wmv",
                 autest_data_dir());
        videos[n_videos++] = default_videos[0];
        videos[n_videos++] = default_videos[1];
    }

    /* the variants, in table order or as listed */
    char names[MAX_VARIANTS][AUH_VARIANT_NAME_MAX];
    int n_var = 0;
    if (variant_list) {
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", variant_list);
        for (char *tok = strtok(buf, ","); tok && n_var < MAX_VARIANTS; tok = strtok(NULL, ","))
            snprintf(names[n_var++], sizeof(names[0]), "%s", tok);
    } else {
        for (int i = 0; i < auh_variant_count() && n_var < MAX_VARIANTS; i++)
            snprintf(names[n_var++], sizeof(names[0]), "%s", auh_variant_name(i));
    }

    static AuhVariant var[MAX_VARIANTS];
    static AuModelSet *models[MAX_VARIANTS];
    static Cell cells[MAX_VIDEOS][MAX_VARIANTS];
    static AuhOfCsv refs[MAX_VIDEOS];
    static int has_ref[MAX_VIDEOS];
    AuError err = {0};
    char models_dir[1024];
    snprintf(models_dir, sizeof(models_dir), "%s/openface/models", autest_data_dir());
    int status = 1;
    for (int v = 0; v < n_var; v++) {
        if (auh_variant_open(&var[v], names[v], &err) ||
            var[v].api->model_set_load(&models[v], models_dir, &err)) {
            fprintf(stderr, "bench_variants: %s\n", err.msg);
            goto out;
        }
        fprintf(stderr, "%-10s %s  [%s]\n", names[v], var[v].path, var[v].api->config);
    }
    for (int k = 0; k < n_videos; k++) {
        char ref[2048], name[1024];
        snprintf(name, sizeof(name), "%s", stem(videos[k]));
        char *dot = strrchr(name, '.');
        if (dot)
            *dot = '\0';
        snprintf(ref, sizeof(ref), "%s/openface/reference/%s.csv", autest_data_dir(), name);
        has_ref[k] = auh_of_csv_read(&refs[k], ref, &err) == AU_OK;
        if (!has_ref[k])
            fprintf(stderr, "bench_variants: no reference for %s (%s): accuracy not scored\n", videos[k], err.msg);
    }

    AuhSysInfo si;
    auh_sysinfo_get(&si);
    printf("bench_variants: %d repetitions, %s, %d CPUs, revision %s\n", reps, si.cpu, si.n_cpus, si.git_revision);
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < n_videos; k++)
            for (int v = 0; v < n_var; v++) {
                AuvRun run;
                if (auv_run_video(var[v].api, models[v], videos[k], &run, &err)) {
                    fprintf(stderr, "bench_variants: %s\n", err.msg);
                    goto out;
                }
                Cell *c = &cells[k][v];
                c->fps[c->n++] = run.loop_ns > 0 ? (double)run.n_frames / (1e-9 * (double)run.loop_ns) : NAN;
                c->loop_ns += run.loop_ns;
                c->frames += run.n_frames;
                c->n_stages = run.n_stages;
                for (int s = 0; s < run.n_stages; s++) {
                    c->stage_ns[s] += (int64_t)run.stages[s].total_ns;
                    c->stage_calls[s] += (int64_t)run.stages[s].calls;
                    c->stage_names[s] = run.stages[s].name;
                }
                if (r == 0 && has_ref[k]) {
                    if (auv_score(&run, &refs[k], &c->score, &err)) {
                        fprintf(stderr, "bench_variants: %s: %s\n", videos[k], err.msg);
                        auv_run_free(&run);
                        goto out;
                    }
                    c->scored = 1;
                }
                fprintf(stderr, "  rep %d %-20s %-10s %7.1f fps\n", r + 1, stem(videos[k]), names[v],
                        c->fps[c->n - 1]);
                auv_run_free(&run);
            }

    FILE *csv = csv_path ? fopen(csv_path, "w") : NULL;
    if (csv_path && !csv) {
        fprintf(stderr, "bench_variants: cannot write %s\n", csv_path);
        goto out;
    }
    if (csv)
        fprintf(csv, "video,variant,fps_median,fps_best,speedup_baseline,speedup_openface,au_r,lmk_px\n");
    for (int k = 0; k < n_videos; k++) {
        const double of = openface_fps(videos[k]);
        int base = -1;
        for (int v = 0; v < n_var; v++)
            if (!strcmp(names[v], "baseline"))
                base = v;
        const double base_fps = base >= 0 ? median(cells[k][base].fps, cells[k][base].n) : NAN;
        printf("\n%s (OpenFace C++ single-threaded: %.1f fps)\n", videos[k], of);
        printf("%-10s %8s %8s %8s %8s %8s %8s\n", "variant", "fps", "best", "x base", "x OF", "AU r", "lmk px");
        for (int v = 0; v < n_var; v++) {
            const Cell *c = &cells[k][v];
            const double fps = median(c->fps, c->n);
            const double au_r = c->scored ? c->score.au_r : NAN, lmk = c->scored ? c->score.lmk_px : NAN;
            printf("%-10s %8.1f %8.1f %8.2f %8.2f %8.4f %8.3f\n", names[v], fps, best(c->fps, c->n), fps / base_fps,
                   fps / of, au_r, lmk);
            if (csv)
                fprintf(csv, "%s,%s,%.2f,%.2f,%.3f,%.3f,%.5f,%.4f\n", stem(videos[k]), names[v], fps,
                        best(c->fps, c->n), fps / base_fps, fps / of, au_r, lmk);
        }
        printf("stage shares of the frame loop (%%):\n%-12s", "stage");
        for (int v = 0; v < n_var; v++)
            printf(" %9s", names[v]);
        printf("\n");
        const int n_st = cells[k][0].n_stages;
        for (int s = 0; s <= n_st; s++) {
            printf("%-12s", s < n_st ? cells[k][0].stage_names[s] : "other");
            for (int v = 0; v < n_var; v++) {
                const Cell *c = &cells[k][v];
                int64_t ns = 0;
                if (s < n_st) {
                    ns = c->stage_ns[s];
                } else {
                    ns = c->loop_ns;
                    for (int i = 0; i < c->n_stages; i++)
                        ns -= c->stage_ns[i];
                }
                printf(" %9.1f", c->loop_ns > 0 ? 100.0 * (double)ns / (double)c->loop_ns : NAN);
            }
            printf("\n");
        }
        /* how often each stage ran: shows what skipping saved */
        printf("stage calls per frame:\n");
        for (int s = 0; s < n_st; s++) {
            printf("%-12s", cells[k][0].stage_names[s]);
            for (int v = 0; v < n_var; v++) {
                const Cell *c = &cells[k][v];
                printf(" %9.2f", c->frames > 0 ? (double)c->stage_calls[s] / (double)c->frames : NAN);
            }
            printf("\n");
        }
        printf("%-12s", "ms/frame");
        for (int v = 0; v < n_var; v++)
            printf(" %9.2f", 1e3 / median(cells[k][v].fps, cells[k][v].n));
        printf("\n");
    }
    if (csv)
        fclose(csv);
    status = 0;
out:
    for (int k = 0; k < n_videos; k++)
        if (has_ref[k])
            auh_of_csv_free(&refs[k]);
    for (int v = 0; v < n_var; v++) {
        if (models[v])
            var[v].api->model_set_free(models[v]);
        auh_variant_close(&var[v]);
    }
    return status;
}
