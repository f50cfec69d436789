#include "paw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "imgproc.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
/* GCC: the build uses -std=c11, which implies -ffp-contract=off. */

#define TRI_STRIDE 10
/* Triangles the raster scan lists per row (more: the plain search). */
#define PAW_ROW_TRIS_MAX 512

void au_paw_free(AuPaw *p)
{
    if (!p)
        return;
    free(p->triangulation);
    free(p->destination);
    free(p->alpha);
    free(p->beta);
    free(p->tri_points);
    free(p->triangle_id);
    free(p->pixel_mask);
    free(p->coefficients);
    free(p->map_x);
    free(p->map_y);
    memset(p, 0, sizeof(*p));
}

static AuStatus check_tris(int n_points, const int *tris, int n_tris, AuError *err)
{
    if (n_points < 1 || n_tris < 1 || !tris)
        return au_error_set(err, AU_ERR_ARG, "PAW: need points and triangles (got %d points, %d triangles)", n_points,
                            n_tris);
    for (int t = 0; t < n_tris; t++)
        for (int c = 0; c < 3; c++)
            if (tris[3 * t + c] < 0 || tris[3 * t + c] >= n_points)
                return au_error_set(err, AU_ERR_ARG, "PAW: triangle %d names point %d, the shape has %d points", t,
                                    tris[3 * t + c], n_points);
    return AU_OK;
}

/* Allocates every buffer for the shape, triangulation and grid size already
 * set in p, and copies the triangulation and destination. */
static AuStatus alloc_all(AuPaw *p, const float *destination, const int *tris, AuError *err)
{
    size_t n_px = (size_t)p->width * (size_t)p->height, nt = (size_t)p->n_tris;
    p->triangulation = malloc(sizeof(int) * 3 * nt);
    p->destination = malloc(sizeof(float) * 2 * (size_t)p->n_points);
    p->alpha = malloc(sizeof(float) * 3 * nt);
    p->beta = malloc(sizeof(float) * 3 * nt);
    p->tri_points = malloc(sizeof(float) * TRI_STRIDE * nt);
    p->triangle_id = malloc(sizeof(int) * n_px);
    p->pixel_mask = malloc(n_px);
    p->coefficients = malloc(sizeof(float) * 6 * nt);
    p->map_x = malloc(sizeof(float) * n_px);
    p->map_y = malloc(sizeof(float) * n_px);
    if (!p->triangulation || !p->destination || !p->alpha || !p->beta || !p->tri_points || !p->triangle_id ||
        !p->pixel_mask || !p->coefficients || !p->map_x || !p->map_y) {
        int w = p->width, h = p->height;
        au_paw_free(p);
        return au_error_set(err, AU_ERR_NOMEM, "PAW: out of memory for a %dx%d warp", w, h);
    }
    memcpy(p->triangulation, tris, sizeof(int) * 3 * nt);
    memcpy(p->destination, destination, sizeof(float) * 2 * (size_t)p->n_points);
    return AU_OK;
}

/* (int)(extent + 1.5) as OpenFace sizes the grid, rejected when it is not a
 * usable size (also for NaN). */
static AuStatus grid_side(double extent_plus, const char *what, int *side, AuError *err)
{
    if (!(extent_plus >= 1.0 && extent_plus < (double)AU_PAW_MAX_SIDE + 1.0))
        return au_error_set(err, AU_ERR_ARG, "PAW: grid %s %g is out of range [1, %d]", what, extent_plus,
                            AU_PAW_MAX_SIDE);
    *side = (int)extent_plus;
    return AU_OK;
}

static int find_in_row(const float *tri_points, int n_tris, const int *row, int n_row, float x, float y, int guess);

void au_paw_set_destination(AuPaw *p, const float *destination)
{
    const int n = p->n_points;
    if (destination != p->destination)
        memcpy(p->destination, destination, sizeof(float) * 2 * (size_t)n);
    const float *xs = p->destination, *ys = p->destination + n;
    for (int t = 0; t < p->n_tris; t++) {
        int j = p->triangulation[3 * t], k = p->triangulation[3 * t + 1], l = p->triangulation[3 * t + 2];
        float c1 = ys[l] - ys[j];
        float c2 = xs[l] - xs[j];
        float c4 = ys[k] - ys[j];
        float c3 = xs[k] - xs[j];
        float c5 = c3 * c1 - c2 * c4;
        float *a = p->alpha + 3 * t, *b = p->beta + 3 * t;
        a[0] = (ys[j] * c2 - xs[j] * c1) / c5;
        a[1] = c1 / c5;
        a[2] = -c2 / c5;
        b[0] = (xs[j] * c4 - ys[j] * c3) / c5;
        b[1] = -c4 / c5;
        b[2] = c3 / c5;

        float *tp = p->tri_points + TRI_STRIDE * t;
        tp[0] = xs[j];
        tp[1] = ys[j];
        tp[2] = xs[k];
        tp[3] = ys[k];
        tp[4] = xs[l];
        tp[5] = ys[l];
        /* cv::minMaxIdx over the three values: exact, whatever the order. */
        float mx = tp[0], my = tp[1], nx = tp[0], ny = tp[1];
        for (int v = 1; v < 3; v++) {
            float x = tp[2 * v], y = tp[2 * v + 1];
            if (x > mx)
                mx = x;
            if (x < nx)
                nx = x;
            if (y > my)
                my = y;
            if (y < ny)
                ny = y;
        }
        tp[6] = mx;
        tp[7] = my;
        tp[8] = nx;
        tp[9] = ny;
    }

    /* Raster scan; the previous pixel's triangle (or -1) is the next guess.
     * Per row, only the triangles whose y range holds the row can contain a
     * pixel of it: find_in_row scans those, in index order, and so returns
     * what au_paw_find_triangle returns (the others fail its bounding-box
     * test), in a fraction of the time. */
    int curr = -1, count = 0;
    int rows_tris[PAW_ROW_TRIS_MAX];
    for (int y = 0; y < p->height; y++) {
        float py = (float)y + p->min_y;
        int *tid = p->triangle_id + (size_t)y * (size_t)p->width;
        uint8_t *m = p->pixel_mask + (size_t)y * (size_t)p->width;
        int n_row = -1; /* -1: too many triangles for the list, scan them all */
        if (p->n_tris <= PAW_ROW_TRIS_MAX) {
            n_row = 0;
            for (int t = 0; t < p->n_tris; t++) {
                const float *tp = p->tri_points + TRI_STRIDE * t;
                if (!(tp[7] < py || tp[9] > py))
                    rows_tris[n_row++] = t;
            }
        }
        for (int x = 0; x < p->width; x++) {
            if (n_row >= 0)
                curr = find_in_row(p->tri_points, p->n_tris, rows_tris, n_row, (float)x + p->min_x, py, curr);
            else
                curr = au_paw_find_triangle(p->tri_points, p->n_tris, (float)x + p->min_x, py, curr);
            tid[x] = curr;
            m[x] = curr != -1;
            count += curr != -1;
        }
    }
    p->number_of_pixels = count;
}

AuStatus au_paw_init_bounds(AuPaw *p, const float *destination, int n_points, const int *tris, int n_tris,
                            float min_x, float min_y, float max_x, float max_y, AuError *err)
{
    memset(p, 0, sizeof(*p));
    AuStatus st = check_tris(n_points, tris, n_tris, err);
    if (st)
        return st;
    int w = 0, h = 0;
    /* float difference, then + 1.5 in double, as OpenFace's expression. */
    if ((st = grid_side((double)(max_x - min_x) + 1.5, "width", &w, err)) ||
        (st = grid_side((double)(max_y - min_y) + 1.5, "height", &h, err)))
        return st;
    p->n_points = n_points;
    p->n_tris = n_tris;
    p->min_x = min_x;
    p->min_y = min_y;
    p->width = w;
    p->height = h;
    if ((st = alloc_all(p, destination, tris, err)))
        return st;
    au_paw_set_destination(p, p->destination);
    return AU_OK;
}

AuStatus au_paw_init(AuPaw *p, const float *destination, int n_points, const int *tris, int n_tris, AuError *err)
{
    memset(p, 0, sizeof(*p));
    AuStatus st = check_tris(n_points, tris, n_tris, err);
    if (st)
        return st;
    /* cv::minMaxLoc over xs and ys (double results of float values). */
    double min_x = destination[0], max_x = destination[0];
    double min_y = destination[n_points], max_y = destination[n_points];
    for (int i = 0; i < n_points; i++) {
        float x = destination[i], y = destination[i + n_points];
        if (!isfinite(x) || !isfinite(y))
            return au_error_set(err, AU_ERR_ARG, "PAW: destination point %d is not finite", i);
        if (x < min_x)
            min_x = x;
        if (x > max_x)
            max_x = x;
        if (y < min_y)
            min_y = y;
        if (y > max_y)
            max_y = y;
    }
    int w = 0, h = 0;
    /* The members min_x/min_y are float (exact here); the size uses the double max. */
    if ((st = grid_side(max_x - (double)(float)min_x + 1.5, "width", &w, err)) ||
        (st = grid_side(max_y - (double)(float)min_y + 1.5, "height", &h, err)))
        return st;
    p->n_points = n_points;
    p->n_tris = n_tris;
    p->min_x = (float)min_x;
    p->min_y = (float)min_y;
    p->width = w;
    p->height = h;
    if ((st = alloc_all(p, destination, tris, err)))
        return st;
    au_paw_set_destination(p, p->destination);
    return AU_OK;
}

AuStatus au_paw_init_precomputed(AuPaw *p, const float *destination, int n_points, const int *tris, int n_tris,
                                 float min_x, float min_y, int width, int height, const int *triangle_id,
                                 const uint8_t *pixel_mask, const float *alpha, const float *beta, AuError *err)
{
    memset(p, 0, sizeof(*p));
    AuStatus st = check_tris(n_points, tris, n_tris, err);
    if (st)
        return st;
    if (width < 1 || height < 1 || width > AU_PAW_MAX_SIDE || height > AU_PAW_MAX_SIDE)
        return au_error_set(err, AU_ERR_ARG, "PAW: grid %dx%d is out of range [1, %d]", width, height,
                            AU_PAW_MAX_SIDE);
    size_t n_px = (size_t)width * (size_t)height;
    int count = 0;
    for (size_t i = 0; i < n_px; i++) {
        if (pixel_mask[i] && (triangle_id[i] < 0 || triangle_id[i] >= n_tris))
            return au_error_set(err, AU_ERR_ARG, "PAW: masked pixel (%zu, %zu) has triangle %d of %d", i % (size_t)width,
                                i / (size_t)width, triangle_id[i], n_tris);
        count += pixel_mask[i] != 0;
    }
    p->n_points = n_points;
    p->n_tris = n_tris;
    p->min_x = min_x;
    p->min_y = min_y;
    p->width = width;
    p->height = height;
    if ((st = alloc_all(p, destination, tris, err)))
        return st;
    memcpy(p->triangle_id, triangle_id, sizeof(int) * n_px);
    memcpy(p->pixel_mask, pixel_mask, n_px);
    memcpy(p->alpha, alpha, sizeof(float) * 3 * (size_t)n_tris);
    memcpy(p->beta, beta, sizeof(float) * 3 * (size_t)n_tris);
    /* Not used by the warp itself; kept consistent with the destination. */
    const float *xs = p->destination, *ys = p->destination + n_points;
    for (int t = 0; t < n_tris; t++) {
        float *tp = p->tri_points + TRI_STRIDE * t;
        for (int v = 0; v < 3; v++) {
            tp[2 * v] = xs[tris[3 * t + v]];
            tp[2 * v + 1] = ys[tris[3 * t + v]];
        }
        tp[6] = fmaxf(tp[0], fmaxf(tp[2], tp[4]));
        tp[7] = fmaxf(tp[1], fmaxf(tp[3], tp[5]));
        tp[8] = fminf(tp[0], fminf(tp[2], tp[4]));
        tp[9] = fminf(tp[1], fminf(tp[3], tp[5]));
    }
    p->number_of_pixels = count;
    return AU_OK;
}

/* PAW::sameSide: is (x0, y0) on the same side of the line through (x2, y2),
 * (x3, y3) as (x1, y1)? On the line counts as the same side. */
static inline int same_side(float x0, float y0, float x1, float y1, float x2, float y2, float x3, float y3)
{
    float x = (x3 - x2) * (y0 - y2) - (x0 - x2) * (y3 - y2);
    float y = (x3 - x2) * (y1 - y2) - (x1 - x2) * (y3 - y2);
    return x * y >= 0;
}

static inline int point_in_triangle(float x0, float y0, const float *t)
{
    return same_side(x0, y0, t[0], t[1], t[2], t[3], t[4], t[5]) &&
           same_side(x0, y0, t[2], t[3], t[0], t[1], t[4], t[5]) &&
           same_side(x0, y0, t[4], t[5], t[0], t[1], t[2], t[3]);
}

/* au_paw_find_triangle restricted to the triangles `row` (ascending) whose
 * y range holds y: the same answer when those are all such triangles. */
static int find_in_row(const float *tri_points, int n_tris, const int *row, int n_row, float x, float y, int guess)
{
    if (guess >= 0 && guess < n_tris && point_in_triangle(x, y, tri_points + TRI_STRIDE * guess))
        return guess;
    for (int k = 0; k < n_row; k++) {
        const float *t = tri_points + TRI_STRIDE * row[k];
        if (t[6] < x || t[8] > x)
            continue;
        if (point_in_triangle(x, y, t))
            return row[k];
    }
    return -1;
}

int au_paw_find_triangle(const float *tri_points, int n_tris, float x, float y, int guess)
{
    if (guess >= 0 && guess < n_tris && point_in_triangle(x, y, tri_points + TRI_STRIDE * guess))
        return guess;
    for (int i = 0; i < n_tris; i++) {
        const float *t = tri_points + TRI_STRIDE * i;
        if (t[6] < x || t[8] > x || t[7] < y || t[9] > y)
            continue;
        if (point_in_triangle(x, y, t))
            return i;
    }
    return -1;
}

void au_paw_calc_coeff(AuPaw *p, const float *src)
{
    const int n = p->n_points;
    for (int t = 0; t < p->n_tris; t++) {
        int i = p->triangulation[3 * t], j = p->triangulation[3 * t + 1], k = p->triangulation[3 * t + 2];
        float c1 = src[i];
        float c2 = src[j] - c1;
        float c3 = src[k] - c1;
        float c4 = src[i + n];
        float c5 = src[j + n] - c4;
        float c6 = src[k + n] - c4;
        const float *a = p->alpha + 3 * t, *b = p->beta + 3 * t;
        float *co = p->coefficients + 6 * t;
        co[0] = c1 + c2 * a[0] + c3 * b[0];
        co[1] = c2 * a[1] + c3 * b[1];
        co[2] = c2 * a[2] + c3 * b[2];
        co[3] = c4 + c5 * a[0] + c6 * b[0];
        co[4] = c5 * a[1] + c6 * b[1];
        co[5] = c5 * a[2] + c6 * b[2];
    }
}

void au_paw_warp_region(AuPaw *p)
{
    for (int y = 0; y < p->height; y++) {
        float yi = (float)y + p->min_y;
        size_t row = (size_t)y * (size_t)p->width;
        for (int x = 0; x < p->width; x++) {
            size_t i = row + (size_t)x;
            if (!p->pixel_mask[i]) {
                p->map_x[i] = -1;
                p->map_y[i] = -1;
                continue;
            }
            float xi = (float)x + p->min_x;
            const float *a = p->coefficients + 6 * p->triangle_id[i];
            float xo = a[0];
            xo += a[1] * xi;
            p->map_x[i] = xo + a[2] * yi;
            float yo = a[3];
            yo += a[4] * xi;
            p->map_y[i] = yo + a[5] * yi;
        }
    }
}

AuStatus au_paw_warp(AuPaw *p, const AuImageF32 *image, const float *src_landmarks, AuImageF32 *dst, AuError *err)
{
    if (dst->width != p->width || dst->height != p->height || !dst->data)
        return au_error_set(err, AU_ERR_ARG, "PAW warp: output is %dx%d, the warp is %dx%d", dst->width, dst->height,
                            p->width, p->height);
    au_paw_calc_coeff(p, src_landmarks);
    au_paw_warp_region(p);
    return au_remap_linear_f32(image, dst, p->map_x, p->map_y, err);
}
