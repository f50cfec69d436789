/* Loader for OpenFace's AU models: FaceAnalyser::Read (top-level file),
 * FaceAnalyser::ReadAU (list file), FaceAnalyser::ReadRegressor (.dat dispatch)
 * and the Read functions of SVR_static_lin_regressors, SVR_dynamic_lin_regressors,
 * SVM_static_lin and SVM_dynamic_lin. Where OpenFace would silently carry on with a
 * broken model (unreadable file, unknown type, short read, mismatched sizes that
 * would later throw inside OpenCV) this loader stops with an error instead. */
#include "au_model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mat.h"
#include "model_io.h"

/* The lines of the text files are short ("<path> <name>"); one path plus slack. */
#define LINE_MAX_LEN (2 * AU_AU_PATH_MAX)

/* OpenFace compares a later file's means with the group's first ones at this level
 * (and only prints a warning). */
#define MEANS_TOLERANCE 0.00001

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Splits off the first whitespace-delimited token of s in place; returns it (empty
 * when the line is blank) and sets *rest to what follows, leading blanks skipped. */
static char *first_token(char *s, char **rest)
{
    while (*s && is_blank(*s))
        s++;
    char *tok = s;
    while (*s && !is_blank(*s))
        s++;
    if (*s)
        *s++ = '\0';
    while (*s && is_blank(*s))
        s++;
    *rest = s;
    return tok;
}

/* OpenFace trims " \n\r\t" from the end of the names part. */
static void trim_end(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        s[--n] = '\0';
}

static AuAuGroupId group_of_type(AuAuRegressorType t)
{
    switch (t) {
    case AU_REGRESSOR_SVR_STATIC: return AU_GROUP_SVR_STATIC;
    case AU_REGRESSOR_SVR_DYNAMIC: return AU_GROUP_SVR_DYNAMIC;
    case AU_REGRESSOR_SVM_STATIC: return AU_GROUP_SVM_STATIC;
    case AU_REGRESSOR_SVM_DYNAMIC: return AU_GROUP_SVM_DYNAMIC;
    }
    return AU_GROUP_COUNT;
}

/* Reads a ReadMatBin matrix and checks it is CV_64F with the expected shape
 * (rows/cols < 0: any, but at least 1). On failure nothing is left allocated. */
static AuStatus read_f64_mat(AuReader *r, AuMat *mat, int rows, int cols, const char *what)
{
    size_t start = r->pos;
    AuStatus st = au_bin_mat(r, mat, what);
    if (st)
        return st;
    /* OpenFace reads into cv::Mat_<double> and multiplies as double: another type
     * would not be what it computes with. */
    const char *bad = NULL;
    if (mat->type != AU_MAT_F64)
        bad = "is not a double (CV_64F) matrix";
    else if (mat->rows < 1 || mat->cols < 1)
        bad = "is empty";
    else if ((rows >= 0 && mat->rows != rows) || (cols >= 0 && mat->cols != cols))
        bad = "has the wrong size";
    if (bad) {
        int got_r = mat->rows, got_c = mat->cols, got_t = (int)mat->type;
        au_mat_free(mat);
        r->pos = start;
        if (rows >= 0 && cols >= 0)
            return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s %s: %dx%d type %d, expected %dx%d doubles", what, bad,
                                         got_r, got_c, got_t, rows, cols);
        return au_reader_fail_offset(r, AU_ERR_FORMAT, "%s %s: %dx%d type %d", what, bad, got_r, got_c, got_t);
    }
    return AU_OK;
}

/* Appends a model to its group; takes the values of the parsed file. */
static AuStatus group_append(AuAuGroup *g, const AuAuModel *model, const double *means, const double *weights,
                             int dim, AuError *err)
{
    if (g->count == g->capacity) {
        int cap = g->capacity ? 2 * g->capacity : 8;
        AuAuModel *nm = realloc(g->models, (size_t)cap * sizeof(*nm));
        if (!nm)
            return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory for AU models", model->path);
        g->models = nm;
        double *nw = realloc(g->weights, (size_t)cap * (size_t)dim * sizeof(*nw));
        if (!nw)
            return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory for AU model weights", model->path);
        g->weights = nw;
        g->capacity = cap;
    }
    if (!g->means) {
        g->means = malloc((size_t)dim * sizeof(*g->means));
        if (!g->means)
            return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory for AU model means", model->path);
        memcpy(g->means, means, (size_t)dim * sizeof(*means));
        g->feature_dim = dim;
    }
    AuAuModel *dst = &g->models[g->count];
    *dst = *model;
    for (int i = 0; i < dim; i++) {
        if (fabs(means[i] - g->means[i]) > MEANS_TOLERANCE) {
            dst->means_differ = 1;
            break;
        }
    }
    memcpy(g->weights + (size_t)g->count * (size_t)dim, weights, (size_t)dim * sizeof(*weights));
    g->count++;
    return AU_OK;
}

/* Finds a model of the same kind (intensity or presence) with this name. */
static const AuAuModel *find_same_kind(const AuAuModels *m, int presence, const char *name)
{
    for (int gi = 0; gi < AU_GROUP_COUNT; gi++) {
        const AuAuGroup *g = &m->groups[gi];
        for (int k = 0; k < g->count; k++)
            if (g->models[k].presence == presence && strcmp(g->models[k].name, name) == 0)
                return &g->models[k];
    }
    return NULL;
}

/* FaceAnalyser::ReadRegressor plus the matching class's Read. */
static AuStatus read_dat(AuAuModels *m, const char *path, const char *name, int list_index, int list_line,
                         AuError *err)
{
    AuReader r;
    AuMat means = {0}, sv = {0};
    AuStatus st = au_reader_open(&r, path, err);
    if (st)
        return st;

    AuAuModel model;
    memset(&model, 0, sizeof(model));
    snprintf(model.name, sizeof(model.name), "%s", name);
    snprintf(model.path, sizeof(model.path), "%s", path);
    model.list_index = list_index;
    model.list_line = list_line;
    model.cutoff = -1.0;

    int32_t type;
    if ((st = au_bin_i32(&r, &type, "regressor type")))
        goto done;
    AuAuGroupId gid = group_of_type((AuAuRegressorType)type);
    if (gid == AU_GROUP_COUNT) {
        r.pos = 0;
        /* OpenFace skips such a file without a word, leaving the AU out. */
        st = au_reader_fail_offset(&r, type >= 2 && type <= 7 ? AU_ERR_UNSUPPORTED : AU_ERR_FORMAT,
                                   "regressor type %d is not one OpenFace reads (0, 1, 4 or 5)", (int)type);
        goto done;
    }
    model.type = (AuAuRegressorType)type;
    model.group = gid;
    model.dynamic = model.type == AU_REGRESSOR_SVR_DYNAMIC || model.type == AU_REGRESSOR_SVM_DYNAMIC;
    model.presence = model.type == AU_REGRESSOR_SVM_STATIC || model.type == AU_REGRESSOR_SVM_DYNAMIC;

    if (model.type == AU_REGRESSOR_SVR_DYNAMIC && (st = au_bin_f64(&r, &model.cutoff, "cutoff")))
        goto done;
    if ((st = read_f64_mat(&r, &means, 1, -1, "means")))
        goto done;
    int dim = means.cols;
    /* One column: OpenFace reads one bias per file, so each file is one AU. */
    if ((st = read_f64_mat(&r, &sv, dim, 1, "support vectors")))
        goto done;
    if ((st = au_bin_f64(&r, &model.bias, "bias")))
        goto done;
    if (model.presence) {
        if ((st = au_bin_f64(&r, &model.pos_class, "positive class")) ||
            (st = au_bin_f64(&r, &model.neg_class, "negative class")))
            goto done;
    }
    if (au_bin_remaining(&r) != 0) {
        st = au_reader_fail_offset(&r, AU_ERR_FORMAT, "%zu unexpected bytes after the model", au_bin_remaining(&r));
        goto done;
    }

    AuAuGroup *g = &m->groups[gid];
    if (g->count > 0 && g->feature_dim != dim) {
        /* OpenFace would throw inside OpenCV when stacking the support vectors. */
        r.pos = 4 + (model.type == AU_REGRESSOR_SVR_DYNAMIC ? 8 : 0);
        st = au_reader_fail_offset(&r, AU_ERR_FORMAT, "means have %d values, the other models of this group %d", dim,
                                   g->feature_dim);
        goto done;
    }
    const AuAuModel *dup = find_same_kind(m, model.presence, name);
    if (dup) {
        st = au_error_set(err, AU_ERR_FORMAT, "%s: AU %s has a second %s model (the first is %s)", path, name,
                          model.presence ? "presence" : "intensity", dup->path);
        goto done;
    }
    st = group_append(g, &model, au_mat_f64(&means), au_mat_f64(&sv), dim, err);

done:
    au_mat_free(&means);
    au_mat_free(&sv);
    au_reader_close(&r);
    return st;
}

/* FaceAnalyser::ReadAU: "<relative .dat path> <AU name>" per line. */
static AuStatus read_au_list(AuAuModels *m, const char *list_path, int list_index, AuError *err)
{
    AuReader r;
    AuStatus st = au_reader_open(&r, list_path, err);
    if (st)
        return st;
    char dir[AU_AU_PATH_MAX], line[LINE_MAX_LEN], dat_path[AU_AU_PATH_MAX];
    au_path_dirname(dir, sizeof(dir), list_path);
    int n_models = 0;
    while (r.pos < r.size) {
        int line_no = r.line;
        if ((st = au_text_line(&r, line, sizeof(line), "model line")))
            break;
        char *names;
        char *location = first_token(line, &names);
        /* OpenFace would try to read the folder itself for a blank line (as it
         * does for the empty line after a final newline); skip it. */
        if (location[0] == '\0')
            continue;
        trim_end(names);
        if (names[0] == '\0') {
            r.line = line_no;
            st = au_reader_fail_line(&r, AU_ERR_FORMAT, "no AU name after '%s'", location);
            break;
        }
        if (strchr(names, ',')) {
            r.line = line_no;
            /* OpenFace splits the names at ',' but reads one bias per file, so its
             * prediction would not line up with several names. */
            st = au_reader_fail_line(&r, AU_ERR_UNSUPPORTED, "several AU names '%s' for one model file", names);
            break;
        }
        for (const char *c = names; *c; c++) {
            if (is_blank(*c)) {
                r.line = line_no;
                st = au_reader_fail_line(&r, AU_ERR_FORMAT, "unexpected text after the AU name in '%s'", names);
                break;
            }
        }
        if (st)
            break;
        if (strlen(names) >= AU_AU_NAME_MAX) {
            r.line = line_no;
            st = au_reader_fail_line(&r, AU_ERR_FORMAT, "AU name '%.40s...' longer than %d characters", names,
                                     AU_AU_NAME_MAX - 1);
            break;
        }
        if ((st = au_path_join(dat_path, sizeof(dat_path), dir, location, err)))
            break;
        if ((st = read_dat(m, dat_path, names, list_index, line_no, err))) {
            if (err)
                au_error_prefix(err, "%s:%d: model '%s': ", list_path, line_no, location);
            break;
        }
        n_models++;
    }
    if (!st && n_models == 0)
        st = au_error_set(err, AU_ERR_FORMAT, "%s: lists no AU model files", list_path);
    au_reader_close(&r);
    return st;
}

/* The PDM and triangulation are parsed by their own loaders; make sure here that
 * they can be read, so a missing one is reported with the line that names it. */
static AuStatus check_readable(const char *path, AuError *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return au_error_set(err, AU_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int c = getc(f);
    int bad = c == EOF && ferror(f); /* e.g. a folder */
    fclose(f);
    if (bad)
        return au_error_set(err, AU_ERR_IO, "%s: cannot read", path);
    if (c == EOF)
        return au_error_set(err, AU_ERR_FORMAT, "%s: empty file", path);
    return AU_OK;
}

static AuStatus build_sorted(const AuAuModels *m, int presence, int **out, AuError *err)
{
    int n = presence ? au_au_models_presence_count(m) : au_au_models_intensity_count(m);
    *out = malloc((size_t)(n ? n : 1) * sizeof(**out));
    if (!*out)
        return au_error_set(err, AU_ERR_NOMEM, "out of memory");
    int *idx = *out;
    /* OpenFace's CSV writer std::sorts the names (byte-wise); they are unique. */
    for (int i = 0; i < n; i++) {
        const char *name = presence ? au_au_models_presence_name(m, i) : au_au_models_intensity_name(m, i);
        int j = i;
        while (j > 0 && strcmp(presence ? au_au_models_presence_name(m, idx[j - 1])
                                        : au_au_models_intensity_name(m, idx[j - 1]),
                               name) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return AU_OK;
}

AuStatus au_au_models_load(AuAuModels *m, const char *main_svms_txt_path, AuError *err)
{
    if (!m || !main_svms_txt_path)
        return au_error_set(err, AU_ERR_ARG, "au_au_models_load: NULL argument");
    memset(m, 0, sizeof(*m));
    if (strlen(main_svms_txt_path) >= sizeof(m->main_path))
        return au_error_set(err, AU_ERR_ARG, "path too long: %s", main_svms_txt_path);
    snprintf(m->main_path, sizeof(m->main_path), "%s", main_svms_txt_path);

    AuReader r;
    AuStatus st = au_reader_open(&r, main_svms_txt_path, err);
    if (st)
        return st;
    char dir[AU_AU_PATH_MAX], line[LINE_MAX_LEN], path[AU_AU_PATH_MAX];
    int pdm_line = 0, tri_line = 0;
    au_path_dirname(dir, sizeof(dir), main_svms_txt_path);
    while (!st && r.pos < r.size) {
        int line_no = r.line;
        if ((st = au_text_line(&r, line, sizeof(line), "module line")))
            break;
        char *rest, *rest2;
        char *module = first_token(line, &rest);
        char *location = first_token(rest, &rest2);
        int is_au = strcmp(module, "AUPredictor") == 0;
        int is_pdm = strcmp(module, "PDM") == 0;
        int is_tri = strcmp(module, "Triangulation") == 0;
        /* OpenFace ignores lines with any other module name (and blank lines). */
        if (!is_au && !is_pdm && !is_tri)
            continue;
        if (location[0] == '\0') {
            r.line = line_no;
            st = au_reader_fail_line(&r, AU_ERR_FORMAT, "no file named after '%s'", module);
            break;
        }
        if ((st = au_path_join(path, sizeof(path), dir, location, err)))
            break;
        if (is_au) {
            if (m->n_au_lists == AU_AU_MAX_LISTS) {
                r.line = line_no;
                st = au_reader_fail_line(&r, AU_ERR_UNSUPPORTED, "more than %d AUPredictor lines", AU_AU_MAX_LISTS);
                break;
            }
            int li = m->n_au_lists++;
            snprintf(m->au_list_paths[li], sizeof(m->au_list_paths[li]), "%s", path);
            st = read_au_list(m, path, li, err);
        } else {
            /* A repeated PDM or Triangulation line replaces the earlier one, as in OpenFace. */
            st = check_readable(path, err);
            if (!st && is_pdm) {
                snprintf(m->pdm_path, sizeof(m->pdm_path), "%s", path);
                pdm_line = line_no;
            } else if (!st) {
                snprintf(m->triangulation_path, sizeof(m->triangulation_path), "%s", path);
                tri_line = line_no;
            }
        }
        if (st && err)
            au_error_prefix(err, "%s:%d: %s: ", main_svms_txt_path, line_no, module);
    }
    if (!st && m->n_au_lists == 0)
        st = au_error_set(err, AU_ERR_FORMAT, "%s: no AUPredictor line", main_svms_txt_path);
    if (!st && !pdm_line)
        st = au_error_set(err, AU_ERR_FORMAT, "%s: no PDM line (FaceAnalyser needs the PDM for the geometry features)",
                          main_svms_txt_path);
    if (!st && !tri_line)
        st = au_error_set(err, AU_ERR_FORMAT,
                          "%s: no Triangulation line (FaceAnalyser needs it to mask the aligned face)",
                          main_svms_txt_path);
    au_reader_close(&r);

    if (!st) {
        /* Now that no array moves any more, point each model at its group's data. */
        for (int gi = 0; gi < AU_GROUP_COUNT; gi++) {
            AuAuGroup *g = &m->groups[gi];
            for (int k = 0; k < g->count; k++) {
                g->models[k].feature_dim = g->feature_dim;
                g->models[k].means = g->means;
                g->models[k].weights = g->weights + (size_t)k * (size_t)g->feature_dim;
            }
        }
        st = build_sorted(m, 0, &m->intensity_sorted, err);
        if (!st)
            st = build_sorted(m, 1, &m->presence_sorted, err);
    }
    if (st)
        au_au_models_free(m);
    return st;
}

void au_au_models_free(AuAuModels *m)
{
    if (!m)
        return;
    for (int gi = 0; gi < AU_GROUP_COUNT; gi++) {
        free(m->groups[gi].means);
        free(m->groups[gi].weights);
        free(m->groups[gi].models);
    }
    free(m->intensity_sorted);
    free(m->presence_sorted);
    memset(m, 0, sizeof(*m));
}

/* Index i of the concatenation static group ++ dynamic group. */
static const AuAuModel *concat_at(const AuAuGroup *stat, const AuAuGroup *dyn, int i)
{
    if (i < 0)
        return NULL;
    if (i < stat->count)
        return &stat->models[i];
    i -= stat->count;
    return i < dyn->count ? &dyn->models[i] : NULL;
}

int au_au_models_intensity_count(const AuAuModels *m)
{
    return m->groups[AU_GROUP_SVR_STATIC].count + m->groups[AU_GROUP_SVR_DYNAMIC].count;
}

const AuAuModel *au_au_models_intensity(const AuAuModels *m, int i)
{
    return concat_at(&m->groups[AU_GROUP_SVR_STATIC], &m->groups[AU_GROUP_SVR_DYNAMIC], i);
}

const char *au_au_models_intensity_name(const AuAuModels *m, int i)
{
    const AuAuModel *a = au_au_models_intensity(m, i);
    return a ? a->name : NULL;
}

int au_au_models_presence_count(const AuAuModels *m)
{
    return m->groups[AU_GROUP_SVM_STATIC].count + m->groups[AU_GROUP_SVM_DYNAMIC].count;
}

const AuAuModel *au_au_models_presence(const AuAuModels *m, int i)
{
    return concat_at(&m->groups[AU_GROUP_SVM_STATIC], &m->groups[AU_GROUP_SVM_DYNAMIC], i);
}

const char *au_au_models_presence_name(const AuAuModels *m, int i)
{
    const AuAuModel *a = au_au_models_presence(m, i);
    return a ? a->name : NULL;
}

int au_au_models_intensity_sorted_index(const AuAuModels *m, int k)
{
    if (!m->intensity_sorted || k < 0 || k >= au_au_models_intensity_count(m))
        return -1;
    return m->intensity_sorted[k];
}

int au_au_models_presence_sorted_index(const AuAuModels *m, int k)
{
    if (!m->presence_sorted || k < 0 || k >= au_au_models_presence_count(m))
        return -1;
    return m->presence_sorted[k];
}

int au_au_models_intensity_find(const AuAuModels *m, const char *name)
{
    int n = au_au_models_intensity_count(m);
    for (int i = 0; i < n; i++)
        if (strcmp(au_au_models_intensity_name(m, i), name) == 0)
            return i;
    return -1;
}

int au_au_models_presence_find(const AuAuModels *m, const char *name)
{
    int n = au_au_models_presence_count(m);
    for (int i = 0; i < n; i++)
        if (strcmp(au_au_models_presence_name(m, i), name) == 0)
            return i;
    return -1;
}

int au_au_models_has_dynamic(const AuAuModels *m)
{
    return m->groups[AU_GROUP_SVR_DYNAMIC].count > 0 || m->groups[AU_GROUP_SVM_DYNAMIC].count > 0;
}
