/*
 * err - the text of an error, in storage the caller owns.
 *
 * A lower layer that fails returns -1 and, when it has more to say than a
 * constant string, writes the reason into a struct err the caller passed:
 * no static buffer, so two failures never overwrite each other's text.
 */
#ifndef BERTH_ERR_H
#define BERTH_ERR_H

#define ERR_MAX 512

struct err {
	char msg[ERR_MAX];
};

/* BERTH_CHECK - a function whose failure a caller must not ignore: the
 * compiler warns at a call that drops the result; (void)!f() discards
 * one on purpose, with a comment saying why */
#define BERTH_CHECK __attribute__((warn_unused_result))

/* err_set - format the reason into e (NULL: dropped); returns -1 */
int err_set(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
