/* libFuzzer target: the OpenFace CSV parser (auh_of_csv_parse) from memory,
 * then every accessor on every row it accepted. */
#include "fuzz_common.h"

#include "openface_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    AuhOfCsv csv;
    AuError err = {0};
    AuStatus s = auh_of_csv_parse(&csv, "input.csv", (const char *)data, size, &err);
    fuzz_check_error(s, err.msg, "input.csv");
    if (s == AU_OK) {
        volatile double sum = 0;
        for (size_t r = 0; r < csv.n_rows; r++) {
            sum += auh_of_csv_frame(&csv, r) + auh_of_csv_face_id(&csv, r) + auh_of_csv_timestamp(&csv, r) +
                   auh_of_csv_confidence(&csv, r) + auh_of_csv_success(&csv, r) + auh_of_csv_landmark_x(&csv, r, 0) +
                   auh_of_csv_landmark_y(&csv, r, 67) + auh_of_csv_au(&csv, r, "AU01_r");
        }
        (void)sum;
    }
    auh_of_csv_free(&csv);
    return 0;
}
