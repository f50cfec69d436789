/* libFuzzer target: the MTCNN model loader (au_mtcnn_model_load) on a bundle
 * (see fuzz_common.h): part 0 is MTCNN_detector.txt, naming the network
 * files "1", "2", "3" (PNet, RNet, ONet) in the seeds. */
#include "fuzz_common.h"

#include "mtcnn_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_bundle_write(data, size);
    AuMtcnnModel m;
    AuError err = {0};
    AuStatus s = au_mtcnn_model_load(&m, path, &err);
    fuzz_check_error(s, err.msg, fuzz_dir());
    au_mtcnn_model_free(&m);
    return 0;
}
