/* The runner's pieces that do not need a worker process: evaluation against
 * labels (video CSV and image .pts), OpenFace C++'s rows built from its CSVs,
 * face picking, --openface-fps, shard selection, the fault hook's parser,
 * progress lines, and the JSON / CSV export.
 *
 * Known values were computed independently with Python's csv module on the
 * reference files (data/openface/reference/changeLighting.csv and the 300-W
 * .pts / FaceLandmarkImg CSVs); each is noted where used. */
#define _XOPEN_SOURCE 700
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evaluate.h"
#include "export.h"
#include "fault.h"
#include "manifest.h"
#include "metric_names.h"
#include "openface_job.h"
#include "progress.h"
#include "run.h"
#include "store.h"

static void must(AuStatus st, const AuError *err)
{
    if (st != AU_OK)
        fail_msg("%s", err->msg);
}

static double metric(const AuhJob *job, const char *name)
{
    for (size_t i = 0; i < job->n_metrics; i++)
        if (!strcmp(job->metrics[i].name, name))
            return job->metrics[i].value;
    fail_msg("job has no metric %s", name);
    return NAN;
}

static int has_metric(const AuhJob *job, const char *name)
{
    for (size_t i = 0; i < job->n_metrics; i++)
        if (!strcmp(job->metrics[i].name, name))
            return 1;
    return 0;
}

static const char CL_MANIFEST[] = "auharness-manifest 1\n"
                                  "video openface/videos/changeLighting.wmv labels=openface/reference/changeLighting.csv "
                                  "openface=openface/reference/changeLighting.csv name=cl\n";

typedef struct Fixture {
    AuhManifest m;
    AuhItemLabels labels;
    AuhJob job;
} Fixture;

/* OpenFace C++'s own rows for changeLighting, with its labels. */
static void load_cl(Fixture *fx)
{
    AuError err = {0};
    memset(fx, 0, sizeof(*fx));
    must(auh_manifest_parse(&fx->m, "cl.manifest", CL_MANIFEST, strlen(CL_MANIFEST), autest_data_dir(), &err), &err);
    must(auh_labels_load(&fx->labels, &fx->m.items[0], &err), &err);
    AuhOpenfaceConfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    double fps = 0;
    must(auh_openface_job_build(&fx->job, &cfg, &fx->m, &fx->m.items[0], &fx->labels, 0, &fps, &err), &err);
    /* the reference README's single-threaded tracking-loop FPS */
    assert_true(fps == 33.5);
}

static void free_fx(Fixture *fx)
{
    auh_job_free(&fx->job);
    auh_labels_free(&fx->labels);
    auh_manifest_free(&fx->m);
}

static void test_video_labels_against_themselves(void **state)
{
    (void)state;
    Fixture fx;
    load_cl(&fx);
    AuError err = {0};
    assert_int_equal(fx.labels.n, 88);
    assert_int_equal(fx.labels.n_points, 68);
    /* frame 1: x_36 = 249.0, y_45 = 196.3 in the CSV */
    assert_true(fx.labels.lmk[36] == 249.0);
    assert_true(fx.labels.lmk[68 + 45] == 196.3);
    AuhJob *job = &fx.job;
    assert_string_equal(job->variant, AUH_VARIANT_OPENFACE);
    assert_int_equal((int)job->n_frames, 88);
    assert_int_equal(job->n_landmarks, 68);
    assert_int_equal(job->n_au_r, 17);
    assert_int_equal(job->n_au_c, 18);
    assert_string_equal(job->au_r_names[0], "AU01");
    assert_string_equal(job->au_c_names[16], "AU28");
    assert_int_equal(job->frames[87].frame, 88);
    must(auh_evaluate_job(job, &fx.labels, 0, &err), &err);
    assert_true(metric(job, AUH_M_FRAMES) == 88);
    assert_true(metric(job, AUH_M_FRAMES_SUCCESS) == 88);
    /* landmarks stored as float and compared with the CSV's doubles: the
     * difference is float rounding of 1-decimal values (< 3e-5 px) */
    assert_true(metric(job, AUH_M_LMK_MEAN_PX) < 3e-5);
    assert_true(metric(job, AUH_M_LMK_MISSED) == 0);
    assert_true(metric(job, AUH_M_LMK_FAILURE_RATE) == 0);
    assert_true(fabs(metric(job, AUH_M_AU_MEAN_R) - 1) < 1e-12);
    /* AU10_r is 0 on every frame of the labels (Python) */
    assert_true(metric(job, AUH_M_AU_LEFT_OUT) == 1);
    assert_true(isnan(metric(job, AUH_M_AU_R_PREFIX "AU10")));
    assert_true(fabs(metric(job, AUH_M_AU_R_PREFIX "AU12") - 1) < 1e-12);
    assert_true(metric(job, AUH_M_AU_MAE_PREFIX "AU12") == 0);
    assert_true(metric(job, AUH_M_PRESENCE_AGREEMENT) == 1);
    for (size_t i = 0; i < job->n_frames; i++) {
        assert_true(job->frames[i].lmk_px < 3e-5);
        assert_false(isnan(job->frames[i].nme));
    }
    free_fx(&fx);
}

static void test_video_shifted_and_missed(void **state)
{
    (void)state;
    Fixture fx;
    load_cl(&fx);
    AuError err = {0};
    AuhJob *job = &fx.job;
    /* every point moved by (3, 4): 5 px */
    for (size_t i = 0; i < job->n_frames; i++)
        for (int k = 0; k < 68; k++) {
            job->landmarks[i * 136 + (size_t)k] += 3.0f;
            job->landmarks[i * 136 + 68 + (size_t)k] += 4.0f;
        }
    must(auh_evaluate_job(job, &fx.labels, 0, &err), &err);
    assert_true(fabs(metric(job, AUH_M_LMK_MEAN_PX) - 5) < 1e-4);
    assert_true(fabs(metric(job, AUH_M_LMK_MEDIAN_PX) - 5) < 1e-4);
    assert_true(fabs(metric(job, AUH_M_LMK_RMSE_PX) - 5) < 1e-4);
    /* frame 1's outer inter-ocular distance is 135.28651078359587 px, and the
     * mean of 5 / iod over the 88 frames is 0.03682055686994951 (Python) */
    assert_true(fabs(job->frames[0].nme - 5 / 135.28651078359587) < 1e-6);
    assert_true(fabs(metric(job, AUH_M_LMK_MEAN_NME) - 0.03682055686994951) < 1e-6);
    assert_true(fabs(metric(job, AUH_M_LMK_AUC) - (1 - 0.03682055686994951 / 0.08)) < 1e-5);
    assert_true(metric(job, AUH_M_LMK_FAILURE_RATE) == 0);

    /* frame 5 lost: a missed frame, a failure, and out of the AU frames */
    job->frames[4].success = 0;
    job->au_r[4 * 17 + 8] += 3; /* would change AU12's r if it were used */
    must(auh_evaluate_job(job, &fx.labels, 0, &err), &err);
    assert_true(metric(job, AUH_M_LMK_MISSED) == 1);
    assert_true(fabs(metric(job, AUH_M_LMK_FAILURE_RATE) - 1.0 / 88) < 1e-15);
    assert_true(metric(job, AUH_M_FRAMES_SUCCESS) == 87);
    assert_true(fabs(metric(job, AUH_M_AU_R_PREFIX "AU12") - 1) < 1e-12);
    /* now used: AU12 no longer matches */
    job->frames[4].success = 1;
    must(auh_evaluate_job(job, &fx.labels, 0, &err), &err);
    assert_true(metric(job, AUH_M_AU_R_PREFIX "AU12") < 0.99);
    assert_true(metric(job, AUH_M_AU_MAE_PREFIX "AU12") > 3.0 / 88 - 1e-12);
    free_fx(&fx);
}

static void test_video_frame_limit(void **state)
{
    (void)state;
    Fixture fx;
    load_cl(&fx);
    AuError err = {0};
    AuhJob *job = &fx.job;
    job->n_frames = 10; /* the first 10 frames, as a --max-frames 10 run */
    must(auh_evaluate_job(job, &fx.labels, 10, &err), &err);
    assert_true(metric(job, AUH_M_FRAMES) == 10);
    assert_true(metric(job, AUH_M_LMK_MISSED) == 0);
    /* AU10_r and AU14_r are constant over frames 1-10 (Python) */
    assert_true(metric(job, AUH_M_AU_LEFT_OUT) == 2);
    /* without the limit the 78 labelled frames the job lacks are missed */
    must(auh_evaluate_job(job, &fx.labels, 0, &err), &err);
    assert_true(metric(job, AUH_M_LMK_MISSED) == 78);
    job->n_frames = 88;
    free_fx(&fx);
}

static void test_unlabelled_video(void **state)
{
    (void)state;
    static const char text[] = "auharness-manifest 1\nvideo openface/videos/changeLighting.wmv name=bare\n";
    AuhManifest m;
    AuError err = {0};
    must(auh_manifest_parse(&m, "bare.manifest", text, strlen(text), autest_data_dir(), &err), &err);
    AuhItemLabels l;
    must(auh_labels_load(&l, &m.items[0], &err), &err);
    assert_int_equal(l.n, 0);
    AuhJob job;
    AuhJobInfo info = {"baseline", "bare", "bare", "video", "x", NULL, NULL, NULL, 68, 0, 0, NULL, NULL};
    must(auh_job_init(&job, &info, &err), &err);
    float lmk[136] = {0};
    AuhFrameRecord rec = {1, 0, NULL, 0.0, 1, 0.98, lmk, NULL, NULL};
    must(auh_job_add_frame(&job, &rec, &err), &err);
    must(auh_evaluate_job(&job, &l, 0, &err), &err);
    assert_true(metric(&job, AUH_M_FRAMES) == 1);
    assert_false(has_metric(&job, AUH_M_LMK_MEAN_PX));
    assert_false(has_metric(&job, AUH_M_AU_MEAN_R));
    auh_job_free(&job);
    auh_labels_free(&l);
    auh_manifest_free(&m);
}

/* A data folder holding three 300-W crops, their .pts and OpenFace's CSVs
 * (0215 has two faces, the labelled one second). */
static void make_image_data(const char *tmp)
{
    static const char *const names[] = {"lfpw_test_image_0001", "lfpw_test_image_0002", "lfpw_test_image_0215"};
    char d[1200], src[2048], dst[2048];
    snprintf(d, sizeof(d), "%s/imgs", tmp);
    assert_int_equal(mkdir(d, 0755), 0);
    snprintf(d, sizeof(d), "%s/of", tmp);
    assert_int_equal(mkdir(d, 0755), 0);
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 2; k++) {
            const char *ext = k ? ".pts" : ".jpg";
            snprintf(src, sizeof(src), "%s/datasets/300w_lfpw_test_crops/%s%s", autest_data_dir(), names[i], ext);
            snprintf(dst, sizeof(dst), "%s/imgs/%s%s", tmp, names[i], ext);
            autest_copy_file(src, dst);
        }
        snprintf(src, sizeof(src), "%s/openface/reference/300w_lfpw_test_crops/%s.csv", autest_data_dir(), names[i]);
        snprintf(dst, sizeof(dst), "%s/of/%s.csv", tmp, names[i]);
        autest_copy_file(src, dst);
    }
}

static void test_images(void **state)
{
    (void)state;
    char tmp[1024];
    autest_mkdtemp(tmp, sizeof(tmp));
    make_image_data(tmp);
    static const char text[] = "auharness-manifest 1\nimages imgs openface=of\n";
    AuhManifest m;
    AuError err = {0};
    must(auh_manifest_parse(&m, "img.manifest", text, strlen(text), tmp, &err), &err);
    assert_int_equal(m.items[0].n_images, 3);
    AuhItemLabels l;
    must(auh_labels_load(&l, &m.items[0], &err), &err);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.n_points, 68);
    /* first point of lfpw_test_image_0001.pts is 129.339068 159.585607, 1-based */
    assert_true(fabs(l.lmk[0] - 128.339068) < 1e-12);
    assert_true(fabs(l.lmk[68] - 158.585607) < 1e-12);
    assert_int_equal(l.frame[2], 3);

    AuhOpenfaceConfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    AuhJob job;
    double fps = 0;
    must(auh_openface_job_build(&job, &cfg, &m, &m.items[0], &l, 0, &fps, &err), &err);
    assert_true(isnan(fps)); /* no speed known for an image set unless given */
    assert_int_equal((int)job.n_frames, 3);
    assert_string_equal(job.frames[2].name, "lfpw_test_image_0215.jpg");
    assert_int_equal(job.frames[2].frame, 3);
    /* 0215: the second face row is the labelled one (centroid 0.47 px away
     * against 105.9 px for the first; Python) */
    AuhOfCsv csv;
    char p[2048];
    snprintf(p, sizeof(p), "%s/of/lfpw_test_image_0215.csv", tmp);
    must(auh_of_csv_read(&csv, p, &err), &err);
    assert_true(job.landmarks[2 * 136] == (float)auh_of_csv_landmark_x(&csv, 1, 0));
    auh_of_csv_free(&csv);
    must(auh_evaluate_job(&job, &l, 0, &err), &err);
    /* per-image NME against the .pts (Python): 0.03883910878396205,
     * 0.022814226244042664, 0.02675123607658711 */
    assert_true(fabs(job.frames[0].nme - 0.03883910878396205) < 1e-6);
    assert_true(fabs(job.frames[2].nme - 0.02675123607658711) < 1e-6);
    double mean = (0.03883910878396205 + 0.022814226244042664 + 0.02675123607658711) / 3;
    assert_true(fabs(metric(&job, AUH_M_LMK_MEAN_NME) - mean) < 1e-6);
    assert_true(fabs(metric(&job, AUH_M_LMK_MEAN_PX) - (5.681831044012085 + 2.367141006935687 + 3.452103292530308) / 3) <
                1e-4);
    assert_true(metric(&job, AUH_M_LMK_MEDIAN_NME) == job.frames[2].nme);
    assert_true(metric(&job, AUH_M_LMK_FAILURE_RATE) == 0);
    assert_false(has_metric(&job, AUH_M_AU_MEAN_R));
    auh_job_free(&job);

    /* an image OpenFace has no CSV for is a missed frame */
    snprintf(p, sizeof(p), "%s/of/lfpw_test_image_0002.csv", tmp);
    assert_int_equal(remove(p), 0);
    free(m.items[0].images[1].openface);
    m.items[0].images[1].openface = NULL;
    must(auh_openface_job_build(&job, &cfg, &m, &m.items[0], &l, 0, &fps, &err), &err);
    assert_int_equal(job.frames[1].success, 0);
    must(auh_evaluate_job(&job, &l, 0, &err), &err);
    assert_true(metric(&job, AUH_M_LMK_MISSED) == 1);
    assert_true(fabs(metric(&job, AUH_M_LMK_FAILURE_RATE) - 1.0 / 3) < 1e-15);
    auh_job_free(&job);
    auh_labels_free(&l);

    /* a label file with the wrong point count is named */
    snprintf(p, sizeof(p), "%s/imgs/lfpw_test_image_0002.pts", tmp);
    static const char bad[] = "version: 1\nn_points: 2\n{\n1 2\n3 4\n}\n";
    autest_write_file(p, bad, strlen(bad));
    assert_int_not_equal(auh_labels_load(&l, &m.items[0], &err), AU_OK);
    assert_non_null(strstr(err.msg, "lfpw_test_image_0002.pts"));
    /* a truncated one too, with its line */
    autest_write_file(p, bad, 20);
    assert_int_not_equal(auh_labels_load(&l, &m.items[0], &err), AU_OK);
    assert_non_null(strstr(err.msg, "lfpw_test_image_0002.pts"));
    auh_manifest_free(&m);
    autest_rmtree(tmp);
}

static void test_bad_label_csv(void **state)
{
    (void)state;
    char tmp[1024], src[2048], dst[2048];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(src, sizeof(src), "%s/openface/reference/changeLighting.csv", autest_data_dir());
    snprintf(dst, sizeof(dst), "%s/cl.csv", tmp);
    autest_copy_file(src, dst);
    snprintf(src, sizeof(src), "%s/openface/videos/changeLighting.wmv", autest_data_dir());
    snprintf(dst, sizeof(dst), "%s/cl.wmv", tmp);
    autest_copy_file(src, dst);
    static const char text[] = "auharness-manifest 1\nvideo cl.wmv labels=cl.csv openface=cl.csv\n";
    AuhManifest m;
    AuError err = {0};
    must(auh_manifest_parse(&m, "t.manifest", text, strlen(text), tmp, &err), &err);
    /* cut in the middle of row 3 */
    unsigned char *data;
    size_t size;
    snprintf(dst, sizeof(dst), "%s/cl.csv", tmp);
    assert_int_equal(autest_read_file(dst, &data, &size), 0);
    size_t cut = 0;
    for (int nl = 0; cut < size && nl < 3; cut++)
        nl += data[cut] == '\n';
    autest_write_file(dst, data, cut + 50);
    free(data);
    AuhItemLabels l;
    assert_int_not_equal(auh_labels_load(&l, &m.items[0], &err), AU_OK);
    assert_non_null(strstr(err.msg, "cl.csv"));
    AuhOpenfaceConfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    AuhJob job;
    double fps;
    AuhItemLabels none = {0};
    assert_int_not_equal(auh_openface_job_build(&job, &cfg, &m, &m.items[0], &none, 0, &fps, &err), AU_OK);
    assert_non_null(strstr(err.msg, "cl.csv"));
    auh_job_free(&job);
    auh_manifest_free(&m);
    autest_rmtree(tmp);
}

static void test_pick_face(void **state)
{
    (void)state;
    float a[4] = {0, 2, 0, 2}, b[4] = {10, 12, 10, 12}, c[4] = {5, 7, 5, 7};
    const float *faces[3] = {a, b, c};
    double label[4] = {9, 11, 9.5, 11.5}; /* centroid (10, 10.5) */
    assert_int_equal(auh_pick_face(faces, 3, 2, label, 2), 1);
    assert_int_equal(auh_pick_face(faces, 3, 2, NULL, 0), 0);
    assert_int_equal(auh_pick_face(faces, 0, 2, label, 2), -1);
    double near_c[4] = {6, 6, 6, 6};
    assert_int_equal(auh_pick_face(faces, 3, 2, near_c, 2), 2);
}

static void test_openface_fps(void **state)
{
    (void)state;
    AuhOpenfaceConfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    AuhManifestItem dflt = {0}, cl = {0}, other = {0}, imgs = {0};
    dflt.kind = cl.kind = other.kind = AUH_ITEM_VIDEO;
    imgs.kind = AUH_ITEM_IMAGES;
    dflt.path = "/d/openface/videos/default.wmv";
    dflt.id = "default";
    cl.path = "/d/openface/videos/changeLighting.wmv";
    cl.id = "changeLighting";
    other.path = "/d/x/p01.mp4";
    other.id = "p01";
    imgs.path = "/d/imgs";
    imgs.id = "imgs";
    assert_true(auh_openface_fps_for(&cfg, &dflt) == 41.3);
    assert_true(auh_openface_fps_for(&cfg, &cl) == 33.5);
    assert_true(isnan(auh_openface_fps_for(&cfg, &other)));
    assert_true(isnan(auh_openface_fps_for(&cfg, &imgs)));
    AuError err = {0};
    must(auh_openface_fps_parse(&cfg, "p01=12.5,imgs=3", &err), &err);
    assert_true(auh_openface_fps_for(&cfg, &other) == 12.5);
    assert_true(auh_openface_fps_for(&cfg, &imgs) == 3);
    assert_true(auh_openface_fps_for(&cfg, &cl) == 33.5);
    must(auh_openface_fps_parse(&cfg, "20", &err), &err);
    assert_true(auh_openface_fps_for(&cfg, &cl) == 20);
    assert_true(auh_openface_fps_for(&cfg, &other) == 20);
    static const char *const bad[] = {"", "abc", "-3", "0", "p01=", "=4", "p01=x", "1e999", "p01=2,,"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(auh_openface_fps_parse(&cfg, bad[i], &err), AU_OK);
        assert_non_null(strstr(err.msg, "--openface-fps"));
    }
    assert_int_not_equal(auh_openface_check_binary("/nonexistent/FeatureExtraction", &err), AU_OK);
    assert_non_null(strstr(err.msg, "/nonexistent/FeatureExtraction"));
    assert_int_not_equal(auh_openface_check_binary("/", &err), AU_OK);
    assert_non_null(strstr(err.msg, "not a regular file"));
}

static void test_shards_and_faults(void **state)
{
    (void)state;
    /* every index in exactly one shard */
    for (int n = 1; n <= 4; n++)
        for (size_t i = 0; i < 20; i++) {
            int hits = 0;
            for (int k = 1; k <= n; k++)
                hits += auh_shard_selects(i, k, n);
            assert_int_equal(hits, 1);
        }
    assert_true(auh_shard_selects(0, 1, 2) && auh_shard_selects(2, 1, 2) && auh_shard_selects(1, 2, 2));
    assert_true(auh_shard_selects(7, 0, 0));
    assert_int_equal(auh_fault_for(NULL, "baseline", "cl"), AUH_FAULT_NONE);
    assert_int_equal(auh_fault_for("crash:baseline:cl", "baseline", "cl"), AUH_FAULT_CRASH);
    assert_int_equal(auh_fault_for("crash:baseline:cl", "baseline", "cl2"), AUH_FAULT_NONE);
    assert_int_equal(auh_fault_for("crash:baseline:cl", "simd", "cl"), AUH_FAULT_NONE);
    assert_int_equal(auh_fault_for("kill:*:cl2,kill-commit:simd:*", "simd", "x"), AUH_FAULT_KILL_COMMIT);
    assert_int_equal(auh_fault_for("kill:*:cl2,kill-commit:simd:*", "baseline", "cl2"), AUH_FAULT_KILL);
    assert_int_equal(auh_fault_for("kill-after:openface:cl", "openface", "cl"), AUH_FAULT_KILL_AFTER);
    assert_int_equal(auh_fault_for("explode:baseline:cl", "baseline", "cl"), AUH_FAULT_NONE);
    assert_int_equal(auh_fault_for("crash:baseline", "baseline", "cl"), AUH_FAULT_NONE);
}

static void test_progress_text(void **state)
{
    (void)state;
    char b[512];
    auh_format_duration(42.4, b, sizeof(b));
    assert_string_equal(b, "42 s");
    auh_format_duration(187, b, sizeof(b));
    assert_string_equal(b, "3:07");
    auh_format_duration(3723, b, sizeof(b));
    assert_string_equal(b, "1:02:03");
    auh_format_duration(NAN, b, sizeof(b));
    assert_string_equal(b, "?");
    AuhProgressState s = {"baseline default", 2, 120, 288, 85.25, 83};
    auh_progress_format_bar(b, sizeof(b), 200, 3, 12, &s);
    assert_string_equal(b, "[#####---------------] 3/12 jobs | baseline default (+1) 120/288 85.2 fps | ETA 1:23");
    auh_progress_format_bar(b, sizeof(b), 30, 3, 12, &s);
    assert_int_equal((int)strlen(b), 29);
    AuhJobOutcome o = {"baseline", "default", "cl", 0, NULL, 88, 85.25, 0.99876, 0.0384, 0.00031, 2.04};
    auh_progress_format_job(b, sizeof(b), 3, 12, &o);
    assert_string_equal(b, "[ 3/12] baseline default/cl: ok, 88 frames, 85.2 fps, AU r 0.9988, landmarks 0.038 px "
                           "(NME 0.0003) [2.0 s]");
    o.failed = 1;
    o.error = "worker killed by signal 11 (SIGSEGV)";
    auh_progress_format_job(b, sizeof(b), 12, 12, &o);
    assert_string_equal(b, "[12/12] baseline default/cl: FAILED: worker killed by signal 11 (SIGSEGV)");
}

static void test_export(void **state)
{
    (void)state;
    char tmp[1024], db[1100], js[1100], cs[1100];
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(db, sizeof(db), "%s/r.sqlite", tmp);
    snprintf(js, sizeof(js), "%s/r.json", tmp);
    snprintf(cs, sizeof(cs), "%s/r.csv", tmp);
    Fixture fx;
    load_cl(&fx);
    AuError err = {0};
    must(auh_evaluate_job(&fx.job, &fx.labels, 0, &err), &err);
    fx.job.wall_ns = 2500000000LL;
    AuhStore s;
    must(auh_store_open(&s, db, &err), &err);
    AuhRunInfo info = {"K", "rev", "cc", "", "cpu", "host", "cmd", 1.0};
    int64_t run;
    must(auh_store_begin_run(&s, &info, &run, NULL, &err), &err);
    must(auh_store_commit_job(&s, run, &fx.job, &err), &err);
    AuhJob failed;
    AuhJobInfo fi = {"baseline", "cl", "cl", "video", "v", NULL, NULL, NULL, 0, 0, 0, NULL, NULL};
    must(auh_job_init(&failed, &fi, &err), &err);
    must(auh_job_set_failed(&failed, "worker killed by signal 11 (SIGSEGV), \"x\"", &err), &err);
    must(auh_store_commit_job(&s, run, &failed, &err), &err);
    auh_job_free(&failed);
    must(auh_export_run(&s, run, js, AUH_EXPORT_JSON, &err), &err);
    must(auh_export_run(&s, run, cs, AUH_EXPORT_CSV, &err), &err);
    unsigned char *data;
    size_t size;
    assert_int_equal(autest_read_file(js, &data, &size), 0);
    char *text = realloc(data, size + 1);
    text[size] = '\0';
    assert_non_null(strstr(text, "{\"variant\": \"openface\", \"dataset\": \"cl\", \"item\": \"cl\", \"status\": \"ok\", "
                                 "\"error\": null, \"frames\": 88, \"wall_s\": 2.5, \"metrics\": {"));
    assert_non_null(strstr(text, "\"au_r.AU10\": null"));
    assert_non_null(strstr(text, "\"error\": \"worker killed by signal 11 (SIGSEGV), \\\"x\\\"\""));
    free(text);
    assert_int_equal(autest_read_file(cs, &data, &size), 0);
    text = realloc(data, size + 1);
    text[size] = '\0';
    assert_true(!strncmp(text, "variant,dataset,item,status,error,frames,wall_s,au_left_out,au_mae.AU01,", 72));
    assert_non_null(strstr(text, "\nopenface,cl,cl,ok,,88,2.5,1,0,"));
    assert_non_null(strstr(text, "\nbaseline,cl,cl,failed,\"worker killed by signal 11 (SIGSEGV), \"\"x\"\"\",0,,"));
    free(text);
    /* an unwritable path is named */
    assert_int_not_equal(auh_export_run(&s, run, "/nonexistent/dir/r.json", AUH_EXPORT_JSON, &err), AU_OK);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/r.json"));
    auh_store_close(&s);
    free_fx(&fx);
    autest_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_video_labels_against_themselves),
        cmocka_unit_test(test_video_shifted_and_missed),
        cmocka_unit_test(test_video_frame_limit),
        cmocka_unit_test(test_unlabelled_video),
        cmocka_unit_test(test_images),
        cmocka_unit_test(test_bad_label_csv),
        cmocka_unit_test(test_pick_face),
        cmocka_unit_test(test_openface_fps),
        cmocka_unit_test(test_shards_and_faults),
        cmocka_unit_test(test_progress_text),
        cmocka_unit_test(test_export),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
