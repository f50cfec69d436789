/* Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): a private temporary
 * folder per fuzzing process, for the loaders that take a path, and the
 * "bundle" input format for loaders that read several files.
 *
 * Bundle: the input is cut at every FUZZ_SEP into parts; part k is written
 * to the file "<tmp>/k" (k = 0 .. FUZZ_MAX_PARTS-1) and the loader is called
 * on "<tmp>/0", so a list file in part 0 names the other parts "1", "2", ...
 * (relative to its own folder, as the loaders resolve them). Every file of
 * the previous input is removed first, so each run sees only its own files.
 * libFuzzer learns the separator from the memcmp in fuzz_bundle_write. */
#ifndef AU_FUZZ_COMMON_H
#define AU_FUZZ_COMMON_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_SEP "@@AUFUZZ@@"
#define FUZZ_SEP_LEN 10
#define FUZZ_MAX_PARTS 16

static char fuzz_dir_[512];

static inline void fuzz_cleanup_(void)
{
    char p[600];
    for (int k = 0; k < FUZZ_MAX_PARTS; k++) {
        snprintf(p, sizeof(p), "%s/%d", fuzz_dir_, k);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/input", fuzz_dir_);
    unlink(p);
    rmdir(fuzz_dir_);
}

/* The process's temporary folder, created on first use and removed at exit.
 * Only the files this header writes are removed (see fuzz_cleanup_);
 * targets that add more remove them themselves. */
static inline const char *fuzz_dir(void)
{
    if (!fuzz_dir_[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz_dir_, sizeof(fuzz_dir_), "%s/aufuzz.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(fuzz_dir_)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_cleanup_);
    }
    return fuzz_dir_;
}

static inline void fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n <= 0) {
            perror(path);
            abort();
        }
        data += n;
        size -= (size_t)n;
    }
    close(fd);
}

/* Writes the whole input to "<tmp>/input" and returns that path. */
static inline const char *fuzz_write_input(const uint8_t *data, size_t size)
{
    static char path[600];
    snprintf(path, sizeof(path), "%s/input", fuzz_dir());
    fuzz_write(path, data, size);
    return path;
}

/* Writes the parts of a bundle input; returns the path of part 0. */
static inline const char *fuzz_bundle_write(const uint8_t *data, size_t size)
{
    static char first[600];
    char p[600];
    const char *dir = fuzz_dir();
    for (int k = 0; k < FUZZ_MAX_PARTS; k++) {
        snprintf(p, sizeof(p), "%s/%d", dir, k);
        unlink(p);
    }
    size_t start = 0;
    int k = 0;
    for (size_t i = 0; k < FUZZ_MAX_PARTS; i++) {
        int at_sep = i + FUZZ_SEP_LEN <= size && memcmp(data + i, FUZZ_SEP, FUZZ_SEP_LEN) == 0;
        if (i >= size || at_sep || k == FUZZ_MAX_PARTS - 1) {
            if (k == FUZZ_MAX_PARTS - 1)
                i = size; /* the last part takes the rest */
            snprintf(p, sizeof(p), "%s/%d", dir, k);
            fuzz_write(p, data + start, i - start);
            k++;
            if (i >= size)
                break;
            start = i + FUZZ_SEP_LEN;
            i = start - 1;
        }
    }
    snprintf(first, sizeof(first), "%s/0", dir);
    return first;
}

/* The loaders' error contract: a failure carries a message, and it names the
 * file at fault (must_name: a path or folder that every message must contain). */
static inline void fuzz_check_error(int status, const char *msg, const char *must_name)
{
    if (getenv("AUFUZZ_VERBOSE")) /* scripts: see what a seed gives */
        fprintf(stderr, "fuzz: status %d%s%s\n", status, status ? ": " : "", status ? msg : "");
    if (status == 0)
        return;
    if (!msg[0]) {
        fprintf(stderr, "fuzz: status %d with an empty error message\n", status);
        abort();
    }
    if (must_name && !strstr(msg, must_name)) {
        fprintf(stderr, "fuzz: error message does not name %s: %s\n", must_name, msg);
        abort();
    }
}

#endif
