/* compare: one OpenFace-format CSV against another (labels, e.g. OpenFace
 * C++'s output for the same video), with the DESIGN's metric definitions:
 * landmark error per frame = mean point-to-point distance over the 68 points
 * (frames where both succeed), reported as mean and median over frames; AU
 * accuracy = Pearson r per intensity AU over frames where both succeed, the
 * mean over AUs that are not constant in the labels (those are listed);
 * presence agreement over frame-AU pairs; pose differences (median). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "openface_csv.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    if (!n)
        return NAN;
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int auh_cmd_compare(int argc, char **argv)
{
    const char *ours = NULL, *ref = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--labels") && i + 1 < argc)
            ref = argv[++i];
        else if (!ours && argv[i][0] != '-')
            ours = argv[i];
        else {
            fprintf(stderr, "usage: auharness compare OURS.csv --labels OPENFACE.csv\n");
            return 2;
        }
    }
    if (!ours || !ref) {
        fprintf(stderr, "usage: auharness compare OURS.csv --labels OPENFACE.csv\n");
        return 2;
    }
    AuhOfCsv a, b;
    AuError err = {0};
    if (auh_of_csv_read(&a, ours, &err)) {
        fprintf(stderr, "compare: %s\n", err.msg);
        return 1;
    }
    if (auh_of_csv_read(&b, ref, &err)) {
        fprintf(stderr, "compare: %s\n", err.msg);
        auh_of_csv_free(&a);
        return 1;
    }
    size_t n = a.n_rows < b.n_rows ? a.n_rows : b.n_rows;
    if (a.n_rows != b.n_rows)
        fprintf(stderr, "compare: %zu rows vs %zu label rows; comparing the first %zu\n", a.n_rows, b.n_rows, n);
    double *lm = calloc(n + 1, sizeof(double)), *pt = calloc(n + 1, sizeof(double)), *pr = calloc(n + 1, sizeof(double));
    size_t n_both = 0;
    unsigned char *both = calloc(n + 1, 1);
    for (size_t r = 0; r < n; r++) {
        if (auh_of_csv_success(&a, r) != 1 || auh_of_csv_success(&b, r) != 1)
            continue;
        both[r] = 1;
        double e = 0;
        for (int i = 0; i < 68; i++) {
            double dx = auh_of_csv_landmark_x(&a, r, i) - auh_of_csv_landmark_x(&b, r, i);
            double dy = auh_of_csv_landmark_y(&a, r, i) - auh_of_csv_landmark_y(&b, r, i);
            e += sqrt(dx * dx + dy * dy) / 68;
        }
        double dt = 0, dr = 0;
        for (int k = 0; k < 3; k++) {
            dt = fmax(dt, fabs(auh_of_csv_get(&a, r, a.col_pose + k) - auh_of_csv_get(&b, r, b.col_pose + k)));
            dr = fmax(dr, fabs(auh_of_csv_get(&a, r, a.col_pose + 3 + k) - auh_of_csv_get(&b, r, b.col_pose + 3 + k)));
        }
        lm[n_both] = e;
        pt[n_both] = dt;
        pr[n_both] = dr * (180.0 / 3.14159265358979323846);
        n_both++;
    }
    double lm_mean = 0;
    for (size_t i = 0; i < n_both; i++)
        lm_mean += lm[i] / (double)n_both;
    printf("%s vs %s: %zu frames, %zu where both succeed\n", ours, ref, n, n_both);
    printf("  landmarks: mean %.4f px, median-frame %.4f px\n", lm_mean, median(lm, n_both));
    printf("  pose: median max|dT| %.3f mm, median max|dR| %.4f deg\n", median(pt, n_both), median(pr, n_both));
    printf("  AU      r        MAE\n");
    double r_sum = 0;
    int r_n = 0;
    char constant[512] = "";
    for (int k = 0; k < a.layout.n_au_reg; k++) {
        char col[64];
        snprintf(col, sizeof(col), "%s_r", a.layout.au_reg[k]);
        int ca = auh_of_csv_column(&a, col), cb = auh_of_csv_column(&b, col);
        if (ca < 0 || cb < 0)
            continue;
        double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, mae = 0;
        size_t m = 0;
        for (size_t r = 0; r < n; r++) {
            if (!both[r])
                continue;
            double x = auh_of_csv_get(&a, r, ca), y = auh_of_csv_get(&b, r, cb);
            sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y, mae += fabs(x - y);
            m++;
        }
        double vx = sxx - sx * sx / m, vy = syy - sy * sy / m;
        if (m == 0 || vy <= 1e-12) {
            strncat(constant, col, sizeof(constant) - strlen(constant) - 2);
            strcat(constant, " ");
            continue;
        }
        double r = vx <= 1e-12 ? 0 : (sxy - sx * sy / m) / sqrt(vx * vy);
        printf("  %-6s  %.4f   %.4f\n", a.layout.au_reg[k], r, mae / m);
        r_sum += r;
        r_n++;
    }
    printf("  AU accuracy (mean Pearson r over %d AUs): %.4f%s%s\n", r_n, r_n ? r_sum / r_n : NAN,
           constant[0] ? "; constant in labels, left out: " : "", constant);
    size_t agree = 0, pairs = 0;
    for (int k = 0; k < a.layout.n_au_class; k++) {
        char col[64];
        snprintf(col, sizeof(col), "%s_c", a.layout.au_class[k]);
        int ca = auh_of_csv_column(&a, col), cb = auh_of_csv_column(&b, col);
        if (ca < 0 || cb < 0)
            continue;
        for (size_t r = 0; r < n; r++) {
            if (!both[r])
                continue;
            agree += (auh_of_csv_get(&a, r, ca) >= 0.5) == (auh_of_csv_get(&b, r, cb) >= 0.5);
            pairs++;
        }
    }
    printf("  presence agreement: %.4f (%zu frame-AU pairs)\n", pairs ? (double)agree / pairs : NAN, pairs);
    free(lm);
    free(pt);
    free(pr);
    free(both);
    auh_of_csv_free(&a);
    auh_of_csv_free(&b);
    return 0;
}
