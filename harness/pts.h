/* iBUG / 300-W landmark label files (.pts):
 *
 *   version: 1
 *   n_points:  68
 *   {
 *   x0 y0
 *   ...
 *   }
 *
 * The coordinates are returned exactly as written. By the 300-W convention
 * they are 1-based (the centre of the top-left pixel is (1, 1)), while
 * OpenFace's landmarks are 0-based: callers comparing with OpenFace subtract
 * 1 from every x and y (as menpo does on import and as the reference NME
 * figures in data/openface/reference/README.md were computed). */
#ifndef AUH_PTS_H
#define AUH_PTS_H

#include <stddef.h>

#include "error.h"

#define AUH_PTS_MAX_POINTS 100000

typedef struct AuhPts {
    int version;
    int n_points;
    double *x; /* n_points, raw (1-based) */
    double *y;
} AuhPts;

/* Reads a .pts file; the point count between the braces must equal n_points.
 * Errors name the file and line ("path:LINE: ..."). */
AuStatus auh_pts_read(AuhPts *pts, const char *path, AuError *err);
/* Same on text in memory, reported as file `name`. */
AuStatus auh_pts_parse(AuhPts *pts, const char *name, const char *text, size_t len, AuError *err);
/* Accepts a zeroed or partially read struct. */
void auh_pts_free(AuhPts *pts);

#endif
