/* Where the harness finds models and data: --models/--data flags, then
 * $AU_DATA_DIR, then the data folder scripts/setup.sh fills. */
#ifndef AUH_DATA_DIR_H
#define AUH_DATA_DIR_H

#include <stddef.h>

/* The data folder (holds openface/ and datasets/). */
const char *auh_data_dir(void);
/* OpenFace's model folder (holds model/ and AU_predictors/) inside the data folder. */
void auh_default_models_dir(char *out, size_t n);

#endif
