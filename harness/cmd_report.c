/* report: writes reports/<run key>/report.md, report.html and plots/ for a
 * stored run (see report.h). */
#include <stdio.h>
#include <string.h>

#include "commands_report.h"
#include "report.h"
#include "summary.h"

static int usage(FILE *f)
{
    fprintf(f, "usage: auharness report [RUN] [--db FILE] [--out DIR] [--data DIR] [--threshold T] [--no-plots]\n"
               "  RUN          run id or run key (default: the latest run)\n"
               "  --db FILE    results database (default " AUH_STORE_DEFAULT_PATH ")\n"
               "  --out DIR    reports folder (default reports); the report goes to DIR/<run key>/\n"
               "  --data DIR   data folder the jobs' label files are relative to (default: the harness's)\n"
               "  --threshold  gate: minimum AU accuracy per item with AU labels (default 0.90)\n"
               "  --no-plots   write the plots' data and gnuplot scripts without running gnuplot\n"
               "Plots need gnuplot (the gnuplot-nox package; AUHARNESS_GNUPLOT names another program).\n"
               "exit status: 0 written with every plot, 1 written without some plots or failed, 2 usage\n");
    return 2;
}

int auh_cmd_report(int argc, char **argv)
{
    const char *db = AUH_STORE_DEFAULT_PATH, *run = NULL;
    AuhReportOptions opt = {.out_dir = "reports", .threshold = AUH_GATE_DEFAULT, .plots = 1};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            opt.out_dir = argv[++i];
        else if (!strcmp(argv[i], "--data") && i + 1 < argc)
            opt.data_dir = argv[++i];
        else if (!strcmp(argv[i], "--no-plots"))
            opt.plots = 0;
        else if (!strcmp(argv[i], "--threshold") && i + 1 < argc) {
            if (auh_parse_threshold(argv[++i], &opt.threshold)) {
                fprintf(stderr, "report: --threshold '%s' is not a number in [-1, 1]\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!run && argv[i][0] != '-')
            run = argv[i];
        else {
            fprintf(stderr, "report: unexpected argument '%s'\n", argv[i]);
            return usage(stderr);
        }
    }
    AuError err = {0};
    AuhStore s;
    int64_t run_id;
    if (auh_open_results_run(&s, db, run, &run_id, &err)) {
        fprintf(stderr, "report: %s\n", err.msg);
        return 1;
    }
    AuhReportResult res;
    if (auh_report_write(&s, run_id, &opt, &res, &err)) {
        fprintf(stderr, "report: %s\n", err.msg);
        auh_store_close(&s);
        return 1;
    }
    auh_store_close(&s);
    printf("report: wrote %s and %s (%d plot%s drawn", res.md, res.html, res.n_plots - res.n_plots_failed,
           res.n_plots - res.n_plots_failed == 1 ? "" : "s");
    if (res.n_plots_skipped)
        printf(", %d without data", res.n_plots_skipped);
    printf("); gate: %s\n", res.n_failed_variants ? "FAIL (see the report)" : "PASS");
    if (res.n_plots_failed && opt.plots) {
        fprintf(stderr, "report: %d plot%s not drawn: %s\n", res.n_plots_failed, res.n_plots_failed == 1 ? "" : "s",
                res.plot_error);
        return 1;
    }
    return 0;
}
