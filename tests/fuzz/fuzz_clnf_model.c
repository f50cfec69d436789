/* libFuzzer target: the CLNF model loader (au_clnf_model_load: main list,
 * LandmarkDetector list, PDM, triangulations, CCNF scales, part models) on a
 * bundle (see fuzz_common.h): part 0 is the main list; the seeds name the
 * other parts "1", "2", ... */
#include "fuzz_common.h"

#include "clnf_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_bundle_write(data, size);
    AuClnfModel m;
    AuError err = {0};
    AuStatus s = au_clnf_model_load(&m, path, &err);
    fuzz_check_error(s, err.msg, NULL);
    au_clnf_model_free(&m);
    return 0;
}
