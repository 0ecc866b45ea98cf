/* err - the text of an error, in storage the caller owns */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

int
err_set(struct err *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap); /* truncation ok */
	va_end(ap);
	return -1;
}
