#include "mtcnn_model.h"

#include <stdio.h>
#include <string.h>

#include "model_io.h"

void au_mtcnn_model_free(AuMtcnnModel *m)
{
    if (!m)
        return;
    au_cnn_free(&m->pnet);
    au_cnn_free(&m->rnet);
    au_cnn_free(&m->onet);
}

/* Reads one network file completely and checks it against its input size. */
static AuStatus load_network(AuCnn *cnn, const char *path, const char *name, int size, AuError *err)
{
    AuReader r;
    AuStatus st = au_reader_open(&r, path, err);
    if (st)
        return st;
    st = au_cnn_read(&r, AU_CNN_DIALECT_MTCNN, name, cnn);
    /* OpenFace stops reading after the last layer; trailing bytes can only come
     * from a corrupt depth or a different format, so they are rejected. */
    if (!st && au_bin_remaining(&r) != 0)
        st = au_reader_fail_offset(&r, AU_ERR_FORMAT, "%zu unexpected bytes after the last layer of %s",
                                   au_bin_remaining(&r), name);
    au_reader_close(&r);
    if (!st) {
        AuCnnShape in = {3, size, size};
        st = au_cnn_check_shapes(cnn, in, path, name, err);
    }
    if (!st) {
        const AuCnnShape *o = &cnn->output;
        /* PNet's outputs are per-pixel maps; RNet's and ONet's are one vector. */
        int ok = size == AU_MTCNN_PNET_SIZE ? o->maps >= 6 : o->maps == 1 && (long long)o->h * o->w >= 6;
        if (!ok)
            st = au_error_set(err, AU_ERR_FORMAT,
                              "%s: %s gives %d maps of %dx%d for a %dx%d input, expected 2 scores and 4 box corrections%s",
                              path, name, o->maps, o->h, o->w, size, size, size == AU_MTCNN_PNET_SIZE ? " as maps" : "");
    }
    if (st)
        au_cnn_free(cnn);
    return st;
}

static const char *const k_names[3] = {"PNet", "RNet", "ONet"};
static const int k_sizes[3] = {AU_MTCNN_PNET_SIZE, AU_MTCNN_RNET_SIZE, AU_MTCNN_ONET_SIZE};

AuStatus au_mtcnn_model_load(AuMtcnnModel *m, const char *mtcnn_txt_path, AuError *err)
{
    memset(m, 0, sizeof(*m));
    AuCnn *nets[3] = {&m->pnet, &m->rnet, &m->onet};
    int seen_line[3] = {0, 0, 0};
    char dir[1024];
    au_path_dirname(dir, sizeof(dir), mtcnn_txt_path);

    AuReader r;
    AuStatus st = au_reader_open(&r, mtcnn_txt_path, err);
    if (st)
        return st;
    /* FaceDetectorMTCNN::Read: getline, then ">> module >> location" on it. */
    while (!st && r.pos < r.size) {
        int line_no = r.line;
        char line[2048];
        if ((st = au_text_line(&r, line, sizeof(line), "a module line")))
            break;
        char module[64] = "", file[1024] = "";
        const char *p = line;
        char *outs[2] = {module, file};
        size_t caps[2] = {sizeof(module), sizeof(file)};
        for (int t = 0; t < 2; t++) {
            while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\v' || *p == '\f')
                p++;
            size_t n = 0;
            while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\v' && *p != '\f') {
                if (n + 1 < caps[t])
                    outs[t][n++] = *p;
                p++;
            }
            outs[t][n] = '\0';
        }
        int which = -1;
        for (int k = 0; k < 3; k++)
            if (strcmp(module, k_names[k]) == 0)
                which = k;
        if (which < 0)
            continue; /* OpenFace ignores blank lines and other modules */
        if (seen_line[which]) {
            st = au_error_set(err, AU_ERR_FORMAT, "%s:%d: %s named a second time (first on line %d)", mtcnn_txt_path,
                              line_no, module, seen_line[which]);
            break;
        }
        seen_line[which] = line_no;
        if (file[0] == '\0') {
            st = au_error_set(err, AU_ERR_FORMAT, "%s:%d: %s line names no file", mtcnn_txt_path, line_no, module);
            break;
        }
        char path[2048];
        if ((st = au_path_join(path, sizeof(path), dir, file, err)))
            break;
        if ((st = load_network(nets[which], path, module, k_sizes[which], err))) {
            au_error_prefix(err, "%s:%d: %s: ", mtcnn_txt_path, line_no, module);
            break;
        }
    }
    au_reader_close(&r);
    for (int k = 0; k < 3 && !st; k++)
        if (!seen_line[k])
            st = au_error_set(err, AU_ERR_FORMAT, "%s: no %s line (expected '%s <file>')", mtcnn_txt_path, k_names[k],
                              k_names[k]);
    if (st)
        au_mtcnn_model_free(m);
    return st;
}
