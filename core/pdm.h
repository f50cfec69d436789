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
/* 1 when a and b hold the same model (sizes and every value), else 0. */
int au_pdm_same(const AuPdm *a, const AuPdm *b);

/* ---- Geometry operations (OpenFace's PDM.cpp), numerically as OpenFace.
 *
 * Layouts as OpenFace keeps them: params_global is [scale, rx, ry, rz, tx, ty]
 * (weak-perspective scale, Euler angles in radians, translation in pixels),
 * params_local the m non-rigid parameters; a 3D shape is 3n floats (all X,
 * then all Y, then all Z, object space in mm), a 2D shape 2n floats (all x,
 * then all y, image pixels). Everything is float as in OpenFace (cv::Vec6f,
 * cv::Mat_<float>); the products that OpenFace hands to OpenBLAS (sgemm) go
 * to OpenBLAS with the same arguments, and the ones OpenCV computes with its
 * own kernels are reproduced in linalg.c. With the same OpenBLAS (Debian's
 * 0.3.21) on the reference machine kind every operation here matches
 * OpenFace's dumped values bit for bit (tests/test_pdm_ops.c); elsewhere the
 * OpenBLAS kernel's summation order may move results by float rounding. */

typedef struct AuRectF {
    float x, y, width, height;
} AuRectF;

/* Scratch for the per-frame operations below, sized for one PDM (no
 * allocation per call): pass it only with the PDM it was initialised for.
 * Not shared between threads. */
typedef struct AuPdmWork {
    int n_points, n_modes;
    float *fbuf;  /* float scratch */
    double *dbuf; /* double scratch (pose) */
    /* views into fbuf */
    float *mean_vis, *pc_vis, *lm_vis, *shape3d, *shape3d_b, *shape2d, *resid;
    float *J, *Jt, *rhs, *hess, *chol, *delta, *loc, *reg, *regd;
    /* The kernel table CalcParams' Gauss-Newton steps use (J^T r, J^T J, the
     * Cholesky solve): NULL (au_pdm_work_init's) for OpenFace's arithmetic,
     * else its gn_rhs, gn_hessian and chol_solve (the simd variant's). */
    const struct AuDsp *dsp;
} AuPdmWork;

AuStatus au_pdm_work_init(AuPdmWork *w, const AuPdm *p, AuError *err);
void au_pdm_work_free(AuPdmWork *w);

/* PDM::CalcShape3D: out (3n) = mean_shape + princ_comp * params_local. */
void au_pdm_shape3d(const AuPdm *p, const float *params_local, float *out);
/* PDM::CalcShape2D: out (2n) = scale * R(rx, ry, rz)[rows 0-1] * shape3d + (tx, ty).
 * shape3d (3n) is caller scratch and receives the 3D shape. */
void au_pdm_shape2d(const AuPdm *p, const float *params_local, const float params_global[6], float *out,
                    float *shape3d);
/* ExtractBoundingBox over a 2D shape of n points (2n: all x, then all y). */
void au_shape2d_bounds(const float *shape2d, int n, float *min_x, float *max_x, float *min_y, float *max_y);
/* PDM::CalcBoundingBox: the box around CalcShape2D of the parameters. */
void au_pdm_bbox(const AuPdm *p, const float params_global[6], const float *params_local, AuRectF *out,
                 AuPdmWork *w);
/* PDM::CalcParams(bounding box): global parameters that put the rotated shape
 * of params_local tightly inside bbox. rotation may be NULL (0, 0, 0). */
void au_pdm_params_from_bbox(const AuPdm *p, const AuRectF *bbox, const float *params_local, const float rotation[3],
                             float out_global[6], AuPdmWork *w);
/* PDM::CalcParams(landmarks): global and local parameters fitted to 2n
 * landmarks by OpenFace's regularised Gauss-Newton loop (step 0.75, stop
 * after three iterations without 0.1% improvement, at most 1000). A
 * landmark whose x is exactly 0 is missing and left out of the fit, as in
 * OpenFace. rotation (may be NULL) is the starting rotation; OpenFace's
 * callers pass none, i.e. (0, 0, 0). With no landmark present the outputs
 * are all zero (OpenFace reads uninitialised values there). */
void au_pdm_params_from_landmarks(const AuPdm *p, const float *landmarks, const float rotation[3],
                                  float out_global[6], float *out_local, AuPdmWork *w);
/* The same, also trying warm_global/warm_local (e.g. the last frame's
 * result; scale <= 0 = none) as the start, kept when it fits the landmarks
 * better than OpenFace's start. Converges in fewer iterations while tracking
 * (config.h AU_CFG_WARM_CALCPARAMS); not OpenFace's arithmetic. The inputs may
 * alias the outputs. */
void au_pdm_params_from_landmarks_warm(const AuPdm *p, const float *landmarks, const float rotation[3],
                                       const float warm_global[6], const float *warm_local, float out_global[6],
                                       float *out_local, AuPdmWork *w);
/* PDM::ComputeRigidJacobian: J (2n x 6, x rows then y rows) of CalcShape2D
 * with respect to [scale, small rotations about x, y, z, tx, ty], and Jtw
 * (6 x 2n) = (W J)^T with W = diag(weights) (2n values; NULL = identity).
 * shape3d: 3n floats of scratch. */
void au_pdm_rigid_jacobian(const AuPdm *p, const float *params_local, const float params_global[6],
                           const float *weights, float *J, float *Jtw, float *shape3d);
/* PDM::ComputeJacobian: the same over all 6 + m parameters, J is 2n x (6+m),
 * Jtw (6+m) x 2n. As in OpenFace the weights are applied only when their sum
 * differs from 2n. */
void au_pdm_jacobian(const AuPdm *p, const float *params_local, const float params_global[6], const float *weights,
                     float *J, float *Jtw, float *shape3d);
/* PDM::UpdateModelParameters: adds delta (6 rigid values, or 6 + m) to the
 * parameters, composing the rotation as R * R(delta) re-orthonormalised and
 * converted back to Euler angles through the axis-angle form. */
void au_pdm_update_params(const AuPdm *p, const float *delta, int n_delta, float *params_local,
                          float params_global[6]);
/* PDM::Clamp: each non-rigid parameter to +-3 standard deviations
 * (3 * sqrt(eigenvalue)); the global parameters are left alone, as in
 * OpenFace (its pose limit is commented out). */
void au_pdm_clamp(const AuPdm *p, float *params_local, float params_global[6]);

/* One regularised Gauss-Newton solve as OpenFace does it in both
 * PDM::CalcParams and CLNF::NU_RLMS: Hessian = diag(reg) + J^T J computed by
 * the same OpenBLAS sgemm_ call (J is rows x cols row-major, Jt its weighted
 * transpose, cols x rows), then cv::solve(Hessian, rhs, delta,
 * DECOMP_CHOLESKY); delta is all zeros when the Hessian is not positive
 * definite, as cv::solve leaves it. reg (cols values) may be NULL for no
 * regularisation. hess and chol hold cols*cols floats each. */
void au_pdm_solve_step(const float *J, const float *Jt, int rows, int cols, const float *reg, const float *rhs,
                       float *delta, float *hess, float *chol);

/* LandmarkDetector::GetPose for this PDM: [Tx, Ty, Tz, Rx, Ry, Rz] from the
 * fitted parameters and the 2D landmarks (see au_pose_from_shape). */
void au_pdm_pose(const AuPdm *p, const float *params_local, const float params_global[6], const float *landmarks,
                 float fx, float fy, float cx, float cy, float pose[6], AuPdmWork *w);
/* CLNF::GetShape: the landmarks in camera space (mm), out is 3n (all X, all
 * Y, all Z): depth from the weak-perspective scale plus the rotated shape's
 * Z, X and Y by back-projecting the 2D landmarks. */
void au_pdm_camera_shape3d(const AuPdm *p, const float *params_local, const float params_global[6],
                           const float *landmarks, float fx, float fy, float cx, float cy, float *out,
                           AuPdmWork *w);

#endif
