/* run (the default command): options -> AuhRunOptions -> auh_run. */
#define _XOPEN_SOURCE 700 /* readlink */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "data_dir.h"
#include "metric_names.h"
#include "openface_job.h"
#include "run.h"
#include "summary.h"
#include "variant.h"

#define DEFAULT_MANIFEST "datasets/default.manifest"

void auh_run_usage(FILE *f)
{
    fprintf(f,
            "usage: auharness [run] [--all-variants | --variant NAME...] [options]\n"
            "\n"
            "Runs every selected variant on every item of the datasets, one job per (variant, item) in\n"
            "its own worker process, and stores frames, timings and metrics in an SQLite database; then\n"
            "prints the per-variant table and the accuracy gate's verdicts. `auharness` alone runs\n"
            "`auharness run --all-variants`.\n"
            "\n"
            "  --all-variants          every variant of the table (the default; see `auharness list`)\n"
            "  --variant NAME[,NAME]   only these variants (repeatable)\n"
            "  --dataset FILE|FOLDER   a dataset manifest, or a study folder of videos + OpenFace CSVs\n"
            "                          (repeatable; default " DEFAULT_MANIFEST ", see datasets/README.md)\n"
            "  --data DIR              the data folder manifest paths are relative to (default $AU_DATA_DIR,\n"
            "                          else the folder scripts/setup.sh fills)\n"
            "  --models DIR            OpenFace's model folder (default DATA/openface/models)\n"
            "  --db FILE               results database (default " AUH_STORE_DEFAULT_PATH "; folders are created)\n"
            "  -j, --jobs N            worker processes at once (default 1; each job is single-threaded)\n"
            "  --resume                complete the latest unfinished run of the database: jobs it has as 'ok'\n"
            "                          are skipped, failed and missing ones run (with --run-key: that run)\n"
            "  --run-key KEY           the run's key: jobs the run already has as 'ok' are skipped; shards of\n"
            "                          one run share it so that `auharness merge` joins them\n"
            "  --shard K/N             run only the jobs whose index %% N == K-1 (needs --run-key), e.g. a\n"
            "                          SLURM array: --shard $((SLURM_ARRAY_TASK_ID+1))/$SLURM_ARRAY_TASK_COUNT\n"
            "  --gate X                AU accuracy threshold of the verdicts (default %.2f)\n"
            "  --openface-fps FPS|ITEM=FPS[,ITEM=FPS]\n"
            "                          OpenFace C++'s speed to compare with. Default: its single-threaded\n"
            "                          tracking-loop FPS measured on the reference machine\n"
            "                          (data/openface/reference/README.md): default.wmv 41.3,\n"
            "                          changeLighting.wmv 33.5\n"
            "  --openface PATH         an OpenFace FeatureExtraction binary: run and time it (single-threaded)\n"
            "                          on the same videos instead\n"
            "  --no-openface           leave out the OpenFace C++ rows (variant 'openface')\n"
            "  --report DIR            at the end, write DIR/<run key>/report.md + report.html with plots\n"
            "  --max-frames N          only the first N frames (images) of each item: quick runs\n"
            "  --export-json FILE, --export-csv FILE\n"
            "                          the run's per-job results and metrics\n"
            "  --progress bar|lines    progress bar (default on a terminal) or a line per finished job\n"
            "\n"
            "Exit status: 0 when the run completed (jobs that failed are recorded and reported; a variant\n"
            "failing the gate does not change it: `auharness gate` is the command whose status gates),\n"
            "1 when it could not run or complete, 2 for a usage error.\n",
            AUH_GATE_DEFAULT);
}

static int usage_error(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "auharness run: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n(see auharness run --help)\n");
    return 2;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

static int add_variants(AuhRunOptions *o, const char *list)
{
    const char *p = list;
    while (1) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char name[AUH_VARIANT_NAME_MAX];
        if (n == 0 || n >= sizeof(name))
            return usage_error("--variant '%s': empty or overlong name%s", list, "");
        memcpy(name, p, n);
        name[n] = '\0';
        if (!strcmp(name, AUH_VARIANT_OPENFACE))
            return usage_error("--variant '%s': the OpenFace C++ rows are added for every item with openface= "
                               "(--no-openface leaves them out)%s",
                               list, "");
        int idx = auh_variant_find(name);
        if (idx < 0) {
            char known[1024] = "";
            for (int i = 0; i < auh_variant_count(); i++) {
                size_t l = strlen(known);
                snprintf(known + l, sizeof(known) - l, "%s%s", i ? ", " : "", auh_variant_name(i));
            }
            fprintf(stderr, "auharness run: --variant '%s': unknown variant '%s' (known: %s)\n", list, name, known);
            return 2;
        }
        int dup = 0;
        for (int i = 0; i < o->n_variants; i++)
            dup |= !strcmp(o->variants[i], auh_variant_name(idx));
        if (!dup) {
            if (o->n_variants == AUH_RUN_MAX_VARIANTS)
                return usage_error("--variant '%s': too many variants%s", list, "");
            o->variants[o->n_variants++] = auh_variant_name(idx);
        }
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* datasets/default.manifest in the working folder, else in the source tree
 * the program was built in (build/harness/auharness -> ../../datasets). */
static const char *default_manifest(char *buf, size_t n)
{
    struct stat st;
    if (stat(DEFAULT_MANIFEST, &st) == 0)
        return DEFAULT_MANIFEST;
    char exe[2048];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, n, "%s/../../%s", exe, DEFAULT_MANIFEST);
            if (stat(buf, &st) == 0)
                return buf;
        }
    }
    return NULL;
}

/* Sorts the selected variants into table order (the job list's order must
 * not depend on how the names were given: shards rely on it). */
static void table_order(AuhRunOptions *o)
{
    int n = 0;
    const char *sorted[AUH_RUN_MAX_VARIANTS];
    for (int i = 0; i < auh_variant_count(); i++)
        for (int k = 0; k < o->n_variants; k++)
            if (!strcmp(o->variants[k], auh_variant_name(i)) && n < AUH_RUN_MAX_VARIANTS)
                sorted[n++] = auh_variant_name(i);
    memcpy(o->variants, sorted, (size_t)n * sizeof(sorted[0]));
    o->n_variants = n;
}

static char *join_command(int argc, char **argv)
{
    size_t len = 16;
    for (int i = 0; i < argc; i++)
        len += 3 + 2 * strlen(argv[i]);
    char *s = malloc(len);
    if (!s)
        return NULL;
    size_t k = 0;
    k += (size_t)snprintf(s, len, "auharness run");
    for (int i = 0; i < argc; i++) {
        s[k++] = ' ';
        int quote = !argv[i][0] || strpbrk(argv[i], " \t\"'\\$") != NULL;
        if (quote)
            s[k++] = '\'';
        for (const char *p = argv[i]; *p; p++) {
            if (*p == '\'' && quote) {
                memcpy(s + k, "'\\''", 4);
                k += 4;
            } else {
                s[k++] = *p;
            }
        }
        if (quote)
            s[k++] = '\'';
    }
    s[k] = '\0';
    return s;
}

int auh_cmd_run(int argc, char **argv)
{
    AuhRunOptions *o = calloc(1, sizeof(*o));
    if (!o) {
        fprintf(stderr, "auharness run: out of memory\n");
        return 1;
    }
    o->db_path = AUH_STORE_DEFAULT_PATH;
    o->jobs = 1;
    o->gate = AUH_GATE_DEFAULT;
    const char *data = NULL, *models = NULL;
    int all_variants = 0, rc = 0;
    char models_buf[4096], manifest_buf[4096];
    char *command = NULL;
    /* argv[0] is the command name ("run"), or the program's first option. */
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = !strcmp(a, "--variant") || !strcmp(a, "--dataset") || !strcmp(a, "--data") ||
                    !strcmp(a, "--models") || !strcmp(a, "--db") || !strcmp(a, "-j") || !strcmp(a, "--jobs") ||
                    !strcmp(a, "--run-key") || !strcmp(a, "--shard") || !strcmp(a, "--gate") ||
                    !strcmp(a, "--openface-fps") || !strcmp(a, "--openface") || !strcmp(a, "--max-frames") ||
                    !strcmp(a, "--export-json") || !strcmp(a, "--export-csv") || !strcmp(a, "--progress") ||
                    !strcmp(a, "--report");
        if (takes && !v) {
            rc = usage_error("%s needs a value%s", a, "");
            break;
        }
        if (takes)
            i++;
        long n;
        AuError err = {0};
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            auh_run_usage(stdout);
            free(o);
            return 0;
        } else if (!strcmp(a, "--all-variants")) {
            all_variants = 1;
        } else if (!strcmp(a, "--variant")) {
            rc = add_variants(o, v);
        } else if (!strcmp(a, "--dataset")) {
            if (o->n_datasets == AUH_RUN_MAX_DATASETS)
                rc = usage_error("--dataset '%s': too many datasets%s", v, "");
            else
                o->datasets[o->n_datasets++] = v;
        } else if (!strcmp(a, "--data")) {
            data = v;
        } else if (!strcmp(a, "--models")) {
            models = v;
        } else if (!strcmp(a, "--db")) {
            o->db_path = v;
        } else if (!strcmp(a, "-j") || !strcmp(a, "--jobs")) {
            if (!parse_long(v, 1, 1024, &n))
                rc = usage_error("%s '%s': expected a number of worker processes from 1 to 1024", a, v);
            else
                o->jobs = (int)n;
        } else if (!strcmp(a, "--resume")) {
            o->resume = 1;
        } else if (!strcmp(a, "--run-key")) {
            if (!v[0] || strlen(v) >= AUH_RUN_KEY_MAX)
                rc = usage_error("--run-key '%s': expected 1 to 255 characters%s", v, "");
            o->run_key = v;
        } else if (!strcmp(a, "--shard")) {
            const char *slash = strchr(v, '/');
            char kbuf[32];
            long k = 0, nn = 0;
            if (slash && (size_t)(slash - v) < sizeof(kbuf)) {
                memcpy(kbuf, v, (size_t)(slash - v));
                kbuf[slash - v] = '\0';
            }
            if (!slash || (size_t)(slash - v) >= sizeof(kbuf) || !parse_long(kbuf, 1, 1000000, &k) ||
                !parse_long(slash + 1, 1, 1000000, &nn) || k > nn)
                rc = usage_error("--shard '%s': expected K/N with 1 <= K <= N%s", v, "");
            o->shard_k = (int)k;
            o->shard_n = (int)nn;
        } else if (!strcmp(a, "--gate")) {
            char *end;
            double g = strtod(v, &end);
            if (!v[0] || *end || !(g >= -1 && g <= 1))
                rc = usage_error("--gate '%s': expected an AU accuracy (Pearson r) from -1 to 1%s", v, "");
            o->gate = g;
        } else if (!strcmp(a, "--openface-fps")) {
            if (auh_openface_fps_parse(&o->openface, v, &err))
                rc = usage_error("%s%s", err.msg, "");
        } else if (!strcmp(a, "--openface")) {
            if (auh_openface_check_binary(v, &err))
                rc = usage_error("%s%s", err.msg, "");
            o->openface.binary = v;
        } else if (!strcmp(a, "--no-openface")) {
            o->no_openface = 1;
        } else if (!strcmp(a, "--max-frames")) {
            if (!parse_long(v, 1, LONG_MAX, &n))
                rc = usage_error("--max-frames '%s': expected a positive number%s", v, "");
            o->max_frames = n;
        } else if (!strcmp(a, "--report")) {
            o->report_dir = v;
        } else if (!strcmp(a, "--export-json")) {
            o->export_json = v;
        } else if (!strcmp(a, "--export-csv")) {
            o->export_csv = v;
        } else if (!strcmp(a, "--progress")) {
            if (!strcmp(v, "bar"))
                o->progress = AUH_PROGRESS_BAR;
            else if (!strcmp(v, "lines"))
                o->progress = AUH_PROGRESS_LINES;
            else
                rc = usage_error("--progress '%s': expected bar or lines%s", v, "");
        } else {
            rc = usage_error("unknown option '%s'%s", a, "");
        }
    }
    if (!rc && all_variants && o->n_variants)
        rc = usage_error("--all-variants and --variant %s: give one of them%s", o->variants[0], "");
    if (!rc && o->shard_n && !o->run_key)
        rc = usage_error("--shard %s needs --run-key KEY, shared by every shard, so that their results form one "
                         "run%s",
                         "K/N", "");
    if (rc) {
        free(o);
        return rc;
    }
    if (!o->n_variants)
        for (int i = 0; i < auh_variant_count() && i < AUH_RUN_MAX_VARIANTS; i++)
            o->variants[o->n_variants++] = auh_variant_name(i);
    table_order(o);
    if (!o->n_datasets) {
        const char *m = default_manifest(manifest_buf, sizeof(manifest_buf));
        if (!m) {
            fprintf(stderr, "auharness run: no --dataset given and no default manifest: neither ./%s nor the source "
                            "tree's exists\n", DEFAULT_MANIFEST);
            free(o);
            return 2;
        }
        o->datasets[o->n_datasets++] = m;
    }
    o->data_dir = data ? data : auh_data_dir();
    if (!models) {
        snprintf(models_buf, sizeof(models_buf), "%s/openface/models", o->data_dir);
        models = models_buf;
    }
    o->models_dir = models;
    command = join_command(argc - 1, argv + 1);
    o->command = command ? command : "auharness";
    rc = auh_run(o, NULL);
    free(command);
    free(o);
    return rc;
}
