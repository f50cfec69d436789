/* A dense single-channel matrix as OpenFace's model files store them. The type
 * codes are OpenCV's depth codes, because the files carry them verbatim. */
#ifndef AU_MAT_H
#define AU_MAT_H

#include <stddef.h>

#include "error.h"

typedef enum AuMatType {
    AU_MAT_U8 = 0,
    AU_MAT_S32 = 4,
    AU_MAT_F32 = 5,
    AU_MAT_F64 = 6,
} AuMatType;

typedef struct AuMat {
    int rows, cols;
    AuMatType type;
    void *data; /* rows*cols elements, row-major; NULL when empty */
} AuMat;

#define AU_MAT_MAX_DIM (1 << 24)

int au_mat_type_valid(int type);
size_t au_mat_elem_size(AuMatType type);
size_t au_mat_count(const AuMat *m);
AuStatus au_mat_alloc(AuMat *m, int rows, int cols, AuMatType type, AuError *err);
void au_mat_free(AuMat *m);
/* Element as double whatever the storage type. */
double au_mat_at(const AuMat *m, int r, int c);
/* Converts to another type into dst (dst is allocated; src untouched). */
AuStatus au_mat_convert(const AuMat *src, AuMatType type, AuMat *dst, AuError *err);

static inline double *au_mat_f64(const AuMat *m) { return (double *)m->data; }
static inline float *au_mat_f32(const AuMat *m) { return (float *)m->data; }
static inline int *au_mat_s32(const AuMat *m) { return (int *)m->data; }

#endif
