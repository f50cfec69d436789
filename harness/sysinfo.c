#include "sysinfo.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src && *src ? src : "unknown");
}

static int starts_with_key(const char *line, const char *key)
{
    size_t k = strlen(key);
    if (strncmp(line, key, k))
        return 0;
    const char *p = line + k;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == ':';
}

AuStatus auh_cpu_model_from_cpuinfo(const char *path, char *out, size_t n, AuError *err)
{
    if (n)
        out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return au_error_set(err, AU_ERR_IO, "%s: cannot open", path);
    /* Preference order: x86's "model name" names the product; the others are
     * what ARM/MIPS/PowerPC kernels print instead. */
    static const char *const keys[] = {"model name", "Model", "Hardware", "cpu model", "cpu", "Processor"};
    enum { N_KEYS = sizeof(keys) / sizeof(keys[0]) };
    char best[256] = "";
    int best_rank = N_KEYS;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        for (int k = 0; k < best_rank; k++) {
            if (!starts_with_key(line, keys[k]))
                continue;
            const char *v = strchr(line, ':') + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t len = strcspn(v, "\r\n");
            while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
                len--;
            if (len == 0)
                break;
            if (len >= sizeof(best))
                len = sizeof(best) - 1;
            memcpy(best, v, len);
            best[len] = '\0';
            best_rank = k;
            break;
        }
    }
    fclose(f);
    if (!best[0])
        return au_error_set(err, AU_ERR_FORMAT, "%s: no CPU model line", path);
    snprintf(out, n, "%s", best);
    return AU_OK;
}

void auh_sysinfo_get(AuhSysInfo *info)
{
    memset(info, 0, sizeof(*info));
    copy_str(info->git_revision, sizeof(info->git_revision), auh_build_git_revision());
    copy_str(info->compiler, sizeof(info->compiler), auh_build_compiler());
    copy_str(info->flags, sizeof(info->flags), auh_build_flags());
    copy_str(info->build_type, sizeof(info->build_type), auh_build_type());
    struct utsname u;
    int have_uname = uname(&u) == 0;
    if (auh_cpu_model_from_cpuinfo("/proc/cpuinfo", info->cpu, sizeof(info->cpu), NULL) != AU_OK)
        copy_str(info->cpu, sizeof(info->cpu), have_uname ? u.machine : NULL);
    copy_str(info->host, sizeof(info->host), have_uname ? u.nodename : NULL);
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    info->n_cpus = c > 0 ? (int)c : 1;
}

double auh_wall_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* rounded to microseconds: a double holds about 15.9 digits, so this is exact
     * to well under a microsecond and round-trips through SQLite REAL */
    return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000) * 1e-6;
}

int64_t auh_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void auh_format_utc(double unix_seconds, char *buf, size_t n)
{
    if (!n)
        return;
    if (!isfinite(unix_seconds)) {
        snprintf(buf, n, "-");
        return;
    }
    double whole = floor(unix_seconds);
    int ms = (int)lround((unix_seconds - whole) * 1000.0);
    if (ms >= 1000) {
        whole += 1;
        ms -= 1000;
    }
    time_t t = (time_t)whole;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, n, "-");
        return;
    }
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ms);
}

int auh_cpu_stat_parse(const char *line, uint64_t *total, uint64_t *steal)
{
    if (strncmp(line, "cpu ", 4))
        return -1;
    const char *p = line + 4;
    uint64_t f[8] = {0};
    int n = 0;
    while (n < 8) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || errno)
            break;
        f[n++] = (uint64_t)v;
        p = end;
    }
    if (n < 4) /* user nice system idle at least */
        return -1;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += f[i];
    *steal = f[7];
    return 0;
}

void auh_cpu_sample(AuhCpuSample *s)
{
    memset(s, 0, sizeof(*s));
    FILE *f = fopen("/proc/stat", "r");
    if (f) {
        char line[512];
        if (fgets(line, sizeof(line), f) && !auh_cpu_stat_parse(line, &s->total, &s->steal))
            s->have_stat = 1;
        fclose(f);
    }
    struct timespec ts;
    s->process_cpu_ns = clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) ? -1
                                                                     : (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double auh_cpu_steal_share(const AuhCpuSample *a, const AuhCpuSample *b)
{
    if (!a->have_stat || !b->have_stat || b->total <= a->total || b->steal < a->steal)
        return NAN;
    return (double)(b->steal - a->steal) / (double)(b->total - a->total);
}
