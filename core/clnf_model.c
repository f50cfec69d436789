#include "clnf_model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_io.h"

/* Parts may in principle have parts of their own (CLNF::Read recurses); a
 * listing that names itself must not recurse for ever. */
#define AU_CLNF_MAX_DEPTH 4
#define AU_CLNF_LINE_MAX 8192

/* ---- small text helpers for the list files ---- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Next whitespace-delimited token of *p (as std::stringstream >> std::string);
 * returns its length (0 when the line is exhausted) or -1 when it does not fit. */
static int next_token(const char **p, char *buf, size_t n)
{
    const char *s = *p;
    while (*s && is_space(*s))
        s++;
    size_t len = 0;
    while (s[len] && !is_space(s[len]))
        len++;
    *p = s + len;
    if (len >= n)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return (int)len;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static AuStatus copy_path(char *dst, const char *src, AuError *err)
{
    size_t len = strlen(src);
    if (len >= AU_CLNF_PATH_MAX)
        return au_error_set(err, AU_ERR_ARG, "path too long: %s", src);
    memcpy(dst, src, len + 1);
    return AU_OK;
}

/* ---- triangulations ---- */

static AuStatus check_tri_mat(AuReader *r, const AuMat *m, int line, const char *what)
{
    if (m->type != AU_MAT_S32 || m->cols != 3)
        return au_error_set(r->err, AU_ERR_FORMAT, "%s:%d: %s is a %dx%d matrix of type %d, expected k x 3 of type 4",
                            r->path, line, what, m->rows, m->cols, (int)m->type);
    size_t n = au_mat_count(m);
    for (size_t i = 0; i < n; i++)
        if (au_mat_s32(m)[i] < 0)
            return au_error_set(r->err, AU_ERR_FORMAT, "%s:%d: %s has a negative point index %d", r->path, line, what,
                                au_mat_s32(m)[i]);
    return AU_OK;
}

AuStatus au_tris_load(AuTris *t, const char *path, AuError *err)
{
    memset(t, 0, sizeof(*t));
    AuReader r;
    AuStatus st = au_reader_open(&r, path, err);
    if (st)
        return st;
    int n_views;
    au_text_skip_comments(&r);
    if ((st = au_text_int(&r, &n_views, "number of triangulations")))
        goto done;
    /* each triangulation needs at least "0 3 4" */
    if (n_views < 0 || (size_t)n_views > (r.size - r.pos) / 5) {
        st = au_reader_fail_line(&r, AU_ERR_FORMAT, "number of triangulations %d does not fit the file", n_views);
        goto done;
    }
    if (n_views > 0) {
        t->tris = calloc((size_t)n_views, sizeof(AuMat));
        if (!t->tris) {
            st = au_reader_fail_line(&r, AU_ERR_NOMEM, "cannot allocate %d triangulations", n_views);
            goto done;
        }
    }
    t->n_views = n_views;
    for (int v = 0; v < n_views; v++) {
        au_text_skip_comments(&r);
        int line = r.line;
        if ((st = au_text_mat(&r, &t->tris[v], "triangulation")) ||
            (st = check_tri_mat(&r, &t->tris[v], line, "triangulation")))
            goto done;
    }
done:
    au_reader_close(&r);
    if (st)
        au_tris_free(t);
    return st;
}

void au_tris_free(AuTris *t)
{
    if (!t)
        return;
    for (int v = 0; v < t->n_views; v++)
        if (t->tris)
            au_mat_free(&t->tris[v]);
    free(t->tris);
    memset(t, 0, sizeof(*t));
}

AuStatus au_tris_load_single(AuMat *m, const char *path, AuError *err)
{
    memset(m, 0, sizeof(*m));
    AuReader r;
    AuStatus st = au_reader_open(&r, path, err);
    if (st)
        return st;
    au_text_skip_space(&r);
    int line = r.line;
    if (!(st = au_text_mat(&r, m, "triangulation")))
        st = check_tri_mat(&r, m, line, "triangulation");
    if (st)
        au_mat_free(m);
    au_reader_close(&r);
    return st;
}

/* ---- parameters ---- */

static void set_windows(int *n, int *dst, const int *src, int count)
{
    *n = count;
    for (int i = 0; i < count; i++)
        dst[i] = src[i];
}

void au_clnf_params_init(AuClnfParams *p, const char *model_location)
{
    static const int small[] = {0, 9, 7, 0};
    static const int init[] = {11, 9, 7, 5};
    memset(p, 0, sizeof(*p));
    p->num_optimisation_iteration = 5;
    p->validate_detections = 1;
    p->refine_hierarchical = 1;
    p->refine_parameters = 1;
    set_windows(&p->n_window_sizes_small, p->window_sizes_small, small, 4);
    set_windows(&p->n_window_sizes_init, p->window_sizes_init, init, 4);
    p->face_template_scale = 0.3f;
    p->use_face_template = 0;
    set_windows(&p->n_window_sizes_current, p->window_sizes_current, init, 4);
    p->detector = AU_DETECTOR_CECLM;
    p->sigma = 1.5f;
    p->reg_factor = 25.0f;
    p->weight_factor = 0.0f;
    p->validation_boundary = 0.725f;
    p->limit_pose = 1;
    p->multi_view = 0;
    p->reinit_video_every = 2;

    /* The argument constructor's rule on fs::path(model_location).stem(). */
    const char *loc = model_location ? model_location : "model/main_ceclm_general.txt";
    const char *name = base_name(loc);
    size_t stem_len = strlen(name);
    const char *dot = strrchr(name, '.');
    if (dot && dot != name)
        stem_len = (size_t)(dot - name);
    if (stem_len == strlen("main_ceclm_general") && !strncmp(name, "main_ceclm_general", stem_len)) {
        p->detector = AU_DETECTOR_CECLM;
        p->sigma = 1.5f * p->sigma;
        p->reg_factor = 0.9f * p->reg_factor;
    } else if (stem_len == strlen("main_clnf_general") && !strncmp(name, "main_clnf_general", stem_len)) {
        p->detector = AU_DETECTOR_CLNF;
    } else if (stem_len == strlen("main_clm_general") && !strncmp(name, "main_clm_general", stem_len)) {
        p->detector = AU_DETECTOR_CLM;
    }
}

void au_clnf_params_for_part(AuClnfParams *p, const char *part_name)
{
    /* CLNF::Read builds FaceModelParameters from {model root} only, so the
     * model location is OpenFace's default (main_ceclm_general). */
    au_clnf_params_init(p, NULL);
    p->validate_detections = 0;
    p->refine_hierarchical = 0;
    p->refine_parameters = 0;

    static const int eye[] = {5, 3};
    static const int eye28[] = {3, 5, 9};
    static const int mouth[] = {7, 7};
    static const int brow[] = {11, 9};
    static const int inner[] = {9};
    const int *w = NULL;
    int nw = 0;
    if (!strcmp(part_name, "left_eye") || !strcmp(part_name, "right_eye")) {
        w = eye, nw = 2;
        p->reg_factor = 0.1f;
        p->sigma = 2.0f;
    } else if (!strcmp(part_name, "left_eye_28") || !strcmp(part_name, "right_eye_28")) {
        w = eye28, nw = 3;
        p->reg_factor = 0.5f;
        p->sigma = 1.0f;
    } else if (!strcmp(part_name, "mouth")) {
        w = mouth, nw = 2;
        p->reg_factor = 1.0f;
        p->sigma = 2.0f;
    } else if (!strcmp(part_name, "brow")) {
        w = brow, nw = 2;
        p->reg_factor = 10.0f;
        p->sigma = 3.5f;
    } else if (!strcmp(part_name, "inner")) {
        w = inner, nw = 1;
        p->reg_factor = 2.5f;
        p->sigma = 1.75f;
        p->weight_factor = 2.5f;
    }
    if (w) {
        set_windows(&p->n_window_sizes_init, p->window_sizes_init, w, nw);
        set_windows(&p->n_window_sizes_small, p->window_sizes_small, w, nw);
        set_windows(&p->n_window_sizes_current, p->window_sizes_current, w, nw);
    }
}

/* ---- the model ---- */

static AuStatus load_main(AuClnfModel *m, const char *path, int depth, AuError *err);

/* Prefixes an error from a file named on line `line` of list file `list`. */
static AuStatus from_line(AuError *err, AuStatus st, const char *list, int line, const char *keyword)
{
    au_error_prefix(err, "%s:%d: %s: ", base_name(list), line, keyword);
    return st;
}

/* CLNF::Read_CLNF: the LandmarkDetector file (PDM, Triangulations, PatchesCCNF). */
static AuStatus load_clnf(AuClnfModel *m, const char *path, AuError *err)
{
    AuReader r;
    AuStatus st = au_reader_open(&r, path, err);
    if (st)
        return st;
    char root[AU_CLNF_PATH_MAX];
    au_path_dirname(root, sizeof(root), path);
    char *line = malloc(AU_CLNF_LINE_MAX);
    char *ccnf_paths = NULL; /* n_ccnf x AU_CLNF_PATH_MAX */
    int *ccnf_lines = NULL;
    int n_ccnf = 0, cap_ccnf = 0, pdm_line = 0;
    if (!line) {
        st = au_error_set(err, AU_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    while (r.pos < r.size) {
        int line_no = r.line;
        if ((st = au_text_line(&r, line, AU_CLNF_LINE_MAX, "module line")))
            goto done;
        const char *p = line;
        char module[64];
        int len = next_token(&p, module, sizeof(module));
        if (len <= 0)
            continue; /* empty line, or a word too long to be a keyword */
        int is_pdm = !strcmp(module, "PDM"), is_tri = !strcmp(module, "Triangulations");
        int is_ccnf = !strcmp(module, "PatchesCCNF");
        if (!strcmp(module, "PatchesIntensity") || !strcmp(module, "PatchesCEN") ||
            !strcmp(module, "EarlyTermination")) {
            st = au_error_set(err, AU_ERR_UNSUPPORTED, "%s:%d: %s (SVR/CEN patch experts) is not supported", path,
                              line_no, module);
            goto done;
        }
        if (!is_pdm && !is_tri && !is_ccnf)
            continue; /* OpenFace ignores other lines */
        /* getline(lineStream, location) after the keyword, minus the first
         * character (the separating space). Trailing whitespace is trimmed:
         * OpenFace keeps it and then fails to open the file. */
        if (*p)
            p++;
        size_t loc_len = strlen(p);
        while (loc_len > 0 && is_space(p[loc_len - 1]))
            loc_len--;
        if (loc_len == 0) {
            st = au_error_set(err, AU_ERR_FORMAT, "%s:%d: %s names no file", path, line_no, module);
            goto done;
        }
        char rel[AU_CLNF_PATH_MAX], full[AU_CLNF_PATH_MAX];
        if (loc_len >= sizeof(rel)) {
            st = au_error_set(err, AU_ERR_FORMAT, "%s:%d: %s path too long", path, line_no, module);
            goto done;
        }
        memcpy(rel, p, loc_len);
        rel[loc_len] = '\0';
        if ((st = au_path_join(full, sizeof(full), root, rel, err)))
            goto done;
        if (is_pdm) {
            /* a second PDM line replaces the first, as in OpenFace */
            au_pdm_free(&m->pdm);
            if ((st = au_pdm_load(&m->pdm, full, err))) {
                from_line(err, st, path, line_no, module);
                goto done;
            }
            pdm_line = line_no;
        } else if (is_tri) {
            au_tris_free(&m->tris);
            if ((st = au_tris_load(&m->tris, full, err))) {
                from_line(err, st, path, line_no, module);
                goto done;
            }
        } else {
            if (n_ccnf == cap_ccnf) {
                int nc = cap_ccnf ? cap_ccnf * 2 : 4;
                char *np = realloc(ccnf_paths, (size_t)nc * AU_CLNF_PATH_MAX);
                if (np)
                    ccnf_paths = np;
                int *nl = np ? realloc(ccnf_lines, (size_t)nc * sizeof(int)) : NULL;
                if (!np || !nl) {
                    st = au_error_set(err, AU_ERR_NOMEM, "%s: out of memory", path);
                    goto done;
                }
                ccnf_lines = nl;
                cap_ccnf = nc;
            }
            memcpy(ccnf_paths + (size_t)n_ccnf * AU_CLNF_PATH_MAX, full, strlen(full) + 1);
            ccnf_lines[n_ccnf++] = line_no;
        }
    }
    if (m->pdm.n_points == 0) {
        st = au_error_set(err, AU_ERR_FORMAT, "%s: no PDM line", path);
        goto done;
    }
    if (n_ccnf == 0) {
        st = au_error_set(err, AU_ERR_FORMAT, "%s: no PatchesCCNF line", path);
        goto done;
    }
    /* Patch_experts::Read reads the CCNF files after the list, in order. */
    m->scales = calloc((size_t)n_ccnf, sizeof(AuCcnf));
    if (!m->scales) {
        st = au_error_set(err, AU_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    m->n_scales = n_ccnf;
    for (int s = 0; s < n_ccnf; s++) {
        const char *cp = ccnf_paths + (size_t)s * AU_CLNF_PATH_MAX;
        if ((st = au_ccnf_load(&m->scales[s], cp, err))) {
            from_line(err, st, path, ccnf_lines[s], "PatchesCCNF");
            goto done;
        }
        if (m->scales[s].n_points != m->pdm.n_points) {
            st = au_error_set(err, AU_ERR_FORMAT, "%s: %d landmarks, but the PDM (%s:%d) has %d", cp,
                              m->scales[s].n_points, base_name(path), pdm_line, m->pdm.n_points);
            goto done;
        }
    }
    for (int v = 0; v < m->tris.n_views; v++) {
        const AuMat *t = &m->tris.tris[v];
        size_t n = au_mat_count(t);
        for (size_t i = 0; i < n; i++)
            if (au_mat_s32(t)[i] >= m->pdm.n_points) {
                st = au_error_set(err, AU_ERR_FORMAT, "%s: triangulation %d has point index %d, the PDM has %d points",
                                  path, v, au_mat_s32(t)[i], m->pdm.n_points);
                goto done;
            }
    }
    /* ComputeSigmas pairs each expert's betas with the components of the
     * last file; more components than betas would read past them. */
    const AuCcnf *src = au_clnf_sigma_source(m);
    int n_comp = src->n_windows > 0 ? src->windows[0].n_components : 0;
    for (int s = 0; s < m->n_scales; s++) {
        const AuCcnf *c = &m->scales[s];
        int n_betas = c->n_windows > 0 ? c->windows[0].n_components : 0;
        if (n_comp > n_betas) {
            st = au_error_set(err, AU_ERR_FORMAT,
                              "%s: its experts have %d betas, but the sigma components OpenFace uses (from the last "
                              "PatchesCCNF file) are %d per window",
                              ccnf_paths + (size_t)s * AU_CLNF_PATH_MAX, n_betas, n_comp);
            goto done;
        }
    }
done:
    free(line);
    free(ccnf_paths);
    free(ccnf_lines);
    au_reader_close(&r);
    return st;
}

/* One point index of a mapping; -1 when the token is not one. */
static int parse_index(const char *tok, int len)
{
    if (len <= 0)
        return -1;
    char *end;
    errno = 0;
    long x = strtol(tok, &end, 10);
    if (end == tok || *end || errno || x < 0 || x > 1000000)
        return -1;
    return (int)x;
}

/* Point pairs of a LandmarkDetector_part line: "main part main part ...".
 * OpenFace reads ints until the end of the line and would loop for ever on a
 * non-number; here a bad or unpaired index is an error. */
static AuStatus parse_mappings(AuClnfPart *part, const char *p, const char *path, int line_no, AuError *err)
{
    int cap = 0;
    for (;;) {
        char tok[2][32];
        int l0 = next_token(&p, tok[0], sizeof(tok[0]));
        if (l0 == 0)
            return AU_OK;
        int l1 = next_token(&p, tok[1], sizeof(tok[1]));
        int main_index = parse_index(tok[0], l0), part_index = parse_index(tok[1], l1);
        if (l1 == 0)
            return au_error_set(err, AU_ERR_FORMAT, "%s:%d: point mapping '%s' has no part index", path, line_no,
                                l0 > 0 ? tok[0] : "");
        if (main_index < 0 || part_index < 0)
            return au_error_set(err, AU_ERR_FORMAT, "%s:%d: point mapping: expected two point indices, found '%s %s'",
                                path, line_no, l0 > 0 ? tok[0] : "(long)", l1 > 0 ? tok[1] : "(long)");
        if (part->n_map == cap) {
            cap = cap ? cap * 2 : 16;
            AuClnfPointMap *nm = realloc(part->map, (size_t)cap * sizeof(*nm));
            if (!nm)
                return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory", path);
            part->map = nm;
        }
        part->map[part->n_map].main_index = main_index;
        part->map[part->n_map].part_index = part_index;
        part->n_map++;
    }
}

static AuStatus load_part(AuClnfModel *m, const char *p, const char *full, const char *path, int line_no,
                          int depth, AuError *err)
{
    AuClnfPart *np = realloc(m->parts, (size_t)(m->n_parts + 1) * sizeof(*np));
    if (!np)
        return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory", path);
    m->parts = np;
    AuClnfPart *part = &m->parts[m->n_parts++];
    memset(part, 0, sizeof(*part));
    int len = next_token(&p, part->name, sizeof(part->name));
    if (len <= 0)
        return au_error_set(err, AU_ERR_FORMAT, "%s:%d: LandmarkDetector_part has %s", path, line_no,
                            len == 0 ? "no part name" : "a part name that is too long");
    AuStatus st = parse_mappings(part, p, path, line_no, err);
    if (st)
        return st;
    au_clnf_params_for_part(&part->params, part->name);
    if (!strcmp(part->name, "left_eye_28") || !strcmp(part->name, "right_eye_28"))
        m->eye_model = 1;
    part->model = calloc(1, sizeof(*part->model));
    if (!part->model)
        return au_error_set(err, AU_ERR_NOMEM, "%s: out of memory", path);
    if ((st = load_main(part->model, full, depth + 1, err))) {
        free(part->model);
        part->model = NULL;
        return from_line(err, st, path, line_no, "LandmarkDetector_part");
    }
    return AU_OK;
}

/* CLNF::Read: the main list file. */
static AuStatus load_main(AuClnfModel *m, const char *path, int depth, AuError *err)
{
    memset(m, 0, sizeof(*m));
    if (depth > AU_CLNF_MAX_DEPTH)
        return au_error_set(err, AU_ERR_FORMAT, "%s: part models nested more than %d deep", path, AU_CLNF_MAX_DEPTH);
    AuStatus st = copy_path(m->main_path, path, err);
    if (st)
        return st;
    AuReader r;
    if ((st = au_reader_open(&r, path, err)))
        return st;
    char root[AU_CLNF_PATH_MAX];
    au_path_dirname(root, sizeof(root), path);
    char *line = malloc(AU_CLNF_LINE_MAX);
    int detector_line = 0;
    if (!line) {
        st = au_error_set(err, AU_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    while (r.pos < r.size) {
        int line_no = r.line;
        if ((st = au_text_line(&r, line, AU_CLNF_LINE_MAX, "module line")))
            goto done;
        const char *p = line;
        char module[64], rel[AU_CLNF_PATH_MAX], full[AU_CLNF_PATH_MAX];
        if (next_token(&p, module, sizeof(module)) <= 0)
            continue;
        int is_det = !strcmp(module, "LandmarkDetector"), is_part = !strcmp(module, "LandmarkDetector_part");
        int is_val = !strcmp(module, "DetectionValidator"), is_conv = !strcmp(module, "FaceDetConversion");
        if (!is_det && !is_part && !is_val && !is_conv)
            continue; /* OpenFace ignores other lines */
        int len = next_token(&p, rel, sizeof(rel));
        if (len <= 0) {
            st = au_error_set(err, AU_ERR_FORMAT, "%s:%d: %s %s", path, line_no, module,
                              len == 0 ? "names no file" : "path too long");
            goto done;
        }
        if ((st = au_path_join(full, sizeof(full), root, rel, err)))
            goto done;
        if (is_det) {
            if (detector_line) {
                st = au_error_set(err, AU_ERR_UNSUPPORTED, "%s:%d: second LandmarkDetector line (first on line %d)",
                                  path, line_no, detector_line);
                goto done;
            }
            detector_line = line_no;
            if ((st = copy_path(m->clnf_path, full, err)))
                goto done;
            if ((st = load_clnf(m, full, err))) {
                from_line(err, st, path, line_no, module);
                goto done;
            }
        } else if (is_part) {
            if ((st = load_part(m, p, full, path, line_no, depth, err)))
                goto done;
        } else if (is_val) {
            if ((st = copy_path(m->validator_path, full, err)))
                goto done;
        } else {
            /* Not read by OpenFace 2.2 (older versions used it to map Haar
             * face boxes); kept for completeness and parsed strictly. */
            if ((st = copy_path(m->face_det_conversion_path, full, err)))
                goto done;
            au_mat_free(&m->face_det_conversion);
            AuReader fr;
            if ((st = au_reader_open(&fr, full, err))) {
                from_line(err, st, path, line_no, module);
                goto done;
            }
            au_text_skip_comments(&fr);
            st = au_text_mat(&fr, &m->face_det_conversion, "face detection conversion");
            au_reader_close(&fr);
            if (st) {
                from_line(err, st, path, line_no, module);
                goto done;
            }
        }
    }
    if (!detector_line) {
        st = au_error_set(err, AU_ERR_FORMAT, "%s: no LandmarkDetector line", path);
        goto done;
    }
    for (int i = 0; i < m->n_parts; i++) {
        const AuClnfPart *part = &m->parts[i];
        for (int k = 0; k < part->n_map; k++)
            if (part->map[k].main_index >= m->pdm.n_points || part->map[k].part_index >= part->model->pdm.n_points) {
                st = au_error_set(err, AU_ERR_FORMAT,
                                  "%s: part '%s' maps point %d to %d, but the model has %d points and the part %d",
                                  path, part->name, part->map[k].main_index, part->map[k].part_index,
                                  m->pdm.n_points, part->model->pdm.n_points);
                goto done;
            }
    }
done:
    free(line);
    au_reader_close(&r);
    if (st)
        au_clnf_model_free(m);
    return st;
}

AuStatus au_clnf_model_load(AuClnfModel *m, const char *main_txt_path, AuError *err)
{
    return load_main(m, main_txt_path, 0, err);
}

void au_clnf_model_free(AuClnfModel *m)
{
    if (!m)
        return;
    au_pdm_free(&m->pdm);
    au_tris_free(&m->tris);
    for (int s = 0; s < m->n_scales; s++)
        au_ccnf_free(&m->scales[s]);
    free(m->scales);
    for (int i = 0; i < m->n_parts; i++) {
        if (m->parts[i].model) {
            au_clnf_model_free(m->parts[i].model);
            free(m->parts[i].model);
        }
        free(m->parts[i].map);
    }
    free(m->parts);
    au_mat_free(&m->face_det_conversion);
    memset(m, 0, sizeof(*m));
}

const AuCcnf *au_clnf_sigma_source(const AuClnfModel *m)
{
    return m->n_scales > 0 ? &m->scales[m->n_scales - 1] : NULL;
}
