#include "face_align.h"

#include <stdlib.h>
#include <string.h>

#include "imgproc.h"
#include "rotation.h"

/* extract_rigid_points: face outline, nose and eye corners, in OpenFace's order. */
static const int rigid_idx[AU_ALIGN_RIGID_POINTS] = {1,  2,  3,  4,  12, 13, 14, 15, 27, 28, 29, 31,
                                                     32, 33, 34, 35, 36, 39, 40, 41, 42, 45, 46, 47};

AuStatus au_face_align_init(AuFaceAlign *a, const AuPdm *pdm, const AuMat *tris, double sim_scale, int width,
                            int height, AuError *err)
{
    memset(a, 0, sizeof(*a));
    if (pdm->n_points != 68)
        return au_error_set(err, AU_ERR_ARG, "face alignment needs the 68-point PDM, got %d points", pdm->n_points);
    if (tris->cols != 3 || tris->type != AU_MAT_S32)
        return au_error_set(err, AU_ERR_ARG, "face alignment needs an n x 3 integer triangulation");
    for (size_t i = 0; i < au_mat_count(tris); i++)
        if (au_mat_s32(tris)[i] < 0 || au_mat_s32(tris)[i] >= 68)
            return au_error_set(err, AU_ERR_ARG, "triangulation vertex %d out of range", au_mat_s32(tris)[i]);
    a->pdm = pdm;
    a->tris = tris;
    a->sim_scale = sim_scale;
    a->width = width;
    a->height = height;
    a->dst_rigid = malloc(sizeof(float) * 2 * AU_ALIGN_RIGID_POINTS);
    a->scratch = malloc(sizeof(float) * (6 * AU_ALIGN_RIGID_POINTS + 2 * AU_ALIGN_RIGID_POINTS + 2 * 68));
    if (!a->dst_rigid || !a->scratch) {
        au_face_align_free(a);
        return au_error_set(err, AU_ERR_NOMEM, "out of memory in face alignment");
    }
    /* pdm.mean_shape * sim_scale: OpenCV scales a float matrix by a double
     * through convertTo, which computes in float with the scale rounded to
     * float. */
    const float *mean = au_mat_f32(&pdm->mean_shape);
    float s = (float)sim_scale;
    for (int k = 0; k < AU_ALIGN_RIGID_POINTS; k++) {
        int i = rigid_idx[k];
        a->dst_rigid[2 * k] = mean[i] * s;
        a->dst_rigid[2 * k + 1] = mean[i + 68] * s;
    }
    return AU_OK;
}

void au_face_align_free(AuFaceAlign *a)
{
    if (!a)
        return;
    free(a->dst_rigid);
    free(a->scratch);
    memset(a, 0, sizeof(*a));
}

static int same_side(float x0, float y0, float x1, float y1, float x2, float y2, float x3, float y3)
{
    float x = (x3 - x2) * (y0 - y2) - (x0 - x2) * (y3 - y2);
    float y = (x3 - x2) * (y1 - y2) - (x1 - x2) * (y3 - y2);
    return x * y >= 0;
}

static int in_triangle(float x0, float y0, const float *t)
{
    return same_side(x0, y0, t[0], t[1], t[2], t[3], t[4], t[5]) &&
           same_side(x0, y0, t[2], t[3], t[0], t[1], t[4], t[5]) &&
           same_side(x0, y0, t[4], t[5], t[0], t[1], t[2], t[3]);
}

static float min3(float a, float b, float c)
{
    float m = a < b ? a : b;
    return m < c ? m : c;
}

static float max3(float a, float b, float c)
{
    float m = a > b ? a : b;
    return m > c ? m : c;
}

void au_paw_mask(const float *shape, int n, const AuMat *tris, float min_x, float min_y, int w, int h,
                 unsigned char *mask)
{
    int n_tris = tris->rows;
    /* Per triangle: its 3 vertices, then the bounding box (max x, max y, min x, min y). */
    float(*tp)[10] = malloc(sizeof(*tp) * (size_t)(n_tris > 0 ? n_tris : 1));
    if (!tp) {
        memset(mask, 0, (size_t)w * (size_t)h);
        return;
    }
    const int *t = au_mat_s32(tris);
    for (int i = 0; i < n_tris; i++) {
        int j = t[3 * i], k = t[3 * i + 1], l = t[3 * i + 2];
        tp[i][0] = shape[j];
        tp[i][1] = shape[j + n];
        tp[i][2] = shape[k];
        tp[i][3] = shape[k + n];
        tp[i][4] = shape[l];
        tp[i][5] = shape[l + n];
        tp[i][6] = max3(tp[i][0], tp[i][2], tp[i][4]);
        tp[i][7] = max3(tp[i][1], tp[i][3], tp[i][5]);
        tp[i][8] = min3(tp[i][0], tp[i][2], tp[i][4]);
        tp[i][9] = min3(tp[i][1], tp[i][3], tp[i][5]);
    }
    int guess = -1;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            float x0 = (float)x + min_x, y0 = (float)y + min_y;
            int found = -1;
            if (guess != -1 && in_triangle(x0, y0, tp[guess])) {
                found = guess;
            } else {
                for (int i = 0; i < n_tris; i++) {
                    if (tp[i][6] < x0 || tp[i][8] > x0 || tp[i][7] < y0 || tp[i][9] > y0)
                        continue;
                    if (in_triangle(x0, y0, tp[i])) {
                        found = i;
                        break;
                    }
                }
            }
            /* OpenFace passes the last result (found or -1) as the next guess. */
            guess = found;
            mask[(size_t)y * (size_t)w + (size_t)x] = found != -1;
        }
    }
    free(tp);
}

AuStatus au_face_align(AuFaceAlign *a, const AuImageU8 *frame, const float *landmarks, const float params_global[6],
                       AuImageU8 *out, AuError *err)
{
    if (out->width != a->width || out->height != a->height || out->channels != frame->channels)
        return au_error_set(err, AU_ERR_ARG, "aligned face buffer %dx%dx%d, expected %dx%dx%d", out->width,
                            out->height, out->channels, a->width, a->height, frame->channels);
    float *src = a->scratch + 6 * AU_ALIGN_RIGID_POINTS;
    float *dst_all = src + 2 * AU_ALIGN_RIGID_POINTS;
    for (int k = 0; k < AU_ALIGN_RIGID_POINTS; k++) {
        src[2 * k] = landmarks[rigid_idx[k]];
        src[2 * k + 1] = landmarks[rigid_idx[k] + 68];
    }
    float A[4];
    au_align_with_scale_f(src, a->dst_rigid, AU_ALIGN_RIGID_POINTS, A, a->scratch);
    /* T = scale_rot_matrix * (tx, ty), a float Matx22f times a Vec2f. */
    float tx = params_global[4], ty = params_global[5];
    float Tx = A[0] * tx + A[1] * ty;
    float Ty = A[2] * tx + A[3] * ty;
    float *W = a->warp;
    W[0] = A[0];
    W[1] = A[1];
    W[2] = -Tx + (float)(a->width / 2);
    W[3] = A[2];
    W[4] = A[3];
    W[5] = -Ty + (float)(a->height / 2);
    double M[6];
    for (int i = 0; i < 6; i++)
        M[i] = W[i];
    AuStatus st = au_warp_affine_u8(frame, out, M, 0, err);
    if (st)
        return st;

    /* The landmarks in the aligned face: cv::Mat(landmarks n x 2) * warp_2x2^T,
     * float matrix product (OpenCV gemm accumulates float products in double). */
    for (int i = 0; i < 68; i++) {
        double x = landmarks[i], y = landmarks[i + 68];
        dst_all[i] = (float)(x * (double)W[0] + y * (double)W[1]);
        dst_all[i + 68] = (float)(x * (double)W[3] + y * (double)W[4]);
        dst_all[i] += W[2];
        dst_all[i + 68] += W[5];
    }
    /* Move the eyebrows (17-26) and the outer contour points 0 and 16 up. */
    float lift = (float)((30 / 0.7) * a->sim_scale);
    static const int lifted[] = {0, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26};
    for (size_t k = 0; k < sizeof(lifted) / sizeof(lifted[0]); k++)
        dst_all[lifted[k] + 68] -= lift;

    /* PAW(destination, tris, 0, 0, cols-1, rows-1): mask size (int)(max-min+1.5). */
    int mw = (int)((float)(a->width - 1) + 1.5f), mh = (int)((float)(a->height - 1) + 1.5f);
    unsigned char mask_stack[128 * 128];
    unsigned char *mask = (size_t)mw * (size_t)mh <= sizeof(mask_stack) ? mask_stack : malloc((size_t)mw * (size_t)mh);
    if (!mask)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory for the alignment mask");
    au_paw_mask(dst_all, 68, a->tris, 0.0f, 0.0f, mw, mh, mask);
    for (int y = 0; y < out->height; y++) {
        uint8_t *row = au_image_u8_row(out, y);
        for (int x = 0; x < out->width; x++) {
            if (!mask[(size_t)y * (size_t)mw + (size_t)x])
                memset(row + (size_t)x * (size_t)out->channels, 0, (size_t)out->channels);
        }
    }
    if (mask != mask_stack)
        free(mask);
    return AU_OK;
}
