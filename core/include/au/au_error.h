/* Public error type of libaucore. Every fallible function takes an AuError *
 * (may be NULL) and returns an AuStatus; on failure the message says which
 * file and which line, byte offset or value was at fault. */
#ifndef AU_AU_ERROR_H
#define AU_AU_ERROR_H

#include <stdarg.h>

typedef enum AuStatus {
    AU_OK = 0,
    AU_ERR_IO = -1,          /* cannot open / read / write a file */
    AU_ERR_FORMAT = -2,      /* file content malformed, truncated or out of range */
    AU_ERR_NOMEM = -3,       /* allocation failed */
    AU_ERR_ARG = -4,         /* invalid argument from the caller */
    AU_ERR_DECODE = -5,      /* media decoding failed */
    AU_ERR_UNSUPPORTED = -6, /* valid but not supported input */
    AU_ERR_EOF = -7,         /* end of stream (not an error for readers' callers) */
} AuStatus;

#define AU_ERROR_MSG_MAX 512

typedef struct AuError {
    AuStatus code;
    char msg[AU_ERROR_MSG_MAX];
} AuError;

/* Sets err (if non-NULL) and returns code. */
AuStatus au_error_set(AuError *err, AuStatus code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
AuStatus au_error_vset(AuError *err, AuStatus code, const char *fmt, va_list ap);

/* Prepends context ("while loading X: ") to an existing message. */
AuStatus au_error_prefix(AuError *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

void au_error_clear(AuError *err);
const char *au_status_name(AuStatus code);

#endif
