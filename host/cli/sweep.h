/*
 * sweep.h - `drift sweep`: compare two feature files column by column.
 */
#ifndef DRIFT_CLI_SWEEP_H
#define DRIFT_CLI_SWEEP_H

/* Runs the subcommand on its arguments (those after "sweep"); returns the
 * exit status (CLI_*). */
int sweep_main(int argc, char **argv);

#endif /* DRIFT_CLI_SWEEP_H */
