/* Test helpers for the CLNF-fitting intermediates of OpenFace
 * (reference/intermediates/<video>/): the patch responses OpenFace computed
 * for each (frame, call, scale), and look-ups of fit rows. */
#ifndef AUTEST_CLNFREF_H
#define AUTEST_CLNFREF_H

#include "refcsv.h"

#define CLNFREF_MAX_POINTS 68

/* The responses of one main-model scale of one call. */
typedef struct ClnfRefScale {
    int frame, call, scale, window, view;
    double patch_scaling;
    int n;                                  /* landmarks (68) */
    int visible[CLNFREF_MAX_POINTS];
    const float *resp[CLNFREF_MAX_POINTS]; /* window x window, NULL when invisible */
    float lmk[2][CLNFREF_MAX_POINTS];      /* lmk_x, lmk_y */
    float ref[2][CLNFREF_MAX_POINTS];      /* ref_x, ref_y */
    float img_to_ref[4], ref_to_img[4];    /* row-major 2x2 */
    float warp[CLNFREF_MAX_POINTS][6];     /* 2x3 row-major */
    int aoi_w, aoi_h;
    long aoi_offset[CLNFREF_MAX_POINTS];   /* into patch_aoi.f32, -1 = none */
} ClnfRefScale;

typedef struct ClnfRefResponses {
    int n_scales;
    ClnfRefScale *scales;
    float *data;   /* patch_responses.f32 */
    size_t count;
} ClnfRefResponses;

/* Loads patch_response_index.csv and patch_responses.f32 of dir
 * ("openface/reference/intermediates/<video>", relative to the data folder). */
void clnfref_load_responses(ClnfRefResponses *r, const char *dir);
void clnfref_free_responses(ClnfRefResponses *r);
/* The scale entry of (frame, call, scale), or NULL. */
const ClnfRefScale *clnfref_find_scale(const ClnfRefResponses *r, int frame, int call, int scale);

/* Loads "<dir>/<file>" (dir relative to the data folder). */
void clnfref_load_csv(RefCsv *c, const char *dir, const char *file);

/* Integer value of a cell. */
int clnfref_int(const RefCsv *c, int row, int col);

#endif
