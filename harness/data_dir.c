#include "data_dir.h"

#include <stdio.h>
#include <stdlib.h>

const char *auh_data_dir(void)
{
    const char *d = getenv("AU_DATA_DIR");
    return d && *d ? d : AU_DEFAULT_DATA_DIR;
}

void auh_default_models_dir(char *out, size_t n)
{
    snprintf(out, n, "%s/openface/models", auh_data_dir());
}
