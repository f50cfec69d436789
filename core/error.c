#include "error.h"

#include <stdio.h>
#include <string.h>

AuStatus au_error_vset(AuError *err, AuStatus code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    }
    return code;
}

AuStatus au_error_set(AuError *err, AuStatus code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    au_error_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

AuStatus au_error_prefix(AuError *err, const char *fmt, ...)
{
    if (!err)
        return AU_ERR_ARG;
    char prefix[AU_ERROR_MSG_MAX], old[AU_ERROR_MSG_MAX];
    memcpy(old, err->msg, sizeof(old));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    snprintf(err->msg, sizeof(err->msg), "%s%s", prefix, old);
    return err->code;
}

void au_error_clear(AuError *err)
{
    if (err) {
        err->code = AU_OK;
        err->msg[0] = '\0';
    }
}

const char *au_status_name(AuStatus code)
{
    switch (code) {
    case AU_OK: return "ok";
    case AU_ERR_IO: return "I/O error";
    case AU_ERR_FORMAT: return "format error";
    case AU_ERR_NOMEM: return "out of memory";
    case AU_ERR_ARG: return "invalid argument";
    case AU_ERR_DECODE: return "decode error";
    case AU_ERR_UNSUPPORTED: return "unsupported";
    case AU_ERR_EOF: return "end of stream";
    }
    return "unknown error";
}
