/* extract: OpenFace-compatible output for one variant.
 *
 * Inputs:
 *   -f FILE    a video (FeatureExtraction: one CSV for the video) or a still
 *              image (FaceLandmarkImg: one CSV for the image, one row per
 *              face); a folder given with -f is read as one image sequence,
 *              as FeatureExtraction -fdir does;
 *   -fdir DIR  every .jpg, .jpeg, .png and .bmp file of DIR, sorted by name,
 *              each a still image (FaceLandmarkImg -fdir).
 * Each CSV is named for its input's stem in -out_dir.
 *
 * Columns follow OpenFace's output flags (RecorderOpenFaceParameters):
 * -2Dfp, -3Dfp, -pdmparams, -pose, -aus, -gaze select column groups; with
 * none of them every group is written, as OpenFace does. OpenFace's other
 * outputs (-hogalign, -simalign, -tracked) are not produced.
 *
 * Videos: rows are streamed to a temporary file as frames are processed
 * (online AU values, as OpenFace's recorder does), and at the end the AU
 * columns are rewritten with the offline post-processed values (OpenFace's
 * PostprocessOutputFile), so memory does not grow with the video beyond the
 * per-frame AU values post-processing needs.
 *
 * Images: FaceLandmarkImg's "face,confidence" files with its number formats
 * (confidence 3 decimals, AU presences 1 decimal, no post-processing). An
 * image in which no face is found gets no CSV, as FaceLandmarkImg (it opens
 * the file at the first face).
 *
 * Every pipeline call goes through the chosen variant's table (variant.h).
 * An input that cannot be read (not a video or image, unreadable, an empty
 * folder) fails on its own with a message naming it; the other inputs are
 * still processed and the exit status is 1 at the end. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "au/au_variant.h"
#include "commands.h"
#include "data_dir.h"
#include "openface_csv.h"
#include "sysinfo.h"
#include "variant.h"
#include "video.h"

#define EXTRACT_MAX_INPUTS 256

typedef struct ExtractInput {
    const char *path;
    int is_fdir; /* -fdir: a folder of still images */
} ExtractInput;

/* RecorderOpenFaceParameters' CSV groups. */
typedef struct OutputFlags {
    int lmk2d, lmk3d, pdm, pose, aus, gaze;
} OutputFlags;

typedef struct ExtractOptions {
    ExtractInput inputs[EXTRACT_MAX_INPUTS];
    int n_inputs;
    const char *out_dir;
    char models[1024];
    const char *variant;
    OutputFlags out;
    int au_static;         /* -au_static: static AU models for videos */
    double fx, fy, cx, cy; /* -fx -fy -cx -cy; 0 = OpenFace's rule from the frame size */
} ExtractOptions;

/* State shared by the inputs of one run. */
typedef struct ExtractRun {
    const ExtractOptions *o;
    const AuVariantApi *api;
    const AuModelSet *models;
    AuTracker *image_tracker; /* one for every still image, as FaceLandmarkImg keeps one model */
    int tty;
    int n_jobs, job; /* inputs after expanding -fdir, and the current one (1-based) */
    int64_t images, image_faces, images_no_face;
    int64_t image_ns;
} ExtractRun;

static const char USAGE[] =
    "usage: auharness extract (-f INPUT | -fdir DIR)... -out_dir DIR [--variant NAME] [--models DIR]\n"
    "                         [-2Dfp] [-3Dfp] [-pdmparams] [-pose] [-aus] [-gaze] [-au_static]\n"
    "                         [-fx F -fy F] [-cx C -cy C]\n"
    "  -f INPUT   a video or an image (a folder: one image sequence); -fdir DIR: each image of DIR\n"
    "  output flags as OpenFace's; none = every CSV column group\n";

/* Seconds on the monotonic clock. */
static double now_s(void)
{
    return 1e-9 * (double)auh_monotonic_ns();
}

/* "dir/name.avi" -> "name" (OpenFace names the CSV after the input's stem). */
static void input_stem(const char *path, char *out, size_t n)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    size_t end = len;
    for (size_t i = len; i > start; i--)
        if (path[i - 1] == '.') {
            end = i - 1;
            break;
        }
    if (end == start)
        end = len;
    size_t k = end - start < n - 1 ? end - start : n - 1;
    memcpy(out, path + start, k);
    out[k] = '\0';
}

/* Prints "extract: MSG", prefixed with the input's path unless the message
 * already names it. */
static void report_error(const char *path, const char *msg)
{
    if (strstr(msg, path))
        fprintf(stderr, "extract: %s\n", msg);
    else
        fprintf(stderr, "extract: %s: %s\n", path, msg);
}

static void progress(const char *name, int64_t frame, int64_t total, double fps, int tty)
{
    if (tty) {
        double eta = fps > 0 && total > frame ? (double)(total - frame) / fps : 0;
        fprintf(stderr, "\r%s: frame %lld/%lld  %.1f fps  ETA %.0f s   ", name, (long long)frame, (long long)total, fps,
                eta);
    } else if (frame % 100 == 0) {
        fprintf(stderr, "%s: frame %lld/%lld %.1f fps\n", name, (long long)frame, (long long)total, fps);
    }
}

/* The CSV layout for the output flags, with the tracker's AU names (in its
 * alphabetical CSV order). */
static AuStatus make_layout(AuhOfCsvLayout *l, const ExtractRun *run, const AuTracker *t, int is_sequence,
                            AuError *err)
{
    const OutputFlags *f = &run->o->out;
    memset(l, 0, sizeof(*l));
    l->is_sequence = is_sequence;
    l->has_gaze = f->gaze;
    l->n_eye_landmarks = AU_N_EYE_LANDMARKS;
    l->has_pose = f->pose;
    l->has_landmarks_2d = f->lmk2d;
    l->has_landmarks_3d = f->lmk3d;
    l->n_landmarks = AU_N_LANDMARKS;
    l->has_pdm_params = f->pdm;
    l->n_pdm_modes = AU_N_PDM_MODES;
    l->au_postprocessed = 0;
    if (!f->aus)
        return AU_OK;
    AuStatus st;
    const char *name;
    for (int i = 0; i < AU_N_AU_REG && (name = run->api->tracker_au_reg_name(t, i)) != NULL; i++)
        if ((st = auh_of_layout_add_au(l, name, 0, err)))
            return st;
    for (int i = 0; i < AU_N_AU_CLASS && (name = run->api->tracker_au_class_name(t, i)) != NULL; i++)
        if ((st = auh_of_layout_add_au(l, name, 1, err)))
            return st;
    return AU_OK;
}

static void fill_row(AuhOfFrame *row, const AuFrameResult *r)
{
    memset(row, 0, sizeof(*row));
    row->confidence = r->confidence;
    memcpy(row->gaze_dir0, r->gaze_dir0, sizeof(row->gaze_dir0));
    memcpy(row->gaze_dir1, r->gaze_dir1, sizeof(row->gaze_dir1));
    memcpy(row->gaze_angle, r->gaze_angle, sizeof(row->gaze_angle));
    row->eye_lmk_2d = r->eye_landmarks;
    row->eye_lmk_3d = r->eye_landmarks_3d;
    memcpy(row->pose, r->pose, sizeof(row->pose));
    row->landmarks_2d = r->landmarks;
    row->landmarks_3d = r->landmarks_3d;
    memcpy(row->params_rigid, r->params_global, sizeof(row->params_rigid));
    row->params_local = r->params_local;
    row->au_reg = r->au_reg;
    row->au_class = r->au_class;
}

static void tracker_options(const ExtractOptions *o, int static_aus, AuTrackerOptions *topts,
                            const AuVariantApi *api)
{
    api->tracker_options_default(topts);
    topts->fx = o->fx;
    topts->fy = o->fy;
    topts->cx = o->cx;
    topts->cy = o->cy;
    topts->static_aus = static_aus;
}

/* Rewrites the AU columns (the last n_au_fields fields of every row) of tmp_path into
 * out_path with the final values at 2 decimals, other fields copied as text
 * (what PostprocessOutputFile does). */
static AuStatus rewrite_aus(const char *tmp_path, const char *out_path, const AuVariantApi *api, const AuTracker *t,
                            const AuhOfCsvLayout *layout, AuError *err)
{
    FILE *in = fopen(tmp_path, "r");
    if (!in)
        return au_error_set(err, AU_ERR_IO, "%s: cannot reopen: %s", tmp_path, strerror(errno));
    FILE *out = fopen(out_path, "w");
    if (!out) {
        fclose(in);
        return au_error_set(err, AU_ERR_IO, "%s: cannot write: %s", out_path, strerror(errno));
    }
    int n_au_fields = layout->n_au_reg + layout->n_au_class;
    AuStatus st = AU_OK;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    size_t row = 0;
    int header = 1;
    while ((len = getline(&line, &cap, in)) > 0) {
        if (header) {
            fputs(line, out);
            header = 0;
            continue;
        }
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        /* cut the last n_au_fields fields */
        ssize_t cut = len;
        for (int k = 0; k < n_au_fields && cut > 0; k++) {
            cut--;
            while (cut > 0 && line[cut] != ',')
                cut--;
        }
        double reg[AU_N_AU_REG], cls[AU_N_AU_CLASS];
        if ((st = api->tracker_final_aus(t, row, reg, cls, err)))
            break;
        fwrite(line, 1, (size_t)cut, out);
        for (int i = 0; i < layout->n_au_reg; i++)
            fprintf(out, ",%.2f", reg[i]);
        for (int i = 0; i < layout->n_au_class; i++)
            fprintf(out, ",%.2f", cls[i]);
        fputc('\n', out);
        row++;
    }
    free(line);
    fclose(in);
    if (fclose(out) != 0 && !st)
        st = au_error_set(err, AU_ERR_IO, "%s: write error: %s", out_path, strerror(errno));
    return st;
}

/* The CSV's final path, out_dir/<stem>.csv, and the temporary file it is
 * written to first (unique to this process, in the same folder so that the
 * final rename is atomic: a crash never leaves a truncated CSV under the real
 * name, and two extracts into one folder never share a temporary file). A path
 * that does not fit is an error, never a silently shortened name. */
static int output_paths(const ExtractRun *run, const char *input, const char *stem, char *out_path, size_t n_out,
                        char *tmp_path, size_t n_tmp)
{
    /* the temporary name does not repeat the stem: a stem near the file-name
     * limit must still get its CSV */
    int a = snprintf(out_path, n_out, "%s/%s.csv", run->o->out_dir, stem);
    int b = snprintf(tmp_path, n_tmp, "%s/.auharness-extract.%ld.%d.part", run->o->out_dir, (long)getpid(), run->job);
    if (a < 0 || (size_t)a >= n_out || b < 0 || (size_t)b >= n_tmp) {
        report_error(input, "output path too long (shorten -out_dir)");
        return 1;
    }
    remove(tmp_path); /* a stale file of an earlier process with our pid, or a planted link */
    return 0;
}

/* FeatureExtraction on one video (or image sequence), opened as v. */
static int extract_video(ExtractRun *run, const char *input, AuVideo *v)
{
    const ExtractOptions *o = run->o;
    const AuVariantApi *api = run->api;
    AuError err = {0};
    char stem[256], out_path[2048], tmp_path[2100], aus_path[2200];
    input_stem(input, stem, sizeof(stem));
    if (output_paths(run, input, stem, out_path, sizeof(out_path), tmp_path, sizeof(tmp_path)))
        return 1;
    snprintf(aus_path, sizeof(aus_path), "%s.aus", tmp_path); /* fits: aus_path is larger by more than 4 */
    remove(aus_path);

    AuTracker *t = NULL;
    AuTrackerOptions topts;
    tracker_options(o, o->au_static, &topts, api);
    if (api->tracker_create(&t, run->models, &topts, &err)) {
        report_error(input, err.msg);
        return 1;
    }
    AuhOfCsvLayout layout;
    AuhOfCsvWriter w;
    memset(&w, 0, sizeof(w));
    if (make_layout(&layout, run, t, 1, &err) || auh_of_writer_open(&w, tmp_path, &layout, &err)) {
        report_error(input, err.msg);
        api->tracker_free(t);
        return 1;
    }
    int rc = 0;
    AuFrame f = {0};
    AuFrameResult r;
    AuStatus st;
    double t0 = now_s();
    int64_t total = au_video_frame_count(v), n = 0;
    while ((st = au_video_read(v, &f, &err)) == AU_OK) {
        AuInputFrame in = {f.bgr.width, f.bgr.height, f.bgr.data, f.bgr.stride, f.gray.data, f.gray.stride,
                           f.frame_number, f.timestamp};
        if ((st = api->tracker_process(t, &in, &r, &err)))
            break;
        AuhOfFrame row;
        fill_row(&row, &r);
        row.frame = (int)r.frame_number + 1;
        row.face_id = 0;
        row.timestamp = r.timestamp;
        row.success = r.success;
        if ((st = auh_of_writer_write_frame(&w, &row, &err)))
            break;
        n++;
        double dt = now_s() - t0;
        progress(stem, n, total, dt > 0 ? (double)n / dt : 0, run->tty);
    }
    if (run->tty)
        fputc('\n', stderr);
    if (au_video_decode_errors(v))
        fprintf(stderr, "extract: %s: %lld unreadable frames skipped (last: %s)\n", input,
                (long long)au_video_decode_errors(v), au_video_last_decode_error(v));
    AuError cerr = {0};
    AuStatus cst = auh_of_writer_close(&w, &cerr);
    if (st != AU_ERR_EOF) {
        report_error(input, err.msg);
        rc = 1;
    } else if (cst) {
        report_error(input, cerr.msg);
        rc = 1;
    } else if (api->tracker_finish(t, &err)) {
        report_error(input, err.msg);
        rc = 1;
    } else if (layout.n_au_reg + layout.n_au_class > 0) {
        if (rewrite_aus(tmp_path, aus_path, api, t, &layout, &err)) {
            report_error(input, err.msg);
            rc = 1;
        } else if (rename(aus_path, out_path) != 0) {
            fprintf(stderr, "extract: %s: cannot rename to %s: %s\n", aus_path, out_path, strerror(errno));
            rc = 1;
        }
    } else if (rename(tmp_path, out_path) != 0) {
        fprintf(stderr, "extract: %s: cannot rename to %s: %s\n", tmp_path, out_path, strerror(errno));
        rc = 1;
    }
    if (!rc) {
        double dt = now_s() - t0;
        printf("%s: %lld frames in %.2f s (%.1f fps) -> %s\n", input, (long long)n, dt, dt > 0 ? (double)n / dt : 0,
               out_path);
    }
    remove(tmp_path);
    remove(aus_path);
    au_frame_free(&f);
    api->tracker_free(t);
    return rc;
}

static void image_progress(const ExtractRun *run, const char *stem, int n_faces, int last)
{
    double s = 1e-9 * (double)run->image_ns;
    double rate = s > 0 ? (double)run->images / s : 0;
    if (run->tty)
        fprintf(stderr, "\r[%d/%d] %s: %d face%s  %.1f images/s   ", run->job, run->n_jobs, stem, n_faces,
                n_faces == 1 ? "" : "s", rate);
    else if (run->images % 25 == 0 || last)
        fprintf(stderr, "[%d/%d] %lld images, %lld faces, %.1f images/s\n", run->job, run->n_jobs,
                (long long)run->images, (long long)run->image_faces, rate);
}

/* FaceLandmarkImg on one image, opened as v. */
static int extract_image(ExtractRun *run, const char *input, AuVideo *v)
{
    const ExtractOptions *o = run->o;
    const AuVariantApi *api = run->api;
    AuError err = {0};
    if (!run->image_tracker) {
        AuTrackerOptions topts;
        tracker_options(o, 1, &topts, api);
        if (api->tracker_create(&run->image_tracker, run->models, &topts, &err)) {
            report_error(input, err.msg);
            return 1;
        }
    }
    AuTracker *t = run->image_tracker;
    char stem[256], out_path[2048], tmp_path[2100];
    input_stem(input, stem, sizeof(stem));
    if (output_paths(run, input, stem, out_path, sizeof(out_path), tmp_path, sizeof(tmp_path)))
        return 1;

    AuFrame f = {0};
    int64_t t0 = auh_monotonic_ns();
    AuStatus st = au_video_read(v, &f, &err);
    if (st) {
        /* a single image that does not decode */
        report_error(input, st == AU_ERR_EOF ? "no picture in the file" : err.msg);
        au_frame_free(&f);
        return 1;
    }
    AuInputFrame in = {f.bgr.width, f.bgr.height, f.bgr.data, f.bgr.stride, f.gray.data, f.gray.stride, 0, 0};
    const AuFrameResult *faces = NULL;
    int n_faces = 0;
    st = api->tracker_process_image(t, &in, &faces, &n_faces, &err);
    au_frame_free(&f);
    if (st) {
        report_error(input, err.msg);
        return 1;
    }
    int rc = 0;
    if (n_faces > 0) {
        AuhOfCsvLayout layout;
        AuhOfCsvWriter w;
        memset(&w, 0, sizeof(w));
        if ((st = make_layout(&layout, run, t, 0, &err)) || (st = auh_of_writer_open(&w, tmp_path, &layout, &err))) {
            report_error(input, err.msg);
            return 1;
        }
        for (int i = 0; i < n_faces && !st; i++) {
            AuhOfFrame row;
            fill_row(&row, &faces[i]);
            row.face_id = i;
            st = auh_of_writer_write_frame(&w, &row, &err);
        }
        AuError cerr = {0};
        AuStatus cst = auh_of_writer_close(&w, &cerr);
        if (st || cst) {
            report_error(input, st ? err.msg : cerr.msg);
            remove(tmp_path);
            rc = 1;
        } else if (rename(tmp_path, out_path) != 0) {
            fprintf(stderr, "extract: %s: cannot rename to %s: %s\n", tmp_path, out_path, strerror(errno));
            remove(tmp_path);
            rc = 1;
        }
    } else {
        run->images_no_face++;
        if (run->tty)
            fputc('\n', stderr);
        fprintf(stderr, "extract: %s: no face detected (no CSV, as FaceLandmarkImg)\n", input);
    }
    run->image_ns += auh_monotonic_ns() - t0;
    if (!rc) {
        run->images++;
        run->image_faces += n_faces;
    }
    image_progress(run, stem, n_faces, run->job == run->n_jobs);
    return rc;
}

/* One -f input: a video, a folder read as a sequence, or a still image. */
static int extract_input(ExtractRun *run, const char *path, int must_be_image)
{
    AuError err = {0};
    AuVideo *v = NULL;
    if (au_video_open(&v, path, &err)) {
        report_error(path, err.msg);
        return 1;
    }
    int rc;
    if (au_video_kind(v) == AU_VIDEO_IMAGE) {
        rc = extract_image(run, path, v);
    } else if (must_be_image) {
        fprintf(stderr, "extract: %s: not a still image\n", path);
        rc = 1;
    } else {
        if (run->tty && run->images)
            fputc('\n', stderr);
        rc = extract_video(run, path, v);
    }
    au_video_close(v);
    return rc;
}

static int has_image_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcmp(dot, ".jpg") || !strcmp(dot, ".jpeg") || !strcmp(dot, ".png") || !strcmp(dot, ".bmp"));
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ImageCapture::OpenDirectory: the entries of dir whose extension is .jpg,
 * .jpeg, .png or .bmp (as written), sorted by name. *files (malloc'd paths)
 * must be freed by the caller. */
static AuStatus list_image_folder(const char *dir, char ***files, int *n, AuError *err)
{
    *files = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return au_error_set(err, AU_ERR_IO, "%s: cannot read folder: %s", dir, strerror(errno));
    char **list = NULL;
    int count = 0, cap = 0;
    AuStatus st = AU_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!has_image_extension(e->d_name))
            continue;
        if (count == cap) {
            int nc = cap ? 2 * cap : 64;
            char **nl = realloc(list, sizeof(*nl) * (size_t)nc);
            if (!nl) {
                st = au_error_set(err, AU_ERR_NOMEM, "%s: out of memory listing images", dir);
                break;
            }
            list = nl;
            cap = nc;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            st = au_error_set(err, AU_ERR_NOMEM, "%s: out of memory listing images", dir);
            break;
        }
        snprintf(p, len, "%s/%s", dir, e->d_name);
        list[count++] = p;
    }
    closedir(d);
    if (!st && count == 0)
        st = au_error_set(err, AU_ERR_FORMAT, "%s: no .jpg, .jpeg, .png or .bmp images in folder", dir);
    if (st) {
        for (int i = 0; i < count; i++)
            free(list[i]);
        free(list);
        return st;
    }
    qsort(list, (size_t)count, sizeof(*list), cmp_path);
    *files = list;
    *n = count;
    return AU_OK;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

/* Returns -1 when the arguments are valid, else the exit status. */
static int parse_args(ExtractOptions *o, int argc, char **argv)
{
    int any_flag = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if ((!strcmp(a, "-f") || !strcmp(a, "-fdir")) && has_val) {
            if (o->n_inputs == EXTRACT_MAX_INPUTS) {
                fprintf(stderr, "extract: too many inputs (at most %d; use -fdir for image folders)\n",
                        EXTRACT_MAX_INPUTS);
                return 2;
            }
            o->inputs[o->n_inputs].is_fdir = !strcmp(a, "-fdir");
            o->inputs[o->n_inputs++].path = argv[++i];
        } else if (!strcmp(a, "-out_dir") && has_val) {
            o->out_dir = argv[++i];
        } else if ((!strcmp(a, "--models") || !strcmp(a, "-mloc")) && has_val) {
            snprintf(o->models, sizeof(o->models), "%s", argv[++i]);
        } else if (!strcmp(a, "--variant") && has_val) {
            o->variant = argv[++i];
        } else if ((!strcmp(a, "-fx") || !strcmp(a, "-fy") || !strcmp(a, "-cx") || !strcmp(a, "-cy")) && has_val) {
            double *dst = a[1] == 'f' ? (a[2] == 'x' ? &o->fx : &o->fy) : (a[2] == 'x' ? &o->cx : &o->cy);
            if (parse_double(argv[++i], dst) || *dst <= 0) {
                fprintf(stderr, "extract: %s needs a positive number, not '%s'\n", a, argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "-2Dfp")) {
            o->out.lmk2d = any_flag = 1;
        } else if (!strcmp(a, "-3Dfp")) {
            o->out.lmk3d = any_flag = 1;
        } else if (!strcmp(a, "-pdmparams")) {
            o->out.pdm = any_flag = 1;
        } else if (!strcmp(a, "-pose")) {
            o->out.pose = any_flag = 1;
        } else if (!strcmp(a, "-aus")) {
            o->out.aus = any_flag = 1;
        } else if (!strcmp(a, "-gaze")) {
            o->out.gaze = any_flag = 1;
        } else if (!strcmp(a, "-au_static")) {
            o->au_static = 1;
        } else if (!strcmp(a, "-hogalign") || !strcmp(a, "-simalign") || !strcmp(a, "-tracked")) {
            fprintf(stderr, "extract: %s is not supported (auharness writes the CSV only)\n", a);
            return 2;
        } else {
            fprintf(stderr, "extract: unknown option or missing value: '%s'\n%s", a, USAGE);
            return 2;
        }
    }
    if (!o->n_inputs || !o->out_dir) {
        fprintf(stderr, "%s", USAGE);
        return 2;
    }
    if ((o->fx > 0) != (o->fy > 0) || (o->cx > 0) != (o->cy > 0)) {
        fprintf(stderr, "extract: give -fx with -fy and -cx with -cy\n");
        return 2;
    }
    if (!any_flag)
        o->out = (OutputFlags){1, 1, 1, 1, 1, 1};
    return -1;
}

int auh_cmd_extract(int argc, char **argv)
{
    ExtractOptions o;
    memset(&o, 0, sizeof(o));
    auh_default_models_dir(o.models, sizeof(o.models));
    int rc = parse_args(&o, argc, argv);
    if (rc >= 0)
        return rc;
    AuError err = {0};
    AuhVariant variant;
    if (auh_variant_open(&variant, o.variant ? o.variant : "baseline", &err)) {
        fprintf(stderr, "extract: %s\n", err.msg);
        auh_variant_close(&variant);
        return 2;
    }
    if (mkdir(o.out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "extract: cannot create %s: %s\n", o.out_dir, strerror(errno));
        auh_variant_close(&variant);
        return 1;
    }
    ExtractRun run;
    memset(&run, 0, sizeof(run));
    run.o = &o;
    run.api = variant.api;
    run.tty = isatty(STDERR_FILENO);
    AuModelSet *models = NULL;
    if (run.api->model_set_load(&models, o.models, &err)) {
        fprintf(stderr, "extract: %s\n", err.msg);
        auh_variant_close(&variant);
        return 1;
    }
    run.models = models;

    /* Expand the -fdir folders first so the progress knows the job count. */
    char **lists[EXTRACT_MAX_INPUTS] = {0};
    int list_n[EXTRACT_MAX_INPUTS] = {0};
    int failed = 0, attempted = 0;
    for (int i = 0; i < o.n_inputs; i++) {
        if (!o.inputs[i].is_fdir) {
            run.n_jobs++;
        } else if (list_image_folder(o.inputs[i].path, &lists[i], &list_n[i], &err)) {
            fprintf(stderr, "extract: %s\n", err.msg);
            failed++;
            attempted++;
        } else {
            run.n_jobs += list_n[i];
        }
    }
    for (int i = 0; i < o.n_inputs; i++) {
        if (!o.inputs[i].is_fdir) {
            run.job++;
            attempted++;
            failed += extract_input(&run, o.inputs[i].path, 0) != 0;
            continue;
        }
        for (int k = 0; k < list_n[i]; k++) {
            run.job++;
            attempted++;
            failed += extract_input(&run, lists[i][k], 1) != 0;
            free(lists[i][k]);
        }
        free(lists[i]);
    }
    if (run.tty && run.images)
        fputc('\n', stderr);
    if (run.images) {
        double s = 1e-9 * (double)run.image_ns;
        printf("%lld images, %lld faces (%lld images without a face) in %.2f s (%.1f ms per image) -> %s\n",
               (long long)run.images, (long long)run.image_faces, (long long)run.images_no_face, s,
               1e3 * s / (double)run.images, o.out_dir);
    }
    run.api->tracker_free(run.image_tracker);
    run.api->model_set_free(models);
    auh_variant_close(&variant);
    if (failed)
        fprintf(stderr, "extract: %d of %d inputs failed\n", failed, attempted);
    return failed ? 1 : 0;
}
