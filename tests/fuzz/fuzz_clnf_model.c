/* libFuzzer target: the CLNF model loader (au_clnf_model_load: main list,
 * LandmarkDetector list, PDM, triangulations, CCNF scales, part models) on a
 * bundle (see fuzz_common.h): part 0 is the main list; the seeds name the
 * other parts "1", "2", ...
 *
 * A model the loader accepts is then used as the tracker uses it, on a small
 * synthetic image: Sigmas prepared, a CLNF context made, and one landmark
 * detection (fit at every scale plus the part models) from a face box in the
 * image centre (inputs up to 32 kB). The loader's consistency checks must
 * make that safe. */
#include "fuzz_common.h"

#include <math.h>

#include "clnf.h"
#include "clnf_model.h"
#include "image.h"

#define FUZZ_IMG 96

static void use_model(AuClnfModel *m)
{
    AuClnfParams params;
    au_clnf_params_init(&params, m->main_path);
    AuError err = {0};
    AuStatus s = au_clnf_prepare_sigmas(m, &params, &err);
    fuzz_check_error(s, err.msg, NULL);
    if (s != AU_OK)
        return;
    AuClnf c;
    s = au_clnf_init(&c, m, NULL, &err);
    fuzz_check_error(s, err.msg, NULL);
    if (s != AU_OK)
        return;
    AuImageF32 img = {0};
    if (au_image_f32_alloc(&img, FUZZ_IMG, FUZZ_IMG, &err) != AU_OK)
        abort();
    for (int y = 0; y < FUZZ_IMG; y++)
        for (int x = 0; x < FUZZ_IMG; x++)
            img.data[(size_t)y * img.stride + (size_t)x] =
                (float)(128.0 + 100.0 * sin(0.3 * x) * cos(0.2 * y));
    /* a modest scale in the image centre, no rotation */
    float global[6] = {1.0f, 0.0f, 0.0f, 0.0f, FUZZ_IMG / 2.0f, FUZZ_IMG / 2.0f};
    au_clnf_set_params(&c, global, NULL);
    int fit_success = 0;
    s = au_clnf_detect_landmarks(&c, &img, &params, &fit_success, &err);
    fuzz_check_error(s, err.msg, NULL);
    au_image_f32_free(&img);
    au_clnf_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_bundle_write(data, size);
    AuClnfModel m;
    AuError err = {0};
    AuStatus s = au_clnf_model_load(&m, path, &err);
    fuzz_check_error(s, err.msg, NULL);
    /* Using a real-sized model (the eye model's seed: 220 kB, Sigmas of
     * 28 points x 2 scales) takes about a second under ASan; fuzzing spends
     * its time better on small models there. */
    if (s == AU_OK && size <= 32768)
        use_model(&m);
    au_clnf_model_free(&m);
    return 0;
}
