#include "mtcnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void au_mtcnn_init(AuMtcnn *d, const AuMtcnnModel *model)
{
    memset(d, 0, sizeof(*d));
    d->model = model;
}

void au_mtcnn_free(AuMtcnn *d)
{
    if (!d)
        return;
    au_cnn_work_free(&d->work);
    au_image_f32c_free(&d->img);
    au_image_f32c_free(&d->pyr);
    au_image_f32c_free(&d->crop);
    au_image_f32c_free(&d->crop_rs);
    free(d->planes);
    free(d->boxes);
    free(d->corr);
    free(d->order);
    memset(d, 0, sizeof(*d));
}

static int push_box(AuMtcnn *d, AuMtcnnBox b, AuMtcnnBox c)
{
    if (d->n_boxes == d->cap_boxes) {
        int cap = d->cap_boxes ? 2 * d->cap_boxes : 256;
        AuMtcnnBox *nb = realloc(d->boxes, sizeof(*nb) * (size_t)cap);
        if (!nb)
            return -1;
        d->boxes = nb;
        AuMtcnnBox *nc = realloc(d->corr, sizeof(*nc) * (size_t)cap);
        if (!nc)
            return -1;
        d->corr = nc;
        int *no = realloc(d->order, sizeof(int) * (size_t)cap);
        if (!no)
            return -1;
        d->order = no;
        d->cap_boxes = cap;
    }
    d->boxes[d->n_boxes] = b;
    d->corr[d->n_boxes] = c;
    d->n_boxes++;
    return 0;
}

/* cv::Rect from a Rect_<float>: each field rounded to nearest (ties to even). */
typedef struct IRect {
    int x, y, w, h;
} IRect;

static IRect to_irect(const AuMtcnnBox *b)
{
    IRect r = {(int)lrintf(b->x), (int)lrintf(b->y), (int)lrintf(b->w), (int)lrintf(b->h)};
    return r;
}

static int irect_area(IRect r)
{
    return r.w * r.h;
}

static int irect_inter_area(IRect a, IRect b)
{
    int x1 = a.x > b.x ? a.x : b.x, y1 = a.y > b.y ? a.y : b.y;
    int x2 = a.x + a.w < b.x + b.w ? a.x + a.w : b.x + b.w;
    int y2 = a.y + a.h < b.y + b.h ? a.y + a.h : b.y + b.h;
    if (x2 <= x1 || y2 <= y1)
        return 0;
    return (x2 - x1) * (y2 - y1);
}

/* non_maximum_supression on boxes [lo, hi): keeps, best first, writing the
 * kept boxes back compacted from lo; returns the new end. OpenFace orders by
 * score in a multimap (ties keep insertion order, the last inserted is taken
 * first) and compares integer-rounded rectangles. */
static int nms(AuMtcnn *d, int lo, int hi, float thresh, int minimum)
{
    int n = hi - lo;
    if (n <= 0)
        return lo;
    int *idx = d->order;
    for (int i = 0; i < n; i++)
        idx[i] = lo + i;
    /* stable insertion sort by score ascending */
    for (int i = 1; i < n; i++) {
        int v = idx[i], j = i - 1;
        while (j >= 0 && d->boxes[idx[j]].score > d->boxes[v].score) {
            idx[j + 1] = idx[j];
            j--;
        }
        idx[j + 1] = v;
    }
    unsigned char *alive = calloc((size_t)n, 1);
    int *keep = malloc(sizeof(int) * (size_t)n);
    if (!alive || !keep) {
        free(alive);
        free(keep);
        return hi; /* keep everything rather than lose faces */
    }
    memset(alive, 1, (size_t)n);
    int n_keep = 0;
    for (int last = n - 1; last >= 0; last--) {
        if (!alive[last])
            continue;
        alive[last] = 0;
        int cur = idx[last];
        IRect r1 = to_irect(&d->boxes[cur]);
        for (int p = 0; p < last; p++) {
            if (!alive[p])
                continue;
            IRect r2 = to_irect(&d->boxes[idx[p]]);
            float inter = (float)irect_inter_area(r1, r2);
            float uni;
            if (minimum) {
                int a1 = irect_area(r1), a2 = irect_area(r2);
                uni = (float)(a1 < a2 ? a1 : a2);
            } else {
                uni = (float)irect_area(r1) + (float)irect_area(r2) - inter;
            }
            if (inter / uni > thresh)
                alive[p] = 0;
        }
        keep[n_keep++] = cur;
    }
    /* compact in keep order */
    AuMtcnnBox *tb = malloc(sizeof(AuMtcnnBox) * (size_t)n_keep * 2 + 1);
    if (tb) {
        for (int i = 0; i < n_keep; i++) {
            tb[i] = d->boxes[keep[i]];
            tb[n_keep + i] = d->corr[keep[i]];
        }
        for (int i = 0; i < n_keep; i++) {
            d->boxes[lo + i] = tb[i];
            d->corr[lo + i] = tb[n_keep + i];
        }
        free(tb);
    }
    free(alive);
    free(keep);
    return tb ? lo + n_keep : hi;
}

/* apply_correction: the box (rounded to a cv::Rect, optionally one larger)
 * moved by the regression outputs (corr.w / corr.h move the far edges). */
static void apply_correction(AuMtcnnBox *b, const AuMtcnnBox *c, int add1)
{
    IRect r = to_irect(b);
    if (add1) {
        r.w++;
        r.h++;
    }
    float x0 = (float)r.x + c->x * (float)r.w;
    float y0 = (float)r.y + c->y * (float)r.h;
    float x1 = (float)r.x + (float)r.w + (float)r.w * c->w;
    float y1 = (float)r.y + (float)r.h + (float)r.h * c->h;
    b->x = x0;
    b->y = y0;
    b->w = x1 - x0;
    b->h = y1 - y0;
}

/* rectify: squared around the centre, truncated to integers. */
static void rectify(AuMtcnnBox *b)
{
    float h = b->h, w = b->w;
    float side = w > h ? w : h;
    float nx = (float)((double)b->x + 0.5 * (double)(w - side));
    float ny = (float)((double)b->y + 0.5 * (double)(h - side));
    b->x = (float)(int)nx;
    b->y = (float)(int)ny;
    b->w = (float)(int)side;
    b->h = (float)(int)side;
}

/* Gives img the size w x h (3 channels), reusing its buffer when it is
 * large enough (pyramid levels and crops change size on every use). */
static AuStatus reshape_f32c(AuImageF32C *img, size_t *cap, int w, int h, AuError *err)
{
    size_t n = (size_t)w * (size_t)h * 3;
    if (w <= 0 || h <= 0 || n > *cap) {
        au_image_f32c_free(img);
        *cap = 0;
        AuStatus st = au_image_f32c_alloc(img, w, h, 3, err);
        if (st)
            return st;
        *cap = n;
        return AU_OK;
    }
    img->width = w;
    img->height = h;
    img->channels = 3;
    img->stride = (size_t)w * 3;
    return AU_OK;
}

static int ensure_planes(AuMtcnn *d, size_t n)
{
    if (n <= d->planes_cap)
        return 0;
    float *p = realloc(d->planes, n * sizeof(float));
    if (!p)
        return -1;
    d->planes = p;
    d->planes_cap = n;
    return 0;
}

/* (img - 127.5) * 0.0078125 split into R, G, B maps (OpenFace flips BGR). */
static void to_planes(const AuImageF32C *img, float *planes)
{
    size_t hw = (size_t)img->width * (size_t)img->height;
    for (int y = 0; y < img->height; y++) {
        const float *row = img->data + (size_t)y * img->stride;
        for (int x = 0; x < img->width; x++) {
            size_t p = (size_t)y * (size_t)img->width + (size_t)x;
            for (int c = 0; c < 3; c++)
                planes[(size_t)(2 - c) * hw + p] = (row[3 * x + c] - 127.5f) * 0.0078125f;
        }
    }
}

static float prob2(float a, float b)
{
    return 1.0f / (1.0f + expf(a - b));
}

/* The RNet / ONet stage over boxes [0, n): crops of (w+1) x (h+1) starting
 * one pixel up-left, zero outside the image, resized to size x size. */
static AuStatus refine(AuMtcnn *d, const AuCnn *net, int size, float thresh, AuError *err)
{
    int W = d->img.width, H = d->img.height;
    int kept = 0;
    for (int k = 0; k < d->n_boxes; k++) {
        AuMtcnnBox *b = &d->boxes[k];
        float wt = b->w + 1, ht = b->h + 1;
        int sx_in = (int)(b->x - 1) > 0 ? (int)(b->x - 1) : 0;
        int sy_in = (int)(b->y - 1) > 0 ? (int)(b->y - 1) : 0;
        int ex_in = (int)(b->x + wt - 1) < W ? (int)(b->x + wt - 1) : W;
        int ey_in = (int)(b->y + ht - 1) < H ? (int)(b->y + ht - 1) : H;
        int sx_out = (int)(-b->x + 1) > 0 ? (int)(-b->x + 1) : 0;
        int sy_out = (int)(-b->y + 1) > 0 ? (int)(-b->y + 1) : 0;
        int cw = (int)wt, ch = (int)ht;
        if (cw <= 0 || ch <= 0 || ex_in <= sx_in || ey_in <= sy_in)
            continue;
        AuStatus st;
        if ((st = reshape_f32c(&d->crop, &d->crop_cap, cw, ch, err)))
            return st;
        /* the image part [sy_in, ey_in) x [sx_in, sx_in + n) lands at
         * (sy_out, sx_out); everything else of the crop is zero */
        int n = ex_in - sx_in;
        if (sx_out + n > cw)
            n = cw - sx_out;
        if (n < 0)
            n = 0;
        int y_lo = sy_out < ch ? sy_out : ch;
        int y_hi = sy_out + (ey_in - sy_in) < ch ? sy_out + (ey_in - sy_in) : ch;
        size_t row_bytes = sizeof(float) * 3 * (size_t)cw;
        for (int yo = 0; yo < ch; yo++) {
            float *dst = d->crop.data + (size_t)yo * d->crop.stride;
            if (yo < y_lo || yo >= y_hi || n == 0) {
                memset(dst, 0, row_bytes);
                continue;
            }
            const float *src = d->img.data + (size_t)(yo - sy_out + sy_in) * d->img.stride + 3 * (size_t)sx_in;
            memset(dst, 0, sizeof(float) * 3 * (size_t)sx_out);
            memcpy(dst + 3 * (size_t)sx_out, src, sizeof(float) * 3 * (size_t)n);
            memset(dst + 3 * ((size_t)sx_out + (size_t)n), 0, sizeof(float) * 3 * ((size_t)cw - (size_t)sx_out - (size_t)n));
        }
        if (d->crop_rs.width != size) {
            au_image_f32c_free(&d->crop_rs);
            if ((st = au_image_f32c_alloc(&d->crop_rs, size, size, 3, err)))
                return st;
        }
        if ((st = au_resize_linear_f32c(&d->crop, &d->crop_rs, err)))
            return st;
        if (ensure_planes(d, 3 * (size_t)size * (size_t)size))
            return au_error_set(err, AU_ERR_NOMEM, "out of memory in MTCNN");
        to_planes(&d->crop_rs, d->planes);
        const float *out;
        AuCnnShape os;
        AuCnnShape is = {3, size, size};
        if ((st = au_cnn_forward(net, &d->work, d->planes, is, &out, &os, err)))
            return st;
        float p = prob2(out[0], out[1]);
        AuMtcnnBox c = {out[2], out[3], out[4], out[5], 0};
        if (p >= thresh) {
            d->boxes[kept] = *b;
            d->boxes[kept].score = p;
            d->corr[kept] = c;
            kept++;
        }
    }
    d->n_boxes = kept;
    return AU_OK;
}

AuStatus au_mtcnn_detect(AuMtcnn *d, const AuImageU8 *bgr, int min_face, float t1, float t2, float t3,
                         const AuMtcnnBox **faces, int *n_faces, AuError *err)
{
    *faces = NULL;
    *n_faces = 0;
    d->n_boxes = 0;
    if (bgr->channels != 3)
        return au_error_set(err, AU_ERR_ARG, "MTCNN needs a BGR image");
    AuStatus st;
    int W = bgr->width, H = bgr->height;
    if (d->img.width != W || d->img.height != H) {
        au_image_f32c_free(&d->img);
        if ((st = au_image_f32c_alloc(&d->img, W, H, 3, err)))
            return st;
    }
    au_image_u8_to_f32c(bgr, &d->img);
    const double factor = 0.709;
    int min_dim = W < H ? W : H;
    int num_scales = (int)floor(log((double)min_face / (double)min_dim) / log(factor)) + 1;
    for (int i = 0; i < num_scales; i++) {
        double scale = (12.0 / (double)min_face) * pow(factor, i);
        int hp = (int)ceil(H * scale), wp = (int)ceil(W * scale);
        if (hp < 12 || wp < 12)
            break;
        if ((st = reshape_f32c(&d->pyr, &d->pyr_cap, wp, hp, err)) || (st = au_resize_linear_f32c(&d->img, &d->pyr, err)))
            return st;
        if (ensure_planes(d, 3 * (size_t)wp * (size_t)hp))
            return au_error_set(err, AU_ERR_NOMEM, "out of memory in MTCNN");
        to_planes(&d->pyr, d->planes);
        const float *out;
        AuCnnShape os, is = {3, hp, wp};
        if ((st = au_cnn_forward(&d->model->pnet, &d->work, d->planes, is, &out, &os, err)))
            return st;
        size_t hw = (size_t)os.h * (size_t)os.w;
        int start = d->n_boxes;
        for (int x = 0; x < os.w; x++)
            for (int y = 0; y < os.h; y++) {
                size_t p = (size_t)y * (size_t)os.w + (size_t)x;
                float prob = prob2(out[p], out[hw + p]);
                if (prob < t1)
                    continue;
                float x0 = (float)(int)((2 * x + 1) / scale), x1 = (float)(int)((2 * x + 12) / scale);
                float y0 = (float)(int)((2 * y + 1) / scale), y1 = (float)(int)((2 * y + 12) / scale);
                AuMtcnnBox b = {x0, y0, x1 - x0, y1 - y0, prob};
                AuMtcnnBox c = {out[2 * hw + p], out[3 * hw + p], out[4 * hw + p], out[5 * hw + p], 0};
                if (push_box(d, b, c))
                    return au_error_set(err, AU_ERR_NOMEM, "out of memory in MTCNN");
            }
        d->n_boxes = nms(d, start, d->n_boxes, 0.5f, 0);
    }
    d->n_boxes = nms(d, 0, d->n_boxes, 0.7f, 0);
    for (int k = 0; k < d->n_boxes; k++) {
        apply_correction(&d->boxes[k], &d->corr[k], 0);
        rectify(&d->boxes[k]);
    }
    if ((st = refine(d, &d->model->rnet, 24, t2, err)))
        return st;
    d->n_boxes = nms(d, 0, d->n_boxes, 0.7f, 0);
    for (int k = 0; k < d->n_boxes; k++) {
        apply_correction(&d->boxes[k], &d->corr[k], 0);
        rectify(&d->boxes[k]);
    }
    if ((st = refine(d, &d->model->onet, 48, t3, err)))
        return st;
    for (int k = 0; k < d->n_boxes; k++)
        apply_correction(&d->boxes[k], &d->corr[k], 1);
    d->n_boxes = nms(d, 0, d->n_boxes, 0.7f, 1);
    for (int k = 0; k < d->n_boxes; k++) {
        AuMtcnnBox *b = &d->boxes[k];
        b->x = (float)((double)b->w * -0.0075 + (double)b->x);
        b->y = (float)((double)b->h * 0.2459 + (double)b->y);
        b->w = (float)(1.0323 * (double)b->w);
        b->h = (float)(0.7751 * (double)b->h);
    }
    *faces = d->boxes;
    *n_faces = d->n_boxes;
    return AU_OK;
}

AuStatus au_mtcnn_detect_single(AuMtcnn *d, const AuImageU8 *bgr, int *found, AuRectF *box, float *confidence,
                                AuError *err)
{
    const AuMtcnnBox *f;
    int n;
    AuStatus st = au_mtcnn_detect(d, bgr, 60, 0.6f, 0.7f, 0.7f, &f, &n, err);
    *found = 0;
    if (st)
        return st;
    if (n == 0) {
        *confidence = -2;
        return AU_OK;
    }
    int best = 0;
    for (int i = 1; i < n; i++)
        if (f[i].w > f[best].w)
            best = i;
    box->x = f[best].x;
    box->y = f[best].y;
    box->width = f[best].w;
    box->height = f[best].h;
    *confidence = f[best].score;
    *found = 1;
    return AU_OK;
}
