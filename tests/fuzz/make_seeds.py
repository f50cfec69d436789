#!/usr/bin/env python3
"""Writes the synthetic seed corpora of the fuzz targets (OUT_DIR/<target>/); tests/fuzz/run.sh
runs it before every fuzz run, so no seed file is committed.

Every seed is synthetic and authored here: tiny, valid instances of each file
format (OpenFace's model formats as core/ reads them, OpenFace CSV, .pts,
manifests), with made-up numbers. Nothing is derived from OpenFace's models,
videos or the 300-W data (their licences forbid committing them); scripts
tests/fuzz/run.sh adds copies and cuts of the real files at run time.
The video seeds (fuzz_video/, 3 synthetic frames of 32x24 in AVI, MKV and
MP4) are made by run.sh with the test tool built from tests/au_mkvideo.c.

Usage: tests/fuzz/make_seeds.py OUT_DIR
"""
import os
import struct
import sys

SEP = b"@@AUFUZZ@@"  # fuzz_common.h: FUZZ_SEP
CV_32S, CV_32F, CV_64F = 4, 5, 6


def i32(*v):
    return struct.pack("<%di" % len(v), *v)


def f32(*v):
    return struct.pack("<%df" % len(v), *v)


def f64(*v):
    return struct.pack("<%dd" % len(v), *v)


def matbin(rows, cols, typ, values):
    """OpenFace ReadMatBin: int32 rows, cols, type, then the raw data."""
    fmt = {CV_32S: "i", CV_32F: "f", CV_64F: "d"}[typ]
    assert len(values) == rows * cols
    return i32(rows, cols, typ) + struct.pack("<%d%s" % (len(values), fmt), *values)


def mattext(rows, cols, typ, values, per_line=None):
    """OpenFace ReadMat (text): rows, cols, type on their own lines, then the values."""
    per_line = per_line or cols
    out = "%d\n%d\n%d\n" % (rows, cols, typ)
    for k in range(0, len(values), per_line):
        out += " ".join(("%d" % v) if typ == CV_32S else ("%.6f" % v) for v in values[k:k + per_line]) + "\n"
    return out


def bundle(*parts):
    return SEP.join(p.encode() if isinstance(p, str) else p for p in parts)


# ---- CLNF parts: a 4-point PDM with 2 modes, one triangulation, one CCNF scale ----

N_PTS, N_MODES = 4, 2


def pdm_text():
    mean = [-10.0, 10.0, 10.0, -10.0,  # X
            -10.0, -10.0, 10.0, 10.0,  # Y
            1.0, 2.0, 3.0, 4.0]        # Z
    pc = [((r * 7 + c * 3) % 11 - 5) / 10.0 for r in range(3 * N_PTS) for c in range(N_MODES)]
    ev = [4.0, 1.0]
    return ("# The mean values of the components (in mm)\n" + mattext(3 * N_PTS, 1, CV_64F, mean) +
            "# The principal components (eigenvectors) of identity or combined identity and expression model\n" +
            mattext(3 * N_PTS, N_MODES, CV_64F, pc) +
            "# The variances of the components (eigenvalues) of identity or combined identity and expression model\n" +
            mattext(1, N_MODES, CV_64F, ev))


def tris_text():
    return ("# number of triangulations\n1\n# triangulation, frontal\n" +
            mattext(2, 3, CV_32S, [0, 1, 2, 0, 2, 3]))


def tris_single_text():
    return mattext(2, 3, CV_32S, [0, 1, 2, 0, 2, 3])


def ccnf_bin(n_points=N_PTS, ws=3, patch=3, n_views=1):
    """Patch_experts::Read_CCNF_patch_experts layout (see core/ccnf.h)."""
    out = f64(0.25) + i32(n_views)
    for v in range(n_views):
        out += matbin(3, 1, CV_64F, [0.0, 30.0 * v, 0.0])
    for v in range(n_views):
        out += matbin(n_points, 1, CV_32S, [1] * n_points)
    n2 = ws * ws
    # one window with one sigma component: a symmetric neighbour matrix
    comp = [1.0 if abs(i - j) == 1 else 0.0 for i in range(n2) for j in range(n2)]
    out += i32(1) + i32(ws, 1) + matbin(n2, n2, CV_32F, comp)
    for v in range(n_views):
        for p in range(n_points):
            out += i32(5, patch, patch, 1)  # marker, width, height, one neuron
            w = [((k * 5 + p) % 7 - 3) / 10.0 for k in range(patch * patch)]
            out += i32(2, 0) + f64(1.5, -0.25, 0.8) + matbin(patch, patch, CV_32F, w)
            out += f64(0.5)    # one beta per sigma component of window 0
            out += f64(0.9)    # patch confidence
    return out


def clnf_list():
    return "PDM 2\nTriangulations 3\nPatchesCCNF 4\n"


def clnf_main_bundle():
    main = ("LandmarkDetector 1\n"
            "LandmarkDetector_part 5 inner 0 0 1 1 2 2 3 3\n"
            "FaceDetConversion 6\n"
            "DetectionValidator 7\n")
    part_main = "LandmarkDetector 1\n"
    conv = mattext(3, 4, CV_64F, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0])
    return bundle(main, clnf_list(), pdm_text(), tris_text(), ccnf_bin(), part_main, conv, "validator")


# ---- CNNs: the MTCNN and validator layer lists (core/cnn_weights.h) ----

def conv_layer(n_in, n_out, k):
    out = i32(0, n_in, n_out) + f32(*[0.1 * (o + 1) for o in range(n_out)])
    for i in range(n_in):
        for o in range(n_out):
            out += matbin(k, k, CV_32F, [((i + o + j) % 5 - 2) / 4.0 for j in range(k * k)])
    return out


def fc_layer(n_in, n_out):
    return (i32(2) + matbin(n_out, 1, CV_32F, [0.01 * o for o in range(n_out)]) +
            matbin(n_in, n_out, CV_32F, [((i * 3 + o) % 7 - 3) / 8.0 for i in range(n_in) for o in range(n_out)]))


def pnet():   # 12x12 RGB -> 6 maps (2 scores + 4 box corrections) per pixel
    return i32(3) + conv_layer(3, 4, 3) + i32(3) + matbin(4, 1, CV_32F, [0.25] * 4) + fc_layer(4, 6)


def rnet():   # 24x24 -> conv 3x3, PReLU, 2x2 max pool, FC to 6 outputs
    return (i32(4) + conv_layer(3, 2, 3) + i32(3) + matbin(2, 1, CV_32F, [0.25, 0.5]) +
            i32(1, 2, 2, 2, 2) + fc_layer(2 * 11 * 11, 6))


def onet():   # 48x48 -> 5x5 conv (2 maps), 4x4 max pool stride 4, FC to 10, sigmoid
    return i32(4) + conv_layer(3, 2, 5) + i32(1, 4, 4, 4, 4) + fc_layer(2 * 11 * 11, 10) + i32(4)


def validator_cnn():  # 4x4 warp -> conv 3x3 (2 maps 2x2), ReLU, FC 8->3, FC 3->2 (a row of bins)
    return i32(4) + conv_layer(1, 2, 3) + i32(3) + fc_layer(8, 3) + fc_layer(3, 2)


def validator_bin():
    """DetectionValidator::Read with one view and a 4x4 warp of 3 landmarks."""
    h = w = 4
    n_pix = h * w
    out = i32(3, 1) + matbin(3, 1, CV_64F, [0.0, 0.0, 0.0])
    out += matbin(1, n_pix, CV_64F, [0.5] * n_pix) + matbin(1, n_pix, CV_64F, [0.25] * n_pix)
    out += validator_cnn()
    out += i32(n_pix) + f64(0.0, 0.0)
    out += matbin(6, 1, CV_64F, [0.0, 3.0, 0.0, 0.0, 0.0, 3.0])   # xs then ys
    out += matbin(1, 3, CV_32S, [0, 1, 2])
    out += matbin(h, w, CV_32S, [0] * n_pix)
    out += matbin(h, w, CV_32S, [1] * n_pix)
    out += matbin(1, 3, CV_64F, [0.1, 0.2, 0.3]) + matbin(1, 3, CV_64F, [0.3, 0.2, 0.1])
    return out


# ---- AU models (core/au_model.h) ----

def au_dat(typ, dim=3, cutoff=0.3):
    out = i32(typ)
    if typ == 1:
        out += f64(cutoff)
    out += matbin(1, dim, CV_64F, [0.1 * k for k in range(dim)])
    out += matbin(dim, 1, CV_64F, [0.5 - 0.2 * k for k in range(dim)])
    out += f64(0.05)
    if typ in (4, 5):
        out += f64(1.0, 0.0)
    return out


def au_bundle():
    main = "AUPredictor 1\nPDM 2\nTriangulation 3\n"
    lst = "4 AU01\n5 AU02\n6 AU04\n7 AU05\n"
    return bundle(main, lst, pdm_text(), tris_single_text(), au_dat(0), au_dat(1), au_dat(4), au_dat(5))


# ---- harness text formats ----

def openface_header():
    cols = ["frame", "face_id", "timestamp", "confidence", "success"]
    cols += ["gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z", "gaze_angle_x", "gaze_angle_y"]
    cols += ["eye_lmk_x_%d" % i for i in range(56)] + ["eye_lmk_y_%d" % i for i in range(56)]
    cols += ["eye_lmk_%s_%d" % (a, i) for a in "XYZ" for i in range(56)]
    cols += ["pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"]
    cols += ["x_%d" % i for i in range(68)] + ["y_%d" % i for i in range(68)]
    cols += ["%s_%d" % (a, i) for a in "XYZ" for i in range(68)]
    cols += ["p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"] + ["p_%d" % i for i in range(34)]
    reg = ["AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14", "AU15", "AU17",
           "AU20", "AU23", "AU25", "AU26", "AU45"]
    cls = reg[:16] + ["AU28", "AU45"]
    cols += [a + "_r" for a in reg] + [a + "_c" for a in sorted(set(cls))]
    return cols


def openface_csv(n_rows=3):
    cols = openface_header()
    lines = [", ".join(cols)]
    for r in range(n_rows):
        vals = []
        for c, name in enumerate(cols):
            if name == "frame":
                vals.append("%d" % (r + 1))
            elif name == "face_id":
                vals.append("0")
            elif name == "timestamp":
                vals.append("%.3f" % (r / 30.0))
            elif name == "confidence":
                vals.append("0.98")
            elif name == "success":
                vals.append("1" if r != 1 else "0")
            elif name.endswith("_c"):
                vals.append("%.2f" % ((r + c) % 2))
            else:
                vals.append("%.3f" % (((r * 31 + c * 7) % 400) / 4.0 - 50.0))
        lines.append(", ".join(vals))
    return "\n".join(lines) + "\n"


def openface_csv_small():
    return ("frame,face_id,timestamp,confidence,success,x_0,y_0,AU01_r,AU12_r,AU01_c\n"
            "1,0,0.000,0.98,1,10.5,20.25,0.50,1.25,1.00\n"
            "2,0,0.033,0.97,1,11.0,20.75,0.75,1.50,0.00\n")


def pts(n=68):
    body = "".join("%.3f %.3f\n" % (100 + 3.5 * k, 200 - 1.25 * k) for k in range(n))
    return "version: 1\nn_points:  %d\n{\n%s}\n" % (n, body)


MANIFESTS = [
    "# synthetic manifest over the fuzz target's own data folder\n"
    "auharness-manifest 1\n"
    "video v.wmv labels=v.csv openface=v.csv name=vid\n"
    "images img labels=img openface=img name=faces\n"
    "study study\n",
    "auharness-manifest 1\n"
    "video \"v.wmv\" name=\"quoted\"\n"
    "images img labels=none\n",
    "auharness-manifest 1\nvideo out/secret.wmv\n",     # leaves the folder by a link: refused
    "auharness-manifest 1\nvideo ../secret.wmv name=up\n",  # leaves by ..: refused
]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_seeds.py OUT_DIR")
    out = sys.argv[1]
    seeds = {
        "fuzz_pdm": {"pdm.txt": pdm_text()},
        "fuzz_tris": {"tris.txt": tris_text(), "tris_single.txt": tris_single_text()},
        "fuzz_ccnf": {"ccnf_1view.bin": ccnf_bin(), "ccnf_2views.bin": ccnf_bin(n_views=2, n_points=2)},
        # fuzz_cnn: byte 0 = dialect (bit 0) | input size index << 1; byte 1 = input maps - 1
        "fuzz_cnn": {"pnet.bin": bytes([0 << 1 | 0, 2]) + pnet(),
                     "rnet.bin": bytes([1 << 1 | 0, 2]) + rnet(),
                     "onet.bin": bytes([2 << 1 | 0, 2]) + onet(),
                     "validator.bin": bytes([3 << 1 | 1, 0]) + i32(4) + conv_layer(1, 2, 3) + i32(3) + fc_layer(8, 3)
                     + fc_layer(3, 2)},
        "fuzz_validator": {"validator.bin": validator_bin()},
        "fuzz_mtcnn_model": {"mtcnn.bundle": bundle("PNet 1\nRNet 2\nONet 3\n", pnet(), rnet(), onet())},
        "fuzz_clnf_model": {"clnf.bundle": clnf_main_bundle(),
                            "clnf_noparts.bundle": bundle("LandmarkDetector 1\n", clnf_list(), pdm_text(),
                                                          tris_text(), ccnf_bin())},
        "fuzz_au_models": {"au.bundle": au_bundle()},
        "fuzz_openface_csv": {"full.csv": openface_csv(), "small.csv": openface_csv_small()},
        "fuzz_pts": {"68.pts": pts(68), "3.pts": pts(3)},
        "fuzz_manifest": {"m%d.manifest" % k: m for k, m in enumerate(MANIFESTS)},
    }
    for target, files in seeds.items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
