#include "pdm.h"

#include <math.h>
#include <string.h>

#include "model_io.h"

/* One matrix as PDM::Read reads it: SkipComments, ReadMat into a double matrix,
 * convertTo(CV_32F). */
static AuStatus read_float_mat(AuReader *r, AuMat *out, const char *what)
{
    AuMat raw;
    au_text_skip_comments(r);
    AuStatus st = au_text_mat(r, &raw, what);
    if (st)
        return st;
    st = au_mat_convert(&raw, AU_MAT_F32, out, r->err);
    au_mat_free(&raw);
    if (st) {
        au_error_prefix(r->err, "%s: %s: ", r->path, what);
        return st;
    }
    size_t n = au_mat_count(out);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(au_mat_f32(out)[i])) {
            au_mat_free(out);
            return au_reader_fail_line(r, AU_ERR_FORMAT, "%s: value %zu is out of float range", what, i);
        }
    }
    return AU_OK;
}

AuStatus au_pdm_load(AuPdm *p, const char *path, AuError *err)
{
    memset(p, 0, sizeof(*p));
    AuReader r;
    AuStatus st = au_reader_open(&r, path, err);
    if (st)
        return st;

    int line_mean, line_pc, line_ev;
    line_mean = r.line;
    if ((st = read_float_mat(&r, &p->mean_shape, "PDM mean shape")))
        goto fail;
    line_pc = r.line;
    if ((st = read_float_mat(&r, &p->princ_comp, "PDM principal components")))
        goto fail;
    line_ev = r.line;
    if ((st = read_float_mat(&r, &p->eigen_values, "PDM eigenvalues")))
        goto fail;

    /* OpenFace does not check the shapes; it would index out of bounds later.
     * Reject inconsistent files here, naming the file. */
    const AuMat *ms = &p->mean_shape, *pc = &p->princ_comp, *ev = &p->eigen_values;
    if (ms->cols != 1 || ms->rows < 3 || ms->rows % 3 != 0) {
        st = au_error_set(err, AU_ERR_FORMAT, "%s:%d: PDM mean shape is %dx%d, expected 3n x 1", path, line_mean,
                          ms->rows, ms->cols);
        goto fail;
    }
    if (pc->rows != ms->rows || pc->cols < 1) {
        st = au_error_set(err, AU_ERR_FORMAT, "%s:%d: PDM principal components are %dx%d, expected %d x m", path,
                          line_pc, pc->rows, pc->cols, ms->rows);
        goto fail;
    }
    if (!((ev->rows == 1 && ev->cols == pc->cols) || (ev->cols == 1 && ev->rows == pc->cols))) {
        st = au_error_set(err, AU_ERR_FORMAT, "%s:%d: PDM eigenvalues are %dx%d, expected %d values", path, line_ev,
                          ev->rows, ev->cols, pc->cols);
        goto fail;
    }
    /* Keep one orientation (1 x m, as in OpenFace's files) for the users. */
    p->eigen_values.rows = 1;
    p->eigen_values.cols = pc->cols;
    p->n_points = ms->rows / 3;
    p->n_modes = pc->cols;
    au_reader_close(&r);
    return AU_OK;

fail:
    au_reader_close(&r);
    au_pdm_free(p);
    return st;
}

void au_pdm_free(AuPdm *p)
{
    if (!p)
        return;
    au_mat_free(&p->mean_shape);
    au_mat_free(&p->princ_comp);
    au_mat_free(&p->eigen_values);
    memset(p, 0, sizeof(*p));
}
