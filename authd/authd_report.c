/*
 * authd_report - authd's event log: one line per login, failed login,
 * refusal and shed request, and while a storm lasts a summary line per
 * interval instead of thousands of identical lines.
 *
 * Each kind of event may log authd_log_burst lines per authd_log_interval;
 * past that its lines are suppressed and counted, and at the end of the
 * interval one "storm" line gives the totals, the suppressed count and
 * the top addresses, users and limits.  The interval after the last
 * suppressed one gets a final summary too, so an operator sees the storm
 * end.  Never logs passwords or SASL data: only the claimed user name.
 *
 * Main thread only.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "authd.h"
#include "buf.h"
#include "cfg.h"
#include "log.h"

#define REPORT_MAX_KEYS 20000 /* distinct addresses counted per interval */
#define REPORT_TOP 5

enum report_kind {
	REPORT_OK,
	REPORT_FAIL,
	REPORT_REFUSE,
	REPORT_SHED,
	REPORT_NKINDS,
};

static struct {
	long long start_ms;
	unsigned long n[REPORT_NKINDS];
	unsigned long suppressed;
	int storm; /* the last interval suppressed lines */
	struct htab *addrs, *users, *limits;
} report;

static void
report_init(void)
{
	if (report.addrs != NULL)
		return;
	report.addrs = htab_new();
	report.users = htab_new();
	report.limits = htab_new();
	report.start_ms = authd_now_ms();
}

static void
report_count(struct htab *t, const char *key)
{
	if (key == NULL || *key == '\0')
		return;
	if (htab_count(t) >= REPORT_MAX_KEYS &&
	    htab_num(t, key, strlen(key)) == 0)
		key = "(others)";
	htab_add(t, key, strlen(key), 1);
}

/* report_event - count an event; 1 when its line may be logged */
static int
report_event(enum report_kind kind, const char *addr, const char *user,
    const char *limit)
{
	report_init();
	report.n[kind]++;
	if (kind != REPORT_OK) {
		report_count(report.addrs, addr);
		report_count(report.users, user);
		report_count(report.limits, limit);
	}
	if (kind == REPORT_OK ||
	    (long long)report.n[kind] <= cfg_int("authd_log_burst"))
		return 1;
	report.suppressed++;
	return 0;
}

/* report_top - " name=k1:n1,k2:n2" of the largest counts in t */
static void
report_top(struct buf *out, const char *name, struct htab *t)
{
	struct htab_iter it = HTAB_ITER;
	const void *key[REPORT_TOP], *k;
	size_t klen[REPORT_TOP], len;
	long long num[REPORT_TOP], n;
	int have = 0, i, j;

	while (htab_next(t, &it, &k, &len, NULL, &n)) {
		for (i = have; i > 0 && num[i - 1] < n; i--)
			;
		if (i >= REPORT_TOP)
			continue;
		for (j = have < REPORT_TOP ? have : REPORT_TOP - 1; j > i;
		     j--) {
			key[j] = key[j - 1];
			klen[j] = klen[j - 1];
			num[j] = num[j - 1];
		}
		key[i] = k;
		klen[i] = len;
		num[i] = n;
		if (have < REPORT_TOP)
			have++;
	}
	if (have == 0)
		return;
	buf_printf(out, " %s=", name);
	for (i = 0; i < have; i++)
		buf_printf(out, "%s%.*s:%lld", i ? "," : "", (int)klen[i],
		    (const char *)key[i], num[i]);
}

static void
report_reset(long long now)
{
	memset(report.n, 0, sizeof(report.n));
	report.suppressed = 0;
	htab_free(&report.addrs);
	htab_free(&report.users);
	htab_free(&report.limits);
	report.addrs = htab_new();
	report.users = htab_new();
	report.limits = htab_new();
	report.start_ms = now;
}

void
authd_report_tick(long long now_ms)
{
	struct buf line = BUF_INIT;
	long long iv = cfg_duration_ms("authd_log_interval");

	report_init();
	if (iv <= 0 || now_ms - report.start_ms < iv)
		return;
	if (report.suppressed > 0 || report.storm) {
		buf_printf(&line,
		    "storm interval_s=%lld logins=%lu "
		    "failures=%lu refusals=%lu shed=%lu suppressed=%lu "
		    "connections=%zu",
		    (now_ms - report.start_ms) / 1000, report.n[REPORT_OK],
		    report.n[REPORT_FAIL], report.n[REPORT_REFUSE],
		    report.n[REPORT_SHED], report.suppressed,
		    authd_hold_total());
		report_top(&line, "top_addrs", report.addrs);
		report_top(&line, "top_users", report.users);
		report_top(&line, "top_limits", report.limits);
		if (report.suppressed == 0)
			buf_puts(&line, " ended=yes");
		log_info("%s", buf_cstr(&line));
		buf_free(&line);
	}
	report.storm = report.suppressed > 0;
	report_reset(now_ms);
}

void
authd_report_login(const char *user, const char *addr, const char *mech,
    const char *authid)
{
	report_event(REPORT_OK, addr, user, NULL);
	if (authid != NULL)
		log_info("login ok user=%s addr=%s mech=%s authid=%s "
			 "as=admin",
		    user, addr, mech, authid);
	else
		log_info("login ok user=%s addr=%s mech=%s", user, addr, mech);
}

void
authd_report_failure(const char *user, const char *addr, const char *mech,
    int conn_fails, const struct authd_level *lv, long long delay_ms)
{
	if (!report_event(REPORT_FAIL, addr, user, NULL))
		return;
	if (lv == NULL) {
		log_info("login failed user=%s addr=%s mech=%s conn_fails=%d",
		    user[0] ? user : "-", addr, mech, conn_fails);
		return;
	}
	log_info("login failed user=%s addr=%s mech=%s conn_fails=%d "
		 "fails_addr=%.1f fails_net=%.1f fails_user=%.1f "
		 "delay_ms=%lld%s",
	    user[0] ? user : "-", addr, mech, conn_fails, lv->addr, lv->net,
	    lv->user, delay_ms, lv->boxed ? " penalty_box=yes" : "");
}

void
authd_report_refusal(const char *addr, const char *limit, const char *detail)
{
	if (report_event(REPORT_REFUSE, addr, NULL, limit))
		log_info("refuse addr=%s limit=%s %s", addr, limit, detail);
}

void
authd_report_limit(const char *user, const char *addr, const char *limit,
    long long max, const char *text)
{
	if (report_event(REPORT_REFUSE, addr, user, limit))
		log_info("refuse user=%s addr=%s limit=%s:%lld reason=\"%s\"",
		    user, addr, limit, max, text);
}

void
authd_report_malformed(const char *addr, const char *mech, const char *why)
{
	if (report_event(REPORT_REFUSE, addr, NULL, "malformed"))
		log_info("login refused user=- addr=%s mech=%s reason=\"%s\"",
		    addr, mech, why ? why : "malformed");
}

void
authd_report_shed(const char *user, const char *addr, const char *why, int prio,
    long long waited_ms)
{
	if (report_event(REPORT_SHED, addr, user, why))
		log_info("shed user=%s addr=%s reason=%s prio=%d "
			 "waited_ms=%lld",
		    user[0] ? user : "-", addr, why, prio, waited_ms);
}
