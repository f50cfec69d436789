#include "image.h"

#include <stdlib.h>
#include <string.h>

#define AU_IMAGE_MAX_DIM 32768

AuStatus au_image_u8_alloc(AuImageU8 *img, int width, int height, int channels, AuError *err)
{
    memset(img, 0, sizeof(*img));
    if (width <= 0 || height <= 0 || width > AU_IMAGE_MAX_DIM || height > AU_IMAGE_MAX_DIM ||
        (channels != 1 && channels != 3))
        return au_error_set(err, AU_ERR_ARG, "invalid image %dx%d with %d channels", width, height, channels);
    img->stride = (size_t)width * (size_t)channels;
    img->data = malloc(img->stride * (size_t)height);
    if (!img->data)
        return au_error_set(err, AU_ERR_NOMEM, "cannot allocate image %dx%dx%d", width, height, channels);
    img->width = width;
    img->height = height;
    img->channels = channels;
    return AU_OK;
}

void au_image_u8_free(AuImageU8 *img)
{
    if (img) {
        free(img->data);
        memset(img, 0, sizeof(*img));
    }
}

AuStatus au_image_f32_alloc(AuImageF32 *img, int width, int height, AuError *err)
{
    memset(img, 0, sizeof(*img));
    if (width <= 0 || height <= 0 || width > AU_IMAGE_MAX_DIM || height > AU_IMAGE_MAX_DIM)
        return au_error_set(err, AU_ERR_ARG, "invalid float image %dx%d", width, height);
    img->stride = (size_t)width;
    img->data = malloc(sizeof(float) * img->stride * (size_t)height);
    if (!img->data)
        return au_error_set(err, AU_ERR_NOMEM, "cannot allocate float image %dx%d", width, height);
    img->width = width;
    img->height = height;
    return AU_OK;
}

void au_image_f32_free(AuImageF32 *img)
{
    if (img) {
        free(img->data);
        memset(img, 0, sizeof(*img));
    }
}
