/* libFuzzer target: both triangulation loaders (tris_68.txt with its count and
 * comments, and the single-matrix form of AU_predictors/tris_68_full.txt). */
#include "fuzz_common.h"

#include "clnf_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size);
    AuTris t;
    AuError err = {0};
    AuStatus s = au_tris_load(&t, path, &err);
    fuzz_check_error(s, err.msg, "input");
    au_tris_free(&t);

    AuMat m = {0};
    AuError err2 = {0};
    s = au_tris_load_single(&m, path, &err2);
    fuzz_check_error(s, err2.msg, "input");
    au_mat_free(&m);
    return 0;
}
