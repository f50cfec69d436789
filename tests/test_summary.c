/* The per-variant table and the gate (harness/summary.h) on the fixture run
 * of tests/support/fakerun.h, against aggregates computed by hand from the
 * fixture's table; and `auharness gate`'s exit status and verdict lines. */
#include "autest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "commands_report.h"
#include "fakerun.h"
#include "metric_names.h"
#include "summary.h"

typedef struct Fix {
    char tmp[1024];
    char db_fail[1200], db_pass[1200];
    int64_t run_fail, run_pass;
} Fix;

static int setup(void **state)
{
    Fix *f = calloc(1, sizeof(Fix));
    autest_mkdtemp(f->tmp, sizeof(f->tmp));
    snprintf(f->db_fail, sizeof(f->db_fail), "%s/fail.sqlite", f->tmp);
    snprintf(f->db_pass, sizeof(f->db_pass), "%s/pass.sqlite", f->tmp);
    f->run_fail = fakerun_build(f->db_fail, "run-fail", 1.7e9, FAKERUN_FAILING_JOB | FAKERUN_BELOW_GATE);
    f->run_pass = fakerun_build(f->db_pass, "run-pass", 1.7e9, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fix *f = *state;
    autest_rmtree(f->tmp);
    free(f);
    return 0;
}

static void load(const char *db, int64_t run, double threshold, AuhRunSummary *rs)
{
    AuhStore s;
    AuError err = {0};
    if (auh_store_open(&s, db, &err) || auh_run_summary_load(&s, run, threshold, rs, &err))
        fail_msg("%s", err.msg);
    auh_store_close(&s);
}

static const AuhVariantSummary *variant(const AuhRunSummary *rs, const char *name)
{
    for (size_t i = 0; i < rs->n_variants; i++)
        if (!strcmp(rs->variants[i].name, name))
            return &rs->variants[i];
    fail_msg("no variant %s", name);
    return NULL;
}

static void near(double a, double b, int line)
{
    if (!(fabs(a - b) < 1e-9 * fmax(1, fabs(b))))
        fail_msg("line %d: %.12g != %.12g", line, a, b);
}
#define NEAR(a, b) near((a), (b), __LINE__)

/* OpenFace's frame time over both videos: frames / its given fps. */
static double openface_time(void)
{
    return 288 / 41.3 + 88 / 33.5;
}

static void test_aggregates(void **state)
{
    Fix *f = *state;
    AuhRunSummary rs;
    load(f->db_fail, f->run_fail, AUH_GATE_DEFAULT, &rs);
    assert_int_equal((int)rs.n_jobs, 11);
    assert_int_equal((int)rs.n_items, 3);
    assert_int_equal((int)rs.n_variants, 4);
    /* order: baseline first, OpenFace last */
    assert_string_equal(rs.variants[0].name, "baseline");
    assert_string_equal(rs.variants[1].name, "simd");
    assert_string_equal(rs.variants[2].name, "fast");
    assert_string_equal(rs.variants[3].name, "openface");
    assert_int_equal(rs.baseline, 0);
    assert_int_equal(rs.openface, 3);
    /* items: the videos have AU labels (the au_mean_r metric), the image set not */
    assert_string_equal(rs.items[0].label, "default");
    assert_true(rs.items[0].has_au_labels && rs.items[1].has_au_labels && !rs.items[2].has_au_labels);

    const AuhVariantSummary *b = variant(&rs, "baseline"), *s = variant(&rs, "simd"), *fa = variant(&rs, "fast"),
                            *of = variant(&rs, "openface");
    /* FPS = total frames / total wall s (failed jobs out) */
    NEAR(b->fps, 416 / 14.8);                   /* (288 + 88 + 40) / (9.6 + 3.2 + 2.0) */
    NEAR(s->fps, 328 / 3.7);                    /* changeLighting failed: (288 + 40) / (3.2 + 0.5) */
    NEAR(fa->fps, 416 / 2.4);                   /* / (1.6 + 0.55 + 0.25) */
    NEAR(of->fps, 376 / openface_time());       /* videos only, from the fps metric */
    assert_int_equal((int)s->n_failed, 1);
    assert_int_equal((int)s->n_jobs, 3);
    /* speed-ups over the matching items */
    NEAR(b->x_baseline, 1);
    NEAR(s->x_baseline, 11.6 / 3.7);            /* default + images: (328/3.7) / (328/11.6) */
    NEAR(fa->x_baseline, 14.8 / 2.4);
    NEAR(of->x_baseline, 12.8 / openface_time()); /* videos: (376/t_of) / (376/12.8) */
    NEAR(b->x_openface, openface_time() / 12.8);
    NEAR(s->x_openface, 90 / 41.3);             /* default only: 288/3.2 = 90 FPS vs 41.3 */
    NEAR(fa->x_openface, openface_time() / 2.15);
    NEAR(of->x_openface, 1);
    /* accuracy means over the items that define them */
    NEAR(b->lmk_mean_px, (0.05 + 0.07 + 3.10) / 3);
    NEAR(s->lmk_mean_px, (0.05 + 3.10) / 2);
    NEAR(fa->lmk_mean_nme, (0.018 + 0.021 + 0.045) / 3);
    NEAR(b->au_mean_r, (0.9998 + 0.9995) / 2);
    NEAR(s->au_mean_r, 0.9998);
    NEAR(fa->au_mean_r, (0.87 + 0.93) / 2);    /* 0.90: the mean passes, the gate must not */
    NEAR(fa->au_min_r, 0.87);
    NEAR(fa->presence_agreement, (0.94 + 0.95) / 2);
    NEAR(of->au_mean_r, 1);
    assert_int_equal(b->n_au_items, 2);
    assert_int_equal(b->n_lmk_items, 3);
    /* stage totals: share * wall summed over the finished jobs */
    size_t resp = 0;
    while (resp < rs.n_stages && strcmp(rs.stages[resp], "response"))
        resp++;
    assert_true(resp < rs.n_stages);
    assert_string_equal(rs.stages[0], "decode"); /* core/profile.h order */
    assert_int_equal((int)rs.n_stages, FAKERUN_N_STAGES);
    assert_true(b->stage_ns[resp] == (int64_t)6216000000); /* 0.42 * (9.6 + 3.2 + 2.0) s */
    assert_true(b->stage_calls[resp] == 416);
    assert_true(b->wall_ns == (int64_t)14800000000);
    assert_true(b->stage_calls[1] == 42); /* detect: once per video, once per image */
    assert_true(of->wall_ns == 0);

    /* the printed table */
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    auh_run_summary_write_table(&rs, out);
    fclose(out);
    printf("%s", buf);
    char want[512];
    /* baseline  28.1  1.00x  0.75x  1.07  1.07  1.000  0.998  0/3  PASS */
    snprintf(want, sizeof(want), "%.1f", 416 / 14.8);
    const char *line = strstr(buf, "\nbaseline");
    assert_non_null(line);
    char name[32], c[9][32];
    assert_int_equal(sscanf(line + 1, "%31s %31s %31s %31s %31s %31s %31s %31s %31s %31s", name, c[0], c[1], c[2],
                            c[3], c[4], c[5], c[6], c[7], c[8]),
                     10);
    assert_string_equal(c[0], want);
    assert_string_equal(c[1], "1.00x");
    snprintf(want, sizeof(want), "%.2fx", openface_time() / 12.8);
    assert_string_equal(c[2], want);
    assert_string_equal(c[3], "1.07"); /* (0.05 + 0.07 + 3.10) / 3 = 1.0733 */
    assert_string_equal(c[4], "1.07"); /* 100 * (0.0005 + 0.0007 + 0.031) / 3 */
    /* 0.99965: as many decimals as it takes not to print a perfect 1 */
    assert_true(!strcmp(c[5], "0.9996") || !strcmp(c[5], "0.9997"));
    assert_string_equal(c[6], "0.998"); /* (0.998 + 0.997) / 2 = 0.9975 -> "0.998" (binary 0.99750000000000005) */
    assert_string_equal(c[7], "0/3");
    assert_string_equal(c[8], "PASS");
    line = strstr(buf, "\nsimd");
    assert_non_null(line);
    assert_int_equal(sscanf(line + 1, "%31s %31s %31s %31s %31s %31s %31s %31s %31s %31s", name, c[0], c[1], c[2],
                            c[3], c[4], c[5], c[6], c[7], c[8]),
                     10);
    assert_string_equal(c[0], "88.6");  /* 328 / 3.7 = 88.65 */
    assert_string_equal(c[1], "3.14x"); /* 11.6 / 3.7 = 3.135 */
    assert_string_equal(c[2], "2.18x"); /* 90 / 41.3 = 2.179 */
    assert_string_equal(c[7], "1/3");
    assert_string_equal(c[8], "FAIL");
    line = strstr(buf, "\nopenface");
    assert_non_null(line);
    assert_non_null(strstr(line, "reference"));
    /* columns are aligned: every row has the gate column at the same offset */
    const char *hdr = strstr(buf, "\nvariant");
    assert_non_null(hdr);
    size_t gate_end = (size_t)(strstr(hdr, "gate\n") + 4 - hdr); /* right-aligned */
    assert_int_equal((int)(strstr(line, "reference") + 9 - line), (int)gate_end);
    assert_non_null(strstr(buf, "failed job: simd on changeLighting: " FAKERUN_ERROR));
    free(buf);
    auh_run_summary_free(&rs);
}

static void test_gate_verdicts(void **state)
{
    Fix *f = *state;
    AuhRunSummary rs;
    load(f->db_fail, f->run_fail, AUH_GATE_DEFAULT, &rs);
    assert_int_equal(rs.n_failed_variants, 2);
    assert_true(variant(&rs, "baseline")->passed);
    assert_false(variant(&rs, "simd")->passed);
    assert_false(variant(&rs, "fast")->passed);
    assert_false(variant(&rs, "openface")->gated);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    auh_run_summary_write_gate(&rs, out);
    int status = auh_run_summary_write_verdict(&rs, out);
    fclose(out);
    printf("%s", buf);
    assert_int_equal(status, 1);
    assert_non_null(strstr(buf, "fast: FAIL: default AU accuracy 0.87 < 0.90\n"));
    assert_non_null(strstr(buf, "simd: FAIL: changeLighting job failed: " FAKERUN_ERROR "\n"));
    assert_non_null(strstr(buf, "baseline: PASS: AU accuracy >= 0.90 on all 2 items with AU labels (lowest 0.9995 on "
                                "changeLighting)\n"));
    assert_non_null(strstr(buf, "openface: reference"));
    /* fast passes changeLighting (0.93): only default is named */
    assert_null(strstr(buf, "fast: FAIL: changeLighting"));
    assert_non_null(strstr(buf, "gate: FAIL: 2 of 3 variants failed"));
    free(buf);
    auh_run_summary_free(&rs);

    /* a stricter threshold fails the baseline too; a laxer one passes fast */
    load(f->db_fail, f->run_fail, 0.9996, &rs);
    assert_false(variant(&rs, "baseline")->passed);
    assert_int_equal((int)variant(&rs, "baseline")->n_gate_failures, 1); /* changeLighting 0.9995 */
    assert_string_equal(rs.gate_failures[0].reason, "changeLighting AU accuracy 0.9995 < 0.9996");
    auh_run_summary_free(&rs);
    load(f->db_fail, f->run_fail, 0.85, &rs);
    assert_true(variant(&rs, "fast")->passed);
    assert_false(variant(&rs, "simd")->passed); /* a failed job fails at any threshold */
    auh_run_summary_free(&rs);

    load(f->db_pass, f->run_pass, AUH_GATE_DEFAULT, &rs);
    assert_int_equal(rs.n_failed_variants, 0);
    NEAR(variant(&rs, "simd")->fps, 416 / 4.8);
    NEAR(variant(&rs, "fast")->au_mean_r, (0.95 + 0.93) / 2);
    auh_run_summary_free(&rs);
}

static void test_format_vs_threshold(void **state)
{
    (void)state;
    char b[64];
    auh_format_vs_threshold(0.87, 0.90, 2, b, sizeof(b));
    assert_string_equal(b, "0.87");
    auh_format_vs_threshold(0.8996, 0.90, 2, b, sizeof(b)); /* never "0.90 < 0.90" */
    assert_string_equal(b, "0.8996");
    auh_format_vs_threshold(0.89999, 0.90, 2, b, sizeof(b));
    assert_string_equal(b, "0.89999");
    auh_format_vs_threshold(0.9995, 0.90, 3, b, sizeof(b)); /* not "1.000" */
    assert_string_equal(b, "0.9995");
    auh_format_vs_threshold(0.93, 0.90, 3, b, sizeof(b));
    assert_string_equal(b, "0.930");
    auh_format_vs_threshold(NAN, 0.90, 2, b, sizeof(b));
    assert_string_equal(b, "undefined");
}

static void test_missing_item_and_undefined(void **state)
{
    Fix *f = *state;
    /* a variant without a job on an AU-labelled item, and one whose AU accuracy
     * is undefined (NULL), both fail: no evidence is not a pass */
    char db[1300];
    snprintf(db, sizeof(db), "%s/partial.sqlite", f->tmp);
    int64_t run = fakerun_build(db, "partial", 1.7e9, 0);
    AuhStore s;
    AuError err = {0};
    if (auh_store_open(&s, db, &err))
        fail_msg("%s", err.msg);
    sqlite3_exec(s.db,
                 "DELETE FROM jobs WHERE variant = 'simd' AND item = 'default';"
                 "UPDATE metrics SET value = NULL WHERE name = 'au_mean_r' AND job_id ="
                 " (SELECT id FROM jobs WHERE variant = 'fast' AND item = 'changeLighting');",
                 NULL, NULL, NULL);
    AuhRunSummary rs;
    /* also inside a caller's transaction (the load uses a savepoint) */
    assert_int_equal(sqlite3_exec(s.db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    if (auh_run_summary_load(&s, run, AUH_GATE_DEFAULT, &rs, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(sqlite3_get_autocommit(s.db), 0); /* the caller's transaction is still open */
    assert_int_equal(sqlite3_exec(s.db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    auh_run_summary_write_gate(&rs, out);
    fclose(out);
    printf("%s", buf);
    assert_non_null(strstr(buf, "simd: FAIL: default has AU labels but no job of this variant"));
    assert_non_null(strstr(buf, "fast: FAIL: changeLighting AU accuracy undefined"));
    free(buf);
    auh_run_summary_free(&rs);
    auh_store_close(&s);
}

static void test_resolve_run(void **state)
{
    Fix *f = *state;
    char db[1300];
    snprintf(db, sizeof(db), "%s/two.sqlite", f->tmp);
    int64_t first = fakerun_build(db, "older", 1.6e9, 0);
    int64_t second = fakerun_build(db, "newer", 1.7e9, FAKERUN_BELOW_GATE);
    AuhStore s;
    AuError err = {0};
    if (auh_store_open(&s, db, &err))
        fail_msg("%s", err.msg);
    int64_t id;
    assert_int_equal(auh_summary_resolve_run(&s, NULL, &id, &err), AU_OK);
    assert_true(id == second); /* latest by start time */
    assert_int_equal(auh_summary_resolve_run(&s, "older", &id, &err), AU_OK);
    assert_true(id == first);
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)second);
    assert_int_equal(auh_summary_resolve_run(&s, num, &id, &err), AU_OK);
    assert_true(id == second);
    assert_int_not_equal(auh_summary_resolve_run(&s, "nosuchrun", &id, &err), AU_OK);
    assert_non_null(strstr(err.msg, "nosuchrun"));
    assert_int_not_equal(auh_summary_resolve_run(&s, "999", &id, &err), AU_OK);
    auh_store_close(&s);

    /* the command on the same database: the latest run fails (fast below the gate), the older passes */
    char *argv_latest[] = {"gate", "--db", db, NULL};
    assert_int_equal(auh_cmd_gate(3, argv_latest), 1);
    char *argv_older[] = {"gate", "older", "--db", db, NULL};
    assert_int_equal(auh_cmd_gate(4, argv_older), 0);
    char *argv_bad[] = {"gate", "--threshold", "1.5", "--db", db, NULL};
    assert_int_equal(auh_cmd_gate(5, argv_bad), 2);
    char nodb[1300];
    snprintf(nodb, sizeof(nodb), "%s/none.sqlite", f->tmp);
    char *argv_nodb[] = {"gate", "--db", nodb, NULL};
    assert_int_equal(auh_cmd_gate(3, argv_nodb), 2);
    FILE *probe = fopen(nodb, "r"); /* a mistyped --db is not created */
    assert_null(probe);
}

/* The real program, when its main registers the command. */
static int run_bin(const char *args, const char *log, char **out)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "'%s' gate %s > '%s' 2>&1", AUHARNESS_BIN, args, log);
    int rc = system(cmd);
    size_t n;
    if (autest_read_file(log, (unsigned char **)out, &n))
        fail_msg("no output from %s", cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_gate_binary(void **state)
{
    Fix *f = *state;
    char args[2600], log[1300];
    snprintf(log, sizeof(log), "%s/gate.log", f->tmp);
    char *out = NULL;
    snprintf(args, sizeof(args), "--db '%s'", f->db_pass);
    int st = run_bin(args, log, &out);
    if (strstr(out, "unknown command")) {
        /* harness/main.c is the runner's; until it dispatches `gate` to
         * auh_cmd_gate (commands_report.h), test_resolve_run covers the
         * command in-process. */
        free(out);
        skip();
    }
    printf("%s", out);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "gate: PASS"));
    free(out);
    snprintf(args, sizeof(args), "run-fail --db '%s'", f->db_fail);
    st = run_bin(args, log, &out);
    printf("%s", out);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "fast: FAIL: default AU accuracy 0.87 < 0.90"));
    assert_non_null(strstr(out, "simd: FAIL: changeLighting job failed"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregates),
        cmocka_unit_test(test_gate_verdicts),
        cmocka_unit_test(test_format_vs_threshold),
        cmocka_unit_test(test_missing_item_and_undefined),
        cmocka_unit_test(test_resolve_run),
        cmocka_unit_test(test_gate_binary),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
