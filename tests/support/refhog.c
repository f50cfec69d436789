#include "refhog.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autest.h"

static int32_t get_i32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int32_t v;
    memcpy(&v, &u, 4);
    return v;
}

static float get_f32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float v;
    memcpy(&v, &u, 4);
    return v;
}

void refhog_load(RefHog *h, const char *path)
{
    memset(h, 0, sizeof(*h));
    unsigned char *data;
    size_t size;
    autest_require_file(path);
    if (autest_read_file(path, &data, &size))
        fail_msg("cannot read %s", path);
    if (size < 16)
        fail_msg("%s: %zu bytes, too short for one frame", path, size);
    h->cols = get_i32(data);
    h->rows = get_i32(data + 4);
    h->channels = get_i32(data + 8);
    if (h->cols < 1 || h->rows < 1 || h->channels < 1 || h->cols > 1000 || h->rows > 1000 || h->channels > 1000)
        fail_msg("%s: bad frame size %d x %d x %d", path, h->cols, h->rows, h->channels);
    h->len = h->cols * h->rows * h->channels;
    size_t frame_bytes = 16 + 4 * (size_t)h->len;
    if (size % frame_bytes)
        fail_msg("%s: %zu bytes is not a whole number of %zu-byte frames", path, size, frame_bytes);
    h->n_frames = (int)(size / frame_bytes);
    h->success = malloc(sizeof(float) * (size_t)h->n_frames);
    h->values = malloc(sizeof(float) * (size_t)h->n_frames * (size_t)h->len);
    for (int f = 0; f < h->n_frames; f++) {
        const unsigned char *p = data + (size_t)f * frame_bytes;
        if (get_i32(p) != h->cols || get_i32(p + 4) != h->rows || get_i32(p + 8) != h->channels)
            fail_msg("%s: frame %d has a different size", path, f + 1);
        h->success[f] = get_f32(p + 12);
        for (int i = 0; i < h->len; i++)
            h->values[(size_t)f * (size_t)h->len + (size_t)i] = get_f32(p + 16 + 4 * (size_t)i);
    }
    free(data);
}

void refhog_free(RefHog *h)
{
    free(h->success);
    free(h->values);
    memset(h, 0, sizeof(*h));
}
