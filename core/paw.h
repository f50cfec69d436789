/* OpenFace's piecewise affine warp (LandmarkDetector::PAW, PAW.cpp): a
 * triangulated destination shape defines a w x h pixel grid whose pixel (x, y)
 * is the destination point (x + min_x, y + min_y); each pixel inside a
 * triangle is mapped through that triangle's affine map to the matching
 * triangle of a source shape, and the source image is sampled there with
 * cv::remap (bilinear, 1/32-pixel positions, border 0).
 *
 * Users in the pipeline: FaceAnalysis::AlignFaceMask, which only needs the
 * pixel mask of the warped landmarks over the fixed 112x112 aligned face
 * (au_paw_init_bounds once, au_paw_set_destination per frame, no allocation),
 * and the detection validator, whose PAWs are read from its model file
 * (au_paw_init_precomputed) and warp a float crop of the gray frame
 * (au_paw_warp).
 *
 * Shapes are OpenFace's 2n column vectors: all x, then all y.
 *
 * Arithmetic is float as in PAW.cpp, in its operation order (the build has no
 * FMA contraction: GCC's -std=c11 implies -ffp-contract=off), so the mask, the
 * triangle map and the sampling positions match OpenFace bit for bit. */
#ifndef AU_PAW_H
#define AU_PAW_H

#include <stdint.h>

#include "error.h"
#include "image.h"

/* Largest warped grid side accepted (bounds that would need more are rejected). */
#define AU_PAW_MAX_SIDE 8192

struct AuPawTriScan;

typedef struct AuPaw {
    int n_points;               /* n: shapes have 2n floats */
    int n_tris;
    int *triangulation;         /* n_tris x 3 point indices */
    float *destination;         /* 2n: the destination shape */
    float min_x, min_y;         /* destination point of pixel (0, 0) */
    int width, height;          /* grid size */
    int number_of_pixels;       /* pixels inside the mask */
    float *alpha, *beta;        /* n_tris x 3: barycentric coefficients (c, x, y) of each destination triangle */
    float *tri_points;          /* n_tris x 10: the 3 vertices (x, y), then max x, max y, min x, min y */
    int *triangle_id;           /* height x width: triangle of each pixel, -1 outside */
    uint8_t *pixel_mask;        /* height x width: 1 inside a triangle, else 0 */
    /* Per-warp workspace (OpenFace's coefficients, map_x, map_y). */
    float *coefficients;        /* n_tris x 6 */
    float *map_x, *map_y;       /* height x width: source position of each pixel, -1 outside */
    /* au_paw_set_destination's per-triangle workspace (n_tris entries). */
    struct AuPawTriScan *scan;
    int *scan_rows;             /* 2 x (height + 1) */
    int *scan_run;              /* width + 8 */
    uint64_t *scan_cover;       /* width + 1 */
} AuPaw;

/* PAW(destination_shape, triangulation): the grid spans the shape's bounding
 * box, min_x/min_y its minimum, size (int)(max - min + 1.5). tris holds
 * n_tris x 3 indices < n_points. Copies everything it keeps. */
AuStatus au_paw_init(AuPaw *p, const float *destination, int n_points, const int *tris, int n_tris, AuError *err);

/* PAW(destination_shape, triangulation, min_x, min_y, max_x, max_y): the grid
 * given explicitly, size (int)(max - min + 1.5) computed as OpenFace does
 * (float difference, then + 1.5 in double). */
AuStatus au_paw_init_bounds(AuPaw *p, const float *destination, int n_points, const int *tris, int n_tris,
                            float min_x, float min_y, float max_x, float max_y, AuError *err);

/* A PAW as PAW::Read leaves it (the validator's warps): all the precomputed
 * data given (copied), nothing recomputed. triangle_id and pixel_mask are
 * height x width row-major; alpha, beta n_tris x 3. Checks that indices are
 * in range and that every masked pixel names a triangle. number_of_pixels is
 * the mask's count. */
AuStatus au_paw_init_precomputed(AuPaw *p, const float *destination, int n_points, const int *tris, int n_tris,
                                 float min_x, float min_y, int width, int height, const int *triangle_id,
                                 const uint8_t *pixel_mask, const float *alpha, const float *beta, AuError *err);

/* Accepts a zeroed or partially initialised PAW; leaves it zeroed. */
void au_paw_free(AuPaw *p);

/* Replaces the destination shape keeping the grid (min_x, min_y, size) and
 * the triangulation: recomputes alpha, beta, the triangle map and the mask
 * exactly as the bounds constructor would, into the existing buffers (no
 * allocation). This is AlignFaceMask's per-frame PAW. The map is made by
 * scan conversion (per row and triangle, the exact interval of columns the
 * triangle holds), identical to au_paw_set_destination_ref's pixel search;
 * returns 1 then, 0 when the shape is outside the scan conversion's domain
 * (a coordinate non-finite or beyond 1e6, more than 512 triangles) and the
 * pixel search made the map. */
int au_paw_set_destination(AuPaw *p, const float *destination);

/* The same, by the plain raster search (every pixel looked up with the
 * previous pixel's triangle as the guess, as PAW::findTriangle): the
 * reference au_paw_set_destination's scan conversion must equal exactly
 * (tests compare them; the pipeline does not use it). */
void au_paw_set_destination_ref(AuPaw *p, const float *destination);

/* PAW::CalcCoeff: the affine coefficients of each triangle for source shape
 * src (2n floats). */
void au_paw_calc_coeff(AuPaw *p, const float *src);
/* PAW::WarpRegion: map_x / map_y from the coefficients (-1 outside the mask). */
void au_paw_warp_region(AuPaw *p);

/* PAW::Warp: calc_coeff(src_landmarks), warp_region, then
 * cv::remap(image, dst, map_x, map_y, INTER_LINEAR) (border constant 0).
 * dst must be allocated width x height. No allocation. */
AuStatus au_paw_warp(AuPaw *p, const AuImageF32 *image, const float *src_landmarks, AuImageF32 *dst, AuError *err);

/* PAW::findTriangle: the triangle containing (x, y) among tri_points
 * (n_tris x 10 as in AuPaw), trying guess first (-1 = none), then the others
 * in order, skipping those whose bounding box excludes the point. -1 if none.
 * Points on an edge count as inside. */
int au_paw_find_triangle(const float *tri_points, int n_tris, float x, float y, int guess);

#endif
