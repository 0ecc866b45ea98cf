/*
 * saslcfg - libsasl2's options from imapd.conf: SASL option <name> is the
 * key sasl_<name> (sasl_pwcheck_method, sasl_sasldb_path, ...), as in
 * Cyrus.  Shared by authd (the server side) and berthctl (sasldb).
 */
#ifndef BERTH_SASLCFG_H
#define BERTH_SASLCFG_H

/* saslcfg_getopt - a SASL_CB_GETOPT callback: SASL_OK with the value, or
 * SASL_FAIL when the key is not set */
int saslcfg_getopt(void *ctx, const char *plugin, const char *option,
    const char **result, unsigned *len);

#endif
