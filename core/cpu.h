/* Runtime CPU feature detection for the DSP table (au_dsp_init).
 *
 * Nothing is cached: au_cpu_detect runs cpuid each time (well under a
 * microsecond) and the caller keeps the flags it got and passes them on, so
 * there is no global state and a test can build tables for any subset of the
 * features the CPU has.
 *
 * AU_CPU_MASK (environment, hex) restricts the features used: the flags in
 * effect are detected & mask, as dav1d's cpu mask. AU_CPU_MASK=0 runs the C
 * reference everywhere, AU_CPU_MASK=1 AVX2 without FMA (to test that
 * fallback on a CPU that has FMA). */
#ifndef AU_CPU_H
#define AU_CPU_H

#include <stddef.h>

#include "error.h"

typedef enum AuCpuFlag {
    /* AVX2 with OS support for the YMM state (XCR0 bits 1 and 2) */
    AU_CPU_AVX2 = 1u << 0,
    /* FMA3 (with the same OS support as AVX2) */
    AU_CPU_FMA = 1u << 1,
    /* AVX-512 F, CD, BW, DQ and VL (Skylake-X and later) with OS support for
     * the opmask and ZMM state (XCR0 bits 5-7) */
    AU_CPU_AVX512 = 1u << 2,
} AuCpuFlag;

/* Every flag defined above. */
#define AU_CPU_ALL (AU_CPU_AVX2 | AU_CPU_FMA | AU_CPU_AVX512)

/* The features this CPU and OS support; 0 on other architectures. */
unsigned au_cpu_detect(void);

/* detected & mask, where mask is a hexadecimal string such as AU_CPU_MASK's
 * ("0", "3", "0x1"); a NULL or empty mask leaves detected as it is. Fails
 * with AU_ERR_ARG, naming the string, when mask is not a hex number. */
AuStatus au_cpu_apply_mask(unsigned detected, const char *mask, unsigned *flags, AuError *err);

/* au_cpu_detect restricted by the AU_CPU_MASK environment variable; fails
 * when AU_CPU_MASK is set but malformed (flags then gets the detected set). */
AuStatus au_cpu_flags(unsigned *flags, AuError *err);

/* flags as names separated by spaces ("avx2 fma", "none" for 0) into buf of
 * size n (the names that fit); returns buf. */
const char *au_cpu_flags_str(unsigned flags, char *buf, size_t n);

#endif
