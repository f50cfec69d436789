/* The run command end to end with the real program: a crashing job is
 * contained and recorded, two processes writing one database lose nothing,
 * shards merged equal an unsharded run, the gate's exit status, errors that
 * name the file / argument at fault, OpenFace C++ timed through a stand-in
 * FeatureExtraction, an image set, and the exports. Items: changeLighting.wmv
 * twice (cl1, cl2), baseline only, first 6 frames. */
#define _XOPEN_SOURCE 700
#include "autest.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metric_names.h"
#include "runcheck.h"
#include "store.h"

typedef struct Ctx {
    RcSetup s;
    char ref[1200], log[1200];
} Ctx;

#define RUN_ARGS(db, ...)                                                                                            \
    (const char *const[])                                                                                            \
    {                                                                                                                \
        "run", "--dataset", c->s.manifest, "--data", autest_data_dir(), "--variant", "baseline", "--max-frames", "6", \
            "--progress", "lines", "--db", db, __VA_ARGS__, NULL                                                     \
    }

static void dump_log(const char *log)
{
    char *t = rc_read(log);
    fprintf(stderr, "---- log ----\n%s---- end ----\n", t);
    free(t);
}

static void expect_rc(const Ctx *c, int got, int want)
{
    if (got != want) {
        dump_log(c->log);
        fail_msg("exit status %d, expected %d", got, want);
    }
}

static int setup(void **state)
{
    Ctx *c = calloc(1, sizeof(*c));
    rc_setup(&c->s);
    rc_path(&c->s, "ref.sqlite", c->ref, sizeof(c->ref));
    rc_path(&c->s, "log.txt", c->log, sizeof(c->log));
    expect_rc(c, rc_run(c->log, NULL, RUN_ARGS(c->ref, "-j", "2")), 0);
    *state = c;
    return 0;
}

static void test_logs_clean(void **state)
{
    Ctx *c = *state;
    rc_check_clean(c->s.dir);
}

static int teardown(void **state)
{
    Ctx *c = *state;
    rc_teardown(&c->s);
    free(c);
    return 0;
}

/* Fresh log per test, so that expectations see only that test's output. */
static void new_log(Ctx *c, const char *name)
{
    rc_path(&c->s, name, c->log, sizeof(c->log));
}

static void test_reference_run(void **state)
{
    Ctx *c = *state;
    /* 4 jobs, all ok; the OpenFace rows reproduce the labels exactly and
     * carry the README's FPS; the baseline's AUs and landmarks are close */
    assert_int_equal(rc_query_int(c->ref, "SELECT count(*) FROM jobs WHERE status = 'ok'"), 4);
    assert_int_equal(rc_query_int(c->ref, "SELECT count(*) FROM frames"), 4 * 6);
    assert_int_equal(rc_query_int(c->ref, "SELECT count(*) FROM jobs j JOIN metrics m ON m.job_id = j.id "
                                          "WHERE j.variant = 'openface' AND m.name = 'fps' AND m.value = 33.5"),
                     2);
    assert_int_equal(rc_query_int(c->ref, "SELECT count(*) FROM jobs j JOIN metrics m ON m.job_id = j.id "
                                          "WHERE j.variant = 'openface' AND m.name = 'au_mean_r' AND m.value > 0.999999"),
                     2);
    assert_int_equal(rc_query_int(c->ref, "SELECT count(*) FROM jobs j JOIN metrics m ON m.job_id = j.id "
                                          "WHERE j.variant = 'baseline' AND m.name = 'lmk_mean_px' AND m.value < 0.1"),
                     2);
    /* every frame has its landmark error, and the baseline its stage timings */
    assert_int_equal(rc_query_int(c->ref, "SELECT count(*) FROM frames WHERE lmk_px IS NULL OR nme IS NULL"), 0);
    assert_true(rc_query_int(c->ref, "SELECT count(*) FROM timings t JOIN jobs j ON t.job_id = j.id "
                                     "WHERE j.variant = 'baseline' AND t.calls > 0") >= 2);
    assert_int_equal(rc_query_int(c->ref, "SELECT count(*) FROM jobs WHERE variant = 'baseline' AND wall_ns > 0"), 2);
    /* the host's load over each frame loop: CPU-time FPS at least the
     * wall-clock FPS (one thread cannot be on a core longer than the wall
     * time), steal a share; the OpenFace rows say their FPS was given */
    assert_int_equal(rc_query_int(c->ref, "SELECT count(*) FROM jobs j JOIN metrics f ON f.job_id = j.id AND f.name = "
                                          "'fps' JOIN metrics c ON c.job_id = j.id AND c.name = 'cpu_fps' WHERE "
                                          "j.variant = 'baseline' AND c.value >= f.value * 0.999 AND f.value > 0"),
                     2);
    assert_int_equal(rc_query_int(c->ref, "SELECT count(*) FROM metrics WHERE name = 'host_steal' AND value >= 0 AND "
                                          "value <= 1"),
                     2);
    assert_int_equal(rc_query_int(c->ref, "SELECT count(*) FROM jobs j JOIN metrics m ON m.job_id = j.id "
                                          "WHERE j.variant = 'openface' AND m.name = 'openface_timed' AND m.value = 0"),
                     2);
    rc_expect_in(c->log, "host load: the workers were on a core ");
    rc_expect_in(c->log, "'x OpenFace' divides by OpenFace C++'s FPS on a quiet machine, so a busy host lowers it");
    /* run facts */
    assert_int_equal(rc_query_int(c->ref, "SELECT count(*) FROM runs WHERE ended_at >= started_at AND command LIKE "
                                          "'auharness run --dataset %' AND git_revision != '' AND cpu != ''"),
                     1);
}

static void test_crash_contained(void **state)
{
    Ctx *c = *state;
    new_log(c, "crash.txt");
    char db[1200];
    rc_path(&c->s, "crash.sqlite", db, sizeof(db));
    /* the bare form (options first) is the run too */
    const char *const args[] = {"--dataset", c->s.manifest, "--data", autest_data_dir(), "--variant", "baseline",
                                "--max-frames", "6", "--progress", "lines", "--db", db, "--run-key", "C", NULL};
    expect_rc(c, rc_run(c->log, "crash:baseline:cl1", args), 0);
    rc_expect_in(c->log, "baseline small/cl1: FAILED: worker killed by signal 11 (SIGSEGV)");
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM jobs WHERE status = 'failed' AND variant = 'baseline' AND "
                                      "item = 'cl1' AND error = 'worker killed by signal 11 (SIGSEGV)'"),
                     1);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM jobs WHERE status = 'ok'"), 3);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM runs WHERE ended_at IS NOT NULL"), 1);
    /* the failed job makes its variant fail the gate */
    rc_expect_in(c->log, "FAIL");
    /* the same key again runs only the failed job */
    expect_rc(c, rc_run(c->log, NULL, args), 0);
    rc_expect_in(c->log, "4 jobs, 3 already done, 1 to run");
    rc_compare_dbs(c->ref, db, 4);
}

static void test_two_processes_one_db(void **state)
{
    Ctx *c = *state;
    new_log(c, "two.txt");
    char db[1200];
    rc_path(&c->s, "two.sqlite", db, sizeof(db));
    /* three shards of 4 jobs: 1/3 = baseline cl1 + openface cl2, 2/3 =
     * openface cl1, 3/3 = baseline cl2; two processes run the pipeline and
     * all three commit to the database at the same time */
    pid_t a = rc_start(c->log, NULL, RUN_ARGS(db, "--shard", "1/3", "--run-key", "T", "--progress", "bar"));
    pid_t b = rc_start(c->log, NULL, RUN_ARGS(db, "--shard", "2/3", "--run-key", "T"));
    pid_t d = rc_start(c->log, NULL, RUN_ARGS(db, "--shard", "3/3", "--run-key", "T"));
    expect_rc(c, rc_wait(a), 0);
    expect_rc(c, rc_wait(b), 0);
    expect_rc(c, rc_wait(d), 0);
    rc_compare_dbs(c->ref, db, 4);
    /* the progress bar is drawn in place */
    rc_expect_in(c->log, "\r\033[K[");
    rc_expect_in(c->log, "jobs | baseline cl");
}

static void test_shards_merged(void **state)
{
    Ctx *c = *state;
    new_log(c, "shards.txt");
    char a[1200], b[1200], out[1200];
    rc_path(&c->s, "shard1.sqlite", a, sizeof(a));
    rc_path(&c->s, "shard2.sqlite", b, sizeof(b));
    rc_path(&c->s, "merged.sqlite", out, sizeof(out));
    expect_rc(c, rc_run(c->log, NULL, RUN_ARGS(a, "--shard", "1/2", "--run-key", "S")), 0);
    expect_rc(c, rc_run(c->log, NULL, RUN_ARGS(b, "--shard", "2/2", "--run-key", "S")), 0);
    /* jobs 0, 2 (baseline cl1, baseline cl2) and 1, 3 (the OpenFace rows) */
    assert_int_equal(rc_query_int(a, "SELECT count(*) FROM jobs WHERE variant = 'baseline'"), 2);
    assert_int_equal(rc_query_int(b, "SELECT count(*) FROM jobs WHERE variant = 'openface'"), 2);
    expect_rc(c, rc_run(c->log, NULL, (const char *const[]){"merge", out, a, b, NULL}), 0);
    rc_expect_in(c->log, "1 runs added, 0 joined; 2 jobs added");
    rc_expect_in(c->log, "0 runs added, 1 joined; 2 jobs added");
    rc_compare_dbs(c->ref, out, 4);
    /* merging again changes nothing */
    expect_rc(c, rc_run(c->log, NULL, (const char *const[]){"merge", out, a, NULL}), 0);
    rc_expect_in(c->log, "0 jobs added, 2 already present");
    rc_compare_dbs(c->ref, out, 4);
    expect_rc(c, rc_run(c->log, NULL, (const char *const[]){"merge", out, "/nonexistent/x.sqlite", NULL}), 1);
    rc_expect_in(c->log, "/nonexistent/x.sqlite");
}

/* Does some line of the log hold both words? */
static int line_with(const char *log, const char *a, const char *b)
{
    char *t = rc_read(log);
    int found = 0;
    for (char *line = strtok(t, "\n"); line && !found; line = strtok(NULL, "\n"))
        found = strstr(line, a) && strstr(line, b);
    free(t);
    return found;
}

static void add_job(AuhStore *s, int64_t run, const char *variant, const char *item, double r)
{
    AuError err = {0};
    AuhJob job;
    AuhJobInfo info = {variant, "d", item, "video", "v.mp4", "v.csv", NULL, NULL, 0, 0, 0, NULL, NULL};
    if (auh_job_init(&job, &info, &err) || auh_job_set_metric(&job, AUH_M_AU_MEAN_R, r, &err) ||
        auh_job_set_metric(&job, AUH_M_FPS, 50, &err))
        fail_msg("%s", err.msg);
    job.wall_ns = 1000000000;
    if (auh_store_commit_job(s, run, &job, &err))
        fail_msg("%s", err.msg);
    auh_job_free(&job);
}

static void test_gate(void **state)
{
    Ctx *c = *state;
    new_log(c, "gate.txt");
    expect_rc(c, rc_run(c->log, NULL, (const char *const[]){"gate", "--db", c->ref, "--gate", "0.5", NULL}), 0);
    assert_true(line_with(c->log, "baseline", "PASS"));
    new_log(c, "gate2.txt");
    /* a 6-frame run cannot reach r = 0.999999 (its AU post-processing sees 6
     * frames, OpenFace's labels saw 88) */
    expect_rc(c, rc_run(c->log, NULL, (const char *const[]){"gate", "--db", c->ref, "--gate", "0.999999", NULL}), 1);
    assert_true(line_with(c->log, "baseline", "FAIL"));
    assert_false(line_with(c->log, "openface", "FAIL")); /* not gated */

    /* a database built through the store API: good passes, bad fails on one item */
    char db[1200];
    rc_path(&c->s, "gate.sqlite", db, sizeof(db));
    AuhStore s = {0};
    AuError err = {0};
    if (auh_store_open(&s, db, &err))
        fail_msg("%s", err.msg);
    AuhRunInfo info = {"G", "rev", "cc", "", "cpu", "host", "cmd", 1.0};
    int64_t run;
    if (auh_store_begin_run(&s, &info, &run, NULL, &err))
        fail_msg("%s", err.msg);
    add_job(&s, run, "good", "a", 0.95);
    add_job(&s, run, "good", "b", 0.97);
    add_job(&s, run, "bad", "a", 0.95);
    add_job(&s, run, "bad", "b", 0.85);
    if (auh_store_end_run(&s, run, 2.0, &err))
        fail_msg("%s", err.msg);
    auh_store_close(&s);
    new_log(c, "gate3.txt");
    expect_rc(c, rc_run(c->log, NULL, (const char *const[]){"gate", "G", "--db", db, NULL}), 1);
    assert_true(line_with(c->log, "bad", "FAIL"));
    assert_false(line_with(c->log, "good", "FAIL"));
    new_log(c, "gate4.txt");
    expect_rc(c, rc_run(c->log, NULL, (const char *const[]){"gate", "--db", db, "--gate", "0.8", NULL}), 0);
    assert_false(line_with(c->log, "bad", "FAIL"));
    /* errors: exit 2, naming what is wrong */
    new_log(c, "gate5.txt");
    expect_rc(c, rc_run(c->log, NULL, (const char *const[]){"gate", "--db", "/nonexistent/r.sqlite", NULL}), 2);
    rc_expect_in(c->log, "/nonexistent/r.sqlite");
    expect_rc(c, rc_run(c->log, NULL, (const char *const[]){"gate", "nosuchrun", "--db", db, NULL}), 2);
    rc_expect_in(c->log, "no run with key 'nosuchrun'");
    expect_rc(c, rc_run(c->log, NULL, (const char *const[]){"gate", "--gate", "x", "--db", db, NULL}), 2);
    rc_expect_in(c->log, "--gate 'x'");
}

static void test_errors_name_the_culprit(void **state)
{
    Ctx *c = *state;
    char bad[1200], db[1200], notexec[1200];
    rc_path(&c->s, "bad.manifest", bad, sizeof(bad));
    rc_path(&c->s, "err.sqlite", db, sizeof(db));
    rc_path(&c->s, "notexec", notexec, sizeof(notexec));
    static const char text[] = "auharness-manifest 1\n# two good lines, then a bad one\n"
                               "video openface/videos/changeLighting.wmv name=a\n"
                               "video openface/videos/nosuch.wmv name=b\n";
    autest_write_file(bad, text, strlen(text));
    autest_write_file(notexec, "#!/bin/sh\n", 10);
    struct {
        const char *const *args;
        int rc;
        const char *expect;
    } cases[] = {
        {(const char *const[]){"run", "--dataset", bad, "--data", autest_data_dir(), "--db", db, NULL}, 1,
         "bad.manifest:4:"},
        {(const char *const[]){"run", "--dataset", "/nonexistent/m.manifest", "--db", db, NULL}, 1,
         "/nonexistent/m.manifest"},
        {(const char *const[]){"run", "--variant", "baseline,nosuch", "--db", db, NULL}, 2, "unknown variant 'nosuch'"},
        {(const char *const[]){"run", "--variant", "openface", "--db", db, NULL}, 2, "--no-openface"},
        {(const char *const[]){"run", "--all-variants", "--variant", "baseline", NULL}, 2, "--all-variants"},
        {(const char *const[]){"run", "--shard", "3/2", "--run-key", "k", NULL}, 2, "--shard '3/2'"},
        {(const char *const[]){"run", "--shard", "1/2", NULL}, 2, "needs --run-key"},
        {(const char *const[]){"run", "-j", "0", NULL}, 2, "-j '0'"},
        {(const char *const[]){"run", "--gate", "1.5", NULL}, 2, "--gate '1.5'"},
        {(const char *const[]){"run", "--max-frames", "-3", NULL}, 2, "--max-frames '-3'"},
        {(const char *const[]){"run", "--openface-fps", "fast", NULL}, 2, "--openface-fps 'fast'"},
        {(const char *const[]){"run", "--openface", "/nonexistent/FeatureExtraction", NULL}, 2,
         "--openface '/nonexistent/FeatureExtraction'"},
        {(const char *const[]){"run", "--openface", notexec, NULL}, 2, "not executable"},
        {(const char *const[]){"run", "--bogus", NULL}, 2, "unknown option '--bogus'"},
        {(const char *const[]){"run", "--db", NULL}, 2, "--db needs a value"},
        {(const char *const[]){"run", "--dataset", c->s.manifest, "--data", "/nonexistent/data", "--db", db, NULL}, 1,
         "/nonexistent/data"},
        {(const char *const[]){"run", "--resume", "--run-key", "nokey", "--dataset", c->s.manifest, "--data",
                               autest_data_dir(), "--db", db, NULL},
         1, "has no run with that key"},
        {(const char *const[]){"nosuchcommand", NULL}, 2, "unknown command 'nosuchcommand'"},
        {(const char *const[]){"merge", db, NULL}, 2, "usage: auharness merge"},
        {(const char *const[]){"list", "--bogus", NULL}, 2, "'--bogus'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "err%zu.txt", i);
        new_log(c, name);
        int rc = rc_run(c->log, NULL, cases[i].args);
        if (rc != cases[i].rc) {
            dump_log(c->log);
            fail_msg("case %zu: exit %d, expected %d", i, rc, cases[i].rc);
        }
        rc_expect_in(c->log, cases[i].expect);
    }
    /* help */
    new_log(c, "help.txt");
    expect_rc(c, rc_run(c->log, NULL, (const char *const[]){"--help", NULL}), 0);
    rc_expect_in(c->log, "--all-variants");
    rc_expect_in(c->log, "changeLighting.wmv 33.5");
    expect_rc(c, rc_run(c->log, NULL, (const char *const[]){"gate", "--help", NULL}), 0);
    expect_rc(c, rc_run(c->log, NULL, (const char *const[]){"run", "-h", NULL}), 0);
    /* list: variants and the runs */
    new_log(c, "list.txt");
    expect_rc(c, rc_run(c->log, NULL, (const char *const[]){"list", "--db", c->ref, NULL}), 0);
    assert_true(line_with(c->log, "baseline", "OpenFace 2.2"));
    rc_expect_in(c->log, "openface");
    assert_true(line_with(c->log, "4 jobs", "20")); /* the run, with its start date */
}

/* A stand-in FeatureExtraction: records its arguments, environment and
 * folder, prints OpenFace's two timing lines 0.3 s apart and writes the
 * reference CSV as its output (or fails when told to). */
static void write_fake_openface(const char *path, const char *record, int fail)
{
    char script[4096];
    snprintf(script, sizeof(script),
             "#!/bin/sh\n"
             "{ echo \"args: $*\"; echo \"pwd: $(pwd)\"; env | grep _NUM; grep Cpus_allowed_list /proc/self/status; } >> '%s'\n"
             "while [ $# -gt 0 ]; do case \"$1\" in -f) v=$2; shift;; -out_dir) o=$2; shift;; esac; shift; done\n"
             "echo 'Starting tracking'\n"
             "sleep 0.3\n"
             "%s"
             "n=$(basename \"$v\"); cp '%s/openface/reference/changeLighting.csv' \"$o/${n%%.*}.csv\"\n"
             "echo 'Closing output recorder'\n",
             record, fail ? "echo 'could not open the video' >&2; exit 3\n" : "", autest_data_dir());
    autest_write_file(path, script, strlen(script));
    assert_int_equal(chmod(path, 0755), 0);
}

static void test_openface_binary(void **state)
{
    Ctx *c = *state;
    new_log(c, "of.txt");
    char dir[1200], bin[1300], record[1300], db[1200];
    rc_path(&c->s, "ofbin", dir, sizeof(dir));
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(bin, sizeof(bin), "%s/FeatureExtraction", dir);
    snprintf(record, sizeof(record), "%s/record.txt", dir);
    rc_path(&c->s, "of.sqlite", db, sizeof(db));
    write_fake_openface(bin, record, 0);
    expect_rc(c, rc_run(c->log, NULL, RUN_ARGS(db, "--openface", bin, "--max-frames", "2")), 0);
    /* single-threaded, from its own folder, with the reference's flags */
    rc_expect_in(record, "OPENBLAS_NUM_THREADS=1");
    rc_expect_in(record, "OPENCV_FOR_THREADS_NUM=1");
    /* pinned to one CPU, as taskset -c N (a list of one number, no range or comma) */
    char *rec0 = rc_read(record);
    const char *cpus = strstr(rec0, "Cpus_allowed_list:");
    assert_non_null(cpus);
    cpus += strlen("Cpus_allowed_list:");
    cpus += strspn(cpus, " \t");
    const size_t digits = strspn(cpus, "0123456789");
    assert_true(digits > 0 && cpus[digits] == '\n');
    free(rec0);
    char want[1400];
    snprintf(want, sizeof(want), "pwd: %s", dir);
    rc_expect_in(record, want);
    rc_expect_in(record, "/openface/videos/changeLighting.wmv -out_dir /tmp/auharness-openface-");
    rc_expect_in(record, "-mloc model/main_clnf_general.txt -2Dfp -3Dfp -pdmparams -pose -aus -gaze");
    /* FPS = the CSV's 88 frames over the 0.3+ s between the two lines */
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM jobs j JOIN metrics m ON m.job_id = j.id WHERE "
                                      "j.variant = 'openface' AND m.name = 'fps' AND m.value > 50 AND m.value <= 88 / 0.3"),
                     2);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM jobs WHERE variant = 'openface' AND n_frames = 2"), 2);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM jobs j JOIN metrics m ON m.job_id = j.id "
                                      "WHERE j.variant = 'openface' AND m.name = 'openface_timed' AND m.value = 1"),
                     2);
    rc_expect_in(c->log, "OpenFace C++'s too: it was timed in this run, side by side");
    /* its temporary output folder is removed */
    char *rec = rc_read(record);
    char *o = strstr(rec, "-out_dir ");
    assert_non_null(o);
    o += strlen("-out_dir ");
    o[strcspn(o, " \n")] = '\0';
    struct stat st;
    assert_int_not_equal(stat(o, &st), 0);
    free(rec);

    /* a failing binary fails its jobs, naming it; the run completes */
    write_fake_openface(bin, record, 1);
    rc_path(&c->s, "of2.sqlite", db, sizeof(db));
    new_log(c, "of2.txt");
    expect_rc(c, rc_run(c->log, NULL, RUN_ARGS(db, "--openface", bin, "--max-frames", "2")), 0);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM jobs WHERE variant = 'openface' AND status = 'failed' AND "
                                      "error LIKE '%FeatureExtraction: exited with status 3 on %changeLighting.wmv "
                                      "(last output: could not open the video)'"),
                     2);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM jobs WHERE variant = 'baseline' AND status = 'ok'"), 2);
}

/* An image set (2 of the 300-W crops in a data folder of its own): the
 * OpenFace rows from its FaceLandmarkImg CSVs; the variant's job through the
 * still-image entry point. */
static void test_image_set_and_exports(void **state)
{
    Ctx *c = *state;
    new_log(c, "img.txt");
    char data[1200], p[2048], src[2048], man[1200], db[1200], js[1200], cs[1200];
    rc_path(&c->s, "imgdata", data, sizeof(data));
    snprintf(p, sizeof(p), "%s/imgs", data);
    assert_int_equal(mkdir(data, 0755), 0);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/of", data);
    assert_int_equal(mkdir(p, 0755), 0);
    for (int i = 1; i <= 2; i++) {
        static const char *const ext[] = {".jpg", ".pts"};
        for (int k = 0; k < 2; k++) {
            snprintf(src, sizeof(src), "%s/datasets/300w_lfpw_test_crops/lfpw_test_image_%04d%s", autest_data_dir(),
                     i, ext[k]);
            snprintf(p, sizeof(p), "%s/imgs/lfpw_test_image_%04d%s", data, i, ext[k]);
            autest_copy_file(src, p);
        }
        snprintf(src, sizeof(src), "%s/openface/reference/300w_lfpw_test_crops/lfpw_test_image_%04d.csv",
                 autest_data_dir(), i);
        snprintf(p, sizeof(p), "%s/of/lfpw_test_image_%04d.csv", data, i);
        autest_copy_file(src, p);
    }
    rc_path(&c->s, "img.manifest", man, sizeof(man));
    static const char text[] = "auharness-manifest 1\nimages imgs openface=of name=crops\n";
    autest_write_file(man, text, strlen(text));
    rc_path(&c->s, "img.sqlite", db, sizeof(db));
    rc_path(&c->s, "img.json", js, sizeof(js));
    rc_path(&c->s, "img.csv", cs, sizeof(cs));
    char models[1200];
    snprintf(models, sizeof(models), "%s/openface/models", autest_data_dir());
    expect_rc(c, rc_run(c->log, NULL,
                        (const char *const[]){"run", "--dataset", man, "--data", data, "--models", models, "--variant",
                                              "baseline", "--db", db, "--export-json", js, "--export-csv", cs, NULL}),
              0);
    /* OpenFace's rows: both images, NME as computed with Python in test_evaluate */
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM jobs j JOIN metrics m ON m.job_id = j.id WHERE j.variant = "
                                      "'openface' AND j.n_frames = 2 AND m.name = 'lmk_mean_nme' AND "
                                      "abs(m.value - (0.03883910878396205 + 0.022814226244042664) / 2) < 1e-6"),
                     1);
    /* the baseline through the still-image entry point: both faces found,
     * as OpenFace did (its landmarks match FaceLandmarkImg's, test_image_mode) */
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM jobs j JOIN metrics m ON m.job_id = j.id WHERE j.variant = "
                                      "'baseline' AND j.status = 'ok' AND j.n_frames = 2 AND m.name = 'lmk_mean_nme' "
                                      "AND abs(m.value - (0.03883910878396205 + 0.022814226244042664) / 2) < 1e-3"),
                     1);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM frames f JOIN jobs j ON f.job_id = j.id WHERE "
                                      "j.variant = 'baseline' AND f.name = 'lfpw_test_image_0002.jpg' AND f.frame = 2 "
                                      "AND f.success = 1 AND f.nme < 0.03"),
                     1);
    rc_expect_in(js, "\"variant\": \"openface\", \"dataset\": \"img\", \"item\": \"crops\", \"status\": \"ok\"");
    rc_expect_in(js, "\"lmk_mean_nme\": 0.03");
    rc_expect_in(cs, "variant,dataset,item,status,error,frames,wall_s,");
    rc_expect_in(cs, "\nopenface,img,crops,ok,,2,,");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_run),
        cmocka_unit_test(test_crash_contained),
        cmocka_unit_test(test_two_processes_one_db),
        cmocka_unit_test(test_shards_merged),
        cmocka_unit_test(test_gate),
        cmocka_unit_test(test_errors_name_the_culprit),
        cmocka_unit_test(test_openface_binary),
        cmocka_unit_test(test_image_set_and_exports),
        cmocka_unit_test(test_logs_clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
