/*
 * slowcheckpw - a checkpassword program for Dovecot whose every check
 * takes 100 ms, the "slow password backend" of the benchmarks.
 *
 * Owns: one password check in the checkpassword protocol as Dovecot 2.3
 * runs it (passdb driver = checkpassword): "user\0password\0" arrives on
 * fd 3; on success we set USER and exec the reply program named in our
 * arguments (Dovecot's checkpassword-reply), on a wrong password we exit
 * 1, on trouble 111 (temporary failure).
 *
 * Does not: look at anything but the user table, which is the file
 * "users" beside this program (lines "user:password"), so the benchmark
 * needs no argument parsing of Dovecot's passdb args.
 *
 * Written in C rather than sh so that the checks in flight cost Dovecot's
 * process tree about what a real helper would, not two shells each.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* slowcheckpw_lookup - 1 if user:pw is a line of the table, 0 if not */
static int
slowcheckpw_lookup(const char *table, const char *user, const char *pw)
{
	char line[512];
	size_t ul = strlen(user);
	FILE *f;
	int ok = 0;

	if ((f = fopen(table, "r")) == NULL)
		exit(111);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strncmp(line, user, ul) == 0 && line[ul] == ':' &&
		    strcmp(line + ul + 1, pw) == 0) {
			ok = 1;
			break;
		}
	}
	fclose(f);
	return ok;
}

int
main(int argc, char **argv)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	char in[1024], table[4096], *user, *pw, *slash;
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(in) - 1 &&
	    (n = read(3, in + len, sizeof(in) - 1 - len)) > 0)
		len += (size_t)n;
	in[len] = '\0';
	user = in;
	pw = user + strlen(user) + 1;
	if (pw >= in + len + 1)
		return 111;
	(void)snprintf(table, sizeof(table), "%s", argv[0]);
	slash = strrchr(table, '/');
	if (slash == NULL)
		return 111;
	(void)snprintf(slash + 1, sizeof(table) - (size_t)(slash + 1 - table),
	    "users");
	nanosleep(&ts, NULL);
	if (!slowcheckpw_lookup(table, user, pw))
		return 1;
	if (argc < 2)
		return 0;
	setenv("USER", user, 1);
	execv(argv[1], argv + 1);
	return 111;
}
