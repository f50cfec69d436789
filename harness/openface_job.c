/* OpenFace C++'s own rows (openface_job.h). */
#define _GNU_SOURCE /* realpath; sched_getcpu and sched_setaffinity (one CPU for OpenFace) */
#include "openface_job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metric_names.h"
#include "openface_csv.h"
#include "sysinfo.h"

/* Single-threaded tracking-loop FPS of OpenFace 2.2 (CLNF model) on the
 * reference machine: data/openface/reference/README.md, "Speed on this
 * machine", table "Single-threaded". */
static const struct {
    const char *file;
    double fps;
} REFERENCE_FPS[] = {{"default.wmv", 41.3}, {"changeLighting.wmv", 33.5}};

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static AuStatus parse_fps(const char *text, size_t len, const char *whole, double *out, AuError *err)
{
    char buf[64];
    if (len == 0 || len >= sizeof(buf))
        return au_error_set(err, AU_ERR_ARG, "--openface-fps '%s': expected a number of frames per second", whole);
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || errno || !(v > 0) || !isfinite(v))
        return au_error_set(err, AU_ERR_ARG, "--openface-fps '%s': '%s' is not a positive number", whole, buf);
    *out = v;
    return AU_OK;
}

AuStatus auh_openface_fps_parse(AuhOpenfaceConfig *cfg, const char *value, AuError *err)
{
    const char *p = value;
    if (!strchr(value, '=')) {
        double v = 0;
        AuStatus st = parse_fps(value, strlen(value), value, &v, err);
        if (st)
            return st;
        if (cfg->n_fps >= AUH_OPENFACE_FPS_MAX)
            return au_error_set(err, AU_ERR_ARG, "--openface-fps '%s': too many values", value);
        cfg->fps[cfg->n_fps].item[0] = '\0';
        cfg->fps[cfg->n_fps++].fps = v;
        return AU_OK;
    }
    while (*p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq || eq == p || (size_t)(eq - p) >= AUH_ITEM_ID_MAX)
            return au_error_set(err, AU_ERR_ARG, "--openface-fps '%s': expected FPS or ITEM=FPS[,ITEM=FPS...]", value);
        if (cfg->n_fps >= AUH_OPENFACE_FPS_MAX)
            return au_error_set(err, AU_ERR_ARG, "--openface-fps '%s': too many values", value);
        AuhOpenfaceFps *e = &cfg->fps[cfg->n_fps];
        memcpy(e->item, p, (size_t)(eq - p));
        e->item[eq - p] = '\0';
        AuStatus st = parse_fps(eq + 1, (size_t)(end - eq - 1), value, &e->fps, err);
        if (st)
            return st;
        cfg->n_fps++;
        p = *end ? end + 1 : end;
    }
    return AU_OK;
}

double auh_openface_fps_for(const AuhOpenfaceConfig *cfg, const AuhManifestItem *item)
{
    for (int i = cfg->n_fps - 1; i >= 0; i--)
        if (!cfg->fps[i].item[0] || !strcmp(cfg->fps[i].item, item->id))
            return cfg->fps[i].fps;
    if (item->kind == AUH_ITEM_VIDEO)
        for (size_t i = 0; i < sizeof(REFERENCE_FPS) / sizeof(REFERENCE_FPS[0]); i++)
            if (!strcmp(base_name(item->path), REFERENCE_FPS[i].file))
                return REFERENCE_FPS[i].fps;
    return NAN;
}

AuStatus auh_openface_check_binary(const char *path, AuError *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return au_error_set(err, AU_ERR_IO, "--openface '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return au_error_set(err, AU_ERR_ARG, "--openface '%s': not a regular file", path);
    if (access(path, X_OK) != 0)
        return au_error_set(err, AU_ERR_ARG, "--openface '%s': not executable", path);
    return AU_OK;
}

/* ---- frames from CSVs ---- */

/* AU names of a layout as pointer arrays for AuhJobInfo. */
typedef struct AuNames {
    const char *r[AUH_OF_MAX_AUS], *c[AUH_OF_MAX_AUS];
} AuNames;

static void names_of(const AuhOfCsvLayout *l, AuNames *n)
{
    for (int i = 0; i < l->n_au_reg; i++)
        n->r[i] = l->au_reg[i];
    for (int i = 0; i < l->n_au_class; i++)
        n->c[i] = l->au_class[i];
}

/* Fills lmk (2n floats, x then y) and AU arrays (in the job's AU order, by
 * column name) from one CSV row; returns the flags of what it found. */
static void row_values(const AuhOfCsv *csv, size_t row, const AuhJob *job, float *lmk, double *au_r, double *au_c,
                       int *has_lmk, int *has_r, int *has_c)
{
    *has_lmk = job->n_landmarks > 0 && csv->col_x0 >= 0 && csv->col_y0 >= 0 &&
               csv->layout.n_landmarks == job->n_landmarks;
    if (*has_lmk)
        for (int i = 0; i < job->n_landmarks; i++) {
            /* OpenFace keeps landmarks as float; the CSV holds 1 decimal. */
            lmk[i] = (float)auh_of_csv_landmark_x(csv, row, i);
            lmk[job->n_landmarks + i] = (float)auh_of_csv_landmark_y(csv, row, i);
        }
    *has_r = job->n_au_r > 0 && !(csv->row_flags[row] & AUH_OF_ROW_NO_AU_REG);
    for (int a = 0; a < job->n_au_r && *has_r; a++) {
        char col[AUH_STORE_AU_NAME_MAX + 4];
        snprintf(col, sizeof(col), "%s_r", job->au_r_names[a]);
        int c = auh_of_csv_column(csv, col);
        if (c < 0)
            *has_r = 0;
        else
            au_r[a] = auh_of_csv_get(csv, row, c);
    }
    *has_c = job->n_au_c > 0 && !(csv->row_flags[row] & AUH_OF_ROW_NO_AU_CLASS);
    for (int a = 0; a < job->n_au_c && *has_c; a++) {
        char col[AUH_STORE_AU_NAME_MAX + 4];
        snprintf(col, sizeof(col), "%s_c", job->au_c_names[a]);
        int c = auh_of_csv_column(csv, col);
        if (c < 0)
            *has_c = 0;
        else
            au_c[a] = auh_of_csv_get(csv, row, c);
    }
}

static AuStatus init_from_layout(AuhJob *job, const AuhJobInfo *base, const AuhOfCsv *csv, AuError *err)
{
    AuNames names;
    names_of(&csv->layout, &names);
    AuhJobInfo info = *base;
    info.n_landmarks = csv->col_x0 >= 0 && csv->col_y0 >= 0 ? csv->layout.n_landmarks : 0;
    info.n_au_r = csv->layout.n_au_reg;
    info.n_au_c = csv->layout.n_au_class;
    info.au_r_names = names.r;
    info.au_c_names = names.c;
    return auh_job_init(job, &info, err);
}

typedef struct RowBuffers {
    float *lmk;
    double au_r[AUH_OF_MAX_AUS], au_c[AUH_OF_MAX_AUS];
} RowBuffers;

static AuStatus video_frames(AuhJob *job, const AuhJobInfo *base, const char *csv_path, int64_t max_frames,
                             AuError *err)
{
    AuhOfCsv csv;
    AuStatus st = auh_of_csv_read(&csv, csv_path, err);
    if (st)
        return st;
    RowBuffers b = {0};
    if ((st = init_from_layout(job, base, &csv, err)))
        goto done;
    if (!(b.lmk = calloc(2 * (size_t)job->n_landmarks + 1, sizeof(float)))) {
        st = au_error_set(err, AU_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t r = 0; r < csv.n_rows; r++) {
        int frame = auh_of_csv_frame(&csv, r);
        if (frame < 1) {
            st = au_error_set(err, AU_ERR_FORMAT, "%s: row %zu: no frame number (not a FeatureExtraction CSV)",
                              csv_path, r + 2);
            goto done;
        }
        if (max_frames > 0 && frame > max_frames)
            break;
        int has_lmk, has_r, has_c;
        row_values(&csv, r, job, b.lmk, b.au_r, b.au_c, &has_lmk, &has_r, &has_c);
        AuhFrameRecord rec = {frame,
                              0,
                              NULL,
                              auh_of_csv_timestamp(&csv, r),
                              csv.col_success < 0 || auh_of_csv_success(&csv, r) == 1,
                              auh_of_csv_confidence(&csv, r),
                              has_lmk ? b.lmk : NULL,
                              has_r ? b.au_r : NULL,
                              has_c ? b.au_c : NULL};
        if ((st = auh_job_add_frame(job, &rec, err)))
            goto done;
    }
done:
    free(b.lmk);
    auh_of_csv_free(&csv);
    return st;
}

static AuStatus image_frames(AuhJob *job, const AuhJobInfo *base, const AuhManifestItem *item,
                             const AuhItemLabels *labels, int64_t max_frames, AuError *err)
{
    size_t n = item->n_images;
    if (max_frames > 0 && (size_t)max_frames < n)
        n = (size_t)max_frames;
    AuStatus st = AU_OK;
    /* The job's columns are those of the first CSV. */
    AuhOfCsv csv;
    int have_layout = 0;
    for (size_t i = 0; i < n && !have_layout; i++) {
        if (!item->images[i].openface)
            continue;
        if ((st = auh_of_csv_read(&csv, item->images[i].openface, err)))
            return st;
        st = init_from_layout(job, base, &csv, err);
        auh_of_csv_free(&csv);
        if (st)
            return st;
        have_layout = 1;
    }
    if (!have_layout && (st = auh_job_init(job, base, err)))
        return st;
    RowBuffers b = {0};
    float **faces = NULL;
    size_t cap_faces = 0;
    if (!(b.lmk = calloc(2 * (size_t)job->n_landmarks + 1, sizeof(float))))
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !st; i++) {
        const AuhImageEntry *e = &item->images[i];
        AuhFrameRecord rec = {(int)i + 1, 0, e->name, NAN, 0, 0.0, NULL, NULL, NULL};
        if (!e->openface) {
            st = auh_job_add_frame(job, &rec, err);
            continue;
        }
        if ((st = auh_of_csv_read(&csv, e->openface, err)))
            break;
        int n_faces = (int)csv.n_rows;
        if (n_faces > 0 && job->n_landmarks > 0 && csv.col_x0 >= 0 && csv.layout.n_landmarks == job->n_landmarks) {
            if ((size_t)n_faces > cap_faces) {
                float **nf = realloc(faces, (size_t)n_faces * sizeof(*nf));
                if (!nf) {
                    st = au_error_set(err, AU_ERR_NOMEM, "out of memory");
                    auh_of_csv_free(&csv);
                    break;
                }
                faces = nf;
                for (size_t k = cap_faces; k < (size_t)n_faces; k++)
                    faces[k] = NULL;
                cap_faces = (size_t)n_faces;
            }
            for (int f = 0; f < n_faces && !st; f++) {
                if (!faces[f] && !(faces[f] = malloc(2 * (size_t)job->n_landmarks * sizeof(float))))
                    st = au_error_set(err, AU_ERR_NOMEM, "out of memory");
                else
                    for (int k = 0; k < job->n_landmarks; k++) {
                        faces[f][k] = (float)auh_of_csv_landmark_x(&csv, (size_t)f, k);
                        faces[f][job->n_landmarks + k] = (float)auh_of_csv_landmark_y(&csv, (size_t)f, k);
                    }
            }
        }
        if (!st && n_faces > 0) {
            const double *label = i < labels->n && labels->success[i] ? labels->lmk + i * 2 * (size_t)labels->n_points
                                                                       : NULL;
            int pick = faces && cap_faces >= (size_t)n_faces
                           ? auh_pick_face((const float *const *)faces, n_faces, job->n_landmarks, label,
                                           labels->n_points)
                           : 0;
            int has_lmk, has_r, has_c;
            row_values(&csv, (size_t)pick, job, b.lmk, b.au_r, b.au_c, &has_lmk, &has_r, &has_c);
            rec.success = 1;
            rec.confidence = auh_of_csv_confidence(&csv, (size_t)pick);
            rec.landmarks = has_lmk ? b.lmk : NULL;
            rec.au_r = has_r ? b.au_r : NULL;
            rec.au_c = has_c ? b.au_c : NULL;
        }
        auh_of_csv_free(&csv);
        if (!st)
            st = auh_job_add_frame(job, &rec, err);
    }
    for (size_t k = 0; k < cap_faces; k++)
        free(faces[k]);
    free(faces);
    free(b.lmk);
    return st;
}

/* ---- running FeatureExtraction ---- */

static void child_exec(const char *binary, const char *video, const char *out_dir, int out_fd)
{
    /* Runs from the binary's folder: OpenFace finds model/ there. */
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", binary);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        if (chdir(dir[0] ? dir : "/") != 0)
            _exit(126);
    }
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    if (out_fd > STDERR_FILENO)
        close(out_fd);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("OPENCV_FOR_THREADS_NUM", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    /* One CPU, as the reference's single-threaded figures (taskset -c 0):
     * FeatureExtraction has no thread-count switch, and OpenFace's own TBB
     * loops (the patch experts' responses) take the other cores otherwise
     * (136 % CPU unpinned), from the job running beside it. */
    const int cpu = sched_getcpu();
    if (cpu >= 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        (void)sched_setaffinity(0, sizeof(one), &one);
    }
    char *const argv[] = {(char *)binary, "-f", (char *)video, "-out_dir", (char *)out_dir,
                          "-mloc", "model/main_clnf_general.txt", "-2Dfp", "-3Dfp", "-pdmparams",
                          "-pose", "-aus", "-gaze", NULL};
    execv(binary, argv);
    _exit(127);
}

AuStatus auh_openface_run_binary(const char *binary, const char *video, const char *out_dir, char **csv,
                                 double *loop_s, AuError *err)
{
    *csv = NULL;
    char abs_bin[4096];
    if (!realpath(binary, abs_bin))
        return au_error_set(err, AU_ERR_IO, "--openface '%s': %s", binary, strerror(errno));
    int fds[2];
    if (pipe(fds) != 0)
        return au_error_set(err, AU_ERR_IO, "pipe: %s", strerror(errno));
    int64_t t_begin = auh_monotonic_ns(), t_start = -1, t_close = -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return au_error_set(err, AU_ERR_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        child_exec(abs_bin, video, out_dir, fds[1]);
    }
    close(fds[1]);
    /* Timestamps each line as it arrives (OpenFace ends its lines with
     * std::endl, which flushes). The last line is kept for messages. */
    char line[1024], last[1024] = "";
    size_t len = 0;
    for (;;) {
        char buf[4096];
        ssize_t got = read(fds[0], buf, sizeof(buf));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        int64_t now = auh_monotonic_ns();
        for (ssize_t i = 0; i < got; i++) {
            if (buf[i] != '\n') {
                if (len + 1 < sizeof(line))
                    line[len++] = buf[i];
                continue;
            }
            line[len] = '\0';
            if (t_start < 0 && strstr(line, "Starting tracking"))
                t_start = now;
            if (strstr(line, "Closing output recorder"))
                t_close = now;
            if (len)
                memcpy(last, line, len + 1);
            len = 0;
        }
    }
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return au_error_set(err, AU_ERR_IO, "waitpid: %s", strerror(errno));
    int64_t t_end = auh_monotonic_ns();
    if (WIFSIGNALED(status))
        return au_error_set(err, AU_ERR_IO, "%s: killed by signal %d on %s (last output: %s)", binary,
                            WTERMSIG(status), video, last);
    if (WEXITSTATUS(status) == 127)
        return au_error_set(err, AU_ERR_IO, "%s: cannot be executed", binary);
    if (WEXITSTATUS(status) != 0)
        return au_error_set(err, AU_ERR_IO, "%s: exited with status %d on %s (last output: %s)", binary,
                            WEXITSTATUS(status), video, last);
    *loop_s = 1e-9 * (double)(t_start >= 0 && t_close > t_start ? t_close - t_start : t_end - t_begin);
    /* FeatureExtraction names its CSV after the input's stem. */
    const char *b = base_name(video);
    const char *dot = strrchr(b, '.');
    size_t stem = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    size_t n = strlen(out_dir) + stem + 8;
    if (!(*csv = malloc(n)))
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    snprintf(*csv, n, "%s/%.*s.csv", out_dir, (int)stem, b);
    return AU_OK;
}

/* Removes FeatureExtraction's output folder: its files (the CSV,
 * NAME_of_details.txt), its subfolders' files one level down, then the folders. */
static void remove_output_dir(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[4400];
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            if (remove(p) != 0 && depth < 2)
                remove_output_dir(p, depth + 1);
        }
        closedir(d);
    }
    rmdir(dir);
}

AuStatus auh_openface_job_build(AuhJob *job, const AuhOpenfaceConfig *cfg, const AuhManifest *dataset,
                                const AuhManifestItem *item, const AuhItemLabels *labels, int64_t max_frames,
                                double *fps, AuError *err)
{
    memset(job, 0, sizeof(*job));
    *fps = auh_openface_fps_for(cfg, item);
    AuhJobInfo base = {AUH_VARIANT_OPENFACE, dataset->name, item->id, auh_item_kind_name(item->kind), item->rel,
                       item->labels_rel, NULL, NULL, 0, 0, 0, NULL, NULL};
    if (item->kind == AUH_ITEM_IMAGES)
        return image_frames(job, &base, item, labels, max_frames, err);
    if (!cfg->binary) {
        if (!item->openface)
            return au_error_set(err, AU_ERR_ARG, "%s: item %s has no openface= output", dataset->source, item->id);
        return video_frames(job, &base, item->openface, max_frames, err);
    }
    char tmpl[] = "/tmp/auharness-openface-XXXXXX";
    if (!mkdtemp(tmpl))
        return au_error_set(err, AU_ERR_IO, "cannot create a temporary folder: %s", strerror(errno));
    char *csv = NULL;
    double loop_s = 0;
    AuStatus st = auh_openface_run_binary(cfg->binary, item->path, tmpl, &csv, &loop_s, err);
    if (!st)
        st = video_frames(job, &base, csv, max_frames, err);
    if (!st && loop_s > 0) {
        /* The binary ran the whole video; FPS is over all its frames. */
        AuhOfCsv all;
        if (!auh_of_csv_read(&all, csv, NULL)) {
            *fps = (double)all.n_rows / loop_s;
            auh_of_csv_free(&all);
        }
    }
    remove_output_dir(tmpl, 0);
    free(csv);
    return st;
}
