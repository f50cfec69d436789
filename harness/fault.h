/* Fault injection for testing the runner's crash containment and resume.
 *
 * The environment variable AUHARNESS_FAULT holds a comma-separated list of
 * ACTION:VARIANT:ITEM (VARIANT and ITEM may be "*"), e.g.
 *
 *   AUHARNESS_FAULT=crash:baseline:changeLighting auharness --all-variants
 *
 * Actions, each taken by the worker running the matching job:
 *   crash        raise SIGSEGV mid-job (after half of the job's frames, at
 *                least one): the parent records the job as failed and the
 *                run goes on.
 *   kill         SIGKILL the harness (the worker's parent) and the worker
 *                mid-job, as `kill -9` of the whole run would.
 *   kill-commit  the same, inside the job's commit transaction just before
 *                COMMIT (every row written, none committed).
 *   kill-after   the same, just after the job's commit, before the parent
 *                hears of it.
 * Unset or empty: no fault. Never set it outside tests. */
#ifndef AUH_FAULT_H
#define AUH_FAULT_H

#define AUH_FAULT_ENV "AUHARNESS_FAULT"

typedef enum AuhFaultAction {
    AUH_FAULT_NONE = 0,
    AUH_FAULT_CRASH,
    AUH_FAULT_KILL,
    AUH_FAULT_KILL_COMMIT,
    AUH_FAULT_KILL_AFTER,
} AuhFaultAction;

/* The action spec (the variable's value; NULL = none) asks for on this job. */
AuhFaultAction auh_fault_for(const char *spec, const char *variant, const char *item);
/* Takes the action (returns only for AUH_FAULT_NONE). */
void auh_fault_fire(AuhFaultAction action);

#endif
