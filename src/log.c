#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static const char *program_name = "cfsoverlay";
static bool verbose_enabled;

void log_init(const char *program, bool is_verbose)
{
	program_name = program;
	verbose_enabled = is_verbose;
}

const char *log_program(void)
{
	return program_name;
}

bool log_is_verbose(void)
{
	return verbose_enabled;
}

__attribute__((format(printf, 1, 0))) static void vlog(const char *fmt, va_list ap)
{
	/* Build the line first so that concurrent helpers never interleave halves. */
	char line[4096];
	int n = snprintf(line, sizeof(line), "%s: ", program_name);

	if (n < 0)
		return;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void verbose(const char *fmt, ...)
{
	va_list ap;

	if (!verbose_enabled)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}
