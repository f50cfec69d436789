#include "refcsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autest.h"

static char **split_line(char *line, int *n)
{
    int cap = 16, k = 0;
    char **out = malloc(sizeof(char *) * (size_t)cap);
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (k == cap) {
            cap *= 2;
            out = realloc(out, sizeof(char *) * (size_t)cap);
        }
        out[k++] = strdup(p);
        if (!comma)
            break;
        p = comma + 1;
    }
    *n = k;
    return out;
}

void refcsv_load(RefCsv *c, const char *path)
{
    memset(c, 0, sizeof(*c));
    unsigned char *data;
    size_t size;
    autest_require_file(path);
    if (autest_read_file(path, &data, &size))
        fail_msg("cannot read %s", path);
    char *save = NULL;
    int cap = 64;
    c->cells = malloc(sizeof(char **) * (size_t)cap);
    for (char *line = strtok_r((char *)data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[len - 1] = '\0';
        int n;
        char **fields = split_line(line, &n);
        if (!c->names) {
            c->names = fields;
            c->n_cols = n;
            continue;
        }
        if (n > c->n_cols)
            fail_msg("%s: row %d has %d fields, header has %d", path, c->n_rows + 2, n, c->n_cols);
        if (n < c->n_cols) {
            /* A few dump rows stop early (nurlms_iters_main.csv's "stopped"
             * rows carry no update or parameters): the rest are empty fields. */
            fields = realloc(fields, sizeof(char *) * (size_t)c->n_cols);
            for (int k = n; k < c->n_cols; k++)
                fields[k] = strdup("");
        }
        if (c->n_rows == cap) {
            cap *= 2;
            c->cells = realloc(c->cells, sizeof(char **) * (size_t)cap);
        }
        c->cells[c->n_rows++] = fields;
    }
    free(data);
    if (!c->names)
        fail_msg("%s: empty CSV", path);
}

void refcsv_free(RefCsv *c)
{
    for (int r = 0; r < c->n_rows; r++) {
        for (int k = 0; k < c->n_cols; k++)
            free(c->cells[r][k]);
        free(c->cells[r]);
    }
    for (int k = 0; k < c->n_cols; k++)
        free(c->names[k]);
    free(c->names);
    free(c->cells);
    memset(c, 0, sizeof(*c));
}

int refcsv_col(const RefCsv *c, const char *name)
{
    for (int k = 0; k < c->n_cols; k++)
        if (!strcmp(c->names[k], name))
            return k;
    return -1;
}

int refcsv_col_req(const RefCsv *c, const char *name)
{
    int k = refcsv_col(c, name);
    if (k < 0)
        fail_msg("reference CSV has no column '%s'", name);
    return k;
}

const char *refcsv_str(const RefCsv *c, int row, int col)
{
    if (row < 0 || row >= c->n_rows || col < 0 || col >= c->n_cols)
        fail_msg("reference CSV cell (%d,%d) out of range", row, col);
    return c->cells[row][col];
}

double refcsv_num(const RefCsv *c, int row, int col)
{
    const char *s = refcsv_str(c, row, col);
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end)
        fail_msg("reference CSV cell (%d,%s) is not a number: '%s'", row, c->names[col], s);
    return v;
}

double refcsv_get(const RefCsv *c, int row, const char *name)
{
    return refcsv_num(c, row, refcsv_col_req(c, name));
}

void refcsv_vec(const RefCsv *c, int row, const char *prefix, int n, double *out)
{
    char name[64];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s%d", prefix, i);
        out[i] = refcsv_get(c, row, name);
    }
}

static void *load_raw(const char *path, size_t elem, size_t *count)
{
    unsigned char *data;
    size_t size;
    autest_require_file(path);
    if (autest_read_file(path, &data, &size))
        fail_msg("cannot read %s", path);
    *count = size / elem;
    return data;
}

float *refcsv_load_f32(const char *path, size_t *count)
{
    return load_raw(path, 4, count);
}

double *refcsv_load_f64(const char *path, size_t *count)
{
    return load_raw(path, 8, count);
}
