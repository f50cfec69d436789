#include "validator_model.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mat.h"
#include "model_io.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static void paw_free(AuValidatorPaw *p)
{
    free(p->destination_landmarks);
    free(p->triangulation);
    free(p->triangle_id);
    free(p->pixel_mask);
    free(p->alpha);
    free(p->beta);
    memset(p, 0, sizeof(*p));
}

void au_validator_model_free(AuValidatorModel *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_views && m->views; i++) {
        AuValidatorView *v = &m->views[i];
        free(v->mean);
        free(v->standard_deviation);
        au_cnn_free(&v->cnn);
        paw_free(&v->paw);
    }
    free(m->views);
    memset(m, 0, sizeof(*m));
}

/* A ReadMatBin matrix; mat_pos receives the offset of its header. */
static AuStatus read_mat(AuReader *r, AuMat *m, size_t *mat_pos, const char *what)
{
    *mat_pos = r->pos;
    return au_bin_mat(r, m, what);
}

static AuStatus fail_at(AuReader *r, size_t pos, AuStatus code, const char *what, const char *problem)
{
    r->pos = pos;
    return au_reader_fail_offset(r, code, "%s: %s", what, problem);
}

static AuStatus fail_shape(AuReader *r, size_t mat_pos, const AuMat *m, const char *what, const char *expected)
{
    r->pos = mat_pos;
    return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: matrix is %dx%d of type %d, expected %s", what, m->rows,
                                 m->cols, (int)m->type, expected);
}

/* convertTo(CV_32F) of any stored type; a double beyond float range would be
 * undefined to convert, and can only be corruption. */
static AuStatus to_f32(AuReader *r, size_t mat_pos, const AuMat *m, float **out, const char *what)
{
    size_t n = au_mat_count(m);
    *out = malloc(n ? n * sizeof(float) : 1);
    if (!*out)
        return fail_at(r, mat_pos, AU_ERR_NOMEM, what, "out of memory");
    for (size_t i = 0; i < n; i++) {
        double v = au_mat_at(m, (int)(i / (size_t)m->cols), (int)(i % (size_t)m->cols));
        if (fabs(v) > FLT_MAX) {
            r->pos = mat_pos + 12 + i * au_mat_elem_size(m->type);
            return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: element %zu (%g) out of float range", what, i, v);
        }
        (*out)[i] = (float)v;
    }
    return AU_OK;
}

/* convertTo(CV_8U): OpenCV's saturate_cast (round to nearest even, clamp). */
static AuStatus to_u8(AuReader *r, size_t mat_pos, const AuMat *m, uint8_t **out, const char *what)
{
    size_t n = au_mat_count(m);
    *out = malloc(n ? n : 1);
    if (!*out)
        return fail_at(r, mat_pos, AU_ERR_NOMEM, what, "out of memory");
    for (size_t i = 0; i < n; i++) {
        double v = au_mat_at(m, (int)(i / (size_t)m->cols), (int)(i % (size_t)m->cols));
        (*out)[i] = v <= 0.0 ? 0 : v >= 255.0 ? 255 : (uint8_t)lrint(v);
    }
    return AU_OK;
}

/* PAW::Read. */
static AuStatus read_paw(AuReader *r, AuValidatorPaw *p, const char *name)
{
    AuStatus st;
    char what[96];
    AuMat m = {0};
    size_t pos;

    snprintf(what, sizeof(what), "%s warp number of pixels", name);
    int32_t npx;
    pos = r->pos;
    if ((st = au_bin_i32(r, &npx, what)))
        return st;
    if (npx < 1 || npx > AU_VALIDATOR_MAX_WARP_SIZE * AU_VALIDATOR_MAX_WARP_SIZE)
        return fail_at(r, pos, AU_ERR_FORMAT, what, "not a positive pixel count");
    p->number_of_pixels = npx;

    snprintf(what, sizeof(what), "%s warp min_x/min_y", name);
    double min_x, min_y;
    pos = r->pos;
    if ((st = au_bin_f64(r, &min_x, what)) || (st = au_bin_f64(r, &min_y, what)))
        return st;
    if (fabs(min_x) > FLT_MAX || fabs(min_y) > FLT_MAX)
        return fail_at(r, pos, AU_ERR_FORMAT, what, "out of float range");
    p->min_x = (float)min_x;
    p->min_y = (float)min_y;

    snprintf(what, sizeof(what), "%s warp destination landmarks", name);
    if ((st = read_mat(r, &m, &pos, what)))
        return st;
    if (m.cols != 1 || m.rows < 6 || m.rows % 2 != 0) {
        st = fail_shape(r, pos, &m, what, "a column of 2n values (n >= 3 landmarks)");
        goto out;
    }
    p->n_landmarks = m.rows / 2;
    if ((st = to_f32(r, pos, &m, &p->destination_landmarks, what)))
        goto out;
    au_mat_free(&m);

    snprintf(what, sizeof(what), "%s warp triangulation", name);
    if ((st = read_mat(r, &m, &pos, what)))
        return st;
    if (m.type != AU_MAT_S32 || m.cols != 3 || m.rows < 1) {
        st = fail_shape(r, pos, &m, what, "t x 3 int32 (type 4)");
        goto out;
    }
    for (size_t i = 0; i < au_mat_count(&m); i++) {
        int v = au_mat_s32(&m)[i];
        if (v < 0 || v >= p->n_landmarks) {
            r->pos = pos + 12 + i * 4;
            st = au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: landmark index %d outside 0..%d", what, v,
                                       p->n_landmarks - 1);
            goto out;
        }
    }
    p->n_triangles = m.rows;
    p->triangulation = au_mat_s32(&m);
    m.data = NULL;

    snprintf(what, sizeof(what), "%s warp triangle ids", name);
    if ((st = read_mat(r, &m, &pos, what)))
        return st;
    if (m.type != AU_MAT_S32 || m.rows < 1 || m.cols < 1 || m.rows > AU_VALIDATOR_MAX_WARP_SIZE ||
        m.cols > AU_VALIDATOR_MAX_WARP_SIZE) {
        st = fail_shape(r, pos, &m, what, "h x w int32 (type 4)");
        goto out;
    }
    for (size_t i = 0; i < au_mat_count(&m); i++) {
        int v = au_mat_s32(&m)[i];
        if (v < -1 || v >= p->n_triangles) {
            r->pos = pos + 12 + i * 4;
            st = au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: triangle %d outside -1..%d", what, v, p->n_triangles - 1);
            goto out;
        }
    }
    p->height = m.rows;
    p->width = m.cols;
    p->triangle_id = au_mat_s32(&m);
    m.data = NULL;

    snprintf(what, sizeof(what), "%s warp pixel mask", name);
    if ((st = read_mat(r, &m, &pos, what)))
        return st;
    if (m.rows != p->height || m.cols != p->width) {
        char exp[64];
        snprintf(exp, sizeof(exp), "%dx%d like the triangle ids", p->height, p->width);
        st = fail_shape(r, pos, &m, what, exp);
        goto out;
    }
    if ((st = to_u8(r, pos, &m, &p->pixel_mask, what)))
        goto out;
    au_mat_free(&m);
    size_t n_mask = 0;
    for (size_t i = 0; i < (size_t)p->height * (size_t)p->width; i++) {
        if (!p->pixel_mask[i])
            continue;
        n_mask++;
        /* WarpRegion reads the coefficients of triangle_id for every masked pixel. */
        if (p->triangle_id[i] < 0) {
            r->pos = pos;
            return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: pixel (%zu, %zu) is in the mask but in no triangle",
                                         what, i / (size_t)p->width, i % (size_t)p->width);
        }
    }
    if (n_mask != (size_t)p->number_of_pixels) {
        r->pos = pos;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: %zu pixels set, the warp says %d", what, n_mask,
                                     p->number_of_pixels);
    }

    float **coef[2] = {&p->alpha, &p->beta};
    const char *coef_names[2] = {"alpha", "beta"};
    for (int c = 0; c < 2; c++) {
        snprintf(what, sizeof(what), "%s warp %s", name, coef_names[c]);
        if ((st = read_mat(r, &m, &pos, what)))
            return st;
        if (m.rows != p->n_triangles || m.cols != 3) {
            char exp[64];
            snprintf(exp, sizeof(exp), "%d x 3 (one row per triangle)", p->n_triangles);
            st = fail_shape(r, pos, &m, what, exp);
            goto out;
        }
        if ((st = to_f32(r, pos, &m, coef[c], what)))
            goto out;
        au_mat_free(&m);
    }
out:
    au_mat_free(&m);
    return st;
}

/* A mean or standard deviation image: 1 x n in the file, transposed to n x 1 at
 * load (so it matches the n x 1 feature column it is applied to). */
static AuStatus read_norm_row(AuReader *r, float **out, int *n, const char *what)
{
    AuMat m;
    size_t pos;
    AuStatus st = read_mat(r, &m, &pos, what);
    if (st)
        return st;
    if (m.rows != 1 || m.cols < 1 || (*n > 0 && m.cols != *n)) {
        char exp[64];
        if (*n > 0)
            snprintf(exp, sizeof(exp), "1 x %d like the mean image", *n);
        else
            snprintf(exp, sizeof(exp), "a row (1 x n)");
        st = fail_shape(r, pos, &m, what, exp);
    } else {
        *n = m.cols;
        st = to_f32(r, pos, &m, out, what);
    }
    au_mat_free(&m);
    return st;
}

static AuStatus read_view(AuReader *r, AuValidatorView *v, int i)
{
    AuStatus st;
    char name[32], what[96];
    snprintf(name, sizeof(name), "view %d", i);

    snprintf(what, sizeof(what), "%s mean image", name);
    if ((st = read_norm_row(r, &v->mean, &v->n_pixels, what)))
        return st;
    snprintf(what, sizeof(what), "%s standard deviations", name);
    size_t std_pos = r->pos;
    if ((st = read_norm_row(r, &v->standard_deviation, &v->n_pixels, what)))
        return st;
    for (int k = 0; k < v->n_pixels; k++) {
        /* NormaliseWarpedToVector divides by these. */
        if (!(v->standard_deviation[k] > 0.0f)) {
            r->pos = std_pos;
            return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: element %d is %g, not positive", what, k,
                                         (double)v->standard_deviation[k]);
        }
    }

    if ((st = au_cnn_read(r, AU_CNN_DIALECT_VALIDATOR, name, &v->cnn)))
        return st;

    size_t paw_pos = r->pos;
    if ((st = read_paw(r, &v->paw, name)))
        return st;
    if (v->paw.number_of_pixels != v->n_pixels) {
        r->pos = paw_pos;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s warp: %d pixels, but the mean image has %d", name,
                                     v->paw.number_of_pixels, v->n_pixels);
    }
    /* CheckCNN feeds the warped image (one map of the mask's size) to the CNN
     * and reads its answer as one row of bins. */
    AuCnnShape in = {1, v->paw.height, v->paw.width};
    if ((st = au_cnn_check_shapes(&v->cnn, in, r->path, name, r->err)))
        return st;
    const AuCnnShape *o = &v->cnn.output;
    if (o->maps != 1 || o->h != 1) {
        r->pos = paw_pos;
        return au_reader_fail_offset(r, AU_ERR_FORMAT,
                                     "%s: the CNN gives %d maps of %dx%d for the %dx%d warp, expected one row of bins", name,
                                     o->maps, o->h, o->w, in.h, in.w);
    }
    return AU_OK;
}

AuStatus au_validator_model_load(AuValidatorModel *m, const char *validator_path, AuError *err)
{
    memset(m, 0, sizeof(*m));
    AuReader r;
    AuStatus st = au_reader_open(&r, validator_path, err);
    if (st)
        return st;

    int32_t type, n;
    size_t pos = r.pos;
    if ((st = au_bin_i32(&r, &type, "validator type")))
        goto out;
    if (type != 3) {
        /* OpenFace prints "Using old face validator, no longer supported" and reads on. */
        st = fail_at(&r, pos, AU_ERR_UNSUPPORTED, "validator type", "only type 3 (CNN) is supported");
        goto out;
    }
    m->validator_type = type;
    pos = r.pos;
    if ((st = au_bin_i32(&r, &n, "number of views")))
        goto out;
    if (n < 1 || n > AU_VALIDATOR_MAX_VIEWS) {
        r.pos = pos;
        st = au_reader_fail_offset(&r, AU_ERR_FORMAT, "number of views %d outside 1..%d", (int)n, AU_VALIDATOR_MAX_VIEWS);
        goto out;
    }
    /* Each view needs at least its 3x1 double orientation (36 bytes). */
    if ((size_t)n * 36 > au_bin_remaining(&r)) {
        st = au_reader_fail_offset(&r, AU_ERR_FORMAT, "truncated: %d views, only %zu bytes left", (int)n,
                                   au_bin_remaining(&r));
        goto out;
    }
    m->views = calloc((size_t)n, sizeof(*m->views));
    if (!m->views) {
        st = au_error_set(err, AU_ERR_NOMEM, "%s: cannot allocate %d views", validator_path, (int)n);
        goto out;
    }
    m->n_views = n;

    for (int i = 0; i < n; i++) {
        char what[64];
        snprintf(what, sizeof(what), "view %d orientation", i);
        AuMat o;
        if ((st = read_mat(&r, &o, &pos, what)))
            goto out;
        if (o.type != AU_MAT_F64 || au_mat_count(&o) != 3) {
            st = fail_shape(&r, pos, &o, what, "3 doubles (type 6)");
            au_mat_free(&o);
            goto out;
        }
        /* DetectionValidator::Read: cv::Vec3d * M_PI / 180.0. OpenCV's Vec
         * divides by a scalar as a product with its reciprocal, so the last bit
         * is that of (deg * M_PI) * (1.0 / 180.0). */
        for (int k = 0; k < 3; k++)
            m->views[i].orientation[k] = au_mat_f64(&o)[k] * M_PI * (1.0 / 180.0);
        au_mat_free(&o);
    }
    for (int i = 0; i < n; i++)
        if ((st = read_view(&r, &m->views[i], i)))
            goto out;
    /* OpenFace stops after the last view; trailing bytes mean the counts are wrong. */
    if (au_bin_remaining(&r) != 0)
        st = au_reader_fail_offset(&r, AU_ERR_FORMAT, "%zu unexpected bytes after the last view", au_bin_remaining(&r));
out:
    au_reader_close(&r);
    if (st)
        au_validator_model_free(m);
    return st;
}
