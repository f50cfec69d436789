#define _XOPEN_SOURCE 700 /* realpath */
/* Paths built from untrusted names: dataset item ids (they name results and
 * may become file or folder names) and extract's output file names (from the
 * input's stem). Nothing may climb out of its folder ("..", "/"), become a
 * hidden name, or be silently written elsewhere; long names are either kept
 * whole or refused. */
#include "autest.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "au_model.h"
#include "clnf_model.h"
#include "manifest.h"
#include "pdm.h"
#include "videogen.h"

static void touch(const char *dir, const char *name)
{
    char p[PATH_MAX + 512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    autest_write_file(p, "x", 1);
}

static void parse_ok(const char *root, const char *text, AuhManifest *m)
{
    AuError err = {0};
    if (auh_manifest_parse(m, "t.manifest", text, strlen(text), root, &err) != AU_OK)
        fail_msg("refused: %s\n%s", err.msg, text);
}

static void parse_refused(const char *root, const char *text, const char *must_contain)
{
    AuhManifest m;
    AuError err = {0};
    if (auh_manifest_parse(&m, "t.manifest", text, strlen(text), root, &err) == AU_OK)
        fail_msg("accepted:\n%s", text);
    if (!strstr(err.msg, "t.manifest:2:") || !strstr(err.msg, must_contain))
        fail_msg("message for\n%s\nlacks 't.manifest:2:' or '%s': %s", text, must_contain, err.msg);
}

static void test_manifest_item_ids(void **state)
{
    (void)state;
    char tmp[512], root[PATH_MAX], study[PATH_MAX + 16], text[4096];
    autest_mkdtemp(tmp, sizeof(tmp));
    assert_non_null(realpath(tmp, root));
    touch(root, "v.wmv");
    touch(root, "...avi");
    char long_name[300];
    memset(long_name, 'a', 240);
    strcpy(long_name + 240, ".avi");
    touch(root, long_name);
    snprintf(study, sizeof(study), "%s/study", root);
    assert_int_equal(mkdir(study, 0755), 0);
    touch(study, "..avi");
    touch(study, "...mp4");
    touch(study, ".hidden.avi");
    touch(study, "p 01.avi");

    /* explicit names that would be path components climbing or hiding */
    parse_refused(root, "auharness-manifest 1\nvideo v.wmv name=..\n", "name '..'");
    parse_refused(root, "auharness-manifest 1\nvideo v.wmv name=.\n", "name '.'");
    parse_refused(root, "auharness-manifest 1\nvideo v.wmv name=.hidden\n", "name '.hidden'");
    parse_refused(root, "auharness-manifest 1\nvideo v.wmv name=a/b\n", "name 'a/b'");
    parse_refused(root, "auharness-manifest 1\nvideo v.wmv name=../x\n", "name '../x'");
    char long_id[200];
    memset(long_id, 'b', 150);
    long_id[150] = '\0';
    snprintf(text, sizeof(text), "auharness-manifest 1\nvideo v.wmv name=%s\n", long_id);
    parse_refused(root, text, "1-127 characters");

    /* derived names: "...avi" has the stem ".."; a 240-character stem is cut to 127 */
    AuhManifest m;
    snprintf(text, sizeof(text), "auharness-manifest 1\nvideo ...avi\nvideo %s\nvideo v.wmv name=a..b\n", long_name);
    parse_ok(root, text, &m);
    assert_int_equal(m.n_items, 3);
    assert_string_equal(m.items[0].id, "_.");
    assert_int_equal(strlen(m.items[1].id), AUH_ITEM_ID_MAX - 1);
    assert_int_equal(strspn(m.items[1].id, "a"), AUH_ITEM_ID_MAX - 1);
    assert_string_equal(m.items[2].id, "a..b"); /* dots inside a name are harmless */
    auh_manifest_free(&m);

    /* a study folder skips hidden files, so stems ".", ".." and ".hidden" never become ids */
    parse_ok(root, "auharness-manifest 1\nstudy study\n", &m);
    assert_int_equal(m.n_items, 1);
    assert_string_equal(m.items[0].id, "p_01");
    auh_manifest_free(&m);
    autest_rmtree(tmp);
}

/* Names in dir, sorted, joined by '|'. */
static void list_dir(const char *dir, char *out, size_t n)
{
    struct dirent **names;
    int k = scandir(dir, &names, NULL, alphasort);
    assert_true(k >= 0);
    out[0] = '\0';
    for (int i = 0; i < k; i++) {
        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
            strncat(out, names[i]->d_name, n - strlen(out) - 1);
            strncat(out, "|", n - strlen(out) - 1);
        }
        free(names[i]);
    }
    free(names);
}

static int count_lines(const char *path)
{
    unsigned char *data;
    size_t size;
    if (autest_read_file(path, &data, &size) != 0)
        fail_msg("%s was not written", path);
    int n = 0;
    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    free(data);
    return n;
}

/* extract names each CSV after its input's stem, inside -out_dir: a path with
 * "..", blanks, a leading '-' and a 240-character name. */
static void test_extract_output_names(void **state)
{
    (void)state;
    char tmp[512], in[1024], sub[1100], out[1024], eb[512];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(in, sizeof(in), "%s/in", tmp);
    snprintf(sub, sizeof(sub), "%s/sub", in);
    snprintf(out, sizeof(out), "%s/out", tmp);
    assert_int_equal(mkdir(in, 0755), 0);
    assert_int_equal(mkdir(sub, 0755), 0);

    char long_stem[241];
    memset(long_stem, 'v', 240);
    long_stem[240] = '\0';
    char a[1200], b[1200], c[1400], a_given[1300];
    snprintf(a, sizeof(a), "%s/clip one.avi", in);
    snprintf(a_given, sizeof(a_given), "%s/sub/../clip one.avi", in); /* as given on the command line */
    snprintf(b, sizeof(b), "%s/-dash.avi", in);
    snprintf(c, sizeof(c), "%s/%s.avi", in, long_stem);
    const char *videos[] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (autest_make_synthetic_video(videos[i], 64, 48, 3, 25, eb, sizeof(eb)) != 0)
            fail_msg("%s", eb);

    char cmd[8192];
    snprintf(cmd, sizeof(cmd),
             "'%s' extract -f '%s' -f '%s' -f '%s' -out_dir '%s' --models '%s/openface/models' > '%s/log.txt' 2>&1",
             AUHARNESS_BIN, a_given, b, c, out, autest_data_dir(), tmp);
    int rc = system(cmd);
    if (rc != 0) {
        char log[1100];
        snprintf(log, sizeof(log), "%s/log.txt", tmp);
        unsigned char *text;
        size_t size;
        if (autest_read_file(log, &text, &size) == 0) {
            print_error("%s\n", (const char *)text);
            free(text);
        }
        fail_msg("extract failed (status %d)", rc);
    }
    /* nothing beside in/, out/ and the log; out/ holds exactly the three CSVs */
    char names[8192], expect[8192];
    list_dir(tmp, names, sizeof(names));
    assert_string_equal(names, "in|log.txt|out|");
    list_dir(out, names, sizeof(names));
    snprintf(expect, sizeof(expect), "-dash.csv|clip one.csv|%s.csv|", long_stem);
    assert_string_equal(names, expect);
    char csv[1400];
    snprintf(csv, sizeof(csv), "%s/%s.csv", out, long_stem);
    assert_int_equal(count_lines(csv), 4); /* header + 3 frames */
    snprintf(csv, sizeof(csv), "%s/clip one.csv", out);
    assert_int_equal(count_lines(csv), 4);
    autest_rmtree(tmp);
}

/* Model lists name files by path: a name that is a device, a FIFO or a folder
 * is refused at once, naming it (reading /dev/zero whole would fill the
 * memory, a FIFO would block for ever). */
static void test_model_paths_not_files(void **state)
{
    (void)state;
    char tmp[512], fifo[1024], list[1024], text[2048];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(fifo, sizeof(fifo), "%s/fifo", tmp);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *targets[] = {"/dev/zero", fifo, tmp};
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        AuPdm pdm;
        AuError err = {0};
        assert_int_equal(au_pdm_load(&pdm, targets[i], &err), AU_ERR_IO);
        assert_non_null(strstr(err.msg, targets[i]));
        assert_non_null(strstr(err.msg, "not a regular file"));

        /* named from a list file */
        snprintf(list, sizeof(list), "%s/main_clnf.txt", tmp);
        snprintf(text, sizeof(text), "LandmarkDetector %s\n", targets[i]);
        autest_write_file(list, text, strlen(text));
        AuClnfModel clnf;
        AuError err2 = {0};
        assert_int_not_equal(au_clnf_model_load(&clnf, list, &err2), AU_OK);
        assert_non_null(strstr(err2.msg, "main_clnf.txt:1"));
        assert_non_null(strstr(err2.msg, "not a regular file"));

        snprintf(list, sizeof(list), "%s/main_svms.txt", tmp);
        snprintf(text, sizeof(text), "AUPredictor %s\n", targets[i]);
        autest_write_file(list, text, strlen(text));
        AuAuModels au;
        AuError err3 = {0};
        assert_int_not_equal(au_au_models_load(&au, list, &err3), AU_OK);
        assert_non_null(strstr(err3.msg, "not a regular file"));
    }
    autest_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_paths_not_files),
        cmocka_unit_test(test_manifest_item_ids),
        cmocka_unit_test(test_extract_output_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
