/* The shared CNN layer reader on small hand-built layer lists: the weight
 * rearrangements (kernels [out][in], OpenFace's im2col weight matrix, the
 * transposed fully connected weights), the two dialects' layer codes, the
 * shape walk, and rejection of nonsense codes and absurd sizes before any
 * allocation. */
#include "autest.h"

#include <stdlib.h>
#include <string.h>

#include "cnn_weights.h"
#include "model_io.h"

typedef struct Buf {
    unsigned char data[1 << 16];
    size_t n;
} Buf;

static void put_i32(Buf *b, int32_t v)
{
    memcpy(b->data + b->n, &v, 4);
    b->n += 4;
}

static void put_f32(Buf *b, float v)
{
    memcpy(b->data + b->n, &v, 4);
    b->n += 4;
}

static void put_mat_hdr(Buf *b, int rows, int cols, int type)
{
    put_i32(b, rows);
    put_i32(b, cols);
    put_i32(b, type);
}

/* Value of file kernel [in][out] at (y, x), distinct for every position. */
static float kval(int in, int out, int y, int x)
{
    return (float)(1000 * in + 100 * out + 10 * y + x);
}

/* conv (in maps -> out kernels of kh x kw), values from kval, biases -(k+1). */
static void put_conv(Buf *b, int in, int out, int kh, int kw)
{
    put_i32(b, 0);
    put_i32(b, in);
    put_i32(b, out);
    for (int k = 0; k < out; k++)
        put_f32(b, -(float)(k + 1));
    for (int i = 0; i < in; i++)
        for (int k = 0; k < out; k++) {
            put_mat_hdr(b, kh, kw, 5);
            for (int y = 0; y < kh; y++)
                for (int x = 0; x < kw; x++)
                    put_f32(b, kval(i, k, y, x));
        }
}

/* Fully connected: file weights in x out with value 10*i + o, biases 0.5 + o. */
static void put_fc(Buf *b, int in, int out)
{
    put_i32(b, 2);
    put_mat_hdr(b, out, 1, 5);
    for (int o = 0; o < out; o++)
        put_f32(b, 0.5f + (float)o);
    put_mat_hdr(b, in, out, 5);
    for (int i = 0; i < in; i++)
        for (int o = 0; o < out; o++)
            put_f32(b, (float)(10 * i + o));
}

static AuStatus read_buf(const Buf *b, AuCnnDialect d, AuCnn *cnn, AuError *err)
{
    AuReader r;
    AuStatus st = au_reader_open_mem(&r, "net.dat", b->data, b->n, err);
    if (st)
        return st;
    st = au_cnn_read(&r, d, "Net", cnn);
    au_reader_close(&r);
    return st;
}

static void test_conv_layouts(void **state)
{
    (void)state;
    /* Non-square kernels (2 rows x 3 cols), 2 input maps, 3 kernels, so that
     * a swapped index anywhere shows. */
    Buf *b = calloc(1, sizeof(Buf));
    put_i32(b, 1);
    put_conv(b, 2, 3, 2, 3);
    AuCnn cnn;
    AuError err = {0};
    assert_int_equal(read_buf(b, AU_CNN_DIALECT_MTCNN, &cnn, &err), AU_OK);
    assert_int_equal(cnn.n_layers, 1);
    const AuCnnConv *c = &cnn.layers[0].conv;
    assert_int_equal(cnn.layers[0].kind, AU_CNN_CONV);
    assert_int_equal(c->in_maps, 2);
    assert_int_equal(c->out_maps, 3);
    assert_int_equal(c->kernel_h, 2);
    assert_int_equal(c->kernel_w, 3);
    const int in = 2, out = 3, kh = 2, kw = 3;
    for (int k = 0; k < out; k++) {
        assert_true(c->bias[k] == -(float)(k + 1));
        for (int i = 0; i < in; i++)
            for (int y = 0; y < kh; y++)
                for (int x = 0; x < kw; x++) {
                    /* kernels: [out][in][y][x] */
                    assert_true(c->kernels[((k * in + i) * kh + y) * kw + x] == kval(i, k, y, x));
                    /* im2col: row i*kh*kw + x*kh + y, column k (OpenFace's
                     * transposed-then-flattened kernel columns) */
                    assert_true(c->im2col_weights[(i * kh * kw + x * kh + y) * out + k] == kval(i, k, y, x));
                }
        /* bias row last */
        assert_true(c->im2col_weights[(in * kh * kw) * out + k] == -(float)(k + 1));
    }
    au_cnn_free(&cnn);
    free(b);
}

static void test_fc_transposed_and_dialects(void **state)
{
    (void)state;
    Buf *b = calloc(1, sizeof(Buf));
    /* MTCNN: conv 3->4 (3x3) on 5x5, PReLU 4, pool 2x2/2, FC 16->5, PReLU 5, FC 5->6, sigmoid */
    put_i32(b, 7);
    put_conv(b, 3, 4, 3, 3);
    put_i32(b, 3);
    put_mat_hdr(b, 4, 1, 5);
    for (int k = 0; k < 4; k++)
        put_f32(b, 0.25f * (float)k);
    put_i32(b, 1);
    put_i32(b, 2); put_i32(b, 2); put_i32(b, 2); put_i32(b, 2);
    put_fc(b, 16, 5);
    put_i32(b, 3);
    put_mat_hdr(b, 5, 1, 5);
    for (int k = 0; k < 5; k++)
        put_f32(b, 0.1f);
    put_fc(b, 5, 6);
    put_i32(b, 4);
    AuCnn cnn;
    AuError err = {0};
    assert_int_equal(read_buf(b, AU_CNN_DIALECT_MTCNN, &cnn, &err), AU_OK);
    const AuCnnLayerKind kinds[7] = {AU_CNN_CONV, AU_CNN_PRELU, AU_CNN_MAX_POOL, AU_CNN_FULLY_CONNECTED,
                                     AU_CNN_PRELU, AU_CNN_FULLY_CONNECTED, AU_CNN_SIGMOID};
    assert_int_equal(cnn.n_layers, 7);
    for (int l = 0; l < 7; l++)
        assert_int_equal(cnn.layers[l].kind, kinds[l]);
    const AuCnnFullyConnected *fc = &cnn.layers[3].fc;
    assert_int_equal(fc->in, 16);
    assert_int_equal(fc->out, 5);
    for (int o = 0; o < 5; o++) {
        assert_true(fc->bias[o] == 0.5f + (float)o);
        for (int i = 0; i < 16; i++)
            assert_true(fc->weights[o * 16 + i] == (float)(10 * i + o)); /* out x in */
    }
    assert_true(cnn.layers[1].prelu.slopes[3] == 0.75f);
    assert_int_equal(cnn.layers[2].pool.stride_y, 2);
    /* 5x5 -> conv 3x3 -> 3x3 -> pool round(1/2)+1 = 2 (rounds half away
     * from zero, as OpenFace's round) -> 4 maps 2x2 = 16 -> column of 5 -> row of 6 */
    AuCnnShape in = {3, 5, 5};
    assert_int_equal(au_cnn_check_shapes(&cnn, in, "net.dat", "Net", &err), AU_OK);
    assert_int_equal(cnn.output.maps, 1);
    assert_int_equal(cnn.output.h, 1);
    assert_int_equal(cnn.output.w, 6);
    /* 6x6 input: 4x4 after conv, 2x2 after pooling (round(1)+1 = 2): fits too */
    in.h = in.w = 6;
    assert_int_equal(au_cnn_check_shapes(&cnn, in, "net.dat", "Net", &err), AU_OK);
    /* 7x7: 5x5 -> round(1.5)+1 = 3 -> 36 inputs, not 16 */
    in.h = in.w = 7;
    assert_int_equal(au_cnn_check_shapes(&cnn, in, "net.dat", "Net", &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "net.dat: byte offset"));
    assert_non_null(strstr(err.msg, "Net layer 3 (fully connected): takes 16 inputs"));
    /* Wrong channel count into the first convolution */
    in.maps = 1;
    in.h = in.w = 5;
    assert_int_equal(au_cnn_check_shapes(&cnn, in, "net.dat", "Net", &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "takes 3 input maps, the previous layer gives 1"));
    au_cnn_free(&cnn);

    /* The same codes in the validator dialect: 3 is ReLU and 1 carries no data. */
    b->n = 0;
    put_i32(b, 5);
    put_conv(b, 1, 2, 3, 3);
    put_i32(b, 3);
    put_i32(b, 1);
    put_fc(b, 8, 4);
    put_i32(b, 4);
    assert_int_equal(read_buf(b, AU_CNN_DIALECT_VALIDATOR, &cnn, &err), AU_OK);
    assert_int_equal(cnn.layers[1].kind, AU_CNN_RELU);
    assert_int_equal(cnn.layers[2].kind, AU_CNN_MAX_POOL);
    assert_int_equal(cnn.layers[2].pool.kernel_x, 2);
    assert_int_equal(cnn.layers[2].pool.stride_y, 2);
    assert_int_equal(cnn.layers[4].kind, AU_CNN_SIGMOID);
    AuCnnShape vin = {1, 6, 6}; /* 4x4 -> 2x2, 2 maps = 8 */
    assert_int_equal(au_cnn_check_shapes(&cnn, vin, "v", "View", &err), AU_OK);
    assert_int_equal(cnn.output.h, 4);
    assert_int_equal(cnn.output.w, 1);
    au_cnn_free(&cnn);
    free(b);
}

static void test_per_pixel_fc_and_prelu_rows(void **state)
{
    (void)state;
    Buf *b = calloc(1, sizeof(Buf));
    /* PNet's ending: FC whose input equals the map count runs per pixel. */
    put_i32(b, 3);
    put_conv(b, 3, 4, 1, 1);
    put_fc(b, 4, 6);
    put_i32(b, 3); /* PReLU after a per-pixel FC: one slope per map */
    put_mat_hdr(b, 6, 1, 5);
    for (int k = 0; k < 6; k++)
        put_f32(b, 0.5f);
    AuCnn cnn;
    AuError err = {0};
    assert_int_equal(read_buf(b, AU_CNN_DIALECT_MTCNN, &cnn, &err), AU_OK);
    AuCnnShape in = {3, 7, 9};
    assert_int_equal(au_cnn_check_shapes(&cnn, in, "p", "P", &err), AU_OK);
    assert_int_equal(cnn.output.maps, 6);
    assert_int_equal(cnn.output.h, 7);
    assert_int_equal(cnn.output.w, 9);
    au_cnn_free(&cnn);

    /* A PReLU after an FC on a single column acts on a row vector: OpenFace
     * would index rows past the first, so it is rejected. */
    b->n = 0;
    put_i32(b, 3);
    put_fc(b, 12, 6);
    put_fc(b, 6, 3);
    put_i32(b, 3);
    put_mat_hdr(b, 3, 1, 5);
    for (int k = 0; k < 3; k++)
        put_f32(b, 0.5f);
    assert_int_equal(read_buf(b, AU_CNN_DIALECT_MTCNN, &cnn, &err), AU_OK);
    AuCnnShape in2 = {3, 2, 2};
    assert_int_equal(au_cnn_check_shapes(&cnn, in2, "p", "P", &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "P layer 2 (PReLU): has 3 slopes, the previous layer gives 1 rows"));
    au_cnn_free(&cnn);
    free(b);
}

/* Expects read_buf to fail with a message containing want. */
static void expect_reject(const Buf *b, AuCnnDialect d, const char *want)
{
    AuCnn cnn;
    AuError err = {0};
    AuStatus st = read_buf(b, d, &cnn, &err);
    au_cnn_free(&cnn);
    if (st == AU_OK)
        fail_msg("accepted, expected an error containing '%s'", want);
    if (!strstr(err.msg, want) || !strstr(err.msg, "net.dat"))
        fail_msg("error '%s' does not contain '%s' and the file name", err.msg, want);
}

static void test_rejects(void **state)
{
    (void)state;
    Buf *b = calloc(1, sizeof(Buf));

    put_i32(b, 2);
    put_conv(b, 1, 1, 1, 1);
    put_i32(b, 9);
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "Net layer 1: unknown layer type 9");
    /* 5 is no layer in either dialect; OpenFace would silently skip it */
    b->n = 0;
    put_i32(b, 1);
    put_i32(b, 5);
    expect_reject(b, AU_CNN_DIALECT_VALIDATOR, "unknown layer type 5");

    b->n = 0;
    put_i32(b, 0x7fffffff);
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "invalid network depth 2147483647");
    b->n = 0;
    put_i32(b, 200); /* allowed depth, but the file ends */
    put_i32(b, 4);
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "truncated: Net has 200 layers");

    /* Absurd map counts: rejected from the counts alone. */
    b->n = 0;
    put_i32(b, 1);
    put_i32(b, 0);
    put_i32(b, 3);
    put_i32(b, 1 << 30);
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "invalid map counts: 3 input maps, 1073741824 kernels");
    b->n = 0;
    put_i32(b, 1);
    put_i32(b, 0);
    put_i32(b, -1);
    put_i32(b, 3);
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "invalid map counts");
    /* Plausible counts whose kernels cannot fit in the file. */
    b->n = 0;
    put_i32(b, 1);
    put_i32(b, 0);
    put_i32(b, 4000);
    put_i32(b, 4000);
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "needs at least");
    /* A kernel header announcing a huge matrix: rejected from the header. */
    b->n = 0;
    put_i32(b, 1);
    put_i32(b, 0);
    put_i32(b, 1);
    put_i32(b, 1);
    put_f32(b, 0.0f);
    put_mat_hdr(b, 1 << 20, 1 << 20, 5);
    put_f32(b, 0.0f);
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "matrix 1048576x1048576 needs");
    b->n -= 16;
    put_mat_hdr(b, 100000, 100, 5);
    put_f32(b, 0.0f);
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "matrix 100000x100 needs");
    b->n -= 16;
    put_mat_hdr(b, 65, 1, 5);
    for (int k = 0; k < 65; k++)
        put_f32(b, 0.0f);
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "kernel size 65x1 larger than 64x64");
    /* Kernels of a layer must share the first one's size. */
    b->n = 0;
    put_i32(b, 1);
    put_conv(b, 1, 2, 2, 2);
    memcpy(b->data + 16 + 8 + 12 + 16, &(int32_t){1}, 4); /* second kernel's rows */
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "kernel 1 of input map 0 is 1x2, the first kernel is 2x2");
    /* Kernels must be float (type 5). */
    b->n = 0;
    put_i32(b, 1);
    put_conv(b, 1, 1, 1, 1);
    memcpy(b->data + 4 + 12 + 4 + 8, &(int32_t){6}, 4);
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "expected a float matrix");
    /* Non-finite weights. */
    b->n = 0;
    put_i32(b, 1);
    put_conv(b, 1, 1, 1, 1);
    memcpy(b->data + 16, &(uint32_t){0x7fc00000u}, 4); /* bias = NaN */
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "value 0 is not a finite number");
    /* Fully connected: weights must have one column per bias. */
    b->n = 0;
    put_i32(b, 1);
    put_fc(b, 3, 2);
    memcpy(b->data + 8 + 12 + 8 + 4, &(int32_t){1}, 4); /* weights cols */
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "weights are 3x1 but there are 2 biases");
    /* Pooling parameters. */
    b->n = 0;
    put_i32(b, 1);
    put_i32(b, 1);
    put_i32(b, 2); put_i32(b, 2); put_i32(b, 0); put_i32(b, 2);
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "invalid pooling kernel 2x2 / stride 0x2");
    /* Truncated inside the bias list. */
    b->n = 0;
    put_i32(b, 1);
    put_conv(b, 1, 3, 1, 1);
    b->n = 20;
    expect_reject(b, AU_CNN_DIALECT_MTCNN, "truncated");
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_layouts),
        cmocka_unit_test(test_fc_transposed_and_dialects),
        cmocka_unit_test(test_per_pixel_fc_and_prelu_rows),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
