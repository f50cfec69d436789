/* A small BMP reader for test inputs (the aligned faces OpenFace wrote with
 * cv::imwrite): uncompressed (BI_RGB) 24-bit and 8-bit paletted images,
 * bottom-up or top-down. Errors name the file and what was wrong. */
#ifndef AUTEST_BMP_H
#define AUTEST_BMP_H

#include <stddef.h>

#include "error.h"
#include "image.h"

/* Decodes a BMP held in memory; name is used in error messages. 24-bit gives a
 * BGR image; 8-bit gives gray when the palette is gray (as OpenCV writes it),
 * BGR otherwise. img is zeroed on failure. */
AuStatus autest_bmp_decode(const char *name, const unsigned char *data, size_t size, AuImageU8 *img, AuError *err);
/* Reads and decodes the file at path. */
AuStatus autest_bmp_read(const char *path, AuImageU8 *img, AuError *err);

#endif
