#include "clnfref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autest.h"

void clnfref_load_csv(RefCsv *c, const char *dir, const char *file)
{
    char rel[512], path[1024];
    snprintf(rel, sizeof(rel), "%s/%s", dir, file);
    autest_path(path, sizeof(path), rel);
    refcsv_load(c, path);
}

int clnfref_int(const RefCsv *c, int row, int col)
{
    double v = refcsv_num(c, row, col);
    if (v != floor(v))
        fail_msg("row %d col %s: %g is not an integer", row, c->names[col], v);
    return (int)v;
}

void clnfref_load_responses(ClnfRefResponses *r, const char *dir)
{
    memset(r, 0, sizeof(*r));
    char rel[512], path[1024];
    snprintf(rel, sizeof(rel), "%s/patch_responses.f32", dir);
    autest_path(path, sizeof(path), rel);
    autest_require_file(path);
    r->data = refcsv_load_f32(path, &r->count);

    RefCsv c;
    clnfref_load_csv(&c, dir, "patch_response_index.csv");
    const int c_frame = refcsv_col_req(&c, "frame"), c_call = refcsv_col_req(&c, "call"),
              c_scale = refcsv_col_req(&c, "scale"), c_window = refcsv_col_req(&c, "window"),
              c_view = refcsv_col_req(&c, "view"), c_ps = refcsv_col_req(&c, "patch_scaling"),
              c_lmk = refcsv_col_req(&c, "landmark"), c_vis = refcsv_col_req(&c, "visible"),
              c_off = refcsv_col_req(&c, "resp_offset"), c_aoi = refcsv_col_req(&c, "aoi_offset"),
              c_aw = refcsv_col_req(&c, "aoi_w"), c_ah = refcsv_col_req(&c, "aoi_h");
    static const char *const sim_names[2][4] = {
        {"img_to_ref_00", "img_to_ref_01", "img_to_ref_10", "img_to_ref_11"},
        {"ref_to_img_00", "ref_to_img_01", "ref_to_img_10", "ref_to_img_11"}};
    static const char *const warp_names[6] = {"warp_00", "warp_01", "warp_02", "warp_10", "warp_11", "warp_12"};

    int cap = 0;
    ClnfRefScale *cur = NULL;
    for (int row = 0; row < c.n_rows; row++) {
        const int frame = clnfref_int(&c, row, c_frame), call = clnfref_int(&c, row, c_call),
                  scale = clnfref_int(&c, row, c_scale), lmk = clnfref_int(&c, row, c_lmk);
        if (!cur || cur->frame != frame || cur->call != call || cur->scale != scale) {
            if (r->n_scales == cap) {
                cap = cap ? 2 * cap : 16;
                r->scales = realloc(r->scales, sizeof(*r->scales) * (size_t)cap);
            }
            cur = &r->scales[r->n_scales++];
            memset(cur, 0, sizeof(*cur));
            cur->frame = frame;
            cur->call = call;
            cur->scale = scale;
            cur->window = clnfref_int(&c, row, c_window);
            cur->view = clnfref_int(&c, row, c_view);
            cur->patch_scaling = refcsv_num(&c, row, c_ps);
            for (int k = 0; k < 4; k++) {
                cur->img_to_ref[k] = (float)refcsv_get(&c, row, sim_names[0][k]);
                cur->ref_to_img[k] = (float)refcsv_get(&c, row, sim_names[1][k]);
            }
        }
        if (lmk != cur->n || lmk >= CLNFREF_MAX_POINTS)
            fail_msg("patch_response_index.csv row %d: landmark %d out of order", row + 2, lmk);
        cur->n = lmk + 1;
        cur->visible[lmk] = clnfref_int(&c, row, c_vis);
        cur->lmk[0][lmk] = (float)refcsv_get(&c, row, "lmk_x");
        cur->lmk[1][lmk] = (float)refcsv_get(&c, row, "lmk_y");
        cur->ref[0][lmk] = (float)refcsv_get(&c, row, "ref_x");
        cur->ref[1][lmk] = (float)refcsv_get(&c, row, "ref_y");
        /* invisible landmarks have no AOI: empty warp fields */
        for (int k = 0; k < 6; k++)
            cur->warp[lmk][k] = cur->visible[lmk] ? (float)refcsv_get(&c, row, warp_names[k]) : 0.0f;
        if (cur->visible[lmk]) {
            cur->aoi_w = clnfref_int(&c, row, c_aw);
            cur->aoi_h = clnfref_int(&c, row, c_ah);
        }
        const long off = (long)refcsv_num(&c, row, c_off);
        cur->aoi_offset[lmk] = (long)refcsv_num(&c, row, c_aoi);
        if (cur->visible[lmk]) {
            const size_t need = (size_t)cur->window * (size_t)cur->window;
            if (off < 0 || (size_t)off + need > r->count)
                fail_msg("patch_response_index.csv row %d: resp_offset %ld out of range", row + 2, off);
            cur->resp[lmk] = r->data + off;
        }
    }
    refcsv_free(&c);
}

void clnfref_free_responses(ClnfRefResponses *r)
{
    free(r->scales);
    free(r->data);
    memset(r, 0, sizeof(*r));
}

const ClnfRefScale *clnfref_find_scale(const ClnfRefResponses *r, int frame, int call, int scale)
{
    for (int i = 0; i < r->n_scales; i++)
        if (r->scales[i].frame == frame && r->scales[i].call == call && r->scales[i].scale == scale)
            return &r->scales[i];
    return NULL;
}
