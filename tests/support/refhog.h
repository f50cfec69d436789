/* Reading OpenFace's .hog files (RecorderHOG) in tests: per frame int32
 * num_cols, int32 num_rows, int32 num_channels, float32 success (1 or -1),
 * then num_cols*num_rows*num_channels float32 values (for each cell row, each
 * cell column, the channels). */
#ifndef AUTEST_REFHOG_H
#define AUTEST_REFHOG_H

typedef struct RefHog {
    int n_frames;
    int rows, cols, channels;
    int len;        /* rows * cols * channels */
    float *success; /* n_frames values, 1 or -1 */
    float *values;  /* n_frames x len */
} RefHog;

/* Loads path; fails the test (cmocka fail_msg) on any error or when the
 * frames do not all have the same size. */
void refhog_load(RefHog *h, const char *path);
void refhog_free(RefHog *h);
static inline const float *refhog_frame(const RefHog *h, int i) { return h->values + (long)i * h->len; }

#endif
