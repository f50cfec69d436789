/* The landmark detection validator on OpenFace's real file: views, orientations,
 * normalisation images, per-view CNNs and piecewise affine warp data, with
 * values cross-checked against the raw bytes, and rejection of truncated,
 * corrupted, missing and inconsistent files. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validator_model.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define VALIDATOR_REL "openface/models/model/detection_validation/validator_cnn.txt"

static const char *validator_path(char *buf, size_t n)
{
    const char *p = autest_path(buf, n, VALIDATOR_REL);
    autest_require_file(p);
    return p;
}

static void test_real_validator(void **state)
{
    (void)state;
    char p[4096];
    AuValidatorModel m;
    AuError err = {0};
    if (au_validator_model_load(&m, validator_path(p, sizeof(p)), &err) != AU_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(m.validator_type, 3);
    assert_int_equal(m.n_views, 7);

    /* Dumped with an independent Python reader of the raw file (struct.unpack
     * over ReadMatBin headers): yaw of each view in degrees, masked pixels and
     * triangles per view; every view warps to 60x60 with 68 landmarks. */
    const double yaw[7] = {0, -20, -45, -70, 20, 45, 70};
    const int pixels[7] = {2642, 2469, 1665, 1491, 2494, 1690, 1536};
    const int triangles[7] = {97, 97, 36, 31, 97, 36, 31};
    const AuCnnLayerKind C = AU_CNN_CONV, R = AU_CNN_RELU, P = AU_CNN_MAX_POOL, F = AU_CNN_FULLY_CONNECTED;
    const AuCnnLayerKind kinds[9] = {C, R, P, C, R, P, F, R, F};
    for (int v = 0; v < 7; v++) {
        const AuValidatorView *V = &m.views[v];
        assert_true(V->orientation[0] == 0.0);
        assert_true(V->orientation[1] == yaw[v] * M_PI * (1.0 / 180.0));
        assert_true(fabs(V->orientation[1] - yaw[v] / 180.0 * 3.14159265358979) < 1e-12);
        assert_true(V->orientation[2] == 0.0);
        assert_int_equal(V->n_pixels, pixels[v]);
        assert_int_equal(V->paw.number_of_pixels, pixels[v]);
        assert_int_equal(V->paw.n_triangles, triangles[v]);
        assert_int_equal(V->paw.n_landmarks, 68);
        assert_int_equal(V->paw.height, 60);
        assert_int_equal(V->paw.width, 60);
        int n_mask = 0;
        for (int i = 0; i < 3600; i++)
            n_mask += V->paw.pixel_mask[i] != 0;
        assert_int_equal(n_mask, pixels[v]);
        /* conv 1->10 9x9, ReLU, pool, conv 10->10 7x7, ReLU, pool, FC 1000->50, ReLU, FC 50->30 */
        assert_int_equal(V->cnn.n_layers, 9);
        for (int l = 0; l < 9; l++)
            assert_int_equal(V->cnn.layers[l].kind, kinds[l]);
        const AuCnnConv *c0 = &V->cnn.layers[0].conv, *c1 = &V->cnn.layers[3].conv;
        assert_int_equal(c0->in_maps, 1);
        assert_int_equal(c0->out_maps, 10);
        assert_int_equal(c0->kernel_h, 9);
        assert_int_equal(c0->kernel_w, 9);
        assert_int_equal(c1->in_maps, 10);
        assert_int_equal(c1->out_maps, 10);
        assert_int_equal(c1->kernel_h, 7);
        assert_int_equal(V->cnn.layers[2].pool.kernel_x, 2);
        assert_int_equal(V->cnn.layers[2].pool.stride_y, 2);
        assert_int_equal(V->cnn.layers[6].fc.in, 1000);
        assert_int_equal(V->cnn.layers[6].fc.out, 50);
        assert_int_equal(V->cnn.layers[8].fc.in, 50);
        assert_int_equal(V->cnn.layers[8].fc.out, 30);
        /* the answer: one row of 30 bins */
        assert_int_equal(V->cnn.output.maps, 1);
        assert_int_equal(V->cnn.output.h, 1);
        assert_int_equal(V->cnn.output.w, 30);
    }

    /* View 0 values at byte offsets found with the same Python reader and
     * read with struct.unpack_from('<d' / '<f' / '<i', data, offset):
     * mean image data at 272, std at 21420, first conv biases at 42572 and
     * kernels at 42624, FC biases at 66856 and weights (1000 x 50) at 67068,
     * warp: min_x/min_y at 273224, landmarks at 273252, triangulation at
     * 274352, triangle ids at 275528, mask at 289940, alpha at 304352, beta
     * at 306692. Doubles are compared after the float conversion OpenFace
     * applies. */
    const AuValidatorView *V = &m.views[0];
    assert_true(V->mean[0] == (float)-0.32161855697631836);
    assert_true(V->mean[2641] == (float)-0.023492783308029175);
    assert_true(V->standard_deviation[0] == (float)0.004929294344037771);
    const AuCnnConv *c0 = &V->cnn.layers[0].conv;
    assert_true(c0->bias[0] == (float)-0.0023908691946417093);
    assert_true(c0->kernels[0] == (float)0.009304001927375793);
    assert_true(c0->kernels[80] == (float)0.0067275334149599075); /* (8, 8) */
    assert_true(c0->im2col_weights[80 * 10 + 0] == (float)0.0067275334149599075);
    const AuCnnFullyConnected *fc = &V->cnn.layers[6].fc;
    assert_true(fc->bias[0] == (float)0.003069413360208273);
    assert_true(fc->weights[1 * 1000 + 2] == (float)0.013713994063436985); /* file [2][1] */
    const AuValidatorPaw *w = &V->paw;
    assert_true(w->min_x == (float)-29.763987446501343);
    assert_true(w->min_y == (float)-25.129874326651368);
    assert_true(w->destination_landmarks[0] == (float)-29.763987446501343);
    assert_true(w->destination_landmarks[68] == (float)-12.099255327539911);
    assert_int_equal(w->triangulation[0], 67);
    assert_int_equal(w->triangulation[1], 58);
    assert_int_equal(w->triangulation[2], 59);
    assert_int_equal(w->triangulation[96 * 3 + 0], 45);
    assert_int_equal(w->triangulation[96 * 3 + 2], 26);
    assert_int_equal(w->triangle_id[0], -1);
    assert_int_equal(w->pixel_mask[0], 0);
    assert_int_equal(w->triangle_id[30 * 60 + 30], 57);
    assert_int_equal(w->pixel_mask[30 * 60 + 30], 1);
    assert_true(w->alpha[0] == (float)-3.2382248307318218);
    assert_true(w->beta[96 * 3 + 2] == (float)0.04153788069627143);
    au_validator_model_free(&m);
    au_validator_model_free(&m);
}

/* ---- bad input ---- */

static AuStatus load_fn(const char *path, void *ctx, AuError *err)
{
    (void)ctx;
    AuValidatorModel m;
    AuStatus st = au_validator_model_load(&m, path, err);
    au_validator_model_free(&m);
    return st;
}

static void tmp_copy(char *dir, size_t dn, char *file, size_t fn)
{
    char src[4096];
    autest_mkdtemp(dir, dn);
    snprintf(file, fn, "%s/validator_cnn.txt", dir);
    autest_copy_file(autest_path(src, sizeof(src), VALIDATOR_REL), file);
}

static void test_truncations_and_corruptions(void **state)
{
    (void)state;
    char dir[1024], f[1100];
    tmp_copy(dir, sizeof(dir), f, sizeof(f));
    autest_check_truncations(f, f, load_fn, NULL, 60, 0);
    int rejected = autest_check_corruptions(f, f, load_fn, NULL, 40, 4, 4321u);
    print_message("validator: %d of 40 corrupted copies rejected\n", rejected);
    AuError err = {0};
    assert_int_equal(load_fn(f, NULL, &err), AU_OK);
    autest_rmtree(dir);
}

static void expect_patch(const char *f, size_t off, const void *bytes, size_t n, AuStatus code, const char *want)
{
    unsigned char *orig;
    size_t size;
    assert_int_equal(autest_read_file(f, &orig, &size), 0);
    unsigned char *mod = malloc(size);
    memcpy(mod, orig, size);
    memcpy(mod + off, bytes, n);
    autest_write_file(f, mod, size);
    AuError err = {0};
    AuStatus st = load_fn(f, NULL, &err);
    autest_write_file(f, orig, size);
    free(mod);
    free(orig);
    if (st != code)
        fail_msg("patch at %zu: status %d, expected %d (%s)", off, (int)st, (int)code, err.msg);
    if (!strstr(err.msg, want) || !strstr(err.msg, "validator_cnn.txt"))
        fail_msg("patch at %zu: '%s' lacks '%s' or the file name", off, err.msg, want);
}

static void expect_i32(const char *f, size_t off, int32_t v, const char *want)
{
    expect_patch(f, off, &v, 4, AU_ERR_FORMAT, want);
}

static void test_nonsense_values(void **state)
{
    (void)state;
    char dir[1024], f[1100];
    tmp_copy(dir, sizeof(dir), f, sizeof(f));
    /* Offsets (view 0) from the Python dump: type 0, views 4, orientations
     * from 8 (36 bytes each), mean header 260, std header 21408, network depth
     * 42556, first layer code 42560, its map counts 42564/42568; warp pixel
     * count 273220, triangulation data 274352, triangle ids 275528, mask
     * 289940. */
    int32_t two = 2;
    expect_patch(f, 0, &two, 4, AU_ERR_UNSUPPORTED, "only type 3 (CNN) is supported");
    expect_i32(f, 4, 1000000, "number of views 1000000 outside 1..64");
    /* 64 views: the 8th "orientation" is view 0's mean image */
    expect_i32(f, 4, 64, "view 7 orientation: matrix is 1x2642 of type 6, expected 3 doubles");
    expect_i32(f, 16, 5, "view 0 orientation: matrix is 3x1 of type 5, expected 3 doubles");
    expect_i32(f, 260, 2, "view 0 mean image: matrix is 2x2642 of type 6, expected a row (1 x n)");
    expect_i32(f, 42556, 0x7fffffff, "view 0: invalid network depth 2147483647");
    expect_i32(f, 42560, 7, "view 0 layer 0: unknown layer type 7");
    expect_i32(f, 42568, 1 << 30, "invalid map counts: 1 input maps, 1073741824 kernels");
    expect_i32(f, 273220, 2641, "view 0 warp pixel mask: 2642 pixels set, the warp says 2641");
    expect_i32(f, 274352, 68, "view 0 warp triangulation: landmark index 68 outside 0..67");
    expect_i32(f, 275528 + (30 * 60 + 30) * 4, -1, "pixel (30, 30) is in the mask but in no triangle");
    expect_i32(f, 275528 + 5 * 4, 97, "view 0 warp triangle ids: triangle 97 outside -1..96");
    expect_i32(f, 289940 + (30 * 60 + 30) * 4, 0, "2641 pixels set, the warp says 2642");
    /* A zero standard deviation (NormaliseWarpedToVector divides by it). */
    double zero = 0.0;
    expect_patch(f, 21420 + 8 * 7, &zero, 8, AU_ERR_FORMAT, "view 0 standard deviations: element 7 is 0");
    /* A double beyond float range where OpenFace converts to float. */
    double huge = 1e300;
    expect_patch(f, 272, &huge, 8, AU_ERR_FORMAT, "view 0 mean image: element 0 (1e+300) out of float range");
    /* Trailing data after the last view. */
    unsigned char *orig;
    size_t size;
    assert_int_equal(autest_read_file(f, &orig, &size), 0);
    unsigned char *more = calloc(1, size + 8);
    memcpy(more, orig, size);
    autest_write_file(f, more, size + 8);
    AuError err = {0};
    assert_int_equal(load_fn(f, NULL, &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "8 unexpected bytes after the last view"));
    autest_write_file(f, orig, size);
    free(more);
    free(orig);
    autest_rmtree(dir);

    assert_int_equal(load_fn("/nonexistent/validator_cnn.txt", NULL, &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/validator_cnn.txt"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_validator),
        cmocka_unit_test(test_truncations_and_corruptions),
        cmocka_unit_test(test_nonsense_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
