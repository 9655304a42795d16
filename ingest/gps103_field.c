/*
 * gps103_field.c: splitting a GPS103 message into fields and the texts of
 * its rejections (gps103_field.h).  The field readers are inline in the
 * header; nothing here allocates or reads outside the given bytes.
 */
#include "ingest/gps103_field.h"

#include <stdarg.h>
#include <stdio.h>

#include "ingest/report.h"
#include "lib/escape.h"

/* Formats a rejection reason (gps103_field.h). */
int
gps103_field_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return REPORT_ERROR;
}

/* "gps103: bad <what> '<value>'" (gps103_field.h). */
int
gps103_field_bad(char *err, size_t errlen, const char *what,
    const struct gps103_field *f)
{
	char v[64];

	escape_bytes(v, sizeof v, (const uint8_t *)f->p, f->n);
	return gps103_field_fail(err, errlen, "gps103: bad %s '%s'", what, v);
}
