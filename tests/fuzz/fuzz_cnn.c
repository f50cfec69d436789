/* libFuzzer target: the CNN layer-list reader (au_cnn_read, both dialects)
 * from memory, its shape check, and, for a network the check accepts, one
 * forward pass: au_cnn_check_shapes promises that inference then never reads
 * outside its arrays, and this holds it to that.
 *
 * Input: byte 0 picks the dialect (bit 0) and the input size (bits 1-3: one
 * of MTCNN's 12, 24, 48, the validator seed's 4, or other small sizes); byte 1 the number of input maps
 * (1-4); the rest is the layer list as stored in the model files. */
#include "fuzz_common.h"

#include "cnn.h"
#include "cnn_weights.h"
#include "model_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const int sizes[8] = {12, 24, 48, 4, 1, 2, 3, 7};
    AuCnnDialect dialect = (data[0] & 1) ? AU_CNN_DIALECT_VALIDATOR : AU_CNN_DIALECT_MTCNN;
    int side = sizes[(data[0] >> 1) & 7];
    int maps = 1 + (data[1] & 3);
    AuReader r;
    AuError err = {0};
    if (au_reader_open_mem(&r, "net.dat", data + 2, size - 2, &err) != AU_OK)
        abort();
    AuCnn cnn = {0};
    AuStatus s = au_cnn_read(&r, dialect, "Net", &cnn);
    fuzz_check_error(s, err.msg, "net.dat");
    au_reader_close(&r);
    if (s == AU_OK) {
        AuCnnShape in = {maps, side, side};
        AuError e2 = {0};
        s = au_cnn_check_shapes(&cnn, in, "net.dat", "Net", &e2);
        fuzz_check_error(s, e2.msg, "net.dat");
        if (s == AU_OK) {
            size_t n = (size_t)maps * (size_t)side * (size_t)side;
            float *x = malloc(n * sizeof(float));
            if (!x)
                abort();
            for (size_t i = 0; i < n; i++)
                x[i] = (float)((i * 37) % 255) / 255.0f;
            AuCnnWork w = {0};
            const float *out = NULL;
            AuCnnShape out_shape;
            AuError e3 = {0};
            s = au_cnn_forward(&cnn, &w, x, in, &out, &out_shape, &e3);
            fuzz_check_error(s, e3.msg, NULL);
            if (s == AU_OK) {
                /* touch every output value: ASan catches a shape that lies */
                volatile float sum = 0;
                size_t no = (size_t)out_shape.maps * (size_t)out_shape.h * (size_t)out_shape.w;
                for (size_t i = 0; i < no; i++)
                    sum += out[i];
                (void)sum;
            }
            au_cnn_work_free(&w);
            free(x);
        }
    }
    au_cnn_free(&cnn);
    return 0;
}
