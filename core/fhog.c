/* FHOG as dlib 19.24's extract_fhog_features (image_transforms/fhog.h)
 * computes it for OpenFace 2.2 (Debian's dlib 19.24, compiled into OpenFace
 * with -msse -msse2 -msse3 and no FMA). Written from the algorithm; these are
 * the points where dlib's float arithmetic fixes the exact result:
 *  - the pixel loop takes 8 pixels at a time (x = 1, 9, ... while
 *    x < visible_cols - 7) in float: the gradient is that of the channel with
 *    the largest squared length, ties going to the later of red, green, blue;
 *    orientation is the best of +-dot with dlib's 4-digit unit vectors
 *    (rounded to float); the vote weights are vy * (vx * |g|);
 *  - the 0..7 pixels left at the right edge (6 of them for 112 columns) go
 *    through dlib's scalar path: ties between channels go to the earlier one,
 *    and the weights are (vy * vx) * |g|; they vote into the last two cell
 *    columns, so they reach the last output column directly;
 *  - votes are added to each float histogram bin in raster order;
 *  - the 4 block normalisations of a cell run as 4 SIMD lanes; their
 *    horizontal sum is SSE2's (a0 + a2) + (a1 + a3) (dlib uses hadd only
 *    with __SSSE3__, which -msse3 does not define);
 *  - nothing is fused into multiply-adds.
 * Swapping the channel tie rule changes features by up to 3e-2, the
 * horizontal sum order by 3e-8; with all of the above every value of the
 * reference run is bit-identical. */
#include "fhog.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* dlib's products and sums are rounded separately: no fused multiply-adds
 * (-ffp-contract=fast with FMA changes results by up to 1.2e-7). -std=c11
 * already implies this for GCC; the pragmas keep it so under a variant's
 * flags, except clang's -ffp-contract=fast, which ignores pragmas. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* dlib's unit vectors (4 digits, stored as float) for the 9 orientations in
 * [0, pi); bins 9..17 are their negations. */
static const float fhog_dir_x[9] = {1.0000f, 0.9397f, 0.7660f, 0.500f, 0.1736f, -0.1736f, -0.5000f, -0.7660f, -0.9397f};
static const float fhog_dir_y[9] = {0.0000f, 0.3420f, 0.6428f, 0.8660f, 0.9848f, 0.9848f, 0.8660f, 0.6428f, 0.3420f};

/* dlib's constants: energy epsilon, truncation 0.2 (folded into dlib's
 * min(h, 0.2 * norm) * (0.1 / (0.2 * norm)) form), texture scale 2 * 0.2357. */
static const float fhog_eps = 0.0001f;
static const float fhog_trunc = 0.2f;
static const float fhog_half_trunc = 0.1f;
static const float fhog_texture_scale = (float)(2 * 0.2357);

/* Gradient of the channel with the largest squared length as dlib's scalar
 * path picks it: red, then green if strictly longer, then blue if strictly
 * longer (ties go to the earlier channel; its vector path differs, below). */
static inline void fhog_gradient_scalar(const uint8_t *prev, const uint8_t *cur, const uint8_t *next, int channels,
                                        int x, int *gx, int *gy, int *len)
{
    int best_x = 0, best_y = 0, best_len = -1;
    for (int ch = channels - 1; ch >= 0; ch--) { /* BGR memory order: red first */
        const int dx = (int)cur[channels * (x + 1) + ch] - (int)cur[channels * (x - 1) + ch];
        const int dy = (int)next[channels * x + ch] - (int)prev[channels * x + ch];
        const int l = dx * dx + dy * dy;
        if (l > best_len) {
            best_len = l;
            best_x = dx;
            best_y = dy;
        }
    }
    *gx = best_x;
    *gy = best_y;
    *len = best_len;
}

/* The orientation of gradient (fx, fy) as dlib picks it: per orientation o in
 * turn, take o if dot > best, else o + 9 if -dot > best, updating best (from
 * 0). So best is the running maximum of |dot|, and the result is the first o
 * reaching the maximum, plus 9 when its dot is negative. dlib's vector path
 * (without the "else") and scalar path give the same bins. */
static inline int fhog_orientation(float fx, float fy)
{
    float best = 0.0f;
    int best_o = 0;
    for (int o = 0; o < 9; o++) {
        const float dot = fx * fhog_dir_x[o] + fy * fhog_dir_y[o];
        const float a = fabsf(dot);
        const int cand = dot < 0.0f ? o + 9 : o;
        best_o = a > best ? cand : best_o;
        best = a > best ? a : best;
    }
    return best_o;
}

void au_fhog_orientation_table(uint8_t *table)
{
    /* Half the table directly; the other half by symmetry: negating the
     * gradient negates every dot product exactly, so the same o wins with the
     * opposite sign (bin +- 9). The zero gradient (bin 0) is in the first half. */
    for (int gy = 0; gy <= 255; gy++)
        for (int gx = -255; gx <= 255; gx++)
            table[AU_FHOG_ORIENT_INDEX(gx, gy)] = (uint8_t)fhog_orientation((float)gx, (float)gy);
    for (int gy = -255; gy < 0; gy++)
        for (int gx = -255; gx <= 255; gx++) {
            const int b = table[AU_FHOG_ORIENT_INDEX(-gx, -gy)];
            table[AU_FHOG_ORIENT_INDEX(gx, gy)] = (uint8_t)(b < 9 ? b + 9 : b - 9);
        }
}

void au_fhog_row_c(const uint8_t *prev, const uint8_t *cur, const uint8_t *next, int channels, int x0, int n,
                   const uint8_t *orient, uint8_t *bin, float *mag)
{
    n -= n % 8;
    const uint8_t *p = prev + (size_t)channels * (size_t)x0;
    const uint8_t *c = cur + (size_t)channels * (size_t)x0;
    const uint8_t *q = next + (size_t)channels * (size_t)x0;
    for (int i = 0; i < n; i++) {
        int gx, gy, len;
        if (channels == 1) {
            gx = (int)c[i + 1] - (int)c[i - 1];
            gy = (int)q[i] - (int)p[i];
            len = gx * gx + gy * gy;
        } else {
            /* Channel choice as dlib's vector path: green unless red is
             * strictly longer, then blue unless that is strictly longer. */
            const int rx = (int)c[3 * i + 5] - (int)c[3 * i - 1], ry = (int)q[3 * i + 2] - (int)p[3 * i + 2];
            const int gnx = (int)c[3 * i + 4] - (int)c[3 * i - 2], gny = (int)q[3 * i + 1] - (int)p[3 * i + 1];
            const int bx = (int)c[3 * i + 3] - (int)c[3 * i - 3], by = (int)q[3 * i] - (int)p[3 * i];
            const int rl = rx * rx + ry * ry, gl = gnx * gnx + gny * gny, bl = bx * bx + by * by;
            const int red = rl > gl;
            const int tx = red ? rx : gnx, ty = red ? ry : gny, tl = red ? rl : gl;
            const int keep = tl > bl;
            gx = keep ? tx : bx;
            gy = keep ? ty : by;
            len = keep ? tl : bl;
        }
        mag[i] = sqrtf((float)len);
        bin[i] = orient[AU_FHOG_ORIENT_INDEX(gx, gy)];
    }
}

void au_fhog_free(AuFhog *ctx)
{
    if (!ctx)
        return;
    free(ctx->hist);
    free(ctx->norm);
    free(ctx->bin);
    free(ctx->mag);
    free(ctx->col_cell);
    free(ctx->col_w);
    free(ctx->orient);
    memset(ctx, 0, sizeof(*ctx));
}

AuStatus au_fhog_init(AuFhog *ctx, int width, int height, int channels, int cell_size, AuError *err)
{
    memset(ctx, 0, sizeof(*ctx));
    if (width <= 0 || height <= 0 || width > 32768 || height > 32768 || (channels != 1 && channels != 3))
        return au_error_set(err, AU_ERR_ARG, "fhog: invalid image %dx%d with %d channels", width, height, channels);
    if (cell_size < 2 || cell_size > 4096)
        return au_error_set(err, AU_ERR_ARG, "fhog: cell size %d not supported (2..4096)", cell_size);
    /* dlib rounds the cell count to nearest (float division, + 0.5 in double). */
    const int cr = (int)((double)((float)height / (float)cell_size) + 0.5);
    const int cc = (int)((double)((float)width / (float)cell_size) + 0.5);
    if (cr < 3 || cc < 3)
        return au_error_set(err, AU_ERR_ARG, "fhog: %dx%d image with cell size %d gives %dx%d cells, need at least 3x3",
                            width, height, cell_size, cc, cr);
    ctx->width = width;
    ctx->height = height;
    ctx->channels = channels;
    ctx->cell_size = cell_size;
    ctx->cells_rows = cr;
    ctx->cells_cols = cc;
    ctx->rows = cr - 2;
    ctx->cols = cc - 2;
    ctx->row_fn = au_fhog_row_c;
    /* Pixels 1 .. visible - 1 vote (the gradient needs both neighbours). */
    ctx->visible_rows = (cr * cell_size < height ? cr * cell_size : height) - 1;
    ctx->visible_cols = (cc * cell_size < width ? cc * cell_size : width) - 1;
    ctx->n_vec = ctx->visible_cols - 7 > 1 ? 8 * ((ctx->visible_cols - 7 - 1 + 7) / 8) : 0;

    const size_t hist_n = (size_t)(cr + 2) * (size_t)(cc + 2) * AU_FHOG_ORIENTATIONS;
    /* norm holds the cell energies, then per 2x2 block the clamp level and scale. */
    const size_t norm_n = (size_t)cr * (size_t)cc + 2 * (size_t)(cr - 1) * (size_t)(cc - 1);
    const size_t ncols = (size_t)ctx->visible_cols;
    ctx->hist = malloc(hist_n * sizeof(float));
    ctx->norm = malloc(norm_n * sizeof(float));
    ctx->bin = malloc(ncols);
    ctx->mag = malloc(ncols * sizeof(float));
    ctx->col_cell = malloc(ncols * sizeof(int));
    ctx->col_w = malloc(2 * ncols * sizeof(float));
    ctx->orient = malloc(AU_FHOG_ORIENT_SIZE);
    if (!ctx->hist || !ctx->norm || !ctx->bin || !ctx->mag || !ctx->col_cell || !ctx->col_w || !ctx->orient) {
        au_fhog_free(ctx);
        return au_error_set(err, AU_ERR_NOMEM, "fhog: cannot allocate scratch for %dx%d cells", cc, cr);
    }

    /* Horizontal interpolation per pixel column x (index x - 1): the padded
     * histogram column of the left cell and the weights (1 - f, f) of the left
     * and right cells, computed the way each of dlib's two paths does. */
    const float fcs = (float)cell_size;
    for (int x = 1; x < ctx->visible_cols; x++) {
        int ixp;
        float vx0;
        if (x - 1 < ctx->n_vec) {
            /* (x + 0.5) / cs + 0.5, truncated: includes the +1 of the padding. */
            float xp = ((float)x + 0.5f) / fcs + 0.5f;
            ixp = (int)xp;
            vx0 = xp - (float)ixp;
            ctx->col_w[2 * (x - 1)] = 1.0f - vx0;
        } else {
            float xp = (float)(((double)x + 0.5) / (double)cell_size - 0.5);
            ixp = (int)floorf(xp);
            vx0 = xp - (float)ixp;
            ctx->col_w[2 * (x - 1)] = (float)(1.0 - (double)vx0);
            ixp += 1;
        }
        ctx->col_cell[x - 1] = ixp;
        ctx->col_w[2 * (x - 1) + 1] = vx0;
    }
    au_fhog_orientation_table(ctx->orient);
    return AU_OK;
}

/* Votes of one pixel row into the (padded) histogram, bilinear in x and y. */
static void fhog_vote_row(AuFhog *ctx, const uint8_t *prev, const uint8_t *cur, const uint8_t *next, int y)
{
    const int cs = ctx->cell_size;
    const size_t hrow = (size_t)(ctx->cells_cols + 2) * AU_FHOG_ORIENTATIONS;

    /* dlib: float yp = ((float)y + 0.5) / (float)cell_size - 0.5, in double then rounded. */
    const float yp = (float)(((double)(float)y + 0.5) / (double)(float)cs - 0.5);
    const int iyp = (int)floorf(yp);
    const float vy0 = yp - (float)iyp;
    const float vy1 = (float)(1.0 - (double)vy0);
    float *row0 = ctx->hist + (size_t)(iyp + 1) * hrow;
    float *row1 = row0 + hrow;
    const int *col_cell = ctx->col_cell;
    const float *col_w = ctx->col_w;

    const int n_vec = ctx->n_vec;
    ctx->row_fn(prev, cur, next, ctx->channels, 1, n_vec, ctx->orient, ctx->bin, ctx->mag);
    for (int i = 0; i < n_vec; i++) {
        const float v = ctx->mag[i];
        const float vx1 = col_w[2 * i] * v, vx0 = col_w[2 * i + 1] * v;
        const size_t c0 = (size_t)col_cell[i] * AU_FHOG_ORIENTATIONS + ctx->bin[i];
        const size_t c1 = c0 + AU_FHOG_ORIENTATIONS;
        row0[c0] += vy1 * vx1;
        row1[c0] += vy0 * vx1;
        row0[c1] += vy1 * vx0;
        row1[c1] += vy0 * vx0;
    }

    /* dlib's scalar path for the pixels left at the right edge. */
    for (int x = 1 + n_vec; x < ctx->visible_cols; x++) {
        int gx, gy, len;
        fhog_gradient_scalar(prev, cur, next, ctx->channels, x, &gx, &gy, &len);
        const int best_o = ctx->orient[AU_FHOG_ORIENT_INDEX(gx, gy)];
        const float v = sqrtf((float)len);
        const float vx1 = col_w[2 * (x - 1)], vx0 = col_w[2 * (x - 1) + 1];
        const size_t c0 = (size_t)col_cell[x - 1] * AU_FHOG_ORIENTATIONS + (size_t)best_o;
        const size_t c1 = c0 + AU_FHOG_ORIENTATIONS;
        row0[c0] += vy1 * vx1 * v;
        row1[c0] += vy0 * vx1 * v;
        row0[c1] += vy1 * vx0 * v;
        row1[c1] += vy0 * vx0 * v;
    }
}

static inline float fhog_sum4(float a0, float a1, float a2, float a3) { return (a0 + a2) + (a1 + a3); }

static inline float fhog_clamp_scale(float h, float nn, float n) { return (h < nn ? h : nn) * n; }

AuStatus au_fhog_run(AuFhog *ctx, const AuImageU8 *img, float *out, AuError *err)
{
    if (!ctx || !ctx->hist || !img || !img->data || !out)
        return au_error_set(err, AU_ERR_ARG, "fhog: missing context, image or output");
    if (img->width != ctx->width || img->height != ctx->height || img->channels != ctx->channels)
        return au_error_set(err, AU_ERR_ARG, "fhog: image is %dx%dx%d, context was made for %dx%dx%d", img->width,
                            img->height, img->channels, ctx->width, ctx->height, ctx->channels);
    const int cr = ctx->cells_rows, cc = ctx->cells_cols;
    const int hcols = cc + 2;
    float *hist = ctx->hist;
    memset(hist, 0, (size_t)(cr + 2) * (size_t)hcols * AU_FHOG_ORIENTATIONS * sizeof(float));

    for (int y = 1; y < ctx->visible_rows; y++)
        fhog_vote_row(ctx, au_image_u8_row(img, y - 1), au_image_u8_row(img, y), au_image_u8_row(img, y + 1), y);

    /* Energy per cell: squared contrast-insensitive histogram, summed in bin order. */
    float *norm = ctx->norm;
    for (int r = 0; r < cr; r++) {
        for (int c = 0; c < cc; c++) {
            const float *h = hist + ((size_t)(r + 1) * hcols + (size_t)(c + 1)) * AU_FHOG_ORIENTATIONS;
            float e = 0.0f;
            for (int o = 0; o < 9; o++) {
                float s = h[o] + h[o + 9];
                e += s * s;
            }
            norm[(size_t)r * cc + c] = e;
        }
    }

    /* Per 2x2 block of cells (top-left at r, c): dlib's clamp level
     * nn = 0.2 * sqrt(energy sum + eps) and scale n = 0.1 / nn. dlib sums the
     * block as ((TL + TR) + BL) + BR in each of its 4 lanes. */
    const int br = cr - 1, bc = cc - 1;
    float *blk_nn = norm + (size_t)cr * cc;
    float *blk_n = blk_nn + (size_t)br * bc;
    for (int r = 0; r < br; r++) {
        const float *n0 = norm + (size_t)r * cc;
        const float *n1 = n0 + cc;
        for (int c = 0; c < bc; c++) {
            float s = ((n0[c] + n0[c + 1]) + n1[c]) + n1[c + 1];
            float nn = fhog_trunc * sqrtf(s + fhog_eps);
            blk_nn[(size_t)r * bc + c] = nn;
            blk_n[(size_t)r * bc + c] = fhog_half_trunc / nn;
        }
    }

    /* Features of the inner cells. dlib's lanes, for output cell (y, x) =
     * histogram cell (y + 1, x + 1), are the blocks at (y+1, x+1), (y, x+1),
     * (y+1, x), (y, x). */
    const int rows = ctx->rows, cols = ctx->cols;
    for (int y = 0; y < rows; y++) {
        for (int x = 0; x < cols; x++) {
            const size_t b3 = (size_t)y * bc + x, b2 = b3 + bc, b1 = b3 + 1, b0 = b2 + 1;
            const float nn0 = blk_nn[b0], nn1 = blk_nn[b1], nn2 = blk_nn[b2], nn3 = blk_nn[b3];
            const float s0 = blk_n[b0], s1 = blk_n[b1], s2 = blk_n[b2], s3 = blk_n[b3];
            const float *h = hist + ((size_t)(y + 2) * hcols + (size_t)(x + 2)) * AU_FHOG_ORIENTATIONS;
            float *f = out + ((size_t)y * cols + x) * AU_FHOG_FEATURES;
            float t0 = 0.0f, t1 = 0.0f, t2 = 0.0f, t3 = 0.0f;
            for (int o = 0; o < 18; o += 3) {
                float g0[3], g1[3], g2[3], g3[3];
                for (int k = 0; k < 3; k++) {
                    float v = h[o + k];
                    g0[k] = fhog_clamp_scale(v, nn0, s0);
                    g1[k] = fhog_clamp_scale(v, nn1, s1);
                    g2[k] = fhog_clamp_scale(v, nn2, s2);
                    g3[k] = fhog_clamp_scale(v, nn3, s3);
                    f[o + k] = fhog_sum4(g0[k], g1[k], g2[k], g3[k]);
                }
                t0 += (g0[0] + g0[1]) + g0[2];
                t1 += (g1[0] + g1[1]) + g1[2];
                t2 += (g2[0] + g2[1]) + g2[2];
                t3 += (g3[0] + g3[1]) + g3[2];
            }
            for (int o = 0; o < 9; o++) {
                float v = h[o] + h[o + 9];
                f[18 + o] = fhog_sum4(fhog_clamp_scale(v, nn0, s0), fhog_clamp_scale(v, nn1, s1),
                                      fhog_clamp_scale(v, nn2, s2), fhog_clamp_scale(v, nn3, s3));
            }
            f[27] = t0 * fhog_texture_scale;
            f[28] = t1 * fhog_texture_scale;
            f[29] = t2 * fhog_texture_scale;
            f[30] = t3 * fhog_texture_scale;
        }
    }
    return AU_OK;
}

AuStatus au_fhog_compute(const AuImageU8 *img, int cell_size, float *out, int out_capacity, int *rows, int *cols,
                         AuError *err)
{
    if (!img || !out)
        return au_error_set(err, AU_ERR_ARG, "fhog: missing image or output");
    AuFhog ctx;
    AuStatus st = au_fhog_init(&ctx, img->width, img->height, img->channels, cell_size, err);
    if (st != AU_OK)
        return st;
    if (out_capacity < au_fhog_size(&ctx)) {
        st = au_error_set(err, AU_ERR_ARG, "fhog: output holds %d floats, %dx%d cells need %d", out_capacity, ctx.cols,
                          ctx.rows, au_fhog_size(&ctx));
    } else {
        st = au_fhog_run(&ctx, img, out, err);
        if (st == AU_OK) {
            if (rows)
                *rows = ctx.rows;
            if (cols)
                *cols = ctx.cols;
        }
    }
    au_fhog_free(&ctx);
    return st;
}
