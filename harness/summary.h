/* What a run's results say, read back from the store: the per-variant table
 * printed at the end of a run (and by `auharness report`), and the accuracy
 * gate (`auharness gate`, and the verdicts `--all-variants` prints).
 *
 * Aggregation over a run's jobs of one variant: FPS = total frames / total
 * frame-loop wall seconds; speed-up = FPS / baseline's FPS (and / OpenFace
 * C++'s, the jobs of variant AUH_VARIANT_OPENFACE); landmark error, NME, AU
 * accuracy and presence agreement = means over the items that define them.
 * Gate: a variant passes when its AU accuracy (metric AUH_M_AU_MEAN_R) is at
 * least the threshold on every item with AU labels; a failed job fails it. */
#ifndef AUH_SUMMARY_H
#define AUH_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "store.h"

#define AUH_GATE_DEFAULT 0.90

/* Prints the per-variant table of the run to out. */
AuStatus auh_summary_print_table(AuhStore *s, int64_t run_id, FILE *out, AuError *err);

/* Judges every variant of the run against threshold; prints one verdict line
 * per variant to out (PASS / FAIL and, for a failure, each item and why).
 * *n_failed receives the number of failing variants. */
AuStatus auh_gate_run(AuhStore *s, int64_t run_id, double threshold, FILE *out, int *n_failed, AuError *err);

#endif
