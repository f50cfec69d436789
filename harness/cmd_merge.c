/* merge: joins databases (e.g. the shards of one run) into one. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "store.h"

#define MERGE_USAGE "usage: auharness merge OUT.sqlite IN.sqlite...\n"

int auh_cmd_merge(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf(MERGE_USAGE "\nCopies every run, job, frame, timing and metric of each IN into OUT (created when\n"
               "missing). Runs with the same key (the shards of one run: --shard K/N --run-key KEY) become one\n"
               "run; jobs OUT already has as 'ok' are skipped, so merging twice changes nothing.\n");
        return 0;
    }
    if (argc < 3) {
        fprintf(stderr, "auharness merge: need an output and at least one input\n" MERGE_USAGE);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-') {
            fprintf(stderr, "auharness merge: unknown option '%s'\n" MERGE_USAGE, argv[i]);
            return 2;
        }
    for (int i = 2; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "auharness merge: '%s': %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (!strcmp(argv[i], argv[1])) {
            fprintf(stderr, "auharness merge: '%s' is both the output and an input\n", argv[i]);
            return 2;
        }
    }
    AuhStore s = {0};
    AuError err = {0};
    if (auh_store_open(&s, argv[1], &err)) {
        fprintf(stderr, "auharness merge: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        AuhMergeStats stats = {0};
        if (auh_store_merge(&s, argv[i], &stats, &err)) {
            fprintf(stderr, "auharness merge: %s\n", err.msg);
            rc = 1;
            break;
        }
        printf("%s: %lld runs added, %lld joined; %lld jobs added, %lld already present; %lld frames\n", argv[i],
               (long long)stats.runs_added, (long long)stats.runs_joined, (long long)stats.jobs_added,
               (long long)stats.jobs_skipped, (long long)stats.frames_added);
    }
    auh_store_close(&s);
    return rc;
}
