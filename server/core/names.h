/*
 * names.h - the ASCII characters driftd's names are made of: model ids,
 * token names, producer ids, alert severities and metric names all accept
 * [A-Za-z0-9] plus a few punctuation marks that each check names. Locale
 * independent (isalnum depends on the locale), header only.
 */
#ifndef DRIFTD_NAMES_H
#define DRIFTD_NAMES_H

#include <string.h>

/* Whether c is an ASCII letter or digit. */
static inline int dd_name_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Whether c is a letter, a digit or one of the characters of extra (a NUL
 * byte never is). */
static inline int dd_name_char(unsigned char c, const char *extra) {
  return dd_name_alnum(c) || (c != 0 && strchr(extra, c) != NULL);
}

#endif /* DRIFTD_NAMES_H */
