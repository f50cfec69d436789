/* Running the auharness program from tests, and comparing the results two
 * databases hold: the runner's integration tests (test_run*.c). */
#ifndef AUTEST_RUNCHECK_H
#define AUTEST_RUNCHECK_H

#include <stdint.h>
#include <sys/types.h>

/* A temporary folder with a small manifest: changeLighting.wmv twice (items
 * cl1 and cl2, labelled by and with the OpenFace rows of OpenFace's CSV), so a
 * run of one variant has 4 jobs. */
typedef struct RcSetup {
    char dir[1024];
    char manifest[1100];
} RcSetup;

void rc_setup(RcSetup *s);
void rc_teardown(RcSetup *s);
/* dir/name into buf. */
const char *rc_path(const RcSetup *s, const char *name, char *buf, size_t n);

/* Starts auharness with args (NULL-terminated; argv[0] is added) in its own
 * process group, stdout and stderr appended to log, with AUHARNESS_FAULT set
 * to fault (NULL: unset). Returns the pid. */
pid_t rc_start(const char *log, const char *fault, const char *const *args);
/* Waits for it; returns the exit status, or 128 + signal when killed. */
int rc_wait(pid_t pid);
/* rc_start + rc_wait. */
int rc_run(const char *log, const char *fault, const char *const *args);
/* The whole log as a string (malloc'ed). */
char *rc_read(const char *path);
/* Asserts the log contains text (prints the log otherwise). */
void rc_expect_in(const char *log, const char *text);

/* Fails the test when a log (*.txt) in dir holds a sanitizer report, a
 * runtime error or a worker that ended badly after committing. */
void rc_check_clean(const char *dir);
/* A count from SQL on a database (fails the test on error). */
int64_t rc_query_int(const char *db, const char *sql);
/* Same, -1 on any error (a database another process is creating). */
int64_t rc_try_query_int(const char *db, const char *sql);
/* Asserts that the one run of each database has the same jobs with the same
 * status, error, frames (every stored field, per-frame landmark error
 * included) and metrics; speed (fps metric of variants, wall time, stage
 * timings) is not compared. Also checks each database's integrity and that it
 * holds exactly one run, expect_jobs jobs, and frames matching the jobs. */
void rc_compare_dbs(const char *db_a, const char *db_b, int expect_jobs);

#endif
