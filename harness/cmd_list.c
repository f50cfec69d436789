/* list: the variants (with their purposes) and the runs of a database. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "metric_names.h"
#include "store.h"
#include "sysinfo.h"
#include "variant.h"

static int print_run(const AuhRunRow *row, void *ctx)
{
    (void)ctx;
    char started[40], ended[40] = "unfinished";
    auh_format_utc(row->started_at, started, sizeof(started));
    if (!isnan(row->ended_at))
        auh_format_utc(row->ended_at, ended, sizeof(ended));
    printf("  %-4lld %-40s %s  %-24s %5lld jobs  %.12s  %s\n", (long long)row->id, row->run_key, started, ended,
           (long long)row->n_jobs, row->git_revision ? row->git_revision : "", row->host ? row->host : "");
    return 0;
}

int auh_cmd_list(int argc, char **argv)
{
    const char *db = AUH_STORE_DEFAULT_PATH;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--db") && i + 1 < argc) {
            db = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: auharness list [--db FILE]\n\nThe variants (name and purpose) and the runs stored in "
                   "FILE (default " AUH_STORE_DEFAULT_PATH ").\n");
            return 0;
        } else {
            fprintf(stderr, "auharness list: unexpected argument '%s'\nusage: auharness list [--db FILE]\n", argv[i]);
            return 2;
        }
    }
    printf("variants:\n");
    for (int i = 0; i < auh_variant_count(); i++) {
        const char *p = auh_variant_purpose(i);
        printf("  %-12s %s\n", auh_variant_name(i), p ? p : "");
    }
    printf("  %-12s OpenFace C++'s own output (openface= in a manifest), for comparison; not gated\n",
           AUH_VARIANT_OPENFACE);
    struct stat st;
    if (stat(db, &st) != 0) {
        printf("runs: none (%s does not exist)\n", db);
        return 0;
    }
    AuhStore s = {0};
    AuError err = {0};
    if (auh_store_open(&s, db, &err)) {
        fprintf(stderr, "auharness list: %s\n", err.msg);
        return 1;
    }
    printf("runs in %s:\n  %-4s %-40s %-24s  %-24s %10s  %-12s  %s\n", db, "id", "key", "started (UTC)", "ended",
           "jobs", "revision", "host");
    int rc = 0;
    if (auh_store_list_runs(&s, print_run, NULL, &err)) {
        fprintf(stderr, "auharness list: %s\n", err.msg);
        rc = 1;
    }
    auh_store_close(&s);
    return rc;
}
