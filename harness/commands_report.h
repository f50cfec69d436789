/* Commands that read a run back (summary.h, report.h): each takes (argc,
 * argv) with argv[0] the command name and returns the process exit status. */
#ifndef AUH_COMMANDS_REPORT_H
#define AUH_COMMANDS_REPORT_H

/* auharness report [RUN] [--db FILE] [--out DIR] [--data DIR] [--threshold T] [--no-plots]
 * 0: written (plots may be missing; said on stderr), 1: failed, 2: usage. */
int auh_cmd_report(int argc, char **argv);
/* auharness gate [RUN] [--db FILE] [--threshold T]
 * 0: every variant passes, 1: at least one fails, 2: usage or error. */
int auh_cmd_gate(int argc, char **argv);

#endif
