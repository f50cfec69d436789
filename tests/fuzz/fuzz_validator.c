/* libFuzzer target: the detection validator loader (au_validator_model_load),
 * input as one file. */
#include "fuzz_common.h"

#include "validator_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size);
    AuValidatorModel m;
    AuError err = {0};
    AuStatus s = au_validator_model_load(&m, path, &err);
    fuzz_check_error(s, err.msg, "input");
    au_validator_model_free(&m);
    return 0;
}
