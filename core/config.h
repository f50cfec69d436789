/* The variant knobs (DESIGN.md "Variants"): every knob a macro whose default
 * is OpenFace's behaviour. A variant (a row of variants/variants.txt) sets
 * some of them with compile definitions; the static library the tests link
 * takes the defaults and is the baseline.
 *
 * Rules that keep the variant build cheap and safe (core/CMakeLists.txt
 * relies on them):
 *  - only .c files include this header, never a header: the build compiles
 *    per variant exactly the .c files that include it, and shares every other
 *    object between the variants;
 *  - no knob changes a type or struct layout seen by another file, for the
 *    same reason (a knob-dependent member lives in a struct private to one
 *    file).
 * au_cfg_string() (variant_api.c) reports the resolved values. */
#ifndef AU_CONFIG_H
#define AU_CONFIG_H

/* DSP table (dsp.h) the tracker uses: 0 the C reference everywhere
 * (OpenFace's arithmetic, bit-exact); 1 the SIMD versions the CPU has that
 * are bit-exact (au_dsp_init; C fallback elsewhere); 2 those and the faster
 * AVX2 + FMA versions with the tolerances dsp.h states (au_dsp_init_fast). */
#ifndef AU_CFG_SIMD
#define AU_CFG_SIMD 0
#endif

/* Most NU-RLMS parameter updates per scale and pass (rigid, then non-rigid).
 * OpenFace: num_optimisation_iteration = 5. A value above the model
 * parameters' count changes nothing. */
#ifndef AU_CFG_CLNF_ITERATIONS
#define AU_CFG_CLNF_ITERATIONS 5
#endif

/* Early exit of a NU-RLMS pass: when the 2D shape moved less than this (L2
 * norm over all 2n coordinates, pixels) since the previous update. OpenFace:
 * 0.01. */
#ifndef AU_CFG_SHAPE_CHANGE_STOP
#define AU_CFG_SHAPE_CHANGE_STOP 0.01
#endif

/* Search region of the patch experts relative to their support, as a ratio:
 * OpenFace's window sizes (11 9 7 5 at detection, 0 9 7 0 while tracking,
 * the parts' own) correspond to 1.5. Another value scales every window by
 * AU_CFG_SEARCH_RADIUS / 1.5 and takes the nearest window size the CCNF
 * file has Sigma components for (ties to the smaller); variants/README.md
 * tabulates the mapping. */
#ifndef AU_CFG_SEARCH_RADIUS
#define AU_CFG_SEARCH_RADIUS 1.5
#endif

/* Run CLNF on every Nth frame while tracking holds (1 = every frame, as
 * OpenFace). Frames in between keep the last fit's landmarks and parameters
 * (AU_CFG_SKIP_EXTRAPOLATE) and still get alignment, FHOG, running medians
 * and AU prediction. Detection, re-detection and the frame after a failed
 * validation always fit. */
#ifndef AU_CFG_FRAME_SKIP
#define AU_CFG_FRAME_SKIP 1
#endif

/* Skip only while the landmarks of the last two fits moved at most this many
 * pixels per frame (mean over the points): fast motion fits every frame. */
#ifndef AU_CFG_SKIP_MAX_MOTION
#define AU_CFG_SKIP_MAX_MOTION 1e30
#endif

/* On a skipped frame: 0 carry the last fit forward unchanged; 1 move its
 * translation on by the mean landmark motion per frame of the last two fits
 * (the shape, scale and rotation stay). */
#ifndef AU_CFG_SKIP_EXTRAPOLATE
#define AU_CFG_SKIP_EXTRAPOLATE 0
#endif

/* CalcParams (PDM fit to landmarks: the parts' starts, the main model after
 * the parts, the AU analyser's PDM) also tries the last frame's result as
 * its start and keeps whichever fits better (1), instead of always starting
 * from the landmarks' box with a mean shape (0, OpenFace). */
#ifndef AU_CFG_WARM_CALCPARAMS
#define AU_CFG_WARM_CALCPARAMS 0
#endif

/* Run the detection validator (the CNN behind the confidence column) on
 * every Nth tracked fit while the previous validation passed (1 = every fit,
 * OpenFace). Fits in between keep the last confidence; detections and the
 * fit after a failed validation are always validated. */
#ifndef AU_CFG_VALIDATE_EVERY
#define AU_CFG_VALIDATE_EVERY 1
#endif

/* A face detection fits the 11 head-rotation hypotheses and keeps the most
 * likely (OpenFace). Below 1, the search stops at the first hypothesis
 * (frontal first) whose validation confidence reaches this value. */
#ifndef AU_CFG_HYPOTHESIS_ACCEPT
#define AU_CFG_HYPOTHESIS_ACCEPT 2
#endif

/* Fit the hierarchical part models (inner face, eyes) on every Nth tracked
 * fit while tracking holds (1 = every fit, OpenFace). The fits in between
 * place the parts from the main model's landmarks with the parts' PDMs, as
 * OpenFace does for faces too small for the parts. Detections always fit
 * them. */
#ifndef AU_CFG_PARTS_EVERY
#define AU_CFG_PARTS_EVERY 1
#endif

/* Start each tracked fit from the last fit moved on at the last two fits'
 * rate (1; constant velocity) instead of from the last fit (0, OpenFace):
 * a fast-moving head stays inside the search windows. */
#ifndef AU_CFG_PREDICT_START
#define AU_CFG_PREDICT_START 0
#endif
/* ... only while the landmarks move at least this many pixels per frame. */
#ifndef AU_CFG_PREDICT_MIN_MOTION
#define AU_CFG_PREDICT_MIN_MOTION 0
#endif

/* 1: on a fitted frame the AU analyser takes the main CLNF model's
 * parameters instead of fitting its PDM to the landmarks again (OpenFace's
 * FaceAnalyser calls CalcParams on them): its PDM is the same model (the
 * tracker checks) and the landmarks are that model's shape for those
 * parameters, so CalcParams would return them up to its convergence. */
#ifndef AU_CFG_AU_PARAMS_FROM_FIT
#define AU_CFG_AU_PARAMS_FROM_FIT 0
#endif

#define AU_CFG_STR_(x) #x
#define AU_CFG_STR(x) AU_CFG_STR_(x)

/* The resolved knobs as one line (AuVariantApi.config). */
#define AU_CFG_STRING                                                                                                  \
    "simd=" AU_CFG_STR(AU_CFG_SIMD) " clnf_iterations=" AU_CFG_STR(AU_CFG_CLNF_ITERATIONS) " shape_change_stop=" AU_CFG_STR( \
        AU_CFG_SHAPE_CHANGE_STOP) " search_radius=" AU_CFG_STR(AU_CFG_SEARCH_RADIUS) " frame_skip=" AU_CFG_STR(AU_CFG_FRAME_SKIP) \
        " skip_max_motion=" AU_CFG_STR(AU_CFG_SKIP_MAX_MOTION) " skip_extrapolate=" AU_CFG_STR(AU_CFG_SKIP_EXTRAPOLATE) " warm_calcparams=" AU_CFG_STR(AU_CFG_WARM_CALCPARAMS) \
        " validate_every=" AU_CFG_STR(AU_CFG_VALIDATE_EVERY) " hypothesis_accept=" AU_CFG_STR(AU_CFG_HYPOTHESIS_ACCEPT) \
        " parts_every=" AU_CFG_STR(AU_CFG_PARTS_EVERY) " predict_start=" AU_CFG_STR(AU_CFG_PREDICT_START) " predict_min_motion=" AU_CFG_STR(AU_CFG_PREDICT_MIN_MOTION) \
        " au_params_from_fit=" AU_CFG_STR(AU_CFG_AU_PARAMS_FROM_FIT)

#endif
