/* The MTCNN detector's networks on OpenFace's real files: layer lists, kernel
 * shapes and weight values (cross-checked against the raw bytes), the load
 * time of the whole CNN model set, and rejection of truncated, corrupted,
 * missing and nonsense files. */
#include "autest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mtcnn_model.h"
#include "validator_model.h"

#define MTCNN_DIR "openface/models/model/mtcnn_detector"

static const char *mtcnn_txt(char *buf, size_t n)
{
    const char *p = autest_path(buf, n, MTCNN_DIR "/MTCNN_detector.txt");
    autest_require_file(p);
    return p;
}

static void assert_kinds(const AuCnn *cnn, const AuCnnLayerKind *kinds, int n)
{
    assert_int_equal(cnn->n_layers, n);
    for (int l = 0; l < n; l++)
        if (cnn->layers[l].kind != kinds[l])
            fail_msg("layer %d is %s, expected %s", l, au_cnn_layer_kind_name(cnn->layers[l].kind),
                     au_cnn_layer_kind_name(kinds[l]));
}

static void assert_conv(const AuCnnLayer *L, int in, int out, int kh, int kw)
{
    assert_int_equal(L->kind, AU_CNN_CONV);
    assert_int_equal(L->conv.in_maps, in);
    assert_int_equal(L->conv.out_maps, out);
    assert_int_equal(L->conv.kernel_h, kh);
    assert_int_equal(L->conv.kernel_w, kw);
}

static void assert_pool(const AuCnnLayer *L, int k, int s)
{
    assert_int_equal(L->kind, AU_CNN_MAX_POOL);
    assert_int_equal(L->pool.kernel_x, k);
    assert_int_equal(L->pool.kernel_y, k);
    assert_int_equal(L->pool.stride_x, s);
    assert_int_equal(L->pool.stride_y, s);
}

static void test_real_networks(void **state)
{
    (void)state;
    char p[4096];
    AuMtcnnModel m;
    AuError err = {0};
    if (au_mtcnn_model_load(&m, mtcnn_txt(p, sizeof(p)), &err) != AU_OK)
        fail_msg("%s", err.msg);

    /* Layer lists as dumped by an independent Python reader of the raw files. */
    const AuCnnLayerKind C = AU_CNN_CONV, R = AU_CNN_PRELU, P = AU_CNN_MAX_POOL, F = AU_CNN_FULLY_CONNECTED;
    const AuCnnLayerKind pnet[] = {C, R, P, C, R, C, R, F};
    const AuCnnLayerKind rnet[] = {C, R, P, C, R, P, C, R, F, R, F};
    const AuCnnLayerKind onet[] = {C, R, P, C, R, P, C, R, P, C, R, F, R, F};
    assert_kinds(&m.pnet, pnet, 8);
    assert_kinds(&m.rnet, rnet, 11);
    assert_kinds(&m.onet, onet, 14);

    /* PNet: 10 maps of 3x3 over 3 channels, 10->16, 16->32, per-pixel FC 32->6. */
    assert_conv(&m.pnet.layers[0], 3, 10, 3, 3);
    assert_pool(&m.pnet.layers[2], 2, 2);
    assert_conv(&m.pnet.layers[3], 10, 16, 3, 3);
    assert_conv(&m.pnet.layers[5], 16, 32, 3, 3);
    assert_int_equal(m.pnet.layers[1].prelu.n, 10);
    assert_int_equal(m.pnet.layers[7].fc.in, 32);
    assert_int_equal(m.pnet.layers[7].fc.out, 6);
    assert_int_equal(m.pnet.output.maps, 6);
    assert_int_equal(m.pnet.output.h, 1);
    assert_int_equal(m.pnet.output.w, 1);

    /* RNet: 3->28, pool 3/2, 28->48, pool 3/2, 48->64 (2x2), FC 576->128, FC 128->6. */
    assert_conv(&m.rnet.layers[0], 3, 28, 3, 3);
    assert_pool(&m.rnet.layers[2], 3, 2);
    assert_conv(&m.rnet.layers[3], 28, 48, 3, 3);
    assert_pool(&m.rnet.layers[5], 3, 2);
    assert_conv(&m.rnet.layers[6], 48, 64, 2, 2);
    assert_int_equal(m.rnet.layers[8].fc.in, 576);
    assert_int_equal(m.rnet.layers[8].fc.out, 128);
    assert_int_equal(m.rnet.layers[9].prelu.n, 128);
    assert_int_equal(m.rnet.layers[10].fc.in, 128);
    assert_int_equal(m.rnet.layers[10].fc.out, 6);
    assert_int_equal(m.rnet.output.w, 6);

    /* ONet: 3->32, 32->64, 64->64, pool 2/2, 64->128 (2x2), FC 1152->256, FC 256->16. */
    assert_conv(&m.onet.layers[0], 3, 32, 3, 3);
    assert_conv(&m.onet.layers[3], 32, 64, 3, 3);
    assert_conv(&m.onet.layers[6], 64, 64, 3, 3);
    assert_pool(&m.onet.layers[8], 2, 2);
    assert_conv(&m.onet.layers[9], 64, 128, 2, 2);
    assert_int_equal(m.onet.layers[11].fc.in, 1152);
    assert_int_equal(m.onet.layers[11].fc.out, 256);
    assert_int_equal(m.onet.layers[13].fc.in, 256);
    assert_int_equal(m.onet.layers[13].fc.out, 16);
    assert_int_equal(m.onet.output.w, 16);

    /* Values read from the raw bytes with Python's struct (offsets from the
     * layout: PNet biases at byte 16, first kernel's data at 68, each 3x3
     * kernel 48 bytes with its header), e.g.
     *   struct.unpack_from('<f', open('PNet.dat','rb').read(), 68)[0]
     * and confirmed with `od -A d -t f4 -j 68 -N 36 PNet.dat`. */
    const AuCnnConv *c0 = &m.pnet.layers[0].conv;
    assert_true(c0->bias[0] == (float)-0.08283686637878418);
    assert_true(c0->bias[9] == (float)0.6673176288604736);
    /* file kernel [in 0][out 0]: (0,0), (0,1), (2,2) */
    assert_true(c0->kernels[0] == (float)-0.08164715766906738);
    assert_true(c0->kernels[1] == (float)0.8359154462814331);
    assert_true(c0->kernels[8] == (float)-0.5807721018791199);
    /* file kernel [in 1][out 2] (the 13th kernel, data at 644): (0,1) and (1,0),
     * stored at [out 2][in 1] */
    assert_true(c0->kernels[(2 * 3 + 1) * 9 + 0 * 3 + 1] == (float)0.2685672342777252);
    assert_true(c0->kernels[(2 * 3 + 1) * 9 + 1 * 3 + 0] == (float)0.5240095257759094);
    /* the same values in OpenFace's im2col weights: row in*9 + x*3 + y, column out */
    assert_true(c0->im2col_weights[(9 + 1 * 3 + 0) * 10 + 2] == (float)0.2685672342777252);
    assert_true(c0->im2col_weights[(9 + 0 * 3 + 1) * 10 + 2] == (float)0.5240095257759094);
    assert_true(c0->im2col_weights[27 * 10 + 9] == (float)0.6673176288604736); /* bias row */
    /* PReLU slopes at 1512 */
    assert_true(m.pnet.layers[1].prelu.slopes[0] == (float)-0.6254063248634338);
    assert_true(m.pnet.layers[1].prelu.slopes[9] == (float)-1.2783164978027344);
    /* FC: biases at 34284, file weights (32 x 6) at 34320; stored 6 x 32 */
    const AuCnnFullyConnected *fc = &m.pnet.layers[7].fc;
    assert_true(fc->bias[0] == (float)0.0005302674253471196);
    assert_true(fc->bias[5] == (float)-0.012187507003545761);
    assert_true(fc->weights[0 * 32 + 1] == (float)0.11779201775789261);  /* file [1][0] */
    assert_true(fc->weights[1 * 32 + 0] == (float)-0.3428838551044464);  /* file [0][1] */
    assert_true(fc->weights[5 * 32 + 31] == (float)0.018483735620975494); /* file [31][5] */
    /* RNet's 2x2 kernels (data at 69532) and ONet's last bias (at 1713132) */
    assert_true(m.rnet.layers[6].conv.kernels[1] == (float)0.02350485697388649);
    assert_true(m.onet.layers[13].fc.bias[0] == (float)-0.17477238178253174);
    au_mtcnn_model_free(&m);
    au_mtcnn_model_free(&m); /* freeing twice is harmless */
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void test_load_time(void **state)
{
    (void)state;
    char p[4096], v[4096];
    mtcnn_txt(p, sizeof(p));
    autest_path(v, sizeof(v), "openface/models/model/detection_validation/validator_cnn.txt");
    autest_require_file(v);
    /* Best of three, so that a busy shared machine does not fail the test. */
    double best = 1e9;
    for (int k = 0; k < 3; k++) {
        AuMtcnnModel m;
        AuValidatorModel val;
        AuError err = {0};
        double t0 = now_s();
        if (au_mtcnn_model_load(&m, p, &err) || au_validator_model_load(&val, v, &err))
            fail_msg("%s", err.msg);
        double t = now_s() - t0;
        au_mtcnn_model_free(&m);
        au_validator_model_free(&val);
        if (t < best)
            best = t;
    }
    print_message("MTCNN + validator load: %.1f ms\n", best * 1e3);
    assert_true(best < 0.2);
}

/* ---- bad input on a copy of the model folder ---- */

typedef struct Tmp {
    char dir[1024], txt[1200];
} Tmp;

static void tmp_copy(Tmp *t)
{
    char src[4096];
    autest_path(src, sizeof(src), MTCNN_DIR);
    autest_mkdtemp(t->dir, sizeof(t->dir));
    char dst[1100];
    snprintf(dst, sizeof(dst), "%s/m", t->dir);
    autest_copy_tree(src, dst);
    snprintf(t->txt, sizeof(t->txt), "%s/MTCNN_detector.txt", dst);
}

static AuStatus load_fn(const char *path, void *ctx, AuError *err)
{
    (void)ctx;
    AuMtcnnModel m;
    AuStatus st = au_mtcnn_model_load(&m, path, err);
    au_mtcnn_model_free(&m);
    return st;
}

static void file_in(char *out, size_t n, const Tmp *t, const char *name)
{
    snprintf(out, n, "%s/m/%s", t->dir, name);
}

static void test_truncations_and_corruptions(void **state)
{
    (void)state;
    Tmp t;
    tmp_copy(&t);
    const char *nets[3] = {"PNet.dat", "RNet.dat", "ONet.dat"};
    for (int k = 0; k < 3; k++) {
        char f[1300];
        file_in(f, sizeof(f), &t, nets[k]);
        autest_check_truncations(f, t.txt, load_fn, NULL, 40, 0);
        int rejected = autest_check_corruptions(f, t.txt, load_fn, NULL, 25, 4, 1234u + (uint32_t)k);
        print_message("%s: %d of 25 corrupted copies rejected\n", nets[k], rejected);
    }
    autest_check_truncations(t.txt, t.txt, load_fn, NULL, 12, 1);
    autest_check_corruptions(t.txt, t.txt, load_fn, NULL, 20, 2, 99u);
    /* the copies were restored: the tree loads again */
    AuError err = {0};
    assert_int_equal(load_fn(t.txt, NULL, &err), AU_OK);
    autest_rmtree(t.dir);
}

/* Overwrites 4 bytes of a file copy at off with v, loads, expects an error
 * naming the file and containing want, restores. */
static void expect_patch_rejected(const Tmp *t, const char *name, size_t off, int32_t v, const char *want)
{
    char f[1300];
    file_in(f, sizeof(f), t, name);
    unsigned char *orig;
    size_t size;
    assert_int_equal(autest_read_file(f, &orig, &size), 0);
    unsigned char *mod = malloc(size);
    memcpy(mod, orig, size);
    memcpy(mod + off, &v, 4);
    autest_write_file(f, mod, size);
    AuError err = {0};
    AuStatus st = load_fn(t->txt, NULL, &err);
    autest_write_file(f, orig, size);
    free(mod);
    free(orig);
    if (st == AU_OK)
        fail_msg("%s patched at %zu accepted", name, off);
    if (!strstr(err.msg, want) || !strstr(err.msg, name) || !strstr(err.msg, "MTCNN_detector.txt"))
        fail_msg("%s patched at %zu: '%s' lacks '%s' or the file names", name, off, err.msg, want);
}

static void test_nonsense_values(void **state)
{
    (void)state;
    Tmp t;
    tmp_copy(&t);
    /* Offsets in PNet.dat: depth 0, first layer code 4, in maps 8, kernels 12,
     * biases 16..56, first kernel header 56 (rows, cols, type), 3x3 kernels of
     * 48 bytes each; FC weights header at 34308. */
    expect_patch_rejected(&t, "PNet.dat", 4, 7, "PNet layer 0: unknown layer type 7");
    expect_patch_rejected(&t, "PNet.dat", 0, 1000000, "invalid network depth 1000000");
    expect_patch_rejected(&t, "PNet.dat", 12, 1 << 30, "invalid map counts: 3 input maps, 1073741824 kernels");
    expect_patch_rejected(&t, "PNet.dat", 12, 4000, "needs at least");
    expect_patch_rejected(&t, "PNet.dat", 56, 1 << 20, "truncated");
    expect_patch_rejected(&t, "PNet.dat", 56 + 5 * 48, 2, "kernel 5 of input map 0 is 2x3");
    expect_patch_rejected(&t, "PNet.dat", 34316, 6, "expected a float matrix");
    expect_patch_rejected(&t, "PNet.dat", 16, 0x7f800000, "not a finite number"); /* bias = +Inf */
    /* 2 input maps instead of 3 shifts every later byte: whatever follows is
     * rejected, naming the file. */
    expect_patch_rejected(&t, "PNet.dat", 8, 2, "PNet");
    /* RNet's first pooling (code at 4288, kernel 3x3 at 4292, strides at 4300
     * and 4304) with stride 3: the byte layout stays valid, but a 24x24 crop
     * now reaches the first FC as 64 maps of 1x1, not the 576 values it takes. */
    expect_patch_rejected(&t, "RNet.dat", 4300, 3, "RNet layer 8 (fully connected): takes 576 inputs");
    autest_rmtree(t.dir);
}

static void write_txt(const Tmp *t, const char *content)
{
    autest_write_file(t->txt, content, strlen(content));
}

static void expect_txt_error(const Tmp *t, const char *content, const char *want)
{
    write_txt(t, content);
    AuError err = {0};
    if (load_fn(t->txt, NULL, &err) == AU_OK)
        fail_msg("accepted:\n%s", content);
    if (!strstr(err.msg, want) || !strstr(err.msg, "MTCNN_detector.txt"))
        fail_msg("'%s' lacks '%s' or the file name", err.msg, want);
}

static void test_txt_variants(void **state)
{
    (void)state;
    Tmp t;
    tmp_copy(&t);
    AuError err = {0};
    /* CRLF line ends, blank lines, extra spaces, other modules, any order. */
    write_txt(&t, "ONet ONet.dat\r\n\r\n  RNet\tRNet.dat  \r\nLNet unused.dat\nPNet PNet.dat");
    if (load_fn(t.txt, NULL, &err) != AU_OK)
        fail_msg("%s", err.msg);
    expect_txt_error(&t, "PNet PNet.dat\nRNet RNet.dat\n", "no ONet line");
    expect_txt_error(&t, "", "no PNet line");
    expect_txt_error(&t, "PNet PNet.dat\nPNet PNet.dat\n", ":2: PNet named a second time (first on line 1)");
    expect_txt_error(&t, "PNet\nRNet RNet.dat\nONet ONet.dat\n", ":1: PNet line names no file");
    /* a missing network file: named, with the line naming it */
    expect_txt_error(&t, "PNet PNet.dat\nRNet missing_RNet.dat\nONet ONet.dat\n", ":2: RNet: ");
    expect_txt_error(&t, "PNet PNet.dat\nRNet missing_RNet.dat\nONet ONet.dat\n", "missing_RNet.dat: cannot open");
    /* a network in the wrong slot: RNet's file as PNet fails PNet's checks */
    expect_txt_error(&t, "PNet RNet.dat\nRNet RNet.dat\nONet ONet.dat\n", "RNet.dat");
    /* trailing bytes after the last layer */
    char f[1300];
    file_in(f, sizeof(f), &t, "PNet.dat");
    unsigned char *orig;
    size_t size;
    assert_int_equal(autest_read_file(f, &orig, &size), 0);
    unsigned char *more = calloc(1, size + 4);
    memcpy(more, orig, size);
    autest_write_file(f, more, size + 4);
    expect_txt_error(&t, "PNet PNet.dat\nRNet RNet.dat\nONet ONet.dat\n", "4 unexpected bytes after the last layer");
    autest_write_file(f, orig, size);
    free(more);
    free(orig);
    autest_rmtree(t.dir);

    /* The .txt itself missing */
    AuMtcnnModel m;
    assert_int_equal(au_mtcnn_model_load(&m, "/nonexistent/MTCNN_detector.txt", &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/MTCNN_detector.txt"));
    au_mtcnn_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_networks),
        cmocka_unit_test(test_load_time),
        cmocka_unit_test(test_truncations_and_corruptions),
        cmocka_unit_test(test_nonsense_values),
        cmocka_unit_test(test_txt_variants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
