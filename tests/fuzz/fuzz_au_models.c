/* libFuzzer target: the AU model loader (au_au_models_load: main_*_svms.txt,
 * the AU lists and the SVR/SVM .dat files) on a bundle (see fuzz_common.h):
 * part 0 is the main file; the seeds name the other parts "1", "2", ... */
#include "fuzz_common.h"

#include "au_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_bundle_write(data, size);
    AuAuModels m;
    AuError err = {0};
    AuStatus s = au_au_models_load(&m, path, &err);
    fuzz_check_error(s, err.msg, NULL);
    if (s == AU_OK) {
        /* the accessors must stay inside what was loaded */
        for (int i = 0; i < au_au_models_intensity_count(&m); i++) {
            const AuAuModel *am = au_au_models_intensity(&m, i);
            volatile double sum = am->bias;
            for (int k = 0; k < am->feature_dim; k++)
                sum += am->weights[k] + am->means[k];
            (void)sum;
            (void)au_au_models_intensity_sorted_index(&m, i);
            (void)au_au_models_intensity_name(&m, i);
        }
        for (int i = 0; i < au_au_models_presence_count(&m); i++) {
            const AuAuModel *am = au_au_models_presence(&m, i);
            volatile double sum = am->bias;
            for (int k = 0; k < am->feature_dim; k++)
                sum += am->weights[k] + am->means[k];
            (void)sum;
            (void)au_au_models_presence_sorted_index(&m, i);
        }
    }
    au_au_models_free(&m);
    return 0;
}
