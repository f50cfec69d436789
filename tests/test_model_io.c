/* The shared model-file reader: OpenFace's text and binary conventions and its
 * error messages (file, line or offset, what was expected). */
#include "autest.h"

#include <string.h>

#include "model_io.h"

static void test_text_mat_and_comments(void **state)
{
    (void)state;
    const char *txt = "# comment line\n\n  # indented comment\n2\n3\n6\n1.5 2 3\n-4 5e-1 6\nword rest of line\r\nnext";
    AuReader r;
    AuError err = {0};
    assert_int_equal(au_reader_open_mem(&r, "mem.txt", txt, strlen(txt), &err), AU_OK);
    au_text_skip_comments(&r);
    AuMat m;
    assert_int_equal(au_text_mat(&r, &m, "test matrix"), AU_OK);
    assert_int_equal(m.rows, 2);
    assert_int_equal(m.cols, 3);
    assert_int_equal(m.type, AU_MAT_F64);
    assert_true(au_mat_at(&m, 1, 1) == 0.5);
    assert_true(au_mat_at(&m, 1, 0) == -4.0);
    au_mat_free(&m);
    char w[32], line[64];
    assert_int_equal(au_text_word(&r, w, sizeof(w), "word"), AU_OK);
    assert_string_equal(w, "word");
    assert_int_equal(au_text_line(&r, line, sizeof(line), "line"), AU_OK);
    assert_string_equal(line, " rest of line");
    assert_int_equal(au_text_word(&r, w, sizeof(w), "word"), AU_OK);
    assert_string_equal(w, "next");
    assert_true(au_text_at_end(&r));
    au_reader_close(&r);
}

static void test_text_errors_name_line(void **state)
{
    (void)state;
    const char *txt = "2\n2\n6\n1 2\n3 x\n";
    AuReader r;
    AuError err = {0};
    au_reader_open_mem(&r, "bad.txt", txt, strlen(txt), &err);
    AuMat m;
    assert_int_equal(au_text_mat(&r, &m, "weights"), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "bad.txt:5:"));
    assert_non_null(strstr(err.msg, "'x'"));
    au_reader_close(&r);

    const char *huge = "100000 100000 6\n1 2 3";
    au_reader_open_mem(&r, "huge.txt", huge, strlen(huge), &err);
    assert_int_equal(au_text_mat(&r, &m, "weights"), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "larger than the rest"));
    au_reader_close(&r);
}

static void test_bin_mat(void **state)
{
    (void)state;
    unsigned char buf[12 + 2 * 8];
    int32_t hdr[3] = {1, 2, AU_MAT_F64};
    double vals[2] = {3.25, -1.0};
    memcpy(buf, hdr, 12);
    memcpy(buf + 12, vals, 16);
    AuReader r;
    AuError err = {0};
    AuMat m;
    au_reader_open_mem(&r, "m.dat", buf, sizeof(buf), &err);
    assert_int_equal(au_bin_mat(&r, &m, "mat"), AU_OK);
    assert_true(au_mat_f64(&m)[0] == 3.25);
    assert_int_equal(au_bin_remaining(&r), 0);
    au_mat_free(&m);
    au_reader_close(&r);

    au_reader_open_mem(&r, "m.dat", buf, sizeof(buf) - 1, &err);
    assert_int_equal(au_bin_mat(&r, &m, "mat"), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "m.dat: byte offset 12: truncated"));
    au_reader_close(&r);

    hdr[2] = 17; /* CV_8SC3: not a type OpenFace stores */
    memcpy(buf, hdr, 12);
    au_reader_open_mem(&r, "m.dat", buf, sizeof(buf), &err);
    assert_int_equal(au_bin_mat(&r, &m, "mat"), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "type=17"));
    au_reader_close(&r);
}

static void test_missing_file(void **state)
{
    (void)state;
    AuReader r;
    AuError err = {0};
    assert_int_equal(au_reader_open(&r, "/nonexistent/dir/model.txt", &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/model.txt"));
}

static void test_paths(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(au_path_join(out, sizeof(out), "a/b", "c.txt", NULL), AU_OK);
    assert_string_equal(out, "a/b/c.txt");
    assert_int_equal(au_path_join(out, sizeof(out), "a/b/", "c.txt", NULL), AU_OK);
    assert_string_equal(out, "a/b/c.txt");
    assert_int_equal(au_path_join(out, sizeof(out), "a", "/abs.txt", NULL), AU_OK);
    assert_string_equal(out, "/abs.txt");
    assert_int_equal(au_path_join(out, 8, "abcdef", "ghijk", NULL), AU_ERR_ARG);
    au_path_dirname(out, sizeof(out), "model/pdms/x.txt");
    assert_string_equal(out, "model/pdms");
    au_path_dirname(out, sizeof(out), "x.txt");
    assert_string_equal(out, ".");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_mat_and_comments),
        cmocka_unit_test(test_text_errors_name_line),
        cmocka_unit_test(test_bin_mat),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
