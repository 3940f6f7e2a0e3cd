// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_json.c - the JSON writer (jw_*) and the strict parser (jv_*) of
 * user/common/json.c: what the writer prints is exact and parses back; the
 * parser takes every valid document it is meant to take and refuses
 * malformed ones with a message that says what and where.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "json.h"

/* ---------------------------------------------------------------- writer */

static void expect_out(const char *name, struct jw *w, const char *want)
{
	T_CHECK(name, !w->oom && w->buf && !strcmp(w->buf, want),
		"got '%s', want '%s'", w->buf ? w->buf : "(null)", want);
	jw_free(w);
}

/* One string written alone prints as want. */
static void str_out(const char *name, const char *in, const char *want)
{
	struct jw w;

	jw_init(&w, false);
	jw_str(&w, in);
	expect_out(name, &w, want);
}

static void test_writer_escapes(void)
{
	char in[40], *p = in;
	struct jv *v;
	bool raw = false;
	struct jw w;

	str_out("jw quote and backslash", "a\"b\\c/d", "\"a\\\"b\\\\c/d\"");
	str_out("jw named control escapes", "\n\r\t\b\f",
		"\"\\n\\r\\t\\u0008\\u000c\"");
	str_out("jw DEL passes", "\x7f", "\"\x7f\"");
	/* UTF-8 is passed through as bytes */
	str_out("jw unicode passthrough",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	str_out("jw NULL string is empty", NULL, "\"\"");

	/* every control character 1..31 is escaped, none passes raw */
	for (int c = 1; c < 0x20; c++)
		*p++ = (char)c;
	*p = 0;
	jw_init(&w, false);
	jw_str(&w, in);
	for (size_t i = 0; w.buf && i < w.len; i++)
		raw |= (unsigned char)w.buf[i] < 0x20;
	T_CHECK("jw no raw control characters", w.buf && !raw, "output '%s'",
		w.buf);
	v = jv_parse(w.buf, w.len, NULL, 0);
	T_CHECK("jw control characters round trip",
		v && v->type == JV_STR && !strcmp(v->s, in),
		"does not parse back to the same string");
	jv_free(v);
	jw_free(&w);

	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "k\"ey\n", "v");
	jw_obj_end(&w);
	expect_out("jw key escaped", &w, "{\"k\\\"ey\\n\":\"v\"}");
}

static void test_writer_values(void)
{
	struct jw w;

	jw_init(&w, false);
	jw_arr_begin(&w);
	jw_int(&w, INT64_MIN);
	jw_int(&w, -1);
	jw_uint(&w, UINT64_MAX);
	jw_uint(&w, 0);
	jw_bool(&w, true);
	jw_bool(&w, false);
	jw_null(&w);
	jw_double(&w, 1.5);
	jw_double(&w, 1.0 / 0.0);
	jw_arr_end(&w);
	expect_out("jw scalars", &w,
		   "[-9223372036854775808,-1,18446744073709551615,0,true,"
		   "false,null,1.5,0]");
}

static void test_writer_nesting(void)
{
	struct jw w;
	struct jv *v;

	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kint(&w, "a", 1);
	jw_key(&w, "b");
	jw_arr_begin(&w);
	jw_arr_end(&w);
	jw_key(&w, "c");
	jw_obj_begin(&w);
	jw_obj_end(&w);
	jw_key(&w, "d");
	jw_arr_begin(&w);
	jw_obj_begin(&w);
	jw_kbool(&w, "x", true);
	jw_obj_end(&w);
	jw_obj_begin(&w);
	jw_obj_end(&w);
	jw_arr_begin(&w);
	jw_uint(&w, 2);
	jw_arr_end(&w);
	jw_arr_end(&w);
	jw_kstr(&w, "e", "z");
	jw_obj_end(&w);
	expect_out("jw nesting compact", &w,
		   "{\"a\":1,\"b\":[],\"c\":{},\"d\":[{\"x\":true},{},[2]],"
		   "\"e\":\"z\"}");

	jw_init(&w, true);
	jw_obj_begin(&w);
	jw_kint(&w, "a", 1);
	jw_key(&w, "b");
	jw_arr_begin(&w);
	jw_uint(&w, 2);
	jw_uint(&w, 3);
	jw_arr_end(&w);
	jw_key(&w, "c");
	jw_obj_begin(&w);
	jw_obj_end(&w);
	jw_obj_end(&w);
	expect_out("jw nesting pretty", &w,
		   "{\n  \"a\": 1,\n  \"b\": [\n    2,\n    3\n  ],\n"
		   "  \"c\": {}\n}");

	/* as deep as the writer supports: valid JSON of that depth */
	jw_init(&w, false);
	for (int i = 0; i < JW_MAX_DEPTH - 1; i++) {
		jw_arr_begin(&w);
		jw_uint(&w, (uint64_t)i);
	}
	for (int i = 0; i < JW_MAX_DEPTH - 1; i++)
		jw_arr_end(&w);
	v = jv_parse(w.buf, w.len, NULL, 0);
	{
		const struct jv *p = v;
		int depth = 0;

		while (p && p->type == JV_ARR) {
			depth++;
			p = p->n == 2 ? &p->items[1] : NULL;
		}
		T_CHECK("jw deep nesting", v && depth == JW_MAX_DEPTH - 1,
			"depth %d, output '%s'", depth, w.buf);
	}
	jv_free(v);
	jw_free(&w);
}

/* One container too deep: the writer fails (oom, too_deep) and writes
 * nothing more, instead of output whose separators are wrong. */
static void test_writer_too_deep(void)
{
	struct jw w;
	size_t len;

	jw_init(&w, false);
	for (int i = 0; i < JW_MAX_DEPTH - 1; i++)
		jw_arr_begin(&w);
	T_CHECK("jw deepest allowed", !w.oom && !w.too_deep, "failed early");
	len = w.len;
	jw_obj_begin(&w);
	jw_kint(&w, "a", 1);
	jw_obj_end(&w);
	jw_uint(&w, 2);
	for (int i = 0; i < JW_MAX_DEPTH - 1; i++)
		jw_arr_end(&w);
	T_CHECK("jw too deep fails", w.oom && w.too_deep && w.len == len,
		"oom %d too_deep %d, %zu bytes written after the failure",
		w.oom, w.too_deep, w.len - len);
	jw_free(&w);

	/* a failed writer stays failed */
	jw_init(&w, true);
	for (int i = 0; i < JW_MAX_DEPTH + 5; i++)
		jw_obj_begin(&w);
	for (int i = 0; i < JW_MAX_DEPTH + 5; i++)
		jw_obj_end(&w);
	jw_str(&w, "x");
	T_CHECK("jw too deep is sticky", w.oom && w.too_deep,
		"failure cleared");
	jw_free(&w);
}

/* Whatever bytes a string holds, the writer prints valid JSON that the
 * strict parser reads; well-formed UTF-8 comes back unchanged. */
static void test_writer_utf8(void)
{
	static const struct {
		const char *in, *want;
	} c[] = {
		{ "a\xff"
		  "b",
		  "\"a\xef\xbf\xbd"
		  "b\"" },
		{ "\x80", "\"\xef\xbf\xbd\"" },
		{ "caf\xc3", "\"caf\xef\xbf\xbd\"" },
		{ "\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xf4\x90\x80\x80x",
		  "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx\"" },
		{ "\xe2\x82\xac\xe2\x82",
		  "\"\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"" },
	};
	unsigned char in[4];
	char name[64];
	int refused = 0, changed = 0, first_bad = -1;
	struct jw w;
	struct jv *v;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(name, sizeof(name), "jw invalid UTF-8 replaced #%zu",
			 i);
		str_out(name, c[i].in, c[i].want);
	}

	/* every string of two bytes (1..255 each) */
	for (int a = 1; a < 256; a++) {
		for (int b = 1; b < 256; b++) {
			in[0] = (unsigned char)a;
			in[1] = (unsigned char)b;
			in[2] = 0;
			jw_init(&w, false);
			jw_str(&w, (const char *)in);
			v = jv_parse(w.buf, w.len, NULL, 0);
			if (!v || v->type != JV_STR) {
				refused++;
				if (first_bad < 0)
					first_bad = a << 8 | b;
			} else if ((a < 0x80 && b < 0x80) ||
				   (a >= 0xc2 && a < 0xe0 && b >= 0x80 &&
				    b < 0xc0)) {
				/* well-formed: must come back as is */
				changed += !!strcmp(v->s, (const char *)in);
			}
			jv_free(v);
			jw_free(&w);
		}
	}
	T_CHECK("jw any two bytes give valid JSON", !refused,
		"%d strings refused, first %04x", refused, first_bad);
	T_CHECK("jw valid two-byte strings kept", !changed,
		"%d strings changed", changed);

	/* an error answer quoting raw input, as lbd and lbctl write */
	jw_init(&w, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "error", "invalid address '10.0.0.\xff\x01\x1b[31m\xc3'");
	jw_key(&w, NULL);
	jw_null(&w);
	jw_obj_end(&w);
	v = jv_parse(w.buf, w.len, NULL, 0);
	T_CHECK("jw error quoting raw input is valid JSON",
		v && jv_get_str(v, "error") && jv_get(v, ""), "output '%s'",
		w.buf);
	jv_free(v);
	jw_free(&w);
}

/* A document built with the writer parses back to the same values. */
static void test_writer_roundtrip(void)
{
	const char *s = "line1\nline2\t\"q\" \\ caf\xc3\xa9";
	struct jw w;
	struct jv *v;
	uint64_t u = 0;

	jw_init(&w, true);
	jw_obj_begin(&w);
	jw_kstr(&w, "s", s);
	jw_kuint(&w, "u", UINT64_MAX);
	jw_kint(&w, "i", -42);
	jw_kbool(&w, "t", true);
	jw_key(&w, "n");
	jw_null(&w);
	jw_obj_end(&w);
	v = jv_parse(w.buf, w.len, NULL, 0);
	T_CHECK("jw round trip",
		v && jv_get_str(v, "s") && !strcmp(jv_get_str(v, "s"), s) &&
			!jv_get_uint(v, "u", UINT64_MAX, &u) &&
			u == UINT64_MAX && jv_get(v, "i") &&
			jv_get(v, "i")->d == -42 && jv_get(v, "t")->b &&
			jv_get(v, "n")->type == JV_NULL,
		"document '%s'", w.buf);
	jv_free(v);
	jw_free(&w);
}

/* ---------------------------------------------------------------- parser */

static struct jv *parse(const char *text, char *err, size_t errlen)
{
	return jv_parse(text, strlen(text), err, errlen);
}

static void ok(const char *name, const char *text, enum jv_type type)
{
	char err[128] = "";
	struct jv *v = parse(text, err, sizeof(err));

	T_CHECK(name, v && v->type == type, "'%s' refused: %s", text, err);
	jv_free(v);
}

/* Refused, and the message contains what (and "offset" with where). */
static void bad(const char *name, const char *text, size_t len,
		const char *what)
{
	char err[128] = "";
	struct jv *v = jv_parse(text, len, err, sizeof(err));

	if (v) {
		t_fail(name, "accepted");
		jv_free(v);
		return;
	}
	T_CHECK(name, strstr(err, what) && strstr(err, "offset"),
		"error '%s' should say '%s' and where", err, what);
}

#define BAD(name, text, what) bad(name, text, strlen(text), what)

static void test_parse_valid(void)
{
	char err[128] = "";
	struct jv *v;

	ok("jv null", "null", JV_NULL);
	ok("jv true", "true", JV_BOOL);
	ok("jv false", " false ", JV_BOOL);
	ok("jv number", "-12.5e-3", JV_NUM);
	ok("jv string", "\"x\"", JV_STR);
	ok("jv empty array", "[]", JV_ARR);
	ok("jv empty object", "{}", JV_OBJ);
	ok("jv whitespace", " \t\r\n{ \"a\" : [ 1 , 2 ] }\n", JV_OBJ);

	v = parse("{\"cmd\":\"list\",\"n\":[1,{\"x\":null}],\"b\":false}", err,
		  sizeof(err));
	T_CHECK("jv object content",
		v && v->n == 3 && !strcmp(v->keys[0], "cmd") &&
			!strcmp(jv_get_str(v, "cmd"), "list") &&
			jv_get(v, "n")->type == JV_ARR &&
			jv_get(v, "n")->n == 2 &&
			jv_get(&jv_get(v, "n")->items[1], "x")->type ==
				JV_NULL &&
			jv_get(v, "b")->type == JV_BOOL && !jv_get(v, "b")->b,
		"wrong tree (%s)", err);
	jv_free(v);

	v = parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\"",
		  err, sizeof(err));
	T_CHECK("jv string escapes",
		v && v->type == JV_STR &&
			!strcmp(v->s,
				"a\"b\\c/d\b\f\n\r\tA\xc3\xa9\xe2\x82\xac"),
		"wrong decoding (%s)", err);
	jv_free(v);

	v = parse("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", err, sizeof(err));
	T_CHECK("jv raw UTF-8 kept",
		v && !strcmp(v->s, "caf\xc3\xa9 \xf0\x9f\x98\x80"),
		"wrong (%s)", err);
	jv_free(v);

	v = parse("{\"a\\u0062\":1}", err, sizeof(err));
	T_CHECK("jv escaped key", v && jv_get(v, "ab"), "key not decoded");
	jv_free(v);

	/* a length shorter than the text: only that much is read */
	v = jv_parse("[1]garbage", 3, err, sizeof(err));
	T_CHECK("jv length bounds input", v && v->type == JV_ARR && v->n == 1,
		"refused: %s", err);
	jv_free(v);
}

static void test_parse_numbers(void)
{
	static const struct {
		const char *in;
		double d;
		int is_uint;
		uint64_t u;
	} c[] = {
		{ "0", 0, 1, 0 },
		{ "7", 7, 1, 7 },
		{ "-0", 0, 0, 0 },
		{ "-7", -7, 0, 0 },
		{ "1.25", 1.25, 0, 0 },
		{ "1e3", 1000, 0, 0 },
		{ "1E+3", 1000, 0, 0 },
		{ "25e-1", 2.5, 0, 0 },
		{ "18446744073709551615", 18446744073709551615.0, 1,
		  UINT64_MAX },
		{ "18446744073709551616", 18446744073709551616.0, 0, 0 },
	};
	char name[64], err[128];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct jv *v = parse(c[i].in, err, sizeof(err));

		snprintf(name, sizeof(name), "jv number %s", c[i].in);
		T_CHECK(name,
			v && v->type == JV_NUM && v->d == c[i].d &&
				v->is_uint == (bool)c[i].is_uint &&
				(!c[i].is_uint || v->u == c[i].u),
			"got %s", v ? "another value" : err);
		jv_free(v);
	}

	BAD("jv bad number leading zero", "01", "leading zero");
	BAD("jv bad number negative leading zero", "-01", "leading zero");
	BAD("jv bad number plus", "+1", "");
	BAD("jv bad number minus only", "-", "bad number");
	BAD("jv bad number dot first", ".5", "");
	BAD("jv bad number dot last", "1.", "");
	BAD("jv bad number dot exponent", "1.e5", "");
	BAD("jv bad number exponent only", "1e", "bad number");
	BAD("jv bad number exponent sign only", "1e+", "bad number");
	BAD("jv bad number hex", "0x10", "");
	BAD("jv bad number two minus", "--1", "bad number");
	BAD("jv bad number inner minus", "1-2", "bad number");
	BAD("jv bad number inf", "Infinity", "");
	BAD("jv bad number nan", "NaN", "");
	BAD("jv number out of range", "1e400", "bad number");
	BAD("jv bad number two dots", "1.5.3", "bad number");
	BAD("jv bad number two exponents", "1e5e5", "bad number");
	BAD("jv bad number minus dot", "-.5", "bad number");
	BAD("jv bad number exponent dot", "1e5.5", "bad number");
	BAD("jv bad number dot in array", "[1.]", "bad number");
	BAD("jv bad number leading zero fraction", "00.5", "leading zero");
	ok("jv number zero fraction", "0.0", JV_NUM);
	ok("jv number full form", "-0.0e-0", JV_NUM);
	ok("jv number in array", "[0,-1,2.5E+2]", JV_ARR);
	{
		char err[128] = "";
		struct jv *v = parse("1e-400", err, sizeof(err));

		T_CHECK("jv number underflow is 0",
			v && v->d == 0 && !v->is_uint, "%s",
			v ? "wrong value" : err);
		jv_free(v);
	}
	BAD("jv number too long",
	    "1111111111111111111111111111111111111111111111111111111111111111"
	    "111111",
	    "number too long");
}

static void test_parse_invalid(void)
{
	char err[128];
	char big[200];

	BAD("jv empty input", "", "unexpected end of input");
	BAD("jv only whitespace", "  \n", "unexpected end of input");
	BAD("jv trailing garbage", "{} x", "trailing data");
	BAD("jv two documents", "{}{}", "trailing data");
	BAD("jv trailing comma array", "[1,]", "");
	BAD("jv trailing comma object", "{\"a\":1,}", "expected a string key");
	BAD("jv missing colon", "{\"a\" 1}", "expected ':'");
	BAD("jv missing comma", "[1 2]", "expected ',' or ']'");
	BAD("jv unquoted key", "{a:1}", "expected a string key");
	BAD("jv single quotes", "{'a':1}", "expected a string key");
	BAD("jv duplicate key", "{\"a\":1,\"a\":2}", "duplicate key");
	BAD("jv duplicate key escaped", "{\"ab\":1,\"a\\u0062\":2}",
	    "duplicate key");
	BAD("jv duplicate key nested", "{\"o\":{\"k\":1,\"k\":1}}",
	    "duplicate key");
	BAD("jv truncated object", "{\"cmd\":\"list\"", "expected ',' or '}'");
	BAD("jv truncated value", "{\"cmd\":", "unexpected end of input");
	BAD("jv truncated array", "[1,2", "expected ',' or ']'");
	BAD("jv truncated string", "\"abc", "unterminated string");
	BAD("jv truncated after backslash", "\"abc\\", "unterminated string");
	BAD("jv truncated literal", "tru", "unexpected token");
	BAD("jv bad literal", "nul1", "unexpected token");
	BAD("jv literal with junk", "truex", "trailing data");
	BAD("jv comment", "{} // c", "trailing data");
	BAD("jv bad escape", "\"\\x41\"", "bad escape");
	BAD("jv bad escape single quote", "\"\\'\"", "bad escape");
	BAD("jv bad unicode escape", "\"\\u00zz\"", "bad \\u escape");
	BAD("jv truncated unicode escape", "\"\\u12\"", "\\u escape");
	BAD("jv NUL escape", "\"a\\u0000b\"", "NUL in string");
	BAD("jv lone surrogate", "\"\\ud800\"", "surrogate");
	BAD("jv raw control character", "\"a\tb\"", "control character");
	BAD("jv raw newline in string", "\"a\nb\"", "control character");
	bad("jv raw NUL in string", "\"a\0b\"", 5, "control character");
	bad("jv NUL after document", "{}\0", 3, "trailing data");
	/* invalid UTF-8 is not JSON (RFC 8259 section 8.1) */
	BAD("jv invalid UTF-8 lone continuation", "\"\x80\"", "");
	BAD("jv invalid UTF-8 truncated sequence", "\"\xc3\"", "");
	BAD("jv invalid UTF-8 byte ff", "\"\xff\"", "");
	BAD("jv invalid UTF-8 overlong", "\"\xc0\xaf\"", "");

	/* offsets point at the problem */
	parse("[1, 2, x]", err, sizeof(err));
	T_CHECK("jv error offset", strstr(err, "offset 7"), "error '%s'", err);
	/* the duplicate key starts at 7 and ends at 9 */
	parse("{\"a\":1,\"a\":2}", err, sizeof(err));
	{
		const char *o = strstr(err, "offset ");
		long off = o ? strtol(o + 7, NULL, 10) : -1;

		T_CHECK("jv duplicate key offset", off >= 7 && off <= 10,
			"error '%s'", err);
	}

	/* a tiny error buffer stays terminated */
	memset(big, 'x', sizeof(big));
	T_CHECK("jv small error buffer",
		!jv_parse("[", 1, big, 8) && memchr(big, 0, 8),
		"not terminated");
	/* no error buffer at all */
	T_CHECK("jv no error buffer", !jv_parse("[", 1, NULL, 0), "accepted");
}

/* Strict UTF-8 (RFC 3629) in raw string bytes, and \u escapes with
 * surrogate pairs. */
struct named_text {
	const char *name, *in;
};

/* A string document that decodes to want. */
static void str_in(const char *name, const char *text, const char *want)
{
	char err[128] = "";
	struct jv *v = parse(text, err, sizeof(err));

	T_CHECK(name, v && v->type == JV_STR && !strcmp(v->s, want), "%s",
		v ? "decoded wrongly" : err);
	jv_free(v);
}

static void test_parse_utf8(void)
{
	static const struct named_text good[] = {
		{ "U+007F", "\x7f" },
		{ "U+0080", "\xc2\x80" },
		{ "U+07FF", "\xdf\xbf" },
		{ "U+0800", "\xe0\xa0\x80" },
		{ "U+D7FF", "\xed\x9f\xbf" },
		{ "U+E000", "\xee\x80\x80" },
		{ "U+FFFF", "\xef\xbf\xbf" },
		{ "U+10000", "\xf0\x90\x80\x80" },
		{ "U+10FFFF", "\xf4\x8f\xbf\xbf" },
	};
	static const struct named_text badc[] = {
		{ "overlong 2-byte c1", "\xc1\xbf" },
		{ "overlong 3-byte", "\xe0\x80\xaf" },
		{ "overlong 3-byte e0 9f", "\xe0\x9f\xbf" },
		{ "overlong 4-byte", "\xf0\x80\x80\xaf" },
		{ "overlong 4-byte f0 8f", "\xf0\x8f\xbf\xbf" },
		{ "surrogate D800", "\xed\xa0\x80" },
		{ "surrogate DFFF", "\xed\xbf\xbf" },
		{ "surrogate pair", "\xed\xa0\xbd\xed\xb8\x80" },
		{ "above U+10FFFF", "\xf4\x90\x80\x80" },
		{ "lead f5", "\xf5\x80\x80\x80" },
		{ "lead fe", "\xfe" },
		{ "truncated 3-byte", "\xe2\x82" },
		{ "truncated 4-byte", "\xf0\x9f\x98" },
		{ "truncated then ASCII", "\xe2\x82x" },
		{ "bad continuation", "\xe2\x28\xa1" },
		{ "continuation run", "\x80\x80\x80" },
	};
	char name[96], text[32], err[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(name, sizeof(name), "jv UTF-8 %s", good[i].name);
		snprintf(text, sizeof(text), "\"%s\"", good[i].in);
		str_in(name, text, good[i].in);
	}
	for (size_t i = 0; i < sizeof(badc) / sizeof(badc[0]); i++) {
		snprintf(name, sizeof(name), "jv invalid UTF-8 %s",
			 badc[i].name);
		snprintf(text, sizeof(text), "\"%s\"", badc[i].in);
		BAD(name, text, "invalid UTF-8");
	}
	/* in a key too; a truncated sequence at the very end of the input */
	BAD("jv invalid UTF-8 in key", "{\"k\xff\":1}", "invalid UTF-8");
	bad("jv invalid UTF-8 at end of input", "\"\xe2\x82", 3,
	    "unterminated string");
	parse("[\"ab\xff\"]", err, sizeof(err));
	T_CHECK("jv invalid UTF-8 offset", strstr(err, "offset 4"),
		"error '%s'", err);

	str_in("jv surrogate pair escapes", "\"\\ud83d\\ude00 \\uD834\\uDD1E\"",
	       "\xf0\x9f\x98\x80 \xf0\x9d\x84\x9e");
	str_in("jv surrogate pair U+10FFFF", "\"\\udbff\\udfff\"",
	       "\xf4\x8f\xbf\xbf");
	BAD("jv lone low surrogate", "\"\\ude00\"", "surrogate");
	BAD("jv high surrogate then BMP", "\"\\ud83d\\u0041\"", "surrogate");
	BAD("jv high surrogate then text", "\"\\ud83dx\"", "surrogate");
	BAD("jv two high surrogates", "\"\\ud83d\\ud83d\"", "surrogate");
}

static void test_parse_depth(void)
{
	size_t n = 100000;
	char *s = malloc(2 * n + 1), err[128] = "";
	struct jv *v;

	/* moderate nesting is fine */
	for (size_t i = 0; i < 32; i++) {
		s[i] = '[';
		s[32 + i] = ']';
	}
	v = jv_parse(s, 64, err, sizeof(err));
	T_CHECK("jv nesting 32", v != NULL, "refused: %s", err);
	jv_free(v);

	/* deep nesting is refused, not a stack overflow */
	memset(s, '[', n);
	memset(s + n, ']', n);
	v = jv_parse(s, 2 * n, err, sizeof(err));
	T_CHECK("jv nesting 100000 refused", !v && strstr(err, "too deep"),
		"error '%s'", err);
	jv_free(v);
	/* {"a":{"a":... deep objects, truncated: refused either way */
	{
		size_t len = 0;

		for (size_t i = 0; i < 5000; i++) {
			memcpy(s + len, "{\"a\":", 5);
			len += 5;
		}
		v = jv_parse(s, len, err, sizeof(err));
		T_CHECK("jv deep objects refused",
			!v && strstr(err, "too deep"), "error '%s'", err);
		jv_free(v);
	}
	free(s);
}

static void test_lookups(void)
{
	const char *doc =
		"{\"s\":\"str\",\"u\":42,\"z\":0,\"neg\":-1,"
		"\"f\":1.5,\"e\":1e2,\"big\":18446744073709551615,"
		"\"b\":true,\"n\":null,\"a\":[1],\"o\":{\"s\":\"in\"},"
		"\"sn\":\"5\"}";
	struct jv *v = parse(doc, NULL, 0), *arr = parse("[\"s\"]", NULL, 0);
	uint64_t out;

	if (!v || !arr) {
		t_fail("jv lookups", "document refused");
		jv_free(v);
		jv_free(arr);
		return;
	}
	T_CHECK("jv_get present", jv_get(v, "u") && jv_get(v, "u")->d == 42,
		"not found");
	T_CHECK("jv_get absent", !jv_get(v, "nope"), "found");
	T_CHECK("jv_get not an object",
		!jv_get(arr, "s") && !jv_get(jv_get(v, "s"), "s"),
		"found in a non-object");
	T_CHECK("jv_get NULL object", !jv_get(NULL, "s"), "found");
	T_CHECK("jv_get case sensitive", !jv_get(v, "S"), "found");
	T_CHECK("jv_get does not recurse", !jv_get_str(v, "in"), "found");

	T_CHECK("jv_get_str string",
		jv_get_str(v, "s") && !strcmp(jv_get_str(v, "s"), "str"),
		"wrong");
	T_CHECK("jv_get_str not a string",
		!jv_get_str(v, "u") && !jv_get_str(v, "n") &&
			!jv_get_str(v, "a") && !jv_get_str(v, "o") &&
			!jv_get_str(v, "b"),
		"a non-string returned as string");
	T_CHECK("jv_get_str absent", !jv_get_str(v, "x"), "found");

	out = 7;
	T_CHECK("jv_get_uint value",
		!jv_get_uint(v, "u", 100, &out) && out == 42, "got %llu",
		(unsigned long long)out);
	T_CHECK("jv_get_uint max inclusive",
		!jv_get_uint(v, "u", 42, &out) && out == 42, "refused");
	T_CHECK("jv_get_uint zero", !jv_get_uint(v, "z", 0, &out) && out == 0,
		"refused");
	T_CHECK("jv_get_uint u64 max",
		!jv_get_uint(v, "big", UINT64_MAX, &out) && out == UINT64_MAX,
		"refused");
	out = 7;
	T_CHECK("jv_get_uint above max",
		jv_get_uint(v, "u", 41, &out) && out == 7, "accepted");
	T_CHECK("jv_get_uint negative",
		jv_get_uint(v, "neg", 100, &out) && out == 7, "accepted");
	T_CHECK("jv_get_uint fraction",
		jv_get_uint(v, "f", 100, &out) && out == 7, "accepted");
	T_CHECK("jv_get_uint exponent form",
		jv_get_uint(v, "e", 1000, &out) && out == 7, "accepted");
	T_CHECK("jv_get_uint string",
		jv_get_uint(v, "sn", 100, &out) && out == 7,
		"a string accepted as a number");
	T_CHECK("jv_get_uint other types",
		jv_get_uint(v, "b", 100, &out) &&
			jv_get_uint(v, "n", 100, &out) &&
			jv_get_uint(v, "a", 100, &out) &&
			jv_get_uint(v, "o", 100, &out) &&
			jv_get_uint(v, "x", 100, &out) &&
			jv_get_uint(arr, "s", 100, &out) == -EINVAL && out == 7,
		"accepted");
	jv_free(v);
	jv_free(arr);
}

static void jv_free_null(void)
{
	jv_free(NULL);
}

/* fn runs in a child: true if it returned (did not crash or abort). */
static bool survives(void (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return false;
	if (!pid) {
		fn();
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Every parse failure hands NULL to jv_free: it must be a no-op.  Run
 * first, in a child, so that a crash is this case's FAIL line. */
static void test_free_null(void)
{
	T_CHECK("jv_free NULL", survives(jv_free_null),
		"jv_free(NULL) killed the process");
}

int main(void)
{
	test_free_null();
	test_writer_escapes();
	test_writer_values();
	test_writer_nesting();
	test_writer_too_deep();
	test_writer_utf8();
	test_writer_roundtrip();
	test_parse_valid();
	test_parse_numbers();
	test_parse_invalid();
	test_parse_utf8();
	test_parse_depth();
	test_lookups();
	return t_exit();
}
