/*
 * cell.h - what the text of one CSV cell means: missing, a number, or a
 * category string.
 *
 * Missing: an empty cell, or an unquoted NA, N/A, NaN, null or None (any
 * case). Numbers: what strtof accepts (decimal, exponent, inf), with
 * surrounding blanks allowed, and nothing else in the cell.
 */
#ifndef DRIFT_CLI_CELL_H
#define DRIFT_CLI_CELL_H

int cell_is_missing(const char *s, int quoted);
/* 1 and *out set when s is a whole number; 0 otherwise. */
int cell_parse_number(const char *s, float *out);

#endif /* DRIFT_CLI_CELL_H */
