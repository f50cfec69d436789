#define _XOPEN_SOURCE 700
#include "autest.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *autest_data_dir(void)
{
    const char *d = getenv("AU_DATA_DIR");
    if (d && *d)
        return d;
    return AU_TEST_DATA_DIR;
}

const char *autest_path(char *buf, size_t n, const char *rel)
{
    int w = snprintf(buf, n, "%s/%s", autest_data_dir(), rel);
    if (w < 0 || (size_t)w >= n)
        fail_msg("path too long: %s", rel);
    return buf;
}

void autest_require_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("missing test data %s (run scripts/setup.sh to fill the data folder)", path);
}

void autest_mkdtemp(char *buf, size_t n)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, n, "%s/autest.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(buf))
        fail_msg("mkdtemp %s: %s", buf, strerror(errno));
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

void autest_rmtree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int autest_read_file(const char *path, unsigned char **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc((size_t)len + 1);
    if (!*data) {
        fclose(f);
        return -1;
    }
    *size = fread(*data, 1, (size_t)len, f);
    (*data)[*size] = 0;
    fclose(f);
    return *size == (size_t)len ? 0 : -1;
}

void autest_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    if (size && fwrite(data, 1, size, f) != size)
        fail_msg("short write %s", path);
    fclose(f);
}

void autest_copy_file(const char *src, const char *dst)
{
    unsigned char *d;
    size_t n;
    if (autest_read_file(src, &d, &n))
        fail_msg("cannot read %s", src);
    autest_write_file(dst, d, n);
    free(d);
}

void autest_copy_tree(const char *src_dir, const char *dst_dir)
{
    mkdir(dst_dir, 0755);
    DIR *d = opendir(src_dir);
    if (!d)
        fail_msg("cannot open dir %s", src_dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char s[4096], t[4096];
        snprintf(s, sizeof(s), "%s/%s", src_dir, e->d_name);
        snprintf(t, sizeof(t), "%s/%s", dst_dir, e->d_name);
        struct stat st;
        if (stat(s, &st))
            continue;
        if (S_ISDIR(st.st_mode))
            autest_copy_tree(s, t);
        else
            autest_copy_file(s, t);
    }
    closedir(d);
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x ? x : 0x9e3779b9u;
}

void autest_check_truncations(const char *target, const char *load_path, autest_loader_fn load, void *ctx,
                              int n_offsets, int is_text)
{
    unsigned char *orig;
    size_t size;
    if (autest_read_file(target, &orig, &size))
        fail_msg("cannot read %s", target);
    size_t limit = size;
    if (is_text) {
        /* drop trailing whitespace, then the whole final token */
        while (limit > 0 && is_ws(orig[limit - 1]))
            limit--;
        while (limit > 0 && !is_ws(orig[limit - 1]))
            limit--;
    } else if (limit > 0) {
        limit--; /* a binary file cut by even one byte must fail */
    }
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    for (int k = 0; k < n_offsets; k++) {
        size_t off = n_offsets > 1 ? (size_t)((double)limit * k / (n_offsets - 1)) : 0;
        if (k == 1 && limit > 7)
            off = 7; /* inside the first header field */
        autest_write_file(target, orig, off);
        AuError err = {0};
        AuStatus st = load(load_path, ctx, &err);
        if (st == AU_OK) {
            autest_write_file(target, orig, size);
            free(orig);
            fail_msg("%s truncated to %zu of %zu bytes was accepted", target, off, size);
        }
        if (!strstr(err.msg, base)) {
            autest_write_file(target, orig, size);
            free(orig);
            fail_msg("%s truncated to %zu bytes: error does not name the file: %s", target, off, err.msg);
        }
    }
    autest_write_file(target, orig, size);
    free(orig);
}

int autest_check_corruptions(const char *target, const char *load_path, autest_loader_fn load, void *ctx,
                             int n_trials, int n_flips, uint32_t seed)
{
    unsigned char *orig;
    size_t size;
    if (autest_read_file(target, &orig, &size))
        fail_msg("cannot read %s", target);
    unsigned char *buf = malloc(size ? size : 1);
    uint32_t s = seed ? seed : 1;
    int rejected = 0;
    for (int t = 0; t < n_trials; t++) {
        memcpy(buf, orig, size);
        for (int f = 0; f < n_flips && size; f++)
            buf[xorshift(&s) % size] ^= (unsigned char)(1u << (xorshift(&s) % 8));
        autest_write_file(target, buf, size);
        AuError err = {0};
        AuStatus st = load(load_path, ctx, &err);
        if (st != AU_OK) {
            rejected++;
            if (err.msg[0] == '\0') {
                autest_write_file(target, orig, size);
                fail_msg("%s corrupted (trial %d): error without a message", target, t);
            }
        }
    }
    autest_write_file(target, orig, size);
    free(buf);
    free(orig);
    return rejected;
}
