#include "pts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_io.h"

void auh_pts_free(AuhPts *pts)
{
    if (!pts)
        return;
    free(pts->x);
    free(pts->y);
    memset(pts, 0, sizeof(*pts));
}

static AuStatus expect_word(AuReader *r, const char *want)
{
    char w[64];
    AuStatus st = au_text_word(r, w, sizeof(w), want);
    if (st)
        return st;
    if (strcmp(w, want))
        return au_reader_fail_line(r, AU_ERR_FORMAT, "expected '%s', found '%s'", want, w);
    return AU_OK;
}

static AuStatus parse_reader(AuhPts *pts, AuReader *r)
{
    AuStatus st;
    if ((st = expect_word(r, "version:")) || (st = au_text_int(r, &pts->version, "the version number")))
        return st;
    int n;
    if ((st = expect_word(r, "n_points:")) || (st = au_text_int(r, &n, "the number of points")))
        return st;
    if (n <= 0 || n > AUH_PTS_MAX_POINTS)
        return au_reader_fail_line(r, AU_ERR_FORMAT, "n_points %d out of range [1, %d]", n, AUH_PTS_MAX_POINTS);
    /* Each point needs at least four characters ("1 2\n"): a count the rest of
     * the file cannot hold is corruption, not a large label set. */
    if ((size_t)n * 4 > r->size - r->pos + 4)
        return au_reader_fail_line(r, AU_ERR_FORMAT, "n_points %d is more than the rest of the file can hold", n);
    if ((st = expect_word(r, "{")))
        return st;
    pts->x = malloc((size_t)n * sizeof(double));
    pts->y = malloc((size_t)n * sizeof(double));
    if (!pts->x || !pts->y)
        return au_reader_fail_line(r, AU_ERR_NOMEM, "cannot allocate %d points", n);
    for (int i = 0; i < n; i++) {
        char what[64];
        snprintf(what, sizeof(what), "x of point %d of %d", i + 1, n);
        if ((st = au_text_double(r, &pts->x[i], what)))
            return st;
        snprintf(what, sizeof(what), "y of point %d of %d", i + 1, n);
        if ((st = au_text_double(r, &pts->y[i], what)))
            return st;
    }
    pts->n_points = n;
    char w[64];
    if ((st = au_text_word(r, w, sizeof(w), "'}' closing the points")))
        return st;
    if (strcmp(w, "}"))
        return au_reader_fail_line(r, AU_ERR_FORMAT, "expected '}' after %d points (n_points), found '%s'", n, w);
    if (!au_text_at_end(r))
        return au_reader_fail_line(r, AU_ERR_FORMAT, "unexpected text after '}'");
    return AU_OK;
}

AuStatus auh_pts_parse(AuhPts *pts, const char *name, const char *text, size_t len, AuError *err)
{
    memset(pts, 0, sizeof(*pts));
    AuReader r;
    AuStatus st = au_reader_open_mem(&r, name, text, len, err);
    if (st)
        return st;
    st = parse_reader(pts, &r);
    au_reader_close(&r);
    if (st)
        auh_pts_free(pts);
    return st;
}

AuStatus auh_pts_read(AuhPts *pts, const char *path, AuError *err)
{
    memset(pts, 0, sizeof(*pts));
    AuReader r;
    AuStatus st = au_reader_open(&r, path, err);
    if (st)
        return st;
    st = parse_reader(pts, &r);
    au_reader_close(&r);
    if (st)
        auh_pts_free(pts);
    return st;
}
