#include "model_io.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

AuStatus au_reader_open_mem(AuReader *r, const char *name, const void *data, size_t size, AuError *err)
{
    memset(r, 0, sizeof(*r));
    r->err = err;
    r->line = 1;
    snprintf(r->path, sizeof(r->path), "%s", name);
    r->data = malloc(size + 1);
    if (!r->data)
        return au_error_set(err, AU_ERR_NOMEM, "%s: cannot allocate %zu bytes", name, size);
    if (size)
        memcpy(r->data, data, size);
    r->data[size] = '\0';
    r->size = size;
    return AU_OK;
}

AuStatus au_reader_open(AuReader *r, const char *path, AuError *err)
{
    memset(r, 0, sizeof(*r));
    r->err = err;
    r->line = 1;
    snprintf(r->path, sizeof(r->path), "%s", path);
    /* Whole files are read: a list naming /dev/zero would fill the memory and
     * a FIFO would block for ever. */
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return au_error_set(err, AU_ERR_IO, "%s: not a regular file", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return au_error_set(err, AU_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    AuStatus st = AU_OK;
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (len == cap) {
            cap *= 2;
            unsigned char *nb = realloc(buf, cap + 1);
            if (!nb) {
                st = au_error_set(err, AU_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, cap);
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                st = au_error_set(err, AU_ERR_IO, "%s: read error after %zu bytes", path, len);
            break;
        }
    }
    fclose(f);
    if (st) {
        free(buf);
        return st;
    }
    buf[len] = '\0';
    r->data = buf;
    r->size = len;
    return AU_OK;
}

void au_reader_close(AuReader *r)
{
    if (!r)
        return;
    free(r->data);
    r->data = NULL;
    r->size = r->pos = 0;
}

AuStatus au_reader_fail_line(AuReader *r, AuStatus code, const char *fmt, ...)
{
    char msg[AU_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return au_error_set(r->err, code, "%s:%d: %s", r->path, r->line, msg);
}

AuStatus au_reader_fail_offset(AuReader *r, AuStatus code, const char *fmt, ...)
{
    char msg[AU_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return au_error_set(r->err, code, "%s: byte offset %zu: %s", r->path, r->pos, msg);
}

/* ---- text ---- */

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void advance(AuReader *r, size_t n)
{
    for (size_t i = 0; i < n && r->pos < r->size; i++) {
        if (r->data[r->pos] == '\n')
            r->line++;
        r->pos++;
    }
}

void au_text_skip_space(AuReader *r)
{
    while (r->pos < r->size && is_space(r->data[r->pos]))
        advance(r, 1);
}

void au_text_skip_comments(AuReader *r)
{
    while (r->pos < r->size) {
        int c = r->data[r->pos];
        if (c != '#' && c != '\n' && c != ' ' && c != '\r')
            break;
        while (r->pos < r->size && r->data[r->pos] != '\n')
            advance(r, 1);
        advance(r, 1); /* the newline itself */
    }
}

int au_text_at_end(AuReader *r)
{
    au_text_skip_space(r);
    return r->pos >= r->size;
}

/* Copies the next token (bounded) into tok; returns its length, 0 at end. */
static size_t peek_token(AuReader *r, char *tok, size_t n)
{
    au_text_skip_space(r);
    size_t i = 0;
    while (r->pos + i < r->size && !is_space(r->data[r->pos + i]) && r->data[r->pos + i] != '\0') {
        if (i + 1 < n)
            tok[i] = (char)r->data[r->pos + i];
        i++;
    }
    tok[i < n ? i : n - 1] = '\0';
    return i;
}

AuStatus au_text_double(AuReader *r, double *out, const char *what)
{
    char tok[128];
    size_t len = peek_token(r, tok, sizeof(tok));
    if (len == 0)
        return au_reader_fail_line(r, AU_ERR_FORMAT, "unexpected end of file, expected %s", what);
    if (len >= sizeof(tok))
        return au_reader_fail_line(r, AU_ERR_FORMAT, "token too long where %s was expected", what);
    char *end = NULL;
    errno = 0;
    double v = strtod(tok, &end);
    if (end == tok || *end != '\0' || !isfinite(v))
        return au_reader_fail_line(r, AU_ERR_FORMAT, "expected %s (a number), found '%s'", what, tok);
    advance(r, len);
    *out = v;
    return AU_OK;
}

AuStatus au_text_float(AuReader *r, float *out, const char *what)
{
    double v = 0; /* set on success; initialised for GCC's -Wmaybe-uninitialized once inlined (hidden visibility) */
    AuStatus st = au_text_double(r, &v, what);
    if (st)
        return st;
    if (fabs(v) > 3.4e38)
        return au_reader_fail_line(r, AU_ERR_FORMAT, "%s value %g out of float range", what, v);
    *out = (float)v;
    return AU_OK;
}

AuStatus au_text_int(AuReader *r, int *out, const char *what)
{
    char tok[64];
    size_t len = peek_token(r, tok, sizeof(tok));
    if (len == 0)
        return au_reader_fail_line(r, AU_ERR_FORMAT, "unexpected end of file, expected %s", what);
    if (len >= sizeof(tok))
        return au_reader_fail_line(r, AU_ERR_FORMAT, "token too long where %s was expected", what);
    char *end = NULL;
    errno = 0;
    long v = strtol(tok, &end, 10);
    if (end == tok || *end != '\0' || errno == ERANGE || v < -2147483647L || v > 2147483647L)
        return au_reader_fail_line(r, AU_ERR_FORMAT, "expected %s (an integer), found '%s'", what, tok);
    advance(r, len);
    *out = (int)v;
    return AU_OK;
}

AuStatus au_text_word(AuReader *r, char *buf, size_t n, const char *what)
{
    size_t len = peek_token(r, buf, n);
    if (len == 0)
        return au_reader_fail_line(r, AU_ERR_FORMAT, "unexpected end of file, expected %s", what);
    if (len >= n)
        return au_reader_fail_line(r, AU_ERR_FORMAT, "%s longer than %zu characters", what, n - 1);
    advance(r, len);
    return AU_OK;
}

AuStatus au_text_line(AuReader *r, char *buf, size_t n, const char *what)
{
    if (r->pos >= r->size)
        return au_reader_fail_line(r, AU_ERR_FORMAT, "unexpected end of file, expected %s", what);
    size_t i = 0;
    while (r->pos + i < r->size && r->data[r->pos + i] != '\n')
        i++;
    size_t len = i;
    if (len > 0 && r->data[r->pos + len - 1] == '\r')
        len--;
    if (len >= n)
        return au_reader_fail_line(r, AU_ERR_FORMAT, "%s line longer than %zu characters", what, n - 1);
    memcpy(buf, r->data + r->pos, len);
    buf[len] = '\0';
    advance(r, i + 1);
    return AU_OK;
}

AuStatus au_text_mat(AuReader *r, AuMat *m, const char *what)
{
    int rows = 0, cols = 0, type = 0;
    AuStatus st;
    memset(m, 0, sizeof(*m));
    if ((st = au_text_int(r, &rows, what)) || (st = au_text_int(r, &cols, what)) || (st = au_text_int(r, &type, what)))
        return st;
    if (rows < 0 || cols < 0 || rows > AU_MAT_MAX_DIM || cols > AU_MAT_MAX_DIM)
        return au_reader_fail_line(r, AU_ERR_FORMAT, "%s: invalid matrix size %dx%d", what, rows, cols);
    if (!au_mat_type_valid(type))
        return au_reader_fail_line(r, AU_ERR_FORMAT, "%s: unsupported matrix type %d", what, type);
    /* Each value needs at least two characters (digit and separator): a larger
     * header than the rest of the file can hold is corruption, not a big matrix. */
    if ((size_t)rows * (size_t)cols > (r->size - r->pos + 1) / 2 + 1)
        return au_reader_fail_line(r, AU_ERR_FORMAT, "%s: matrix %dx%d larger than the rest of the file", what, rows, cols);
    if ((st = au_mat_alloc(m, rows, cols, (AuMatType)type, r->err)))
        return st;
    size_t n = au_mat_count(m);
    for (size_t i = 0; i < n; i++) {
        double v;
        if ((st = au_text_double(r, &v, what))) {
            au_mat_free(m);
            return st;
        }
        switch (m->type) {
        case AU_MAT_F64: au_mat_f64(m)[i] = v; break;
        case AU_MAT_F32:
            if (fabs(v) > 3.4e38) {
                au_mat_free(m);
                return au_reader_fail_line(r, AU_ERR_FORMAT, "%s: value %g out of float range", what, v);
            }
            au_mat_f32(m)[i] = (float)v;
            break;
        case AU_MAT_S32:
            if (v != floor(v) || fabs(v) > 2147483647.0) {
                au_mat_free(m);
                return au_reader_fail_line(r, AU_ERR_FORMAT, "%s: expected an integer, found %g", what, v);
            }
            au_mat_s32(m)[i] = (int)v;
            break;
        case AU_MAT_U8:
            if (v != floor(v) || v < 0 || v > 255) {
                au_mat_free(m);
                return au_reader_fail_line(r, AU_ERR_FORMAT, "%s: expected a byte value, found %g", what, v);
            }
            ((unsigned char *)m->data)[i] = (unsigned char)v;
            break;
        }
    }
    return AU_OK;
}

/* ---- binary ---- */

size_t au_bin_remaining(const AuReader *r)
{
    return r->size - r->pos;
}

AuStatus au_bin_bytes(AuReader *r, void *out, size_t n, const char *what)
{
    if (n > au_bin_remaining(r))
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "truncated: %s needs %zu bytes, %zu left", what, n,
                                     au_bin_remaining(r));
    if (n)
        memcpy(out, r->data + r->pos, n);
    r->pos += n;
    return AU_OK;
}

AuStatus au_bin_i32(AuReader *r, int32_t *out, const char *what)
{
    unsigned char b[4] = {0};
    AuStatus st = au_bin_bytes(r, b, 4, what);
    if (st)
        return st;
    *out = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
    return AU_OK;
}

AuStatus au_bin_f32(AuReader *r, float *out, const char *what)
{
    AuStatus st = au_bin_bytes(r, out, 4, what); /* x86-64 and aarch64 are little-endian */
    if (st)
        return st;
    if (!isfinite(*out)) {
        r->pos -= 4;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s is not a finite number", what);
    }
    return AU_OK;
}

AuStatus au_bin_f64(AuReader *r, double *out, const char *what)
{
    AuStatus st = au_bin_bytes(r, out, 8, what);
    if (st)
        return st;
    if (!isfinite(*out)) {
        r->pos -= 8;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s is not a finite number", what);
    }
    return AU_OK;
}

AuStatus au_bin_mat(AuReader *r, AuMat *m, const char *what)
{
    int32_t rows, cols, type;
    AuStatus st;
    memset(m, 0, sizeof(*m));
    size_t start = r->pos;
    if ((st = au_bin_i32(r, &rows, what)) || (st = au_bin_i32(r, &cols, what)) || (st = au_bin_i32(r, &type, what)))
        return st;
    if (rows < 0 || cols < 0 || rows > AU_MAT_MAX_DIM || cols > AU_MAT_MAX_DIM || !au_mat_type_valid(type)) {
        r->pos = start;
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: invalid matrix header rows=%d cols=%d type=%d", what,
                                     (int)rows, (int)cols, (int)type);
    }
    size_t bytes = (size_t)rows * (size_t)cols * au_mat_elem_size((AuMatType)type);
    if (bytes > au_bin_remaining(r))
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "truncated: %s matrix %dx%d needs %zu bytes, %zu left", what,
                                     (int)rows, (int)cols, bytes, au_bin_remaining(r));
    if ((st = au_mat_alloc(m, rows, cols, (AuMatType)type, r->err)))
        return st;
    size_t data_pos = r->pos;
    au_bin_bytes(r, m->data, bytes, what);
    size_t n = au_mat_count(m);
    for (size_t i = 0; i < n; i++) {
        int bad = (m->type == AU_MAT_F32 && !isfinite(au_mat_f32(m)[i])) ||
                  (m->type == AU_MAT_F64 && !isfinite(au_mat_f64(m)[i]));
        if (bad) {
            r->pos = data_pos + i * au_mat_elem_size(m->type);
            au_mat_free(m);
            return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s: element %zu is not a finite number", what, i);
        }
    }
    return AU_OK;
}

AuStatus au_path_join(char *out, size_t n, const char *dir, const char *rel, AuError *err)
{
    int w;
    if (rel[0] == '/' || dir[0] == '\0')
        w = snprintf(out, n, "%s", rel);
    else if (dir[strlen(dir) - 1] == '/')
        w = snprintf(out, n, "%s%s", dir, rel);
    else
        w = snprintf(out, n, "%s/%s", dir, rel);
    if (w < 0 || (size_t)w >= n)
        return au_error_set(err, AU_ERR_ARG, "path too long: %s/%s", dir, rel);
    return AU_OK;
}

void au_path_dirname(char *out, size_t n, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(out, n, ".");
        return;
    }
    size_t len = (size_t)(slash - path);
    if (len == 0)
        len = 1;
    if (len >= n)
        len = n - 1;
    memcpy(out, path, len);
    out[len] = '\0';
}
