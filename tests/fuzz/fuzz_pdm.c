/* libFuzzer target: the PDM text loader (au_pdm_load), input as one file. */
#include "fuzz_common.h"

#include "pdm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size);
    AuPdm p;
    AuError err = {0};
    AuStatus s = au_pdm_load(&p, path, &err);
    fuzz_check_error(s, err.msg, "input");
    if (s == AU_OK) {
        /* A loaded PDM must be usable: one shape from the mean (all-zero local parameters). */
        float *local = calloc((size_t)p.n_modes + 1, sizeof(float));
        float *shape = malloc(3 * (size_t)p.n_points * sizeof(float) + 1);
        if (!local || !shape)
            abort();
        au_pdm_shape3d(&p, local, shape);
        free(local);
        free(shape);
    }
    au_pdm_free(&p);
    return 0;
}
