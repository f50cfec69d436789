#define _XOPEN_SOURCE 700 /* realpath, symlink */
/* Dataset manifests: the default manifest on the real data folder, study
 * folders, every error with its line number, and paths that try to leave
 * the data folder (.., absolute, symbolic links). */
#include "autest.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"

/* The source tree's datasets/ folder, found from this file's path. */
static void source_path(char *buf, size_t n, const char *rel)
{
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    assert_non_null(slash);
    int len = (int)(slash - file);
    snprintf(buf, n, "%.*s/../%s", len, file, rel);
}

static void touch(const char *dir, const char *name)
{
    char p[2048];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    autest_write_file(p, "x", 1);
}

static void make_dir(const char *dir, const char *name)
{
    char p[2048];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    assert_int_equal(mkdir(p, 0755), 0);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static void test_default_manifest(void **state)
{
    (void)state;
    char path[2048];
    source_path(path, sizeof(path), "datasets/default.manifest");
    AuhManifest m;
    AuError err = {0};
    if (auh_manifest_load(&m, path, autest_data_dir(), &err))
        fail_msg("%s", err.msg);
    assert_string_equal(m.name, "default");
    assert_int_equal(m.n_items, 3);

    const AuhManifestItem *v = auh_manifest_find(&m, "default");
    assert_non_null(v);
    assert_int_equal(v->kind, AUH_ITEM_VIDEO);
    assert_string_equal(v->rel, "openface/videos/default.wmv");
    assert_string_equal(v->labels_rel, "openface/reference/default.csv");
    assert_true(v->path[0] == '/' && ends_with(v->path, "/openface/videos/default.wmv"));
    assert_true(ends_with(v->openface, "/openface/reference/default.csv"));
    assert_int_equal(v->line, 8); /* its line in default.manifest */

    v = auh_manifest_find(&m, "changeLighting");
    assert_non_null(v);
    assert_string_equal(v->rel, "openface/videos/changeLighting.wmv");
    assert_string_equal(v->labels_rel, "openface/reference/changeLighting.csv");

    const AuhManifestItem *im = auh_manifest_find(&m, "300w_lfpw_test_crops");
    assert_non_null(im);
    assert_int_equal(im->kind, AUH_ITEM_IMAGES);
    assert_string_equal(im->rel, "datasets/300w_lfpw_test_crops");
    assert_string_equal(im->labels_rel, "datasets/300w_lfpw_test_crops");
    /* 224 .jpg + .pts pairs (datasets README), sorted by name; OpenFace C++ found
     * a face in all 224 (reference README), so each has its CSV */
    assert_int_equal(im->n_images, 224);
    assert_string_equal(im->images[0].name, "lfpw_test_image_0001.jpg");
    for (size_t i = 0; i < im->n_images; i++) {
        const AuhImageEntry *e = &im->images[i];
        if (i)
            assert_true(strcmp(im->images[i - 1].name, e->name) < 0);
        assert_true(ends_with(e->image, e->name));
        assert_non_null(e->labels);
        assert_true(ends_with(e->labels, ".pts"));
        assert_non_null(e->openface);
        assert_true(ends_with(e->openface, ".csv"));
    }
    assert_null(auh_manifest_find(&m, "nope"));
    auh_manifest_free(&m);
    auh_manifest_free(&m); /* freeing twice is harmless */
}

/* A temporary data folder:
 *   v1.wmv v1.csv  vids/a.avi  "my video.wmv"  sub/ (empty)
 *   imgs/{1.jpg,1.pts,2.png,2.pts,readme.txt}  nolab/{x.jpg}
 *   study/{s1.mp4,s1.csv,"s 2.MOV",notes.txt,.hidden.avi,orphan.csv}
 * and next to it (outside) outside.wmv. */
typedef struct Fixture {
    char top[1024];  /* temp folder */
    char root[1200]; /* top/data */
} Fixture;

static int setup_fixture(void **state)
{
    Fixture *f = calloc(1, sizeof(*f));
    autest_mkdtemp(f->top, sizeof(f->top));
    snprintf(f->root, sizeof(f->root), "%s/data", f->top);
    assert_int_equal(mkdir(f->root, 0755), 0);
    touch(f->top, "outside.wmv");
    make_dir(f->top, "outside_imgs");
    touch(f->top, "outside_imgs/o.jpg");
    touch(f->top, "outside_imgs/o.pts");
    touch(f->root, "v1.wmv");
    touch(f->root, "v1.csv");
    make_dir(f->root, "vids");
    touch(f->root, "vids/a.avi");
    touch(f->root, "my video.wmv");
    make_dir(f->root, "sub");
    make_dir(f->root, "imgs");
    touch(f->root, "imgs/1.jpg");
    touch(f->root, "imgs/1.pts");
    touch(f->root, "imgs/2.png");
    touch(f->root, "imgs/2.pts");
    touch(f->root, "imgs/readme.txt");
    make_dir(f->root, "nolab");
    touch(f->root, "nolab/x.jpg");
    make_dir(f->root, "study");
    touch(f->root, "study/s1.mp4");
    touch(f->root, "study/s1.csv");
    touch(f->root, "study/s 2.MOV");
    touch(f->root, "study/notes.txt");
    touch(f->root, "study/.hidden.avi");
    touch(f->root, "study/orphan.csv");
    *state = f;
    return 0;
}

static int teardown_fixture(void **state)
{
    Fixture *f = *state;
    autest_rmtree(f->top);
    free(f);
    return 0;
}

static AuStatus parse(const Fixture *f, const char *text, AuhManifest *m, AuError *err)
{
    return auh_manifest_parse(m, "m.manifest", text, strlen(text), f->root, err);
}

/* The text must be refused with "m.manifest:<line>: " and every needle. */
static void expect_error(const Fixture *f, const char *text, int line, const char *needle1, const char *needle2)
{
    AuhManifest m;
    AuError err = {0};
    AuStatus st = parse(f, text, &m, &err);
    if (st == AU_OK) {
        auh_manifest_free(&m);
        fail_msg("accepted:\n%s", text);
    }
    char prefix[64];
    if (line > 0)
        snprintf(prefix, sizeof(prefix), "m.manifest:%d: ", line);
    else
        snprintf(prefix, sizeof(prefix), "m.manifest: ");
    if (strncmp(err.msg, prefix, strlen(prefix)) || !strstr(err.msg, needle1) || (needle2 && !strstr(err.msg, needle2)))
        fail_msg("message '%s' lacks '%s' / '%s' / '%s'", err.msg, prefix, needle1, needle2 ? needle2 : "");
    assert_int_equal(m.n_items, 0); /* freed */
}

static void test_items_and_syntax(void **state)
{
    Fixture *f = *state;
    AuhManifest m;
    AuError err = {0};
    /* comments, blank lines, CRLF, quotes, absolute path inside the root,
     * explicit names, labels=none, "./" and a harmless inner ".." */
    char text[4096];
    snprintf(text, sizeof(text),
             "# header comment\r\n"
             "\n"
             "auharness-manifest 1   # trailing comment\r\n"
             "video v1.wmv labels=v1.csv\n"
             "video \"my video.wmv\"\n"
             "video %s/vids/a.avi name=clip-A.1 labels=\"v1.csv\"\n"
             "images ./imgs/ openface=sub\n"
             "images nolab labels=none\n"
             "video sub/../v1.wmv name=again\n"
             "video \"sub/\\\"q\\\\/../../v1.wmv\" name=escaped\n",
             f->root);
    make_dir(f->root, "sub/\"q\\");
    if (parse(f, text, &m, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(m.name, "m");
    assert_int_equal(m.n_items, 7);
    assert_string_equal(m.items[0].id, "v1");
    assert_string_equal(m.items[0].rel, "v1.wmv");
    assert_string_equal(m.items[0].labels_rel, "v1.csv");
    assert_null(m.items[0].openface);
    assert_int_equal(m.items[0].line, 4);
    assert_string_equal(m.items[1].id, "my_video");
    assert_string_equal(m.items[1].rel, "my video.wmv");
    assert_null(m.items[1].labels);
    assert_string_equal(m.items[2].id, "clip-A.1");
    assert_string_equal(m.items[2].rel, "vids/a.avi");
    assert_int_equal(m.items[3].kind, AUH_ITEM_IMAGES);
    assert_string_equal(m.items[3].id, "imgs");
    assert_string_equal(m.items[3].rel, "imgs");
    assert_int_equal(m.items[3].n_images, 2); /* readme.txt is not an image */
    assert_string_equal(m.items[3].images[0].name, "1.jpg");
    assert_string_equal(m.items[3].images[1].name, "2.png");
    assert_true(ends_with(m.items[3].images[1].labels, "/imgs/2.pts"));
    assert_null(m.items[3].images[0].openface); /* sub/ has no 1.csv */
    assert_string_equal(m.items[4].id, "nolab");
    assert_null(m.items[4].labels);
    assert_null(m.items[4].images[0].labels);
    assert_string_equal(m.items[5].rel, "v1.wmv");
    assert_string_equal(m.items[6].id, "escaped");
    assert_int_equal(m.items[6].line, 10);
    auh_manifest_free(&m);
}

static void test_study(void **state)
{
    Fixture *f = *state;
    char folder[1400];
    snprintf(folder, sizeof(folder), "%s/study/", f->root);
    AuhManifest m;
    AuError err = {0};
    if (auh_manifest_from_study(&m, folder, &err))
        fail_msg("%s", err.msg);
    /* "s 2.MOV" < "s1.mp4" by strcmp (' ' < '1'); hidden files, notes and the
     * orphan CSV are not items */
    assert_string_equal(m.name, "study");
    assert_int_equal(m.n_items, 2);
    assert_string_equal(m.items[0].id, "s_2");
    assert_string_equal(m.items[0].rel, "s 2.MOV");
    assert_null(m.items[0].labels);
    assert_string_equal(m.items[1].id, "s1");
    assert_string_equal(m.items[1].labels_rel, "s1.csv");
    assert_int_equal(m.items[1].line, 0);
    auh_manifest_free(&m);

    /* the same through a manifest line: paths relative to the data folder */
    if (parse(f, "auharness-manifest 1\nvideo v1.wmv\nstudy study\n", &m, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(m.n_items, 3);
    assert_string_equal(m.items[2].rel, "study/s1.mp4");
    assert_string_equal(m.items[2].labels_rel, "study/s1.csv");
    assert_int_equal(m.items[2].line, 3);
    auh_manifest_free(&m);

    /* a study item clashing with an earlier name */
    expect_error(f, "auharness-manifest 1\nvideo v1.wmv name=s1\nstudy study\n", 3, "item name 's1' is already used on line 2",
                 NULL);
    /* a folder without videos */
    expect_error(f, "auharness-manifest 1\nstudy imgs\n", 2, "no videos", NULL);
    char sub[1400];
    snprintf(sub, sizeof(sub), "%s/sub", f->root);
    assert_int_equal(auh_manifest_from_study(&m, sub, &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "no videos"));
    snprintf(sub, sizeof(sub), "%s/missing", f->root);
    assert_int_equal(auh_manifest_from_study(&m, sub, &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "missing"));
}

static void test_errors(void **state)
{
    Fixture *f = *state;
    expect_error(f, "video v1.wmv\n", 1, "expected 'auharness-manifest 1'", "found 'video'");
    expect_error(f, "# only\n\nauharness-manifest 2\n", 3, "version '2' is not supported", NULL);
    expect_error(f, "auharness-manifest\n", 1, "expected 'auharness-manifest 1'", NULL);
    expect_error(f, "", 0, "empty manifest", NULL);
    expect_error(f, "# nothing\n", 0, "empty manifest", NULL);
    expect_error(f, "auharness-manifest 1\n# no items\n", 0, "names no items", NULL);
    expect_error(f, "auharness-manifest 1\nvideo v1.wmv\nvidoe v1.wmv\n", 3, "unknown directive 'vidoe'", NULL);
    expect_error(f, "auharness-manifest 1\nauharness-manifest 1\n", 2, "repeated", NULL);
    expect_error(f, "auharness-manifest 1\nvideo\n", 2, "'video' needs a path", NULL);
    expect_error(f, "auharness-manifest 1\nvideo nope.wmv\n", 2, "video: 'nope.wmv': no such file", NULL);
    expect_error(f, "auharness-manifest 1\nvideo v1.wmv labels=nope.csv\n", 2, "labels: 'nope.csv': no such file",
                 NULL);
    expect_error(f, "auharness-manifest 1\nvideo sub\n", 2, "'sub' is not a regular file", NULL);
    expect_error(f, "auharness-manifest 1\nimages v1.wmv\n", 2, "'v1.wmv' is not a folder", NULL);
    expect_error(f, "auharness-manifest 1\nvideo v1.wmv lables=v1.csv\n", 2, "unknown key 'lables'", NULL);
    expect_error(f, "auharness-manifest 1\nstudy study name=x\n", 2, "exactly one folder", NULL);
    expect_error(f, "auharness-manifest 1\nvideo v1.wmv v1.csv\n", 2, "unexpected field 'v1.csv'", NULL);
    expect_error(f, "auharness-manifest 1\nvideo v1.wmv labels=v1.csv labels=v1.csv\n", 2, "given twice", NULL);
    expect_error(f, "auharness-manifest 1\nvideo v1.wmv labels=\n", 2, "empty value", NULL);
    expect_error(f, "auharness-manifest 1\nvideo \"v1.wmv\n", 2, "unterminated quote", NULL);
    expect_error(f, "auharness-manifest 1\nvideo \"v1\\n.wmv\"\n", 2, "unknown escape", NULL);
    expect_error(f, "auharness-manifest 1\nvideo v1.wmv name=a/b\n", 2, "name 'a/b'", NULL);
    expect_error(f, "auharness-manifest 1\nvideo v1.wmv\n\nvideo sub/../v1.wmv\n", 4,
                 "item name 'v1' is already used on line 2", NULL);
    expect_error(f, "auharness-manifest 1\nimages nolab\n", 2, "image 'x.jpg' has no label file", "nolab/x.pts");
    expect_error(f, "auharness-manifest 1\nimages sub\n", 2, "no images", NULL);
    expect_error(f, "auharness-manifest 1\nimages imgs labels=nolab\n", 2, "image '1.jpg' has no label file", NULL);
    expect_error(f, "auharness-manifest 1\nvideo a b c d e f g h i j k l m n o p q\n", 2, "more than 16 fields", NULL);
    char nul[] = "auharness-manifest 1\nvideo v1.wmv\x00x\n";
    AuhManifest m;
    AuError err = {0};
    assert_int_equal(auh_manifest_parse(&m, "m.manifest", nul, sizeof(nul) - 1, f->root, &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "m.manifest:2: NUL byte"));
    /* an over-long line */
    size_t n = AUH_MANIFEST_LINE_MAX + 64;
    char *lng = malloc(n + 32);
    assert_non_null(lng);
    strcpy(lng, "auharness-manifest 1\nvideo ");
    size_t k = strlen(lng);
    memset(lng + k, 'a', n - k);
    lng[n] = '\0';
    expect_error(f, lng, 2, "line longer than", NULL);
    free(lng);
    /* files and folders that do not exist */
    assert_int_equal(auh_manifest_load(&m, "/nonexistent/x.manifest", f->root, &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.manifest"));
    assert_int_equal(auh_manifest_parse(&m, "m", "auharness-manifest 1\n", 21, "/nonexistent-root", &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "data folder '/nonexistent-root'"));
}

/* Hostile paths: every way out of the data folder is refused. */
static void test_escapes(void **state)
{
    Fixture *f = *state;
    char text[4096], p[2048], q[2048];
    expect_error(f, "auharness-manifest 1\nvideo ../outside.wmv\n", 2, "leaves the data folder", "'../outside.wmv'");
    expect_error(f, "auharness-manifest 1\nvideo sub/../../outside.wmv\n", 2, "leaves the data folder", NULL);
    expect_error(f, "auharness-manifest 1\nvideo v1.wmv labels=../../../../etc/passwd\n", 2, "labels: path", "leaves");
    /* absolute paths outside: an existing file and a lexically escaping one */
    expect_error(f, "auharness-manifest 1\nvideo /etc/passwd\n", 2, "leaves the data folder", "/etc/passwd");
    snprintf(text, sizeof(text), "auharness-manifest 1\nvideo %s/data/../outside.wmv\n", f->top);
    expect_error(f, text, 2, "leaves the data folder", "resolves to");
    expect_error(f, "auharness-manifest 1\nimages /\n", 2, "leaves the data folder", NULL);
    /* symbolic links out of the root: a file, a folder, an image inside a set,
     * a label file, and a study video */
    snprintf(p, sizeof(p), "%s/outside.wmv", f->top);
    snprintf(q, sizeof(q), "%s/link.wmv", f->root);
    assert_int_equal(symlink(p, q), 0);
    expect_error(f, "auharness-manifest 1\nvideo link.wmv\n", 2, "leaves the data folder", "resolves to");
    snprintf(p, sizeof(p), "%s/outside_imgs", f->top);
    snprintf(q, sizeof(q), "%s/linkdir", f->root);
    assert_int_equal(symlink(p, q), 0);
    expect_error(f, "auharness-manifest 1\nimages linkdir\n", 2, "leaves the data folder", NULL);
    expect_error(f, "auharness-manifest 1\nvideo linkdir/o.jpg\n", 2, "leaves the data folder", NULL);
    make_dir(f->root, "evil");
    touch(f->root, "evil/ok.jpg");
    touch(f->root, "evil/ok.pts");
    touch(f->root, "evil/bad.pts");
    snprintf(p, sizeof(p), "%s/outside_imgs/o.jpg", f->top);
    snprintf(q, sizeof(q), "%s/evil/bad.jpg", f->root);
    assert_int_equal(symlink(p, q), 0);
    expect_error(f, "auharness-manifest 1\nimages evil\n", 2, "leaves the data folder", "bad.jpg");
    make_dir(f->root, "evil2");
    touch(f->root, "evil2/ok.jpg");
    snprintf(p, sizeof(p), "%s/outside_imgs/o.pts", f->top);
    snprintf(q, sizeof(q), "%s/evil2/ok.pts", f->root);
    assert_int_equal(symlink(p, q), 0);
    expect_error(f, "auharness-manifest 1\nimages evil2\n", 2, "leaves the data folder", "ok.pts");
    make_dir(f->root, "evilstudy");
    snprintf(p, sizeof(p), "%s/outside.wmv", f->top);
    snprintf(q, sizeof(q), "%s/evilstudy/x.wmv", f->root);
    assert_int_equal(symlink(p, q), 0);
    expect_error(f, "auharness-manifest 1\nstudy evilstudy\n", 2, "leaves the data folder", "x.wmv");
    /* a link that stays inside is fine, and the item is named after the link */
    snprintf(q, sizeof(q), "%s/inner.wmv", f->root);
    assert_int_equal(symlink("v1.wmv", q), 0);
    AuhManifest m;
    AuError err = {0};
    if (parse(f, "auharness-manifest 1\nvideo inner.wmv\n", &m, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(m.items[0].id, "inner");
    assert_string_equal(m.items[0].rel, "v1.wmv");
    auh_manifest_free(&m);
    /* the resolver on its own */
    char *out = NULL;
    char root_real[PATH_MAX];
    assert_non_null(realpath(f->root, root_real));
    assert_int_equal(auh_path_resolve(root_real, "", AUH_PATH_FILE, &out, &err), AU_ERR_FORMAT);
    assert_int_equal(auh_path_resolve(root_real, "..", AUH_PATH_DIR, &out, &err), AU_ERR_FORMAT);
    assert_null(out);
    assert_int_equal(auh_path_resolve(root_real, ".", AUH_PATH_DIR, &out, &err), AU_OK);
    assert_string_equal(out, root_real);
    free(out);
}

static AuStatus load_manifest(const char *path, void *ctx, AuError *err)
{
    AuhManifest m;
    AuStatus st = auh_manifest_load(&m, path, (const char *)ctx, err);
    if (!st)
        auh_manifest_free(&m);
    return st;
}

/* Random byte flips in the default manifest: rejected with a message or
 * accepted, never a crash or leak. */
static void test_corruptions(void **state)
{
    (void)state;
    char src[2048], dir[1024], dst[1200];
    source_path(src, sizeof(src), "datasets/default.manifest");
    autest_mkdtemp(dir, sizeof(dir));
    snprintf(dst, sizeof(dst), "%s/default.manifest", dir);
    autest_copy_file(src, dst);
    int rejected = autest_check_corruptions(dst, dst, load_manifest, (void *)autest_data_dir(), 24, 3, 7u);
    assert_true(rejected > 0);
    autest_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_manifest),
        cmocka_unit_test_setup_teardown(test_items_and_syntax, setup_fixture, teardown_fixture),
        cmocka_unit_test_setup_teardown(test_study, setup_fixture, teardown_fixture),
        cmocka_unit_test_setup_teardown(test_errors, setup_fixture, teardown_fixture),
        cmocka_unit_test_setup_teardown(test_escapes, setup_fixture, teardown_fixture),
        cmocka_unit_test(test_corruptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
