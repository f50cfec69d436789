#include "profile.h"

#include <string.h>

const char *au_stage_name(AuStage s)
{
    static const char *const names[AU_STAGE_COUNT] = {
        "decode", "detect", "response", "meanshift", "update", "parts", "validate",
        "align",  "fhog",   "median",   "au_predict", "gaze", "postprocess",
    };
    return (unsigned)s < AU_STAGE_COUNT ? names[s] : "unknown";
}

void au_profile_reset(AuProfile *p)
{
    memset(p, 0, sizeof(*p));
}

void au_profile_accumulate(AuProfile *dst, const AuProfile *src)
{
    for (int i = 0; i < AU_STAGE_COUNT; i++) {
        dst->calls[i] += src->calls[i];
        dst->ns[i] += src->ns[i];
    }
}
