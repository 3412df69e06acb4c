/* Messages: one line each on stderr, prefixed with the program name. */
#ifndef CFS_LOG_H
#define CFS_LOG_H

#include <stdbool.h>

void log_init(const char *program, bool verbose);
const char *log_program(void);
bool log_is_verbose(void);

/* -v output: one line per step, silent unless verbose. */
void verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An error line; printed only by the top level. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
