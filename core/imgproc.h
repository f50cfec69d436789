/* Image primitives that OpenFace's pipeline takes from OpenCV 4.6, reproduced
 * bit for bit where OpenFace relies on them:
 *   - cv::cvtColor(BGR2GRAY) on 8 bits (frame -> CLNF gray image);
 *   - Mat::convertTo(CV_32F) (gray frame -> float image for the patch experts);
 *   - cv::resize(INTER_LINEAR) on float images with 1 or 3 channels (MTCNN's
 *     pyramid and its 24x24 / 48x48 crops), and on 8-bit images (OpenFace uses
 *     it only for the optional face template);
 *   - cv::warpAffine(INTER_LINEAR, BORDER_CONSTANT 0) on float gray images
 *     (patch-expert areas of interest, with WARP_INVERSE_MAP) and on 8-bit BGR
 *     frames (the 112x112 aligned face, forward map);
 *   - cv::remap(INTER_LINEAR, BORDER_CONSTANT 0) with float maps on float
 *     images (the validator's piece-wise affine warp).
 * OpenCV's bilinear warps quantise the source position to 1/32 pixel
 * (INTER_TAB_SIZE); these do the same, with OpenCV's fixed-point arithmetic for
 * the coordinates and its weight tables (float weights for float images, 15-bit
 * integer weights for 8-bit images).
 * Coordinates: (0,0) is the centre of the top-left pixel. */
#ifndef AU_IMGPROC_H
#define AU_IMGPROC_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "image.h"

/* A float image with 1..4 interleaved channels (AuImageF32 is gray only). */
typedef struct AuImageF32C {
    int width, height, channels;
    size_t stride; /* floats per row */
    float *data;
} AuImageF32C;

AuStatus au_image_f32c_alloc(AuImageF32C *img, int width, int height, int channels, AuError *err);
void au_image_f32c_free(AuImageF32C *img);
static inline float *au_image_f32c_row(const AuImageF32C *img, int y) { return img->data + (size_t)y * img->stride; }

/* cv::cvtColor(COLOR_BGR2GRAY) on 8 bits as OpenCV 4.6 computes it:
 * gray = (3735 B + 19235 G + 9798 R + 16384) >> 15 (0.114, 0.587, 0.299 in
 * 15-bit fixed point). gray: same size as bgr, 1 channel, allocated by the
 * caller. */
void au_bgr_to_gray_u8(const AuImageU8 *bgr, AuImageU8 *gray);

/* Exact u8 -> float copy (1 channel). dst: same size, allocated by the caller. */
void au_gray_u8_to_f32(const AuImageU8 *src, AuImageF32 *dst);
/* Exact u8 -> float copy keeping the channels. dst: same size and channels. */
void au_image_u8_to_f32c(const AuImageU8 *src, AuImageF32C *dst);

/* Bilinear sample of a float gray image at (x, y) in full float precision
 * (no 1/32 quantisation); pixels outside the image count as 0. A helper for
 * code that is not an OpenCV warp. */
float au_sample_bilinear_f32(const AuImageF32 *img, double x, double y);

/* cv::resize(src, dst, dst size, 0, 0, INTER_LINEAR). dst must be allocated
 * with the target size (and src's channels); equal sizes copy. Scale 2 in both
 * directions takes OpenCV's INTER_AREA fast path, as OpenCV does. */
AuStatus au_resize_linear_f32c(const AuImageF32C *src, AuImageF32C *dst, AuError *err);
AuStatus au_resize_linear_f32(const AuImageF32 *src, AuImageF32 *dst, AuError *err);
AuStatus au_resize_linear_u8(const AuImageU8 *src, AuImageU8 *dst, AuError *err);

/* Flags for the warps, with OpenCV's meaning. */
#define AU_WARP_INVERSE_MAP 16 /* M maps destination to source pixels */

/* cv::warpAffine(src, dst, M, dst size, INTER_LINEAR | flags, BORDER_CONSTANT, 0).
 * M is the 2x3 matrix row-major in double (OpenCV converts a float Matx23f to
 * double before use, so pass float values widened). Without
 * AU_WARP_INVERSE_MAP, M maps source to destination and is inverted as OpenCV
 * does. dst is allocated by the caller with the output size. */
AuStatus au_warp_affine_f32(const AuImageF32 *src, AuImageF32 *dst, const double M[6], int flags, AuError *err);
/* The same on an 8-bit gray image: exactly au_warp_affine_f32 of the image
 * converted to float (Mat::convertTo, exact), without converting it. */
AuStatus au_warp_affine_gray_f32(const AuImageU8 *src, AuImageF32 *dst, const double M[6], int flags, AuError *err);
/* The 8-bit version computes exactly what the straightforward per-pixel
 * au_warp_affine_u8_ref does (kept as the reference for the tests), faster:
 * column tables on the stack, and for cells whose 2x2 neighbourhood is
 * inside the image OpenCV's weighted sum in separable form (identical
 * integers, see au_warp_affine_u8_span), the border rule only elsewhere. */
AuStatus au_warp_affine_u8(const AuImageU8 *src, AuImageU8 *dst, const double M[6], int flags, AuError *err);
AuStatus au_warp_affine_u8_ref(const AuImageU8 *src, AuImageU8 *dst, const double M[6], int flags, AuError *err);

/* The pieces of the 8-bit warp, for its SIMD versions (dsp.h, warp_affine_u8):
 *  - au_warp_affine_map: the destination -> source matrix warpAffine uses
 *    (M inverted as OpenCV does, unless flags has AU_WARP_INVERSE_MAP);
 *  - au_warp_affine_deltas / au_warp_affine_row_start: WarpAffineInvoker's
 *    fixed point: destination (x, y) samples the source at
 *    X = (X0 + adelta[x]) >> 5, Y = (Y0 + bdelta[x]) >> 5 (1/32 pixel,
 *    int additions wrapping, arithmetic shifts): cell (X >> 5, Y >> 5),
 *    fractions (X & 31, Y & 31);
 *  - au_warp_affine_u8_span: destination columns [x_begin, x_end) of one
 *    row (d: the row) from those tables, exactly as au_warp_affine_u8;
 *    needs au_warp_u8_fast_ok(src). */
void au_warp_affine_map(const double M[6], int flags, double inv[6]);
void au_warp_affine_deltas(const double inv[6], int dw, int *adelta, int *bdelta);
void au_warp_affine_row_start(const double inv[6], int y, int *X0, int *Y0);
int au_warp_u8_fast_ok(const AuImageU8 *src);
void au_warp_affine_u8_span(const AuImageU8 *src, uint8_t *d, int X0, int Y0, const int *adelta, const int *bdelta,
                            int x_begin, int x_end);

/* cv::remap(src, dst, map_x, map_y, INTER_LINEAR, BORDER_CONSTANT, 0) with
 * float maps of dst's size (map_x/map_y row-major, stride = dst width). */
AuStatus au_remap_linear_f32(const AuImageF32 *src, AuImageF32 *dst, const float *map_x, const float *map_y,
                             AuError *err);

#endif
