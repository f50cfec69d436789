/* Reading OpenFace's model files. A whole file is read into memory once, then
 * parsed either as whitespace-separated text (OpenFace's ">>" reads and its
 * ReadMat) or as little-endian binary (its ReadMatBin and raw reads). Every
 * failure names the file and the line (text) or byte offset (binary) at fault,
 * and what was expected there, so a truncated or corrupted model is rejected
 * at load with a message a user can act on. */
#ifndef AU_MODEL_IO_H
#define AU_MODEL_IO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mat.h"

typedef struct AuReader {
    char path[1024];
    unsigned char *data; /* size bytes + a NUL terminator */
    size_t size;
    size_t pos;
    int line;            /* 1-based line of pos, maintained by the text functions */
    AuError *err;
} AuReader;

/* Reads the whole file. On failure the message names the path. */
AuStatus au_reader_open(AuReader *r, const char *path, AuError *err);
/* Wraps a memory buffer (copied) as if it were a file called name. */
AuStatus au_reader_open_mem(AuReader *r, const char *name, const void *data, size_t size, AuError *err);
void au_reader_close(AuReader *r);

/* Formats "path:LINE: msg" (text) and stores it in r->err; returns code. */
AuStatus au_reader_fail_line(AuReader *r, AuStatus code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Formats "path: byte offset N: msg" (binary) and stores it; returns code. */
AuStatus au_reader_fail_offset(AuReader *r, AuStatus code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- text ---- */
/* OpenFace's SkipComments: skips whole lines while the next char is '#', '\n', ' ' or '\r'. */
void au_text_skip_comments(AuReader *r);
void au_text_skip_space(AuReader *r);
int au_text_at_end(AuReader *r); /* true when only whitespace remains */
AuStatus au_text_int(AuReader *r, int *out, const char *what);
AuStatus au_text_double(AuReader *r, double *out, const char *what);
AuStatus au_text_float(AuReader *r, float *out, const char *what);
/* Next whitespace-delimited token. */
AuStatus au_text_word(AuReader *r, char *buf, size_t n, const char *what);
/* Rest of the current line without the line ending (std::getline); consumes the newline. */
AuStatus au_text_line(AuReader *r, char *buf, size_t n, const char *what);
/* OpenFace ReadMat: rows cols type, then rows*cols values. */
AuStatus au_text_mat(AuReader *r, AuMat *m, const char *what);

/* ---- binary (little-endian) ---- */
AuStatus au_bin_bytes(AuReader *r, void *out, size_t n, const char *what);
AuStatus au_bin_i32(AuReader *r, int32_t *out, const char *what);
AuStatus au_bin_f32(AuReader *r, float *out, const char *what);
AuStatus au_bin_f64(AuReader *r, double *out, const char *what);
/* OpenFace ReadMatBin: int32 rows, cols, type, then the raw data. */
AuStatus au_bin_mat(AuReader *r, AuMat *m, const char *what);
size_t au_bin_remaining(const AuReader *r);

/* Joins dir and relative path into out (handles trailing '/', absolute rel). */
AuStatus au_path_join(char *out, size_t n, const char *dir, const char *rel, AuError *err);
/* Directory part of path into out ("." when none). */
void au_path_dirname(char *out, size_t n, const char *path);

#endif
