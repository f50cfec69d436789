/* Dataset manifests: which videos and image sets the harness runs on, and
 * their label files. Format (documented for users in datasets/README.md):
 *
 *   # comment
 *   auharness-manifest 1
 *   video  <file>   [labels=<OpenFace CSV>] [openface=<OpenFace CSV>] [name=<id>]
 *   images <folder> [labels=<folder of .pts>|none] [openface=<folder of CSVs>] [name=<id>]
 *   study  <folder>
 *
 * Fields are separated by blanks; a field (or a key's value) may be written in
 * double quotes to hold blanks, with \" and \\ as the only escapes. Paths are
 * relative to the data folder (absolute paths are accepted only inside it);
 * every path is resolved with realpath() and refused when it leaves the data
 * folder, by ".." or by a symbolic link. Every error reads "file:LINE: ...".
 *
 * A `study` line (and auh_manifest_from_study) turns a folder of videos into
 * one video item per file, labelled by the OpenFace CSV of the same stem when
 * there is one (FeatureExtraction's own output naming). */
#ifndef AUH_MANIFEST_H
#define AUH_MANIFEST_H

#include <stddef.h>

#include "error.h"

#define AUH_MANIFEST_VERSION 1
#define AUH_MANIFEST_LINE_MAX 8192
#define AUH_ITEM_ID_MAX 128

typedef enum AuhItemKind {
    AUH_ITEM_VIDEO = 0,  /* a video with optional OpenFace CSV labels (landmarks and AUs) */
    AUH_ITEM_IMAGES = 1, /* a folder of still images with iBUG .pts landmark labels */
} AuhItemKind;

/* One image of an image set; absolute, resolved paths. */
typedef struct AuhImageEntry {
    char *name;     /* file name inside the folder, e.g. "lfpw_test_image_0001.jpg" */
    char *image;
    char *labels;   /* the .pts, NULL when the set has labels=none */
    char *openface; /* OpenFace C++ FaceLandmarkImg CSV, NULL when absent */
} AuhImageEntry;

typedef struct AuhManifestItem {
    AuhItemKind kind;
    char *id;            /* unique within the manifest: [A-Za-z0-9._-]+, not starting with '.' */
    char *path;          /* resolved absolute path of the video file or image folder */
    char *rel;           /* the same, relative to the data folder (stored in results) */
    char *labels;        /* video: resolved label CSV or NULL; images: label folder or NULL */
    char *labels_rel;
    char *openface;      /* OpenFace C++ output to compare with (CSV / folder), or NULL */
    int line;            /* line of the manifest that named it (0 for a study folder) */
    size_t n_images;     /* image sets: entries sorted by file name (strcmp) */
    AuhImageEntry *images;
} AuhManifestItem;

typedef struct AuhManifest {
    char *name;          /* dataset name: the manifest's file name without ".manifest" */
    char *source;        /* the manifest path as given (for messages) */
    char *root;          /* resolved data folder */
    size_t n_items, cap_items;
    AuhManifestItem *items;
} AuhManifest;

/* Reads a manifest file; paths resolve against data_root (must exist). */
AuStatus auh_manifest_load(AuhManifest *m, const char *path, const char *data_root, AuError *err);
/* Same on text in memory, reported as file `name`. */
AuStatus auh_manifest_parse(AuhManifest *m, const char *name, const char *text, size_t len,
                            const char *data_root, AuError *err);
/* A study folder given directly (e.g. on the command line): the folder itself
 * is the root, so its videos and CSVs must lie inside it. Dataset name is the
 * folder's base name. */
AuStatus auh_manifest_from_study(AuhManifest *m, const char *folder, AuError *err);
/* Accepts a zeroed or partially loaded manifest. */
void auh_manifest_free(AuhManifest *m);

const AuhManifestItem *auh_manifest_find(const AuhManifest *m, const char *id);
const char *auh_item_kind_name(AuhItemKind kind); /* "video" / "images" */

/* What a resolved path must be. */
typedef enum AuhPathType { AUH_PATH_FILE = 0, AUH_PATH_DIR = 1 } AuhPathType;

/* Resolves path (relative to root_real, or absolute) to a malloc'ed absolute
 * path inside root_real, which must itself be a realpath() result. Refuses
 * paths that leave root_real lexically ("..") or through a symbolic link,
 * missing paths, and paths of the wrong type. The message names the path but
 * not the manifest line (callers prefix it). */
AuStatus auh_path_resolve(const char *root_real, const char *path, AuhPathType type, char **out,
                          AuError *err);

#endif
