/* Reading the reference intermediates' CSVs in tests: a header line and
 * comma-separated fields (a row shorter than the header is padded with
 * empty fields; strings kept, numbers parsed on demand with strtod,
 * which reads OpenFace's %.9g / %.17g values back bit-exactly). */
#ifndef AUTEST_REFCSV_H
#define AUTEST_REFCSV_H

#include <stddef.h>

typedef struct RefCsv {
    int n_cols, n_rows;
    char **names;  /* n_cols column names */
    char ***cells; /* n_rows x n_cols strings ("" for an empty field) */
} RefCsv;

/* Loads path; fails the test (cmocka fail_msg) on error. */
void refcsv_load(RefCsv *c, const char *path);
void refcsv_free(RefCsv *c);
/* Column index by name, or -1. */
int refcsv_col(const RefCsv *c, const char *name);
/* Column index by name; fails the test if missing. */
int refcsv_col_req(const RefCsv *c, const char *name);
const char *refcsv_str(const RefCsv *c, int row, int col);
/* Number in the cell (fails the test if the cell is not a number). */
double refcsv_num(const RefCsv *c, int row, int col);
/* Same, by column name. */
double refcsv_get(const RefCsv *c, int row, const char *name);
/* Copies the columns "<prefix>0".."<prefix>(n-1)" of row into out. */
void refcsv_vec(const RefCsv *c, int row, const char *prefix, int n, double *out);
/* Reads a raw little-endian float32 / float64 file (the .f32 / .f64 dumps). */
float *refcsv_load_f32(const char *path, size_t *count);
double *refcsv_load_f64(const char *path, size_t *count);

#endif
