/* The whole CLNF model set (main_clnf_general.txt and everything it names),
 * the triangulation loaders, the fitting parameters against what OpenFace
 * used (its dumped per-scale reg/sigma/window), and malformed list files.
 * Expected values come from reading the text files (head/tail/sed) and the
 * binary files with a Python struct one-off. */
#include "autest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clnf_model.h"

#define MODEL_DIR "openface/models/model"
#define INTERMEDIATES "openface/reference/intermediates/changeLighting/"

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void load_ok(AuClnfModel *m, const char *path)
{
    AuError err = {0};
    if (au_clnf_model_load(m, path, &err))
        fail_msg("%s", err.msg);
}

static const int *tri_row(const AuTris *t, int view, int row)
{
    return au_mat_s32(&t->tris[view]) + 3 * row;
}

static void check_map(const AuClnfPart *p, int k, int main_index, int part_index)
{
    assert_true(k < p->n_map);
    assert_int_equal(p->map[k].main_index, main_index);
    assert_int_equal(p->map[k].part_index, part_index);
}

static void test_general_model(void **state)
{
    (void)state;
    char path[1024];
    autest_path(path, sizeof(path), MODEL_DIR "/main_clnf_general.txt");
    autest_require_file(path);
    AuClnfModel m;
    double t0 = now_s();
    load_ok(&m, path);
    print_message("whole CLNF model set loaded in %.1f ms\n", (now_s() - t0) * 1e3);

    assert_string_equal(m.main_path, path);
    assert_true(ends_with(m.clnf_path, "/model/clnf_general.txt"));
    assert_int_equal(m.pdm.n_points, 68);
    assert_int_equal(m.pdm.n_modes, 34);
    assert_true(au_mat_f32(&m.pdm.mean_shape)[0] == (float)-73.393523);

    /* tris_68.txt: 7 triangulations */
    static const int n_tris[7] = {97, 97, 82, 31, 97, 82, 31};
    assert_int_equal(m.tris.n_views, 7);
    for (int v = 0; v < 7; v++) {
        assert_int_equal(m.tris.tris[v].rows, n_tris[v]);
        assert_int_equal(m.tris.tris[v].cols, 3);
    }
    assert_memory_equal(tri_row(&m.tris, 0, 0), ((int[]){58, 67, 59}), 3 * sizeof(int));
    assert_memory_equal(tri_row(&m.tris, 6, 0), ((int[]){44, 45, 25}), 3 * sizeof(int));
    assert_memory_equal(tri_row(&m.tris, 6, 30), ((int[]){25, 45, 26}), 3 * sizeof(int));

    /* three CCNF scales, in file order */
    static const double scaling[3] = {0.25, 0.35, 0.5};
    assert_int_equal(m.n_scales, 3);
    for (int s = 0; s < 3; s++) {
        assert_true(m.scales[s].patch_scaling == scaling[s]);
        assert_int_equal(m.scales[s].n_views, 7);
        assert_int_equal(m.scales[s].n_points, 68);
        assert_int_equal(m.scales[s].n_windows, 4);
    }
    assert_true(au_clnf_sigma_source(&m) == &m.scales[2]);
    /* OpenFace uses the last file's sigma components for every scale; in these
     * models all three files hold the same ones, so that choice changes nothing */
    for (int s = 0; s < 2; s++)
        for (int w = 0; w < 4; w++)
            for (int k = 0; k < 3; k++) {
                const AuMat *a = &m.scales[s].windows[w].components[k], *b = &m.scales[2].windows[w].components[k];
                assert_memory_equal(a->data, b->data, au_mat_count(a) * sizeof(float));
            }

    assert_true(ends_with(m.validator_path, "/model/detection_validation/validator_cnn.txt"));
    assert_true(ends_with(m.face_det_conversion_path, "/model/haarAlign.txt"));
    assert_int_equal(m.face_det_conversion.rows, 3);
    assert_int_equal(m.face_det_conversion.cols, 4);
    assert_true(au_mat_at(&m.face_det_conversion, 2, 0) == 0.055858);
    assert_true(au_mat_at(&m.face_det_conversion, 2, 3) == 0.892778);
    assert_int_equal(m.eye_model, 1);

    /* parts, in file order */
    assert_int_equal(m.n_parts, 3);
    const AuClnfPart *inner = &m.parts[0], *left = &m.parts[1], *right = &m.parts[2];
    assert_string_equal(inner->name, "inner");
    assert_string_equal(left->name, "left_eye_28");
    assert_string_equal(right->name, "right_eye_28");

    assert_int_equal(inner->n_map, 51);
    for (int k = 0; k < 51; k++)
        check_map(inner, k, 17 + k, k);
    const AuClnfModel *im = inner->model;
    assert_true(ends_with(im->main_path, "/model/model_inner/main_clnf_inner.txt"));
    assert_true(ends_with(im->clnf_path, "/model/model_inner/clnf_inner.txt"));
    assert_int_equal(im->pdm.n_points, 51);
    assert_int_equal(im->pdm.n_modes, 32);
    assert_int_equal(im->n_scales, 1);
    assert_true(im->scales[0].patch_scaling == 1.0);
    assert_int_equal(im->scales[0].n_views, 7);
    assert_int_equal(im->tris.n_views, 0);
    assert_int_equal(im->n_parts, 0);
    assert_int_equal(im->eye_model, 0);
    assert_string_equal(im->validator_path, "");

    static const int eye_main_left[6] = {36, 37, 38, 39, 40, 41};
    static const int eye_part[6] = {8, 10, 12, 14, 16, 18};
    assert_int_equal(left->n_map, 6);
    assert_int_equal(right->n_map, 6);
    for (int k = 0; k < 6; k++) {
        check_map(left, k, eye_main_left[k], eye_part[k]);
        check_map(right, k, eye_main_left[k] + 6, eye_part[k]);
    }
    const AuClnfPart *eyes[2] = {left, right};
    for (int e = 0; e < 2; e++) {
        const AuClnfModel *em = eyes[e]->model;
        assert_int_equal(em->pdm.n_points, 28);
        assert_int_equal(em->pdm.n_modes, 10);
        assert_int_equal(em->n_scales, 2);
        assert_true(em->scales[0].patch_scaling == 1.0);
        assert_true(em->scales[1].patch_scaling == 1.5);
        assert_int_equal(em->scales[0].n_views, 1);
        assert_int_equal(em->scales[0].n_points, 28);
    }
    assert_true(ends_with(left->model->clnf_path, "/model_eye/clnf_left_synth.txt"));
    assert_true(ends_with(right->model->clnf_path, "/model_eye/clnf_right_synth.txt"));
    /* the left eye has its own patch experts (6 windows), the right eye the others (4) */
    assert_int_equal(left->model->scales[0].n_windows, 6);
    assert_int_equal(right->model->scales[0].n_windows, 4);
    assert_true(au_ccnf_expert(&left->model->scales[0], 0, 0)->neurons[0].alpha == 7.045100937574013);
    assert_true(au_ccnf_expert(&right->model->scales[0], 0, 0)->neurons[0].alpha == 3.4398886455342095);

    /* part parameters as CLNF::Read sets them */
    const AuClnfParams *ip = &inner->params;
    assert_int_equal(ip->n_window_sizes_init, 1);
    assert_int_equal(ip->window_sizes_init[0], 9);
    assert_int_equal(ip->n_window_sizes_small, 1);
    assert_int_equal(ip->n_window_sizes_current, 1);
    assert_true(ip->reg_factor == 2.5f && ip->sigma == 1.75f && ip->weight_factor == 2.5f);
    assert_int_equal(ip->validate_detections, 0);
    assert_int_equal(ip->refine_hierarchical, 0);
    assert_int_equal(ip->refine_parameters, 0);
    assert_int_equal(ip->num_optimisation_iteration, 5);
    for (int e = 0; e < 2; e++) {
        const AuClnfParams *ep = &eyes[e]->params;
        assert_int_equal(ep->n_window_sizes_init, 3);
        assert_memory_equal(ep->window_sizes_init, ((int[]){3, 5, 9}), 3 * sizeof(int));
        assert_memory_equal(ep->window_sizes_small, ((int[]){3, 5, 9}), 3 * sizeof(int));
        assert_memory_equal(ep->window_sizes_current, ((int[]){3, 5, 9}), 3 * sizeof(int));
        assert_true(ep->reg_factor == 0.5f && ep->sigma == 1.0f && ep->weight_factor == 0.0f);
        assert_int_equal(ep->validate_detections, 0);
    }

    au_clnf_model_free(&m);
    assert_int_equal(m.n_parts, 0);
    assert_null(m.scales);
    au_clnf_model_free(&m);
}

/* ---- parameters against OpenFace's own per-scale values ---- */

/* Column index of name in a CSV header line. */
static int csv_col(const char *header, const char *name)
{
    int idx = 0;
    const char *p = header;
    while (*p && *p != '\n') {
        size_t len = strcspn(p, ",\n");
        if (len == strlen(name) && !strncmp(p, name, len))
            return idx;
        idx++;
        p += len;
        if (*p == ',')
            p++;
    }
    fail_msg("column %s missing", name);
    return -1;
}

/* Field idx of a CSV line into buf. */
static void csv_field(const char *line, int idx, char *buf, size_t n)
{
    const char *p = line;
    for (int i = 0; i < idx; i++) {
        p += strcspn(p, ",\n");
        if (*p != ',')
            fail_msg("short CSV line");
        p++;
    }
    size_t len = strcspn(p, ",\n");
    if (len >= n)
        len = n - 1;
    memcpy(buf, p, len);
    buf[len] = '\0';
}

/* Every rigid/nonrigid row of clnf_fit_<model>.csv (scale 0 only when
 * only_scale0, for the main model whose later scales adapt reg and sigma)
 * must match the parameters and the model's patch scaling. */
static int check_fit_rows(const char *model_name, const AuClnfModel *m, const AuClnfParams *p, int only_scale0)
{
    char rel[256], path[1024];
    snprintf(rel, sizeof(rel), INTERMEDIATES "clnf_fit_%s.csv", model_name);
    autest_path(path, sizeof(path), rel);
    autest_require_file(path);
    unsigned char *data;
    size_t n;
    assert_int_equal(autest_read_file(path, &data, &n), 0);
    const char *text = (const char *)data;
    int c_stage = csv_col(text, "stage"), c_scale = csv_col(text, "scale"), c_win = csv_col(text, "window");
    int c_ps = csv_col(text, "patch_scaling"), c_reg = csv_col(text, "reg_factor"), c_sig = csv_col(text, "sigma");
    int c_wf = csv_col(text, "weight_factor");
    int rows = 0;
    for (const char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        char f[64];
        csv_field(line + 1, c_stage, f, sizeof(f));
        if (strcmp(f, "rigid") && strcmp(f, "nonrigid"))
            continue;
        csv_field(line + 1, c_scale, f, sizeof(f));
        int scale = atoi(f);
        if (only_scale0 && scale != 0)
            continue;
        assert_true(scale >= 0 && scale < m->n_scales && scale < p->n_window_sizes_init);
        csv_field(line + 1, c_win, f, sizeof(f));
        assert_int_equal(atoi(f), p->window_sizes_init[scale]);
        csv_field(line + 1, c_ps, f, sizeof(f));
        assert_true((float)strtod(f, NULL) == (float)m->scales[scale].patch_scaling);
        csv_field(line + 1, c_reg, f, sizeof(f));
        assert_true((float)strtod(f, NULL) == p->reg_factor);
        csv_field(line + 1, c_sig, f, sizeof(f));
        assert_true((float)strtod(f, NULL) == p->sigma);
        csv_field(line + 1, c_wf, f, sizeof(f));
        assert_true((float)strtod(f, NULL) == p->weight_factor);
        rows++;
    }
    free(data);
    return rows;
}

static void test_params_match_openface(void **state)
{
    (void)state;
    char path[1024];
    autest_path(path, sizeof(path), MODEL_DIR "/main_clnf_general.txt");
    AuClnfModel m;
    load_ok(&m, path);
    assert_true(check_fit_rows("inner", m.parts[0].model, &m.parts[0].params, 0) > 100);
    assert_true(check_fit_rows("left_eye_28", m.parts[1].model, &m.parts[1].params, 0) > 100);
    assert_true(check_fit_rows("right_eye_28", m.parts[2].model, &m.parts[2].params, 0) > 100);

    /* the main model as FeatureExtraction -mloc model/main_clnf_general.txt runs it */
    AuClnfParams p;
    au_clnf_params_init(&p, "model/main_clnf_general.txt");
    assert_int_equal(p.detector, AU_DETECTOR_CLNF);
    assert_true(p.sigma == 1.5f && p.reg_factor == 25.0f && p.weight_factor == 0.0f);
    assert_memory_equal(p.window_sizes_init, ((int[]){11, 9, 7, 5}), 4 * sizeof(int));
    assert_memory_equal(p.window_sizes_small, ((int[]){0, 9, 7, 0}), 4 * sizeof(int));
    assert_memory_equal(p.window_sizes_current, ((int[]){11, 9, 7, 5}), 4 * sizeof(int));
    assert_int_equal(p.num_optimisation_iteration, 5);
    assert_int_equal(p.validate_detections, 1);
    assert_int_equal(p.refine_hierarchical, 1);
    assert_int_equal(p.refine_parameters, 1);
    assert_int_equal(p.limit_pose, 1);
    assert_int_equal(p.multi_view, 0);
    assert_int_equal(p.reinit_video_every, 2);
    assert_true(p.validation_boundary == 0.725f);
    assert_true(check_fit_rows("main", &m, &p, 1) > 10);
    au_clnf_model_free(&m);

    /* OpenFace's default model location (CE-CLM) scales sigma and reg */
    au_clnf_params_init(&p, NULL);
    assert_int_equal(p.detector, AU_DETECTOR_CECLM);
    assert_true(p.sigma == 1.5f * 1.5f && p.reg_factor == 0.9f * 25.0f);
    au_clnf_params_init(&p, "/x/main_clm_general.txt");
    assert_int_equal(p.detector, AU_DETECTOR_CLM);
    assert_true(p.sigma == 1.5f);
    /* an unknown part name keeps those defaults, minus validation and refinement */
    au_clnf_params_for_part(&p, "nose");
    assert_true(p.sigma == 2.25f && p.reg_factor == 0.9f * 25.0f);
    assert_int_equal(p.n_window_sizes_init, 4);
    assert_int_equal(p.validate_detections, 0);
    au_clnf_params_for_part(&p, "brow");
    assert_memory_equal(p.window_sizes_init, ((int[]){11, 9}), 2 * sizeof(int));
    assert_true(p.reg_factor == 10.0f && p.sigma == 3.5f);
    au_clnf_params_for_part(&p, "left_eye");
    assert_true(p.reg_factor == 0.1f && p.sigma == 2.0f);
    au_clnf_params_for_part(&p, "mouth");
    assert_true(p.reg_factor == 1.0f && p.sigma == 2.0f && p.n_window_sizes_init == 2);
}

static void test_triangulations(void **state)
{
    (void)state;
    char path[1024];
    AuError err = {0};
    AuTris t;
    autest_path(path, sizeof(path), MODEL_DIR "/tris_68.txt");
    assert_int_equal(au_tris_load(&t, path, &err), AU_OK);
    assert_int_equal(t.n_views, 7);
    assert_int_equal(t.tris[3].rows, 31);
    assert_memory_equal(tri_row(&t, 0, 1), ((int[]){60, 49, 48}), 3 * sizeof(int));
    au_tris_free(&t);
    au_tris_free(&t);

    /* FaceAnalyser's single-matrix file: not the same format as tris_68.txt */
    AuMat full;
    autest_path(path, sizeof(path), "openface/models/AU_predictors/tris_68_full.txt");
    autest_require_file(path);
    assert_int_equal(au_tris_load_single(&full, path, &err), AU_OK);
    assert_int_equal(full.rows, 111);
    assert_int_equal(full.cols, 3);
    assert_int_equal(full.type, AU_MAT_S32);
    assert_memory_equal(au_mat_s32(&full), ((int[]){58, 67, 59, 60, 49, 48}), 6 * sizeof(int));
    assert_memory_equal(au_mat_s32(&full) + 330, ((int[]){64, 65, 63}), 3 * sizeof(int));
    au_mat_free(&full);
    assert_int_equal(au_tris_load(&t, path, &err), AU_ERR_FORMAT); /* read as a count, then nonsense */
    assert_non_null(strstr(err.msg, "tris_68_full.txt"));
    assert_null(t.tris);

    char dir[512], p2[1024];
    autest_mkdtemp(dir, sizeof(dir));
    snprintf(p2, sizeof(p2), "%s/tris.txt", dir);
    struct {
        const char *text, *expect;
    } bad[] = {
        {"1\n2 3 6\n1 2 3 4 5 6", "expected k x 3 of type 4"},
        {"1\n1 2 4\n1 2", "expected k x 3 of type 4"},
        {"1\n1 3 4\n1 -2 3", "negative point index -2"},
        {"2\n1 3 4\n1 2 3", "unexpected end of file"},
        {"999999\n1 3 4\n1 2 3", "does not fit"},
        {"-1\n", "does not fit"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        autest_write_file(p2, bad[i].text, strlen(bad[i].text));
        AuStatus st = au_tris_load(&t, p2, &err);
        if (st != AU_ERR_FORMAT || !strstr(err.msg, bad[i].expect) || !strstr(err.msg, "tris.txt"))
            fail_msg("case %zu: status %d, message '%s', expected '%s'", i, (int)st, err.msg, bad[i].expect);
    }
    autest_write_file(p2, "1 3 4\n1 2 3\n", 12);
    assert_int_equal(au_tris_load_single(&full, p2, &err), AU_OK);
    au_mat_free(&full);
    autest_write_file(p2, "1 3 6\n1 2 3\n", 12);
    assert_int_equal(au_tris_load_single(&full, p2, &err), AU_ERR_FORMAT);
    autest_rmtree(dir);
}

/* ---- malformed model trees ---- */

typedef struct {
    char root[512];  /* temp copy of the model folder */
    char main[1024]; /* its main_clnf_general.txt */
} Tree;

static void tree_make(Tree *t)
{
    char src[1024];
    autest_path(src, sizeof(src), MODEL_DIR);
    autest_mkdtemp(t->root, sizeof(t->root));
    char dst[1024];
    snprintf(dst, sizeof(dst), "%s/model", t->root);
    autest_copy_tree(src, dst);
    snprintf(t->main, sizeof(t->main), "%s/model/main_clnf_general.txt", t->root);
}

static void tree_file(const Tree *t, const char *rel, char *out, size_t n)
{
    snprintf(out, n, "%s/model/%s", t->root, rel);
}

static AuStatus load_and_free(const char *path, void *ctx, AuError *err)
{
    (void)ctx;
    AuClnfModel m;
    AuStatus st = au_clnf_model_load(&m, path, err);
    if (st == AU_OK) {
        assert_true(m.pdm.n_points > 0 && m.n_scales > 0);
        for (int i = 0; i < m.n_parts; i++)
            assert_non_null(m.parts[i].model);
    } else {
        assert_int_equal(m.n_parts, 0); /* failure leaves the struct zeroed */
        assert_null(m.scales);
    }
    au_clnf_model_free(&m);
    return st;
}

static AuStatus load_text_main(const Tree *t, const char *text, AuError *err)
{
    char path[1024];
    tree_file(t, "test_main.txt", path, sizeof(path));
    autest_write_file(path, text, strlen(text));
    return load_and_free(path, NULL, err);
}

/* A list file cut short may still be a valid (shorter) list, as for OpenFace:
 * every cut must give either a clean error naming the file or a model. */
static int check_list_truncations(const char *target, const char *load_path, int n_offsets)
{
    unsigned char *orig;
    size_t size;
    assert_int_equal(autest_read_file(target, &orig, &size), 0);
    const char *base = strrchr(target, '/') + 1;
    int rejected = 0;
    for (int k = 0; k < n_offsets; k++) {
        size_t off = (size_t)((double)(size - 1) * k / (n_offsets - 1));
        autest_write_file(target, orig, off);
        AuError err = {0};
        if (load_and_free(load_path, NULL, &err) != AU_OK) {
            rejected++;
            if (!strstr(err.msg, base))
                fail_msg("%s cut to %zu bytes: error does not name it: %s", target, off, err.msg);
        }
    }
    autest_write_file(target, orig, size);
    free(orig);
    return rejected;
}

static void test_bad_trees(void **state)
{
    (void)state;
    Tree t;
    tree_make(&t);
    AuError err = {0};
    char f[1024];

    /* list files: cuts and flipped bits */
    assert_true(check_list_truncations(t.main, t.main, 12) >= 6);
    tree_file(&t, "clnf_general.txt", f, sizeof(f));
    assert_true(check_list_truncations(f, t.main, 8) >= 4);
    tree_file(&t, "model_eye/main_clnf_synth_left.txt", f, sizeof(f));
    assert_true(check_list_truncations(f, t.main, 5) >= 3);
    autest_check_corruptions(t.main, t.main, load_and_free, NULL, 8, 2, 99);

    /* the data files, through the whole model: errors name the file at fault */
    tree_file(&t, "tris_68.txt", f, sizeof(f));
    autest_check_truncations(f, t.main, load_and_free, NULL, 8, 1);
    tree_file(&t, "haarAlign.txt", f, sizeof(f));
    autest_check_truncations(f, t.main, load_and_free, NULL, 5, 1);
    tree_file(&t, "model_inner/pdms/pdm_51_inner.txt", f, sizeof(f));
    autest_check_truncations(f, t.main, load_and_free, NULL, 6, 1);
    tree_file(&t, "model_eye/patch_experts/ccnf_patches_1.50_synth_lid_.txt", f, sizeof(f));
    autest_check_truncations(f, t.main, load_and_free, NULL, 6, 0);

    /* a missing file is named, with the list line that named it */
    tree_file(&t, "model_inner/pdms/pdm_51_inner.txt", f, sizeof(f));
    char moved[1100];
    snprintf(moved, sizeof(moved), "%s.away", f);
    assert_int_equal(rename(f, moved), 0);
    assert_int_equal(load_and_free(t.main, NULL, &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "main_clnf_general.txt:2: LandmarkDetector_part: main_clnf_inner.txt:1: "
                                    "LandmarkDetector: clnf_inner.txt:1: PDM: "));
    assert_non_null(strstr(err.msg, "model_inner/pdms/pdm_51_inner.txt: cannot open"));
    assert_int_equal(rename(moved, f), 0);
    tree_file(&t, "no_such_main.txt", f, sizeof(f));
    assert_int_equal(load_and_free(f, NULL, &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "no_such_main.txt"));

    /* hand-written list files */
    struct {
        const char *text, *expect;
        AuStatus code;
    } bad[] = {
        {"", "no LandmarkDetector line", AU_ERR_FORMAT},
        {"# nothing\nDetectionValidator detection_validation/validator_cnn.txt\n", "no LandmarkDetector line",
         AU_ERR_FORMAT},
        {"LandmarkDetector\n", "LandmarkDetector names no file", AU_ERR_FORMAT},
        {"LandmarkDetector clnf_general.txt\nLandmarkDetector clnf_general.txt\n", "second LandmarkDetector line",
         AU_ERR_UNSUPPORTED},
        {"LandmarkDetector clnf_general.txt\nLandmarkDetector_part model_eye/main_clnf_synth_left.txt left_eye_28 36 8 "
         "37\n",
         "point mapping '37' has no part index", AU_ERR_FORMAT},
        {"LandmarkDetector clnf_general.txt\nLandmarkDetector_part model_eye/main_clnf_synth_left.txt left_eye_28 36 8 "
         "37 x\n",
         "expected two point indices, found '37 x'", AU_ERR_FORMAT},
        {"LandmarkDetector clnf_general.txt\nLandmarkDetector_part model_eye/main_clnf_synth_left.txt left_eye_28 36 8 "
         "68 10\n",
         "maps point 68 to 10, but the model has 68 points and the part 28", AU_ERR_FORMAT},
        {"LandmarkDetector clnf_general.txt\nLandmarkDetector_part model_eye/main_clnf_synth_left.txt left_eye_28 36 "
         "28\n",
         "maps point 36 to 28", AU_ERR_FORMAT},
        {"LandmarkDetector clnf_general.txt\nLandmarkDetector_part model_eye/main_clnf_synth_left.txt\n",
         "LandmarkDetector_part has no part name", AU_ERR_FORMAT},
        {"LandmarkDetector clnf_general.txt\nLandmarkDetector_part test_main.txt self 0 0\n", "nested more than",
         AU_ERR_FORMAT},
        {"LandmarkDetector clnf_general.txt\nFaceDetConversion tris_68.txt\n", "FaceDetConversion: ", AU_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        AuStatus st = load_text_main(&t, bad[i].text, &err);
        if (st != bad[i].code || !strstr(err.msg, bad[i].expect) || !strstr(err.msg, "test_main.txt"))
            fail_msg("case %zu: status %d, message '%s', expected '%s'", i, (int)st, err.msg, bad[i].expect);
    }
    /* lines OpenFace ignores are ignored; CRLF line ends work */
    assert_int_equal(load_text_main(&t, "# comment\r\nSomethingElse x\r\nLandmarkDetector clnf_general.txt\r\n\r\n", &err),
                     AU_OK);

    /* hand-written LandmarkDetector files */
    char clnf[1024];
    tree_file(&t, "test_clnf.txt", clnf, sizeof(clnf));
    struct {
        const char *text, *expect;
        AuStatus code;
    } bad_clnf[] = {
        {"PDM pdms/In-the-wild_aligned_PDM_68.txt\n", "no PatchesCCNF line", AU_ERR_FORMAT},
        {"PatchesCCNF patch_experts/ccnf_patches_0.25_general.txt\n", "no PDM line", AU_ERR_FORMAT},
        {"PDM\n", "PDM names no file", AU_ERR_FORMAT},
        {"PDM pdms/In-the-wild_aligned_PDM_68.txt\nPatchesCEN patch_experts/cen.dat\n", "PatchesCEN",
         AU_ERR_UNSUPPORTED},
        {"PDM model_inner/pdms/pdm_51_inner.txt\nPatchesCCNF patch_experts/ccnf_patches_0.25_general.txt\n",
         "68 landmarks, but the PDM (test_clnf.txt:1) has 51", AU_ERR_FORMAT},
        {"PDM model_inner/pdms/pdm_51_inner.txt\nTriangulations tris_68.txt\nPatchesCCNF "
         "model_inner/patch_experts/ccnf_patches_1.00_inner.txt\n",
         "triangulation 0 has point index", AU_ERR_FORMAT},
        {"PDM model_eye/pdms/pdm_28_l_eye_3D_closed.txt\nPatchesCCNF "
         "model_eye/patch_experts/left_ccnf_patches_1.00_synth_lid_.txt\nPatchesCCNF "
         "model_inner/patch_experts/ccnf_patches_1.00_inner.txt\n",
         "landmarks, but the PDM", AU_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof(bad_clnf) / sizeof(bad_clnf[0]); i++) {
        autest_write_file(clnf, bad_clnf[i].text, strlen(bad_clnf[i].text));
        memset(&err, 0, sizeof(err));
        AuStatus st = load_text_main(&t, "LandmarkDetector test_clnf.txt\n", &err);
        if (st != bad_clnf[i].code || !strstr(err.msg, bad_clnf[i].expect) || !strstr(err.msg, "test_clnf.txt"))
            fail_msg("clnf case %zu: status %d, message '%s', expected '%s'", i, (int)st, err.msg,
                     bad_clnf[i].expect);
    }
    /* the general model's files with an eye CCNF file last: the eye file has
     * no sigma components, so the others' betas are simply unused */
    const char *mixed = "PDM model_eye/pdms/pdm_28_l_eye_3D_closed.txt\n"
                        "PatchesCCNF model_eye/patch_experts/left_ccnf_patches_1.00_synth_lid_.txt\n"
                        "PatchesCCNF model_eye/patch_experts/ccnf_patches_1.50_synth_lid_.txt  \n";
    autest_write_file(clnf, mixed, strlen(mixed));
    AuClnfModel m;
    char main2[1024];
    tree_file(&t, "test_main.txt", main2, sizeof(main2));
    load_ok(&m, main2);
    assert_int_equal(m.n_scales, 2);
    assert_int_equal(m.pdm.n_points, 28);
    assert_int_equal(m.tris.n_views, 0);
    au_clnf_model_free(&m);
    autest_rmtree(t.root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_general_model),
        cmocka_unit_test(test_params_match_openface),
        cmocka_unit_test(test_triangulations),
        cmocka_unit_test(test_bad_trees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
