/* OpenFace CSV reader/writer: byte-identical round trips of OpenFace's own
 * output (FeatureExtraction videos and FaceLandmarkImg's 300-W images), known
 * values, RecorderCSV's number formats from numbers, and bad input. */
#include "autest.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openface_csv.h"

/* Fails with the first differing line when two files are not byte-identical. */
static void assert_same_file(const char *expected_path, const char *actual_path)
{
    unsigned char *a, *b;
    size_t na, nb;
    if (autest_read_file(expected_path, &a, &na))
        fail_msg("cannot read %s", expected_path);
    if (autest_read_file(actual_path, &b, &nb))
        fail_msg("cannot read %s", actual_path);
    size_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    if (i != na || na != nb) {
        int line = 1;
        for (size_t k = 0; k < i; k++)
            line += a[k] == '\n';
        size_t s = i >= 20 ? i - 20 : 0;
        int ea = (int)((na - s) < 40 ? na - s : 40), eb = (int)((nb - s) < 40 ? nb - s : 40);
        fail_msg("%s differs from %s at byte %zu (line %d): expected '%.*s' got '%.*s'", actual_path, expected_path, i,
                 line, ea, (const char *)a + s, eb, (const char *)b + s);
    }
    free(a);
    free(b);
}

static void round_trip(const char *src, const char *tmp_dir, AuhOfCsv *csv_out)
{
    AuError err = {0};
    AuhOfCsv csv;
    if (auh_of_csv_read(&csv, src, &err) != AU_OK)
        fail_msg("%s", err.msg);
    char out[1024];
    const char *base = strrchr(src, '/');
    snprintf(out, sizeof(out), "%s/%s", tmp_dir, base ? base + 1 : src);
    if (auh_of_csv_write(&csv, out, &err) != AU_OK)
        fail_msg("%s", err.msg);
    assert_same_file(src, out);
    if (csv_out)
        *csv_out = csv;
    else
        auh_of_csv_free(&csv);
}

static void test_round_trip_videos(void **state)
{
    (void)state;
    char tmp[256], p[1024];
    autest_mkdtemp(tmp, sizeof(tmp));
    const char *files[] = {"openface/reference/default.csv", "openface/reference/changeLighting.csv"};
    const size_t rows[] = {288, 88}; /* README: frames = CSV rows */
    for (int f = 0; f < 2; f++) {
        autest_path(p, sizeof(p), files[f]);
        autest_require_file(p);
        AuhOfCsv csv;
        round_trip(p, tmp, &csv);
        assert_int_equal(csv.n_cols, 714);
        assert_int_equal(csv.n_rows, rows[f]);
        assert_true(csv.layout.is_sequence && csv.layout.has_gaze && csv.layout.has_pose);
        assert_true(csv.layout.has_landmarks_2d && csv.layout.has_landmarks_3d && csv.layout.has_pdm_params);
        assert_int_equal(csv.layout.n_eye_landmarks, 56);
        assert_int_equal(csv.layout.n_landmarks, 68);
        assert_int_equal(csv.layout.n_pdm_modes, 34);
        assert_int_equal(csv.layout.n_au_reg, 17);
        assert_int_equal(csv.layout.n_au_class, 18);
        assert_true(csv.layout.au_postprocessed); /* "0.00"/"1.00" presences */
        for (size_t r = 0; r < csv.n_rows; r++) {
            assert_int_equal(auh_of_csv_frame(&csv, r), (int)r + 1);
            assert_int_equal(csv.row_flags[r], 0);
        }
        auh_of_csv_free(&csv);
    }
    autest_rmtree(tmp);
}

static void test_round_trip_300w_images(void **state)
{
    (void)state;
    char tmp[256], dir[1024], p[1300];
    autest_mkdtemp(tmp, sizeof(tmp));
    autest_path(dir, sizeof(dir), "openface/reference/300w_lfpw_test_crops");
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s (run scripts/setup.sh)", dir);
    int n_files = 0;
    size_t n_rows = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".csv"))
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        AuhOfCsv csv;
        round_trip(p, tmp, &csv);
        /* FaceLandmarkImg -2Dfp: "face,confidence,x_0..x_67,y_0..y_67" */
        assert_int_equal(csv.n_cols, 2 + 136);
        assert_false(csv.layout.is_sequence);
        assert_false(csv.layout.has_gaze || csv.layout.has_pose || csv.layout.has_landmarks_3d);
        assert_false(csv.layout.has_pdm_params || csv.layout.n_au_reg || csv.layout.n_au_class);
        assert_int_equal(csv.layout.n_landmarks, 68);
        assert_int_equal(csv.col_frame, -1);
        assert_int_equal(auh_of_csv_frame(&csv, 0), -1);
        assert_true(isnan(auh_of_csv_timestamp(&csv, 0)));
        assert_true(csv.n_rows >= 1);
        n_rows += csv.n_rows;
        n_files++;
        auh_of_csv_free(&csv);
    }
    closedir(d);
    autest_rmtree(tmp);
    assert_int_equal(n_files, 224); /* README: 224 images, all detected */
    /* wc -l of the 224 files is 457: 224 headers + 233 faces (9 images with 2) */
    assert_int_equal(n_rows, 233);
}

/* Values read with python's csv module from the reference files. */
static void test_known_values(void **state)
{
    (void)state;
    char p[1024];
    AuError err = {0};
    AuhOfCsv csv;
    autest_path(p, sizeof(p), "openface/reference/default.csv");
    assert_int_equal(auh_of_csv_read(&csv, p, &err), AU_OK);
    assert_string_equal(csv.names[0], "frame");
    assert_string_equal(csv.names[299], "x_0");
    assert_string_equal(csv.names[713], "AU45_c");
    assert_int_equal(auh_of_csv_column(&csv, "AU28_c"), 712);
    assert_int_equal(auh_of_csv_column(&csv, "AU28_r"), -1);
    assert_int_equal(csv.col_x0, 299);
    assert_int_equal(csv.col_y0, 367);
    assert_int_equal(csv.groups[csv.col_au_class0], AUH_OF_COL_AU_CLASS);
    /* row 1 (frame 1): 1,0,0.000,0.98,1,0.253361,...; x_0 147.5, y_0 219.1 */
    assert_int_equal(auh_of_csv_frame(&csv, 0), 1);
    assert_int_equal(auh_of_csv_face_id(&csv, 0), 0);
    assert_true(auh_of_csv_timestamp(&csv, 0) == 0.0);
    assert_true(auh_of_csv_confidence(&csv, 0) == 0.98);
    assert_int_equal(auh_of_csv_success(&csv, 0), 1);
    assert_true(auh_of_csv_get(&csv, 0, csv.col_gaze) == 0.253361);
    assert_true(auh_of_csv_landmark_x(&csv, 0, 0) == 147.5);
    assert_true(auh_of_csv_landmark_y(&csv, 0, 0) == 219.1);
    assert_true(isnan(auh_of_csv_landmark_x(&csv, 0, 68)));
    assert_true(auh_of_csv_get(&csv, 0, auh_of_csv_column(&csv, "p_scale")) == 1.303);
    assert_true(auh_of_csv_timestamp(&csv, 1) == 0.067);
    assert_true(auh_of_csv_timestamp(&csv, 287) == 19.133);
    /* frame 38: AU12_r 0.34 and AU12_c 1.00; frame 288: AU45_r 0.35 */
    assert_true(auh_of_csv_au(&csv, 37, "AU12_r") == 0.34);
    assert_true(auh_of_csv_au(&csv, 37, "AU12_c") == 1.0);
    assert_true(auh_of_csv_au(&csv, 287, "AU45_r") == 0.35);
    assert_true(isnan(auh_of_csv_au(&csv, 0, "x_0"))); /* not an AU column */
    /* frame 13: X_26 is "-0.0", read as negative zero */
    double x26 = auh_of_csv_get(&csv, 12, auh_of_csv_column(&csv, "X_26"));
    assert_true(x26 == 0.0 && signbit(x26));
    auh_of_csv_free(&csv);

    /* FaceLandmarkImg: two faces, "0,0.717,58.8,..." and "1,0.850,137.6,..." */
    autest_path(p, sizeof(p), "openface/reference/300w_lfpw_test_crops/lfpw_test_image_0044.csv");
    assert_int_equal(auh_of_csv_read(&csv, p, &err), AU_OK);
    assert_int_equal(csv.n_rows, 2);
    assert_string_equal(csv.names[0], "face");
    assert_int_equal(auh_of_csv_face_id(&csv, 1), 1);
    assert_true(auh_of_csv_confidence(&csv, 0) == 0.717);
    assert_true(auh_of_csv_confidence(&csv, 1) == 0.85);
    assert_true(auh_of_csv_landmark_x(&csv, 0, 0) == 58.8);
    assert_true(auh_of_csv_landmark_x(&csv, 1, 0) == 137.6);
    auh_of_csv_free(&csv);
}

/* The header generated from the layout alone equals the reference's. */
static void test_header_from_layout(void **state)
{
    (void)state;
    char tmp[256], out[512], ref[1024];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(out, sizeof(out), "%s/header.csv", tmp);
    AuhOfCsvLayout l;
    auh_of_layout_openface_video(&l);
    AuhOfCsvWriter w;
    AuError err = {0};
    assert_int_equal(auh_of_writer_open(&w, out, &l, &err), AU_OK);
    assert_int_equal(w.n_cols, 714);
    assert_int_equal(auh_of_writer_close(&w, &err), AU_OK);
    assert_int_equal(auh_of_writer_close(&w, &err), AU_OK); /* second close is harmless */

    unsigned char *a, *b;
    size_t na, nb;
    autest_path(ref, sizeof(ref), "openface/reference/default.csv");
    assert_int_equal(autest_read_file(ref, &a, &na), 0);
    assert_int_equal(autest_read_file(out, &b, &nb), 0);
    const unsigned char *nl = memchr(a, '\n', na);
    assert_non_null(nl);
    assert_int_equal(nb, (size_t)(nl - a) + 1);
    assert_memory_equal(a, b, nb);
    free(a);
    free(b);

    /* AU names are sorted as RecorderCSV's std::sort does */
    AuhOfCsvLayout s;
    memset(&s, 0, sizeof(s));
    s.is_sequence = 1;
    assert_int_equal(auh_of_layout_add_au(&s, "AU45", 0, &err), AU_OK);
    assert_int_equal(auh_of_layout_add_au(&s, "AU01", 0, &err), AU_OK);
    assert_int_equal(auh_of_layout_add_au(&s, "AU12", 0, &err), AU_OK);
    assert_int_equal(auh_of_layout_add_au(&s, "bad,name", 1, &err), AU_ERR_ARG);
    auh_of_layout_sort_aus(&s);
    assert_string_equal(s.au_reg[0], "AU01");
    assert_string_equal(s.au_reg[2], "AU45");
    autest_rmtree(tmp);
}

static char *read_text(const char *path)
{
    unsigned char *d;
    size_t n;
    if (autest_read_file(path, &d, &n))
        fail_msg("cannot read %s", path);
    char *s = malloc(n + 1);
    memcpy(s, d, n);
    s[n] = '\0';
    free(d);
    return s;
}

/* RecorderCSV's formats produced from numbers (expected text worked out from
 * its setprecision calls and checked with printf). */
static void test_writer_formats(void **state)
{
    (void)state;
    char tmp[256], out[512];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(out, sizeof(out), "%s/w.csv", tmp);
    AuhOfCsvLayout l;
    memset(&l, 0, sizeof(l));
    l.is_sequence = 1;
    l.has_gaze = 1;
    l.n_eye_landmarks = 1;
    l.has_pose = 1;
    l.has_landmarks_2d = 1;
    l.has_landmarks_3d = 1;
    l.n_landmarks = 2;
    l.has_pdm_params = 1;
    l.n_pdm_modes = 1;
    AuError err = {0};
    assert_int_equal(auh_of_layout_add_au(&l, "AU12", 0, &err), AU_OK);
    assert_int_equal(auh_of_layout_add_au(&l, "AU12", 1, &err), AU_OK);

    const float eye2d[2] = {10.25f, -0.04f};
    const float eye3d[3] = {1.0f, 2.0f, 3.0f};
    const float lmk2d[4] = {0.45f, 130.25f, -0.0f, 99.96f};
    const float lmk3d[6] = {1, 2, 3, 4, 5, 6};
    const float local[1] = {-0.0004f};
    const double au_r[1] = {0.125}, au_c[1] = {1.0};
    AuhOfFrame fr = {
        .frame = 7,
        .face_id = 0,
        .timestamp = 0.4,
        .success = 1,
        .confidence = 0.975, /* the double just below 0.975: "0.97" */
        .gaze_dir0 = {0.1f, -1e-7f, -1.0f},
        .gaze_dir1 = {0, 0, -1},
        .gaze_angle = {-0.0004f, 0.5f},
        .eye_lmk_2d = eye2d,
        .eye_lmk_3d = eye3d,
        .pose = {-0.04f, 1.0f, 377.46f, -0.0001f, 0.0f, 3.14159f},
        .landmarks_2d = lmk2d,
        .landmarks_3d = lmk3d,
        .params_rigid = {1.3025f, 0, 0, 0, 100, 200},
        .params_local = local,
        .au_reg = au_r,
        .au_class = au_c,
    };
    AuhOfCsvWriter w;
    assert_int_equal(auh_of_writer_open(&w, out, &l, &err), AU_OK);
    assert_int_equal(auh_of_writer_write_frame(&w, &fr, &err), AU_OK);
    fr.frame = 8;
    fr.success = 0;
    fr.au_reg = NULL; /* a frame without AU values: bare 0 */
    fr.au_class = NULL;
    assert_int_equal(auh_of_writer_write_frame(&w, &fr, &err), AU_OK);
    fr.landmarks_2d = NULL;
    assert_int_equal(auh_of_writer_write_frame(&w, &fr, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "2D landmarks"));
    assert_int_equal(auh_of_writer_close(&w, &err), AU_OK);

    const char *expected =
        "frame,face_id,timestamp,confidence,success,gaze_0_x,gaze_0_y,gaze_0_z,gaze_1_x,gaze_1_y,gaze_1_z,"
        "gaze_angle_x,gaze_angle_y,eye_lmk_x_0,eye_lmk_y_0,eye_lmk_X_0,eye_lmk_Y_0,eye_lmk_Z_0,"
        "pose_Tx,pose_Ty,pose_Tz,pose_Rx,pose_Ry,pose_Rz,x_0,x_1,y_0,y_1,X_0,X_1,Y_0,Y_1,Z_0,Z_1,"
        "p_scale,p_rx,p_ry,p_rz,p_tx,p_ty,p_0,AU12_r,AU12_c\n"
        /* 0.45f is 0.449999988: "0.4" (the double 0.45 would give "0.5"); 130.25
         * is a tie, rounded to even; -0.0f, -1e-7f, -0.0004f keep their sign */
        "7,0,0.400,0.97,1,0.100000,-0.000000,-1.000000,0.000000,0.000000,-1.000000,"
        "-0.000,0.500,10.2,-0.0,1.0,2.0,3.0,"
        "-0.0,1.0,377.5,-0.000,0.000,3.142,0.4,130.2,-0.0,100.0,1.0,2.0,3.0,4.0,5.0,6.0,"
        "1.303,0.000,0.000,0.000,100.000,200.000,-0.000,0.12,1.0\n"
        "8,0,0.400,0.97,0,0.100000,-0.000000,-1.000000,0.000000,0.000000,-1.000000,"
        "-0.000,0.500,10.2,-0.0,1.0,2.0,3.0,"
        "-0.0,1.0,377.5,-0.000,0.000,3.142,0.4,130.2,-0.0,100.0,1.0,2.0,3.0,4.0,5.0,6.0,"
        "1.303,0.000,0.000,0.000,100.000,200.000,-0.000,0,0\n";
    char *got = read_text(out);
    assert_string_equal(got, expected);
    free(got);

    /* read back: bare-0 rows keep their flag, and the text round-trips */
    AuhOfCsv csv;
    assert_int_equal(auh_of_csv_read(&csv, out, &err), AU_OK);
    assert_int_equal(csv.n_rows, 2);
    assert_int_equal(csv.row_flags[0], 0);
    assert_int_equal(csv.row_flags[1], AUH_OF_ROW_NO_AU_REG | AUH_OF_ROW_NO_AU_CLASS);
    assert_false(csv.layout.au_postprocessed); /* "1.0": online precision */
    char out2[512];
    snprintf(out2, sizeof(out2), "%s/w2.csv", tmp);
    assert_int_equal(auh_of_csv_write(&csv, out2, &err), AU_OK);
    assert_same_file(out, out2);

    /* the same numbers as doubles: 0.45 rounds up; post-processed AUs: 2 decimals */
    double *row = malloc((size_t)csv.n_cols * sizeof(double));
    memcpy(row, auh_of_csv_row(&csv, 0), (size_t)csv.n_cols * sizeof(double));
    row[csv.col_x0] = 0.45;
    row[csv.col_au_reg0] = 0.345; /* 0.34499999999999997335 */
    csv.layout.au_postprocessed = 1;
    AuhOfCsv small;
    assert_int_equal(auh_of_csv_init(&small, &csv.layout, &err), AU_OK);
    assert_int_equal(auh_of_csv_append_row(&small, row, 0, &err), AU_OK);
    assert_int_equal(auh_of_csv_write(&small, out2, &err), AU_OK);
    got = read_text(out2);
    assert_non_null(strstr(got, ",3.142,0.5,130.2,"));
    assert_non_null(strstr(got, ",-0.000,0.34,1.00\n"));
    free(got);
    free(row);
    auh_of_csv_free(&small);
    auh_of_csv_free(&csv);

    /* FaceLandmarkImg: "face,confidence" with the confidence at 3 decimals */
    AuhOfCsvLayout img;
    memset(&img, 0, sizeof(img));
    img.has_landmarks_2d = 1;
    img.n_landmarks = 1;
    const float one[2] = {58.75f, 12.0f};
    AuhOfFrame f2 = {.face_id = 1, .confidence = 0.85, .landmarks_2d = one};
    assert_int_equal(auh_of_writer_open(&w, out, &img, &err), AU_OK);
    assert_int_equal(auh_of_writer_write_frame(&w, &f2, &err), AU_OK);
    assert_int_equal(auh_of_writer_close(&w, &err), AU_OK);
    got = read_text(out);
    assert_string_equal(got, "face,confidence,x_0,y_0\n1,0.850,58.8,12.0\n");
    free(got);

    /* nan and -nan as glibc prints them survive a round trip */
    const char *nan_text = "face,confidence,x_0,y_0\n0,nan,-nan,1.5\n";
    assert_int_equal(auh_of_csv_parse(&csv, "nan.csv", nan_text, strlen(nan_text), &err), AU_OK);
    assert_true(isnan(auh_of_csv_confidence(&csv, 0)));
    assert_int_equal(auh_of_csv_write(&csv, out, &err), AU_OK);
    got = read_text(out);
    assert_string_equal(got, nan_text);
    free(got);
    auh_of_csv_free(&csv);
    autest_rmtree(tmp);
}

static void expect_parse_error(const char *text, const char *needle1, const char *needle2)
{
    AuhOfCsv csv;
    AuError err = {0};
    AuStatus st = auh_of_csv_parse(&csv, "bad.csv", text, strlen(text), &err);
    if (st == AU_OK) {
        auh_of_csv_free(&csv);
        fail_msg("accepted: %s", text);
    }
    assert_int_equal(st, AU_ERR_FORMAT);
    if (!strstr(err.msg, needle1) || (needle2 && !strstr(err.msg, needle2)))
        fail_msg("message '%s' lacks '%s' / '%s'", err.msg, needle1, needle2 ? needle2 : "");
    assert_null(csv.values); /* freed on error */
}

static void test_bad_small_inputs(void **state)
{
    (void)state;
    expect_parse_error("", "bad.csv:1:", "empty");
    expect_parse_error("face,confidence", "bad.csv:1:", "no end of line");
    expect_parse_error("time,confidence\n", "bad.csv:1: column 1:", "'time'");
    expect_parse_error("face,confidence,x_1,y_0\n", "bad.csv:1: column 3:", "'x_1'");
    expect_parse_error("face,confidence,x_0,y_1\n", "bad.csv:1: column 4: expected 'y_0', found 'y_1'", NULL);
    expect_parse_error("face,confidence,x_0,y_0,extra\n", "bad.csv:1: column 5:", "'extra'");
    expect_parse_error("face,confidence,x_0,x_1,y_0\n", "bad.csv:1:", "5 columns");
    expect_parse_error("face,confidence,,x_0\n", "bad.csv:1: column 3:", "empty");
    expect_parse_error("face,confidence,x_0,y_0\n0,0.9,1.0,2.0\n0,0.9,1.0\n", "bad.csv:3:", "expected 4 fields, found 3");
    expect_parse_error("face,confidence,x_0,y_0\n0,0.9,1.0,2.0,3.0\n", "bad.csv:2:", "found 5");
    expect_parse_error("face,confidence,x_0,y_0\n0,0.9,1.0,2.0\n\n", "bad.csv:3:", "found 1");
    expect_parse_error("face,confidence,x_0,y_0\n0,0.9,1.0,2.0", "bad.csv:2:", "no end of line");
    expect_parse_error("face,confidence,x_0,y_0\n0,0.9,abc,2.0\n", "bad.csv:2: column 3 (x_0): 'abc'", NULL);
    expect_parse_error("face,confidence,x_0,y_0\n0,0.9,,2.0\n", "bad.csv:2: column 3 (x_0): ''", NULL);
    expect_parse_error("face,confidence,x_0,y_0\n0,0.9,0x10,2.0\n", "column 3 (x_0): '0x10'", NULL);
    expect_parse_error("face,confidence,x_0,y_0\n0,0.9,1.5.2,2.0\n", "column 3 (x_0): '1.5.2'", NULL);
    expect_parse_error("face,confidence,x_0,y_0\n0,0.9,1.0,-\n", "column 4 (y_0): '-'", NULL);
    /* a hand-written file with CRLF and spaces after commas is accepted */
    const char *crlf = "face, confidence, x_0, y_0\r\n0, 0.9, 1.0, 2.0\r\n";
    AuhOfCsv csv;
    AuError err = {0};
    assert_int_equal(auh_of_csv_parse(&csv, "ok.csv", crlf, strlen(crlf), &err), AU_OK);
    assert_true(auh_of_csv_landmark_y(&csv, 0, 0) == 2.0);
    auh_of_csv_free(&csv);
}

/* A whole reference file with one field, one row or one byte broken. */
static void test_bad_reference_edits(void **state)
{
    (void)state;
    char src[1024], tmp[256], bad[512];
    autest_path(src, sizeof(src), "openface/reference/changeLighting.csv");
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(bad, sizeof(bad), "%s/broken.csv", tmp);
    char *text = read_text(src);
    size_t n = strlen(text);
    AuhOfCsv csv;
    AuError err = {0};

    /* non-numeric field: line 4, column 10 (gaze_1_y) */
    char *edit = malloc(n + 16);
    const char *p = text;
    for (int l = 1; l < 4; l++)
        p = strchr(p, '\n') + 1;
    for (int c = 1; c < 10; c++)
        p = strchr(p, ',') + 1;
    size_t at = (size_t)(p - text), flen = strcspn(p, ",");
    memcpy(edit, text, at);
    memcpy(edit + at, "x1", 2);
    memcpy(edit + at + 2, p + flen, n - at - flen + 1);
    autest_write_file(bad, edit, strlen(edit));
    assert_int_equal(auh_of_csv_read(&csv, bad, &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "broken.csv:4: column 10 (gaze_1_y): 'x1' is not a number"));

    /* truncated row: line 5 loses its last field */
    p = text;
    for (int l = 1; l < 6; l++)
        p = strchr(p, '\n') + 1;
    const char *row_end = p - 1, *last_comma = row_end;
    while (*last_comma != ',')
        last_comma--;
    at = (size_t)(last_comma - text);
    memcpy(edit, text, at);
    memcpy(edit + at, row_end, n - (size_t)(row_end - text) + 1);
    autest_write_file(bad, edit, strlen(edit));
    assert_int_equal(auh_of_csv_read(&csv, bad, &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "broken.csv:5: expected 714 fields, found 713"));

    /* one field too many on the last line */
    memcpy(edit, text, n - 1);
    memcpy(edit + n - 1, ",0.00\n", 7);
    autest_write_file(bad, edit, strlen(edit));
    assert_int_equal(auh_of_csv_read(&csv, bad, &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "broken.csv:89: expected 714 fields, found 715"));
    free(edit);

    free(text);
    autest_rmtree(tmp);
}

static AuStatus load_csv(const char *path, void *ctx, AuError *err)
{
    (void)ctx;
    AuhOfCsv csv;
    AuStatus st = auh_of_csv_read(&csv, path, err);
    auh_of_csv_free(&csv);
    return st;
}

static void test_truncations_and_corruptions(void **state)
{
    (void)state;
    char src[1024], tmp[256], t[512];
    autest_mkdtemp(tmp, sizeof(tmp));
    autest_path(src, sizeof(src), "openface/reference/changeLighting.csv");
    snprintf(t, sizeof(t), "%s/changeLighting.csv", tmp);
    autest_copy_file(src, t);
    /* Cut anywhere, the file is rejected naming it: a cut inside a row leaves
     * too few fields or no final newline, so even a cut inside the last number
     * is caught, and the binary mode (up to the last byte) applies. A cut
     * exactly after a row's newline is a valid shorter file; these offsets do
     * not fall there. */
    autest_check_truncations(t, t, load_csv, NULL, 13, 0);
    autest_check_corruptions(t, t, load_csv, NULL, 20, 3, 12345u);

    autest_path(src, sizeof(src), "openface/reference/300w_lfpw_test_crops/lfpw_test_image_0044.csv");
    snprintf(t, sizeof(t), "%s/lfpw_test_image_0044.csv", tmp);
    autest_copy_file(src, t);
    autest_check_truncations(t, t, load_csv, NULL, 11, 0);
    int rejected = autest_check_corruptions(t, t, load_csv, NULL, 60, 2, 777u);
    assert_true(rejected > 0);
    autest_rmtree(tmp);
}

static void test_missing_file(void **state)
{
    (void)state;
    AuhOfCsv csv;
    AuError err = {0};
    assert_int_equal(auh_of_csv_read(&csv, "/nonexistent/dir/run.csv", &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/run.csv"));
    auh_of_csv_free(&csv);

    AuhOfCsvLayout l;
    auh_of_layout_openface_video(&l);
    AuhOfCsvWriter w;
    assert_int_equal(auh_of_writer_open(&w, "/nonexistent/dir/out.csv", &l, &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/out.csv"));
    assert_int_equal(auh_of_writer_close(&w, &err), AU_OK);
    double v[714] = {0};
    assert_int_equal(auh_of_writer_write_values(&w, v, 0, &err), AU_ERR_ARG);

    l.n_landmarks = -1;
    assert_int_equal(auh_of_writer_open(&w, "/tmp/never.csv", &l, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "/tmp/never.csv"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_videos),
        cmocka_unit_test(test_round_trip_300w_images),
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_header_from_layout),
        cmocka_unit_test(test_writer_formats),
        cmocka_unit_test(test_bad_small_inputs),
        cmocka_unit_test(test_bad_reference_edits),
        cmocka_unit_test(test_truncations_and_corruptions),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
