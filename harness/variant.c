/* Variant loading (variant.h). Until the variant table builds its shared
 * libraries, the only variant is the baseline linked into the harness. */
#include <stdio.h>
#include <string.h>

#include "variant.h"

static const char *const VARIANT_NAMES[] = {"baseline"};
static const char *const VARIANT_PURPOSES[] = {"faithful OpenFace 2.2 behaviour, scalar C"};

int auh_variant_count(void)
{
    return (int)(sizeof(VARIANT_NAMES) / sizeof(VARIANT_NAMES[0]));
}

const char *auh_variant_name(int i)
{
    return i >= 0 && i < auh_variant_count() ? VARIANT_NAMES[i] : NULL;
}

const char *auh_variant_purpose(int i)
{
    return i >= 0 && i < auh_variant_count() ? VARIANT_PURPOSES[i] : NULL;
}

int auh_variant_find(const char *name)
{
    for (int i = 0; i < auh_variant_count(); i++)
        if (strcmp(VARIANT_NAMES[i], name) == 0)
            return i;
    return -1;
}

AuStatus auh_variant_open(AuhVariant *v, const char *name, AuError *err)
{
    memset(v, 0, sizeof(*v));
    if (auh_variant_find(name) < 0)
        return au_error_set(err, AU_ERR_ARG, "unknown variant '%s'", name);
    v->api = au_variant_entry_v1(AU_VARIANT_ABI_VERSION);
    if (!v->api)
        return au_error_set(err, AU_ERR_UNSUPPORTED, "variant '%s': ABI version mismatch", name);
    snprintf(v->name, sizeof(v->name), "%s", name);
    return AU_OK;
}

void auh_variant_close(AuhVariant *v)
{
    memset(v, 0, sizeof(*v));
}
