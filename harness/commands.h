/* Subcommands of auharness: each takes (argc, argv) with argv[0] the command
 * name and returns the process exit status. */
#ifndef AUH_COMMANDS_H
#define AUH_COMMANDS_H

int auh_cmd_bench_load(int argc, char **argv);
int auh_cmd_probe(int argc, char **argv);
int auh_cmd_extract(int argc, char **argv);
int auh_cmd_compare(int argc, char **argv);
int auh_cmd_run(int argc, char **argv);
int auh_cmd_merge(int argc, char **argv);
/* gate and report: commands_report.h */
int auh_cmd_list(int argc, char **argv);

/* The run command's option help (cmd_run.c). */
#include <stdio.h>
void auh_run_usage(FILE *f);
/* Opens an existing results database for a reading command; prints the
 * error naming the file and returns 2 when it is missing or unreadable. */
#include "store.h"
int auh_open_existing_store(AuhStore *s, const char *path, const char *cmd);

#endif
