/* Export of a run's per-job results (--export-json / --export-csv): one record
 * per job with its identity, status, error, frames, frame-loop wall time and
 * every stored metric (metric_names.h). Undefined values are JSON null / an
 * empty CSV field. The per-variant table itself is summary.h's. */
#ifndef AUH_EXPORT_H
#define AUH_EXPORT_H

#include <stdint.h>

#include "error.h"
#include "store.h"

typedef enum AuhExportFormat { AUH_EXPORT_JSON = 0, AUH_EXPORT_CSV = 1 } AuhExportFormat;

/* Writes the run's jobs to path (errors name the file). */
AuStatus auh_export_run(AuhStore *s, int64_t run_id, const char *path, AuhExportFormat format, AuError *err);

#endif
