/*
 * authd_calc - the arithmetic behind admission and penalties, kept pure
 * (no configuration, no clock, no state) so unit tests can pin it down.
 */
#include "config.h"

#include "authd.h"

int
authd_calc_bucket(double *tokens, long long *last_ms, long long now_ms,
    long long limit, long long window_ms)
{
	long long dt = now_ms - *last_ms;

	if (limit <= 0 || window_ms <= 0)
		return 1;
	if (dt > 0) {
		*tokens += (double)dt * (double)limit / (double)window_ms;
		*last_ms = now_ms;
	}
	if (*tokens > (double)limit)
		*tokens = (double)limit;
	if (*tokens < 1.0)
		return 0;
	*tokens -= 1.0;
	return 1;
}
