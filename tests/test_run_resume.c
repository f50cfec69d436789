/* The run killed with SIGKILL (by the fault hook at chosen points: mid-job,
 * just after a commit, inside a commit's transaction; and from outside, at
 * whatever point it has reached), then resumed, stores the same results
 * (frames, per-frame landmark error, metrics) as an uninterrupted run, with
 * no duplicate or partial rows. Runs the real program on changeLighting.wmv
 * (twice, as items cl1 and cl2), baseline only, first 6 frames. */
#define _XOPEN_SOURCE 700
#include "autest.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runcheck.h"

typedef struct Ctx {
    RcSetup s;
    char ref[1200], log[1200];
} Ctx;

/* The common options of every run into db. */
#define RUN_ARGS(db, ...)                                                                                            \
    (const char *const[])                                                                                            \
    {                                                                                                                \
        "run", "--dataset", c->s.manifest, "--data", autest_data_dir(), "--variant", "baseline", "--max-frames", "6", \
            "--progress", "lines", "--db", db, __VA_ARGS__, NULL                                                     \
    }

static int setup(void **state)
{
    Ctx *c = calloc(1, sizeof(*c));
    rc_setup(&c->s);
    rc_path(&c->s, "ref.sqlite", c->ref, sizeof(c->ref));
    rc_path(&c->s, "log.txt", c->log, sizeof(c->log));
    /* the uninterrupted run every test compares with */
    int rc = rc_run(c->log, NULL, RUN_ARGS(c->ref, "-j", "2"));
    if (rc != 0) {
        char *t = rc_read(c->log);
        fprintf(stderr, "%s", t);
        free(t);
        fail_msg("reference run exited with %d", rc);
    }
    assert_int_equal(rc_query_int(c->ref, "SELECT count(*) FROM jobs WHERE status = 'ok'"), 4);
    assert_int_equal(rc_query_int(c->ref, "SELECT count(*) FROM runs WHERE ended_at IS NOT NULL"), 1);
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

static int64_t jobs_in(const char *db, const char *where)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM jobs WHERE %s", where);
    return rc_query_int(db, sql);
}

/* Killed three times at chosen points, each resume killed again, then
 * completed. */
static void test_killed_at_chosen_points(void **state)
{
    Ctx *c = *state;
    char db[1200];
    rc_path(&c->s, "chain.sqlite", db, sizeof(db));
    /* 1: mid-job in the first job (frame 3 of 6): nothing committed */
    assert_int_equal(rc_run(c->log, "kill:baseline:cl1", RUN_ARGS(db, "-j", "1")), 128 + SIGKILL);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM runs WHERE ended_at IS NULL"), 1);
    assert_int_equal(jobs_in(db, "1"), 0);
    /* 2: resumed, killed right after the second job's commit */
    assert_int_equal(rc_run(c->log, "kill-after:openface:cl1", RUN_ARGS(db, "-j", "1", "--resume")), 128 + SIGKILL);
    assert_int_equal(jobs_in(db, "status = 'ok'"), 2);
    assert_int_equal(jobs_in(db, "item = 'cl2'"), 0);
    /* 3: resumed on two workers, killed inside baseline cl2's transaction */
    assert_int_equal(rc_run(c->log, "kill-commit:baseline:cl2", RUN_ARGS(db, "-j", "2", "--resume")), 128 + SIGKILL);
    assert_int_equal(jobs_in(db, "variant = 'baseline' AND item = 'cl2'"), 0);
    assert_int_equal(jobs_in(db, "status = 'failed'"), 0);
    /* 4: completed */
    assert_int_equal(rc_run(c->log, NULL, RUN_ARGS(db, "-j", "2", "--resume")), 0);
    rc_expect_in(c->log, "(continued)");
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM runs WHERE ended_at IS NOT NULL"), 1);
    rc_compare_dbs(c->ref, db, 4);
    /* nothing left to resume */
    assert_int_equal(rc_run(c->log, NULL, RUN_ARGS(db, "--resume")), 1);
    rc_expect_in(c->log, "has no unfinished run");
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Killed from outside (the whole process group, as a shell's kill -9 or a
 * cluster's time limit would), once before any commit and once after some. */
static void test_killed_from_outside(void **state)
{
    Ctx *c = *state;
    char db[1200];
    rc_path(&c->s, "outside.sqlite", db, sizeof(db));
    for (int round = 0; round < 2; round++) {
        pid_t pid = rc_start(c->log, NULL,
                             round == 0 ? RUN_ARGS(db, "-j", "2", "--run-key", "K")
                                        : RUN_ARGS(db, "-j", "2", "--run-key", "K", "--resume"));
        /* round 0: as soon as the run exists (workers mid-job); round 1: once
         * a job more is committed */
        int64_t before = round == 0 ? 0 : jobs_in(db, "1");
        int status = -1;
        for (int waited = 0; waited < 120000; waited += 5) {
            if (round == 0 ? rc_try_query_int(db, "SELECT count(*) FROM runs") > 0
                           : rc_try_query_int(db, "SELECT count(*) FROM jobs") > before)
                break;
            if (waitpid(pid, &status, WNOHANG) == pid)
                break; /* ended on its own */
            sleep_ms(5);
        }
        int rc;
        if (status != -1) {
            rc = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        } else {
            kill(-pid, SIGKILL);
            rc = rc_wait(pid);
        }
        /* it may have finished first on a fast machine; otherwise killed */
        if (rc != 128 + SIGKILL && rc != 0) {
            char *t = rc_read(c->log);
            fprintf(stderr, "%s", t);
            free(t);
            fail_msg("round %d: exit %d", round, rc);
        }
        fprintf(stderr, "round %d: %s with %lld jobs stored\n", round, rc ? "killed" : "finished first",
                (long long)jobs_in(db, "1"));
        if (rc == 0)
            break;
    }
    /* --resume --run-key completes the run whether or not it had ended */
    assert_int_equal(rc_run(c->log, NULL, RUN_ARGS(db, "-j", "1", "--run-key", "K", "--resume")), 0);
    rc_compare_dbs(c->ref, db, 4);
}

/* A disk that fills up: the run gets a file-size limit (writes past it fail
 * with EFBIG, as they fail with ENOSPC on a full disk). Jobs that cannot be
 * committed fail with an error naming the database, the run does not crash,
 * the database stays consistent (every stored job whole, failed ones without
 * frames), and once there is room, --resume completes the run with the same
 * results as the uninterrupted one. */
static void test_disk_full(void **state)
{
    Ctx *c = *state;
    char db[1200], name[64];
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    /* The limit where the disk fills mid-run depends on SQLite's page use:
     * from a limit too small to create the database up, 4 KB at a time,
     * until some jobs are stored and some are not. */
    int64_t ok = -1;
    int rc = -1;
    rlim_t limit = 0;
    char *log = NULL;
    for (int kb = 36; kb <= 160 && !(ok > 0 && ok < 4); kb += 4) {
        limit = (rlim_t)kb * 1024;
        if (old.rlim_max != RLIM_INFINITY && old.rlim_max < limit)
            skip();
        snprintf(name, sizeof(name), "full-%d.sqlite", kb);
        rc_path(&c->s, name, db, sizeof(db));
        lim = old;
        lim.rlim_cur = limit;
        /* the child inherits the limit (and the ignored SIGXFSZ across exec;
         * the harness ignores it too); the test gets its own limit back */
        void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        pid_t pid = rc_start(c->log, NULL, RUN_ARGS(db, "-j", "1", "--run-key", "K"));
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        signal(SIGXFSZ, prev);
        rc = rc_wait(pid);
        free(log);
        log = rc_read(c->log);
        if (rc != 0 && rc != 1) {
            fprintf(stderr, "%s", log);
            fail_msg("the run on a full disk (%d KB) ended with %d", kb, rc);
        }
        ok = rc_try_query_int(db, "SELECT count(*) FROM jobs WHERE status = 'ok'");
        printf("disk full at %d KB: run exit %d, %lld of 4 jobs stored ok\n", kb, rc, (long long)ok);
        if (ok >= 4)
            fail_msg("no limit between 'cannot start' and 'everything fits' was found");
    }
    assert_true(ok > 0 && ok < 4);
    /* the error names the database and says what happened */
    if (!strstr(log, name) || !(strstr(log, "disk I/O error") || strstr(log, "disk is full"))) {
        fprintf(stderr, "%s", log);
        fail_msg("no clear disk-full error naming the database in the log");
    }
    free(log);
    /* consistent: whole jobs only, failed ones without frames */
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"), 0);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM frames f JOIN jobs j ON j.id = f.job_id"
                                      " WHERE j.status = 'failed'"), 0);
    assert_int_equal(rc_query_int(db, "SELECT count(*) FROM jobs j WHERE status = 'ok' AND n_frames <>"
                                      " (SELECT count(*) FROM frames WHERE job_id = j.id)"), 0);
    /* room again: --resume --run-key completes the run */
    assert_int_equal(rc_run(c->log, NULL, RUN_ARGS(db, "-j", "1", "--run-key", "K", "--resume")), 0);
    rc_compare_dbs(c->ref, db, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_at_chosen_points),
        cmocka_unit_test(test_killed_from_outside),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_logs_clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
