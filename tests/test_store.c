/* The SQLite store: schema and migrations, round trip of a job, two processes
 * writing one database at once, a process killed inside a job's transaction
 * and the resume that follows, and merging sharded databases. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "autest.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

static const char *const AU_R[] = {"AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12",
                                   "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45"};
static const char *const AU_C[] = {"AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12",
                                   "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU28", "AU45"};

typedef struct Tmp {
    char dir[1024];
} Tmp;

static int setup_tmp(void **state)
{
    Tmp *t = calloc(1, sizeof(*t));
    autest_mkdtemp(t->dir, sizeof(t->dir));
    *state = t;
    return 0;
}

static int teardown_tmp(void **state)
{
    Tmp *t = *state;
    autest_rmtree(t->dir);
    free(t);
    return 0;
}

static void tmp_path(const Tmp *t, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", t->dir, name);
}

static void must(AuStatus st, const AuError *err)
{
    if (st != AU_OK)
        fail_msg("%s", err->msg);
}

/* A deterministic job: n_frames frames of 68 points and 17 + 18 AUs; frame 2
 * fails (no landmarks or AUs), image-style names when `images`. */
static void make_job(AuhJob *job, const char *variant, const char *item, int n_frames, int seed, int images)
{
    AuError err = {0};
    AuhJobInfo info = {variant, "default", item, images ? "images" : "video", images ? "datasets/x" : "videos/x.wmv",
                       "labels/x.csv", "host-a", "cpu-a", 68, 17, 18, AU_R, AU_C};
    must(auh_job_init(job, &info, &err), &err);
    job->started_at = 1700000000.25 + seed;
    job->ended_at = 1700000010.5 + seed;
    job->wall_ns = 1000000000LL + seed;
    for (int f = 1; f <= n_frames; f++) {
        float lmk[136];
        double r[17], c[18];
        for (int k = 0; k < 136; k++)
            lmk[k] = (float)(seed * 100 + k * 0.25 + f) + 1.0f / 3.0f;
        for (int j = 0; j < 17; j++)
            r[j] = ((f * 17 + j) % 5) * 0.5 + seed + 0.1;
        for (int j = 0; j < 18; j++)
            c[j] = (f + j) % 2;
        char name[32];
        snprintf(name, sizeof(name), "img_%04d.jpg", f);
        int ok = f != 2;
        AuhFrameRecord rec = {f,  0, images ? name : NULL, images ? NAN : (f - 1) / 15.0, ok, ok ? 0.98 : 0.0,
                              ok ? lmk : NULL, ok ? r : NULL, ok ? c : NULL};
        must(auh_job_add_frame(job, &rec, &err), &err);
        assert_true(isnan(job->frames[f - 1].lmk_px) && isnan(job->frames[f - 1].nme));
        if (ok) { /* as the evaluation sets them */
            job->frames[f - 1].lmk_px = 0.5 * f + seed;
            job->frames[f - 1].nme = 0.01 * f;
        }
    }
    must(auh_job_add_timing(job, "detect", n_frames, 1000LL * n_frames + seed, &err), &err);
    must(auh_job_add_timing(job, "fit", 3 * n_frames, 5000LL * n_frames, &err), &err);
    must(auh_job_add_timing(job, "fit", 1, 7, &err), &err); /* accumulates */
    must(auh_job_set_metric(job, "au_mean_r", 0.9 + seed * 0.01, &err), &err);
    must(auh_job_set_metric(job, "undefined_r", NAN, &err), &err);
}

static int64_t begin_run(AuhStore *s, const char *key, double started, int *existed)
{
    AuError err = {0};
    AuhRunInfo info = {key, "0123abcd", "GNU 12.2.0", "-O2", "cpu-a", "host-a", "auharness run", started};
    int64_t id = 0;
    must(auh_store_begin_run(s, &info, &id, existed, &err), &err);
    assert_true(id > 0);
    return id;
}

static void commit(AuhStore *s, int64_t run, const char *variant, const char *item, int n_frames, int seed)
{
    AuhJob job;
    AuError err = {0};
    make_job(&job, variant, item, n_frames, seed, 0);
    must(auh_store_commit_job(s, run, &job, &err), &err);
    auh_job_free(&job);
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void query_text(sqlite3 *db, const char *sql, char *out, size_t n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(out, n, "%s", t ? (const char *)t : "(null)");
    sqlite3_finalize(st);
}

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        fail_msg("cannot open %s", path);
    sqlite3_busy_timeout(db, 60000);
    return db;
}

static void test_schema(void **state)
{
    Tmp *t = *state;
    char p[1200];
    tmp_path(t, "new.sqlite", p, sizeof(p));
    AuhStore s;
    AuError err = {0};
    must(auh_store_open(&s, p, &err), &err);
    int v = -1;
    must(auh_store_schema_version(&s, &v, &err), &err);
    assert_int_equal(v, AUH_STORE_SCHEMA_VERSION);
    char text[256];
    query_text(s.db, "PRAGMA journal_mode", text, sizeof(text));
    assert_string_equal(text, "wal");
    assert_int_equal(query_int(s.db, "PRAGMA foreign_keys"), 1);
    query_text(s.db,
               "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name)",
               text, sizeof(text));
    assert_string_equal(text, "frames jobs metrics runs timings");
    /* the frames table keeps every column the issue lists */
    query_text(s.db, "SELECT group_concat(name, ' ') FROM pragma_table_info('frames')", text, sizeof(text));
    assert_string_equal(text, "job_id frame face name timestamp success confidence landmarks au_r au_c lmk_px nme");
    auh_store_close(&s);
    auh_store_close(&s); /* closing twice is harmless */
    /* reopening leaves it alone */
    must(auh_store_open(&s, p, &err), &err);
    must(auh_store_schema_version(&s, &v, &err), &err);
    assert_int_equal(v, AUH_STORE_SCHEMA_VERSION);
    auh_store_close(&s);
    /* a folder that does not exist */
    assert_int_not_equal(auh_store_open(&s, "/nonexistent-dir/x.sqlite", &err), AU_OK);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.sqlite"));
    assert_null(s.db);
}

static void test_migrations(void **state)
{
    Tmp *t = *state;
    char p[1200];
    AuhStore s;
    AuError err = {0};

    /* version 0: an empty file (e.g. made by `touch`) is migrated to the current version */
    tmp_path(t, "empty.sqlite", p, sizeof(p));
    autest_write_file(p, "", 0);
    must(auh_store_open(&s, p, &err), &err);
    assert_int_equal(query_int(s.db, "PRAGMA user_version"), AUH_STORE_SCHEMA_VERSION);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM runs"), 0);
    auh_store_close(&s);

    /* version 0 with someone else's tables: refused, left untouched */
    tmp_path(t, "other.sqlite", p, sizeof(p));
    sqlite3 *db = raw_open(p);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE mine (x); INSERT INTO mine VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(auh_store_open(&s, p, &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "not an auharness database"));
    assert_non_null(strstr(err.msg, "other.sqlite"));
    db = raw_open(p);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_schema"), 1);
    sqlite3_close(db);

    /* a newer schema: refused */
    tmp_path(t, "newer.sqlite", p, sizeof(p));
    db = raw_open(p);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(auh_store_open(&s, p, &err), AU_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "schema version 99 is newer"));

    /* not SQLite at all */
    tmp_path(t, "text.sqlite", p, sizeof(p));
    const char junk[] = "this is not a database, just some text that is long enough to have a header......";
    autest_write_file(p, junk, sizeof(junk));
    assert_int_not_equal(auh_store_open(&s, p, &err), AU_OK);
    assert_non_null(strstr(err.msg, "text.sqlite"));
    assert_non_null(strstr(err.msg, "not a database"));

    /* The real schema 1 -> 2: a version 1 database with a job keeps it and
     * gains the per-frame landmark error columns (NULL). */
    tmp_path(t, "v1.sqlite", p, sizeof(p));
    db = raw_open(p);
    int n_real = 0;
    const AuhMigration *real = auh_store_migrations(&n_real);
    assert_true(n_real >= 2);
    must(auh_store_migrate(db, "v1", real, 1, &err), &err);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO runs VALUES (1, 'k', 'g', 'c', 'f', 'cpu', 'h', 'cmd', 1.0, NULL);"
                                  "INSERT INTO jobs VALUES (1, 1, 'baseline', 'd', 'i', 'video', 'x', NULL, 'h', 'cpu',"
                                  " 'ok', NULL, 1.0, 2.0, 5, 1, 0, '', '');"
                                  "INSERT INTO frames VALUES (1, 1, 0, NULL, 0.0, 1, 0.9, NULL, NULL, NULL);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    must(auh_store_open(&s, p, &err), &err);
    assert_int_equal(query_int(s.db, "PRAGMA user_version"), AUH_STORE_SCHEMA_VERSION);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM frames WHERE lmk_px IS NULL AND nme IS NULL"), 1);
    AuhJob old;
    must(auh_store_load_job(&s, 1, &old, &err), &err);
    assert_int_equal(old.n_frames, 1);
    assert_true(isnan(old.frames[0].lmk_px));
    auh_job_free(&old);
    auh_store_close(&s);

    /* The framework: a chain v1 -> v2 keeps the data of v1; a failing v3 rolls
     * back completely (no table, version unchanged). */
    static const AuhMigration steps[] = {
        {1, "CREATE TABLE t (a INTEGER NOT NULL);"},
        {2, "ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'two'; CREATE TABLE u (c);"},
        {3, "CREATE TABLE w (x); INSERT INTO no_such_table VALUES (1);"},
    };
    tmp_path(t, "chain.sqlite", p, sizeof(p));
    db = raw_open(p);
    must(auh_store_migrate(db, "chain", steps, 1, &err), &err);
    assert_int_equal(query_int(db, "PRAGMA user_version"), 1);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO t (a) VALUES (41), (42)", NULL, NULL, NULL), SQLITE_OK);
    must(auh_store_migrate(db, "chain", steps, 2, &err), &err);
    assert_int_equal(query_int(db, "PRAGMA user_version"), 2);
    assert_int_equal(query_int(db, "SELECT sum(a) FROM t WHERE b = 'two'"), 83);
    must(auh_store_migrate(db, "chain", steps, 2, &err), &err); /* nothing to do */
    assert_int_equal(auh_store_migrate(db, "chain", steps, 3, &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "chain: migrating to schema version 3"));
    assert_non_null(strstr(err.msg, "no_such_table"));
    assert_int_equal(query_int(db, "PRAGMA user_version"), 2);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'w'"), 0);
    assert_int_equal(sqlite3_get_autocommit(db), 1);
    static const AuhMigration gap[] = {{1, "SELECT 1;"}, {3, "SELECT 1;"}};
    assert_int_equal(auh_store_migrate(db, "chain", gap, 2, &err), AU_ERR_ARG);
    sqlite3_close(db);
}

static void assert_same_job(const AuhJob *a, const AuhJob *b)
{
    assert_string_equal(a->variant, b->variant);
    assert_string_equal(a->dataset, b->dataset);
    assert_string_equal(a->item, b->item);
    assert_string_equal(a->item_kind, b->item_kind);
    assert_string_equal(a->input, b->input);
    assert_string_equal(a->labels, b->labels);
    assert_string_equal(a->host, b->host);
    assert_string_equal(a->cpu, b->cpu);
    assert_int_equal(a->failed, b->failed);
    assert_true(a->started_at == b->started_at && a->ended_at == b->ended_at);
    assert_int_equal(a->wall_ns, b->wall_ns);
    assert_int_equal(a->n_landmarks, b->n_landmarks);
    assert_int_equal(a->n_au_r, b->n_au_r);
    assert_int_equal(a->n_au_c, b->n_au_c);
    for (int j = 0; j < a->n_au_r; j++)
        assert_string_equal(a->au_r_names[j], b->au_r_names[j]);
    for (int j = 0; j < a->n_au_c; j++)
        assert_string_equal(a->au_c_names[j], b->au_c_names[j]);
    assert_int_equal(a->n_frames, b->n_frames);
    size_t nl = 2 * (size_t)a->n_landmarks;
    for (size_t i = 0; i < a->n_frames; i++) {
        const AuhJobFrame *x = &a->frames[i], *y = &b->frames[i];
        assert_int_equal(x->frame, y->frame);
        assert_int_equal(x->face, y->face);
        assert_true(x->lmk_px == y->lmk_px || (isnan(x->lmk_px) && isnan(y->lmk_px)));
        assert_true(x->nme == y->nme || (isnan(x->nme) && isnan(y->nme)));
        assert_int_equal(x->success, y->success);
        assert_true((!x->name && !y->name) || (x->name && y->name && !strcmp(x->name, y->name)));
        assert_true(x->timestamp == y->timestamp || (isnan(x->timestamp) && isnan(y->timestamp)));
        assert_true(x->confidence == y->confidence);
        assert_int_equal(x->has_landmarks, y->has_landmarks);
        assert_int_equal(x->has_au_r, y->has_au_r);
        assert_int_equal(x->has_au_c, y->has_au_c);
        if (x->has_landmarks)
            assert_memory_equal(a->landmarks + i * nl, b->landmarks + i * nl, nl * sizeof(float));
        if (x->has_au_r)
            assert_memory_equal(a->au_r + i * 17, b->au_r + i * 17, 17 * sizeof(double));
        if (x->has_au_c)
            assert_memory_equal(a->au_c + i * 18, b->au_c + i * 18, 18 * sizeof(double));
    }
    assert_int_equal(a->n_timings, b->n_timings);
    for (size_t i = 0; i < a->n_timings; i++) {
        assert_string_equal(a->timings[i].stage, b->timings[i].stage);
        assert_int_equal(a->timings[i].calls, b->timings[i].calls);
        assert_int_equal(a->timings[i].total_ns, b->timings[i].total_ns);
    }
    assert_int_equal(a->n_metrics, b->n_metrics);
    for (size_t i = 0; i < a->n_metrics; i++) {
        assert_string_equal(a->metrics[i].name, b->metrics[i].name);
        assert_true(a->metrics[i].value == b->metrics[i].value ||
                    (isnan(a->metrics[i].value) && isnan(b->metrics[i].value)));
    }
}

typedef struct Seen {
    int n;
    char items[16][32];
} Seen;

static int collect_items(const AuhJobRow *row, void *ctx)
{
    Seen *s = ctx;
    if (s->n < 16)
        snprintf(s->items[s->n++], sizeof(s->items[0]), "%s/%s/%s", row->variant, row->item, row->status);
    return 0;
}

static void test_round_trip(void **state)
{
    Tmp *t = *state;
    char p[1200];
    tmp_path(t, "rt.sqlite", p, sizeof(p));
    AuhStore s;
    AuError err = {0};
    must(auh_store_open(&s, p, &err), &err);
    int existed = -1;
    int64_t run = begin_run(&s, "run-1", 1700000000.0, &existed);
    assert_int_equal(existed, 0);

    for (int images = 0; images < 2; images++) {
        AuhJob job, back;
        make_job(&job, "baseline", images ? "imgs" : "vid", 5, 3, images);
        must(auh_store_commit_job(&s, run, &job, &err), &err);
        assert_true(job.id > 0);
        assert_int_equal(job.run_id, run);
        must(auh_store_load_job(&s, job.id, &back, &err), &err);
        assert_int_equal(back.id, job.id);
        assert_int_equal(back.run_id, run);
        /* the loader orders timings and metrics by name, as make_job added them */
        assert_same_job(&job, &back);
        assert_int_equal(back.timings[1].calls, 16); /* "fit": 3 * 5 + 1 */
        assert_int_equal(back.timings[1].total_ns, 25007);
        assert_true(isnan(back.metrics[1].value));
        assert_false(back.frames[1].has_landmarks);
        auh_job_free(&job);
        auh_job_free(&back);
    }
    /* the blob layout: landmark 0 of frame 1 is 3*100 + 0 + 1 + 1/3 = 301.33334f,
     * float32 0x4396AAAB stored little-endian; frame 2 failed: NULL blobs; a NaN
     * timestamp is NULL */
    char hex[64];
    query_text(s.db, "SELECT hex(substr(landmarks, 1, 4)) FROM frames f JOIN jobs j ON j.id = f.job_id"
                     " WHERE j.item = 'vid' AND f.frame = 1", hex, sizeof(hex));
    float v = 301.0f + 1.0f / 3.0f;
    uint32_t u;
    memcpy(&u, &v, 4);
    assert_int_equal(u, 0x4396AAABu);
    assert_string_equal(hex, "ABAA9643");
    assert_int_equal(query_int(s.db, "SELECT length(landmarks) FROM frames WHERE frame = 1 LIMIT 1"), 136 * 4);
    assert_int_equal(query_int(s.db, "SELECT length(au_r) + length(au_c) FROM frames WHERE frame = 1 LIMIT 1"),
                     (17 + 18) * 8);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM frames WHERE frame = 2 AND landmarks IS NULL"
                                     " AND au_r IS NULL AND au_c IS NULL"), 2);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM frames WHERE timestamp IS NULL"), 5);
    /* schema 2: the per-frame landmark error, NULL on the failed frame */
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM frames WHERE frame = 2 AND lmk_px IS NULL AND nme IS NULL"), 2);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM frames WHERE frame = 3 AND lmk_px = 4.5 AND abs(nme - 0.03) < 1e-12"), 2);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM metrics WHERE value IS NULL"), 2);
    char names[256];
    query_text(s.db, "SELECT au_c_names FROM jobs LIMIT 1", names, sizeof(names));
    assert_string_equal(names, "AU01,AU02,AU04,AU05,AU06,AU07,AU09,AU10,AU12,AU14,AU15,AU17,AU20,AU23,AU25,AU26,AU28,AU45");

    /* the same job again is refused and changes nothing */
    AuhJob dup;
    make_job(&dup, "baseline", "vid", 2, 9, 0);
    assert_int_equal(auh_store_commit_job(&s, run, &dup, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "already has job baseline / default / vid"));
    auh_job_free(&dup);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM frames"), 10);
    assert_int_equal(sqlite3_get_autocommit(s.db), 1);

    /* a failed job is not done, and a later success replaces it */
    AuhJob failed;
    make_job(&failed, "fast", "vid", 1, 4, 0);
    must(auh_job_set_failed(&failed, "decoder error at frame 2", &err), &err);
    must(auh_store_commit_job(&s, run, &failed, &err), &err);
    auh_job_free(&failed);
    int done = -1;
    must(auh_store_job_done(&s, run, "fast", "default", "vid", &done, &err), &err);
    assert_int_equal(done, 0);
    commit(&s, run, "fast", "vid", 3, 5);
    must(auh_store_job_done(&s, run, "fast", "default", "vid", &done, &err), &err);
    assert_int_equal(done, 1);
    must(auh_store_job_done(&s, run, "fast", "default", "other", &done, &err), &err);
    assert_int_equal(done, 0);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM jobs WHERE status = 'failed'"), 0);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM frames"), 13); /* 5 + 5 + 3: the failed job's frame went */
    Seen seen = {0};
    must(auh_store_list_jobs(&s, run, collect_items, &seen, &err), &err);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.items[0], "baseline/vid/ok");
    assert_string_equal(seen.items[1], "baseline/imgs/ok");
    assert_string_equal(seen.items[2], "fast/vid/ok");

    /* metrics recomputed later replace the old set */
    int64_t job_id = query_int(s.db, "SELECT id FROM jobs WHERE variant = 'fast'");
    AuhMetric m[2] = {{"fps", 123.5}, {"au_mean_r", 0.95}};
    must(auh_store_put_metrics(&s, job_id, m, 2, &err), &err);
    AuhJob back;
    must(auh_store_load_job(&s, job_id, &back, &err), &err);
    assert_int_equal(back.n_metrics, 2);
    assert_string_equal(back.metrics[0].name, "au_mean_r");
    assert_true(back.metrics[0].value == 0.95);
    assert_true(back.metrics[1].value == 123.5);
    auh_job_free(&back);

    /* a damaged blob is reported with the job and frame */
    assert_int_equal(sqlite3_exec(s.db, "UPDATE frames SET au_r = x'0011' WHERE frame = 3", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(auh_store_load_job(&s, job_id, &back, &err), AU_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "frame 3: au_r blob has 2 bytes, expected 136"));
    assert_int_equal(auh_store_load_job(&s, 999, &back, &err), AU_ERR_ARG);

    /* job set-up errors */
    AuhJobInfo bad = {"v", "d", "i", "movie", "x", NULL, "h", "c", 68, 0, 0, NULL, NULL};
    assert_int_equal(auh_job_init(&back, &bad, &err), AU_ERR_ARG);
    static const char *const comma[] = {"AU01,AU02"};
    AuhJobInfo bad2 = {"v", "d", "i", "video", "x", NULL, "h", "c", 68, 1, 0, comma, NULL};
    assert_int_equal(auh_job_init(&back, &bad2, &err), AU_ERR_ARG);
    AuhJobInfo nolmk = {"v", "d", "i", "video", "x", NULL, NULL, NULL, 0, 0, 0, NULL, NULL};
    must(auh_job_init(&back, &nolmk, &err), &err);
    assert_true(back.host[0] && back.cpu[0]); /* this machine's */
    float lmk[136] = {0};
    AuhFrameRecord rec = {1, 0, NULL, 0, 1, 1, lmk, NULL, NULL};
    assert_int_equal(auh_job_add_frame(&back, &rec, &err), AU_ERR_ARG);
    auh_job_free(&back);

    /* ending the run */
    char key[64];
    int64_t unfinished;
    must(auh_store_latest_unfinished_run(&s, &unfinished, key, sizeof(key), &err), &err);
    assert_int_equal(unfinished, run);
    assert_string_equal(key, "run-1");
    must(auh_store_end_run(&s, run, 1700000100.0, &err), &err);
    must(auh_store_latest_unfinished_run(&s, &unfinished, key, sizeof(key), &err), &err);
    assert_int_equal(unfinished, 0);
    assert_int_equal(auh_store_end_run(&s, 12345, 1.0, &err), AU_ERR_ARG);
    auh_store_close(&s);
}

/* Another connection's view from inside a commit, before COMMIT. */
typedef struct Peek {
    const char *path;
    int64_t jobs, frames;
} Peek;

static void peek_other_connection(void *ctx)
{
    Peek *pk = ctx;
    sqlite3 *db = raw_open(pk->path);
    pk->jobs = query_int(db, "SELECT count(*) FROM jobs");
    pk->frames = query_int(db, "SELECT count(*) FROM frames");
    sqlite3_close(db);
}

/* A job's rows are invisible to other connections until its COMMIT, then all
 * of them appear at once. */
static void test_commit_visibility(void **state)
{
    Tmp *t = *state;
    char p[1200];
    tmp_path(t, "vis.sqlite", p, sizeof(p));
    AuhStore s;
    AuError err = {0};
    must(auh_store_open(&s, p, &err), &err);
    int64_t run = begin_run(&s, "V", 1.0, NULL);
    commit(&s, run, "baseline", "one", 10, 1);
    Peek pk = {p, -1, -1};
    s.before_commit = peek_other_connection;
    s.before_commit_ctx = &pk;
    commit(&s, run, "baseline", "two", 20, 2);
    assert_int_equal(pk.jobs, 1);
    assert_int_equal(pk.frames, 10);
    s.before_commit = NULL;
    peek_other_connection(&pk);
    assert_int_equal(pk.jobs, 2);
    assert_int_equal(pk.frames, 30);
    auh_store_close(&s);
}

/* ---- two processes, one database ---- */

enum { WRITER_JOBS = 40, WRITER_FRAMES = 60 };

static int writer(const char *path, const char *variant, int read_fd)
{
    char go;
    if (read(read_fd, &go, 1) != 1) /* start together */
        return 10;
    AuhStore s;
    AuError err = {0};
    if (auh_store_open(&s, path, &err)) {
        fprintf(stderr, "writer %s: %s\n", variant, err.msg);
        return 11;
    }
    AuhRunInfo info = {"shared", "rev", "cc", "", "cpu", "host", "cmd", 1.0};
    int64_t run;
    if (auh_store_begin_run(&s, &info, &run, NULL, &err))
        return 12;
    for (int j = 0; j < WRITER_JOBS; j++) {
        AuhJob job;
        char item[32];
        snprintf(item, sizeof(item), "item%02d", j);
        make_job(&job, variant, item, WRITER_FRAMES, j, 0);
        AuStatus st = auh_store_commit_job(&s, run, &job, &err);
        auh_job_free(&job);
        if (st) {
            fprintf(stderr, "writer %s: %s\n", variant, err.msg);
            return 13;
        }
    }
    if (auh_store_end_run(&s, run, 2.0, &err))
        return 14;
    auh_store_close(&s);
    return 0;
}

static void test_two_writers(void **state)
{
    Tmp *t = *state;
    char p[1200];
    tmp_path(t, "shared.sqlite", p, sizeof(p)); /* created by the writers, racing */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pids[2];
    const char *variants[2] = {"alpha", "beta"};
    for (int k = 0; k < 2; k++) {
        pids[k] = fork();
        assert_true(pids[k] >= 0);
        if (pids[k] == 0) {
            close(fds[1]);
            _exit(writer(p, variants[k], fds[0]));
        }
    }
    close(fds[0]);
    assert_int_equal(write(fds[1], "gg", 2), 2);
    close(fds[1]);
    for (int k = 0; k < 2; k++) {
        int status;
        assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    AuhStore s;
    AuError err = {0};
    must(auh_store_open(&s, p, &err), &err);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM runs"), 1);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM jobs"), 2 * WRITER_JOBS);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM jobs WHERE variant = 'alpha'"), WRITER_JOBS);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM frames"), 2 * WRITER_JOBS * WRITER_FRAMES);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM timings"), 2 * WRITER_JOBS * 2);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM metrics"), 2 * WRITER_JOBS * 2);
    char ok[32];
    query_text(s.db, "PRAGMA integrity_check", ok, sizeof(ok));
    assert_string_equal(ok, "ok");
    auh_store_close(&s);
}

/* ---- killed inside a job, then resumed ---- */

static void die_now(void *ctx)
{
    (void)ctx;
    raise(SIGKILL);
}

static void test_killed_then_resume(void **state)
{
    Tmp *t = *state;
    char p[1200];
    tmp_path(t, "killed.sqlite", p, sizeof(p));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        AuhStore s;
        AuError err = {0};
        if (auh_store_open(&s, p, &err))
            _exit(11);
        AuhRunInfo info = {"R", "rev", "cc", "", "cpu", "host", "cmd", 10.0};
        int64_t run;
        if (auh_store_begin_run(&s, &info, &run, NULL, &err))
            _exit(12);
        AuhJob job;
        make_job(&job, "baseline", "first", 30, 1, 0);
        if (auh_store_commit_job(&s, run, &job, &err))
            _exit(13);
        auh_job_free(&job);
        make_job(&job, "baseline", "second", 40, 2, 0);
        s.before_commit = die_now; /* every row of "second" is written, not committed */
        auh_store_commit_job(&s, run, &job, &err);
        _exit(14);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status))
        fail_msg("child exited with %d instead of being killed", WEXITSTATUS(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    AuhStore s;
    AuError err = {0};
    must(auh_store_open(&s, p, &err), &err);
    char ok[32];
    query_text(s.db, "PRAGMA integrity_check", ok, sizeof(ok));
    assert_string_equal(ok, "ok");
    int64_t run;
    char key[32];
    must(auh_store_latest_unfinished_run(&s, &run, key, sizeof(key), &err), &err);
    assert_true(run > 0);
    assert_string_equal(key, "R");
    Seen seen = {0};
    must(auh_store_list_jobs(&s, run, collect_items, &seen, &err), &err);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.items[0], "baseline/first/ok");
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM frames"), 30);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM timings"), 2);
    /* --resume: same run, run what is missing */
    int done;
    must(auh_store_job_done(&s, run, "baseline", "default", "first", &done, &err), &err);
    assert_int_equal(done, 1);
    must(auh_store_job_done(&s, run, "baseline", "default", "second", &done, &err), &err);
    assert_int_equal(done, 0);
    int existed = 0;
    int64_t again = begin_run(&s, "R", 20.0, &existed);
    assert_int_equal(again, run);
    assert_int_equal(existed, 1);
    commit(&s, run, "baseline", "second", 40, 2);
    must(auh_store_end_run(&s, run, 30.0, &err), &err);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM frames"), 70);
    assert_int_equal(query_int(s.db, "SELECT started_at = 10.0 AND ended_at = 30.0 FROM runs"), 1);
    int64_t found;
    must(auh_store_find_run(&s, "R", &found, &err), &err);
    assert_int_equal(found, run);
    must(auh_store_find_run(&s, "nope", &found, &err), &err);
    assert_int_equal(found, 0);
    auh_store_close(&s);
}

/* ---- merge ---- */

/* Canonical text of a query: every value in an exact form (%a for reals). */
static void dump_query(sqlite3 *db, const char *sql, sqlite3_str *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_INTEGER: sqlite3_str_appendf(out, "%lld|", (long long)sqlite3_column_int64(st, i)); break;
            case SQLITE_FLOAT: {
                char b[64];
                snprintf(b, sizeof(b), "%a|", sqlite3_column_double(st, i));
                sqlite3_str_appendall(out, b);
                break;
            }
            case SQLITE_TEXT: sqlite3_str_appendf(out, "%Q|", (const char *)sqlite3_column_text(st, i)); break;
            case SQLITE_BLOB: {
                const unsigned char *b = sqlite3_column_blob(st, i);
                for (int k = 0; k < sqlite3_column_bytes(st, i); k++)
                    sqlite3_str_appendf(out, "%02x", b[k]);
                sqlite3_str_appendall(out, "|");
                break;
            }
            default: sqlite3_str_appendall(out, "NULL|");
            }
        }
        sqlite3_str_appendall(out, "\n");
    }
    sqlite3_finalize(st);
}

/* Everything but ids and the per-process run facts. */
static char *dump_db(const char *path)
{
    sqlite3 *db = raw_open(path);
    sqlite3_str *out = sqlite3_str_new(db);
    dump_query(db, "SELECT run_key, git_revision, compiler FROM runs ORDER BY run_key", out);
    const char *key = "r.run_key, j.variant, j.dataset, j.item";
    const char *from = "FROM jobs j JOIN runs r ON r.id = j.run_id";
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "SELECT %s, j.item_kind, j.input, j.labels, j.host, j.cpu, j.status, j.error, j.started_at, j.ended_at,"
             " j.wall_ns, j.n_frames, j.n_landmarks, j.au_r_names, j.au_c_names %s ORDER BY %s",
             key, from, key);
    dump_query(db, sql, out);
    snprintf(sql, sizeof(sql),
             "SELECT %s, f.frame, f.face, f.name, f.timestamp, f.success, f.confidence, f.landmarks, f.au_r, f.au_c"
             " FROM frames f JOIN jobs j ON j.id = f.job_id JOIN runs r ON r.id = j.run_id ORDER BY %s, f.frame, f.face",
             key, key);
    dump_query(db, sql, out);
    snprintf(sql, sizeof(sql),
             "SELECT %s, x.stage, x.calls, x.total_ns FROM timings x JOIN jobs j ON j.id = x.job_id"
             " JOIN runs r ON r.id = j.run_id ORDER BY %s, x.stage",
             key, key);
    dump_query(db, sql, out);
    snprintf(sql, sizeof(sql),
             "SELECT %s, x.name, x.value FROM metrics x JOIN jobs j ON j.id = x.job_id"
             " JOIN runs r ON r.id = j.run_id ORDER BY %s, x.name",
             key, key);
    dump_query(db, sql, out);
    char *text = sqlite3_str_finish(out);
    assert_non_null(text);
    char *copy = strdup(text);
    sqlite3_free(text);
    sqlite3_close(db);
    return copy;
}

typedef struct JobSpec {
    const char *variant, *item;
    int frames, seed;
} JobSpec;

static const JobSpec JOBS[] = {
    {"baseline", "default", 12, 1}, {"baseline", "changeLighting", 7, 2},
    {"fast", "default", 12, 3},     {"fast", "changeLighting", 7, 4},
};

/* A database with run "R" holding JOBS[k] for the k where k % n == shard. */
static void write_shard(const char *path, int shard, int n, double start, double end)
{
    AuhStore s;
    AuError err = {0};
    must(auh_store_open(&s, path, &err), &err);
    int64_t run = begin_run(&s, "R", start, NULL);
    for (int k = 0; k < 4; k++)
        if (k % n == shard)
            commit(&s, run, JOBS[k].variant, JOBS[k].item, JOBS[k].frames, JOBS[k].seed);
    must(auh_store_end_run(&s, run, end, &err), &err);
    auh_store_close(&s);
}

static void test_merge(void **state)
{
    Tmp *t = *state;
    char whole[1200], a[1200], b[1200], merged[1200], other[1200];
    tmp_path(t, "whole.sqlite", whole, sizeof(whole));
    tmp_path(t, "shard1.sqlite", a, sizeof(a));
    tmp_path(t, "shard2.sqlite", b, sizeof(b));
    tmp_path(t, "merged.sqlite", merged, sizeof(merged));
    tmp_path(t, "other.sqlite", other, sizeof(other));
    write_shard(whole, 0, 1, 100.0, 200.0);
    write_shard(a, 0, 2, 100.0, 150.0); /* --shard 1/2 */
    write_shard(b, 1, 2, 110.0, 190.0); /* --shard 2/2 */
    char *d_a = dump_db(a);

    AuhStore s;
    AuError err = {0};
    AuhMergeStats st;
    must(auh_store_open(&s, merged, &err), &err);
    must(auh_store_merge(&s, a, &st, &err), &err);
    assert_int_equal(st.runs_added, 1);
    assert_int_equal(st.jobs_added, 2);
    assert_int_equal(st.frames_added, 12 + 12);
    must(auh_store_merge(&s, b, &st, &err), &err);
    assert_int_equal(st.runs_added, 0);
    assert_int_equal(st.runs_joined, 1);
    assert_int_equal(st.jobs_added, 2);
    assert_int_equal(st.frames_added, 7 + 7);
    /* the run spans both shards */
    assert_int_equal(query_int(s.db, "SELECT started_at = 100.0 AND ended_at = 190.0 FROM runs"), 1);
    auh_store_close(&s);

    char *d_whole = dump_db(whole), *d_merged = dump_db(merged);
    assert_true(strlen(d_whole) > 1000);
    assert_string_equal(d_merged, d_whole);

    /* merging again adds nothing */
    must(auh_store_open(&s, merged, &err), &err);
    must(auh_store_merge(&s, a, &st, &err), &err);
    assert_int_equal(st.jobs_added, 0);
    assert_int_equal(st.jobs_skipped, 2);
    /* refusals leave the database as it was */
    assert_int_equal(auh_store_merge(&s, merged, &st, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "into itself"));
    char junk[1200];
    tmp_path(t, "junk.sqlite", junk, sizeof(junk));
    autest_write_file(junk, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                            "0123456789abcdef0123456789abcdef", 112);
    assert_int_not_equal(auh_store_merge(&s, junk, &st, &err), AU_OK);
    assert_non_null(strstr(err.msg, "junk.sqlite"));
    assert_int_equal(auh_store_merge(&s, "/nonexistent.sqlite", &st, &err), AU_ERR_IO);
    auh_store_close(&s);
    char *d_after = dump_db(merged);
    assert_string_equal(d_after, d_whole);

    /* a different run stays a separate run; an unfinished shard leaves the run unfinished */
    must(auh_store_open(&s, other, &err), &err);
    begin_run(&s, "R2", 300.0, NULL);
    int64_t r = begin_run(&s, "R", 90.0, NULL); /* R with ended_at NULL */
    commit(&s, r, "extra", "default", 2, 9);
    auh_store_close(&s);
    must(auh_store_open(&s, merged, &err), &err);
    must(auh_store_merge(&s, other, &st, &err), &err);
    assert_int_equal(st.runs_added, 1);
    assert_int_equal(st.runs_joined, 1);
    assert_int_equal(st.jobs_added, 1);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM runs"), 2);
    assert_int_equal(query_int(s.db, "SELECT started_at = 90.0 AND ended_at IS NULL FROM runs WHERE run_key = 'R'"),
                     1);
    assert_int_equal(query_int(s.db, "SELECT count(*) FROM jobs"), 5);
    auh_store_close(&s);
    /* the sources are unchanged */
    char *d_a_now = dump_db(a);
    assert_string_equal(d_a_now, d_a);
    free(d_a_now);
    free(d_a);
    free(d_whole);
    free(d_merged);
    free(d_after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_migrations, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_round_trip, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_commit_visibility, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_two_writers, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_killed_then_resume, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_merge, setup_tmp, teardown_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
