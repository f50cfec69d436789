/* JPEG still images decoded as OpenFace reads them: cv::imread(path,
 * IMREAD_COLOR) of OpenCV 4.6, which decodes with libjpeg(-turbo) straight to
 * BGR (JCS_EXT_BGR: ISLOW IDCT, fancy upsampling), converts CMYK with its own
 * formula and then applies the EXIF orientation. FFmpeg's JPEG decoder gives
 * different pixels (other IDCT and chroma upsampling: up to ~20 levels on
 * colour edges), so the frame source uses this for JPEG files. */
#ifndef AU_IMREAD_H
#define AU_IMREAD_H

#include "error.h"
#include "image.h"

/* 1 when the file starts with a JPEG SOI marker (FF D8 FF). */
int au_is_jpeg_file(const char *path);

/* Width and height of the decoded image (after the EXIF orientation). */
AuStatus au_jpeg_size(const char *path, int *width, int *height, AuError *err);

/* Decodes path into bgr (3 channels). bgr is reused when it already has the
 * right size, else (re)allocated; free with au_image_u8_free. Errors name path. */
AuStatus au_jpeg_read_bgr(const char *path, AuImageU8 *bgr, AuError *err);

/* The EXIF orientation tag (1..8) of a JPEG's APP1 segment, 1 when absent or
 * invalid. data/size: the whole file. Exposed for tests. */
int au_jpeg_exif_orientation(const unsigned char *data, size_t size);

#endif
