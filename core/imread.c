/* cv::imread(IMREAD_COLOR) for JPEG files, with libjpeg(-turbo) as OpenCV 4.6
 * uses it; see imread.h. */
#include "imread.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

int au_is_jpeg_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char m[3];
    int ok = fread(m, 1, 3, f) == 3 && m[0] == 0xFF && m[1] == 0xD8 && m[2] == 0xFF;
    fclose(f);
    return ok;
}

/* ---- EXIF orientation (OpenCV's ExifReader, IFD0 tag 0x0112) ------------------------ */

static unsigned rd16(const unsigned char *p, int le) { return le ? p[0] | (p[1] << 8) : (p[0] << 8) | p[1]; }
static unsigned long rd32(const unsigned char *p, int le)
{
    return le ? (unsigned long)p[0] | ((unsigned long)p[1] << 8) | ((unsigned long)p[2] << 16) |
                    ((unsigned long)p[3] << 24)
              : ((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16) | ((unsigned long)p[2] << 8) |
                    (unsigned long)p[3];
}

/* TIFF block of the first APP1 segment (OpenCV takes the first APP1 without
 * checking its "Exif" signature); orientation 1 when absent or malformed. */
int au_jpeg_exif_orientation(const unsigned char *data, size_t size)
{
    size_t pos = 2; /* after SOI */
    if (size < 4 || data[0] != 0xFF || data[1] != 0xD8)
        return 1;
    while (pos + 4 <= size) {
        if (data[pos] != 0xFF)
            return 1;
        unsigned marker = data[pos + 1];
        if (marker == 0xD8 || marker == 0xD9) { /* SOI, EOI: no length */
            pos += 2;
            continue;
        }
        size_t len = rd16(data + pos + 2, 0);
        if (len < 2)
            return 1;
        if (marker == 0xE1) {
            if (len <= 8 || pos + 2 + len > size)
                return 1;
            const unsigned char *t = data + pos + 2 + 2 + 6; /* length field, "Exif\0\0" */
            size_t n = len - 8;
            if (n < 8)
                return 1;
            int le;
            if (t[0] == 'I' && t[1] == 'I')
                le = 1;
            else if (t[0] == 'M' && t[1] == 'M')
                le = 0;
            else
                return 1;
            if (rd16(t + 2, le) != 0x2A)
                return 1;
            unsigned long ifd = rd32(t + 4, le);
            if (ifd + 2 > n)
                return 1;
            unsigned count = rd16(t + ifd, le);
            for (unsigned i = 0; i < count; i++) {
                size_t e = ifd + 2 + 12 * (size_t)i;
                if (e + 12 > n)
                    return 1;
                if (rd16(t + e, le) == 0x0112) {
                    unsigned o = rd16(t + e + 8, le);
                    return (o >= 1 && o <= 8) ? (int)o : 1;
                }
            }
            return 1;
        }
        if (marker == 0xDA) /* SOS: the entropy-coded data follows; no EXIF after it */
            return 1;
        pos += 2 + len;
    }
    return 1;
}

/* ---- libjpeg with errors returned instead of exit() ---------------------------------- */

typedef struct JpegErr {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} JpegErr;

static void jpeg_error_exit_cb(j_common_ptr cinfo)
{
    JpegErr *e = (JpegErr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

/* libjpeg's warnings (e.g. "Premature end of JPEG file") go nowhere: OpenCV
 * returns such images as decoded, and core never prints. */
static void jpeg_output_message_cb(j_common_ptr cinfo) { (void)cinfo; }

/* OpenCV's icvCvt_CMYK2BGR_8u_C4C3R (Adobe-inverted CMYK as libjpeg returns it). */
static void cmyk_to_bgr(const unsigned char *cmyk, unsigned char *bgr, int w)
{
    for (int i = 0; i < w; i++, bgr += 3, cmyk += 4) {
        int c = cmyk[0], m = cmyk[1], y = cmyk[2], k = cmyk[3];
        c = k - ((255 - c) * k >> 8);
        m = k - ((255 - m) * k >> 8);
        y = k - ((255 - y) * k >> 8);
        bgr[2] = (unsigned char)c;
        bgr[1] = (unsigned char)m;
        bgr[0] = (unsigned char)y;
    }
}

/* Applies cv::ApplyExifOrientation to src (w x h, 3 channels, tight) into dst. */
static void apply_orientation(const unsigned char *src, int w, int h, int orientation, AuImageU8 *dst)
{
    for (int y = 0; y < dst->height; y++) {
        unsigned char *d = au_image_u8_row(dst, y);
        for (int x = 0; x < dst->width; x++) {
            int sx, sy;
            switch (orientation) {
            case 2: sx = w - 1 - x, sy = y; break;                 /* flip horizontally */
            case 3: sx = w - 1 - x, sy = h - 1 - y; break;         /* rotate 180 */
            case 4: sx = x, sy = h - 1 - y; break;                 /* flip vertically */
            case 5: sx = y, sy = x; break;                         /* transpose */
            case 6: sx = y, sy = h - 1 - x; break;                 /* transpose, flip horizontally: 90 cw */
            case 7: sx = w - 1 - y, sy = h - 1 - x; break;         /* transpose, flip both */
            case 8: sx = w - 1 - y, sy = x; break;                 /* transpose, flip vertically: 90 ccw */
            default: sx = x, sy = y; break;
            }
            const unsigned char *s = src + ((size_t)sy * (size_t)w + (size_t)sx) * 3;
            d[3 * x] = s[0];
            d[3 * x + 1] = s[1];
            d[3 * x + 2] = s[2];
        }
    }
}

static AuStatus read_file(const char *path, unsigned char **data, size_t *size, AuError *err)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return au_error_set(err, AU_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return au_error_set(err, AU_ERR_IO, "%s: cannot seek", path);
    }
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return au_error_set(err, AU_ERR_IO, "%s: cannot size", path);
    }
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    if (!b) {
        fclose(f);
        return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory (%ld bytes)", path, n);
    }
    size_t got = fread(b, 1, (size_t)n, f);
    fclose(f);
    if (got != (size_t)n) {
        free(b);
        return au_error_set(err, AU_ERR_IO, "%s: read %zu of %ld bytes", path, got, n);
    }
    *data = b;
    *size = (size_t)n;
    return AU_OK;
}

/* Decodes (or, with bgr == NULL, only reads the header of) the JPEG in memory. */
static AuStatus decode(const char *path, const unsigned char *data, size_t size, AuImageU8 *bgr, int *out_w,
                       int *out_h, AuError *err)
{
    struct jpeg_decompress_struct cinfo;
    JpegErr jerr;
    /* volatile: modified after setjmp and used after a longjmp */
    unsigned char *volatile pixels = NULL;
    unsigned char *volatile row = NULL;
    AuStatus status = AU_OK;

    memset(&cinfo, 0, sizeof(cinfo));
    cinfo.err = jpeg_std_error(&jerr.mgr);
    jerr.mgr.error_exit = jpeg_error_exit_cb;
    jerr.mgr.output_message = jpeg_output_message_cb;
    jerr.msg[0] = '\0';
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        return au_error_set(err, AU_ERR_DECODE, "%s: JPEG decoding failed: %s", path, jerr.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    int orientation = au_jpeg_exif_orientation(data, size);
    int w = (int)cinfo.image_width, h = (int)cinfo.image_height;
    int swap = orientation >= 5;
    *out_w = swap ? h : w;
    *out_h = swap ? w : h;
    if (!bgr) {
        jpeg_destroy_decompress(&cinfo);
        return AU_OK;
    }
    if (w <= 0 || h <= 0 || w > 32768 || h > 32768) {
        jpeg_destroy_decompress(&cinfo);
        return au_error_set(err, AU_ERR_FORMAT, "%s: unsupported JPEG size %dx%d", path, w, h);
    }

    /* OpenCV 4.6 JpegDecoder::readData for IMREAD_COLOR. */
    int cmyk = cinfo.num_components == 4;
    if (cmyk) {
        cinfo.out_color_space = JCS_CMYK;
        cinfo.out_color_components = 4;
    } else {
        cinfo.out_color_space = JCS_EXT_BGR;
        cinfo.out_color_components = 3;
    }
    jpeg_start_decompress(&cinfo);
    pixels = malloc((size_t)w * (size_t)h * 3);
    if (cmyk)
        row = malloc((size_t)w * 4);
    if (!pixels || (cmyk && !row)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory for %dx%d image", path, w, h);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned y = cinfo.output_scanline;
        JSAMPROW dst = cmyk ? row : pixels + (size_t)y * (size_t)w * 3;
        if (jpeg_read_scanlines(&cinfo, &dst, 1) != 1)
            break;
        if (cmyk)
            cmyk_to_bgr(row, pixels + (size_t)y * (size_t)w * 3, w);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);

    if (bgr->data && (bgr->width != *out_w || bgr->height != *out_h || bgr->channels != 3))
        au_image_u8_free(bgr);
    if (!bgr->data)
        status = au_image_u8_alloc(bgr, *out_w, *out_h, 3, err);
    if (status == AU_OK)
        apply_orientation(pixels, w, h, orientation, bgr);
    free(pixels);
    free(row);
    return status;
}

AuStatus au_jpeg_size(const char *path, int *width, int *height, AuError *err)
{
    unsigned char *data;
    size_t size;
    AuStatus s = read_file(path, &data, &size, err);
    if (s != AU_OK)
        return s;
    s = decode(path, data, size, NULL, width, height, err);
    free(data);
    return s;
}

AuStatus au_jpeg_read_bgr(const char *path, AuImageU8 *bgr, AuError *err)
{
    unsigned char *data;
    size_t size;
    AuStatus s = read_file(path, &data, &size, err);
    if (s != AU_OK)
        return s;
    int w, h;
    s = decode(path, data, size, bgr, &w, &h, err);
    free(data);
    return s;
}
