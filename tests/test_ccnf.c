/* CCNF patch-expert loader on OpenFace's real files, the Sigma computation,
 * a known-answer check against OpenFace's own patch responses, and
 * malformed inputs.
 *
 * Expected values were read independently with a Python struct one-off that
 * walks the binary layout documented in ccnf.h (doubles compared exactly as
 * printed with repr). */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccnf.h"

#define GENERAL(s) "openface/models/model/patch_experts/ccnf_patches_" s "_general.txt"
#define EYE_LEFT_1 "openface/models/model/model_eye/patch_experts/left_ccnf_patches_1.00_synth_lid_.txt"
#define INTERMEDIATES "openface/reference/intermediates/changeLighting/"

static const double PI = 3.14159265358979323846;

static void load_ok(AuCcnf *c, const char *rel)
{
    char path[1024];
    autest_path(path, sizeof(path), rel);
    autest_require_file(path);
    AuError err = {0};
    if (au_ccnf_load(c, path, &err))
        fail_msg("%s", err.msg);
}

static const float *weights(const AuCcnfNeuron *n) { return au_mat_f32(&n->weights); }

static void test_general_025(void **state)
{
    (void)state;
    AuCcnf c;
    load_ok(&c, GENERAL("0.25"));
    assert_true(c.patch_scaling == 0.25);
    assert_int_equal(c.n_views, 7);
    assert_int_equal(c.n_points, 68);

    /* view centres: yaw 0, -20, -45, -70, 70, 45, 20 degrees, stored in radians */
    static const double yaw[7] = {0, -20, -45, -70, 70, 45, 20};
    for (int v = 0; v < 7; v++) {
        assert_true(c.centers[v][0] == 0.0 && c.centers[v][2] == 0.0);
        assert_true(c.centers[v][1] == (yaw[v] * PI) * (1.0 / 180.0));
        assert_true(fabs(c.centers[v][1] - yaw[v] * PI / 180.0) < 1e-15);
    }

    /* visibilities: the profile views 3 and 4 see 35 points each */
    static const int n_visible[7] = {68, 68, 68, 35, 35, 68, 68};
    int n_empty = 0;
    for (int v = 0; v < 7; v++) {
        int vis = 0;
        for (int j = 0; j < 68; j++) {
            vis += au_ccnf_visible(&c, v, j);
            const AuCcnfExpert *e = au_ccnf_expert(&c, v, j);
            if (e->n_neurons == 0) {
                n_empty++;
                assert_false(au_ccnf_visible(&c, v, j));
                assert_null(e->weight_matrix.data);
            } else {
                assert_int_equal(e->n_neurons, 7);
                assert_int_equal(e->width, 11);
                assert_int_equal(e->height, 11);
                assert_int_equal(e->n_betas, 3);
                assert_int_equal(e->weight_matrix.rows, 7);
                assert_int_equal(e->weight_matrix.cols, 122);
            }
        }
        assert_int_equal(vis, n_visible[v]);
    }
    /* every invisible landmark has an empty expert in this file */
    assert_int_equal(n_empty, 66);
    assert_false(au_ccnf_visible(&c, 3, 9));
    assert_false(au_ccnf_visible(&c, 3, 65));
    assert_true(au_ccnf_visible(&c, 3, 0));
    assert_false(au_ccnf_visible(&c, 4, 0));
    assert_false(au_ccnf_visible(&c, 4, 67));
    assert_true(au_ccnf_visible(&c, 4, 8));

    /* window sizes and sigma components */
    static const int ws[4] = {7, 9, 11, 15};
    assert_int_equal(c.n_windows, 4);
    for (int w = 0; w < 4; w++) {
        assert_int_equal(c.windows[w].window_size, ws[w]);
        assert_int_equal(c.windows[w].n_components, 3);
        for (int s = 0; s < 3; s++) {
            assert_int_equal(c.windows[w].components[s].rows, ws[w] * ws[w]);
            assert_int_equal(c.windows[w].components[s].cols, ws[w] * ws[w]);
        }
    }
    const float *c7 = au_mat_f32(&c.windows[0].components[0]);
    assert_true(c7[0] == 2.0f && c7[1] == -1.0f && c7[2] == 0.0f && c7[48 * 49 + 48] == 2.0f);

    /* first expert (view 0, landmark 0): neurons, betas, confidence */
    const AuCcnfExpert *e = au_ccnf_expert(&c, 0, 0);
    const AuCcnfNeuron *n0 = &e->neurons[0];
    assert_int_equal(n0->neuron_type, 0);
    assert_true(n0->norm_weights == 28.984707104560254);
    assert_true(n0->bias == -10.343199672760921);
    assert_true(n0->alpha == 5.930141895828995);
    assert_int_equal(n0->weights.rows, 11);
    assert_int_equal(n0->weights.cols, 11);
    assert_true(weights(n0)[0] == 0.00875052623450756f);
    assert_true(weights(n0)[1] == -0.00863349623978138f);
    assert_true(weights(n0)[11] == 0.017576031386852264f);  /* row 1, col 0 */
    assert_true(weights(n0)[120] == 0.19128508865833282f);  /* row 10, col 10 */
    assert_true(e->neurons[1].norm_weights == 29.878268841748138);
    assert_true(e->neurons[6].bias == -7.485830766270108);
    assert_true(e->neurons[6].alpha == 4.418643082706556);
    assert_true(e->betas[0] == 4.788735519119048);
    assert_true(e->betas[1] == 2.9891118307132856);
    assert_true(e->betas[2] == 2.186814647139428);
    assert_true(e->patch_confidence == 0.23381420743325737);

    /* OpenFace's combined weight matrix: bias, then weights column by column, times norm_weights */
    const float *wm = au_mat_f32(&e->weight_matrix);
    float nw = (float)n0->norm_weights;
    assert_true(wm[0] == (float)n0->bias);
    assert_true(wm[1] == weights(n0)[0] * nw);
    assert_true(wm[2] == weights(n0)[11] * nw);  /* (row 1, col 0) comes second */
    assert_true(wm[1 + 11] == weights(n0)[1] * nw); /* (row 0, col 1) starts the second column */
    assert_true(wm[121] == weights(n0)[120] * nw);
    assert_true(wm[6 * 122] == (float)e->neurons[6].bias);

    /* last expert (view 6, landmark 67) */
    e = au_ccnf_expert(&c, 6, 67);
    assert_true(e->betas[0] == 4.261425570016803);
    assert_true(e->betas[2] == 1.5801600730277634);
    assert_true(e->patch_confidence == 0.42065829737875604);

    assert_non_null(au_ccnf_find_sigma_components(&c, 9));
    assert_int_equal(au_ccnf_find_sigma_components(&c, 9)->components[0].rows, 81);
    assert_null(au_ccnf_find_sigma_components(&c, 5));
    au_ccnf_free(&c);
    assert_null(c.experts);
    au_ccnf_free(&c);
}

static void test_other_files(void **state)
{
    (void)state;
    AuCcnf c;
    load_ok(&c, GENERAL("0.5"));
    assert_true(c.patch_scaling == 0.5);
    assert_true(au_ccnf_expert(&c, 0, 0)->neurons[0].alpha == 5.447476226820582);
    assert_true(au_ccnf_expert(&c, 0, 0)->patch_confidence == 0.1601074871263713);
    au_ccnf_free(&c);

    load_ok(&c, "openface/models/model/model_inner/patch_experts/ccnf_patches_1.00_inner.txt");
    assert_true(c.patch_scaling == 1.0);
    assert_int_equal(c.n_views, 7);
    assert_int_equal(c.n_points, 51);
    int vis3 = 0;
    for (int j = 0; j < 51; j++)
        vis3 += au_ccnf_visible(&c, 3, j);
    assert_int_equal(vis3, 26);
    assert_true(au_ccnf_expert(&c, 0, 0)->neurons[0].bias == -8.681892560337435);
    assert_true(au_ccnf_expert(&c, 0, 0)->betas[0] == 5.25538850638643);
    au_ccnf_free(&c);

    /* eye models: one frontal view, 28 points, windows without components, no betas */
    load_ok(&c, EYE_LEFT_1);
    assert_true(c.patch_scaling == 1.0);
    assert_int_equal(c.n_views, 1);
    assert_int_equal(c.n_points, 28);
    static const int ws[6] = {3, 5, 7, 9, 11, 15};
    assert_int_equal(c.n_windows, 6);
    for (int w = 0; w < 6; w++) {
        assert_int_equal(c.windows[w].window_size, ws[w]);
        assert_int_equal(c.windows[w].n_components, 0);
    }
    const AuCcnfExpert *e = au_ccnf_expert(&c, 0, 0);
    assert_int_equal(e->n_betas, 0);
    assert_true(e->neurons[0].norm_weights == 61.94864309975148);
    assert_true(e->neurons[0].bias == -20.294248802926);
    assert_true(e->neurons[0].alpha == 7.045100937574013);
    assert_true(e->patch_confidence == 0.4624611029789135);
    assert_true(au_ccnf_expert(&c, 0, 27)->patch_confidence == 0.46203438147979986);
    assert_null(au_ccnf_find_sigma_components(&c, 3));
    au_ccnf_free(&c);

    load_ok(&c, "openface/models/model/model_eye/patch_experts/ccnf_patches_1.50_synth_lid_.txt");
    assert_true(c.patch_scaling == 1.5);
    assert_int_equal(c.n_windows, 4);
    assert_true(au_ccnf_expert(&c, 0, 0)->neurons[1].alpha == 11.814861731342344);
    au_ccnf_free(&c);
}

/* SigmaInv as ComputeSigmas builds it, in double, for checks. */
static double *sigma_inv(const AuCcnfExpert *e, const AuCcnfSigmaComponents *comps, int ws)
{
    int n = ws * ws;
    double *a = calloc((size_t)n * n, sizeof(double));
    double sum_alpha = 0;
    for (int i = 0; i < e->n_neurons; i++)
        sum_alpha += e->neurons[i].alpha;
    for (int i = 0; i < n; i++)
        a[i * n + i] = 2 * sum_alpha;
    for (int b = 0; comps && b < comps->n_components; b++)
        for (int i = 0; i < n * n; i++)
            a[i] += 2 * e->betas[b] * au_mat_f32(&comps->components[b])[i];
    return a;
}

/* max |SigmaInv * Sigma - I| */
static double inverse_error(const double *inv, const float *sigma, int n)
{
    double worst = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++)
                s += inv[i * n + k] * sigma[k * n + j];
            double d = fabs(s - (i == j ? 1.0 : 0.0));
            if (d > worst)
                worst = d;
        }
    return worst;
}

static void test_sigma(void **state)
{
    (void)state;
    AuCcnf c;
    AuError err = {0};
    load_ok(&c, GENERAL("0.35"));
    const AuCcnfExpert *e = au_ccnf_expert(&c, 1, 30);
    /* 7: OpenCV's own Cholesky (n < 100); 11, 15: the LAPACK path */
    static const int ws[3] = {7, 11, 15};
    for (int k = 0; k < 3; k++) {
        int n = ws[k] * ws[k];
        const AuCcnfSigmaComponents *comps = au_ccnf_find_sigma_components(&c, ws[k]);
        assert_non_null(comps);
        float *sigma = malloc((size_t)n * n * sizeof(float));
        assert_int_equal(au_ccnf_compute_sigma(e, comps, ws[k], sigma, &err), AU_OK);
        double *inv = sigma_inv(e, comps, ws[k]);
        double worst = inverse_error(inv, sigma, n);
        if (worst > 1e-5)
            fail_msg("window %d: |SigmaInv Sigma - I| = %g", ws[k], worst);
        /* the edge terms matter: without them Sigma is diagonal */
        assert_true(fabs(sigma[1]) > 1e-4);
        /* symmetric to float rounding */
        assert_true(fabs(sigma[1] - sigma[n]) <= 1e-6 * fabs(sigma[0]));
        free(inv);
        free(sigma);
    }

    /* argument errors */
    float tmp[81];
    const AuCcnfExpert *empty = au_ccnf_expert(&c, 3, 9);
    assert_int_equal(empty->n_neurons, 0);
    assert_int_equal(au_ccnf_compute_sigma(empty, NULL, 3, tmp, &err), AU_ERR_ARG);
    assert_int_equal(au_ccnf_compute_sigma(e, au_ccnf_find_sigma_components(&c, 7), 9, tmp, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "window 9"));
    assert_int_equal(au_ccnf_compute_sigma(e, NULL, 0, tmp, &err), AU_ERR_ARG);
    au_ccnf_free(&c);

    /* eye experts have no components: Sigma = inv(2 sum(alpha) I), by OpenCV's
     * Cholesky: diagonal (float)((float)(1/sqrt(s)) * (float)(1/sqrt(s))) */
    load_ok(&c, EYE_LEFT_1);
    e = au_ccnf_expert(&c, 0, 5);
    float sum_alpha = 0;
    for (int i = 0; i < e->n_neurons; i++)
        sum_alpha = (float)((double)sum_alpha + e->neurons[i].alpha);
    float l = (float)(1.0 / sqrt((double)(2.0f * sum_alpha)));
    float diag = (float)((double)(float)(1.0 * l) * l);
    float s5[25 * 25];
    assert_int_equal(au_ccnf_compute_sigma(e, au_ccnf_find_sigma_components(&c, 5), 5, s5, &err), AU_OK);
    for (int i = 0; i < 25; i++)
        for (int j = 0; j < 25; j++)
            assert_true(s5[i * 25 + j] == (i == j ? diag : 0.0f));
    assert_true(fabs(diag * 2.0 * sum_alpha - 1.0) < 1e-6);

    /* caching: every (visible) expert gets its Sigma once */
    assert_int_equal(au_ccnf_prepare_sigmas(&c, NULL, 3, &err), AU_OK);
    assert_int_equal(au_ccnf_prepare_sigmas(&c, NULL, 5, &err), AU_OK);
    assert_int_equal(au_ccnf_prepare_sigmas(&c, NULL, 5, &err), AU_OK);
    for (int j = 0; j < 28; j++) {
        const AuCcnfExpert *x = au_ccnf_expert(&c, 0, j);
        assert_int_equal(x->n_sigmas, 2);
        assert_non_null(au_ccnf_expert_sigma(x, 3));
        assert_int_equal(au_ccnf_expert_sigma(x, 3)->rows, 9);
        assert_null(au_ccnf_expert_sigma(x, 9));
    }
    assert_memory_equal(au_mat_f32(au_ccnf_expert_sigma(e, 5)), s5, sizeof(s5));
    assert_int_equal(au_ccnf_prepare_sigmas(&c, NULL, 65, &err), AU_ERR_ARG);
    au_ccnf_free(&c);
}

/* ---- known answer: OpenFace's own patch responses ---- */

typedef struct {
    int frame, scale, window, view, landmark, visible, aoi_w, aoi_h;
    long resp_offset, aoi_offset;
} RespRow;

static int parse_rows(const char *csv, RespRow **out)
{
    const char *names[] = {"frame", "scale", "window", "view", "landmark", "visible",
                           "aoi_w", "aoi_h", "resp_offset", "aoi_offset"};
    int col[10];
    for (int k = 0; k < 10; k++)
        col[k] = -1;
    const char *p = csv;
    int idx = 0;
    while (*p && *p != '\n') {
        size_t len = strcspn(p, ",\n");
        for (int k = 0; k < 10; k++)
            if (strlen(names[k]) == len && !strncmp(p, names[k], len))
                col[k] = idx;
        idx++;
        p += len;
        if (*p == ',')
            p++;
    }
    for (int k = 0; k < 10; k++)
        if (col[k] < 0)
            fail_msg("column %s missing in patch_response_index.csv", names[k]);
    int n = 0, cap = 0;
    RespRow *rows = NULL;
    while (*p == '\n') {
        p++;
        if (!*p)
            break;
        double v[64];
        int f = 0;
        while (*p && *p != '\n') {
            size_t len = strcspn(p, ",\n");
            /* ctx is text; everything we use is numeric */
            if (f < 64)
                v[f] = strtod(p, NULL);
            f++;
            p += len;
            if (*p == ',')
                p++;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            rows = realloc(rows, (size_t)cap * sizeof(*rows));
        }
        RespRow *r = &rows[n++];
        r->frame = (int)v[col[0]];
        r->scale = (int)v[col[1]];
        r->window = (int)v[col[2]];
        r->view = (int)v[col[3]];
        r->landmark = (int)v[col[4]];
        r->visible = (int)v[col[5]];
        r->aoi_w = (int)v[col[6]];
        r->aoi_h = (int)v[col[7]];
        r->resp_offset = (long)v[col[8]];
        r->aoi_offset = (long)v[col[9]];
    }
    *out = rows;
    return n;
}

/* CCNF_patch_expert::ResponseOpenBlas in double: contrast-normalised im2col,
 * neuron responses through the loaded weight matrix, sigmoid sum, Sigma. */
static void ccnf_response(const AuCcnfExpert *e, const float *sigma, const float *aoi, int aoi_w, int aoi_h,
                          double *resp)
{
    int ph = e->height, pw = e->width, rh = aoi_h - ph + 1, rw = aoi_w - pw + 1, cols = 1 + ph * pw;
    double *raw = calloc((size_t)rh * rw, sizeof(double));
    double col[1 + 32 * 32];
    for (int y = 0; y < rh; y++)
        for (int x = 0; x < rw; x++) {
            double sum = 0, sq = 0;
            for (int xx = 0; xx < pw; xx++)
                for (int yy = 0; yy < ph; yy++) {
                    col[1 + xx * ph + yy] = aoi[(y + yy) * aoi_w + x + xx];
                    sum += col[1 + xx * ph + yy];
                }
            double mean = sum / (ph * pw);
            for (int k = 1; k < cols; k++) {
                col[k] -= mean;
                sq += col[k] * col[k];
            }
            double norm = sqrt(sq);
            if (norm == 0)
                norm = 1;
            col[0] = 1;
            for (int k = 1; k < cols; k++)
                col[k] /= norm;
            for (int i = 0; i < e->n_neurons; i++) {
                if (!(e->neurons[i].alpha > 1e-4))
                    continue;
                const float *w = au_mat_f32(&e->weight_matrix) + (size_t)i * cols;
                double v = 0;
                for (int k = 0; k < cols; k++)
                    v += w[k] * col[k];
                raw[y * rw + x] += 2 * e->neurons[i].alpha / (1 + exp(-v));
            }
        }
    int n = rh * rw;
    double lo = 0;
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < n; k++)
            s += (double)sigma[i * n + k] * raw[k];
        resp[i] = s;
        if (i == 0 || s < lo)
            lo = s;
    }
    if (lo < 0)
        for (int i = 0; i < n; i++)
            resp[i] -= lo;
    free(raw);
}

static void test_known_answer_responses(void **state)
{
    (void)state;
    char p_idx[1024], p_resp[1024], p_aoi[1024];
    autest_path(p_idx, sizeof(p_idx), INTERMEDIATES "patch_response_index.csv");
    autest_path(p_resp, sizeof(p_resp), INTERMEDIATES "patch_responses.f32");
    autest_path(p_aoi, sizeof(p_aoi), INTERMEDIATES "patch_aoi.f32");
    autest_require_file(p_idx);
    unsigned char *csv, *resp_bytes, *aoi_bytes;
    size_t csv_n, resp_n, aoi_n;
    assert_int_equal(autest_read_file(p_idx, &csv, &csv_n), 0);
    assert_int_equal(autest_read_file(p_resp, &resp_bytes, &resp_n), 0);
    assert_int_equal(autest_read_file(p_aoi, &aoi_bytes, &aoi_n), 0);
    const float *ref_resp = (const float *)resp_bytes, *ref_aoi = (const float *)aoi_bytes;

    AuCcnf scales[3];
    load_ok(&scales[0], GENERAL("0.25"));
    load_ok(&scales[1], GENERAL("0.35"));
    load_ok(&scales[2], GENERAL("0.5"));
    /* OpenFace takes the sigma components of the last file read for all scales */
    const AuCcnf *src = &scales[2];

    RespRow *rows;
    int n_rows = parse_rows((const char *)csv, &rows);
    assert_true(n_rows > 2000);
    int done[3][7] = {{0}}, n_checked = 0;
    double worst_rel = 0;
    for (int i = 0; i < n_rows; i++) {
        const RespRow *r = &rows[i];
        if (r->frame != 1 || !r->visible || r->aoi_offset < 0 || r->resp_offset < 0)
            continue;
        /* one landmark per (scale, view), plus a few more in the frontal view */
        int want = done[r->scale][r->view] == 0 || (r->view == 0 && r->landmark % 23 == 7 && done[r->scale][0] < 4);
        if (!want)
            continue;
        done[r->scale][r->view]++;
        const AuCcnfExpert *e = au_ccnf_expert(&scales[r->scale], r->view, r->landmark);
        assert_int_equal(r->aoi_w, r->window + e->width - 1);
        int n = r->window * r->window;
        assert_true((size_t)(r->aoi_offset + (long)r->aoi_w * r->aoi_h) * 4 <= aoi_n);
        assert_true((size_t)(r->resp_offset + n) * 4 <= resp_n);
        float *sigma = malloc((size_t)n * n * sizeof(float));
        AuError err = {0};
        assert_int_equal(au_ccnf_compute_sigma(e, au_ccnf_find_sigma_components(src, r->window), r->window, sigma,
                                               &err),
                         AU_OK);
        double *resp = malloc((size_t)n * sizeof(double));
        ccnf_response(e, sigma, ref_aoi + r->aoi_offset, r->aoi_w, r->aoi_h, resp);
        const float *ref = ref_resp + r->resp_offset;
        double peak = 0, diff = 0;
        for (int k = 0; k < n; k++) {
            if (fabs(ref[k]) > peak)
                peak = fabs(ref[k]);
            if (fabs(resp[k] - ref[k]) > diff)
                diff = fabs(resp[k] - ref[k]);
        }
        assert_true(peak > 0);
        if (diff / peak > worst_rel)
            worst_rel = diff / peak;
        if (diff > 2e-5 * peak)
            fail_msg("scale %d view %d landmark %d window %d: response differs by %g (peak %g)", r->scale, r->view,
                     r->landmark, r->window, diff, peak);
        n_checked++;
        free(resp);
        free(sigma);
    }
    print_message("checked %d patch responses against OpenFace, worst difference %.3g of the peak\n", n_checked,
                  worst_rel);
    assert_true(n_checked >= 18);
    free(rows);
    for (int s = 0; s < 3; s++)
        au_ccnf_free(&scales[s]);
    free(csv);
    free(resp_bytes);
    free(aoi_bytes);
}

/* ---- malformed files ---- */

typedef struct {
    unsigned char *d;
    size_t n, cap;
} Buf;

static void put(Buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->d = realloc(b->d, b->cap);
    }
    memcpy(b->d + b->n, p, n);
    b->n += n;
}
static void put_i32(Buf *b, int v) { put(b, &v, 4); }
static void put_f64(Buf *b, double v) { put(b, &v, 8); }
static void put_mat_hdr(Buf *b, int r, int c, int t)
{
    put_i32(b, r);
    put_i32(b, c);
    put_i32(b, t);
}

typedef struct {
    int view_center_type;  /* 6 */
    int vis1_rows;         /* rows of the second view's visibility: 2 */
    int visible_empty;     /* mark the empty expert visible */
    int expert_marker;     /* 5 */
    int neuron_marker;     /* 2 */
    int weights_cols;      /* 2 (the expert is 2x2) */
    int window2_comps;     /* components of the second window: 1 */
    int n_views;           /* 2 */
} Spec;

/* 2 views x 2 landmarks, windows 1 and 2 with one component each, 2x2
 * experts with one neuron; landmark 1 of view 1 is invisible and empty. */
static Buf build(const Spec *s)
{
    Buf b = {0};
    put_f64(&b, 0.5);
    put_i32(&b, s->n_views);
    for (int v = 0; v < 2; v++) {
        put_mat_hdr(&b, 3, 1, s->view_center_type);
        for (int k = 0; k < 3; k++)
            put_f64(&b, v * 30.0 * (k == 1));
    }
    for (int v = 0; v < 2; v++) {
        int rows = v == 1 ? s->vis1_rows : 2;
        put_mat_hdr(&b, rows, 1, 4);
        for (int j = 0; j < rows; j++)
            put_i32(&b, !(v == 1 && j == 1) || s->visible_empty);
    }
    put_i32(&b, 2);
    for (int w = 1; w <= 2; w++) {
        int nc = w == 2 ? s->window2_comps : 1;
        put_i32(&b, w);
        put_i32(&b, nc);
        for (int k = 0; k < nc; k++) {
            put_mat_hdr(&b, w * w, w * w, 5);
            for (int i = 0; i < w * w * w * w; i++) {
                float f = (float)(i % (w * w + 1) == 0);
                put(&b, &f, 4);
            }
        }
    }
    for (int v = 0; v < 2; v++)
        for (int j = 0; j < 2; j++) {
            put_i32(&b, s->expert_marker);
            put_i32(&b, 2);
            put_i32(&b, 2);
            if (v == 1 && j == 1) {
                put_i32(&b, 0);
                put_i32(&b, 0);
                continue;
            }
            put_i32(&b, 1);
            put_i32(&b, s->neuron_marker);
            put_i32(&b, 0);
            put_f64(&b, 2.0);  /* norm_weights */
            put_f64(&b, -1.0); /* bias */
            put_f64(&b, 3.0);  /* alpha */
            put_mat_hdr(&b, 2, s->weights_cols, 5);
            for (int i = 0; i < 2 * s->weights_cols; i++) {
                float f = (float)(i + 1);
                put(&b, &f, 4);
            }
            put_f64(&b, 0.25); /* beta */
            put_f64(&b, 0.75); /* confidence */
        }
    return b;
}

static AuStatus load_buf(const char *dir, const Buf *b, AuCcnf *c, AuError *err)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/ccnf.txt", dir);
    autest_write_file(path, b->d, b->n);
    return au_ccnf_load(c, path, err);
}

static void test_malformed(void **state)
{
    (void)state;
    char dir[512];
    autest_mkdtemp(dir, sizeof(dir));
    const Spec good = {6, 2, 0, 5, 2, 2, 1, 2};
    AuCcnf c;
    AuError err = {0};
    Buf b = build(&good);
    if (load_buf(dir, &b, &c, &err))
        fail_msg("%s", err.msg);
    free(b.d);
    assert_int_equal(c.n_views, 2);
    assert_int_equal(c.n_points, 2);
    assert_true(c.centers[1][1] == (30.0 * PI) * (1.0 / 180.0));
    const AuCcnfExpert *e = au_ccnf_expert(&c, 1, 0);
    assert_int_equal(e->n_neurons, 1);
    /* weights [[1 2] [3 4]] * 2, column-major after the bias */
    const float *wm = au_mat_f32(&e->weight_matrix);
    assert_true(wm[0] == -1.0f && wm[1] == 2.0f && wm[2] == 6.0f && wm[3] == 4.0f && wm[4] == 8.0f);
    assert_true(e->betas[0] == 0.25 && e->patch_confidence == 0.75);
    assert_int_equal(au_ccnf_expert(&c, 1, 1)->n_neurons, 0);
    /* window 2, one identity component: Sigma = inv(2 (3 I + 0.25 I)) */
    float sigma[16];
    assert_int_equal(au_ccnf_compute_sigma(e, au_ccnf_find_sigma_components(&c, 2), 2, sigma, &err), AU_OK);
    assert_true(fabs(sigma[0] - 1.0 / 6.5) < 1e-7 && sigma[1] == 0.0f);
    au_ccnf_free(&c);

    struct {
        Spec spec;
        const char *expect;
    } bad[] = {
        {{5, 2, 0, 5, 2, 2, 1, 2}, "view 0 centre is a 3x1 matrix of type 5"},
        {{6, 3, 0, 5, 2, 2, 1, 2}, "visibility is a 3x1 matrix"},
        {{6, 2, 1, 5, 2, 2, 1, 2}, "empty patch expert for a landmark marked visible (view 1, landmark 1)"},
        {{6, 2, 0, 4, 2, 2, 1, 2}, "patch expert type marker is 4, expected 5 (view 0, landmark 0)"},
        {{6, 2, 0, 5, 3, 2, 1, 2}, "neuron type marker is 3, expected 2"},
        {{6, 2, 0, 5, 2, 3, 1, 2}, "neuron weights is a 2x3 matrix of type 5, expected 2x2"},
        {{6, 2, 0, 5, 2, 2, 2, 2}, "window 2 has 2 sigma components, window 1 has 1"},
        {{6, 2, 0, 5, 2, 2, 1, 100000}, "number of views is 100000"},
        {{6, 2, 0, 5, 2, 2, 1, 0}, "number of views is 0"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        b = build(&bad[i].spec);
        memset(&err, 0, sizeof(err));
        AuStatus st = load_buf(dir, &b, &c, &err);
        free(b.d);
        if (st != AU_ERR_FORMAT || !strstr(err.msg, bad[i].expect) || !strstr(err.msg, "ccnf.txt: byte offset"))
            fail_msg("case %zu: status %d, message '%s', expected '%s'", i, (int)st, err.msg, bad[i].expect);
        assert_null(c.experts);
    }

    char missing[1024];
    snprintf(missing, sizeof(missing), "%s/missing_patches.txt", dir);
    assert_int_equal(au_ccnf_load(&c, missing, &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "missing_patches.txt"));
    autest_rmtree(dir);
}

static AuStatus load_and_free(const char *path, void *ctx, AuError *err)
{
    (void)ctx;
    AuCcnf c;
    AuStatus st = au_ccnf_load(&c, path, err);
    if (st == AU_OK) {
        assert_true(c.n_views >= 1 && c.n_points >= 1);
        for (int v = 0; v < c.n_views; v++)
            for (int j = 0; j < c.n_points; j++)
                if (au_ccnf_visible(&c, v, j))
                    assert_true(au_ccnf_expert(&c, v, j)->n_neurons > 0);
    } else {
        assert_null(c.experts);
    }
    au_ccnf_free(&c);
    return st;
}

static void test_truncated_and_corrupted(void **state)
{
    (void)state;
    char src[1024], dir[512], dst[1024];
    autest_path(src, sizeof(src), EYE_LEFT_1); /* the smallest CCNF file, 104 KB */
    autest_require_file(src);
    autest_mkdtemp(dir, sizeof(dir));
    snprintf(dst, sizeof(dst), "%s/left_ccnf_patches_1.00_synth_lid_.txt", dir);
    autest_copy_file(src, dst);
    autest_check_truncations(dst, dst, load_and_free, NULL, 20, 0);
    /* Most bytes are float weights, where a flipped bit still gives a valid
     * file; the trials check that nothing crashes, leaks or misreads. */
    autest_check_corruptions(dst, dst, load_and_free, NULL, 10, 4, 77);
    /* header corruption is always caught: flip the view count's top byte */
    unsigned char *d;
    size_t n;
    assert_int_equal(autest_read_file(dst, &d, &n), 0);
    d[11] ^= 0x40;
    autest_write_file(dst, d, n);
    AuError err = {0};
    assert_int_equal(load_and_free(dst, NULL, &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "left_ccnf_patches_1.00_synth_lid_.txt: byte offset 8: number of views"));
    free(d);
    autest_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_general_025),
        cmocka_unit_test(test_other_files),
        cmocka_unit_test(test_sigma),
        cmocka_unit_test(test_known_answer_responses),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncated_and_corrupted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
