#define _XOPEN_SOURCE 700
#include "runcheck.h"

#include "autest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "metric_names.h"
#include "store.h"

void rc_setup(RcSetup *s)
{
    autest_mkdtemp(s->dir, sizeof(s->dir));
    snprintf(s->manifest, sizeof(s->manifest), "%s/small.manifest", s->dir);
    static const char text[] =
        "auharness-manifest 1\n"
        "# changeLighting twice, so that one variant makes 4 jobs\n"
        "video openface/videos/changeLighting.wmv labels=openface/reference/changeLighting.csv "
        "openface=openface/reference/changeLighting.csv name=cl1\n"
        "video openface/videos/changeLighting.wmv labels=openface/reference/changeLighting.csv "
        "openface=openface/reference/changeLighting.csv name=cl2\n";
    autest_write_file(s->manifest, text, strlen(text));
}

void rc_teardown(RcSetup *s)
{
    autest_rmtree(s->dir);
}

const char *rc_path(const RcSetup *s, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", s->dir, name);
    return buf;
}

pid_t rc_start(const char *log, const char *fault, const char *const *args)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0)
            _exit(120);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
        if (fault)
            setenv("AUHARNESS_FAULT", fault, 1);
        else
            unsetenv("AUHARNESS_FAULT");
        const char *argv[64];
        int n = 0;
        argv[n++] = AUHARNESS_BIN;
        for (int i = 0; args[i] && n < 63; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(AUHARNESS_BIN, (char *const *)argv);
        _exit(121);
    }
    setpgid(pid, pid); /* either side may win the race; both set the same */
    return pid;
}

int rc_wait(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            fail_msg("waitpid: %s", strerror(errno));
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

int rc_run(const char *log, const char *fault, const char *const *args)
{
    return rc_wait(rc_start(log, fault, args));
}

char *rc_read(const char *path)
{
    unsigned char *data = NULL;
    size_t size = 0;
    if (autest_read_file(path, &data, &size) != 0)
        return calloc(1, 1);
    char *s = realloc(data, size + 1);
    s[size] = '\0';
    return s;
}

void rc_expect_in(const char *log, const char *text)
{
    char *s = rc_read(log);
    if (!strstr(s, text)) {
        fprintf(stderr, "---- %s ----\n%s---- end ----\n", log, s);
        free(s);
        fail_msg("'%s' not in %s", text, log);
    }
    free(s);
}

void rc_check_clean(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".txt"))
            continue;
        char p[2048];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        char *t = rc_read(p);
        int bad = strstr(t, "Sanitizer") || strstr(t, "runtime error:") || strstr(t, "after committing");
        if (bad)
            fprintf(stderr, "---- %s ----\n%s---- end ----\n", p, t);
        free(t);
        if (bad) {
            closedir(d);
            fail_msg("%s reports a problem", p);
        }
    }
    closedir(d);
}

int64_t rc_query_int(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        fail_msg("%s: %s", db, sqlite3_errmsg(h));
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s: %s: %s", db, sql, sqlite3_errmsg(h));
        sqlite3_finalize(st);
        sqlite3_close(h);
        fail_msg("%s", msg);
    }
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

int64_t rc_try_query_int(const char *db, const char *sql)
{
    if (access(db, F_OK) != 0)
        return -1;
    sqlite3 *h = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(h, 1000);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return v;
}

typedef struct JobList {
    int64_t ids[256];
    int n;
} JobList;

static int collect_job(const AuhJobRow *row, void *ctx)
{
    JobList *l = ctx;
    if (l->n < 256)
        l->ids[l->n++] = row->id;
    return 0;
}

static int collect_run(const AuhRunRow *row, void *ctx)
{
    int64_t *id = ctx;
    *id = row->id;
    return 0;
}

static int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static void compare_job(const AuhJob *a, const AuhJob *b)
{
    const char *who = a->variant;
    if (a->failed != b->failed || (a->error && b->error && strcmp(a->error, b->error)) || (!a->error != !b->error))
        fail_msg("%s %s: status %d '%s' vs %d '%s'", who, a->item, a->failed, a->error ? a->error : "", b->failed,
                 b->error ? b->error : "");
    assert_string_equal(a->item_kind, b->item_kind);
    assert_string_equal(a->input, b->input);
    assert_int_equal(a->n_landmarks, b->n_landmarks);
    assert_int_equal(a->n_au_r, b->n_au_r);
    assert_int_equal(a->n_au_c, b->n_au_c);
    if (a->n_frames != b->n_frames)
        fail_msg("%s %s: %zu vs %zu frames", who, a->item, a->n_frames, b->n_frames);
    for (size_t i = 0; i < a->n_frames; i++) {
        const AuhJobFrame *fa = &a->frames[i], *fb = &b->frames[i];
        if (fa->frame != fb->frame || fa->face != fb->face || fa->success != fb->success ||
            !same_double(fa->timestamp, fb->timestamp) || !same_double(fa->confidence, fb->confidence) ||
            !same_double(fa->lmk_px, fb->lmk_px) || !same_double(fa->nme, fb->nme) ||
            fa->has_landmarks != fb->has_landmarks || fa->has_au_r != fb->has_au_r || fa->has_au_c != fb->has_au_c)
            fail_msg("%s %s: frame %zu differs", who, a->item, i + 1);
    }
    size_t nl = a->n_frames * 2 * (size_t)a->n_landmarks;
    if (nl && memcmp(a->landmarks, b->landmarks, nl * sizeof(float)))
        fail_msg("%s %s: landmarks differ", who, a->item);
    if (a->n_au_r && memcmp(a->au_r, b->au_r, a->n_frames * (size_t)a->n_au_r * sizeof(double)))
        fail_msg("%s %s: AU intensities differ", who, a->item);
    if (a->n_au_c && memcmp(a->au_c, b->au_c, a->n_frames * (size_t)a->n_au_c * sizeof(double)))
        fail_msg("%s %s: AU presences differ", who, a->item);
    int speed_varies = strcmp(a->variant, AUH_VARIANT_OPENFACE) != 0;
    if (a->n_metrics != b->n_metrics)
        fail_msg("%s %s: %zu vs %zu metrics", who, a->item, a->n_metrics, b->n_metrics);
    for (size_t m = 0; m < a->n_metrics; m++) {
        assert_string_equal(a->metrics[m].name, b->metrics[m].name);
        /* timings and the host's load differ from run to run */
        const char *name = a->metrics[m].name;
        if (speed_varies && (!strcmp(name, AUH_M_FPS) || !strcmp(name, AUH_M_CPU_FPS) || !strcmp(name, AUH_M_HOST_STEAL)))
            continue;
        if (!same_double(a->metrics[m].value, b->metrics[m].value))
            fail_msg("%s %s: metric %s %.17g vs %.17g", who, a->item, a->metrics[m].name, a->metrics[m].value,
                     b->metrics[m].value);
    }
}

static void check_db(const char *db, int expect_jobs)
{
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM runs"), 1);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM jobs"), expect_jobs);
    /* no duplicate identity, no partial job: every job's frames are there */
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM (SELECT DISTINCT run_id, variant, dataset, item FROM jobs)"),
                     expect_jobs);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM frames"),
                     rc_query_int(db, "SELECT coalesce(sum(n_frames), 0) FROM jobs"));
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM frames WHERE job_id NOT IN (SELECT id FROM jobs)"), 0);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM metrics WHERE job_id NOT IN (SELECT id FROM jobs)"), 0);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM timings WHERE job_id NOT IN (SELECT id FROM jobs)"), 0);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"), 0);
}

void rc_compare_dbs(const char *db_a, const char *db_b, int expect_jobs)
{
    check_db(db_a, expect_jobs);
    check_db(db_b, expect_jobs);
    AuhStore sa = {0}, sb = {0};
    AuError err = {0};
    if (auh_store_open(&sa, db_a, &err) || auh_store_open(&sb, db_b, &err))
        fail_msg("%s", err.msg);
    int64_t run_a = 0, run_b = 0;
    if (auh_store_list_runs(&sa, collect_run, &run_a, &err) || auh_store_list_runs(&sb, collect_run, &run_b, &err))
        fail_msg("%s", err.msg);
    JobList la = {0}, lb = {0};
    if (auh_store_list_jobs(&sa, run_a, collect_job, &la, &err) || auh_store_list_jobs(&sb, run_b, collect_job, &lb, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(la.n, lb.n);
    AuhJob *jb = calloc((size_t)lb.n, sizeof(AuhJob));
    for (int k = 0; k < lb.n; k++)
        if (auh_store_load_job(&sb, lb.ids[k], &jb[k], &err))
            fail_msg("%s", err.msg);
    for (int i = 0; i < la.n; i++) {
        AuhJob ja;
        if (auh_store_load_job(&sa, la.ids[i], &ja, &err))
            fail_msg("%s", err.msg);
        int found = 0;
        for (int k = 0; k < lb.n && !found; k++)
            if (!strcmp(ja.variant, jb[k].variant) && !strcmp(ja.dataset, jb[k].dataset) &&
                !strcmp(ja.item, jb[k].item)) {
                compare_job(&ja, &jb[k]);
                found = 1;
            }
        if (!found)
            fail_msg("%s: job %s %s/%s is not in %s", db_a, ja.variant, ja.dataset, ja.item, db_b);
        auh_job_free(&ja);
    }
    for (int k = 0; k < lb.n; k++)
        auh_job_free(&jb[k]);
    free(jb);
    auh_store_close(&sa);
    auh_store_close(&sb);
}
