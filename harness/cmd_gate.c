/* gate: the accuracy gate of a stored run, as an exit status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "store.h"
#include "summary.h"

#define GATE_USAGE "usage: auharness gate [RUN] [--db FILE] [--gate X]\n"

typedef struct FindRun {
    const char *want; /* key or id as text; NULL: the latest */
    int64_t id;
    double started;
    char key[256];
} FindRun;

static int find_run(const AuhRunRow *row, void *ctx)
{
    FindRun *f = ctx;
    char idtext[32];
    snprintf(idtext, sizeof(idtext), "%lld", (long long)row->id);
    if (f->want ? (!strcmp(f->want, row->run_key) || !strcmp(f->want, idtext)) : 1) {
        /* runs come in start order: the last one seen is the latest */
        f->id = row->id;
        snprintf(f->key, sizeof(f->key), "%s", row->run_key);
    }
    return 0;
}

/* Opens an existing database (never creates one). */
int auh_open_existing_store(AuhStore *s, const char *path, const char *cmd)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "auharness %s: --db '%s': %s\n", cmd, path, strerror(errno));
        return 2;
    }
    AuError err = {0};
    if (auh_store_open(s, path, &err)) {
        fprintf(stderr, "auharness %s: %s\n", cmd, err.msg);
        return 2;
    }
    return 0;
}

int auh_cmd_gate(int argc, char **argv)
{
    const char *db = AUH_STORE_DEFAULT_PATH, *run = NULL;
    double gate = AUH_GATE_DEFAULT;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf(GATE_USAGE "\nJudges the variants of RUN (a run key or id; default the latest run of the database,\n"
                   "default " AUH_STORE_DEFAULT_PATH "): a variant passes when its AU accuracy (mean Pearson r over\n"
                   "the intensity AUs) is at least X (default %.2f) on every item with AU labels and none of\n"
                   "its jobs failed. OpenFace C++'s own rows are not judged.\n"
                   "Exit status: 0 every variant passes, 1 some variant fails (each is named, with why),\n"
                   "2 usage or database error.\n",
                   AUH_GATE_DEFAULT);
            return 0;
        } else if (!strcmp(argv[i], "--db") && i + 1 < argc) {
            db = argv[++i];
        } else if (!strcmp(argv[i], "--gate") && i + 1 < argc) {
            char *end;
            const char *v = argv[++i];
            gate = strtod(v, &end);
            if (!v[0] || *end || !(gate >= -1 && gate <= 1)) {
                fprintf(stderr, "auharness gate: --gate '%s': expected an AU accuracy from -1 to 1\n", v);
                return 2;
            }
        } else if (argv[i][0] != '-' && !run) {
            run = argv[i];
        } else {
            fprintf(stderr, "auharness gate: unexpected argument '%s'\n" GATE_USAGE, argv[i]);
            return 2;
        }
    }
    AuhStore s = {0};
    int rc = auh_open_existing_store(&s, db, "gate");
    if (rc)
        return rc;
    AuError err = {0};
    FindRun f = {run, 0, 0, ""};
    if (auh_store_list_runs(&s, find_run, &f, &err)) {
        fprintf(stderr, "auharness gate: %s\n", err.msg);
        auh_store_close(&s);
        return 2;
    }
    if (!f.id) {
        if (run)
            fprintf(stderr, "auharness gate: %s has no run '%s' (auharness list --db %s shows the runs)\n", db, run, db);
        else
            fprintf(stderr, "auharness gate: %s has no runs\n", db);
        auh_store_close(&s);
        return 2;
    }
    int n_failed = 0;
    printf("run %s (%s)\n", f.key, db);
    if (auh_gate_run(&s, f.id, gate, stdout, &n_failed, &err)) {
        fprintf(stderr, "auharness gate: %s\n", err.msg);
        auh_store_close(&s);
        return 2;
    }
    auh_store_close(&s);
    return n_failed ? 1 : 0;
}
