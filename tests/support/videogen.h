/* Writing test videos with libavcodec/libavformat: synthetic frames or frames
 * of an existing video, scaled to any size and looped to any length. The
 * hostile-media tests, the memory bench and the fuzz seed builder make their
 * inputs with this at run time, so no generated video is ever committed.
 *
 * Codec MPEG-4 part 2 (FFmpeg's own encoder, present in every FFmpeg build),
 * container chosen from the file name's extension (.avi, .mp4, .mkv, ...).
 * Functions return 0 on success, or -1 with a message in errbuf; they never
 * fail the calling test themselves, so programs that are not tests use them too. */
#ifndef AUTEST_VIDEOGEN_H
#define AUTEST_VIDEOGEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct AutestVideoWriter AutestVideoWriter;

/* Opens path for width x height frames at fps frames per second. qscale is
 * MPEG-4's quantiser (2 = high quality .. 31 = small file). */
int autest_video_writer_open(AutestVideoWriter **w, const char *path, int width, int height, int fps, int qscale,
                             char *errbuf, size_t errlen);
/* Adds one 8-bit BGR frame of src_w x src_h (rows stride bytes apart), scaled
 * to the writer's size (bicubic) when it differs. */
int autest_video_writer_add(AutestVideoWriter *w, const uint8_t *bgr, int src_w, int src_h, size_t stride,
                            char *errbuf, size_t errlen);
/* Flushes the encoder, writes the trailer and frees w (also after an error;
 * accepts NULL). */
int autest_video_writer_close(AutestVideoWriter *w, char *errbuf, size_t errlen);

/* out_path gets n_frames frames of src_path (any video the core reader
 * opens), scaled to width x height (0 x 0 = the source size), the source
 * looped from its start whenever it ends. */
int autest_make_video_from(const char *out_path, const char *src_path, int width, int height, int64_t n_frames,
                           int qscale, char *errbuf, size_t errlen);

/* out_path gets n_frames synthetic frames (moving gradients and a square). */
int autest_make_synthetic_video(const char *out_path, int width, int height, int n_frames, int fps, char *errbuf,
                                size_t errlen);

#endif
