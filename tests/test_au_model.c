/* The AU model loader on OpenFace's real AU_predictors files: counts, order and
 * names as OpenFace ends up with them, dimensions and values read independently
 * from the files, a known-answer check against OpenFace's own online AU values,
 * and bad input (truncated, corrupted, missing and malformed files). */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "au_model.h"

#define FEATURE_DIM 4702 /* HOG 12x12x31 = 4464 + geometry 204 + 34 = 238 */
#define HOG_DIM 4464

static const char *const DYN_INTENSITY_ORDER[17] = {
    /* static models of AU_all_best.txt, then dynamic ones (OpenFace's order) */
    "AU04", "AU06", "AU07", "AU10", "AU12", "AU14", "AU01", "AU02", "AU05",
    "AU09", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45",
};
static const char *const DYN_PRESENCE_ORDER[18] = {
    "AU04", "AU05", "AU06", "AU07", "AU10", "AU12", "AU14", "AU23", "AU01",
    "AU02", "AU09", "AU15", "AU17", "AU20", "AU25", "AU26", "AU28", "AU45",
};
static const char *const SORTED_INTENSITY[17] = {
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12",
    "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45",
};

static const char *model_path(char *buf, size_t n, const char *set)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "openface/models/AU_predictors/%s", set);
    autest_path(buf, n, rel);
    autest_require_file(buf);
    return buf;
}

static void load_ok(AuAuModels *m, const char *path)
{
    AuError err = {0};
    AuStatus st = au_au_models_load(m, path, &err);
    if (st != AU_OK)
        fail_msg("loading %s: %s", path, err.msg);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Splits one CSV line (in place) into fields; returns the count. */
static int split_csv(char *line, char **fields, int max)
{
    int n = 0;
    char *s = line;
    while (n < max) {
        fields[n++] = s;
        char *c = strpbrk(s, ",\n\r");
        if (!c || *c != ',') {
            if (c)
                *c = '\0';
            break;
        }
        *c = '\0';
        s = c + 1;
    }
    return n;
}

/* Header and first data row of a reference CSV. Returns the file buffer (free it). */
static unsigned char *read_csv_head(const char *rel, char **hdr, int *nh, char **row, int *nr, int max)
{
    char path[4096];
    autest_path(path, sizeof(path), rel);
    autest_require_file(path);
    unsigned char *data;
    size_t size;
    if (autest_read_file(path, &data, &size))
        fail_msg("cannot read %s", path);
    char *l1 = (char *)data;
    char *l2 = strchr(l1, '\n');
    assert_non_null(l2);
    *l2++ = '\0';
    char *end = strchr(l2, '\n');
    if (end)
        *end = '\0';
    *nh = split_csv(l1, hdr, max);
    *nr = split_csv(l2, row, max);
    return data;
}

static void test_dynamic_set(void **state)
{
    (void)state;
    char path[4096];
    AuAuModels m;
    load_ok(&m, model_path(path, sizeof(path), "main_dynamic_svms.txt"));

    assert_int_equal(au_au_models_intensity_count(&m), 17);
    assert_int_equal(au_au_models_presence_count(&m), 18);
    assert_int_equal(m.groups[AU_GROUP_SVR_STATIC].count, 6);
    assert_int_equal(m.groups[AU_GROUP_SVR_DYNAMIC].count, 11);
    assert_int_equal(m.groups[AU_GROUP_SVM_STATIC].count, 8);
    assert_int_equal(m.groups[AU_GROUP_SVM_DYNAMIC].count, 10);
    assert_true(au_au_models_has_dynamic(&m));
    for (int g = 0; g < AU_GROUP_COUNT; g++)
        assert_int_equal(m.groups[g].feature_dim, FEATURE_DIM);

    for (int i = 0; i < 17; i++) {
        const AuAuModel *a = au_au_models_intensity(&m, i);
        assert_string_equal(a->name, DYN_INTENSITY_ORDER[i]);
        assert_string_equal(au_au_models_intensity_name(&m, i), DYN_INTENSITY_ORDER[i]);
        assert_int_equal(a->presence, 0);
        assert_int_equal(a->dynamic, i >= 6);
        assert_int_equal(a->type, i >= 6 ? AU_REGRESSOR_SVR_DYNAMIC : AU_REGRESSOR_SVR_STATIC);
        assert_int_equal(a->feature_dim, FEATURE_DIM);
        assert_int_equal(a->means_differ, 0);
        if (!a->dynamic)
            assert_true(a->cutoff == -1.0);
        assert_string_equal(au_au_models_intensity_name(&m, au_au_models_intensity_sorted_index(&m, i)),
                            SORTED_INTENSITY[i]);
        assert_int_equal(au_au_models_intensity_find(&m, a->name), i);
    }
    for (int i = 0; i < 18; i++) {
        const AuAuModel *a = au_au_models_presence(&m, i);
        assert_string_equal(a->name, DYN_PRESENCE_ORDER[i]);
        assert_int_equal(a->presence, 1);
        assert_int_equal(a->dynamic, i >= 8);
        assert_int_equal(a->type, i >= 8 ? AU_REGRESSOR_SVM_DYNAMIC : AU_REGRESSOR_SVM_STATIC);
        assert_true(a->cutoff == -1.0);
        /* 0/1 outputs, one of each */
        assert_true((a->pos_class == 1.0 && a->neg_class == 0.0) || (a->pos_class == 0.0 && a->neg_class == 1.0));
    }
    /* Presence sorted order: AU01..AU45 with AU28 between AU26 and AU45. */
    for (int k = 1; k < 18; k++)
        assert_true(strcmp(au_au_models_presence_name(&m, au_au_models_presence_sorted_index(&m, k - 1)),
                           au_au_models_presence_name(&m, au_au_models_presence_sorted_index(&m, k))) < 0);
    assert_string_equal(au_au_models_presence_name(&m, au_au_models_presence_sorted_index(&m, 16)), "AU28");
    assert_int_equal(au_au_models_intensity_find(&m, "AU28"), -1);
    assert_int_equal(au_au_models_presence_find(&m, "AU28"), 16);
    assert_null(au_au_models_intensity(&m, 17));
    assert_int_equal(au_au_models_intensity_sorted_index(&m, 17), -1);

    /* Values read with python struct and od from the .dat files:
     * od -A d -t f8 -j 4 -N 8 svr_combined/AU_1_dynamic_intensity_comb.dat -> 0.55 (cutoff);
     * od -A d -t f8 -j 75268 -N 8 ... -> -0.32160832094595354 (bias, the last 8 bytes);
     * struct.unpack_from('<d', b, 24 + 8*i) for means[i], at 24 + 8*4702 + 12 + 8*i for weights[i]. */
    const AuAuModel *au01 = au_au_models_intensity(&m, au_au_models_intensity_find(&m, "AU01"));
    assert_true(ends_with(au01->path, "svr_combined/AU_1_dynamic_intensity_comb.dat"));
    assert_true(au01->cutoff == 0.55);
    assert_true(au01->bias == -0.32160832094595354);
    assert_true(au01->means[0] == 0.34480339913818037);
    assert_true(au01->means[HOG_DIM - 1] == 0.007523093484062414);
    assert_true(au01->means[FEATURE_DIM - 1] == 0.0); /* OpenFace does not centre the geometry */
    assert_true(au01->weights[0] == 0.03276396783646575);
    assert_true(au01->weights[FEATURE_DIM - 1] == 0.0008221018766585768);
    /* od -A d -t f8 -j 816 -N 8 svr_combined/AU_4_static_intensity_comb.dat -> means[100] */
    const AuAuModel *au04 = au_au_models_intensity(&m, 0);
    assert_true(au04->means[100] == 0.034128111623193264);
    assert_true(au04->weights[0] == 0.025111529258756024);
    assert_true(au04->weights[HOG_DIM] == 0.0003140473162062567);
    assert_true(au04->bias == 0.13360679298135827);
    /* od -A d -t f8 -j 75260 -N 24 svm_combined/AU_28_dynamic.dat -> bias, pos, neg */
    const AuAuModel *au28 = au_au_models_presence(&m, 16);
    assert_true(ends_with(au28->path, "svm_combined/AU_28_dynamic.dat"));
    assert_true(au28->bias == 0.0001380737119192448);
    assert_true(au28->pos_class == 0.0 && au28->neg_class == 1.0);
    assert_true(au28->weights[0] == 3.2978055685435878e-18);
    assert_true(au28->weights[FEATURE_DIM - 1] == -0.0001433076885008967);
    const AuAuModel *au12c = au_au_models_presence(&m, au_au_models_presence_find(&m, "AU12"));
    assert_true(au12c->bias == -0.010634063787052483);
    assert_true(au12c->pos_class == 1.0 && au12c->neg_class == 0.0);

    /* Group matrices: row k is model k's weights; the model points at the group's means. */
    for (int g = 0; g < AU_GROUP_COUNT; g++) {
        const AuAuGroup *gr = &m.groups[g];
        for (int k = 0; k < gr->count; k++) {
            assert_ptr_equal(gr->models[k].weights, gr->weights + (size_t)k * FEATURE_DIM);
            assert_ptr_equal(gr->models[k].means, gr->means);
            assert_int_equal(gr->models[k].group, g);
        }
    }

    assert_true(ends_with(m.pdm_path, "AU_predictors/In-the-wild_aligned_PDM_68.txt"));
    assert_true(ends_with(m.triangulation_path, "AU_predictors/tris_68_full.txt"));
    assert_int_equal(m.n_au_lists, 1);
    assert_true(ends_with(m.au_list_paths[0], "AU_predictors/AU_all_best.txt"));
    assert_int_equal(au28->list_line, 17);
    au_au_models_free(&m);
    au_au_models_free(&m); /* freeing twice is harmless: the struct is zeroed */
}

/* OpenFace's order and per-AU cutoffs as its own dumps show them:
 * au_online.csv's columns are its AU_predictions_reg/class order, and
 * au_offline_offsets.csv lists each intensity AU's cutoff (empty for static ones). */
static void test_order_and_cutoffs_match_openface(void **state)
{
    (void)state;
    char path[4096];
    AuAuModels m;
    load_ok(&m, model_path(path, sizeof(path), "main_dynamic_svms.txt"));
    char *hdr[64], *row[64];
    int nh, nr;
    unsigned char *buf = read_csv_head("openface/reference/intermediates/default/au_online.csv", hdr, &nh, row, &nr, 64);
    assert_int_equal(nh, 2 + 17 + 18);
    for (int i = 0; i < 17; i++) {
        char name[40];
        snprintf(name, sizeof(name), "%s_r", au_au_models_intensity_name(&m, i));
        assert_string_equal(hdr[2 + i], name);
    }
    for (int i = 0; i < 18; i++) {
        char name[40];
        snprintf(name, sizeof(name), "%s_c", au_au_models_presence_name(&m, i));
        assert_string_equal(hdr[2 + 17 + i], name);
    }
    free(buf);

    /* The FeatureExtraction CSV: alphabetical order. */
    static char *big_hdr[800], *big_row[800];
    buf = read_csv_head("openface/reference/default.csv", big_hdr, &nh, big_row, &nr, 800);
    assert_int_equal(nh, 714);
    int first_r = -1;
    for (int i = 0; i < nh; i++) {
        const char *h = big_hdr[i];
        while (*h == ' ')
            h++;
        if (strcmp(h, "AU01_r") == 0)
            first_r = i;
    }
    assert_true(first_r >= 0);
    for (int k = 0; k < 17; k++) {
        const char *h = big_hdr[first_r + k];
        while (*h == ' ')
            h++;
        char name[40];
        snprintf(name, sizeof(name), "%s_r", au_au_models_intensity_name(&m, au_au_models_intensity_sorted_index(&m, k)));
        assert_string_equal(h, name);
    }
    for (int k = 0; k < 18; k++) {
        const char *h = big_hdr[first_r + 17 + k];
        while (*h == ' ')
            h++;
        char name[40];
        snprintf(name, sizeof(name), "%s_c", au_au_models_presence_name(&m, au_au_models_presence_sorted_index(&m, k)));
        assert_string_equal(h, name);
    }
    free(buf);

    char p2[4096];
    autest_path(p2, sizeof(p2), "openface/reference/intermediates/default/au_offline_offsets.csv");
    unsigned char *data;
    size_t size;
    if (autest_read_file(p2, &data, &size))
        fail_msg("cannot read %s", p2);
    int checked = 0;
    char *save = NULL;
    for (char *line = strtok_r((char *)data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[8];
        int n = split_csv(line, f, 8);
        if (n < 3 || strcmp(f[0], "au") == 0)
            continue;
        int i = au_au_models_intensity_find(&m, f[0]);
        assert_true(i >= 0);
        const AuAuModel *a = au_au_models_intensity(&m, i);
        assert_int_equal(a->dynamic, atoi(f[1]));
        if (a->dynamic)
            assert_true(a->cutoff == strtod(f[2], NULL));
        else
            assert_string_equal(f[2], "");
        checked++;
    }
    assert_int_equal(checked, 17);
    free(data);
    au_au_models_free(&m);
}

/* Known answer: OpenFace's online AU values of frame 1 of default.wmv from its own
 * HOG and geometry descriptors. On frame 1 the running median equals the frame's
 * descriptor, so a dynamic model scores -means.w + b. Checks that means, weights,
 * bias and classes are read as OpenFace uses them. */
static void test_frame1_predictions(void **state)
{
    (void)state;
    char path[4096];
    AuAuModels m;
    load_ok(&m, model_path(path, sizeof(path), "main_dynamic_svms.txt"));

    static double x[FEATURE_DIM];
    char hp[4096];
    autest_path(hp, sizeof(hp), "openface/reference/intermediates/default/fa_hog.f64");
    unsigned char *hog;
    size_t hog_size;
    if (autest_read_file(hp, &hog, &hog_size))
        fail_msg("cannot read %s", hp);
    assert_true(hog_size >= HOG_DIM * sizeof(double));
    memcpy(x, hog, HOG_DIM * sizeof(double)); /* frame 1 is at offset 0 (fa_frames.csv) */
    free(hog);

    char *hdr[260], *row[260];
    int nh, nr;
    unsigned char *buf = read_csv_head("openface/reference/intermediates/default/fa_geom.csv", hdr, &nh, row, &nr, 260);
    assert_int_equal(nr, 2 + FEATURE_DIM - HOG_DIM);
    assert_string_equal(row[0], "1");
    for (int i = 0; i < FEATURE_DIM - HOG_DIM; i++)
        x[HOG_DIM + i] = strtod(row[2 + i], NULL);
    free(buf);

    buf = read_csv_head("openface/reference/intermediates/default/au_online.csv", hdr, &nh, row, &nr, 64);
    assert_string_equal(row[0], "1");
    int n_int = au_au_models_intensity_count(&m);
    for (int i = 0; i < n_int + au_au_models_presence_count(&m); i++) {
        const AuAuModel *a = i < n_int ? au_au_models_intensity(&m, i) : au_au_models_presence(&m, i - n_int);
        double s = a->bias;
        for (int d = 0; d < FEATURE_DIM; d++)
            s += (a->dynamic ? -a->means[d] : x[d] - a->means[d]) * a->weights[d];
        double want = strtod(row[2 + i], NULL);
        if (!a->presence) {
            if (fabs(s - want) > 1e-9)
                fail_msg("%s_r frame 1: %.17g, OpenFace %.17g", a->name, s, want);
        } else if (fabs(s) > 1e-9) {
            if ((s > 0 ? a->pos_class : a->neg_class) != want)
                fail_msg("%s_c frame 1: score %g gives %g, OpenFace %g", a->name, s,
                         s > 0 ? a->pos_class : a->neg_class, want);
        }
    }
    free(buf);
    au_au_models_free(&m);
}

static void test_static_set(void **state)
{
    (void)state;
    char path[4096];
    AuAuModels m;
    load_ok(&m, model_path(path, sizeof(path), "main_static_svms.txt"));
    assert_int_equal(au_au_models_intensity_count(&m), 17);
    assert_int_equal(au_au_models_presence_count(&m), 18);
    assert_int_equal(m.groups[AU_GROUP_SVR_DYNAMIC].count, 0);
    assert_int_equal(m.groups[AU_GROUP_SVM_DYNAMIC].count, 0);
    assert_false(au_au_models_has_dynamic(&m));
    /* All static: list order, which is already alphabetical. */
    for (int i = 0; i < 17; i++) {
        assert_string_equal(au_au_models_intensity_name(&m, i), SORTED_INTENSITY[i]);
        assert_int_equal(au_au_models_intensity_sorted_index(&m, i), i);
        assert_int_equal(au_au_models_intensity(&m, i)->dynamic, 0);
    }
    for (int i = 0; i < 18; i++)
        assert_int_equal(au_au_models_presence_sorted_index(&m, i), i);
    assert_string_equal(au_au_models_presence_name(&m, 16), "AU28");
    /* python struct on svr_combined/AU_1_static_intensity_comb.dat: bias = last 8 bytes,
     * weights[0] at offset 4 + 12 + 8*4702 + 12 */
    const AuAuModel *au01 = au_au_models_intensity(&m, 0);
    assert_true(ends_with(au01->path, "svr_combined/AU_1_static_intensity_comb.dat"));
    assert_true(au01->bias == 0.16425526373589458);
    assert_true(au01->weights[0] == -0.017462740032262194);
    assert_true(ends_with(m.au_list_paths[0], "AU_all_static.txt"));
    au_au_models_free(&m);
}

/* ---- bad input ---- */

static AuStatus load_and_free(const char *path, void *ctx, AuError *err)
{
    (void)ctx;
    AuAuModels m;
    AuStatus st = au_au_models_load(&m, path, err);
    au_au_models_free(&m);
    return st;
}

typedef struct Tree {
    char dir[4096];
    char au[4200];   /* <dir>/AU_predictors */
    char main[4300]; /* <dir>/AU_predictors/main_dynamic_svms.txt */
} Tree;

static void tree_make(Tree *t)
{
    char src[4096];
    autest_path(src, sizeof(src), "openface/models/AU_predictors");
    autest_require_file(src);
    autest_mkdtemp(t->dir, sizeof(t->dir));
    snprintf(t->au, sizeof(t->au), "%s/AU_predictors", t->dir);
    autest_copy_tree(src, t->au);
    snprintf(t->main, sizeof(t->main), "%s/main_dynamic_svms.txt", t->au);
}

static const char *tree_file(const Tree *t, char *buf, size_t n, const char *rel)
{
    snprintf(buf, n, "%s/%s", t->au, rel);
    return buf;
}

/* Loads, expecting failure with code and every needle in the message. */
static void expect_fail(const char *path, AuStatus code, const char *needle1, const char *needle2)
{
    AuAuModels m;
    AuError err = {0};
    AuStatus st = au_au_models_load(&m, path, &err);
    if (st == AU_OK) {
        au_au_models_free(&m);
        fail_msg("%s accepted, expected an error with '%s'", path, needle1);
    }
    if (st != code)
        fail_msg("%s: status %d, expected %d: %s", path, (int)st, (int)code, err.msg);
    if (needle1 && !strstr(err.msg, needle1))
        fail_msg("error does not name '%s': %s", needle1, err.msg);
    if (needle2 && !strstr(err.msg, needle2))
        fail_msg("error does not name '%s': %s", needle2, err.msg);
    /* a failed load leaves the struct freed */
    assert_int_equal(m.groups[0].count, 0);
    assert_null(m.groups[0].weights);
}

static void test_dat_truncation_and_corruption(void **state)
{
    (void)state;
    Tree t;
    tree_make(&t);
    char f[4400];
    /* A dynamic SVR (type, cutoff, means, weights, bias) and a static SVM (type,
     * means, weights, bias, pos, neg), both named by AU_all_best.txt. */
    autest_check_truncations(tree_file(&t, f, sizeof(f), "svr_combined/AU_1_dynamic_intensity_comb.dat"), t.main,
                             load_and_free, NULL, 24, 0);
    autest_check_truncations(tree_file(&t, f, sizeof(f), "svm_combined/AU_4_static.dat"), t.main, load_and_free,
                             NULL, 24, 0);
    /* Random flips almost always land in the 75 kB of doubles; they must never
     * crash or leak (ASan), whether or not they are caught. */
    autest_check_corruptions(tree_file(&t, f, sizeof(f), "svr_combined/AU_1_dynamic_intensity_comb.dat"), t.main,
                             load_and_free, NULL, 10, 8, 11);
    autest_check_corruptions(tree_file(&t, f, sizeof(f), "svm_combined/AU_4_static.dat"), t.main, load_and_free,
                             NULL, 10, 8, 12);
    autest_rmtree(t.dir);
}

/* Rewrites bytes of a .dat at offset, loads, expects the error, restores. */
static void patch_dat(const char *file, const char *main, size_t offset, const void *bytes, size_t n, AuStatus code,
                      const char *needle)
{
    unsigned char *orig;
    size_t size;
    if (autest_read_file(file, &orig, &size))
        fail_msg("cannot read %s", file);
    unsigned char *mod = malloc(size + n);
    memcpy(mod, orig, size);
    size_t new_size = offset + n > size ? offset + n : size;
    memcpy(mod + offset, bytes, n);
    autest_write_file(file, mod, new_size);
    const char *base = strrchr(file, '/') + 1;
    expect_fail(main, code, base, needle);
    autest_write_file(file, orig, size);
    free(mod);
    free(orig);
}

static void test_dat_header_corruption(void **state)
{
    (void)state;
    Tree t;
    tree_make(&t);
    char svr[4400], svm[4400];
    tree_file(&t, svr, sizeof(svr), "svr_combined/AU_1_dynamic_intensity_comb.dat");
    tree_file(&t, svm, sizeof(svm), "svm_combined/AU_4_static.dat");
    int32_t v;
    v = 2; /* SVR_dynamic_geom_linear: in OpenFace's enum, never read */
    patch_dat(svr, t.main, 0, &v, 4, AU_ERR_UNSUPPORTED, "regressor type 2");
    v = 0x01000001;
    patch_dat(svr, t.main, 0, &v, 4, AU_ERR_FORMAT, "regressor type 16777217");
    v = 0; /* an SVR static type on a dynamic file: the cutoff is read as a matrix header */
    patch_dat(svr, t.main, 0, &v, 4, AU_ERR_FORMAT, "byte offset 4");
    v = 4701; /* means cols */
    patch_dat(svr, t.main, 16, &v, 4, AU_ERR_FORMAT, "byte offset");
    v = 5; /* means as floats */
    patch_dat(svm, t.main, 12, &v, 4, AU_ERR_FORMAT, "means");
    v = 4703; /* support vector rows */
    patch_dat(svm, t.main, 16 + 8 * FEATURE_DIM, &v, 4, AU_ERR_FORMAT, "support vectors");
    v = 2; /* support vector cols: one bias per file */
    patch_dat(svm, t.main, 20 + 8 * FEATURE_DIM, &v, 4, AU_ERR_FORMAT, "support vectors");
    double nan = NAN;
    patch_dat(svr, t.main, 4, &nan, 8, AU_ERR_FORMAT, "cutoff");
    /* trailing bytes after a complete model */
    patch_dat(svm, t.main, 75284, "xyz", 3, AU_ERR_FORMAT, "3 unexpected bytes");
    autest_rmtree(t.dir);
}

/* A list file cut at a line boundary is a valid shorter list (as for OpenFace), so
 * the generic truncation check does not apply: every cut must either be rejected
 * with the list file named, or load exactly the models on the lines that remain
 * complete, in order. */
static void check_list_truncations(const Tree *t, const char *list, int n_offsets, int *n_rejected, int *n_accepted)
{
    unsigned char *orig;
    size_t size;
    if (autest_read_file(list, &orig, &size))
        fail_msg("cannot read %s", list);
    const char *base = strrchr(list, '/') + 1;
    for (int k = 0; k < n_offsets; k++) {
        size_t off = (size_t)((double)(size - 1) * k / (n_offsets - 1));
        autest_write_file(list, orig, off);
        AuAuModels m;
        AuError err = {0};
        AuStatus st = au_au_models_load(&m, t->main, &err);
        if (st != AU_OK) {
            (*n_rejected)++;
            if (!strstr(err.msg, base))
                fail_msg("%s cut at %zu: error does not name it: %s", list, off, err.msg);
            continue;
        }
        (*n_accepted)++;
        /* count the lines in the cut text and compare names with what follows the path */
        int lines = 0;
        size_t i = 0;
        while (i < off) {
            size_t j = i;
            while (j < off && orig[j] != '\n')
                j++;
            const char *sp = memchr(orig + i, ' ', j - i);
            assert_non_null(sp); /* an accepted line has a name */
            char name[64];
            size_t nl = (size_t)((const unsigned char *)orig + j - (const unsigned char *)sp - 1);
            assert_true(nl > 0 && nl < sizeof(name));
            memcpy(name, sp + 1, nl);
            name[nl] = '\0';
            int is_svm = memcmp(orig + i, "svm", 3) == 0;
            if (is_svm)
                assert_true(au_au_models_presence_find(&m, name) >= 0);
            else
                assert_true(au_au_models_intensity_find(&m, name) >= 0);
            lines++;
            i = j + 1;
        }
        assert_int_equal(au_au_models_intensity_count(&m) + au_au_models_presence_count(&m), lines);
        au_au_models_free(&m);
    }
    autest_write_file(list, orig, size);
    free(orig);
}

static void test_txt_truncation_and_corruption(void **state)
{
    (void)state;
    Tree t;
    tree_make(&t);
    char f[4400];
    /* The top-level file: PDM and Triangulation are required, so every cut fails. */
    autest_check_truncations(t.main, t.main, load_and_free, NULL, 12, 1);
    int rejected = 0, accepted = 0;
    check_list_truncations(&t, tree_file(&t, f, sizeof(f), "AU_all_best.txt"), 23, &rejected, &accepted);
    /* 23 cuts over 35 lines of ~40 bytes: most land inside a path (missing file) or a name */
    assert_true(rejected > 0);
    assert_true(accepted > 0); /* offset 0 is rejected (no models); others are shorter lists */
    autest_check_corruptions(t.main, t.main, load_and_free, NULL, 12, 2, 21);
    autest_check_corruptions(tree_file(&t, f, sizeof(f), "AU_all_best.txt"), t.main, load_and_free, NULL, 12, 2,
                             22);
    autest_rmtree(t.dir);
}

static void test_missing_and_malformed(void **state)
{
    (void)state;
    Tree t;
    tree_make(&t);
    char f[4400], list[4400];
    expect_fail("/nonexistent/AU_predictors/main_dynamic_svms.txt", AU_ERR_IO, "/nonexistent/AU_predictors", NULL);

    /* A listed model file that is missing: named, with the list line that names it. */
    tree_file(&t, f, sizeof(f), "svr_combined/AU_9_dynamic_intensity.dat");
    unsigned char *dat;
    size_t dat_size;
    autest_read_file(f, &dat, &dat_size);
    remove(f);
    expect_fail(t.main, AU_ERR_IO, "AU_all_best.txt:25:", "svr_combined/AU_9_dynamic_intensity.dat");
    autest_write_file(f, dat, dat_size);
    free(dat);

    /* Missing PDM and triangulation files are named with the main file's line. */
    char pdm[4400];
    tree_file(&t, pdm, sizeof(pdm), "In-the-wild_aligned_PDM_68.txt");
    char moved[4500];
    snprintf(moved, sizeof(moved), "%s.moved", pdm);
    rename(pdm, moved);
    expect_fail(t.main, AU_ERR_IO, "main_dynamic_svms.txt:2: PDM", "In-the-wild_aligned_PDM_68.txt");
    rename(moved, pdm);

    tree_file(&t, list, sizeof(list), "AU_all_best.txt");
    unsigned char *orig;
    size_t size;
    autest_read_file(list, &orig, &size);
    struct {
        const char *text;
        AuStatus code;
        const char *needle;
    } cases[] = {
        {"svm_combined/AU_1_dynamic.dat AU01\nsvm_combined/AU_2_dynamic.dat\n", AU_ERR_FORMAT,
         "AU_all_best.txt:2: no AU name"},
        {"svm_combined/AU_1_dynamic.dat AU01,AU02\n", AU_ERR_UNSUPPORTED, "AU_all_best.txt:1: several AU names"},
        {"svm_combined/AU_1_dynamic.dat AU01 x\n", AU_ERR_FORMAT, "AU_all_best.txt:1: unexpected text"},
        {"svm_combined/AU_1_dynamic.dat AU01\nsvm_combined/AU_1_static.dat AU01\n", AU_ERR_FORMAT,
         "AU_all_best.txt:2:"},
        {"\n\n", AU_ERR_FORMAT, "lists no AU model files"},
        {"svm_combined/ AU01\n", AU_ERR_IO, "AU_all_best.txt:1:"}, /* a folder, not a model */
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        autest_write_file(list, cases[c].text, strlen(cases[c].text));
        expect_fail(t.main, cases[c].code, cases[c].needle, NULL);
    }

    /* Windows line endings, blank lines and a final newline are accepted; an
     * SVR and an SVM may share a name (intensity and presence of one AU). */
    const char *crlf = "\r\nsvr_combined/AU_1_dynamic_intensity_comb.dat AU01\r\n\r\n"
                       "svm_combined/AU_1_static.dat  AU01 \r\nsvm_combined/AU_28_dynamic.dat\tAU28\n";
    autest_write_file(list, crlf, strlen(crlf));
    AuAuModels m;
    load_ok(&m, t.main);
    assert_int_equal(au_au_models_intensity_count(&m), 1);
    assert_int_equal(au_au_models_presence_count(&m), 2);
    assert_string_equal(au_au_models_presence_name(&m, 0), "AU01"); /* static first */
    assert_string_equal(au_au_models_presence_name(&m, 1), "AU28");
    assert_int_equal(au_au_models_presence(&m, 1)->list_line, 5);
    au_au_models_free(&m);
    autest_write_file(list, orig, size);
    free(orig);

    /* The top-level file: missing modules, unknown modules ignored, CRLF. */
    autest_read_file(t.main, &orig, &size);
    const char *no_tri = "AUPredictor AU_all_best.txt\nPDM In-the-wild_aligned_PDM_68.txt\n";
    autest_write_file(t.main, no_tri, strlen(no_tri));
    expect_fail(t.main, AU_ERR_FORMAT, "no Triangulation line", NULL);
    const char *no_loc = "AUPredictor\n";
    autest_write_file(t.main, no_loc, strlen(no_loc));
    expect_fail(t.main, AU_ERR_FORMAT, "main_dynamic_svms.txt:1: no file named after 'AUPredictor'", NULL);
    const char *two_lists = "Other x\r\nAUPredictor AU_all_best.txt\r\nAUPredictor AU_all_static.txt\r\n"
                            "PDM In-the-wild_aligned_PDM_68.txt\r\nTriangulation tris_68_full.txt\r\n";
    autest_write_file(t.main, two_lists, strlen(two_lists));
    /* OpenFace accumulates both lists: the static list repeats AU01 etc. */
    expect_fail(t.main, AU_ERR_FORMAT, "AU_all_static.txt:1:", "second presence model");
    autest_write_file(t.main, orig, size);
    free(orig);
    autest_rmtree(t.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dynamic_set),
        cmocka_unit_test(test_order_and_cutoffs_match_openface),
        cmocka_unit_test(test_frame1_predictions),
        cmocka_unit_test(test_static_set),
        cmocka_unit_test(test_dat_truncation_and_corruption),
        cmocka_unit_test(test_dat_header_corruption),
        cmocka_unit_test(test_txt_truncation_and_corruption),
        cmocka_unit_test(test_missing_and_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
