/* extract: OpenFace-compatible output for one variant. For each input (video,
 * image or image folder) one CSV with FeatureExtraction's header, columns and
 * number formats. Rows are streamed to a temporary file as frames are
 * processed (online AU values, as OpenFace's recorder does), and at the end of
 * the input the AU columns are rewritten with the offline post-processed
 * values (OpenFace's PostprocessOutputFile), so memory does not grow with the
 * video beyond the per-frame AU values post-processing needs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "au/au.h"
#include "commands.h"
#include "sysinfo.h"
#include "data_dir.h"
#include "openface_csv.h"
#include "video.h"

typedef struct ExtractOptions {
    const char *inputs[256];
    int n_inputs;
    const char *out_dir;
    char models[1024];
    const char *variant;
} ExtractOptions;

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

/* Rewrites the AU columns (the last n_au fields of every row) of tmp_path into
 * out_path with the final values at 2 decimals, other fields copied as text
 * (what PostprocessOutputFile does). */
static AuStatus rewrite_aus(const char *tmp_path, const char *out_path, const AuTracker *t, int n_au_fields,
                            AuError *err)
{
    FILE *in = fopen(tmp_path, "r");
    if (!in)
        return au_error_set(err, AU_ERR_IO, "%s: cannot reopen: %s", tmp_path, strerror(errno));
    FILE *out = fopen(out_path, "w");
    if (!out) {
        fclose(in);
        return au_error_set(err, AU_ERR_IO, "%s: cannot write: %s", out_path, strerror(errno));
    }
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
        if ((st = au_tracker_final_aus(t, row, reg, cls, err)))
            break;
        fwrite(line, 1, (size_t)cut, out);
        for (int i = 0; i < AU_N_AU_REG; i++)
            fprintf(out, ",%.2f", reg[i]);
        for (int i = 0; i < AU_N_AU_CLASS; i++)
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

static int extract_one(const ExtractOptions *o, const AuModelSet *models, const char *input)
{
    AuError err = {0};
    char stem[256], out_path[2048], tmp_path[2100];
    input_stem(input, stem, sizeof(stem));
    snprintf(out_path, sizeof(out_path), "%s/%s.csv", o->out_dir, stem);
    snprintf(tmp_path, sizeof(tmp_path), "%s.part", out_path);

    AuVideo *v = NULL;
    if (au_video_open(&v, input, &err)) {
        fprintf(stderr, "extract: %s\n", err.msg);
        return 1;
    }
    AuTracker *t = NULL;
    AuTrackerOptions topts;
    au_tracker_options_default(&topts);
    if (au_tracker_create(&t, models, &topts, &err)) {
        fprintf(stderr, "extract: %s\n", err.msg);
        au_video_close(v);
        return 1;
    }
    AuhOfCsvLayout layout;
    auh_of_layout_openface_video(&layout);
    layout.au_postprocessed = 0;
    AuhOfCsvWriter w;
    int rc = 0;
    if (auh_of_writer_open(&w, tmp_path, &layout, &err)) {
        fprintf(stderr, "extract: %s\n", err.msg);
        au_tracker_free(t);
        au_video_close(v);
        return 1;
    }
    int tty = isatty(STDERR_FILENO);
    AuFrame f = {0};
    AuFrameResult r;
    AuStatus st;
    double t0 = now_s();
    int64_t total = au_video_frame_count(v), n = 0;
    while ((st = au_video_read(v, &f, &err)) == AU_OK) {
        AuInputFrame in = {f.bgr.width, f.bgr.height, f.bgr.data, f.bgr.stride, f.gray.data, f.gray.stride,
                           f.frame_number, f.timestamp};
        if ((st = au_tracker_process(t, &in, &r, &err)))
            break;
        AuhOfFrame row = {0};
        row.frame = (int)r.frame_number + 1;
        row.face_id = 0;
        row.timestamp = r.timestamp;
        row.success = r.success;
        row.confidence = r.confidence;
        memcpy(row.gaze_dir0, r.gaze_dir0, sizeof(row.gaze_dir0));
        memcpy(row.gaze_dir1, r.gaze_dir1, sizeof(row.gaze_dir1));
        memcpy(row.gaze_angle, r.gaze_angle, sizeof(row.gaze_angle));
        row.eye_lmk_2d = r.eye_landmarks;
        row.eye_lmk_3d = r.eye_landmarks_3d;
        memcpy(row.pose, r.pose, sizeof(row.pose));
        row.landmarks_2d = r.landmarks;
        row.landmarks_3d = r.landmarks_3d;
        memcpy(row.params_rigid, r.params_global, sizeof(row.params_rigid));
        row.params_local = r.params_local;
        row.au_reg = r.au_reg;
        row.au_class = r.au_class;
        if ((st = auh_of_writer_write_frame(&w, &row, &err)))
            break;
        n++;
        double dt = now_s() - t0;
        progress(stem, n, total, dt > 0 ? (double)n / dt : 0, tty);
    }
    if (tty)
        fputc('\n', stderr);
    if (au_video_decode_errors(v))
        fprintf(stderr, "extract: %s: %lld unreadable frames skipped (last: %s)\n", input,
                (long long)au_video_decode_errors(v), au_video_last_decode_error(v));
    AuError cerr = {0};
    AuStatus cst = auh_of_writer_close(&w, &cerr);
    if (st != AU_ERR_EOF) {
        fprintf(stderr, "extract: %s\n", err.msg);
        rc = 1;
    } else if (cst) {
        fprintf(stderr, "extract: %s\n", cerr.msg);
        rc = 1;
    } else if (au_tracker_finish(t, &err) || rewrite_aus(tmp_path, out_path, t, AU_N_AU_REG + AU_N_AU_CLASS, &err)) {
        fprintf(stderr, "extract: %s\n", err.msg);
        rc = 1;
    } else {
        double dt = now_s() - t0;
        printf("%s: %lld frames in %.2f s (%.1f fps) -> %s\n", input, (long long)n, dt, dt > 0 ? (double)n / dt : 0,
               out_path);
    }
    remove(tmp_path);
    au_frame_free(&f);
    au_tracker_free(t);
    au_video_close(v);
    return rc;
}

int auh_cmd_extract(int argc, char **argv)
{
    ExtractOptions o = {0};
    auh_default_models_dir(o.models, sizeof(o.models));
    o.variant = "baseline";
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-f") || !strcmp(argv[i], "-fdir")) && i + 1 < argc) {
            if (o.n_inputs == (int)(sizeof(o.inputs) / sizeof(o.inputs[0]))) {
                fprintf(stderr, "extract: too many inputs\n");
                return 2;
            }
            o.inputs[o.n_inputs++] = argv[++i];
        } else if (!strcmp(argv[i], "-out_dir") && i + 1 < argc) {
            o.out_dir = argv[++i];
        } else if ((!strcmp(argv[i], "--models") || !strcmp(argv[i], "-mloc")) && i + 1 < argc) {
            snprintf(o.models, sizeof(o.models), "%s", argv[++i]);
        } else if (!strcmp(argv[i], "--variant") && i + 1 < argc) {
            o.variant = argv[++i];
        } else {
            fprintf(stderr, "extract: unknown option '%s'\n"
                            "usage: auharness extract -f INPUT... -out_dir DIR [--variant NAME] [--models DIR]\n",
                    argv[i]);
            return 2;
        }
    }
    if (!o.n_inputs || !o.out_dir) {
        fprintf(stderr, "usage: auharness extract -f INPUT... -out_dir DIR [--variant NAME] [--models DIR]\n");
        return 2;
    }
    if (strcmp(o.variant, "baseline") != 0) {
        fprintf(stderr, "extract: unknown variant '%s' (built: baseline)\n", o.variant);
        return 2;
    }
    if (mkdir(o.out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "extract: cannot create %s: %s\n", o.out_dir, strerror(errno));
        return 1;
    }
    AuError err = {0};
    AuModelSet *models = NULL;
    if (au_model_set_load(&models, o.models, &err)) {
        fprintf(stderr, "extract: %s\n", err.msg);
        return 1;
    }
    int failed = 0;
    for (int i = 0; i < o.n_inputs; i++)
        failed += extract_one(&o, models, o.inputs[i]) != 0;
    au_model_set_free(models);
    if (failed)
        fprintf(stderr, "extract: %d of %d inputs failed\n", failed, o.n_inputs);
    return failed ? 1 : 0;
}
