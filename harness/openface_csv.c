#include "openface_csv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model_io.h"

/* ---- layout ---- */

/* OpenFace's AU sets for video (AU_predictors/main_dynamic_svms.txt), already
 * in the sorted order RecorderCSV gives them. */
static const char *const k_video_au_reg[] = {"AU01", "AU02", "AU04", "AU05", "AU06", "AU07",
                                             "AU09", "AU10", "AU12", "AU14", "AU15", "AU17",
                                             "AU20", "AU23", "AU25", "AU26", "AU45"};
static const char *const k_video_au_class[] = {"AU01", "AU02", "AU04", "AU05", "AU06", "AU07",
                                               "AU09", "AU10", "AU12", "AU14", "AU15", "AU17",
                                               "AU20", "AU23", "AU25", "AU26", "AU28", "AU45"};

void auh_of_layout_openface_video(AuhOfCsvLayout *l)
{
    memset(l, 0, sizeof(*l));
    l->is_sequence = 1;
    l->has_gaze = 1;
    l->n_eye_landmarks = 56;
    l->has_pose = 1;
    l->has_landmarks_2d = 1;
    l->has_landmarks_3d = 1;
    l->n_landmarks = 68;
    l->has_pdm_params = 1;
    l->n_pdm_modes = 34;
    l->n_au_reg = (int)(sizeof(k_video_au_reg) / sizeof(k_video_au_reg[0]));
    for (int i = 0; i < l->n_au_reg; i++)
        snprintf(l->au_reg[i], sizeof(l->au_reg[i]), "%s", k_video_au_reg[i]);
    l->n_au_class = (int)(sizeof(k_video_au_class) / sizeof(k_video_au_class[0]));
    for (int i = 0; i < l->n_au_class; i++)
        snprintf(l->au_class[i], sizeof(l->au_class[i]), "%s", k_video_au_class[i]);
    l->au_postprocessed = 1;
}

static int au_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= AUH_OF_AU_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (name[i] == ',' || name[i] == '\n' || name[i] == '\r')
            return 0;
    return 1;
}

AuStatus auh_of_layout_add_au(AuhOfCsvLayout *l, const char *name, int is_class, AuError *err)
{
    if (!au_name_valid(name))
        return au_error_set(err, AU_ERR_ARG, "invalid AU name '%s'", name);
    int *n = is_class ? &l->n_au_class : &l->n_au_reg;
    char(*names)[AUH_OF_AU_NAME_MAX] = is_class ? l->au_class : l->au_reg;
    if (*n >= AUH_OF_MAX_AUS)
        return au_error_set(err, AU_ERR_ARG, "more than %d AUs", AUH_OF_MAX_AUS);
    snprintf(names[*n], AUH_OF_AU_NAME_MAX, "%s", name);
    (*n)++;
    return AU_OK;
}

static int cmp_au_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

void auh_of_layout_sort_aus(AuhOfCsvLayout *l)
{
    qsort(l->au_reg, (size_t)l->n_au_reg, sizeof(l->au_reg[0]), cmp_au_name);
    qsort(l->au_class, (size_t)l->n_au_class, sizeof(l->au_class[0]), cmp_au_name);
}

int auh_of_column_decimals(const AuhOfCsvLayout *l, AuhOfColumnGroup g)
{
    switch (g) {
    case AUH_OF_COL_FRAME:
    case AUH_OF_COL_FACE_ID:
    case AUH_OF_COL_SUCCESS: return 0; /* ints and a bool: precision does not apply */
    case AUH_OF_COL_TIMESTAMP: return 3;
    /* WriteLine sets precision 2 before the sequence confidence, but the image
     * branch prints it right after setprecision(3). */
    case AUH_OF_COL_CONFIDENCE: return l->is_sequence ? 2 : 3;
    case AUH_OF_COL_GAZE_DIR: return 6;
    case AUH_OF_COL_GAZE_ANGLE: return 3;
    case AUH_OF_COL_EYE_LMK_2D:
    case AUH_OF_COL_EYE_LMK_3D:
    case AUH_OF_COL_POSE_T:
    case AUH_OF_COL_LMK_2D:
    case AUH_OF_COL_LMK_3D: return 1;
    case AUH_OF_COL_POSE_R:
    case AUH_OF_COL_PARAM_RIGID:
    case AUH_OF_COL_PARAM_LOCAL: return 3;
    case AUH_OF_COL_AU_REG: return 2;
    /* PostprocessOutputFile rewrites all AU columns with setprecision(2). */
    case AUH_OF_COL_AU_CLASS: return l->au_postprocessed ? 2 : 1;
    }
    return 3;
}

static AuStatus layout_check(const AuhOfCsvLayout *l, AuError *err)
{
    const int counts[] = {l->n_eye_landmarks, l->n_landmarks, l->n_pdm_modes};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        if (counts[i] < 0 || counts[i] > AUH_OF_MAX_POINTS)
            return au_error_set(err, AU_ERR_ARG, "OpenFace CSV layout: count %d out of range [0, %d]", counts[i],
                                AUH_OF_MAX_POINTS);
    if (l->n_au_reg < 0 || l->n_au_reg > AUH_OF_MAX_AUS || l->n_au_class < 0 || l->n_au_class > AUH_OF_MAX_AUS)
        return au_error_set(err, AU_ERR_ARG, "OpenFace CSV layout: AU count out of range [0, %d]", AUH_OF_MAX_AUS);
    for (int i = 0; i < l->n_au_reg; i++)
        if (!au_name_valid(l->au_reg[i]))
            return au_error_set(err, AU_ERR_ARG, "OpenFace CSV layout: invalid AU name '%.*s'", AUH_OF_AU_NAME_MAX,
                                l->au_reg[i]);
    for (int i = 0; i < l->n_au_class; i++)
        if (!au_name_valid(l->au_class[i]))
            return au_error_set(err, AU_ERR_ARG, "OpenFace CSV layout: invalid AU name '%.*s'", AUH_OF_AU_NAME_MAX,
                                l->au_class[i]);
    return AU_OK;
}

static int layout_n_cols(const AuhOfCsvLayout *l)
{
    int n = l->is_sequence ? 5 : 2;
    if (l->has_gaze)
        n += 8 + 5 * l->n_eye_landmarks;
    if (l->has_pose)
        n += 6;
    if (l->has_landmarks_2d)
        n += 2 * l->n_landmarks;
    if (l->has_landmarks_3d)
        n += 3 * l->n_landmarks;
    if (l->has_pdm_params)
        n += 6 + l->n_pdm_modes;
    return n + l->n_au_reg + l->n_au_class;
}

typedef struct ColumnList {
    char (*names)[AUH_OF_COL_NAME_MAX];
    unsigned char *groups;
    int n;
} ColumnList;

static void add_col(ColumnList *c, AuhOfColumnGroup g, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void add_col(ColumnList *c, AuhOfColumnGroup g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->names[c->n], AUH_OF_COL_NAME_MAX, fmt, ap);
    va_end(ap);
    c->groups[c->n] = (unsigned char)g;
    c->n++;
}

static void add_indexed(ColumnList *c, AuhOfColumnGroup g, const char *prefix, int count)
{
    for (int i = 0; i < count; i++)
        add_col(c, g, "%s%d", prefix, i);
}

/* The header RecorderCSV::Open writes for this layout, in its order. */
static void layout_fill_columns(const AuhOfCsvLayout *l, ColumnList *c)
{
    c->n = 0;
    if (l->is_sequence) {
        add_col(c, AUH_OF_COL_FRAME, "frame");
        add_col(c, AUH_OF_COL_FACE_ID, "face_id");
        add_col(c, AUH_OF_COL_TIMESTAMP, "timestamp");
        add_col(c, AUH_OF_COL_CONFIDENCE, "confidence");
        add_col(c, AUH_OF_COL_SUCCESS, "success");
    } else {
        add_col(c, AUH_OF_COL_FACE_ID, "face");
        add_col(c, AUH_OF_COL_CONFIDENCE, "confidence");
    }
    if (l->has_gaze) {
        static const char *const gaze[] = {"gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z"};
        for (int i = 0; i < 6; i++)
            add_col(c, AUH_OF_COL_GAZE_DIR, "%s", gaze[i]);
        add_col(c, AUH_OF_COL_GAZE_ANGLE, "gaze_angle_x");
        add_col(c, AUH_OF_COL_GAZE_ANGLE, "gaze_angle_y");
        add_indexed(c, AUH_OF_COL_EYE_LMK_2D, "eye_lmk_x_", l->n_eye_landmarks);
        add_indexed(c, AUH_OF_COL_EYE_LMK_2D, "eye_lmk_y_", l->n_eye_landmarks);
        add_indexed(c, AUH_OF_COL_EYE_LMK_3D, "eye_lmk_X_", l->n_eye_landmarks);
        add_indexed(c, AUH_OF_COL_EYE_LMK_3D, "eye_lmk_Y_", l->n_eye_landmarks);
        add_indexed(c, AUH_OF_COL_EYE_LMK_3D, "eye_lmk_Z_", l->n_eye_landmarks);
    }
    if (l->has_pose) {
        add_col(c, AUH_OF_COL_POSE_T, "pose_Tx");
        add_col(c, AUH_OF_COL_POSE_T, "pose_Ty");
        add_col(c, AUH_OF_COL_POSE_T, "pose_Tz");
        add_col(c, AUH_OF_COL_POSE_R, "pose_Rx");
        add_col(c, AUH_OF_COL_POSE_R, "pose_Ry");
        add_col(c, AUH_OF_COL_POSE_R, "pose_Rz");
    }
    if (l->has_landmarks_2d) {
        add_indexed(c, AUH_OF_COL_LMK_2D, "x_", l->n_landmarks);
        add_indexed(c, AUH_OF_COL_LMK_2D, "y_", l->n_landmarks);
    }
    if (l->has_landmarks_3d) {
        add_indexed(c, AUH_OF_COL_LMK_3D, "X_", l->n_landmarks);
        add_indexed(c, AUH_OF_COL_LMK_3D, "Y_", l->n_landmarks);
        add_indexed(c, AUH_OF_COL_LMK_3D, "Z_", l->n_landmarks);
    }
    if (l->has_pdm_params) {
        static const char *const rigid[] = {"p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"};
        for (int i = 0; i < 6; i++)
            add_col(c, AUH_OF_COL_PARAM_RIGID, "%s", rigid[i]);
        add_indexed(c, AUH_OF_COL_PARAM_LOCAL, "p_", l->n_pdm_modes);
    }
    for (int i = 0; i < l->n_au_reg; i++)
        add_col(c, AUH_OF_COL_AU_REG, "%s_r", l->au_reg[i]);
    for (int i = 0; i < l->n_au_class; i++)
        add_col(c, AUH_OF_COL_AU_CLASS, "%s_c", l->au_class[i]);
}

static int first_col_of(const ColumnList *c, AuhOfColumnGroup g)
{
    for (int i = 0; i < c->n; i++)
        if (c->groups[i] == g)
            return i;
    return -1;
}

/* ---- table ---- */

void auh_of_csv_free(AuhOfCsv *csv)
{
    if (!csv)
        return;
    free(csv->names);
    free(csv->groups);
    free(csv->values);
    free(csv->row_flags);
    memset(csv, 0, sizeof(*csv));
}

AuStatus auh_of_csv_init(AuhOfCsv *csv, const AuhOfCsvLayout *layout, AuError *err)
{
    memset(csv, 0, sizeof(*csv));
    AuStatus st = layout_check(layout, err);
    if (st)
        return st;
    csv->layout = *layout;
    int n = layout_n_cols(layout);
    csv->names = malloc((size_t)n * sizeof(csv->names[0]));
    csv->groups = malloc((size_t)n);
    if (!csv->names || !csv->groups) {
        auh_of_csv_free(csv);
        return au_error_set(err, AU_ERR_NOMEM, "OpenFace CSV: cannot allocate %d column names", n);
    }
    ColumnList c = {csv->names, csv->groups, 0};
    layout_fill_columns(layout, &c);
    csv->n_cols = c.n;

    csv->col_frame = first_col_of(&c, AUH_OF_COL_FRAME);
    csv->col_face_id = first_col_of(&c, AUH_OF_COL_FACE_ID);
    csv->col_timestamp = first_col_of(&c, AUH_OF_COL_TIMESTAMP);
    csv->col_confidence = first_col_of(&c, AUH_OF_COL_CONFIDENCE);
    csv->col_success = first_col_of(&c, AUH_OF_COL_SUCCESS);
    csv->col_gaze = first_col_of(&c, AUH_OF_COL_GAZE_DIR);
    csv->col_eye_lmk = layout->n_eye_landmarks > 0 ? first_col_of(&c, AUH_OF_COL_EYE_LMK_2D) : -1;
    csv->col_pose = first_col_of(&c, AUH_OF_COL_POSE_T);
    int nl = layout->n_landmarks;
    csv->col_x0 = nl > 0 ? first_col_of(&c, AUH_OF_COL_LMK_2D) : -1;
    csv->col_y0 = csv->col_x0 >= 0 ? csv->col_x0 + nl : -1;
    csv->col_X0 = nl > 0 ? first_col_of(&c, AUH_OF_COL_LMK_3D) : -1;
    csv->col_Y0 = csv->col_X0 >= 0 ? csv->col_X0 + nl : -1;
    csv->col_Z0 = csv->col_X0 >= 0 ? csv->col_X0 + 2 * nl : -1;
    csv->col_p_scale = first_col_of(&c, AUH_OF_COL_PARAM_RIGID);
    csv->col_p0 = first_col_of(&c, AUH_OF_COL_PARAM_LOCAL);
    csv->col_au_reg0 = first_col_of(&c, AUH_OF_COL_AU_REG);
    csv->col_au_class0 = first_col_of(&c, AUH_OF_COL_AU_CLASS);
    return AU_OK;
}

static AuStatus reserve_rows(AuhOfCsv *csv, size_t want, AuError *err)
{
    if (want <= csv->cap_rows)
        return AU_OK;
    size_t cap = csv->cap_rows ? csv->cap_rows : 64;
    while (cap < want)
        cap *= 2;
    size_t ncols = csv->n_cols > 0 ? (size_t)csv->n_cols : 1;
    if (cap > SIZE_MAX / sizeof(double) / ncols)
        return au_error_set(err, AU_ERR_NOMEM, "OpenFace CSV: too many rows (%zu)", want);
    double *v = realloc(csv->values, cap * ncols * sizeof(double));
    if (!v)
        return au_error_set(err, AU_ERR_NOMEM, "OpenFace CSV: cannot allocate %zu rows", cap);
    csv->values = v;
    unsigned char *f = realloc(csv->row_flags, cap);
    if (!f)
        return au_error_set(err, AU_ERR_NOMEM, "OpenFace CSV: cannot allocate %zu rows", cap);
    csv->row_flags = f;
    csv->cap_rows = cap;
    return AU_OK;
}

AuStatus auh_of_csv_append_row(AuhOfCsv *csv, const double *values, unsigned flags, AuError *err)
{
    AuStatus st = reserve_rows(csv, csv->n_rows + 1, err);
    if (st)
        return st;
    memcpy(csv->values + csv->n_rows * (size_t)csv->n_cols, values, (size_t)csv->n_cols * sizeof(double));
    csv->row_flags[csv->n_rows] = (unsigned char)flags;
    csv->n_rows++;
    return AU_OK;
}

int auh_of_csv_column(const AuhOfCsv *csv, const char *name)
{
    for (int i = 0; i < csv->n_cols; i++)
        if (!strcmp(csv->names[i], name))
            return i;
    return -1;
}

static double get_or_nan(const AuhOfCsv *csv, size_t row, int col)
{
    return col >= 0 && row < csv->n_rows ? auh_of_csv_get(csv, row, col) : NAN;
}

static int get_int_or_minus1(const AuhOfCsv *csv, size_t row, int col)
{
    double v = get_or_nan(csv, row, col);
    return isfinite(v) && fabs(v) < 2147483647.0 ? (int)v : -1;
}

int auh_of_csv_frame(const AuhOfCsv *csv, size_t row) { return get_int_or_minus1(csv, row, csv->col_frame); }
int auh_of_csv_face_id(const AuhOfCsv *csv, size_t row) { return get_int_or_minus1(csv, row, csv->col_face_id); }
int auh_of_csv_success(const AuhOfCsv *csv, size_t row) { return get_int_or_minus1(csv, row, csv->col_success); }
double auh_of_csv_timestamp(const AuhOfCsv *csv, size_t row) { return get_or_nan(csv, row, csv->col_timestamp); }
double auh_of_csv_confidence(const AuhOfCsv *csv, size_t row) { return get_or_nan(csv, row, csv->col_confidence); }

double auh_of_csv_landmark_x(const AuhOfCsv *csv, size_t row, int i)
{
    if (csv->col_x0 < 0 || i < 0 || i >= csv->layout.n_landmarks)
        return NAN;
    return get_or_nan(csv, row, csv->col_x0 + i);
}

double auh_of_csv_landmark_y(const AuhOfCsv *csv, size_t row, int i)
{
    if (csv->col_y0 < 0 || i < 0 || i >= csv->layout.n_landmarks)
        return NAN;
    return get_or_nan(csv, row, csv->col_y0 + i);
}

double auh_of_csv_au(const AuhOfCsv *csv, size_t row, const char *column_name)
{
    int c = auh_of_csv_column(csv, column_name);
    if (c < 0 || (csv->groups[c] != AUH_OF_COL_AU_REG && csv->groups[c] != AUH_OF_COL_AU_CLASS))
        return NAN;
    return get_or_nan(csv, row, c);
}

/* ---- C numeric locale for the duration of a read or write ---- */

/* OpenFace imbues a '.' decimal point; strtod and printf follow LC_NUMERIC,
 * so switch this thread (only) to "C" while we parse or format. */
typedef struct CLocaleScope {
    locale_t c, old;
    int active;
} CLocaleScope;

static void c_locale_enter(CLocaleScope *s)
{
    s->active = 0;
    s->c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (s->c != (locale_t)0) {
        s->old = uselocale(s->c);
        s->active = 1;
    }
}

static void c_locale_leave(CLocaleScope *s)
{
    if (s->active) {
        uselocale(s->old);
        freelocale(s->c);
        s->active = 0;
    }
}

/* ---- reading ---- */

/* Strict number syntax: what "%.Nf" can print ([-]digits[.digits], nan, inf)
 * plus an exponent for hand-made files; nothing strtod would accept beyond
 * that (hex, leading garbage). Sets *decimals to the digits after '.' (-1 if
 * none). */
static int parse_number(const char *s, size_t len, double *out, int *decimals)
{
    char buf[400];
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    const char *p = buf;
    *decimals = -1;
    if (*p == '-' || *p == '+')
        p++;
    if (!strcmp(p, "nan") || !strcmp(p, "inf")) {
        *out = strtod(buf, NULL);
        return 1;
    }
    int digits = 0;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        int frac = 0;
        while (*p >= '0' && *p <= '9')
            p++, frac++;
        digits += frac;
        *decimals = frac;
    }
    if (digits == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p != '\0')
        return 0;
    char *end = NULL;
    *out = strtod(buf, &end);
    return end == buf + len;
}

static int is_indexed_name(const char *name, const char *prefix, int index)
{
    char want[AUH_OF_COL_NAME_MAX];
    snprintf(want, sizeof(want), "%s%d", prefix, index);
    return !strcmp(name, want);
}

static int count_indexed(char (*hn)[AUH_OF_COL_NAME_MAX], int nh, int start, const char *prefix)
{
    int k = 0;
    while (start + k < nh && k <= AUH_OF_MAX_POINTS && is_indexed_name(hn[start + k], prefix, k))
        k++;
    return k;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && !strcmp(s + n - m, suffix);
}

/* Infers RecorderCSV::Open's arguments from a header; the exact order is
 * checked afterwards by regenerating the header from the layout. */
static AuStatus header_to_layout(const char *path, char (*hn)[AUH_OF_COL_NAME_MAX], int nh, AuhOfCsvLayout *l,
                                 AuError *err)
{
    memset(l, 0, sizeof(*l));
    int i;
    if (!strcmp(hn[0], "frame")) {
        l->is_sequence = 1;
        i = 5;
    } else if (!strcmp(hn[0], "face")) {
        i = 2;
    } else {
        return au_error_set(err, AU_ERR_FORMAT,
                            "%s:1: column 1: '%s' does not start an OpenFace CSV header (expected 'frame' or 'face')",
                            path, hn[0]);
    }
    if (i < nh && !strcmp(hn[i], "gaze_0_x")) {
        l->has_gaze = 1;
        i += 8;
        l->n_eye_landmarks = count_indexed(hn, nh, i, "eye_lmk_x_");
        i += 5 * l->n_eye_landmarks;
    }
    if (i < nh && !strcmp(hn[i], "pose_Tx")) {
        l->has_pose = 1;
        i += 6;
    }
    if (i < nh && !strcmp(hn[i], "x_0")) {
        l->has_landmarks_2d = 1;
        l->n_landmarks = count_indexed(hn, nh, i, "x_");
        i += 2 * l->n_landmarks;
    }
    if (i < nh && !strcmp(hn[i], "X_0")) {
        int n3 = count_indexed(hn, nh, i, "X_");
        if (l->has_landmarks_2d && n3 != l->n_landmarks)
            return au_error_set(err, AU_ERR_FORMAT, "%s:1: %d 2D landmark columns (x_i) but %d 3D (X_i)", path,
                                l->n_landmarks, n3);
        l->has_landmarks_3d = 1;
        l->n_landmarks = n3;
        i += 3 * n3;
    }
    if (i < nh && !strcmp(hn[i], "p_scale")) {
        l->has_pdm_params = 1;
        i += 6;
        l->n_pdm_modes = count_indexed(hn, nh, i, "p_");
        i += l->n_pdm_modes;
    }
    for (; i < nh && has_suffix(hn[i], "_r"); i++) {
        if (l->n_au_reg >= AUH_OF_MAX_AUS || strlen(hn[i]) - 2 >= AUH_OF_AU_NAME_MAX)
            return au_error_set(err, AU_ERR_FORMAT, "%s:1: column %d: too many or too long AU columns ('%s')", path,
                                i + 1, hn[i]);
        snprintf(l->au_reg[l->n_au_reg++], AUH_OF_AU_NAME_MAX, "%.*s", (int)(strlen(hn[i]) - 2), hn[i]);
    }
    for (; i < nh && has_suffix(hn[i], "_c"); i++) {
        if (l->n_au_class >= AUH_OF_MAX_AUS || strlen(hn[i]) - 2 >= AUH_OF_AU_NAME_MAX)
            return au_error_set(err, AU_ERR_FORMAT, "%s:1: column %d: too many or too long AU columns ('%s')", path,
                                i + 1, hn[i]);
        snprintf(l->au_class[l->n_au_class++], AUH_OF_AU_NAME_MAX, "%.*s", (int)(strlen(hn[i]) - 2), hn[i]);
    }
    if (i < nh)
        return au_error_set(err, AU_ERR_FORMAT, "%s:1: column %d: '%s' is not where OpenFace puts it", path, i + 1,
                            hn[i]);
    return AU_OK;
}

/* Splits the header line into trimmed names. */
static AuStatus split_header(const char *path, const char *line, size_t len, char (**out)[AUH_OF_COL_NAME_MAX],
                             int *n_out, AuError *err)
{
    int n = 1;
    for (size_t i = 0; i < len; i++)
        if (line[i] == ',')
            n++;
    char(*names)[AUH_OF_COL_NAME_MAX] = malloc((size_t)n * sizeof(names[0]));
    if (!names)
        return au_error_set(err, AU_ERR_NOMEM, "%s: cannot allocate %d header names", path, n);
    size_t start = 0;
    for (int k = 0; k < n; k++) {
        size_t end = start;
        while (end < len && line[end] != ',')
            end++;
        size_t a = start, b = end;
        while (a < b && line[a] == ' ')
            a++;
        while (b > a && line[b - 1] == ' ')
            b--;
        if (b - a >= AUH_OF_COL_NAME_MAX || b == a) {
            free(names);
            return au_error_set(err, AU_ERR_FORMAT, "%s:1: column %d: %s column name", path, k + 1,
                                b == a ? "empty" : "overlong");
        }
        memcpy(names[k], line + a, b - a);
        names[k][b - a] = '\0';
        start = end + 1;
    }
    *out = names;
    *n_out = n;
    return AU_OK;
}

static AuStatus parse_text(AuhOfCsv *csv, const char *path, const char *text, size_t size, AuError *err)
{
    memset(csv, 0, sizeof(*csv));
    if (size == 0)
        return au_error_set(err, AU_ERR_FORMAT, "%s:1: empty file, expected an OpenFace CSV header", path);
    const char *nl = memchr(text, '\n', size);
    if (!nl)
        return au_error_set(err, AU_ERR_FORMAT, "%s:1: header line has no end of line (file truncated?)", path);
    size_t hlen = (size_t)(nl - text);
    if (hlen > 0 && text[hlen - 1] == '\r')
        hlen--;

    char(*hn)[AUH_OF_COL_NAME_MAX] = NULL;
    int nh = 0;
    AuStatus st = split_header(path, text, hlen, &hn, &nh, err);
    if (st)
        return st;
    AuhOfCsvLayout layout;
    st = header_to_layout(path, hn, nh, &layout, err);
    if (!st && (st = auh_of_csv_init(csv, &layout, err)))
        au_error_prefix(err, "%s:1: ", path);
    if (!st) {
        for (int i = 0; i < nh && i < csv->n_cols; i++)
            if (strcmp(hn[i], csv->names[i])) {
                st = au_error_set(err, AU_ERR_FORMAT, "%s:1: column %d: expected '%s', found '%s'", path, i + 1,
                                  csv->names[i], hn[i]);
                break;
            }
        if (!st && nh != csv->n_cols)
            st = au_error_set(err, AU_ERR_FORMAT, "%s:1: %d columns, but OpenFace's header for these groups has %d",
                              path, nh, csv->n_cols);
    }
    free(hn);
    if (st) {
        auh_of_csv_free(csv);
        return st;
    }

    const int nc = csv->n_cols;
    double *row = malloc((size_t)nc * sizeof(double));
    if (!row) {
        auh_of_csv_free(csv);
        return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory", path);
    }
    int class_decimals = -1; /* of the first AU presence value with a '.' */
    size_t pos = (size_t)(nl - text) + 1;
    long line_no = 1;
    while (pos < size && !st) {
        line_no++;
        const char *line = text + pos;
        const char *end = memchr(line, '\n', size - pos);
        if (!end) {
            st = au_error_set(err, AU_ERR_FORMAT, "%s:%ld: last line has no end of line (file truncated?)", path,
                              line_no);
            break;
        }
        size_t len = (size_t)(end - line);
        pos += len + 1;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        int nf = 1;
        for (size_t i = 0; i < len; i++)
            if (line[i] == ',')
                nf++;
        if (nf != nc) {
            st = au_error_set(err, AU_ERR_FORMAT, "%s:%ld: expected %d fields, found %d", path, line_no, nc, nf);
            break;
        }
        unsigned flags = 0;
        int bare_reg = 0, bare_class = 0;
        size_t start = 0;
        for (int k = 0; k < nc; k++) {
            size_t fe = start;
            while (fe < len && line[fe] != ',')
                fe++;
            int decimals;
            if (!parse_number(line + start, fe - start, &row[k], &decimals)) {
                int show = fe - start > 40 ? 40 : (int)(fe - start);
                st = au_error_set(err, AU_ERR_FORMAT, "%s:%ld: column %d (%s): '%.*s' is not a number", path,
                                  line_no, k + 1, csv->names[k], show, line + start);
                break;
            }
            int bare_zero = fe - start == 1 && line[start] == '0';
            if (csv->groups[k] == AUH_OF_COL_AU_REG)
                bare_reg += bare_zero;
            if (csv->groups[k] == AUH_OF_COL_AU_CLASS) {
                bare_class += bare_zero;
                if (class_decimals < 0 && decimals > 0)
                    class_decimals = decimals;
            }
            start = fe + 1;
        }
        if (st)
            break;
        if (csv->layout.n_au_reg > 0 && bare_reg == csv->layout.n_au_reg)
            flags |= AUH_OF_ROW_NO_AU_REG;
        if (csv->layout.n_au_class > 0 && bare_class == csv->layout.n_au_class)
            flags |= AUH_OF_ROW_NO_AU_CLASS;
        st = auh_of_csv_append_row(csv, row, flags, err);
    }
    free(row);
    if (st) {
        auh_of_csv_free(csv);
        return st;
    }
    /* Online RecorderCSV presences have 1 decimal, PostprocessOutputFile's 2. */
    csv->layout.au_postprocessed = class_decimals == 2;
    return AU_OK;
}

AuStatus auh_of_csv_parse(AuhOfCsv *csv, const char *name, const char *text, size_t len, AuError *err)
{
    CLocaleScope loc;
    c_locale_enter(&loc);
    AuStatus st = parse_text(csv, name, text, len, err);
    c_locale_leave(&loc);
    return st;
}

AuStatus auh_of_csv_read(AuhOfCsv *csv, const char *path, AuError *err)
{
    memset(csv, 0, sizeof(*csv));
    AuReader r;
    AuStatus st = au_reader_open(&r, path, err);
    if (st)
        return st;
    st = auh_of_csv_parse(csv, path, (const char *)r.data, r.size, err);
    au_reader_close(&r);
    return st;
}

/* ---- writing ---- */

/* Longest "%.Nf" of a finite double: sign, 309 integer digits, point, N <= 6
 * decimals; NaN/inf are shorter. */
#define FIELD_MAX 330

AuStatus auh_of_writer_close(AuhOfCsvWriter *w, AuError *err)
{
    if (!w)
        return AU_OK;
    AuStatus st = AU_OK;
    if (w->file) {
        int bad = fflush(w->file) != 0 || ferror(w->file);
        int eno = errno;
        if (fclose(w->file) != 0 && !bad) {
            bad = 1;
            eno = errno;
        }
        if (bad)
            st = au_error_set(err, AU_ERR_IO, "%s: write error after %zu rows: %s", w->path, w->n_rows,
                              strerror(eno));
    }
    if (w->has_c_locale)
        freelocale(w->c_locale);
    free(w->decimals);
    free(w->scratch);
    free(w->line);
    memset(w, 0, sizeof(*w));
    return st;
}

static AuStatus write_line(AuhOfCsvWriter *w, size_t len, AuError *err)
{
    if (fwrite(w->line, 1, len, w->file) != len)
        return au_error_set(err, AU_ERR_IO, "%s: write error at data row %zu: %s", w->path, w->n_rows + 1,
                            strerror(errno));
    return AU_OK;
}

AuStatus auh_of_writer_open(AuhOfCsvWriter *w, const char *path, const AuhOfCsvLayout *layout, AuError *err)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->path, sizeof(w->path), "%s", path);
    AuhOfCsv cols; /* the header's names and groups, no rows */
    AuStatus st = auh_of_csv_init(&cols, layout, err);
    if (st) {
        au_error_prefix(err, "%s: ", path);
        return st;
    }
    w->layout = *layout;
    w->n_cols = cols.n_cols;
    w->decimals = malloc((size_t)w->n_cols);
    w->scratch = malloc((size_t)w->n_cols * sizeof(double));
    w->line_cap = (size_t)w->n_cols * (FIELD_MAX + 1) + 2;
    if (w->line_cap < (size_t)w->n_cols * AUH_OF_COL_NAME_MAX + 2)
        w->line_cap = (size_t)w->n_cols * AUH_OF_COL_NAME_MAX + 2;
    w->line = malloc(w->line_cap);
    if (!w->decimals || !w->scratch || !w->line) {
        auh_of_csv_free(&cols);
        auh_of_writer_close(w, NULL);
        return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int i = 0; i < w->n_cols; i++)
        w->decimals[i] = (unsigned char)auh_of_column_decimals(layout, (AuhOfColumnGroup)cols.groups[i]);
    size_t len = 0;
    for (int i = 0; i < w->n_cols; i++) {
        size_t n = strlen(cols.names[i]);
        if (i)
            w->line[len++] = ',';
        memcpy(w->line + len, cols.names[i], n);
        len += n;
    }
    w->line[len++] = '\n';
    auh_of_csv_free(&cols);

    w->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    w->has_c_locale = w->c_locale != (locale_t)0;
    w->file = fopen(path, "wb");
    if (!w->file) {
        int eno = errno;
        auh_of_writer_close(w, NULL);
        return au_error_set(err, AU_ERR_IO, "%s: cannot create: %s", path, strerror(eno));
    }
    if ((st = write_line(w, len, err))) {
        auh_of_writer_close(w, NULL);
        return st;
    }
    return AU_OK;
}

AuStatus auh_of_writer_write_values(AuhOfCsvWriter *w, const double *values, unsigned flags, AuError *err)
{
    if (!w->file)
        return au_error_set(err, AU_ERR_ARG, "%s: OpenFace CSV writer is not open", w->path);
    locale_t old = (locale_t)0;
    if (w->has_c_locale)
        old = uselocale(w->c_locale);
    /* Group order is fixed, so AU columns are found by their group. */
    const int reg0 = w->n_cols - w->layout.n_au_class - w->layout.n_au_reg;
    const int class0 = w->n_cols - w->layout.n_au_class;
    size_t len = 0;
    for (int i = 0; i < w->n_cols; i++) {
        if (i)
            w->line[len++] = ',';
        int bare = ((flags & AUH_OF_ROW_NO_AU_REG) && i >= reg0 && i < class0) ||
                   ((flags & AUH_OF_ROW_NO_AU_CLASS) && i >= class0);
        if (bare) {
            w->line[len++] = '0'; /* RecorderCSV's ",0" for a frame without AU values */
            continue;
        }
        int k = snprintf(w->line + len, w->line_cap - len, "%.*f", (int)w->decimals[i], values[i]);
        len += (size_t)k; /* k <= FIELD_MAX by construction of line_cap */
    }
    w->line[len++] = '\n';
    if (w->has_c_locale)
        uselocale(old);
    AuStatus st = write_line(w, len, err);
    if (!st)
        w->n_rows++;
    return st;
}

static AuStatus need(const void *p, const AuhOfCsvWriter *w, const char *what, AuError *err)
{
    if (p)
        return AU_OK;
    return au_error_set(err, AU_ERR_ARG, "%s: frame has no %s but the CSV layout has that column group", w->path,
                        what);
}

AuStatus auh_of_writer_write_frame(AuhOfCsvWriter *w, const AuhOfFrame *fr, AuError *err)
{
    if (!w->file)
        return au_error_set(err, AU_ERR_ARG, "%s: OpenFace CSV writer is not open", w->path);
    const AuhOfCsvLayout *l = &w->layout;
    double *v = w->scratch;
    AuStatus st;
    int k = 0;
    if (l->is_sequence) {
        v[k++] = fr->frame;
        v[k++] = fr->face_id;
        v[k++] = fr->timestamp;
        v[k++] = fr->confidence;
        v[k++] = fr->success ? 1.0 : 0.0;
    } else {
        v[k++] = fr->face_id;
        v[k++] = fr->confidence;
    }
    /* float -> double is exact: the value printed is the float OpenFace holds. */
    if (l->has_gaze) {
        const int ne = l->n_eye_landmarks;
        for (int i = 0; i < 3; i++)
            v[k++] = fr->gaze_dir0[i];
        for (int i = 0; i < 3; i++)
            v[k++] = fr->gaze_dir1[i];
        v[k++] = fr->gaze_angle[0];
        v[k++] = fr->gaze_angle[1];
        if (ne > 0 && ((st = need(fr->eye_lmk_2d, w, "2D eye landmarks", err)) ||
                       (st = need(fr->eye_lmk_3d, w, "3D eye landmarks", err))))
            return st;
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < ne; i++)
                v[k++] = fr->eye_lmk_2d[2 * i + c];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < ne; i++)
                v[k++] = fr->eye_lmk_3d[3 * i + c];
    }
    if (l->has_pose)
        for (int i = 0; i < 6; i++)
            v[k++] = fr->pose[i];
    const int n = l->n_landmarks;
    if (l->has_landmarks_2d) {
        if (n > 0 && (st = need(fr->landmarks_2d, w, "2D landmarks", err)))
            return st;
        for (int i = 0; i < 2 * n; i++)
            v[k++] = fr->landmarks_2d[i];
    }
    if (l->has_landmarks_3d) {
        if (n > 0 && (st = need(fr->landmarks_3d, w, "3D landmarks", err)))
            return st;
        for (int i = 0; i < 3 * n; i++)
            v[k++] = fr->landmarks_3d[i];
    }
    if (l->has_pdm_params) {
        for (int i = 0; i < 6; i++)
            v[k++] = fr->params_rigid[i];
        if (l->n_pdm_modes > 0 && (st = need(fr->params_local, w, "PDM local parameters", err)))
            return st;
        for (int i = 0; i < l->n_pdm_modes; i++)
            v[k++] = fr->params_local[i];
    }
    unsigned flags = 0;
    for (int i = 0; i < l->n_au_reg; i++)
        v[k++] = fr->au_reg ? fr->au_reg[i] : 0.0;
    for (int i = 0; i < l->n_au_class; i++)
        v[k++] = fr->au_class ? fr->au_class[i] : 0.0;
    if (!fr->au_reg && l->n_au_reg > 0)
        flags |= AUH_OF_ROW_NO_AU_REG;
    if (!fr->au_class && l->n_au_class > 0)
        flags |= AUH_OF_ROW_NO_AU_CLASS;
    return auh_of_writer_write_values(w, v, flags, err);
}

AuStatus auh_of_csv_write(const AuhOfCsv *csv, const char *path, AuError *err)
{
    AuhOfCsvWriter w;
    AuStatus st = auh_of_writer_open(&w, path, &csv->layout, err);
    if (st)
        return st;
    for (size_t r = 0; r < csv->n_rows && !st; r++)
        st = auh_of_writer_write_values(&w, auh_of_csv_row(csv, r), csv->row_flags[r], err);
    AuStatus cst = auh_of_writer_close(&w, st ? NULL : err);
    return st ? st : cst;
}
