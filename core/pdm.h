/* The point distribution model (PDM) of a CLNF landmark model, as OpenFace's
 * PDM::Read loads it: a text file with comment lines and three OpenFace text
 * matrices, the mean shape (3n x 1: all X, then all Y, then all Z, in mm), the
 * principal components (3n x m) and the eigenvalues (the variances of the m
 * modes, 1 x m).
 *
 * Precision: the files store doubles and OpenFace parses them as double, then
 * converts all three matrices to float at load ("for speed") and only ever
 * computes with the float copies. So the float values are what OpenFace holds,
 * and that is what is kept here: value = (float)(double parsed from text). */
#ifndef AU_PDM_H
#define AU_PDM_H

#include "error.h"
#include "mat.h"

typedef struct AuPdm {
    int n_points;       /* n: mean_shape has 3n rows */
    int n_modes;        /* m: number of non-rigid modes */
    AuMat mean_shape;   /* AU_MAT_F32, 3n x 1 */
    AuMat princ_comp;   /* AU_MAT_F32, 3n x m */
    AuMat eigen_values; /* AU_MAT_F32, 1 x m (as stored in OpenFace's files) */
} AuPdm;

/* Loads an OpenFace PDM text file (model/pdms/..., and the copy in AU_predictors/).
 * p need not be initialised; on failure it is left zeroed. */
AuStatus au_pdm_load(AuPdm *p, const char *path, AuError *err);
/* Frees a loaded, zeroed or partially loaded PDM; leaves it zeroed. */
void au_pdm_free(AuPdm *p);

#endif
