/* realpath() is XSI, not in the plain POSIX 2008 profile the build selects. */
#define _XOPEN_SOURCE 700
#include "manifest.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "model_io.h"

#define MAX_FIELDS 16

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* "a" + "/" + "b" in a new buffer. */
static char *join_path(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int slash = la > 0 && a[la - 1] != '/';
    char *p = malloc(la + (size_t)slash + lb + 1);
    if (!p)
        return NULL;
    memcpy(p, a, la);
    if (slash)
        p[la] = '/';
    memcpy(p + la + (size_t)slash, b, lb + 1);
    return p;
}

/* ---- path resolution ---- */

/* 1 when a relative path climbs above its starting folder by "..". */
static int climbs_out(const char *path)
{
    int depth = 0;
    const char *s = path;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            if (--depth < 0)
                return 1;
        } else if (n > 0 && !(n == 1 && s[0] == '.')) {
            depth++;
        }
        s += n;
        if (*s == '/')
            s++;
    }
    return 0;
}

static int inside_root(const char *root, const char *real)
{
    size_t rl = strlen(root);
    if (rl == 1 && root[0] == '/')
        return real[0] == '/';
    return strncmp(real, root, rl) == 0 && (real[rl] == '/' || real[rl] == '\0');
}

AuStatus auh_path_resolve(const char *root_real, const char *path, AuhPathType type, char **out, AuError *err)
{
    *out = NULL;
    if (!path[0])
        return au_error_set(err, AU_ERR_FORMAT, "empty path");
    if (path[0] != '/' && climbs_out(path))
        return au_error_set(err, AU_ERR_FORMAT, "path '%s' leaves the data folder %s", path, root_real);
    char *full = path[0] == '/' ? dup_str(path) : join_path(root_real, path);
    if (!full)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    char *real = realpath(full, NULL);
    int eno = errno;
    free(full);
    if (!real) {
        if (eno == ENOENT || eno == ENOTDIR)
            return au_error_set(err, AU_ERR_IO, "'%s': no such %s (in %s)", path,
                                type == AUH_PATH_DIR ? "folder" : "file", root_real);
        return au_error_set(err, AU_ERR_IO, "'%s': %s", path, strerror(eno));
    }
    if (!inside_root(root_real, real)) {
        au_error_set(err, AU_ERR_FORMAT, "path '%s' leaves the data folder %s (it resolves to %s)", path,
                     root_real, real);
        free(real);
        return AU_ERR_FORMAT;
    }
    struct stat st;
    if (stat(real, &st) != 0) {
        au_error_set(err, AU_ERR_IO, "'%s': %s", path, strerror(errno));
        free(real);
        return AU_ERR_IO;
    }
    if (type == AUH_PATH_DIR && !S_ISDIR(st.st_mode)) {
        free(real);
        return au_error_set(err, AU_ERR_FORMAT, "'%s' is not a folder", path);
    }
    if (type == AUH_PATH_FILE && !S_ISREG(st.st_mode)) {
        free(real);
        return au_error_set(err, AU_ERR_FORMAT, "'%s' is not a regular file", path);
    }
    *out = real;
    return AU_OK;
}

/* Path of real (inside root) relative to root; "." for the root itself. */
static char *relative_to(const char *root, const char *real)
{
    size_t rl = strlen(root);
    if (rl == 1 && root[0] == '/')
        return dup_str(real[1] ? real + 1 : ".");
    if (real[rl] == '\0')
        return dup_str(".");
    return dup_str(real + rl + 1);
}

/* ---- manifest structure ---- */

static void free_item(AuhManifestItem *it)
{
    free(it->id);
    free(it->path);
    free(it->rel);
    free(it->labels);
    free(it->labels_rel);
    free(it->openface);
    for (size_t i = 0; i < it->n_images; i++) {
        free(it->images[i].name);
        free(it->images[i].image);
        free(it->images[i].labels);
        free(it->images[i].openface);
    }
    free(it->images);
    memset(it, 0, sizeof(*it));
}

void auh_manifest_free(AuhManifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_items; i++)
        free_item(&m->items[i]);
    free(m->items);
    free(m->name);
    free(m->source);
    free(m->root);
    memset(m, 0, sizeof(*m));
}

const AuhManifestItem *auh_manifest_find(const AuhManifest *m, const char *id)
{
    for (size_t i = 0; i < m->n_items; i++)
        if (!strcmp(m->items[i].id, id))
            return &m->items[i];
    return NULL;
}

const char *auh_item_kind_name(AuhItemKind kind)
{
    return kind == AUH_ITEM_IMAGES ? "images" : "video";
}

/* Parsing context: where errors point. */
typedef struct Ctx {
    AuhManifest *m;
    const char *file;
    int line;
    AuError *err;
} Ctx;

static AuStatus fail(Ctx *c, AuStatus code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static AuStatus fail(Ctx *c, AuStatus code, const char *fmt, ...)
{
    char msg[AU_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->line > 0)
        return au_error_set(c->err, code, "%s:%d: %s", c->file, c->line, msg);
    return au_error_set(c->err, code, "%s: %s", c->file, msg);
}

/* Wraps an error from a helper (which does not know the line) with file:line. */
static AuStatus fail_prefix(Ctx *c, AuStatus code)
{
    if (c->line > 0)
        au_error_prefix(c->err, "%s:%d: ", c->file, c->line);
    else
        au_error_prefix(c->err, "%s: ", c->file);
    return code;
}

/* Ids name results and may become file or folder names: besides the
 * character set, an id must not start with '.', which refuses "." and ".."
 * (a path component that climbs) and hidden names. */
static int valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= AUH_ITEM_ID_MAX || id[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

/* Item id from a file or folder name: its stem with every character outside
 * [A-Za-z0-9._-] replaced by '_' (a study's "patient 01.mp4" -> "patient_01"). */
static char *id_from_name(const char *name, int strip_ext)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    size_t n = strlen(base);
    const char *dot = strip_ext ? strrchr(base, '.') : NULL;
    if (dot && dot != base)
        n = (size_t)(dot - base);
    if (n >= AUH_ITEM_ID_MAX)
        n = AUH_ITEM_ID_MAX - 1;
    char *id = malloc(n + 1);
    if (!id)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char ch = base[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                 ch == '_' || ch == '-';
        id[i] = ok ? ch : '_';
    }
    id[n] = '\0';
    if (id[0] == '.') /* "...avi" would give "..": see valid_id */
        id[0] = '_';
    return id;
}

static AuhManifestItem *new_item(Ctx *c)
{
    AuhManifest *m = c->m;
    if (m->n_items == m->cap_items) {
        size_t cap = m->cap_items ? m->cap_items * 2 : 8;
        AuhManifestItem *p = realloc(m->items, cap * sizeof(*p));
        if (!p)
            return NULL;
        m->items = p;
        m->cap_items = cap;
    }
    AuhManifestItem *it = &m->items[m->n_items++];
    memset(it, 0, sizeof(*it));
    it->line = c->line;
    return it;
}

/* Drops the last item (after a failure while filling it). */
static void drop_last_item(AuhManifest *m)
{
    free_item(&m->items[--m->n_items]);
}

static AuStatus check_unique_id(Ctx *c, const AuhManifestItem *it)
{
    for (size_t i = 0; i + 1 < c->m->n_items; i++) {
        const AuhManifestItem *o = &c->m->items[i];
        if (!strcmp(o->id, it->id)) {
            if (o->line > 0)
                return fail(c, AU_ERR_FORMAT, "item name '%s' is already used on line %d (give name=...)", it->id,
                            o->line);
            return fail(c, AU_ERR_FORMAT, "item name '%s' is used twice (give name=...)", it->id);
        }
    }
    return AU_OK;
}

static int has_ext(const char *name, const char *const *exts)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    for (int i = 0; exts[i]; i++)
        if (!strcasecmp(dot + 1, exts[i]))
            return 1;
    return 0;
}

static const char *const VIDEO_EXTS[] = {"avi", "mp4", "wmv", "mov", "mkv", "webm", "m4v", "mpg", "mpeg", "flv", NULL};
static const char *const IMAGE_EXTS[] = {"jpg", "jpeg", "png", "bmp", "pgm", "ppm", "tif", "tiff", NULL};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the non-hidden entries of dir that have one of exts. */
static AuStatus list_folder(Ctx *c, const char *dir, const char *const *exts, char ***names_out, size_t *n_out)
{
    *names_out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (!d)
        return fail(c, AU_ERR_IO, "cannot list '%s': %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    AuStatus st = AU_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_ext(e->d_name, exts))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **p = realloc(names, nc * sizeof(*p));
            if (!p) {
                st = fail(c, AU_ERR_NOMEM, "out of memory");
                break;
            }
            names = p;
            cap = nc;
        }
        if (!(names[n] = dup_str(e->d_name))) {
            st = fail(c, AU_ERR_NOMEM, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (st) {
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return st;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_str);
    *names_out = names;
    *n_out = n;
    return AU_OK;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* "<dir>/<stem of name><ext>" when it exists as anything; NULL path otherwise. */
static AuStatus sibling(Ctx *c, const char *dir, const char *name, const char *ext, char **out, int *exists)
{
    *out = NULL;
    *exists = 0;
    const char *dot = strrchr(name, '.');
    size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    size_t ld = strlen(dir), le = strlen(ext);
    char *p = malloc(ld + 1 + stem + le + 1);
    if (!p)
        return fail(c, AU_ERR_NOMEM, "out of memory");
    memcpy(p, dir, ld);
    p[ld] = '/';
    memcpy(p + ld + 1, name, stem);
    memcpy(p + ld + 1 + stem, ext, le + 1);
    struct stat st;
    *exists = lstat(p, &st) == 0;
    *out = p;
    return AU_OK;
}

/* Resolves a path found inside a folder (it may be a symbolic link). */
static AuStatus resolve_entry(Ctx *c, const char *path, char **out)
{
    AuStatus st = auh_path_resolve(c->m->root, path, AUH_PATH_FILE, out, c->err);
    return st ? fail_prefix(c, st) : AU_OK;
}

static AuStatus fill_images(Ctx *c, AuhManifestItem *it, const char *openface_dir)
{
    char **names;
    size_t n;
    AuStatus st = list_folder(c, it->path, IMAGE_EXTS, &names, &n);
    if (st)
        return st;
    if (n == 0) {
        free_names(names, n);
        return fail(c, AU_ERR_FORMAT, "no images (%s) in folder '%s'", "jpg, jpeg, png, bmp, pgm, ppm, tif, tiff",
                    it->rel);
    }
    it->images = calloc(n, sizeof(*it->images));
    if (!it->images) {
        free_names(names, n);
        return fail(c, AU_ERR_NOMEM, "out of memory");
    }
    it->n_images = n;
    for (size_t i = 0; i < n && !st; i++) {
        AuhImageEntry *e = &it->images[i];
        e->name = names[i];
        names[i] = NULL;
        char *p = join_path(it->path, e->name);
        if (!p) {
            st = fail(c, AU_ERR_NOMEM, "out of memory");
            break;
        }
        st = resolve_entry(c, p, &e->image);
        free(p);
        if (st)
            break;
        int exists;
        if (it->labels) {
            if ((st = sibling(c, it->labels, e->name, ".pts", &p, &exists)))
                break;
            if (!exists)
                st = fail(c, AU_ERR_FORMAT, "image '%s' has no label file '%s' (write labels=none for an unlabelled set)",
                          e->name, p);
            else
                st = resolve_entry(c, p, &e->labels);
            free(p);
        }
        if (!st && openface_dir) {
            if ((st = sibling(c, openface_dir, e->name, ".csv", &p, &exists)))
                break;
            if (exists)
                st = resolve_entry(c, p, &e->openface);
            free(p);
        }
    }
    free_names(names, n);
    return st;
}

/* Adds one video item per video file of folder (resolved, inside the root). */
static AuStatus add_study(Ctx *c, const char *folder_real)
{
    char **names;
    size_t n;
    AuStatus st = list_folder(c, folder_real, VIDEO_EXTS, &names, &n);
    if (st)
        return st;
    if (n == 0) {
        free_names(names, n);
        return fail(c, AU_ERR_FORMAT, "no videos (%s) in study folder '%s'",
                    "avi, mp4, wmv, mov, mkv, webm, m4v, mpg, mpeg, flv", folder_real);
    }
    for (size_t i = 0; i < n && !st; i++) {
        AuhManifestItem *it = new_item(c);
        if (!it) {
            st = fail(c, AU_ERR_NOMEM, "out of memory");
            break;
        }
        it->kind = AUH_ITEM_VIDEO;
        char *p = join_path(folder_real, names[i]);
        if (!p || !(it->id = id_from_name(names[i], 1))) {
            free(p);
            st = fail(c, AU_ERR_NOMEM, "out of memory");
        } else {
            st = resolve_entry(c, p, &it->path);
            free(p);
        }
        if (!st && !(it->rel = relative_to(c->m->root, it->path)))
            st = fail(c, AU_ERR_NOMEM, "out of memory");
        int exists = 0;
        char *csv = NULL;
        if (!st)
            st = sibling(c, folder_real, names[i], ".csv", &csv, &exists);
        if (!st && exists) {
            st = resolve_entry(c, csv, &it->labels);
            if (!st && !(it->labels_rel = relative_to(c->m->root, it->labels)))
                st = fail(c, AU_ERR_NOMEM, "out of memory");
        }
        free(csv);
        if (!st)
            st = check_unique_id(c, it);
        if (st)
            drop_last_item(c->m);
    }
    free_names(names, n);
    return st;
}

/* Splits line (modified in place) into fields; quotes group blanks. */
static AuStatus split_fields(Ctx *c, char *line, char **fields, int *n_fields)
{
    int n = 0;
    char *r = line;
    for (;;) {
        while (*r == ' ' || *r == '\t')
            r++;
        if (!*r || *r == '#')
            break;
        if (n == MAX_FIELDS)
            return fail(c, AU_ERR_FORMAT, "more than %d fields", MAX_FIELDS);
        char *w = r;
        fields[n++] = w;
        int quoted = 0;
        while (*r && (quoted || (*r != ' ' && *r != '\t'))) {
            if (*r == '"') {
                quoted = !quoted;
                r++;
            } else if (quoted && *r == '\\') {
                if (r[1] != '"' && r[1] != '\\')
                    return fail(c, AU_ERR_FORMAT, "unknown escape '\\%c' in quotes (only \\\" and \\\\)",
                                r[1] ? r[1] : ' ');
                *w++ = r[1];
                r += 2;
            } else {
                *w++ = *r++;
            }
        }
        if (quoted)
            return fail(c, AU_ERR_FORMAT, "unterminated quote");
        int at_end = !*r;
        *w = '\0';
        if (at_end)
            break;
        r++;
    }
    *n_fields = n;
    return AU_OK;
}

typedef struct Keys {
    const char *labels, *openface, *name;
} Keys;

static AuStatus parse_keys(Ctx *c, char **fields, int n, const char *directive, int allow_name, Keys *k)
{
    memset(k, 0, sizeof(*k));
    for (int i = 0; i < n; i++) {
        char *eq = strchr(fields[i], '=');
        if (!eq)
            return fail(c, AU_ERR_FORMAT, "unexpected field '%s' after the path (expected key=value)", fields[i]);
        *eq = '\0';
        const char *key = fields[i], *val = eq + 1;
        const char **slot = NULL;
        if (!strcmp(key, "labels"))
            slot = &k->labels;
        else if (!strcmp(key, "openface"))
            slot = &k->openface;
        else if (!strcmp(key, "name") && allow_name)
            slot = &k->name;
        if (!slot)
            return fail(c, AU_ERR_FORMAT, "unknown key '%s' for %s (known: labels, openface%s)", key, directive,
                        allow_name ? ", name" : "");
        if (*slot)
            return fail(c, AU_ERR_FORMAT, "key '%s' given twice", key);
        if (!*val)
            return fail(c, AU_ERR_FORMAT, "key '%s' has an empty value", key);
        *slot = val;
    }
    return AU_OK;
}

static AuStatus resolve_field(Ctx *c, const char *path, AuhPathType type, const char *what, char **out)
{
    AuStatus st = auh_path_resolve(c->m->root, path, type, out, c->err);
    if (st) {
        au_error_prefix(c->err, "%s: ", what);
        return fail_prefix(c, st);
    }
    return AU_OK;
}

/* Item id from the path as written (a symbolic link's own name, not its
 * target's), falling back to the resolved name for "." or "..". */
static char *id_from_written(const char *written, const char *resolved, int strip_ext)
{
    size_t n = strlen(written);
    while (n > 1 && written[n - 1] == '/')
        n--;
    char *w = malloc(n + 1);
    if (!w)
        return NULL;
    memcpy(w, written, n);
    w[n] = '\0';
    const char *base = strrchr(w, '/');
    base = base ? base + 1 : w;
    char *id = (!strcmp(base, ".") || !strcmp(base, "..") || !base[0]) ? id_from_name(resolved, strip_ext)
                                                                        : id_from_name(base, strip_ext);
    free(w);
    return id;
}

static AuStatus set_id(Ctx *c, AuhManifestItem *it, const Keys *k, const char *written, int strip_ext)
{
    if (k->name) {
        if (!valid_id(k->name))
            return fail(c, AU_ERR_FORMAT, "name '%s' must be 1-%d characters of A-Z a-z 0-9 . _ -, not starting with '.'",
                        k->name, AUH_ITEM_ID_MAX - 1);
        it->id = dup_str(k->name);
    } else {
        it->id = id_from_written(written, it->path, strip_ext);
    }
    if (!it->id)
        return fail(c, AU_ERR_NOMEM, "out of memory");
    if (!it->id[0])
        return fail(c, AU_ERR_FORMAT, "cannot derive an item name from '%s' (give name=...)", it->rel);
    return check_unique_id(c, it);
}

static AuStatus parse_item(Ctx *c, int is_video, char **fields, int n)
{
    const char *directive = is_video ? "video" : "images";
    if (n < 2)
        return fail(c, AU_ERR_FORMAT, "'%s' needs a path", directive);
    Keys k;
    AuStatus st = parse_keys(c, fields + 2, n - 2, directive, 1, &k);
    if (st)
        return st;
    AuhManifestItem *it = new_item(c);
    if (!it)
        return fail(c, AU_ERR_NOMEM, "out of memory");
    it->kind = is_video ? AUH_ITEM_VIDEO : AUH_ITEM_IMAGES;
    st = resolve_field(c, fields[1], is_video ? AUH_PATH_FILE : AUH_PATH_DIR, is_video ? "video" : "image folder",
                       &it->path);
    if (!st && !(it->rel = relative_to(c->m->root, it->path)))
        st = fail(c, AU_ERR_NOMEM, "out of memory");
    if (!st)
        st = set_id(c, it, &k, fields[1], is_video);
    char *openface = NULL;
    if (!st && k.openface)
        st = resolve_field(c, k.openface, is_video ? AUH_PATH_FILE : AUH_PATH_DIR, "openface", &openface);
    it->openface = openface;
    if (!st) {
        if (is_video) {
            if (k.labels && strcmp(k.labels, "none"))
                st = resolve_field(c, k.labels, AUH_PATH_FILE, "labels", &it->labels);
        } else if (!k.labels) {
            if (!(it->labels = dup_str(it->path)))
                st = fail(c, AU_ERR_NOMEM, "out of memory");
        } else if (strcmp(k.labels, "none")) {
            st = resolve_field(c, k.labels, AUH_PATH_DIR, "labels", &it->labels);
        }
    }
    if (!st && it->labels && !(it->labels_rel = relative_to(c->m->root, it->labels)))
        st = fail(c, AU_ERR_NOMEM, "out of memory");
    if (!st && !is_video)
        st = fill_images(c, it, openface);
    if (st)
        drop_last_item(c->m);
    return st;
}

static AuStatus parse_line(Ctx *c, char *line, int *seen_header)
{
    char *fields[MAX_FIELDS];
    int n = 0;
    AuStatus st = split_fields(c, line, fields, &n);
    if (st || n == 0)
        return st;
    if (!*seen_header) {
        if (strcmp(fields[0], "auharness-manifest"))
            return fail(c, AU_ERR_FORMAT, "expected 'auharness-manifest %d' as the first line, found '%s'",
                        AUH_MANIFEST_VERSION, fields[0]);
        if (n != 2)
            return fail(c, AU_ERR_FORMAT, "expected 'auharness-manifest %d'", AUH_MANIFEST_VERSION);
        if (strcmp(fields[1], "1"))
            return fail(c, AU_ERR_UNSUPPORTED, "manifest version '%s' is not supported (this auharness reads %d)",
                        fields[1], AUH_MANIFEST_VERSION);
        *seen_header = 1;
        return AU_OK;
    }
    if (!strcmp(fields[0], "video"))
        return parse_item(c, 1, fields, n);
    if (!strcmp(fields[0], "images"))
        return parse_item(c, 0, fields, n);
    if (!strcmp(fields[0], "study")) {
        if (n != 2)
            return fail(c, AU_ERR_FORMAT, "'study' takes exactly one folder");
        char *folder;
        if ((st = resolve_field(c, fields[1], AUH_PATH_DIR, "study folder", &folder)))
            return st;
        st = add_study(c, folder);
        free(folder);
        return st;
    }
    if (!strcmp(fields[0], "auharness-manifest"))
        return fail(c, AU_ERR_FORMAT, "repeated 'auharness-manifest' line");
    return fail(c, AU_ERR_FORMAT, "unknown directive '%s' (expected video, images or study)", fields[0]);
}

/* Dataset name from the manifest's file name: base name without ".manifest". */
static char *dataset_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 9 && !strcmp(base + n - 9, ".manifest"))
        n -= 9;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, base, n);
        s[n] = '\0';
    }
    return s;
}

static AuStatus init_manifest(AuhManifest *m, const char *source, const char *root, AuError *err)
{
    memset(m, 0, sizeof(*m));
    m->root = realpath(root, NULL);
    if (!m->root)
        return au_error_set(err, AU_ERR_IO, "data folder '%s': %s", root, strerror(errno));
    struct stat st;
    if (stat(m->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        au_error_set(err, AU_ERR_IO, "data folder '%s' is not a folder", root);
        auh_manifest_free(m);
        return AU_ERR_IO;
    }
    m->source = dup_str(source);
    m->name = dataset_name(source);
    if (!m->source || !m->name) {
        auh_manifest_free(m);
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    }
    return AU_OK;
}

AuStatus auh_manifest_parse(AuhManifest *m, const char *name, const char *text, size_t len, const char *data_root,
                            AuError *err)
{
    AuStatus st = init_manifest(m, name, data_root, err);
    if (st)
        return st;
    Ctx c = {m, name, 0, err};
    char *line = malloc(AUH_MANIFEST_LINE_MAX + 1);
    if (!line) {
        auh_manifest_free(m);
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    }
    int seen_header = 0;
    size_t pos = 0;
    while (pos < len && !st) {
        c.line++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - pos;
        if (n > 0 && text[pos + n - 1] == '\r')
            n--;
        if (n > AUH_MANIFEST_LINE_MAX)
            st = fail(&c, AU_ERR_FORMAT, "line longer than %d bytes", AUH_MANIFEST_LINE_MAX);
        else if (memchr(text + pos, '\0', n))
            st = fail(&c, AU_ERR_FORMAT, "NUL byte in line");
        else {
            memcpy(line, text + pos, n);
            line[n] = '\0';
            st = parse_line(&c, line, &seen_header);
        }
        pos = nl ? end + 1 : len;
    }
    free(line);
    if (!st && !seen_header) {
        c.line = 0;
        st = fail(&c, AU_ERR_FORMAT, "empty manifest (expected 'auharness-manifest %d')", AUH_MANIFEST_VERSION);
    }
    if (!st && m->n_items == 0) {
        c.line = 0;
        st = fail(&c, AU_ERR_FORMAT, "the manifest names no items");
    }
    if (st)
        auh_manifest_free(m);
    return st;
}

AuStatus auh_manifest_load(AuhManifest *m, const char *path, const char *data_root, AuError *err)
{
    memset(m, 0, sizeof(*m));
    AuReader r;
    AuStatus st = au_reader_open(&r, path, err);
    if (st)
        return st;
    st = auh_manifest_parse(m, path, (const char *)r.data, r.size, data_root, err);
    au_reader_close(&r);
    return st;
}

AuStatus auh_manifest_from_study(AuhManifest *m, const char *folder, AuError *err)
{
    AuStatus st = init_manifest(m, folder, folder, err);
    if (st)
        return st;
    free(m->name);
    /* base name of the resolved folder ("/data/study/" -> "study") */
    const char *base = strrchr(m->root, '/');
    m->name = dup_str(base && base[1] ? base + 1 : m->root);
    if (!m->name) {
        auh_manifest_free(m);
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    }
    Ctx c = {m, folder, 0, err};
    st = add_study(&c, m->root);
    if (st)
        auh_manifest_free(m);
    return st;
}
