/*
 * fuzz_store - the store's message readers as the SEARCH and SORT fuzz
 * targets link them: no header cache, and at most one message, held in
 * memory, that every GUID maps to.  Set it with fuzz_store_set_msg; with
 * none set, every read answers STORE_ENOENT.
 */
#ifndef BERTH_FUZZ_STORE_H
#define BERTH_FUZZ_STORE_H

#include <stddef.h>

/* fuzz_store_set_msg - the message store_msg_map returns (NULL: none);
 * the text is not copied and must outlive the reads */
void fuzz_store_set_msg(const char *data, size_t len);

#endif
