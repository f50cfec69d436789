#include "cpu.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define AU_CPU_X86 1
#endif

#ifdef AU_CPU_X86
/* XCR0, the register in which the OS says which vector state it saves on a
 * context switch. xgetbv is only valid when cpuid reports OSXSAVE; encoded as
 * bytes so that no -mxsave is needed. */
static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

unsigned au_cpu_detect(void)
{
    unsigned flags = 0;
#ifdef AU_CPU_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx)
        return 0;
    const uint64_t xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) /* XMM and YMM state */
        return 0;
    if (fma)
        flags |= AU_CPU_FMA;
    if (__get_cpuid_max(0, NULL) < 7)
        return flags;
    __cpuid_count(7, 0, a, b, c, d);
    if ((b >> 5) & 1)
        flags |= AU_CPU_AVX2;
    /* EBX bits: 16 F, 17 DQ, 28 CD, 30 BW, 31 VL */
    const unsigned avx512_bits = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);
    if ((b & avx512_bits) == avx512_bits && (xcr0 & 0xe0) == 0xe0)
        flags |= AU_CPU_AVX512;
#endif
    return flags;
}

AuStatus au_cpu_apply_mask(unsigned detected, const char *mask, unsigned *flags, AuError *err)
{
    *flags = detected;
    if (!mask || !*mask)
        return AU_OK;
    char *end;
    errno = 0;
    unsigned long m = strtoul(mask, &end, 16);
    /* strtoul accepts a sign and leading blanks; a mask is plain hex */
    if (errno || end == mask || *end || mask[0] == '-' || mask[0] == '+' || mask[0] == ' ')
        return au_error_set(err, AU_ERR_ARG, "AU_CPU_MASK \"%s\" is not a hexadecimal number", mask);
    *flags = detected & (unsigned)m;
    return AU_OK;
}

AuStatus au_cpu_flags(unsigned *flags, AuError *err)
{
    return au_cpu_apply_mask(au_cpu_detect(), getenv("AU_CPU_MASK"), flags, err);
}

const char *au_cpu_flags_str(unsigned flags, char *buf, size_t n)
{
    static const struct {
        unsigned flag;
        const char *name;
    } names[] = {{AU_CPU_AVX2, "avx2"}, {AU_CPU_FMA, "fma"}, {AU_CPU_AVX512, "avx512"}};
    if (!buf || n == 0)
        return buf;
    buf[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(flags & names[i].flag))
            continue;
        int w = snprintf(buf + len, n - len, "%s%s", len ? " " : "", names[i].name);
        if (w < 0 || (size_t)w >= n - len) {
            buf[len] = '\0'; /* whole names only */
            return buf;
        }
        len += (size_t)w;
    }
    if (len == 0)
        snprintf(buf, n, "none");
    return buf;
}
