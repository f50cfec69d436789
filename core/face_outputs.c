#include "face_outputs.h"

#include <stdlib.h>
#include <string.h>

AuCamera au_camera_intrinsics(int width, int height, float fx, float fy, float cx, float cy)
{
    AuCamera cam;
    /* OpenFace: frame sizes are int, the arithmetic float. */
    if (cx <= 0 || cy <= 0) {
        cam.cx = (float)width / 2.0f;
        cam.cy = (float)height / 2.0f;
    } else {
        cam.cx = cx;
        cam.cy = cy;
    }
    if (fx <= 0 || fy <= 0) {
        float fx0 = 500.0f * ((float)width / 640.0f);
        float fy0 = 500.0f * ((float)height / 480.0f);
        cam.fx = cam.fy = (fx0 + fy0) / 2.0f;
    } else {
        cam.fx = fx;
        cam.fy = fy;
    }
    return cam;
}

static int is_eye_part(const char *name)
{
    return !strcmp(name, "left_eye_28") || !strcmp(name, "right_eye_28");
}

AuStatus au_face_outputs_init(AuFaceOutputs *fo, const AuClnfModel *model, AuError *err)
{
    memset(fo, 0, sizeof(*fo));
    if (model->pdm.n_points < 46)
        return au_error_set(err, AU_ERR_ARG,
                            "face outputs: the main model has %d points; gaze needs the 68-point layout "
                            "(eye corners 36-45)",
                            model->pdm.n_points);
    fo->model = model;
    fo->n_points = model->pdm.n_points;
    fo->gaze_part[0] = fo->gaze_part[1] = -1;
    AuStatus st;
    int max_eye = 0;
    fo->eye_parts = calloc((size_t)model->n_parts + 1, sizeof(*fo->eye_parts));
    fo->part_work = calloc((size_t)model->n_parts + 1, sizeof(*fo->part_work));
    fo->face3d = malloc(3 * (size_t)fo->n_points * sizeof(float));
    if (!fo->eye_parts || !fo->part_work || !fo->face3d) {
        st = au_error_set(err, AU_ERR_NOMEM, "face outputs: out of memory");
        goto fail;
    }
    for (int i = 0; i < model->n_parts; i++) {
        const AuClnfPart *part = &model->parts[i];
        if (!is_eye_part(part->name))
            continue;
        int n = part->model->pdm.n_points;
        if (n < 8) {
            st = au_error_set(err, AU_ERR_ARG,
                              "face outputs: eye part %s has %d points; the pupil needs the 8 iris points", part->name,
                              n);
            goto fail;
        }
        if ((st = au_pdm_work_init(&fo->part_work[i], &part->model->pdm, err)))
            goto fail;
        fo->eye_parts[fo->n_eye_parts++] = i;
        fo->n_eye_points += n;
        if (n > max_eye)
            max_eye = n;
        /* EstimateGaze's search does not stop at the first match. */
        fo->gaze_part[strcmp(part->name, "left_eye_28") == 0 ? 0 : 1] = i;
    }
    if ((st = au_pdm_work_init(&fo->main_work, &model->pdm, err)))
        goto fail;
    if (max_eye > 0 && !(fo->eye3d = malloc(3 * (size_t)max_eye * sizeof(float)))) {
        st = au_error_set(err, AU_ERR_NOMEM, "face outputs: out of memory");
        goto fail;
    }
    return AU_OK;
fail:
    au_face_outputs_free(fo);
    return st;
}

void au_face_outputs_free(AuFaceOutputs *fo)
{
    if (!fo)
        return;
    if (fo->part_work && fo->model)
        for (int i = 0; i < fo->model->n_parts; i++)
            au_pdm_work_free(&fo->part_work[i]);
    au_pdm_work_free(&fo->main_work);
    free(fo->part_work);
    free(fo->eye_parts);
    free(fo->face3d);
    free(fo->eye3d);
    memset(fo, 0, sizeof(*fo));
}

void au_face_pose(AuFaceOutputs *fo, const AuClnf *c, const AuCamera *cam, float pose[6])
{
    au_pdm_pose(&fo->model->pdm, c->params_local, c->params_global, c->landmarks, cam->fx, cam->fy, cam->cx, cam->cy,
                pose, &fo->main_work);
}

void au_face_shape3d(AuFaceOutputs *fo, const AuClnf *c, const AuCamera *cam, float *xyz)
{
    au_pdm_camera_shape3d(&fo->model->pdm, c->params_local, c->params_global, c->landmarks, cam->fx, cam->fy, cam->cx,
                          cam->cy, xyz, &fo->main_work);
}

/* CLNF::GetShape of part i into out (3n: all X, all Y, all Z). */
static void part_shape3d(AuFaceOutputs *fo, const AuClnf *c, int i, const AuCamera *cam, float *out)
{
    const AuClnf *p = &c->parts[i];
    au_pdm_camera_shape3d(&fo->model->parts[i].model->pdm, p->params_local, p->params_global, p->landmarks, cam->fx,
                          cam->fy, cam->cx, cam->cy, out, &fo->part_work[i]);
}

int au_face_eye_landmarks(const AuFaceOutputs *fo, const AuClnf *c, float *xy)
{
    int k = 0;
    for (int e = 0; e < fo->n_eye_parts; e++) {
        const AuClnf *p = &c->parts[fo->eye_parts[e]];
        for (int i = 0; i < p->n; i++, k++) {
            xy[2 * k] = p->landmarks[i];
            xy[2 * k + 1] = p->landmarks[i + p->n];
        }
    }
    return k;
}

int au_face_eye_landmarks_3d(AuFaceOutputs *fo, const AuClnf *c, const AuCamera *cam, float *xyz)
{
    int k = 0;
    for (int e = 0; e < fo->n_eye_parts; e++) {
        int pi = fo->eye_parts[e];
        int n = c->parts[pi].n;
        part_shape3d(fo, c, pi, cam, fo->eye3d);
        for (int i = 0; i < n; i++, k++)
            for (int j = 0; j < 3; j++)
                xyz[3 * k + j] = fo->eye3d[j * n + i];
    }
    return k;
}

int au_face_gaze(AuFaceOutputs *fo, const AuClnf *c, const AuCamera *cam, const float pose[6], const float *face3d,
                 AuGazeEye eyes[2], float angle[2])
{
    memset(eyes, 0, 2 * sizeof(*eyes));
    angle[0] = angle[1] = 0;
    if (!fo->model->eye_model)
        return 0;
    for (int e = 0; e < 2; e++) {
        int pi = fo->gaze_part[e];
        if (pi < 0)
            continue; /* OpenFace: "Couldn't find the eye model", gaze (0, 0, 0) */
        part_shape3d(fo, c, pi, cam, fo->eye3d);
        au_gaze_estimate_eye(fo->eye3d, c->parts[pi].n, face3d, fo->n_points, pose, e == 0, &eyes[e]);
    }
    au_gaze_angle(eyes[0].gaze, eyes[1].gaze, angle);
    return 1;
}
