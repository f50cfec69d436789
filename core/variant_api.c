/* The variant entry point (au/au_variant.h): the table of this build's
 * pipeline functions. The variant's name, purpose and definitions come from
 * the variant table (variants/) through compile definitions; a build outside
 * the table (the static library the tests link) is the baseline. The knob
 * values come from config.h, resolved. */
#include "au/au_variant.h"
#include "config.h"

#ifndef AU_VARIANT_NAME
#define AU_VARIANT_NAME "baseline"
#endif
#ifndef AU_VARIANT_PURPOSE
#define AU_VARIANT_PURPOSE "faithful OpenFace 2.2 behaviour, scalar C"
#endif
#ifndef AU_VARIANT_DEFINITIONS
#define AU_VARIANT_DEFINITIONS ""
#endif

static const AuVariantApi VARIANT_API = {
    .abi_version = AU_VARIANT_ABI_VERSION,
    .struct_size = sizeof(AuVariantApi),
    .name = AU_VARIANT_NAME,
    .purpose = AU_VARIANT_PURPOSE,
    .definitions = AU_VARIANT_DEFINITIONS,
    .config = AU_CFG_STRING,
    .model_set_load = au_model_set_load,
    .model_set_free = au_model_set_free,
    .tracker_options_default = au_tracker_options_default,
    .tracker_create = au_tracker_create,
    .tracker_process = au_tracker_process,
    .tracker_finish = au_tracker_finish,
    .tracker_final_aus = au_tracker_final_aus,
    .tracker_au_reg_name = au_tracker_au_reg_name,
    .tracker_au_class_name = au_tracker_au_class_name,
    .tracker_timings = au_tracker_timings,
    .tracker_free = au_tracker_free,
    .tracker_process_image = au_tracker_process_image,
};

/* The one symbol a variant library exports (the libraries are built with
 * -fvisibility=hidden and a version script naming only this). */
__attribute__((visibility("default"))) const AuVariantApi *au_variant_entry_v1(uint32_t abi_version)
{
    return abi_version == AU_VARIANT_ABI_VERSION ? &VARIANT_API : NULL;
}
