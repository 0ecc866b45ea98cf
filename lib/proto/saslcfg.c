/*
 * saslcfg - libsasl2's options from imapd.conf (see saslcfg.h).
 */
#include "config.h"

#include <sasl/sasl.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "saslcfg.h"

int
saslcfg_getopt(void *ctx, const char *plugin, const char *option,
    const char **result, unsigned *len)
{
	char key[128];
	const char *v;

	(void)ctx;
	(void)plugin;
	snprintf(key, sizeof(key), "sasl_%s", option);
	if ((v = cfg_str_any(key)) == NULL)
		return SASL_FAIL;
	*result = v;
	if (len)
		*len = (unsigned)strlen(v);
	return SASL_OK;
}
