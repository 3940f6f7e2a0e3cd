/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * json.h - a small JSON writer and a strict JSON parser: enough for the
 * control protocol (one JSON object per line) and the state file.
 */
#ifndef LB_JSON_H
#define LB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * ---- writer: appends to a growing buffer.  Failures stick in oom, after
 * which nothing more is written and buf is not a complete document: out of
 * memory, or containers nested deeper than JW_MAX_DEPTH - 1 (too_deep also
 * set).  Strings are always written as valid UTF-8 with control characters
 * escaped; ill-formed UTF-8 in the input becomes U+FFFD.
 */
#define JW_MAX_DEPTH 64

struct jw {
	char *buf;
	size_t len, cap;
	int depth;
	bool first[JW_MAX_DEPTH];
	bool after_key;
	bool pretty;
	bool oom; /* failed: out of memory, or too_deep */
	bool too_deep; /* a container opened beyond JW_MAX_DEPTH - 1 levels */
};

void jw_init(struct jw *w, bool pretty);
void jw_free(struct jw *w);
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_double(struct jw *w, double v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* key + value shorthands */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_kuint(struct jw *w, const char *key, uint64_t v);
void jw_kdouble(struct jw *w, const char *key, double v);
void jw_kbool(struct jw *w, const char *key, bool v);

/* ---- parser */
/* Deepest nesting jv_parse takes, counting every value: what the writer
 * writes at its deepest (JW_MAX_DEPTH - 1 containers and a scalar) fits. */
#define JV_MAX_DEPTH 64
enum jv_type { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

struct jv {
	enum jv_type type;
	bool b;
	double d;
	uint64_t u; /* valid when is_uint */
	bool is_uint; /* a non-negative integer that fits in 64 bits */
	char *s;
	size_t n; /* items of an array or object */
	struct jv *items; /* array items, or object values */
	char **keys; /* object keys */
};

/* Parse exactly one JSON value (RFC 8259, surrounding whitespace allowed).
 * Strict: strings must be valid UTF-8 without NUL (\u0000), objects
 * without duplicate keys, nesting at most JV_MAX_DEPTH values deep.  Returns
 * NULL with a message naming the offset in err on malformed input. */
struct jv *jv_parse(const char *text, size_t len, char *err, size_t errlen);
void jv_free(struct jv *v);

/* Lookups; NULL when absent or of another type. */
const struct jv *jv_get(const struct jv *obj, const char *key);
const char *jv_get_str(const struct jv *obj, const char *key);
/* 0 and *out set when key is a non-negative integer <= max. */
int jv_get_uint(const struct jv *obj, const char *key, uint64_t max,
		uint64_t *out);

/* Length of the well-formed UTF-8 sequence at p (at most avail bytes), or
 * 0 if there is none (shared by the parser and the writer). */
size_t json_utf8_len(const unsigned char *p, size_t avail);

#endif /* LB_JSON_H */
