#include "face_align.h"

#include <string.h>

#include "dsp.h"
#include "imgproc.h"
#include "rotation.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
/* GCC: the build uses -std=c11, which implies -ffp-contract=off. */

/* extract_rigid_points, in OpenFace's order. */
static const int rigid_index[AU_ALIGN_RIGID_POINTS] = {1,  2,  3,  4,  12, 13, 14, 15, 27, 28, 29, 31,
                                                       32, 33, 34, 35, 36, 39, 40, 41, 42, 45, 46, 47};

/* The points AlignFaceMask lifts to take in more of the forehead. */
static const int lifted_index[] = {0, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26};

void au_face_align_free(AuFaceAlign *a)
{
    if (!a)
        return;
    au_paw_free(&a->paw);
    memset(a, 0, sizeof(*a));
}

AuStatus au_face_align_init(AuFaceAlign *a, const AuPdm *pdm, const AuMat *tris, double sim_scale, int width,
                            int height, AuError *err)
{
    memset(a, 0, sizeof(*a));
    if (pdm->n_points != AU_ALIGN_POINTS || pdm->mean_shape.type != AU_MAT_F32 ||
        pdm->mean_shape.rows != 3 * AU_ALIGN_POINTS)
        return au_error_set(err, AU_ERR_ARG, "face alignment needs the 68-point PDM (got %d points)", pdm->n_points);
    if (tris->type != AU_MAT_S32 || tris->cols != 3 || tris->rows < 1)
        return au_error_set(err, AU_ERR_ARG, "face alignment needs a k x 3 integer triangulation (got %dx%d, type %d)",
                            tris->rows, tris->cols, (int)tris->type);
    if (width < 1 || height < 1 || width > AU_PAW_MAX_SIDE || height > AU_PAW_MAX_SIDE || !(sim_scale > 0))
        return au_error_set(err, AU_ERR_ARG, "face alignment: invalid output %dx%d or scale %g", width, height,
                            sim_scale);
    a->sim_scale = sim_scale;
    a->width = width;
    a->height = height;

    /* pdm.mean_shape * sim_scale is Mat::convertTo with a scale, which OpenCV
     * runs in float for float matrices: x * (float)sim_scale. */
    const float *mean = au_mat_f32(&pdm->mean_shape);
    float s = (float)sim_scale;
    for (int k = 0; k < AU_ALIGN_RIGID_POINTS; k++) {
        a->dst_rigid[2 * k] = mean[rigid_index[k]] * s;
        a->dst_rigid[2 * k + 1] = mean[rigid_index[k] + AU_ALIGN_POINTS] * s;
    }
    /* The mask PAW: PAW(dst, tris, 0, 0, cols - 1, rows - 1), built here on the
     * mean shape and re-targeted every frame. */
    for (int i = 0; i < 2 * AU_ALIGN_POINTS; i++)
        a->dst_landmarks[i] = mean[i] * s;
    AuStatus st = au_paw_init_bounds(&a->paw, a->dst_landmarks, AU_ALIGN_POINTS, au_mat_s32(tris), tris->rows, 0.0f,
                                     0.0f, (float)(width - 1), (float)(height - 1), err);
    if (st) {
        au_error_prefix(err, "face alignment: ");
        au_face_align_free(a);
        return st;
    }
    if (a->paw.width != width || a->paw.height != height) {
        int pw = a->paw.width, ph = a->paw.height;
        au_face_align_free(a);
        return au_error_set(err, AU_ERR_ARG, "face alignment: mask grid %dx%d differs from the output %dx%d", pw, ph,
                            width, height);
    }
    return AU_OK;
}

void au_face_align_warp_matrix(AuFaceAlign *a, const float *landmarks, const float params_global[6])
{
    for (int k = 0; k < AU_ALIGN_RIGID_POINTS; k++) {
        a->src_rigid[2 * k] = landmarks[rigid_index[k]];
        a->src_rigid[2 * k + 1] = landmarks[rigid_index[k] + AU_ALIGN_POINTS];
    }
    float A[4];
    au_align_with_scale_f(a->src_rigid, a->dst_rigid, AU_ALIGN_RIGID_POINTS, A, a->scratch);
    /* T = Matx22f * Vec2f: float sums starting from 0. */
    float tx = params_global[4], ty = params_global[5];
    float T0 = 0.0f, T1 = 0.0f;
    T0 += A[0] * tx;
    T0 += A[1] * ty;
    T1 += A[2] * tx;
    T1 += A[3] * ty;
    a->warp[0] = A[0];
    a->warp[1] = A[1];
    a->warp[2] = -T0 + (float)(a->width / 2);
    a->warp[3] = A[2];
    a->warp[4] = A[3];
    a->warp[5] = -T1 + (float)(a->height / 2);
}

void au_face_align_mask(AuFaceAlign *a, const float *landmarks)
{
    const float *W = a->warp;
    float *dx = a->dst_landmarks, *dy = a->dst_landmarks + AU_ALIGN_POINTS;
    for (int i = 0; i < AU_ALIGN_POINTS; i++) {
        /* landmarks (68 x 2) * W2x2^T: cv::gemm with a transposed operand
         * takes GEMMSingleMul, products and sum in double, rounded to float. */
        double x = landmarks[i], y = landmarks[i + AU_ALIGN_POINTS];
        dx[i] = (float)(x * (double)W[0] + y * (double)W[1]);
        dy[i] = (float)(x * (double)W[3] + y * (double)W[4]);
        /* col + scalar: float addition. */
        dx[i] = dx[i] + W[2];
        dy[i] = dy[i] + W[5];
    }
    /* float -= double: the subtraction is done in double. */
    double lift = (30 / 0.7) * a->sim_scale;
    for (size_t k = 0; k < sizeof(lifted_index) / sizeof(lifted_index[0]); k++)
        dy[lifted_index[k]] = (float)((double)dy[lifted_index[k]] - lift);
    au_paw_set_destination(&a->paw, a->dst_landmarks);
}

AuStatus au_face_align(AuFaceAlign *a, const AuImageU8 *frame, const float *landmarks, const float params_global[6],
                       AuImageU8 *out, AuError *err)
{
    if (!out->data || out->width != a->width || out->height != a->height || out->channels != frame->channels)
        return au_error_set(err, AU_ERR_ARG, "face alignment: output is %dx%dx%d, expected %dx%dx%d", out->width,
                            out->height, out->channels, a->width, a->height, frame->channels);
    au_face_align_warp_matrix(a, landmarks, params_global);
    /* cv::warpAffine converts the Matx23f to double. */
    double M[6];
    for (int i = 0; i < 6; i++)
        M[i] = a->warp[i];
    AuStatus st = a->dsp ? a->dsp->warp_affine_u8(frame, out, M, 0, err) : au_warp_affine_u8(frame, out, M, 0, err);
    if (st)
        return st;
    au_face_align_mask(a, landmarks);
    /* cv::multiply of each channel by the 0/1 mask: a byte AND with 0 or 0xff. */
    const int cn = out->channels;
    for (int y = 0; y < out->height; y++) {
        uint8_t *row = au_image_u8_row(out, y);
        const uint8_t *m = a->paw.pixel_mask + (size_t)y * (size_t)a->paw.width;
        if (cn == 3)
            for (int x = 0; x < out->width; x++) {
                const uint8_t keep = (uint8_t)-m[x];
                row[3 * x] &= keep;
                row[3 * x + 1] &= keep;
                row[3 * x + 2] &= keep;
            }
        else
            for (int x = 0; x < out->width; x++)
                for (int k = 0; k < cn; k++)
                    row[x * cn + k] &= (uint8_t)-m[x];
    }
    return AU_OK;
}
