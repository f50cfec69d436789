/* auharness: command-line entry point. Subcommands dispatch to one file each. */
#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: auharness [--all-variants] [options]\n"
            "       auharness <command> [options]\n"
            "\n"
            "commands:\n"
            "  bench-load [--models DIR] [-n N]   time loading the whole OpenFace model set\n"
            "  extract -f INPUT... -out_dir DIR [--variant NAME] [--models DIR]\n"
            "                                     OpenFace FeatureExtraction-format CSV per input\n"
            "  compare OURS.csv --labels OPENFACE.csv\n"
            "                                     landmark error, pose, AU r / MAE, presence agreement\n"
            "  probe -f INPUT...                  decode videos/images/folders, print frames, size, decode FPS\n"
            "\n"
            "Models default to the data folder filled by scripts/setup.sh ($AU_DATA_DIR/openface/models);\n"
            "--models points at any OpenFace install's folder holding model/ and AU_predictors/.\n");
}

int main(int argc, char **argv)
{
    /* One BLAS thread, as OpenFace sets it: the matrices are small, and idle
     * BLAS threads spinning beside the pipeline cost more than they give.
     * Parallelism comes from running jobs in separate processes. */
    openblas_set_num_threads(1);
    if (argc < 2 || !strcmp(argv[1], "--all-variants") || !strcmp(argv[1], "run")) {
        fprintf(stderr, "auharness: the variant runner (run / --all-variants) is not built yet; "
                        "available: bench-load, probe (see --help)\n");
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "bench-load"))
        return auh_cmd_bench_load(argc - 1, argv + 1);
    if (!strcmp(argv[1], "extract"))
        return auh_cmd_extract(argc - 1, argv + 1);
    if (!strcmp(argv[1], "compare"))
        return auh_cmd_compare(argc - 1, argv + 1);
    if (!strcmp(argv[1], "probe"))
        return auh_cmd_probe(argc - 1, argv + 1);
    fprintf(stderr, "auharness: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
