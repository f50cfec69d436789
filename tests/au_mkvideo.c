/* au_mkvideo: writes test videos with libavcodec (tests/support/videogen.h),
 * for the memory bench and the fuzz seeds (tests/fuzz/run.sh); nothing it makes is committed.
 *
 *   au_mkvideo OUT --synthetic W H N [FPS]      N frames of moving gradients
 *   au_mkvideo OUT --from SRC W H N [QSCALE]    N frames of SRC scaled to W x H
 *                                               (0 0 = SRC's size), looped
 * The container follows OUT's extension (.avi, .mp4, .mkv, ...), codec MPEG-4. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "videogen.h"

int main(int argc, char **argv)
{
    char eb[512];
    if (argc >= 6 && !strcmp(argv[2], "--synthetic")) {
        int fps = argc >= 7 ? atoi(argv[6]) : 30;
        if (autest_make_synthetic_video(argv[1], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), fps, eb, sizeof(eb))) {
            fprintf(stderr, "au_mkvideo: %s\n", eb);
            return 1;
        }
        return 0;
    }
    if (argc >= 7 && !strcmp(argv[2], "--from")) {
        int q = argc >= 8 ? atoi(argv[7]) : 5;
        if (autest_make_video_from(argv[1], argv[3], atoi(argv[4]), atoi(argv[5]), atoll(argv[6]), q, eb, sizeof(eb))) {
            fprintf(stderr, "au_mkvideo: %s\n", eb);
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "usage: au_mkvideo OUT --synthetic W H N [FPS]\n"
                    "       au_mkvideo OUT --from SRC W H N [QSCALE]\n");
    return 2;
}
