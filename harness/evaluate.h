/* Evaluation of a finished job against its dataset item's labels, before the
 * job is committed: per-frame landmark error (AuhJobFrame.lmk_px / .nme) and
 * the per-job metrics of metric_names.h. Definitions: metrics.h and
 * DESIGN.md "Harness".
 *
 * Labels:
 * - video: an OpenFace CSV (labels=). Its rows are matched to the job's
 *   frames by frame number (both 1-based); a row is a labelled frame when its
 *   success is 1. Landmarks x_i / y_i (0-based pixels) and AUs AUxx_r /
 *   AUxx_c, matched to the job's AUs by name.
 * - image set: one iBUG .pts per image (1-based by the 300-W convention, so 1
 *   is subtracted from every coordinate); image i is frame i + 1.
 *
 * Frames compared: landmarks on every labelled frame; a labelled frame the job
 * has no successful prediction for counts as missed (NME +inf in the median,
 * AUC and failure rate, not in the pixel means). AUs on the frames where both
 * the label and the prediction succeed. frame_limit > 0 restricts the labels
 * to frames 1..frame_limit (a run with --max-frames). */
#ifndef AUH_EVALUATE_H
#define AUH_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "manifest.h"
#include "openface_csv.h"
#include "store.h"

/* An item's labels, in frame order. */
typedef struct AuhItemLabels {
    int n_points;           /* landmark points per frame; 0: no landmark labels */
    size_t n;               /* labelled entries: video label rows / images */
    int *frame;             /* 1-based frame number of each entry */
    unsigned char *success; /* 1: the entry is a usable label */
    double *lmk;            /* n x 2*n_points: x0..x(n-1), y0..y(n-1), 0-based pixels */
    int has_csv;            /* video: csv holds the label file (its AU columns) */
    AuhOfCsv csv;
} AuhItemLabels;

/* Loads the item's labels; an unlabelled item gives n = 0. Errors name the
 * label file (and line). */
AuStatus auh_labels_load(AuhItemLabels *labels, const AuhManifestItem *item, AuError *err);
/* Accepts a zeroed or partially loaded struct. */
void auh_labels_free(AuhItemLabels *labels);

/* Of n_faces predicted faces (landmarks[f]: 2*n_points, x then y), the index
 * of the one whose landmark centroid is nearest the label's centroid, or 0
 * when there is no label (label NULL); -1 when n_faces == 0. */
int auh_pick_face(const float *const *landmarks, int n_faces, int n_points, const double *label, int label_points);

/* Sets the frames' lmk_px / nme and the job's landmark and AU metrics, plus
 * AUH_M_FRAMES and AUH_M_FRAMES_SUCCESS. Speed metrics are the caller's. */
AuStatus auh_evaluate_job(AuhJob *job, const AuhItemLabels *labels, int64_t frame_limit, AuError *err);

#endif
