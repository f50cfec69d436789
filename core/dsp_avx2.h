/* The AVX2 (and AVX2 + FMA) kernels of the DSP table. Built on x86-64 with
 * GCC or clang only (function-level target attributes, no extra compiler
 * flags), so the library still runs on any x86-64 CPU: au_dsp_init calls
 * au_dsp_init_avx2 and it installs only what the flags allow. */
#ifndef AU_DSP_AVX2_H
#define AU_DSP_AVX2_H

#include "dsp.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define AU_DSP_HAVE_AVX2 1
/* Overrides the members of dsp that have a version for cpu_flags (AuCpuFlag
 * bits): AU_CPU_AVX2 for the bit-exact kernels, AU_CPU_AVX2 | AU_CPU_FMA for
 * those whose contract allows FMA's rounding. */
void au_dsp_init_avx2(AuDsp *dsp, unsigned cpu_flags);
/* The AVX2 + FMA versions with a stated tolerance (dsp_avx2_fast.c), for
 * au_dsp_init_fast: installed only when cpu_flags has both AVX2 and FMA. */
void au_dsp_init_avx2_fast(AuDsp *dsp, unsigned cpu_flags);
#else
#define AU_DSP_HAVE_AVX2 0
#endif

#endif
