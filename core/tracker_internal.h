/* Internals of the tracker shared with the tests: a way to hand the tracker
 * the face box a detector found, as OpenFace's face-detection branch receives
 * it from MTCNN. The tests feed OpenFace's own MTCNN boxes through it to check
 * the tracking schedule and the fits frame by frame independently of our
 * detector. */
#ifndef AU_TRACKER_INTERNAL_H
#define AU_TRACKER_INTERNAL_H

#include "au/au.h"
#include "pdm.h"

/* The next detection attempt (if the schedule makes one) uses box instead of
 * running the detector; found = 0 means "the detector found no face". */
void au_tracker_override_detection(AuTracker *t, int found, const AuRectF *box);

#endif
