/* libFuzzer target: the video reader (au_video_open + au_video_read) on a
 * mutated container written to a file: it must open and deliver frames or
 * fail with a message naming the file, and never crash or leak. Frames are
 * read until the end, an error, or 64 frames. FFmpeg itself is not
 * instrumented; a crash inside it would still be reported (ASan's SEGV
 * handler), with FFmpeg frames in the stack. */
#include "fuzz_common.h"

#include <libavutil/log.h>

#include "video.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    av_log_set_level(AV_LOG_QUIET);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size);
    AuVideo *v = NULL;
    AuError err = {0};
    AuStatus s = au_video_open(&v, path, &err);
    fuzz_check_error(s, err.msg, "input");
    if (s != AU_OK) {
        if (v)
            abort(); /* the contract: *v is NULL on failure */
        return 0;
    }
    AuFrame f = {0};
    for (int i = 0; i < 64; i++) {
        AuError e2 = {0};
        s = au_video_read(v, &f, &e2);
        fuzz_check_error(s, e2.msg, "input");
        if (s != AU_OK)
            break;
        if (f.bgr.width != f.gray.width || f.bgr.height != f.gray.height || f.bgr.channels != 3)
            abort();
        /* touch the first and last pixel: ASan catches a size that lies */
        volatile uint8_t a = f.bgr.data[0], b = au_image_u8_row(&f.gray, f.gray.height - 1)[f.gray.width - 1];
        (void)a;
        (void)b;
    }
    au_frame_free(&f);
    au_video_close(v);
    return 0;
}
