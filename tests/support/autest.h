/* Shared helpers for the cmocka tests: where the real data lives, temporary
 * folders, and the bad-input harness that truncates and corrupts real model
 * files and checks that loaders reject them cleanly. */
#ifndef AUTEST_H
#define AUTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the above first */
#include <cmocka.h>

#include "error.h"

/* Data folder filled by scripts/setup.sh: $AU_DATA_DIR or the build-time default. */
const char *autest_data_dir(void);
/* "<data>/<rel>" in a static-per-call buffer owned by the caller (buf, n). Fails the test if too long. */
const char *autest_path(char *buf, size_t n, const char *rel);
/* Fails the test unless the file exists (with a hint to run scripts/setup.sh). */
void autest_require_file(const char *path);

/* Fresh temporary directory (mkdtemp), removed with autest_rmtree. */
void autest_mkdtemp(char *buf, size_t n);
void autest_rmtree(const char *dir);
void autest_copy_file(const char *src, const char *dst);
/* Recursively copies src_dir into dst_dir (created). */
void autest_copy_tree(const char *src_dir, const char *dst_dir);

int autest_read_file(const char *path, unsigned char **data, size_t *size);
void autest_write_file(const char *path, const void *data, size_t size);

/* A loader under test: loads everything reachable from path and frees it again. */
typedef AuStatus (*autest_loader_fn)(const char *path, void *ctx, AuError *err);

/* Truncates target (a copy of original bytes) at n_offsets offsets spread over
 * the file (always including 0 and the last byte of content) and asserts the
 * loader, called on load_path, fails with a message naming target's file name.
 * For text files (is_text), offsets stop before the final token, since a cut
 * inside the last number can still be a valid (different) number.
 * The original content is restored afterwards. */
void autest_check_truncations(const char *target, const char *load_path, autest_loader_fn load, void *ctx,
                              int n_offsets, int is_text);
/* Flips n_flips random bytes (seeded) in target, n_trials times, and asserts the
 * loader returns either AU_OK or an error with a non-empty message (and does not
 * crash or leak, which ASan/UBSan check). Restores the original. Returns how
 * many trials were rejected. */
int autest_check_corruptions(const char *target, const char *load_path, autest_loader_fn load, void *ctx,
                             int n_trials, int n_flips, uint32_t seed);

#endif
