/* Run facts: the build's git revision against git itself, CPU model parsing
 * of x86 and ARM /proc/cpuinfo texts, and time formatting. */
#include "autest.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysinfo.h"

static void test_build_facts(void **state)
{
    (void)state;
    const char *rev = auh_build_git_revision();
    /* The source tree this test was compiled from, asked at test time. */
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    char cmd[2048], head[128] = "";
    snprintf(cmd, sizeof(cmd), "git -C '%.*s' rev-parse HEAD 2>/dev/null", (int)(slash - file), file);
    FILE *p = popen(cmd, "r");
    int have_git = p && fgets(head, sizeof(head), p) && strlen(head) >= 40;
    if (p)
        pclose(p);
    if (have_git) {
        /* built at the current commit (the build re-reads it every time) */
        assert_memory_equal(rev, head, 40);
        assert_true(rev[40] == '\0' || !strcmp(rev + 40, "-dirty"));
    } else {
        assert_string_equal(rev, "unknown");
    }
    for (int i = 0; i < 40 && have_git; i++)
        assert_true(isxdigit((unsigned char)rev[i]));
    assert_non_null(strstr(auh_build_compiler(), "GNU"));
    assert_non_null(strstr(auh_build_flags(), "-Wall"));
    AuhSysInfo info;
    auh_sysinfo_get(&info);
    assert_string_equal(info.git_revision, rev);
    assert_true(info.cpu[0] && strcmp(info.cpu, "unknown"));
    assert_true(info.host[0]);
    assert_true(info.n_cpus >= 1);
}

static void check_cpuinfo(const char *dir, const char *text, const char *expected)
{
    char path[1200], out[256];
    snprintf(path, sizeof(path), "%s/cpuinfo", dir);
    autest_write_file(path, text, strlen(text));
    AuError err = {0};
    if (expected) {
        if (auh_cpu_model_from_cpuinfo(path, out, sizeof(out), &err))
            fail_msg("%s", err.msg);
        assert_string_equal(out, expected);
    } else {
        assert_int_equal(auh_cpu_model_from_cpuinfo(path, out, sizeof(out), &err), AU_ERR_FORMAT);
        assert_non_null(strstr(err.msg, "cpuinfo"));
    }
}

static void test_cpuinfo(void **state)
{
    (void)state;
    char dir[1024];
    autest_mkdtemp(dir, sizeof(dir));
    check_cpuinfo(dir,
                  "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n"
                  "model name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz  \ncpu MHz\t\t: 2900.000\n"
                  "processor\t: 1\nmodel name\t: other\n",
                  "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz");
    /* Raspberry Pi style: "Model" wins over "Hardware"; "CPU part" is not a model */
    check_cpuinfo(dir,
                  "processor\t: 0\nBogoMIPS\t: 108.00\nCPU part\t: 0xd08\n\nHardware\t: BCM2835\n"
                  "Model\t\t: Raspberry Pi 4 Model B Rev 1.4\n",
                  "Raspberry Pi 4 Model B Rev 1.4");
    check_cpuinfo(dir, "processor : 0\nHardware : Generic DT based system\n", "Generic DT based system");
    check_cpuinfo(dir, "processor\t: 0\ncpu family\t: 6\ncpu MHz\t: 1.0\n", NULL);
    check_cpuinfo(dir, "", NULL);
    AuError err = {0};
    char out[64];
    assert_int_equal(auh_cpu_model_from_cpuinfo("/nonexistent/cpuinfo", out, sizeof(out), &err), AU_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/cpuinfo"));
    autest_rmtree(dir);
}

static void test_time(void **state)
{
    (void)state;
    char b[64];
    auh_format_utc(0.0, b, sizeof(b));
    assert_string_equal(b, "1970-01-01T00:00:00.000Z");
    /* 1700000000 s = 19675 days (to 2023-11-14) + 80000 s = 22:13:20 */
    auh_format_utc(1700000000.5, b, sizeof(b));
    assert_string_equal(b, "2023-11-14T22:13:20.500Z");
    auh_format_utc(1700000000.9996, b, sizeof(b)); /* rounds into the next second */
    assert_string_equal(b, "2023-11-14T22:13:21.000Z");
    double now = auh_wall_time();
    assert_true(now > 1700000000.0); /* after this code was written */
    int64_t a = auh_monotonic_ns(), c = auh_monotonic_ns();
    assert_true(c >= a);
}

/* /proc/stat's first line: total over user..steal, steal the 8th; the
 * guest columns after it are already counted in user and left out. */
static void test_cpu_stat(void **state)
{
    (void)state;
    uint64_t total = 0, steal = 0;
    assert_int_equal(auh_cpu_stat_parse("cpu  2367692 943471 444084 2512233 62926 0 14490 47059 0 0\n", &total, &steal),
                     0);
    assert_true(total == 2367692ull + 943471 + 444084 + 2512233 + 62926 + 0 + 14490 + 47059);
    assert_true(steal == 47059);
    /* an old kernel's four columns: no steal */
    assert_int_equal(auh_cpu_stat_parse("cpu 10 20 30 40\n", &total, &steal), 0);
    assert_true(total == 100 && steal == 0);
    assert_int_equal(auh_cpu_stat_parse("cpu0 1 2 3 4 5 6 7 8\n", &total, &steal), -1);
    assert_int_equal(auh_cpu_stat_parse("cpu 1 2 x\n", &total, &steal), -1);
    assert_int_equal(auh_cpu_stat_parse("intr 1 2 3 4\n", &total, &steal), -1);
    /* shares between two samples; unknown when a sample is missing or runs backwards */
    AuhCpuSample a = {1, 1000, 10, 0}, b = {1, 1400, 110, 0};
    assert_true(fabs(auh_cpu_steal_share(&a, &b) - 0.25) < 1e-12);
    assert_true(isnan(auh_cpu_steal_share(&b, &a)));
    a.have_stat = 0;
    assert_true(isnan(auh_cpu_steal_share(&a, &b)));
    /* this machine: a real sample, its own CPU time moving on */
    AuhCpuSample s1, s2;
    auh_cpu_sample(&s1);
    volatile double x = 0;
    for (int i = 0; i < 20000000; i++)
        x += i * 1e-9;
    auh_cpu_sample(&s2);
    assert_true(s1.have_stat && s2.have_stat);
    assert_true(s2.process_cpu_ns > s1.process_cpu_ns);
    const double sh = auh_cpu_steal_share(&s1, &s2);
    assert_true(isnan(sh) || (sh >= 0 && sh <= 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_facts),
        cmocka_unit_test(test_cpuinfo),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_cpu_stat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
