/* Plots of a run with gnuplot, run as a program: for each plot a data file
 * (tab-separated, with a comment header) and a script that draws it twice,
 * as PNG (pngcairo) and as SVG, so a user can re-plot or restyle them.
 *
 * The plots (file stems inside the plot folder):
 *   fps                FPS per variant, OpenFace C++ as a horizontal line
 *   speedup_accuracy   speed-up over baseline against AU accuracy, gate line
 *   stages             per-frame time per stage, stacked per variant
 *   au_accuracy        Pearson r per AU per variant
 *   ced                landmark CED per variant over the image-set items
 *   lmk_<item>         landmark error over the frames of each labelled video
 *   au_<AU>_<item>     one AU intensity (AU12 when present) over the frames of
 *                      each labelled video, against the labels
 *   history_fps        FPS per variant across the database's runs
 *   history_au         AU accuracy per variant across the runs
 * A plot without data (e.g. no image set, so no CED) is skipped with the
 * reason; a missing gnuplot fails every plot with a clear message and the
 * data files and scripts are still written. */
#ifndef AUH_PLOT_H
#define AUH_PLOT_H

#include <stddef.h>

#include "error.h"
#include "store.h"
#include "summary.h"

typedef struct AuhPlot {
    char name[160];   /* file stem: <name>.png, <name>.svg, <name>.gp, <name>.dat */
    char title[256];  /* what it shows */
    char note[768];   /* how to read it, data caveats */
    int written;      /* both the PNG and the SVG exist */
    char error[512];  /* why not, when not written */
} AuhPlot;

typedef struct AuhPlotSet {
    size_t n_plots;
    AuhPlot *plots;
    size_t n_skipped;
    char (*skipped)[256]; /* plots not drawn for lack of data, with the reason */
    int n_failed;         /* plots that gnuplot did not write */
    char error[512];      /* the first failure (e.g. gnuplot missing) */
} AuhPlotSet;

typedef struct AuhPlotOptions {
    const char *dir;      /* folder for the plot files (created) */
    const char *data_dir; /* data folder the jobs' label paths are relative to; NULL: auh_data_dir() */
    const char *gnuplot;  /* program; NULL: $AUHARNESS_GNUPLOT, else "gnuplot" */
    int run_gnuplot;      /* 0: write data and scripts only */
} AuhPlotOptions;

/* Writes the data files and scripts for every plot of the run and runs
 * gnuplot on them. Errors are returned for what stops the report (the
 * database, writing files); gnuplot's failures are recorded in out. Free out
 * with auh_plot_set_free (also after a failure). */
AuStatus auh_plots_make(AuhStore *s, const AuhRunSummary *rs, const AuhPlotOptions *opt, AuhPlotSet *out,
                        AuError *err);
void auh_plot_set_free(AuhPlotSet *set);

/* The gnuplot program the plots use (see AuhPlotOptions.gnuplot). */
const char *auh_plot_gnuplot_program(const char *configured);

/* Runs `program script` in dir with stdin from /dev/null and stdout/stderr to
 * log (a path inside dir). Returns the exit status, 127 when the program
 * cannot be run, -1 when the process could not be started. */
int auh_plot_run_program(const char *program, const char *dir, const char *script, const char *log);

#endif
