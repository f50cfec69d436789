#define _XOPEN_SOURCE 700 /* realpath, symlink */
/* libFuzzer target: the dataset manifest parser (auh_manifest_parse) from
 * memory, against a small data folder made at start-up: a video with its
 * CSV, an image folder with a .pts, a study folder, a symbolic link that
 * leads out of the folder and a file beside it. Beyond the error contract
 * it checks the manifest's promise: every path of an accepted item lies
 * inside the data folder. */
#include "fuzz_common.h"

#include <limits.h>
#include <sys/stat.h>

#include "manifest.h"

static char root_[700], root_real_[PATH_MAX];

static void touch(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s", root_, rel);
    fuzz_write(p, (const uint8_t *)"x", 1);
}

static void make_dir(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s", root_, rel);
    if (mkdir(p, 0700) != 0) {
        perror(p);
        abort();
    }
}

static void rm(const char *rel, int dir)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s", root_, rel);
    if (dir)
        rmdir(p);
    else
        unlink(p);
}

static void cleanup(void)
{
    static const char *files[] = {"data/v.wmv", "data/v.csv", "data/img/a.jpg", "data/img/a.pts",
                                  "data/study/s.avi", "data/study/s.csv", "data/out", "secret.wmv"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        rm(files[i], 0);
    rm("data/img", 1);
    rm("data/study", 1);
    rm("data", 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(root_, sizeof(root_), "%s", fuzz_dir());
    make_dir("data");
    make_dir("data/img");
    make_dir("data/study");
    touch("data/v.wmv");
    touch("data/v.csv");
    touch("data/img/a.jpg");
    touch("data/img/a.pts");
    touch("data/study/s.avi");
    touch("data/study/s.csv");
    touch("secret.wmv");
    char p[1024];
    snprintf(p, sizeof(p), "%s/data/out", root_);
    if (symlink("..", p) != 0) {
        perror(p);
        abort();
    }
    snprintf(p, sizeof(p), "%s/data", root_);
    if (!realpath(p, root_real_))
        abort();
    atexit(cleanup); /* registered after fuzz_dir's: runs first */
    return 0;
}

static void check_inside(const char *path)
{
    size_t n = strlen(root_real_);
    if (path && (strncmp(path, root_real_, n) != 0 || (path[n] != '/' && path[n] != '\0'))) {
        fprintf(stderr, "fuzz: manifest path %s is outside the data folder %s\n", path, root_real_);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    AuhManifest m;
    AuError err = {0};
    AuStatus s = auh_manifest_parse(&m, "input.manifest", (const char *)data, size, root_real_, &err);
    fuzz_check_error(s, err.msg, "input.manifest");
    if (s == AU_OK) {
        for (size_t i = 0; i < m.n_items; i++) {
            const AuhManifestItem *it = &m.items[i];
            check_inside(it->path);
            check_inside(it->labels);
            check_inside(it->openface);
            for (size_t k = 0; k < it->n_images; k++) {
                check_inside(it->images[k].image);
                check_inside(it->images[k].labels);
                check_inside(it->images[k].openface);
            }
        }
    }
    auh_manifest_free(&m);
    return 0;
}
