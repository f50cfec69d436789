#include "validator.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


void au_validator_init(AuValidator *v, const AuValidatorModel *model)
{
    memset(v, 0, sizeof(*v));
    v->model = model;
}

void au_validator_free(AuValidator *v)
{
    if (!v)
        return;
    au_cnn_work_free(&v->work);
    au_image_f32_free(&v->roi);
    au_image_f32_free(&v->warped);
    if (v->paws)
        for (int i = 0; i < v->model->n_views; i++)
            au_paw_free(&v->paws[i]);
    free(v->paws);
    free(v->local);
    free(v->input);
    memset(v, 0, sizeof(*v));
}

static int grow(float **p, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    float *q = realloc(*p, n * sizeof(float));
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int view_id(const AuValidatorModel *m, const double rot[3])
{
    int id = 0;
    double best = -1;
    for (int i = 0; i < m->n_views; i++) {
        const double *o = m->views[i].orientation;
        double d = sqrt((rot[0] - o[0]) * (rot[0] - o[0]) + (rot[1] - o[1]) * (rot[1] - o[1]) +
                        (rot[2] - o[2]) * (rot[2] - o[2]));
        if (i == 0 || d < best) {
            best = d;
            id = i;
        }
    }
    return id;
}

AuStatus au_validator_check(AuValidator *v, const double rotation[3], const AuImageU8 *gray, const float *landmarks,
                            int n, double *certainty, AuError *err)
{
    *certainty = 0;
    int id = view_id(v->model, rotation);
    const AuValidatorView *view = &v->model->views[id];
    const AuValidatorPaw *paw = &view->paw;
    if (paw->n_landmarks != n)
        return au_error_set(err, AU_ERR_ARG, "validator view %d expects %d landmarks, got %d", id, paw->n_landmarks, n);
    float min_xf = landmarks[0], max_xf = landmarks[0], min_yf = landmarks[n], max_yf = landmarks[n];
    for (int i = 1; i < n; i++) {
        min_xf = landmarks[i] < min_xf ? landmarks[i] : min_xf;
        max_xf = landmarks[i] > max_xf ? landmarks[i] : max_xf;
        min_yf = landmarks[n + i] < min_yf ? landmarks[n + i] : min_yf;
        max_yf = landmarks[n + i] > max_yf ? landmarks[n + i] : max_yf;
    }
    int min_x = (int)(min_xf - 3.0f), max_x = (int)(max_xf + 3.0f);
    int min_y = (int)(min_yf - 3.0f), max_y = (int)(max_yf + 3.0f);
    if (min_x < 0)
        min_x = 0;
    if (min_y < 0)
        min_y = 0;
    if (max_x > gray->width - 1)
        max_x = gray->width - 1;
    if (max_y > gray->height - 1)
        max_y = gray->height - 1;
    if (max_x - min_x <= 1 || max_y - min_y <= 1)
        return AU_OK; /* the landmarks are outside the image: certainty 0 */
    int rw = max_x - min_x, rh = max_y - min_y;
    AuStatus st;
    if (v->roi.width != rw || v->roi.height != rh) {
        au_image_f32_free(&v->roi);
        if ((st = au_image_f32_alloc(&v->roi, rw, rh, err)))
            return st;
    }
    for (int y = 0; y < rh; y++) {
        const uint8_t *src = au_image_u8_row(gray, min_y + y) + min_x;
        float *dst = au_image_f32_row(&v->roi, y);
        for (int x = 0; x < rw; x++)
            dst[x] = (float)src[x];
    }
    /* PAW::Warp of the crop with the landmarks relative to it */
    if (!v->paws && !(v->paws = calloc((size_t)v->model->n_views, sizeof(AuPaw))))
        return au_error_set(err, AU_ERR_NOMEM, "out of memory in the validator");
    AuPaw *pw = &v->paws[id];
    if (!pw->n_points &&
        (st = au_paw_init_precomputed(pw, paw->destination_landmarks, paw->n_landmarks, paw->triangulation,
                                      paw->n_triangles, paw->min_x, paw->min_y, paw->width, paw->height,
                                      paw->triangle_id, paw->pixel_mask, paw->alpha, paw->beta, err)))
        return st;
    if (grow(&v->local, &v->local_cap, 2 * (size_t)n))
        return au_error_set(err, AU_ERR_NOMEM, "out of memory in the validator");
    for (int i = 0; i < n; i++) {
        v->local[i] = landmarks[i] - (float)min_x;
        v->local[i + n] = landmarks[i + n] - (float)min_y;
    }
    if (v->warped.width != paw->width || v->warped.height != paw->height) {
        au_image_f32_free(&v->warped);
        if ((st = au_image_f32_alloc(&v->warped, paw->width, paw->height, err)))
            return st;
    }
    if ((st = au_paw_warp(pw, &v->roi, v->local, &v->warped, err)))
        return st;

    /* NormaliseWarpedToVector: masked pixels column by column */
    int np = view->n_pixels;
    if (grow(&v->input, &v->input_cap, (size_t)np + (size_t)paw->width * (size_t)paw->height))
        return au_error_set(err, AU_ERR_NOMEM, "out of memory in the validator");
    float *vec = v->input;
    int k = 0;
    for (int x = 0; x < paw->width; x++)
        for (int y = 0; y < paw->height; y++) {
            size_t p = (size_t)y * (size_t)paw->width + (size_t)x;
            if (paw->pixel_mask[p] && k < np)
                vec[k++] = au_image_f32_row(&v->warped, y)[x];
        }
    /* cv::meanStdDev in double */
    double s = 0, sq = 0;
    for (int i = 0; i < k; i++) {
        s += vec[i];
        sq += (double)vec[i] * vec[i];
    }
    double mean = k ? s / k : 0;
    double var = k ? sq / k - mean * mean : 0;
    double sd = sqrt(var > 0 ? var : 0);
    if (sd == 0)
        sd = 1;
    float fmean = (float)mean, fscale = (float)(1.0 / sd);
    for (int i = 0; i < k; i++)
        vec[i] = ((vec[i] - fmean) * fscale - view->mean[i]) / view->standard_deviation[i];
    /* back into the masked 60x60 image, zero outside */
    float *img = v->input + np;
    memset(img, 0, sizeof(float) * (size_t)paw->width * (size_t)paw->height);
    k = 0;
    for (int x = 0; x < paw->width; x++)
        for (int y = 0; y < paw->height; y++) {
            size_t p = (size_t)y * (size_t)paw->width + (size_t)x;
            if (paw->pixel_mask[p] && k < np)
                img[p] = vec[k++];
        }
    const float *out;
    AuCnnShape os, is = {1, paw->height, paw->width};
    if ((st = au_cnn_forward(&view->cnn, &v->work, img, is, &out, &os, err)))
        return st;
    /* arg max over the output bins (first maximum, as cv::minMaxLoc) */
    int bins = os.h * os.w, max_idx = 0;
    for (int i = 1; i < bins; i++)
        if (out[i] > out[max_idx])
            max_idx = i;
    double step = 2.0 / (double)bins;
    double unq = -1.0 + step / 2.0 + max_idx * step;
    *certainty = 0.5 * (1.0 - unq);
    return AU_OK;
}
