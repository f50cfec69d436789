/* The whole pipeline under valgrind memcheck: no invalid read or write, no
 * use of uninitialised values, no definite or indirect leak.
 *
 * What runs: tests/au_pipeline_run (the pipeline through au.h, as extract
 * drives it, minus the CSV) on the first AU_VALGRIND_FRAMES frames (default
 * 10) of changeLighting.wmv: model loading, MTCNN detection with the 11
 * rotations of the first frame, tracking with the validator, AU prediction
 * with the running medians (updated every second frame), the offline
 * post-processing and every free. Not the full `auharness extract` of all 88
 * frames: that run is clean too (0 errors, no leak), but takes 5.3 min of CPU
 * under valgrind (7.5 min on the shared 2-core machine), mostly in the first
 * frames (model loading and detection: 8 frames already take 2.4 min of
 * CPU); 10 frames keep every stage at about 2.5 min. AU_VALGRIND_FRAMES=0
 * runs every frame.
 *
 * Skipped, saying why, when valgrind is not installed or when this build is
 * sanitized (valgrind cannot run ASan binaries). Suppressions:
 * tests/valgrind.supp (only third-party code; see the file). */
#include "autest.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define AUTEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AUTEST_SANITIZED 1
#endif
#endif
#ifndef AUTEST_SANITIZED
#define AUTEST_SANITIZED 0
#endif

/* Path of an executable called name on $PATH, or 0. */
static int find_on_path(const char *name, char *out, size_t n)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(out, n, "%.*s/%s", (int)len, path, name);
        if (len > 0 && access(out, X_OK) == 0)
            return 1;
        path += len + (colon ? 1 : 0);
    }
    return 0;
}

/* Runs argv with stdout and stderr into log; returns the exit status (or -1). */
static int run_logged(char *const argv[], const char *log)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_pipeline_under_memcheck(void **state)
{
    (void)state;
    char valgrind[1024];
    if (AUTEST_SANITIZED) {
        print_message("skipped: this build uses AddressSanitizer, which valgrind cannot run; "
                      "the Release build runs this test\n");
        skip();
    }
    if (!find_on_path("valgrind", valgrind, sizeof(valgrind))) {
        print_message("skipped: valgrind is not installed (scripts/setup.sh installs it)\n");
        skip();
    }
    char video[1024], tmp[512], log[1024], supp[1200], frames[32];
    autest_path(video, sizeof(video), "openface/videos/changeLighting.wmv");
    autest_require_file(video);
    autest_mkdtemp(tmp, sizeof(tmp));
    snprintf(log, sizeof(log), "%s/valgrind.log", tmp);
    snprintf(supp, sizeof(supp), "--suppressions=%s", AU_VALGRIND_SUPP);
    const char *nf = getenv("AU_VALGRIND_FRAMES");
    long want = nf && *nf ? atol(nf) : 10;
    snprintf(frames, sizeof(frames), "%ld", want > 0 ? want : -1);
    char *argv[] = {valgrind,
                    "--error-exitcode=99",
                    "--leak-check=full",
                    "--errors-for-leak-kinds=definite,indirect",
                    "--num-callers=30",
                    supp,
                    AU_PIPELINE_RUN_BIN,
                    "--frames",
                    frames,
                    video,
                    NULL};
    int rc = run_logged(argv, log);
    unsigned char *text = NULL;
    size_t size = 0;
    assert_int_equal(autest_read_file(log, &text, &size), 0);
    if (rc != 0) {
        /* the end of the log names the errors */
        size_t from = size > 6000 ? size - 6000 : 0;
        print_error("%s\n", (const char *)text + from);
        fail_msg("valgrind exit status %d (99 = memcheck errors or leaks); log above", rc);
    }
    assert_non_null(strstr((const char *)text, "ERROR SUMMARY: 0 errors"));
    char expect[64];
    if (want > 0) {
        snprintf(expect, sizeof(expect), "frames=%ld ", want);
        assert_non_null(strstr((const char *)text, expect));
    }
    /* the face is tracked at the end: the run did real work */
    assert_non_null(strstr((const char *)text, "last_success=1"));
    free(text);
    autest_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_under_memcheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
