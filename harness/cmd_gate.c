/* gate: the accuracy gate on a stored run, as an exit status for scripts and
 * CI. Prints the per-variant table, one verdict line per variant (each
 * failing item and why) and a last line with the overall verdict. */
#include <stdio.h>
#include <string.h>

#include "commands_report.h"
#include "report.h"
#include "summary.h"

static int usage(FILE *f)
{
    fprintf(f, "usage: auharness gate [RUN] [--db FILE] [--gate T]\n"
               "  RUN          run id or run key (default: the latest run)\n"
               "  --db FILE    results database (default " AUH_STORE_DEFAULT_PATH ")\n"
               "  --gate T     (or --threshold T) minimum AU accuracy (mean Pearson r) per item with AU labels (default 0.90)\n"
               "exit status: 0 every variant passes, 1 a variant fails, 2 usage or error\n");
    return 2;
}

int auh_cmd_gate(int argc, char **argv)
{
    const char *db = AUH_STORE_DEFAULT_PATH, *run = NULL;
    double threshold = AUH_GATE_DEFAULT;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db = argv[++i];
        else if ((!strcmp(argv[i], "--gate") || !strcmp(argv[i], "--threshold")) && i + 1 < argc) {
            /* --gate as `run` spells it; --threshold as `report` does */
            const char *flag = argv[i++];
            if (auh_parse_threshold(argv[i], &threshold)) {
                fprintf(stderr, "gate: %s '%s' is not a number in [-1, 1]\n", flag, argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!run && argv[i][0] != '-')
            run = argv[i];
        else {
            fprintf(stderr, "gate: unexpected argument '%s'\n", argv[i]);
            return usage(stderr);
        }
    }
    AuError err = {0};
    AuhStore s;
    int64_t run_id;
    if (auh_open_results_run(&s, db, run, &run_id, &err)) {
        fprintf(stderr, "gate: %s\n", err.msg);
        return 2;
    }
    AuhRunSummary rs;
    if (auh_run_summary_load(&s, run_id, threshold, &rs, &err)) {
        fprintf(stderr, "gate: %s\n", err.msg);
        auh_store_close(&s);
        return 2;
    }
    auh_store_close(&s);
    auh_run_summary_write_table(&rs, stdout);
    fputc('\n', stdout);
    auh_run_summary_write_gate(&rs, stdout);
    int status = auh_run_summary_write_verdict(&rs, stdout);
    auh_run_summary_free(&rs);
    return status;
}
