/* Images as the pipeline uses them: 8-bit gray or BGR frames from the decoder,
 * and float gray images for patch-expert inputs. Row-major, tightly packed
 * unless stride says otherwise. Coordinates follow OpenCV: (0,0) is the centre
 * of the top-left pixel. */
#ifndef AU_IMAGE_H
#define AU_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct AuImageU8 {
    int width, height;
    int channels;  /* 1 = gray, 3 = BGR */
    size_t stride; /* bytes per row */
    uint8_t *data;
} AuImageU8;

typedef struct AuImageF32 {
    int width, height;
    size_t stride; /* floats per row */
    float *data;
} AuImageF32;

AuStatus au_image_u8_alloc(AuImageU8 *img, int width, int height, int channels, AuError *err);
void au_image_u8_free(AuImageU8 *img);
AuStatus au_image_f32_alloc(AuImageF32 *img, int width, int height, AuError *err);
void au_image_f32_free(AuImageF32 *img);

static inline uint8_t *au_image_u8_row(const AuImageU8 *img, int y) { return img->data + (size_t)y * img->stride; }
static inline float *au_image_f32_row(const AuImageF32 *img, int y) { return img->data + (size_t)y * img->stride; }

#endif
