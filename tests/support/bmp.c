#include "bmp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t bmp_u32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t bmp_u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

#define BMP_FILE_HEADER 14
#define BMP_MAX_DIM 32768

AuStatus autest_bmp_decode(const char *name, const unsigned char *data, size_t size, AuImageU8 *img, AuError *err)
{
    memset(img, 0, sizeof(*img));
    if (size < BMP_FILE_HEADER + 40)
        return au_error_set(err, AU_ERR_FORMAT, "%s: %zu bytes, too short for BMP headers", name, size);
    if (data[0] != 'B' || data[1] != 'M')
        return au_error_set(err, AU_ERR_FORMAT, "%s: byte offset 0: not a BMP (no 'BM' signature)", name);
    uint32_t pixel_offset = bmp_u32(data + 10);
    uint32_t info_size = bmp_u32(data + 14);
    if (info_size < 40 || info_size > size - BMP_FILE_HEADER)
        return au_error_set(err, AU_ERR_FORMAT, "%s: byte offset 14: unsupported info header size %u", name, info_size);
    int32_t width = (int32_t)bmp_u32(data + 18);
    int32_t height_signed = (int32_t)bmp_u32(data + 22);
    uint16_t planes = bmp_u16(data + 26);
    uint16_t bpp = bmp_u16(data + 28);
    uint32_t compression = bmp_u32(data + 30);
    uint32_t colors_used = bmp_u32(data + 46);
    int top_down = height_signed < 0;
    int64_t height = top_down ? -(int64_t)height_signed : height_signed;
    if (width <= 0 || width > BMP_MAX_DIM || height <= 0 || height > BMP_MAX_DIM)
        return au_error_set(err, AU_ERR_FORMAT, "%s: byte offset 18: invalid size %dx%lld", name, (int)width,
                            (long long)height_signed);
    if (planes != 1)
        return au_error_set(err, AU_ERR_FORMAT, "%s: byte offset 26: %u planes, expected 1", name, planes);
    if (compression != 0)
        return au_error_set(err, AU_ERR_UNSUPPORTED, "%s: byte offset 30: compression %u, only BI_RGB (0) supported",
                            name, compression);
    if (bpp != 24 && bpp != 8)
        return au_error_set(err, AU_ERR_UNSUPPORTED, "%s: byte offset 28: %u bits per pixel, only 24 and 8 supported",
                            name, bpp);

    const unsigned char *palette = NULL;
    uint32_t n_colors = 0;
    int gray = 0;
    if (bpp == 8) {
        n_colors = colors_used ? colors_used : 256;
        size_t pal_off = BMP_FILE_HEADER + (size_t)info_size;
        if (n_colors > 256 || pal_off + 4 * (size_t)n_colors > size)
            return au_error_set(err, AU_ERR_FORMAT, "%s: byte offset %zu: palette of %u colours does not fit", name,
                                pal_off, n_colors);
        palette = data + pal_off;
        gray = 1;
        for (uint32_t i = 0; i < n_colors && gray; i++)
            gray = palette[4 * i] == i && palette[4 * i + 1] == i && palette[4 * i + 2] == i;
    }

    size_t row_bytes = ((size_t)width * bpp / 8 + 3) & ~(size_t)3;
    if (pixel_offset > size || row_bytes * (size_t)height > size - pixel_offset)
        return au_error_set(err, AU_ERR_FORMAT, "%s: byte offset %u: %lld rows of %zu bytes need %zu bytes, file has %zu",
                            name, pixel_offset, (long long)height, row_bytes, (size_t)pixel_offset + row_bytes * (size_t)height,
                            size);

    AuStatus st = au_image_u8_alloc(img, width, (int)height, bpp == 24 || !gray ? 3 : 1, err);
    if (st != AU_OK)
        return au_error_prefix(err, "%s: ", name);
    for (int y = 0; y < (int)height; y++) {
        const unsigned char *src = data + pixel_offset + row_bytes * (size_t)(top_down ? y : (int)height - 1 - y);
        uint8_t *dst = au_image_u8_row(img, y);
        if (bpp == 24) {
            memcpy(dst, src, (size_t)width * 3);
        } else if (gray) {
            for (int x = 0; x < width; x++) {
                if (src[x] >= n_colors) {
                    au_image_u8_free(img);
                    return au_error_set(err, AU_ERR_FORMAT, "%s: pixel (%d, %d) uses colour %u of %u", name, x, y, src[x],
                                        n_colors);
                }
                dst[x] = src[x];
            }
        } else {
            for (int x = 0; x < width; x++) {
                if (src[x] >= n_colors) {
                    au_image_u8_free(img);
                    return au_error_set(err, AU_ERR_FORMAT, "%s: pixel (%d, %d) uses colour %u of %u", name, x, y, src[x],
                                        n_colors);
                }
                memcpy(dst + 3 * x, palette + 4 * (size_t)src[x], 3);
            }
        }
    }
    return AU_OK;
}

AuStatus autest_bmp_read(const char *path, AuImageU8 *img, AuError *err)
{
    memset(img, 0, sizeof(*img));
    FILE *f = fopen(path, "rb");
    if (!f)
        return au_error_set(err, AU_ERR_IO, "%s: cannot open", path);
    unsigned char *buf = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size == cap) {
            size_t ncap = cap ? 2 * cap : 65536;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory reading", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + size, 1, cap - size, f);
        size += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return au_error_set(err, AU_ERR_IO, "%s: read error", path);
    }
    AuStatus st = autest_bmp_decode(path, buf, size, img, err);
    free(buf);
    return st;
}
