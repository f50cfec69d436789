/* Names of the per-job metrics the evaluation stores (metrics table) and the
 * report, plots, table and gate read. One place, so writer and readers agree.
 * Definitions: metrics.h and DESIGN.md "Harness". A metric that is undefined
 * for a job (no labels, a constant label) is stored as NULL or not at all. */
#ifndef AUH_METRIC_NAMES_H
#define AUH_METRIC_NAMES_H

/* speed */
#define AUH_M_FPS "fps"                       /* frames / wall s of the frame loop */
#define AUH_M_FRAMES "frames"                 /* frames (images) processed */
#define AUH_M_FRAMES_SUCCESS "frames_success" /* frames with a tracked face */
#define AUH_M_FRAMES_UNREADABLE "frames_unreadable"
/* frames / CPU s of the worker during the frame loop: the FPS without the
 * time other processes or the hypervisor took the core (not a figure to
 * compare with another machine's wall-clock FPS) */
#define AUH_M_CPU_FPS "cpu_fps"
/* share of all CPUs' time the hypervisor gave other guests during the frame
 * loop (/proc/stat steal, machine-wide, 0..1): how busy the host was */
#define AUH_M_HOST_STEAL "host_steal"
/* OpenFace C++'s rows: 1 when its binary ran in this run and its tracking
 * loop was timed (--openface), 0 when its FPS is a given figure
 * (--openface-fps or the reference machine's) */
#define AUH_M_OPENFACE_TIMED "openface_timed"

/* landmarks against the labels (videos: OpenFace CSV; image sets: .pts) */
#define AUH_M_LMK_MEAN_PX "lmk_mean_px"
#define AUH_M_LMK_MEDIAN_PX "lmk_median_px"
#define AUH_M_LMK_RMSE_PX "lmk_rmse_px"
#define AUH_M_LMK_MEAN_NME "lmk_mean_nme"
#define AUH_M_LMK_MEDIAN_NME "lmk_median_nme"
#define AUH_M_LMK_AUC "lmk_auc08"
#define AUH_M_LMK_FAILURE_RATE "lmk_failure_rate"
#define AUH_M_LMK_MISSED "lmk_missed"         /* labelled frames/images without a prediction */

/* AUs against the labels (videos with OpenFace CSV labels) */
#define AUH_M_AU_MEAN_R "au_mean_r"           /* the gate metric */
#define AUH_M_AU_LEFT_OUT "au_left_out"       /* number of AUs constant in the labels */
#define AUH_M_AU_R_PREFIX "au_r."             /* + AU name: "au_r.AU01" */
#define AUH_M_AU_MAE_PREFIX "au_mae."         /* + AU name */
#define AUH_M_PRESENCE_AGREEMENT "presence_agreement"
#define AUH_M_PRESENCE_F1 "presence_f1"
#define AUH_M_PRESENCE_F1_PREFIX "presence_f1." /* + AU name */

/* Variant name of the rows that stand for OpenFace C++ itself: one job per
 * item whose frames are OpenFace's CSV output and whose fps is measured
 * (--openface PATH) or given (--openface-fps). */
#define AUH_VARIANT_OPENFACE "openface"

/* stage timings use au_stage_name() names (core/profile.h) */

#endif
