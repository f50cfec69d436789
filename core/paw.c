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

/* One sameSide test of point_in_triangle: the line through (x2, y2) and
 * (x2 + dx, y2 + dy), side the opposite vertex's value. */
typedef struct PawEdge {
    float x2, y2, dx, dy, side;
    int kind;      /* EDGE_CONSTANT, EDGE_PROBE or EDGE_CROSSING */
    int inc;       /* 1: the test goes from false to true along a row; 0: true to false */
    /* EDGE_CROSSING: the crossing column in the row at y0 is
     * c0 + (y0 - y2) * slope, and the margin 2^-21 (|that - c0| + slack) */
    double slope, c0, slack;
} PawEdge;

enum { EDGE_CONSTANT, EDGE_PROBE, EDGE_CROSSING };

struct AuPawTriScan {
    PawEdge e[3];
    int col_lo, col_hi;         /* columns whose x lies in the bounding box */
    int next_start, next_end;   /* scan_convert's row lists */
};

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
    free(p->scan);
    free(p->scan_rows);
    free(p->scan_run);
    free(p->scan_cover);
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
    p->scan = malloc(sizeof(*p->scan) * nt);
    p->scan_rows = malloc(sizeof(int) * 2 * ((size_t)p->height + 1));
    p->scan_run = malloc(sizeof(int) * ((size_t)p->width + 8));
    p->scan_cover = malloc(sizeof(uint64_t) * ((size_t)p->width + 1));
    if (!p->triangulation || !p->destination || !p->alpha || !p->beta || !p->tri_points || !p->triangle_id ||
        !p->pixel_mask || !p->coefficients || !p->map_x || !p->map_y || !p->scan ||
        !p->scan_rows || !p->scan_run || !p->scan_cover) {
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
static int scan_convert(AuPaw *p);

/* The destination-dependent data of every triangle: alpha, beta and
 * tri_points, as PAW's constructor computes them. */
static void set_triangles(AuPaw *p, const float *destination)
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
}

void au_paw_set_destination_ref(AuPaw *p, const float *destination)
{
    set_triangles(p, destination);
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

int au_paw_set_destination(AuPaw *p, const float *destination)
{
    set_triangles(p, destination);
    if (scan_convert(p))
        return 1;
    au_paw_set_destination_ref(p, p->destination);
    return 0;
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

/* ---- scan conversion ------------------------------------------------------------
 *
 * au_paw_set_destination_ref looks every pixel up. The result is a function
 * of, per row and triangle, two sets of columns: J (the pixels for which
 * point_in_triangle holds) and I (those of J inside the triangle's bounding
 * box, which the search requires). Raster order then gives: the previous
 * pixel's triangle g as long as the pixel is in J_g, else the lowest index t
 * whose I_t holds the pixel, else -1. scan_convert computes J and I exactly
 * and fills the row run by run.
 *
 * J and I are intervals of columns, found with the exact float tests: for a
 * fixed row y0, each of the three sameSide tests is
 *   s(x) = (a - (x0 - x2) * dy) * side >= 0,   x0 = (float)x + min_x,
 * with a = dx * (y0 - y2), dx, dy, side constant. Float rounding is monotone
 * (non-decreasing), so x0, x0 - x2, the product with dy, the difference and
 * the product with side are each monotone in x (in a direction given by the
 * signs of dy and side), and the test is false then true or true then false
 * along the row (constant when dy or side is 0). So J is the intersection
 * of three column intervals, one per test, each given by the column where
 * the test switches; the bounding-box tests are monotone in the same way.
 *
 * The switch column, without testing every column: in real arithmetic the
 * test switches at the crossing X = x2 + a / dy. The float test differs from
 * the real one only where the rounding can flip the sign of
 * a - (x0 - x2) * dy: with u = 2^-24, the computed product is
 * (x0 - x2) * dy * (1 + e), |e| <= 2u + u^2 (two roundings; the difference
 * and the final product keep the sign of what they round), so the sign is
 * the real one when |x0 - X| > (2u + u^2) |x0 - x2|, i.e. (with
 * |x0 - x2| <= |x0 - X| + |X - x2|) when |x0 - X| > 2.03u |X - x2|. The
 * crossing is computed in double as x2 + (y0 - y2) dx / dy, which is within
 * 2.01u |X - x2| of X (a = dx * (y0 - y2) has two roundings) plus double
 * rounding (~1e-16 relative), and column c stands for x0 = fl(c + min_x),
 * within u (|min_x| + w) of c + min_x. So every column c farther than
 * M = 8u (|X - x2| + |x2| + |min_x| + w + 1) (about twice what those errors
 * need) from the computed crossing has the real test's value; only columns
 * within M of it (for faces M is ~1e-4 pixel: usually none, one when an
 * edge passes within M of a pixel centre) are tested with the exact float
 * test, which decides them. This needs |dy| and |side| not tiny
 * (>= 1e-10): then outside the M band |a - p| * |side| stays far above the
 * float underflow threshold, whose rounding to 0 would make the test true.
 * Tests with a tiny dy or side are found by bisection on the monotone test;
 * dy = 0 or side = 0 make the test constant along the row (one test).
 *
 * All this needs finite values without overflow: scan_convert declines (and
 * the reference runs) when a coordinate is non-finite or beyond
 * SCAN_MAX_COORD (then every product stays below 1e26). */

#define SCAN_MAX_COORD 1e6f
/* |dy| and |side| from which the switch column is computed (see above). */
#define SCAN_MIN_FACTOR 1e-10f

/* same_side(x0, y0, x1, y1, x2, y2, x3, y3) with a = (x3 - x2) * (y0 - y2):
 * the same operations on the same values. */
static inline int edge_test(const PawEdge *e, float a, float x0)
{
    float x = a - (x0 - e->x2) * e->dy;
    return x * e->side >= 0;
}

static void edge_init(PawEdge *e, float x1, float y1, float x2, float y2, float x3, float y3, float min_x, int w)
{
    e->x2 = x2;
    e->y2 = y2;
    e->dx = x3 - x2;
    e->dy = y3 - y2;
    e->side = (x3 - x2) * (y1 - y2) - (x1 - x2) * (y3 - y2);
    e->slope = e->dy != 0 ? (double)e->dx * (1.0 / (double)e->dy) : 0.0;
    e->c0 = (double)x2 - (double)min_x;
    e->slack = fabs((double)x2) + fabs((double)min_x) + w + 1.0;
    e->inc = (e->dy < 0) == (e->side > 0);
    if (e->dy == 0 || e->side == 0)
        e->kind = EDGE_CONSTANT;
    else if (fabsf(e->dy) < SCAN_MIN_FACTOR || fabsf(e->side) < SCAN_MIN_FACTOR)
        e->kind = EDGE_PROBE;
    else
        e->kind = EDGE_CROSSING;
}

/* ceil(v) and floor(v) clamped to [lo, hi] (lo for NaN), without branches
 * (their outcomes vary from edge to edge) and without libm calls (ceil and
 * floor are calls without SSE4.1). */
static inline int clamp_ceil(double v, int lo, int hi)
{
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    const int k = (int)v;
    return k + (k < v);
}

static inline int clamp_floor(double v, int lo, int hi)
{
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    const int k = (int)v;
    return k - (k > v);
}

/* The smallest i in [0, n] with (float)i + base >= thr (strictly > if
 * strict), n if none: (float)i + base is monotone in i, and the estimate is
 * within a step or two. */
static int first_column(float thr, float base, int n, int strict)
{
    int i = clamp_ceil((double)thr - (double)base, 0, n);
#define PAST(k) (strict ? (float)(k) + base > thr : (float)(k) + base >= thr)
    while (i > 0 && PAST(i - 1))
        i--;
    while (i < n && !PAST(i))
        i++;
#undef PAST
    return i;
}

/* For an EDGE_PROBE test: the first column in [0, w] from which the test
 * equals e->inc, w if none, by bisection on the monotone test. */
static int edge_switch_probe(const PawEdge *e, float a, float min_x, int w)
{
    int lo = -1, hi = w; /* the test differs from inc at lo, equals it at hi (virtually at -1 and w) */
    while (hi - lo > 1) {
        int m = lo + (hi - lo) / 2;
        if (edge_test(e, a, (float)m + min_x) == e->inc)
            hi = m;
        else
            lo = m;
    }
    return hi;
}

/* The same for an EDGE_CROSSING test in the row at py, from the crossing:
 * columns more than the margin before it differ from inc, those more than
 * the margin after it equal inc, those within are tested (see above). */
static inline int edge_switch_crossing(const PawEdge *e, float py, float min_x, int w)
{
    const double r = ((double)py - (double)e->y2) * e->slope; /* X - x2 */
    const double xs = e->c0 + r, m = 0x1p-21 * (fabs(r) + e->slack);
    /* columns before xs - m differ from inc, those after xs + m equal it */
    const int k = clamp_floor(xs + m, -1, w - 1);
    if (k < 0 || (double)k < xs - m)
        return k + 1; /* no column within the margin */
    const float a = e->dx * (py - e->y2);
    int sw = clamp_ceil(xs - m, 0, w);
    for (int c = sw; c <= k; c++)
        sw += edge_test(e, a, (float)c + min_x) != e->inc;
    return sw;
}

/* d[0 .. n-1] = v, writing up to 7 more: blocks of 8 make the loop short
 * and its branches predictable (the run lengths vary). */
static inline void fill_over(int *d, int n, int v)
{
    for (int i = 0; i < n; i += 8)
        for (int j = 0; j < 8; j++)
            d[i + j] = v;
}

static void tri_row_span(const struct AuPawTriScan *s, float py, float min_x, int w, int *lo, int *hi)
{
    int l = 0, h = w - 1;
    for (int k = 0; k < 3; k++) {
        const PawEdge *e = &s->e[k];
        int sw;
        if (e->kind == EDGE_CROSSING) {
            sw = edge_switch_crossing(e, py, min_x, w);
        } else if (e->kind == EDGE_CONSTANT) {
            if (edge_test(e, e->dx * (py - e->y2), min_x))
                continue;
            l = 0, h = -1;
            break;
        } else {
            sw = edge_switch_probe(e, e->dx * (py - e->y2), min_x, w);
        }
        const int from = e->inc ? sw : 0, to = e->inc ? w - 1 : sw - 1;
        l = from > l ? from : l;
        h = to < h ? to : h;
    }
    *lo = l;
    *hi = h;
}

/* au_paw_set_destination_ref's triangle map and mask by scan conversion, for
 * the triangles set_triangles has just computed. Returns 0 (nothing written)
 * when the shape is out of its domain (see above).
 *
 * Per row: the triangles whose rows hold it are kept as a bit set (index
 * order for free), updated from per-row lists of those that start and end;
 * for each, J and I; then the search's answer without a guess (the lowest
 * index whose I holds the pixel) per column, as a bit set of the candidates
 * whose I holds it; then the row run by run in raster order: a triangle
 * found at x keeps every pixel up to the end of its J (the guess), the last
 * row's final triangle is the guess for column 0. Loops whose trip counts
 * vary are few (the machine's branch predictor, not the arithmetic, bounds
 * the speed here). */
static int scan_convert(AuPaw *p)
{
    const int w = p->width, h = p->height, nt = p->n_tris;
    if (nt > PAW_ROW_TRIS_MAX || !(fabsf(p->min_x) <= SCAN_MAX_COORD) || !(fabsf(p->min_y) <= SCAN_MAX_COORD))
        return 0;
    for (int i = 0; i < 2 * p->n_points; i++)
        if (!(fabsf(p->destination[i]) <= SCAN_MAX_COORD))
            return 0;
    /* first_start[y] / first_end[y]: the triangles whose rows start at y /
     * end just before y, linked through next_start / next_end (-1 ends) */
    int *first_start = p->scan_rows, *first_end = p->scan_rows + h + 1;
    for (int y = 0; y <= h; y++)
        first_start[y] = first_end[y] = -1;
    for (int t = nt - 1; t >= 0; t--) {
        const float *tp = p->tri_points + TRI_STRIDE * t;
        struct AuPawTriScan *s = p->scan + t;
        /* point_in_triangle's three tests, in any order (a conjunction) */
        edge_init(&s->e[0], tp[0], tp[1], tp[2], tp[3], tp[4], tp[5], p->min_x, w);
        edge_init(&s->e[1], tp[2], tp[3], tp[0], tp[1], tp[4], tp[5], p->min_x, w);
        edge_init(&s->e[2], tp[4], tp[5], tp[0], tp[1], tp[2], tp[3], p->min_x, w);
        /* the box holds (x0, y0) when !(tp[6] < x0 || tp[8] > x0) and
         * !(tp[7] < y0 || tp[9] > y0) */
        s->col_lo = first_column(tp[8], p->min_x, w, 0);
        s->col_hi = first_column(tp[6], p->min_x, w, 1) - 1;
        const int row_lo = first_column(tp[9], p->min_y, h, 0), row_end = first_column(tp[7], p->min_y, h, 1);
        if (s->col_lo > s->col_hi || row_lo >= row_end)
            continue;
        s->next_start = first_start[row_lo];
        first_start[row_lo] = t;
        s->next_end = first_end[row_end];
        first_end[row_end] = t;
    }

    uint64_t active[PAW_ROW_TRIS_MAX / 64];
    const int n_words = (nt + 63) / 64;
    memset(active, 0, sizeof(active));
    int r_tri[PAW_ROW_TRIS_MAX], r_ilo[PAW_ROW_TRIS_MAX], r_ihi[PAW_ROW_TRIS_MAX], r_jhi[PAW_ROW_TRIS_MAX];
    int *run = p->scan_run;
    uint64_t *cover = p->scan_cover;
    int g = -1, count = 0;
    for (int y = 0; y < h; y++) {
        const float py = (float)y + p->min_y;
        int *tid = p->triangle_id + (size_t)y * (size_t)w;
        uint8_t *m = p->pixel_mask + (size_t)y * (size_t)w;
        for (int t = first_start[y]; t >= 0; t = p->scan[t].next_start)
            active[t >> 6] |= (uint64_t)1 << (t & 63);
        for (int t = first_end[y]; t >= 0; t = p->scan[t].next_end)
            active[t >> 6] &= ~((uint64_t)1 << (t & 63));
        /* the row's candidates in index order: I and J's end */
        int n_row = 0;
        for (int wd = 0; wd < n_words; wd++)
            for (uint64_t bits = active[wd]; bits; bits &= bits - 1) {
                const int t = 64 * wd + __builtin_ctzll(bits);
                const struct AuPawTriScan *s = p->scan + t;
                int jlo, jhi;
                tri_row_span(s, py, p->min_x, w, &jlo, &jhi);
                const int ilo = jlo > s->col_lo ? jlo : s->col_lo, ihi = jhi < s->col_hi ? jhi : s->col_hi;
                r_tri[n_row] = t;
                r_ilo[n_row] = ilo;
                r_ihi[n_row] = ihi;
                r_jhi[n_row] = jhi;
                n_row += ilo <= ihi;
            }
        /* the search's answer without a guess at column x is the first
         * candidate whose I holds x: with at most 64 candidates, bit k of
         * cover[x] says whether candidate k's I holds x (a prefix XOR of
         * the intervals' ends); with more, the answers are painted into
         * cover, highest index first */
        const int few = n_row <= 64;
        memset(cover, 0, sizeof(uint64_t) * ((size_t)w + 1));
        if (few) {
            for (int k = 0; k < n_row; k++) {
                cover[r_ilo[k]] ^= (uint64_t)1 << k;
                cover[r_ihi[k] + 1] ^= (uint64_t)1 << k;
            }
            uint64_t c = 0;
            for (int x = 0; x < w; x++)
                cover[x] = c ^= cover[x];
        } else {
            /* slot + 1, 0 for none */
            for (int k = n_row - 1; k >= 0; k--)
                for (int x = r_ilo[k]; x <= r_ihi[k]; x++)
                    cover[x] = (uint64_t)k + 1;
        }
        /* runs in raster order, into run[] (fills may overshoot by 7) */
        int x = 0;
        if (g >= 0) {
            int jlo, jhi;
            tri_row_span(p->scan + g, py, p->min_x, w, &jlo, &jhi);
            const int n = jhi + 1;
            if (jlo <= 0 && n > 0) {
                fill_over(run, n, g);
                x = n;
            }
        }
        while (x < w) {
            const uint64_t c = cover[x];
            if (c) {
                /* found at x (x is in its I, so in its J): the guess holds to J's end */
                const int k = few ? __builtin_ctzll(c) : (int)c - 1;
                g = r_tri[k];
                fill_over(run + x, r_jhi[k] - x + 1, g);
                x = r_jhi[k] + 1;
            } else {
                /* outside every I up to the next start */
                int next = w;
                for (int k = 0; k < n_row; k++)
                    next = r_ilo[k] > x && r_ilo[k] < next ? r_ilo[k] : next;
                g = -1;
                fill_over(run + x, next - x, -1);
                x = next;
            }
        }
        memcpy(tid, run, sizeof(int) * (size_t)w);
        int n_in = 0;
        for (x = 0; x < w; x++) {
            m[x] = (uint8_t)(run[x] >= 0);
            n_in += m[x];
        }
        count += n_in;
    }
    p->number_of_pixels = count;
    return 1;
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
