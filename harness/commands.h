/* Subcommands of auharness: each takes (argc, argv) with argv[0] the command
 * name and returns the process exit status. */
#ifndef AUH_COMMANDS_H
#define AUH_COMMANDS_H

int auh_cmd_bench_load(int argc, char **argv);
int auh_cmd_probe(int argc, char **argv);
int auh_cmd_extract(int argc, char **argv);
int auh_cmd_compare(int argc, char **argv);

#endif
