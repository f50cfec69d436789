/* Fault injection (fault.h). */
#include "fault.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Does the field [f, f + n) match name ("*" matches anything)? */
static int field_matches(const char *f, size_t n, const char *name)
{
    if (n == 1 && f[0] == '*')
        return 1;
    return strlen(name) == n && memcmp(f, name, n) == 0;
}

AuhFaultAction auh_fault_for(const char *spec, const char *variant, const char *item)
{
    static const struct {
        const char *name;
        AuhFaultAction action;
    } ACTIONS[] = {{"crash", AUH_FAULT_CRASH},
                   {"kill", AUH_FAULT_KILL},
                   {"kill-commit", AUH_FAULT_KILL_COMMIT},
                   {"kill-after", AUH_FAULT_KILL_AFTER}};
    if (!spec)
        return AUH_FAULT_NONE;
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *c1 = memchr(p, ':', (size_t)(end - p));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
        if (c2 && field_matches(c1 + 1, (size_t)(c2 - c1 - 1), variant) &&
            field_matches(c2 + 1, (size_t)(end - c2 - 1), item)) {
            for (size_t k = 0; k < sizeof(ACTIONS) / sizeof(ACTIONS[0]); k++)
                if (strlen(ACTIONS[k].name) == (size_t)(c1 - p) && !memcmp(ACTIONS[k].name, p, (size_t)(c1 - p)))
                    return ACTIONS[k].action;
        }
        p = *end ? end + 1 : end;
    }
    return AUH_FAULT_NONE;
}

void auh_fault_fire(AuhFaultAction action)
{
    switch (action) {
    case AUH_FAULT_NONE:
        return;
    case AUH_FAULT_CRASH:
        /* The default action, so that a sanitizer's SEGV handler does not turn
         * the signal into an ordinary exit: the parent must see a signal. */
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        break;
    case AUH_FAULT_KILL:
    case AUH_FAULT_KILL_COMMIT:
    case AUH_FAULT_KILL_AFTER:
        kill(getppid(), SIGKILL);
        raise(SIGKILL);
        break;
    }
    _exit(99); /* not reached */
}
