/* OpenFace's per-frame CSV (FeatureExtraction, FaceLandmarkImg): reader, data
 * model and writer that reproduces OpenFace's text byte for byte.
 *
 * What OpenFace writes (lib/local/Utilities/src/RecorderCSV.cpp, 2.2):
 * - the header lists the column groups that were asked for, in a fixed order:
 *   ids, gaze (+ 2D/3D eye landmarks), pose, 2D landmarks, 3D landmarks, PDM
 *   parameters, AU intensities (_r) then AU presences (_c), each AU set sorted
 *   by name (std::sort). Video/sequence files start with
 *   "frame,face_id,timestamp,confidence,success"; FaceLandmarkImg's still-image
 *   files start with "face,confidence".
 * - every value goes through an ostream in std::fixed with a per-group
 *   setprecision. libstdc++ formats a fixed double with printf's "%.*f", and a
 *   float is widened to double first, so each column is exactly
 *   printf("%.Nf", (double)value): a tiny negative value or -0.0 prints as
 *   "-0.0"/"-0.000", NaN as "nan"/"-nan". Integers (frame, face_id) and the
 *   success bool ignore the precision, which "%.0f" reproduces for integral
 *   values.
 * - precision per group: timestamp 3; confidence 2 (sequence) or 3 (image);
 *   gaze directions 6; gaze angles 3; eye landmarks (2D and 3D) 1; pose
 *   translation 1, rotation 3; 2D and 3D landmarks 1; PDM rigid and local
 *   parameters 3; AU intensities 2; AU presences 1.
 * - FeatureExtraction then rewrites the AU columns in
 *   FaceAnalyser::PostprocessOutputFile with precision 2 for both _r and _c
 *   (other fields are copied as text). So a post-processed file has "1.00" where
 *   an online one has "1.0"; AuhOfCsvLayout.au_postprocessed selects which.
 * - a frame without AU values writes a bare "0" per AU column.
 *
 * Values are stored as doubles. Where OpenFace prints a float (everything but
 * timestamp, confidence and the AUs) the caller must round to float first, as
 * AuhOfFrame's float fields force: the rounding to N decimals can differ
 * (0.45 prints "0.5" as a double but "0.4" as the float 0.45f). */
#ifndef AUH_OPENFACE_CSV_H
#define AUH_OPENFACE_CSV_H

#include <locale.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"

#define AUH_OF_MAX_AUS 64
#define AUH_OF_AU_NAME_MAX 32  /* "AU01" plus room; without the _r/_c suffix */
#define AUH_OF_COL_NAME_MAX 48 /* longest column name + NUL */
#define AUH_OF_MAX_POINTS 10000 /* bound on landmark / mode counts in a header */

/* What a column holds; decides its number format. */
typedef enum AuhOfColumnGroup {
    AUH_OF_COL_FRAME = 0,    /* int, 1-based frame number (sequence) */
    AUH_OF_COL_FACE_ID,      /* int: "face_id" (sequence) or "face" (image) */
    AUH_OF_COL_TIMESTAMP,    /* double seconds, 3 decimals */
    AUH_OF_COL_CONFIDENCE,   /* double, 2 decimals (sequence) or 3 (image) */
    AUH_OF_COL_SUCCESS,      /* bool, 0 or 1 */
    AUH_OF_COL_GAZE_DIR,     /* float, 6 decimals: gaze_0_x..gaze_1_z */
    AUH_OF_COL_GAZE_ANGLE,   /* float radians, 3 decimals */
    AUH_OF_COL_EYE_LMK_2D,   /* float pixels, 1 decimal: eye_lmk_x_i, eye_lmk_y_i */
    AUH_OF_COL_EYE_LMK_3D,   /* float mm, 1 decimal: eye_lmk_X_i, _Y_i, _Z_i */
    AUH_OF_COL_POSE_T,       /* float mm, 1 decimal */
    AUH_OF_COL_POSE_R,       /* float radians, 3 decimals */
    AUH_OF_COL_LMK_2D,       /* float pixels, 1 decimal: x_i, y_i */
    AUH_OF_COL_LMK_3D,       /* float mm, 1 decimal: X_i, Y_i, Z_i */
    AUH_OF_COL_PARAM_RIGID,  /* float, 3 decimals: p_scale, p_rx..p_ty */
    AUH_OF_COL_PARAM_LOCAL,  /* float, 3 decimals: p_i */
    AUH_OF_COL_AU_REG,       /* double, 2 decimals: AUxx_r */
    AUH_OF_COL_AU_CLASS,     /* double, 1 decimal online, 2 post-processed: AUxx_c */
} AuhOfColumnGroup;

/* Which column groups a file has, i.e. RecorderCSV::Open's arguments. */
typedef struct AuhOfCsvLayout {
    int is_sequence;        /* 1: FeatureExtraction; 0: FaceLandmarkImg ("face,confidence") */
    int has_gaze;
    int n_eye_landmarks;    /* 56 with OpenFace's eye models (both eyes) */
    int has_pose;
    int has_landmarks_2d;
    int has_landmarks_3d;
    int n_landmarks;        /* 68 */
    int has_pdm_params;
    int n_pdm_modes;        /* 34 for the 68-point PDM */
    int n_au_reg, n_au_class;
    char au_reg[AUH_OF_MAX_AUS][AUH_OF_AU_NAME_MAX];   /* names without "_r", in column order */
    char au_class[AUH_OF_MAX_AUS][AUH_OF_AU_NAME_MAX]; /* names without "_c", in column order */
    int au_postprocessed;   /* 1: AU columns as PostprocessOutputFile writes them */
} AuhOfCsvLayout;

/* Per-row flags: the row was written without AU values (bare "0" fields). */
enum { AUH_OF_ROW_NO_AU_REG = 1u, AUH_OF_ROW_NO_AU_CLASS = 2u };

/* Layout of `FeatureExtraction -2Dfp -3Dfp -pdmparams -pose -aus -gaze` with
 * OpenFace's default models (68 points, 34 modes, 56 eye landmarks, the 17
 * intensity and 18 presence AUs of main_dynamic_svms.txt), post-processed:
 * the 714-column files in data/openface/reference. */
void auh_of_layout_openface_video(AuhOfCsvLayout *layout);
/* Appends an AU name (e.g. "AU12") to the intensity (is_class=0) or presence set. */
AuStatus auh_of_layout_add_au(AuhOfCsvLayout *layout, const char *name, int is_class, AuError *err);
/* Sorts both AU sets by strcmp, as RecorderCSV::Open does before the header. */
void auh_of_layout_sort_aus(AuhOfCsvLayout *layout);
/* printf precision of a group under this layout. */
int auh_of_column_decimals(const AuhOfCsvLayout *layout, AuhOfColumnGroup group);

/* A whole CSV in memory: column names and rows of doubles (row-major). */
typedef struct AuhOfCsv {
    AuhOfCsvLayout layout;
    int n_cols;
    char (*names)[AUH_OF_COL_NAME_MAX]; /* n_cols names */
    unsigned char *groups;              /* n_cols AuhOfColumnGroup values */
    size_t n_rows, cap_rows;
    double *values;                     /* n_rows * n_cols */
    unsigned char *row_flags;           /* n_rows AUH_OF_ROW_* flags */
    /* first column of each group, -1 when the file does not have it */
    int col_frame, col_face_id, col_timestamp, col_confidence, col_success;
    int col_gaze, col_eye_lmk, col_pose, col_x0, col_y0, col_X0, col_Y0, col_Z0;
    int col_p_scale, col_p0, col_au_reg0, col_au_class0;
} AuhOfCsv;

/* Empty table (no rows) with the header of layout. Free with auh_of_csv_free. */
AuStatus auh_of_csv_init(AuhOfCsv *csv, const AuhOfCsvLayout *layout, AuError *err);
/* Reads an OpenFace CSV. The header must be one RecorderCSV writes (else the
 * error names the column); every row must have as many numeric fields as the
 * header and end with a newline. Errors name the file, line and column.
 * A "\r\n" line end is accepted (written back as "\n"). */
AuStatus auh_of_csv_read(AuhOfCsv *csv, const char *path, AuError *err);
/* Same on text in memory, reported as file `name`. */
AuStatus auh_of_csv_parse(AuhOfCsv *csv, const char *name, const char *text, size_t len, AuError *err);
/* Writes the table in OpenFace's format (from the numbers, see above). */
AuStatus auh_of_csv_write(const AuhOfCsv *csv, const char *path, AuError *err);
/* Appends one row of n_cols values (copied) with AUH_OF_ROW_* flags. */
AuStatus auh_of_csv_append_row(AuhOfCsv *csv, const double *values, unsigned flags, AuError *err);
/* Accepts a zeroed or partially initialised table. */
void auh_of_csv_free(AuhOfCsv *csv);

/* Column index of name, -1 if absent. */
int auh_of_csv_column(const AuhOfCsv *csv, const char *name);
static inline double auh_of_csv_get(const AuhOfCsv *csv, size_t row, int col)
{
    return csv->values[row * (size_t)csv->n_cols + (size_t)col];
}
static inline const double *auh_of_csv_row(const AuhOfCsv *csv, size_t row)
{
    return csv->values + row * (size_t)csv->n_cols;
}
/* Typed accessors. Integers return -1 and doubles NAN when the column is absent
 * (e.g. frame/timestamp/success in a FaceLandmarkImg file). */
int auh_of_csv_frame(const AuhOfCsv *csv, size_t row);
int auh_of_csv_face_id(const AuhOfCsv *csv, size_t row);
double auh_of_csv_timestamp(const AuhOfCsv *csv, size_t row);
double auh_of_csv_confidence(const AuhOfCsv *csv, size_t row);
int auh_of_csv_success(const AuhOfCsv *csv, size_t row);
/* 2D landmark i (0-based, pixels, OpenFace's 0-based image coordinates). */
double auh_of_csv_landmark_x(const AuhOfCsv *csv, size_t row, int i);
double auh_of_csv_landmark_y(const AuhOfCsv *csv, size_t row, int i);
/* AU column by full name, e.g. "AU12_r" or "AU12_c". */
double auh_of_csv_au(const AuhOfCsv *csv, size_t row, const char *column_name);

/* One observation as RecorderCSV::WriteLine receives it, with OpenFace's types.
 * Pointers are required for the groups the layout has. */
typedef struct AuhOfFrame {
    int frame;                   /* sequence only */
    int face_id;
    double timestamp;            /* sequence only */
    int success;                 /* sequence only; written as 0/1 */
    double confidence;           /* face_model.detection_certainty (a double) */
    float gaze_dir0[3], gaze_dir1[3];
    float gaze_angle[2];
    const float *eye_lmk_2d;     /* n_eye_landmarks (x, y) pairs (vector<Point2f>) */
    const float *eye_lmk_3d;     /* n_eye_landmarks (x, y, z) triplets (vector<Point3f>) */
    float pose[6];               /* Tx Ty Tz Rx Ry Rz (Vec6f) */
    const float *landmarks_2d;   /* 2n: all x then all y (OpenFace's Mat_<float>) */
    const float *landmarks_3d;   /* 3n: all X, all Y, all Z */
    float params_rigid[6];       /* scale rx ry rz tx ty (params_global, Vec6f) */
    const float *params_local;   /* n_pdm_modes */
    const double *au_reg;        /* n_au_reg in layout order, or NULL: bare "0"s */
    const double *au_class;      /* n_au_class in layout order, or NULL: bare "0"s */
} AuhOfFrame;

/* Streaming writer: open (writes the header), write rows, close. */
typedef struct AuhOfCsvWriter {
    FILE *file;
    char path[1024];
    AuhOfCsvLayout layout;
    int n_cols;
    unsigned char *decimals; /* per column */
    double *scratch;         /* n_cols, for auh_of_writer_write_frame */
    char *line;
    size_t line_cap;
    size_t n_rows;
    locale_t c_locale;       /* "C" numeric formatting whatever the process locale */
    int has_c_locale;
} AuhOfCsvWriter;

AuStatus auh_of_writer_open(AuhOfCsvWriter *w, const char *path, const AuhOfCsvLayout *layout, AuError *err);
/* n_cols values in column order with AUH_OF_ROW_* flags. */
AuStatus auh_of_writer_write_values(AuhOfCsvWriter *w, const double *values, unsigned flags, AuError *err);
AuStatus auh_of_writer_write_frame(AuhOfCsvWriter *w, const AuhOfFrame *frame, AuError *err);
/* Flushes and closes; reports write errors. Safe on a zeroed or failed writer
 * and on one already closed; always releases everything. */
AuStatus auh_of_writer_close(AuhOfCsvWriter *w, AuError *err);

#endif
