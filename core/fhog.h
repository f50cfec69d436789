/* Felzenszwalb HOG (FHOG) features as dlib's extract_fhog_features computes
 * them, which OpenFace's FaceAnalyser (Extract_FHOG_descriptor) runs on the
 * 112x112 aligned face with cell size 8: 14x14 cells, the border ring of cells
 * dropped, giving 12x12 cells of 31 features (18 contrast-sensitive orientation
 * bins, 9 contrast-insensitive bins, 4 texture/energy features).
 *
 * Output layout is OpenFace's descriptor: for each cell row y, for each cell
 * column x, the 31 features: out[(y * cols + x) * 31 + f].
 *
 * Arithmetic follows dlib 19.24 (float, as OpenFace's -msse3 build runs it),
 * so the result matches OpenFace bit for bit: see fhog.c for which steps that
 * depends on. Cell size 1 (a separate dlib path) is not supported.
 *
 * Typical use: au_fhog_init once per image size (it builds a 255 KB
 * orientation table, about 1-2 ms), au_fhog_run per frame (no allocation),
 * au_fhog_free at the end. */
#ifndef AU_FHOG_H
#define AU_FHOG_H

#include <stdint.h>

#include "error.h"
#include "image.h"

#define AU_FHOG_FEATURES 31 /* per cell */
#define AU_FHOG_ORIENTATIONS 18

/* Gradient orientation bin (0..17) of every integer gradient (gx, gy) in
 * [-255, 255]^2, as dlib's vector path snaps it (float dot products with its
 * 4-digit unit vectors, first maximum of |dot| wins, +9 for a negative dot). */
#define AU_FHOG_ORIENT_SIZE (511 * 511)
#define AU_FHOG_ORIENT_INDEX(gx, gy) ((size_t)((gy) + 255) * 511 + (size_t)((gx) + 255))
void au_fhog_orientation_table(uint8_t *table);

/* The swappable per-row kernel (the DSP table's "FHOG cells" entry): for image
 * row y (rows y-1 and y+1 exist) and the n pixels x0 .. x0+n-1 (n a multiple
 * of 8, dlib's vector width; a remainder is ignored), the gradient of the
 * channel with the largest squared length (ties to the later of red, green,
 * blue, as dlib's vector path), its orientation bin (bin[i] =
 * orient[AU_FHOG_ORIENT_INDEX(gx, gy)], a table from
 * au_fhog_orientation_table) and its length (mag[i] = sqrtf(squared length),
 * float). prev/cur/next point at rows y-1, y, y+1; channels is 1 (gray) or 3
 * (BGR). Reads pixels x0-1 .. x0+n. A SIMD version may compute the bins
 * without the table but must give identical bins and magnitudes. */
typedef void (*AuFhogRowFn)(const uint8_t *prev, const uint8_t *cur, const uint8_t *next, int channels, int x0, int n,
                            const uint8_t *orient, uint8_t *bin, float *mag);

/* The C reference of AuFhogRowFn. */
void au_fhog_row_c(const uint8_t *prev, const uint8_t *cur, const uint8_t *next, int channels, int x0, int n,
                   const uint8_t *orient, uint8_t *bin, float *mag);

/* Scratch buffers for one image size and cell size, reused across frames. */
typedef struct AuFhog {
    int width, height, channels, cell_size;
    int cells_rows, cells_cols; /* cells covering the image (rounded) */
    int rows, cols;             /* output cells: cells - 2, at least 1 */
    int visible_rows;           /* pixel rows 1 .. visible_rows - 1 vote */
    int visible_cols;           /* pixel columns 1 .. visible_cols - 1 vote */
    int n_vec;                  /* pixels per row on dlib's vector path (multiple of 8) */
    float *hist;                /* (cells_rows + 2) x (cells_cols + 2) x 18, padded by one cell */
    float *norm;                /* cell energies, then block clamp levels and scales */
    uint8_t *bin;               /* one image row of orientation bins */
    float *mag;                 /* one image row of gradient magnitudes */
    int *col_cell;              /* per pixel column: padded histogram column of the left cell */
    float *col_w;               /* per pixel column: weights of the left and right cells */
    uint8_t *orient;            /* AU_FHOG_ORIENT_SIZE orientation bins by gradient */
    AuFhogRowFn row_fn;         /* au_fhog_row_c unless the DSP table sets a SIMD version */
} AuFhog;

/* Prepares ctx for width x height images with channels 1 or 3 and cell size
 * 2..4096. Fails (AU_ERR_ARG) when the image gives fewer than 3x3 cells, where
 * dlib returns an empty result. */
AuStatus au_fhog_init(AuFhog *ctx, int width, int height, int channels, int cell_size, AuError *err);
/* Accepts a zeroed or partially initialised ctx. */
void au_fhog_free(AuFhog *ctx);
/* Number of floats au_fhog_run writes: rows * cols * 31. */
static inline int au_fhog_size(const AuFhog *ctx) { return ctx->rows * ctx->cols * AU_FHOG_FEATURES; }

/* FHOG of img (the size and channels ctx was made for) into out
 * (au_fhog_size floats). No allocation. */
AuStatus au_fhog_run(AuFhog *ctx, const AuImageU8 *img, float *out, AuError *err);

/* One-shot convenience (tests, single images): init, run, free. out must hold
 * (cells - 2)^2 * 31 floats for the image (4464 for 112x112, cell size 8);
 * out_capacity is its length in floats. rows/cols receive the output grid. */
AuStatus au_fhog_compute(const AuImageU8 *img, int cell_size, float *out, int out_capacity, int *rows, int *cols,
                         AuError *err);

#endif
