/* libFuzzer target: the detection validator loader (au_validator_model_load),
 * input as one file. A validator the loader accepts is then run once, as the
 * tracker runs it, on a synthetic gray image with landmarks spread over it for
 * the view facing forward: the loader's consistency checks promise that
 * the warp, the normalisation and the CNN stay inside their arrays. */
#include "fuzz_common.h"

#include "image.h"
#include "validator.h"
#include "validator_model.h"

#define FUZZ_IMG 80

static void use_model(const AuValidatorModel *m)
{
    AuError err = {0};
    AuImageU8 gray = {0};
    if (au_image_u8_alloc(&gray, FUZZ_IMG, FUZZ_IMG, 1, &err) != AU_OK)
        abort();
    for (int y = 0; y < FUZZ_IMG; y++)
        for (int x = 0; x < FUZZ_IMG; x++)
            au_image_u8_row(&gray, y)[x] = (uint8_t)((x * 7 + y * 13) & 255);
    /* the view the check will pick for rotation 0 is not known here: give
     * landmarks for each view's count, the check refuses a wrong count */
    AuValidator v;
    au_validator_init(&v, m);
    for (int k = 0; k < m->n_views; k++) {
        int n = m->views[k].paw.n_landmarks;
        float *lm = malloc(2 * (size_t)n * sizeof(float) + 1);
        if (!lm)
            abort();
        for (int i = 0; i < n; i++) {
            lm[i] = 10.0f + (float)((i * 37) % 60);
            lm[i + n] = 10.0f + (float)((i * 53) % 60);
        }
        double rot[3] = {0, 0, 0}, certainty = 0;
        AuError e2 = {0};
        AuStatus s = au_validator_check(&v, rot, &gray, lm, n, &certainty, &e2);
        fuzz_check_error(s, e2.msg, NULL);
        free(lm);
    }
    au_validator_free(&v);
    au_image_u8_free(&gray);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size);
    AuValidatorModel m;
    AuError err = {0};
    AuStatus s = au_validator_model_load(&m, path, &err);
    fuzz_check_error(s, err.msg, "input");
    if (s == AU_OK)
        use_model(&m);
    au_validator_model_free(&m);
    return 0;
}
