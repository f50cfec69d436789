/* libFuzzer target: the CCNF patch-expert loader (au_ccnf_load), input as one
 * file; a file that loads also gets its Sigmas computed for every window size
 * it holds components for (small windows and files only, to keep runs
 * fast), as the tracker does before use. */
#include "fuzz_common.h"

#include "ccnf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size);
    AuCcnf c;
    AuError err = {0};
    AuStatus s = au_ccnf_load(&c, path, &err);
    fuzz_check_error(s, err.msg, "input");
    /* Sigmas of a real-sized file (the eye model's seed: 28 experts) take most
     * of a second under ASan; fuzzing spends its time better on small files. */
    if (s == AU_OK && size <= 32768) {
        for (int k = 0; k < c.n_windows; k++) {
            int ws = c.windows[k].window_size;
            if (ws < 1 || ws > 11)
                continue;
            AuError e2 = {0};
            AuStatus s2 = au_ccnf_prepare_sigmas(&c, &c, ws, &e2);
            fuzz_check_error(s2, e2.msg, NULL);
        }
    }
    au_ccnf_free(&c);
    return 0;
}
