#include "mat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int au_mat_type_valid(int type)
{
    return type == AU_MAT_U8 || type == AU_MAT_S32 || type == AU_MAT_F32 || type == AU_MAT_F64;
}

size_t au_mat_elem_size(AuMatType type)
{
    switch (type) {
    case AU_MAT_U8: return 1;
    case AU_MAT_S32: return 4;
    case AU_MAT_F32: return 4;
    case AU_MAT_F64: return 8;
    }
    return 0;
}

size_t au_mat_count(const AuMat *m)
{
    return (size_t)m->rows * (size_t)m->cols;
}

AuStatus au_mat_alloc(AuMat *m, int rows, int cols, AuMatType type, AuError *err)
{
    memset(m, 0, sizeof(*m));
    if (rows < 0 || cols < 0 || rows > AU_MAT_MAX_DIM || cols > AU_MAT_MAX_DIM || !au_mat_type_valid(type))
        return au_error_set(err, AU_ERR_ARG, "invalid matrix %dx%d of type %d", rows, cols, (int)type);
    size_t n = (size_t)rows * (size_t)cols;
    if (n > SIZE_MAX / 8 / 2)
        return au_error_set(err, AU_ERR_ARG, "matrix %dx%d too large", rows, cols);
    m->rows = rows;
    m->cols = cols;
    m->type = type;
    if (n) {
        m->data = calloc(n, au_mat_elem_size(type));
        if (!m->data) {
            m->rows = m->cols = 0;
            return au_error_set(err, AU_ERR_NOMEM, "cannot allocate matrix %dx%d", rows, cols);
        }
    }
    return AU_OK;
}

void au_mat_free(AuMat *m)
{
    if (!m)
        return;
    free(m->data);
    m->data = NULL;
    m->rows = m->cols = 0;
}

double au_mat_at(const AuMat *m, int r, int c)
{
    size_t i = (size_t)r * (size_t)m->cols + (size_t)c;
    switch (m->type) {
    case AU_MAT_U8: return ((const unsigned char *)m->data)[i];
    case AU_MAT_S32: return ((const int *)m->data)[i];
    case AU_MAT_F32: return ((const float *)m->data)[i];
    case AU_MAT_F64: return ((const double *)m->data)[i];
    }
    return 0.0;
}

AuStatus au_mat_convert(const AuMat *src, AuMatType type, AuMat *dst, AuError *err)
{
    AuStatus st = au_mat_alloc(dst, src->rows, src->cols, type, err);
    if (st)
        return st;
    size_t n = au_mat_count(src);
    if (src->type == type) {
        if (n)
            memcpy(dst->data, src->data, n * au_mat_elem_size(type));
        return AU_OK;
    }
    for (size_t i = 0; i < n; i++) {
        double v = au_mat_at(src, (int)(i / (size_t)src->cols), (int)(i % (size_t)src->cols));
        switch (type) {
        case AU_MAT_U8: ((unsigned char *)dst->data)[i] = (unsigned char)v; break;
        case AU_MAT_S32: ((int *)dst->data)[i] = (int)v; break;
        case AU_MAT_F32: ((float *)dst->data)[i] = (float)v; break;
        case AU_MAT_F64: ((double *)dst->data)[i] = v; break;
        }
    }
    return AU_OK;
}
