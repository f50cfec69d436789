/* Per-stage timing counters, cheap enough to stay on in every build: one
 * monotonic clock read at each stage boundary (~20 ns) and two adds. A
 * profile belongs to one tracker (no globals), so trackers on several threads
 * count independently; the harness sums and stores them per job. */
#ifndef AU_PROFILE_H
#define AU_PROFILE_H

#include <stdint.h>
#include <time.h>

typedef enum AuStage {
    AU_STAGE_DECODE = 0,     /* frame decoding and colour conversion */
    AU_STAGE_DETECT,         /* MTCNN face detection */
    AU_STAGE_RESPONSE,       /* CCNF patch-expert responses (incl. AOI warps) */
    AU_STAGE_MEANSHIFT,      /* KDE mean-shift over response maps */
    AU_STAGE_UPDATE,         /* Jacobians, Gauss-Newton solve, parameter update */
    AU_STAGE_PARTS,          /* hierarchical part models (inner face, eyes) */
    AU_STAGE_VALIDATE,       /* CNN detection validator */
    AU_STAGE_ALIGN,          /* similarity alignment + mask of the 112x112 face */
    AU_STAGE_FHOG,           /* FHOG of the aligned face */
    AU_STAGE_MEDIAN,         /* running medians */
    AU_STAGE_AU_PREDICT,     /* SVR / SVM prediction */
    AU_STAGE_GAZE,           /* gaze and 3D outputs */
    AU_STAGE_POSTPROCESS,    /* offline AU post-processing at the end of a video */
    AU_STAGE_COUNT
} AuStage;

typedef struct AuProfile {
    uint64_t calls[AU_STAGE_COUNT];
    uint64_t ns[AU_STAGE_COUNT];
} AuProfile;

const char *au_stage_name(AuStage s);

static inline uint64_t au_profile_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Adds the time since t0 to stage s; returns now so consecutive stages chain. */
static inline uint64_t au_profile_add(AuProfile *p, AuStage s, uint64_t t0)
{
    uint64_t t1 = au_profile_now_ns();
    if (p) {
        p->calls[s]++;
        p->ns[s] += t1 - t0;
    }
    return t1;
}

void au_profile_reset(AuProfile *p);
void au_profile_accumulate(AuProfile *dst, const AuProfile *src);

#endif
