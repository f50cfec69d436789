/* Variant loading (variant.h): libaucore-<name>.so, one per row of the variant
 * table (variants/variants.txt, compiled into auh_variant_table.h by
 * core/CMakeLists.txt), opened with dlopen(RTLD_NOW | RTLD_LOCAL) so that each
 * keeps its own symbols.
 *
 * Where a library is looked for, first match wins:
 *   1. $AUHARNESS_VARIANT_DIR when set (and only there);
 *   2. the build's variants folder (AUH_VARIANT_BUILD_DIR, fixed at build time);
 *   3. <folder of the running program>/../lib/auharness/variants (the
 *      installed layout: bin/auharness next to lib/auharness/variants). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auh_variant_table.h"
#include "variant.h"

#ifndef AUH_VARIANT_BUILD_DIR
#define AUH_VARIANT_BUILD_DIR ""
#endif

#define N_VARIANTS ((int)(sizeof(AUH_VARIANT_TABLE) / sizeof(AUH_VARIANT_TABLE[0])))

int auh_variant_count(void)
{
    return N_VARIANTS;
}

const char *auh_variant_name(int i)
{
    return i >= 0 && i < N_VARIANTS ? AUH_VARIANT_TABLE[i].name : NULL;
}

const char *auh_variant_purpose(int i)
{
    return i >= 0 && i < N_VARIANTS ? AUH_VARIANT_TABLE[i].purpose : NULL;
}

int auh_variant_find(const char *name)
{
    for (int i = 0; name && i < N_VARIANTS; i++)
        if (strcmp(AUH_VARIANT_TABLE[i].name, name) == 0)
            return i;
    return -1;
}

static int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* "<dir>/libaucore-<name>.so" into out; 0 when it does not fit. */
static int library_path(char *out, size_t n, const char *dir, const char *name)
{
    int k = snprintf(out, n, "%s/libaucore-%s.so", dir, name);
    return k > 0 && (size_t)k < n;
}

/* The installed layout's folder, from /proc/self/exe; 0 when unknown. */
static int installed_dir(char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len <= 0)
        return 0;
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    int k = snprintf(out, n, "%s/../lib/auharness/variants", exe);
    return k > 0 && (size_t)k < n;
}

/* Finds the library file: v->path on success, else an error listing where it looked. */
static AuStatus locate(AuhVariant *v, const char *name, AuError *err)
{
    const char *env = getenv("AUHARNESS_VARIANT_DIR");
    char tried[3][sizeof(v->path)];
    int n_tried = 0;
    if (env && *env) {
        if (!library_path(v->path, sizeof(v->path), env, name))
            return au_error_set(err, AU_ERR_ARG, "variant '%s': AUHARNESS_VARIANT_DIR is too long", name);
        if (file_exists(v->path))
            return AU_OK;
        return au_error_set(err, AU_ERR_IO, "variant '%s': %s: %s (from AUHARNESS_VARIANT_DIR)", name, v->path,
                            strerror(errno));
    }
    char dir[PATH_MAX];
    const char *dirs[2] = {AUH_VARIANT_BUILD_DIR, installed_dir(dir, sizeof(dir)) ? dir : ""};
    for (int i = 0; i < 2; i++) {
        if (!*dirs[i] || !library_path(v->path, sizeof(v->path), dirs[i], name))
            continue;
        if (file_exists(v->path))
            return AU_OK;
        snprintf(tried[n_tried++], sizeof(tried[0]), "%s", v->path);
    }
    v->path[0] = '\0';
    return au_error_set(err, AU_ERR_IO, "variant '%s': no library: %s%s%s (set AUHARNESS_VARIANT_DIR)", name,
                        n_tried > 0 ? tried[0] : "no folder to look in", n_tried > 1 ? ", " : "",
                        n_tried > 1 ? tried[1] : "");
}

/* The table's members the harness calls must be there. */
static int api_complete(const AuVariantApi *a)
{
    return a->name && a->purpose && a->definitions && a->config && a->model_set_load && a->model_set_free &&
           a->tracker_options_default && a->tracker_create && a->tracker_process && a->tracker_finish &&
           a->tracker_final_aus && a->tracker_au_reg_name && a->tracker_au_class_name && a->tracker_timings &&
           a->tracker_free && a->tracker_process_image;
}

AuStatus auh_variant_open(AuhVariant *v, const char *name, AuError *err)
{
    memset(v, 0, sizeof(*v));
    if (!name || auh_variant_find(name) < 0) {
        char known[512] = "";
        size_t off = 0;
        for (int i = 0; i < N_VARIANTS && off < sizeof(known); i++) {
            int k = snprintf(known + off, sizeof(known) - off, "%s%s", i ? ", " : "", AUH_VARIANT_TABLE[i].name);
            if (k < 0)
                break;
            off += (size_t)k;
        }
        return au_error_set(err, AU_ERR_ARG, "unknown variant '%s' (the table has: %s)", name ? name : "(null)",
                            known);
    }
    AuStatus st = locate(v, name, err);
    if (st)
        return st;
    dlerror();
    v->handle = dlopen(v->path, RTLD_NOW | RTLD_LOCAL);
    if (!v->handle) {
        const char *why = dlerror();
        st = au_error_set(err, AU_ERR_IO, "variant '%s': %s: cannot load: %s", name, v->path, why ? why : "?");
        goto fail;
    }
    dlerror();
    void *sym = dlsym(v->handle, AU_VARIANT_ENTRY_NAME);
    if (!sym) {
        st = au_error_set(err, AU_ERR_FORMAT, "variant '%s': %s: no entry point %s", name, v->path,
                          AU_VARIANT_ENTRY_NAME);
        goto fail;
    }
    AuVariantEntryFn entry;
    /* POSIX guarantees a dlsym'd function pointer round-trips through void * */
    memcpy(&entry, &sym, sizeof(entry));
    const AuVariantApi *api = entry(AU_VARIANT_ABI_VERSION);
    if (!api) {
        st = au_error_set(err, AU_ERR_UNSUPPORTED, "variant '%s': %s: does not speak ABI version %d", name, v->path,
                          AU_VARIANT_ABI_VERSION);
        goto fail;
    }
    if (api->abi_version != AU_VARIANT_ABI_VERSION || api->struct_size < sizeof(AuVariantApi)) {
        st = au_error_set(err, AU_ERR_UNSUPPORTED,
                          "variant '%s': %s: ABI version %u with a %u-byte table (the harness needs version %d, %zu "
                          "bytes)",
                          name, v->path, api->abi_version, api->struct_size, AU_VARIANT_ABI_VERSION,
                          sizeof(AuVariantApi));
        goto fail;
    }
    if (!api_complete(api)) {
        st = au_error_set(err, AU_ERR_FORMAT, "variant '%s': %s: the entry table has empty members", name, v->path);
        goto fail;
    }
    if (strcmp(api->name, name) != 0) {
        st = au_error_set(err, AU_ERR_FORMAT, "variant '%s': %s: the library says it is '%s'", name, v->path,
                          api->name);
        goto fail;
    }
    snprintf(v->name, sizeof(v->name), "%s", name);
    v->api = api;
    return AU_OK;
fail:
    auh_variant_close(v);
    return st;
}

void auh_variant_close(AuhVariant *v)
{
    if (v->handle)
        dlclose(v->handle);
    memset(v, 0, sizeof(*v));
}
