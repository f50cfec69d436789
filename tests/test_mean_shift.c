/* KDE mean shift and landmark likelihood against OpenFace's own values:
 * nurlms_iters_main.csv gives, for every RLMS iteration of frames 1-3, the
 * landmark positions in the response windows (dx_k, dy_k) and the mean shifts
 * OpenFace computed from them (msref_{x,y}_k); patch_responses.f32 holds the
 * response maps; clnf_fit_main.csv the sigma per scale and the model
 * likelihood of the last non-rigid pass. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clnfref.h"
#include "mean_shift.h"

#define N_POINTS 68

static const char *const VIDEOS[] = {"openface/reference/intermediates/changeLighting",
                                     "openface/reference/intermediates/default"};

static void build_ok(AuKdeTable *t, int window, float a)
{
    AuError err = {0};
    if (au_kde_table_build(t, window, a, &err))
        fail_msg("%s", err.msg);
}

/* Table layout and values against an independent evaluation in double. */
static void test_kde_table(void **state)
{
    (void)state;
    static const int windows[] = {3, 5, 7, 9, 11};
    static const int rows[] = {900, 2500, 4900, 8100, 12100};
    for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
        const int ws = windows[w];
        const float a = au_kde_a_from_sigma(1.5f);
        AuKdeTable t;
        build_ok(&t, ws, a);
        assert_int_equal(t.window, ws);
        assert_int_equal(t.n_rows, rows[w]);
        assert_int_equal(t.n_grid * t.n_grid, rows[w]);
        double max_rel = 0;
        for (int x = 0; x < t.n_grid; x += 7)
            for (int y = 0; y < t.n_grid; y += 3)
                for (int ii = 0; ii < ws; ii++)
                    for (int jj = 0; jj < ws; jj++) {
                        const double dx = x * 0.1, dy = y * 0.1;
                        const double want = exp(-0.5 / (1.5 * 1.5) * ((dy - ii) * (dy - ii) + (dx - jj) * (dx - jj)));
                        const double got = t.values[((size_t)x * t.n_grid + y) * ws * ws + ii * ws + jj];
                        const double rel = fabs(got - want) / (want + 1e-30);
                        if (want > 1e-30 && rel > max_rel)
                            max_rel = rel;
                    }
        /* float grid positions and float arithmetic: a few ulps of the argument */
        assert_true(max_rel < 2e-5);
        /* row 0, cell 0: dx = dy = 0 at the top-left cell, K = exp(0) = 1 exactly */
        assert_true(t.values[0] == 1.0f);
        au_kde_table_free(&t);
        assert_null(t.values);
    }
    /* a = -0.5/sigma^2 in double from the float square, stored as float */
    assert_true(au_kde_a_from_sigma(1.5f) == (float)(-0.5 / 2.25));
    assert_true(au_kde_a_from_sigma(1.75f) == (float)(-0.5 / (double)(1.75f * 1.75f)));

    AuError err = {0};
    AuKdeTable t;
    assert_int_equal(au_kde_table_build(&t, 0, -0.2f, &err), AU_ERR_ARG);
    assert_null(t.values);
    au_kde_table_free(&t);
}

/* Clamping and grid rounding of the row look-up. */
static void test_kde_row_lookup(void **state)
{
    (void)state;
    AuKdeTable t;
    build_ok(&t, 7, au_kde_a_from_sigma(1.75f));
    const size_t row_len = 49;
    float dx = -3.0f, dy = 2.26f;
    const float *r = au_kde_table_row(&t, &dx, &dy);
    assert_true(dx == 0.0f);
    assert_true(dy == 2.26f);
    /* dy/0.1f = 22.6 -> row x=0, col 23 */
    assert_ptr_equal(r, t.values + (size_t)(0 * 70 + 23) * row_len);
    dx = 9.0f;
    dy = 6.94f;
    r = au_kde_table_row(&t, &dx, &dy);
    assert_true(dx == 7.0f - 0.1f);
    assert_true(dy == 7.0f - 0.1f);
    assert_ptr_equal(r, t.values + (size_t)(69 * 70 + 69) * row_len);
    dx = 3.04f;
    dy = 3.05f;
    r = au_kde_table_row(&t, &dx, &dy);
    /* 3.04/0.1 = 30.4 -> 30; 3.05f/0.1f = 30.4999... or 30.5 in float -> int(+0.5) */
    const int col = (int)((double)(3.05f / 0.1f) + 0.5);
    assert_ptr_equal(r, t.values + (size_t)(30 * 70 + col) * row_len);
    au_kde_table_free(&t);
}

typedef struct ScaleSigma {
    int frame, call, scale;
    float sigma;
} ScaleSigma;

static float sigma_for(const RefCsv *fit, int frame, int call, int scale)
{
    const int c_frame = refcsv_col_req(fit, "frame"), c_call = refcsv_col_req(fit, "call"),
              c_scale = refcsv_col_req(fit, "scale"), c_sigma = refcsv_col_req(fit, "sigma"),
              c_model = refcsv_col_req(fit, "model");
    for (int r = 0; r < fit->n_rows; r++)
        if (!strcmp(refcsv_str(fit, r, c_model), "main") && clnfref_int(fit, r, c_frame) == frame &&
            clnfref_int(fit, r, c_call) == call && clnfref_int(fit, r, c_scale) == scale)
            return (float)refcsv_num(fit, r, c_sigma);
    fail_msg("no fit row for frame %d call %d scale %d", frame, call, scale);
    return 0;
}

/* Every iteration of frames 1-3: our mean shift from OpenFace's dx, dy and
 * responses against OpenFace's msref. Also the model likelihood of each
 * likelihood pass from its last iteration's positions. */
static void check_video(const char *dir, double *max_ms, double *max_lh, int *n_rows_checked)
{
    ClnfRefResponses resp;
    clnfref_load_responses(&resp, dir);
    RefCsv it, fit;
    clnfref_load_csv(&it, dir, "nurlms_iters_main.csv");
    clnfref_load_csv(&fit, dir, "clnf_fit_main.csv");

    int c_dx[N_POINTS], c_dy[N_POINTS], c_mx[N_POINTS], c_my[N_POINTS];
    char name[64];
    for (int k = 0; k < N_POINTS; k++) {
        snprintf(name, sizeof(name), "dx_%d", k);
        c_dx[k] = refcsv_col_req(&it, name);
        snprintf(name, sizeof(name), "dy_%d", k);
        c_dy[k] = refcsv_col_req(&it, name);
        snprintf(name, sizeof(name), "msref_x_%d", k);
        c_mx[k] = refcsv_col_req(&it, name);
        snprintf(name, sizeof(name), "msref_y_%d", k);
        c_my[k] = refcsv_col_req(&it, name);
    }
    const int c_frame = refcsv_col_req(&it, "frame"), c_call = refcsv_col_req(&it, "call"),
              c_scale = refcsv_col_req(&it, "scale"), c_stopped = refcsv_col_req(&it, "stopped"),
              c_lh = refcsv_col_req(&it, "compute_lhood"), c_pass = refcsv_col_req(&it, "pass");

    /* One table per window size, built with the sigma of its first use, as
     * OpenFace's kde_resp_precalc. */
    AuKdeTable tables[16];
    memset(tables, 0, sizeof(tables));

    int checked = 0;
    for (int r = 0; r < it.n_rows; r++) {
        if (clnfref_int(&it, r, c_stopped))
            continue;
        const int frame = clnfref_int(&it, r, c_frame), call = clnfref_int(&it, r, c_call),
                  scale = clnfref_int(&it, r, c_scale);
        const ClnfRefScale *s = clnfref_find_scale(&resp, frame, call, scale);
        if (!s)
            fail_msg("%s: no responses for frame %d call %d scale %d", dir, frame, call, scale);
        assert_int_equal(s->n, N_POINTS);
        const float sigma = sigma_for(&fit, frame, call, scale);
        AuKdeTable *t = &tables[s->window];
        if (!t->values)
            build_ok(t, s->window, au_kde_a_from_sigma(sigma));
        /* OpenFace's models use each window with one sigma only */
        assert_true(t->a == au_kde_a_from_sigma(sigma));

        float dxs[N_POINTS], dys[N_POINTS], ms[2 * N_POINTS];
        for (int k = 0; k < N_POINTS; k++) {
            dxs[k] = (float)refcsv_num(&it, r, c_dx[k]);
            dys[k] = (float)refcsv_num(&it, r, c_dy[k]);
        }
        au_mean_shift_kde(t, s->resp, s->visible, N_POINTS, dxs, dys, ms, NULL);
        for (int k = 0; k < N_POINTS; k++) {
            const float ex = (float)refcsv_num(&it, r, c_mx[k]), ey = (float)refcsv_num(&it, r, c_my[k]);
            const double d = fmax(fabs(ms[k] - ex), fabs(ms[k + N_POINTS] - ey));
            if (d > *max_ms)
                *max_ms = d;
        }
        checked++;

        /* The likelihood uses the positions of the pass's last iteration. */
        const int last = (r + 1 == it.n_rows) || clnfref_int(&it, r + 1, c_stopped) ||
                         strcmp(refcsv_str(&it, r + 1, c_pass), refcsv_str(&it, r, c_pass)) ||
                         clnfref_int(&it, r + 1, c_scale) != scale || clnfref_int(&it, r + 1, c_call) != call;
        if (last && clnfref_int(&it, r, c_lh)) {
            float loglhood = 0;
            int n_vis = 0;
            for (int k = 0; k < N_POINTS; k++) {
                if (!s->visible[k])
                    continue;
                n_vis++;
                const float sum = au_kde_likelihood(s->resp[k], s->window, dxs[k], dys[k], sigma);
                loglhood = (float)((double)loglhood + log((double)sum + 1e-8));
            }
            loglhood = (float)((double)loglhood / (double)n_vis);
            /* the fit row of this pass */
            int found = 0;
            for (int f = 0; f < fit.n_rows; f++) {
                if (strcmp(refcsv_str(&fit, f, refcsv_col_req(&fit, "model")), "main") ||
                    (int)refcsv_get(&fit, f, "frame") != frame)
                    continue;
                if ((int)refcsv_get(&fit, f, "call") != call || (int)refcsv_get(&fit, f, "scale") != scale ||
                    strcmp(refcsv_str(&fit, f, refcsv_col_req(&fit, "stage")), "nonrigid"))
                    continue;
                const float want = (float)refcsv_get(&fit, f, "loglhood");
                const double d = fabs(loglhood - want);
                if (d > *max_lh)
                    *max_lh = d;
                found = 1;
            }
            assert_true(found);
        }
    }
    *n_rows_checked += checked;
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        au_kde_table_free(&tables[i]);
    refcsv_free(&it);
    refcsv_free(&fit);
    clnfref_free_responses(&resp);
}

static void test_mean_shift_known_answers(void **state)
{
    (void)state;
    for (size_t v = 0; v < sizeof(VIDEOS) / sizeof(VIDEOS[0]); v++) {
        double max_ms = 0, max_lh = 0;
        int n = 0;
        check_video(VIDEOS[v], &max_ms, &max_lh, &n);
        printf("%s: %d iterations, max |msref diff| %.3g, max |loglhood diff| %.3g\n", VIDEOS[v], n, max_ms, max_lh);
        assert_true(n > 300);
        assert_true(max_ms == 0.0);
        assert_true(max_lh == 0.0);
    }
}

/* An invisible landmark gets zero; a delta response pulls to its cell. */
static void test_mean_shift_synthetic(void **state)
{
    (void)state;
    AuKdeTable t;
    build_ok(&t, 5, au_kde_a_from_sigma(1.0f));
    float r0[25] = {0}, r1[25] = {0};
    r0[3 * 5 + 1] = 0.7f; /* row 3 (y), col 1 (x) */
    for (int i = 0; i < 25; i++)
        r1[i] = 1.0f;
    const float *resps[3] = {r0, NULL, r1};
    const int vis[3] = {1, 0, 1};
    const float dxs[3] = {2.0f, 2.0f, 2.0f}, dys[3] = {2.0f, 2.0f, 2.0f};
    float out[6] = {9, 9, 9, 9, 9, 9};
    au_mean_shift_kde(&t, resps, vis, 3, dxs, dys, out, NULL);
    /* delta at (1, 3) from (2, 2): shift (-1, +1) exactly */
    assert_true(fabsf(out[0] + 1.0f) < 1e-6f);
    assert_true(fabsf(out[3] - 1.0f) < 1e-6f);
    assert_true(out[1] == 0.0f && out[4] == 0.0f);
    /* uniform response, centred: symmetric kernel, no shift */
    assert_true(fabsf(out[2]) < 1e-5f && fabsf(out[5]) < 1e-5f);
    au_kde_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kde_table),
        cmocka_unit_test(test_kde_row_lookup),
        cmocka_unit_test(test_mean_shift_synthetic),
        cmocka_unit_test(test_mean_shift_known_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
