/* CPU feature detection against the kernel's view (/proc/cpuinfo), the
 * AU_CPU_MASK parsing, and the DSP table au_dsp_init builds from the flags. */
#include "autest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "dsp.h"

/* Whether the "flags" line of /proc/cpuinfo lists every name in names
 * (space-separated); -1 when there is no such file or line. */
static int cpuinfo_has(const char *names)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return -1;
    static char line[8192];
    int found = -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5))
            continue;
        found = 1;
        char want[256];
        snprintf(want, sizeof(want), "%s", names);
        for (char *tok = strtok(want, " "); tok; tok = strtok(NULL, " ")) {
            char pat[64];
            snprintf(pat, sizeof(pat), " %s", tok);
            const char *p = line;
            int hit = 0;
            while ((p = strstr(p, pat))) {
                const char end = p[strlen(pat)];
                if (end == ' ' || end == '\n' || end == '\0') {
                    hit = 1;
                    break;
                }
                p += strlen(pat);
            }
            if (!hit)
                found = 0;
        }
        break;
    }
    fclose(f);
    return found;
}

static void test_detect_matches_cpuinfo(void **state)
{
    (void)state;
    const unsigned flags = au_cpu_detect();
    char buf[64];
    print_message("detected: %s\n", au_cpu_flags_str(flags, buf, sizeof(buf)));
    assert_int_equal(flags & ~(unsigned)AU_CPU_ALL, 0);
#if defined(__x86_64__)
    /* Linux lists a feature only when the OS supports its register state,
     * as the XCR0 check does */
    const int avx2 = cpuinfo_has("avx2"), fma = cpuinfo_has("fma");
    const int avx512 = cpuinfo_has("avx512f avx512cd avx512bw avx512dq avx512vl");
    if (avx2 < 0) {
        print_message("no /proc/cpuinfo flags: detection not cross-checked\n");
        return;
    }
    assert_int_equal(!!(flags & AU_CPU_AVX2), avx2);
    assert_int_equal(!!(flags & AU_CPU_FMA), fma);
    assert_int_equal(!!(flags & AU_CPU_AVX512), avx512);
#else
    assert_int_equal(flags, 0);
#endif
}

static void test_mask(void **state)
{
    (void)state;
    AuError err = {0};
    unsigned flags = 0xdead;
    const unsigned all = AU_CPU_ALL;
    assert_int_equal(au_cpu_apply_mask(all, NULL, &flags, &err), AU_OK);
    assert_int_equal(flags, all);
    assert_int_equal(au_cpu_apply_mask(all, "", &flags, &err), AU_OK);
    assert_int_equal(flags, all);
    assert_int_equal(au_cpu_apply_mask(all, "0", &flags, &err), AU_OK);
    assert_int_equal(flags, 0);
    assert_int_equal(au_cpu_apply_mask(all, "1", &flags, &err), AU_OK);
    assert_int_equal(flags, AU_CPU_AVX2);
    assert_int_equal(au_cpu_apply_mask(all, "0x3", &flags, &err), AU_OK);
    assert_int_equal(flags, AU_CPU_AVX2 | AU_CPU_FMA);
    assert_int_equal(au_cpu_apply_mask(AU_CPU_FMA, "ffffffff", &flags, &err), AU_OK);
    assert_int_equal(flags, AU_CPU_FMA); /* a mask never adds features */
    static const char *bad[] = {"avx2", "1g", "-1", " 1", "0x", "+1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(au_cpu_apply_mask(all, bad[i], &flags, &err), AU_ERR_ARG);
        assert_non_null(strstr(err.msg, "AU_CPU_MASK"));
        assert_non_null(strstr(err.msg, bad[i]));
        assert_int_equal(flags, all);
    }

    /* the environment variable */
    const unsigned detected = au_cpu_detect();
    assert_int_equal(setenv("AU_CPU_MASK", "0", 1), 0);
    assert_int_equal(au_cpu_flags(&flags, &err), AU_OK);
    assert_int_equal(flags, 0);
    assert_int_equal(setenv("AU_CPU_MASK", "2", 1), 0);
    assert_int_equal(au_cpu_flags(&flags, &err), AU_OK);
    assert_int_equal(flags, detected & AU_CPU_FMA);
    assert_int_equal(setenv("AU_CPU_MASK", "zz", 1), 0);
    assert_int_equal(au_cpu_flags(&flags, &err), AU_ERR_ARG);
    assert_non_null(strstr(err.msg, "\"zz\""));
    assert_int_equal(unsetenv("AU_CPU_MASK"), 0);
    assert_int_equal(au_cpu_flags(&flags, &err), AU_OK);
    assert_int_equal(flags, detected);
}

static void test_flags_str(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(au_cpu_flags_str(0, buf, sizeof(buf)), "none");
    assert_string_equal(au_cpu_flags_str(AU_CPU_AVX2, buf, sizeof(buf)), "avx2");
    assert_string_equal(au_cpu_flags_str(AU_CPU_ALL, buf, sizeof(buf)), "avx2 fma avx512");
    char small[7];
    assert_string_equal(au_cpu_flags_str(AU_CPU_ALL, small, sizeof(small)), "avx2"); /* whole names only */
}

static void test_dsp_init_follows_flags(void **state)
{
    (void)state;
    AuDsp c, none, avx2, all;
    au_dsp_init_c(&c);
    au_dsp_init(&none, 0);
    assert_memory_equal(&c, &none, sizeof(AuDsp));
    /* every member is set */
    void *members[sizeof(AuDsp) / sizeof(void *)];
    memcpy(members, &c, sizeof(members));
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
        assert_non_null(members[i]);

    const unsigned cpu = au_cpu_detect();
    au_dsp_init(&avx2, cpu & AU_CPU_AVX2);
    au_dsp_init(&all, cpu);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (cpu & AU_CPU_AVX2) {
        /* the bit-exact kernels need AVX2 only, the sigmoid also FMA */
        assert_true(avx2.ccnf_im2col_norm != c.ccnf_im2col_norm);
        assert_true(avx2.fhog_row != c.fhog_row);
        assert_true(avx2.vecmat_f64 != c.vecmat_f64);
        assert_true(avx2.ccnf_sigmoid_acc == c.ccnf_sigmoid_acc);
        if (cpu & AU_CPU_FMA)
            assert_true(all.ccnf_sigmoid_acc != c.ccnf_sigmoid_acc);
    }
    /* FMA alone (no AVX2) installs nothing */
    AuDsp fma_only;
    au_dsp_init(&fma_only, AU_CPU_FMA);
    assert_memory_equal(&c, &fma_only, sizeof(AuDsp));
#else
    assert_memory_equal(&c, &all, sizeof(AuDsp));
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_matches_cpuinfo),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_flags_str),
        cmocka_unit_test(test_dsp_init_follows_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
