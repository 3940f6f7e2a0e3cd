/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * checkspec.h - the words operators write for a health check, on lbctl's
 * command line and in a configuration file: the check itself
 * (none | tcp[:PORT] | http[:PORT][/PATH]) and durations (500ms, 2s, 1m).
 * One reader, so both say the same words.
 */
#ifndef LB_CHECKSPEC_H
#define LB_CHECKSPEC_H

#include <stddef.h>
#include <stdint.h>

#define LB_CHECK_KINDLEN 8
#define LB_CHECK_PATHLEN 256

struct lb_check_spec {
	char kind[LB_CHECK_KINDLEN]; /* "none", "tcp" or "http" */
	uint32_t port; /* 0: not given */
	char path[LB_CHECK_PATHLEN]; /* "" : not given */
};

/* none | tcp[:PORT] | http[:PORT][/PATH] into c.  0, or -EINVAL with a
 * one-line message in err. */
int lb_parse_check_spec(const char *s, struct lb_check_spec *c, char *err,
			size_t errlen);

/* A duration of at most an hour: "500ms", "2s", "1.5s", "1m"; a bare
 * number is seconds.  0, or -EINVAL with a one-line message in err. */
int lb_parse_duration_ms(const char *s, uint32_t *ms, char *err, size_t errlen);

/* ms as a duration lb_parse_duration_ms reads back: "2s", "1500ms". */
const char *lb_format_duration(uint32_t ms, char *buf, size_t len);

#endif /* LB_CHECKSPEC_H */
