/* Variants as the harness sees them: a name from the variant table
 * (variants/) and the pipeline table its library exports (au/au_variant.h).
 *
 * auh_variant_open("simd") loads libaucore-simd.so from the variant folder
 * (AUHARNESS_VARIANT_DIR, else the build's variants/ folder next to the
 * harness) with dlopen(RTLD_NOW | RTLD_LOCAL), resolves its one entry point
 * and checks the ABI version and the name it reports. Every pipeline call of
 * the harness goes through v->api. */
#ifndef AUH_VARIANT_H
#define AUH_VARIANT_H

#include "au/au_variant.h"
#include "error.h"

#define AUH_VARIANT_NAME_MAX 64

typedef struct AuhVariant {
    char name[AUH_VARIANT_NAME_MAX];
    char path[1024];          /* the library loaded; "" for the built-in table */
    void *handle;             /* dlopen handle, NULL for the built-in table */
    const AuVariantApi *api;
} AuhVariant;

/* Opens the named variant. An unknown name, a missing or broken library, a
 * missing entry point or an ABI mismatch is an error naming the file. */
AuStatus auh_variant_open(AuhVariant *v, const char *name, AuError *err);
/* Accepts a zeroed or failed variant; idempotent. */
void auh_variant_close(AuhVariant *v);

/* The variant table in table order: number of variants; names[i] and
 * purposes[i] (either may be NULL) receive static strings. */
int auh_variant_count(void);
const char *auh_variant_name(int i);
const char *auh_variant_purpose(int i);
/* Index in the table, -1 when unknown. */
int auh_variant_find(const char *name);

#endif
