/* Facts a run records so results can be compared across commits and machines:
 * the build (git revision, compiler, flags: fixed when the harness is built,
 * see harness/build_info.cmake), the machine (CPU model, host name, CPUs) and
 * clocks. */
#ifndef AUH_SYSINFO_H
#define AUH_SYSINFO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* From the build (generated build_info.c). The revision is the full commit
 * hash with "-dirty" when tracked files had uncommitted changes, or "unknown"
 * when the source was not a git checkout. */
const char *auh_build_git_revision(void);
const char *auh_build_compiler(void); /* e.g. "GNU 12.2.0" */
const char *auh_build_flags(void);    /* CMAKE_C_FLAGS, per-config flags and compile options */
const char *auh_build_type(void);     /* CMAKE_BUILD_TYPE */

typedef struct AuhSysInfo {
    char git_revision[96];
    char compiler[128];
    char flags[1024];
    char build_type[32];
    char cpu[256];  /* "model name" of /proc/cpuinfo, else the machine type */
    char host[256]; /* uname nodename */
    int n_cpus;     /* online CPUs */
} AuhSysInfo;

/* Fills every field (never fails: unknown facts read "unknown"). */
void auh_sysinfo_get(AuhSysInfo *info);

/* CPU model from a /proc/cpuinfo-style file: the first "model name" (x86),
 * else "Model", "Hardware", "cpu model" or "Processor" line (ARM, MIPS...).
 * AU_ERR_IO when unreadable, AU_ERR_FORMAT when it has no such line. */
AuStatus auh_cpu_model_from_cpuinfo(const char *path, char *out, size_t n, AuError *err);

/* The machine's CPU time split, to tell a slow run from a busy host: on a
 * virtual machine the hypervisor gives the CPUs to other guests now and then
 * ("steal" in /proc/stat), and wall-clock FPS drops with it while this
 * process's CPU time does not. */
typedef struct AuhCpuSample {
    int have_stat;         /* the /proc/stat line was read */
    uint64_t total, steal; /* all CPUs, clock ticks: user..steal, and steal */
    int64_t process_cpu_ns; /* CPU time of this process so far (-1: unknown) */
} AuhCpuSample;

/* total and steal from a /proc/stat "cpu " line (user nice system idle
 * iowait irq softirq steal ...; kernels before 2.6.11 have no steal: 0).
 * 0 on success, -1 when the line is not one. */
int auh_cpu_stat_parse(const char *line, uint64_t *total, uint64_t *steal);
void auh_cpu_sample(AuhCpuSample *s);
/* Share of all CPUs' time between a and b that the hypervisor stole (0..1),
 * NaN when unknown. */
double auh_cpu_steal_share(const AuhCpuSample *a, const AuhCpuSample *b);

/* Wall-clock time, seconds since the Unix epoch (UTC), microsecond resolution. */
double auh_wall_time(void);
/* Monotonic clock in nanoseconds, for durations. */
int64_t auh_monotonic_ns(void);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC). */
void auh_format_utc(double unix_seconds, char *buf, size_t n);

#endif
