/* auharness: command-line entry point. Subcommands dispatch to one file each. */
#include <cblas.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "commands_report.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: auharness [run options]          = auharness run --all-variants [run options]\n"
            "       auharness <command> [options]\n"
            "\n"
            "commands:\n"
            "  run [--all-variants | --variant NAME...] [--dataset FILE] [--db FILE] [-j N] [--resume]\n"
            "      [--shard K/N --run-key KEY] [--gate X] [--openface-fps FPS] [--openface PATH] ...\n"
            "                                     every variant on every dataset item, into SQLite; table + gate\n"
            "  gate [RUN] [--db FILE] [--gate X]  exit status 1 when a variant of the run fails the AU gate\n"
            "  report [RUN] [--db FILE] [--out DIR] [--no-plots]\n"
            "                                     reports/<run>/report.md + report.html with gnuplot plots\n"
            "  list [--db FILE]                   variants with their purposes, runs in the database\n"
            "  merge OUT.sqlite IN.sqlite...      join databases (the shards of a run) into one\n"
            "  extract (-f INPUT | -fdir DIR)... -out_dir DIR [--variant NAME] [--models DIR]\n"
            "          [-2Dfp -3Dfp -pdmparams -pose -aus -gaze] [-au_static]\n"
            "                                     OpenFace FeatureExtraction-format CSV per input\n"
            "  compare OURS.csv --labels OPENFACE.csv\n"
            "                                     landmark error, pose, AU r / MAE, presence agreement\n"
            "  bench-load [--models DIR] [-n N]   time loading the whole OpenFace model set\n"
            "  probe -f INPUT...                  decode videos/images/folders, print frames, size, decode FPS\n"
            "\n"
            "`auharness <command> --help` describes each. Models default to the data folder filled by\n"
            "scripts/setup.sh ($AU_DATA_DIR/openface/models); --models points at any OpenFace install's\n"
            "folder holding model/ and AU_predictors/.\n\n");
    auh_run_usage(f);
}

int main(int argc, char **argv)
{
    /* One BLAS thread, as OpenFace sets it: the matrices are small, and idle
     * BLAS threads spinning beside the pipeline cost more than they give.
     * Parallelism comes from running jobs in separate processes (inherited
     * by the run's forked workers). */
    openblas_set_num_threads(1);
    /* Past a file-size limit (ulimit -f, quotas) a write must fail with EFBIG,
     * which the store and the CSV writers report as an error naming the file,
     * instead of the default SIGXFSZ killing the run without a word. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))) {
        usage(stdout);
        return 0;
    }
    /* No command, or options first: the run. */
    if (argc < 2 || argv[1][0] == '-')
        return auh_cmd_run(argc, argv);
    if (!strcmp(argv[1], "run"))
        return auh_cmd_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "gate"))
        return auh_cmd_gate(argc - 1, argv + 1);
    if (!strcmp(argv[1], "report"))
        return auh_cmd_report(argc - 1, argv + 1);
    if (!strcmp(argv[1], "list"))
        return auh_cmd_list(argc - 1, argv + 1);
    if (!strcmp(argv[1], "merge"))
        return auh_cmd_merge(argc - 1, argv + 1);
    if (!strcmp(argv[1], "bench-load"))
        return auh_cmd_bench_load(argc - 1, argv + 1);
    if (!strcmp(argv[1], "extract"))
        return auh_cmd_extract(argc - 1, argv + 1);
    if (!strcmp(argv[1], "compare"))
        return auh_cmd_compare(argc - 1, argv + 1);
    if (!strcmp(argv[1], "probe"))
        return auh_cmd_probe(argc - 1, argv + 1);
    fprintf(stderr, "auharness: unknown command '%s' (auharness --help lists them)\n", argv[1]);
    return 2;
}
