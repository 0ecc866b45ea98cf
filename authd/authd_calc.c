/*
 * authd_calc - the arithmetic behind admission and penalties, kept pure
 * (no configuration, no clock, no state) so unit tests can pin it down:
 * the connection-rate bucket, failure counters' exponential decay, the
 * delay a failure earns, a login's priority class, and the penalty box
 * with its hysteresis.
 */
#include "config.h"

#include <math.h>

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

double
authd_calc_decay(double v, long long dt_ms, long long halflife_ms)
{
	if (halflife_ms <= 0)
		return 0;
	if (dt_ms <= 0)
		return v; /* the clock went back: keep what we had */
	return v * exp2(-(double)dt_ms / (double)halflife_ms);
}

long long
authd_calc_delay(double level, long long base_ms, long long max_ms)
{
	long long d = base_ms;
	int k = (int)(level + 0.5), i;

	if (base_ms <= 0)
		return 0;
	if (k < 1)
		k = 1;
	/* 2^40 ms is decades: no overflow, and no cap needed to stop */
	for (i = 1; i < k && i < 40 && (max_ms <= 0 || d < max_ms); i++)
		d *= 2;
	return max_ms > 0 && d > max_ms ? max_ms : d;
}

int
authd_calc_class(int known, double addr_fails, double net_fails,
    double *score_r)
{
	*score_r = addr_fails + net_fails;
	if (known) {
		*score_r = 0;
		return 1;
	}
	if (addr_fails < AUTHD_CLEAN_LEVEL) {
		*score_r = net_fails;
		return 2;
	}
	return 3;
}

int
authd_calc_box(int boxed, double count, long long threshold)
{
	if (threshold <= 0)
		return 0;
	/* counts decay between failures: n quick ones make a little less
	 * than n, and should still count as n */
	if (count + 0.5 >= (double)threshold)
		return 1;
	/* hysteresis: out only once it has decayed to half the threshold */
	return boxed && count >= (double)threshold / 2;
}
