#include "models.h"

#include <stdio.h>
#include <string.h>

#include "model_io.h"

AuStatus au_models_load(AuModels *m, const char *models_dir, AuError *err)
{
    memset(m, 0, sizeof(*m));
    char path[2048];
    AuStatus st;
    snprintf(m->dir, sizeof(m->dir), "%s", models_dir);

    if ((st = au_path_join(path, sizeof(path), models_dir, "model/main_clnf_general.txt", err)) ||
        (st = au_clnf_model_load(&m->clnf, path, err)))
        goto fail;
    if (m->clnf.validator_path[0] == '\0') {
        st = au_error_set(err, AU_ERR_FORMAT, "%s: no DetectionValidator line (OpenFace's video pipeline needs it)",
                          path);
        goto fail;
    }
    if ((st = au_validator_model_load(&m->validator, m->clnf.validator_path, err)))
        goto fail;
    if ((st = au_path_join(path, sizeof(path), models_dir, "model/mtcnn_detector/MTCNN_detector.txt", err)) ||
        (st = au_mtcnn_model_load(&m->mtcnn, path, err)))
        goto fail;
    if ((st = au_path_join(path, sizeof(path), models_dir, "AU_predictors/main_dynamic_svms.txt", err)) ||
        (st = au_au_models_load(&m->au_dynamic, path, err)))
        goto fail;
    if ((st = au_path_join(path, sizeof(path), models_dir, "AU_predictors/main_static_svms.txt", err)) ||
        (st = au_au_models_load(&m->au_static, path, err)))
        goto fail;
    /* The FaceAnalyser loads its PDM and triangulation from the dynamic set's list. */
    if ((st = au_pdm_load(&m->au_pdm, m->au_dynamic.pdm_path, err)))
        goto fail;
    if ((st = au_tris_load_single(&m->au_tris, m->au_dynamic.triangulation_path, err)))
        goto fail;
    return AU_OK;
fail:
    au_models_free(m);
    return st;
}

void au_models_free(AuModels *m)
{
    if (!m)
        return;
    au_clnf_model_free(&m->clnf);
    au_validator_model_free(&m->validator);
    au_mtcnn_model_free(&m->mtcnn);
    au_au_models_free(&m->au_dynamic);
    au_au_models_free(&m->au_static);
    au_pdm_free(&m->au_pdm);
    au_mat_free(&m->au_tris);
    memset(m, 0, sizeof(*m));
}
