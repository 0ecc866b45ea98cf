/*
 * tlsd_conf - the TLS values of imapd.conf as data: protocol versions,
 * client certificate policy, the SNI table.  Pure parsing and lookup,
 * no OpenSSL objects and no files (tlsd_ctx loads those); tested by
 * tests/check_tlsd.c.
 *
 * The SNI table (tls_sni_certs) is a list of entries separated by blanks:
 *   name=certfile[,keyfile[,ocspfile]]
 * name is a host name or "*.domain" (one label); without keyfile the key
 * is in certfile; ocspfile is the entry's OCSP response to staple (as
 * tls_ocsp_file is the default certificate's).  Lookup is case-insensitive: an
 * exact name first, then the wildcard of the name's parent domain.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>

#include "tlsd.h"
#include "xalloc.h"

static char conf_err[512];

static const struct {
	const char *name;
	int version;
} conf_versions[] = {
	{ "tls1_0", TLS1_VERSION },
	{ "tls1_1", TLS1_1_VERSION },
	{ "tls1_2", TLS1_2_VERSION },
	{ "tls1_3", TLS1_3_VERSION },
};
#define CONF_NVERSIONS (sizeof(conf_versions) / sizeof(conf_versions[0]))

int
tlsd_conf_versions(const char *s, int *min_r, int *max_r, const char **error_r)
{
	char *copy = xstrdup(s ? s : ""), *w, *save = NULL;
	int seen[CONF_NVERSIONS] = { 0 }, lo = -1, hi = -1;
	size_t i;

	for (w = strtok_r(copy, " \t,", &save); w != NULL;
	     w = strtok_r(NULL, " \t,", &save)) {
		for (i = 0; i < CONF_NVERSIONS; i++)
			if (strcasecmp(w, conf_versions[i].name) == 0)
				break;
		if (i == CONF_NVERSIONS) {
			(void)snprintf(conf_err, sizeof(conf_err),
			    "tls_versions: "
			    "unknown version '%s' (tls1_0 tls1_1 tls1_2 "
			    "tls1_3)",
			    w);
			free(copy);
			*error_r = conf_err;
			return -1;
		}
		seen[i] = 1;
	}
	free(copy);
	for (i = 0; i < CONF_NVERSIONS; i++)
		if (seen[i]) {
			if (lo < 0)
				lo = (int)i;
			hi = (int)i;
		}
	if (lo < 0) {
		*error_r = "tls_versions: no version listed";
		return -1;
	}
	for (i = (size_t)lo; i <= (size_t)hi; i++)
		if (!seen[i]) {
			(void)snprintf(conf_err, sizeof(conf_err),
			    "tls_versions: "
			    "%s is missing between %s and %s: OpenSSL takes "
			    "a range",
			    conf_versions[i].name, conf_versions[lo].name,
			    conf_versions[hi].name);
			*error_r = conf_err;
			return -1;
		}
	*min_r = conf_versions[lo].version;
	*max_r = conf_versions[hi].version;
	return 0;
}

int
tlsd_conf_client_certs(const char *s)
{
	if (s == NULL || strcasecmp(s, "off") == 0 || strcasecmp(s, "no") == 0)
		return 0;
	if (strcasecmp(s, "optional") == 0)
		return 1;
	if (strcasecmp(s, "require") == 0)
		return 2;
	return -1;
}

/* conf_name_ok - a host name or "*." and a domain, in lower case */
static int
conf_name_ok(char *name)
{
	char *p = name;

	if (strncmp(p, "*.", 2) == 0)
		p += 2;
	if (*p == '\0' || *p == '.' || strlen(name) >= 254)
		return 0;
	for (; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return 0;
	}
	return p[-1] != '.';
}

/* conf_sni_entry - one "name=cert[,key[,ocsp]]" word; -1 bad */
static int
conf_sni_entry(char *w, struct tlsd_sni *e)
{
	char *eq = strchr(w, '='), *f[3] = { NULL, NULL, NULL }, *p;
	int n = 0;

	if (eq == NULL)
		return -1;
	*eq++ = '\0';
	for (p = eq; n < 3; n++) {
		f[n] = p;
		if ((p = strchr(p, ',')) == NULL)
			break;
		*p++ = '\0';
	}
	if (n == 3 || !conf_name_ok(w))
		return -1; /* a fourth field */
	for (n = 0; n < 3; n++)
		if (f[n] != NULL && *f[n] == '\0')
			return -1;
	e->name = xstrdup(w);
	e->cert = xstrdup(f[0]);
	e->key = xstrdup(f[1] != NULL ? f[1] : f[0]);
	e->ocsp = f[2] != NULL ? xstrdup(f[2]) : NULL;
	return 0;
}

int
tlsd_conf_sni_parse(const char *s, struct tlsd_sni_tab *tab,
    const char **error_r)
{
	char *copy = xstrdup(s ? s : ""), *w, *save = NULL, *orig;
	struct tlsd_sni e;

	for (w = strtok_r(copy, " \t", &save); w != NULL;
	     w = strtok_r(NULL, " \t", &save)) {
		orig = xstrdup(w);
		if (conf_sni_entry(w, &e) < 0) {
			(void)snprintf(conf_err, sizeof(conf_err),
			    "tls_sni_certs: "
			    "bad entry '%s' "
			    "(name=certfile[,keyfile[,ocspfile]])",
			    orig);
			free(orig);
			free(copy);
			*error_r = conf_err;
			return -1;
		}
		free(orig);
		tab->e = xreallocarray(tab->e, tab->n + 1, sizeof(*tab->e));
		tab->e[tab->n++] = e;
	}
	free(copy);
	return 0;
}

int
tlsd_conf_sni_find(const struct tlsd_sni_tab *tab, const char *name)
{
	const char *dot;
	size_t i;

	if (name == NULL || *name == '\0')
		return -1;
	for (i = 0; i < tab->n; i++)
		if (strcasecmp(tab->e[i].name, name) == 0)
			return (int)i;
	if ((dot = strchr(name, '.')) == NULL || dot[1] == '\0')
		return -1;
	for (i = 0; i < tab->n; i++)
		if (strncmp(tab->e[i].name, "*.", 2) == 0 &&
		    strcasecmp(tab->e[i].name + 2, dot + 1) == 0)
			return (int)i;
	return -1;
}

void
tlsd_conf_sni_free(struct tlsd_sni_tab *tab)
{
	size_t i;

	for (i = 0; i < tab->n; i++) {
		free(tab->e[i].name);
		free(tab->e[i].cert);
		free(tab->e[i].key);
		free(tab->e[i].ocsp);
	}
	free(tab->e);
	tab->e = NULL;
	tab->n = 0;
}
