/* SPDX-License-Identifier: MIT */
/*
 * The one print path: every command builds a json_object document; here
 * it becomes either JSON (-j, -p) or text laid out by a pr_layout table.
 * No command formats its own output.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rdmactl/rdmactl.h"

#if JSON_C_VERSION_NUM >= ((0 << 16) | (14 << 8))
#define PR_HAVE_U64 1
#else
#define PR_HAVE_U64 0
#endif

#ifndef JSON_C_TO_STRING_NOSLASHESCAPE
#define JSON_C_TO_STRING_NOSLASHESCAPE 0
#endif

/* Labels in `lines` layouts are padded to this width. */
#define PR_LABEL_WIDTH	10

void pr_add_str(struct json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val ? val : ""));
}

void pr_add_int(struct json_object *o, const char *key, int64_t val)
{
	json_object_object_add(o, key, json_object_new_int64(val));
}

void pr_add_u64(struct json_object *o, const char *key, uint64_t val)
{
#if PR_HAVE_U64
	json_object_object_add(o, key, json_object_new_uint64(val));
#else
	json_object_object_add(o, key, json_object_new_int64(
		val > INT64_MAX ? INT64_MAX : (int64_t)val));
#endif
}

void pr_add_bool(struct json_object *o, const char *key, bool val)
{
	json_object_object_add(o, key, json_object_new_boolean(val));
}

void pr_add_guid(struct json_object *o, const char *key, uint64_t guid)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%04x:%04x:%04x:%04x",
		 (unsigned int)(guid >> 48) & 0xffff,
		 (unsigned int)(guid >> 32) & 0xffff,
		 (unsigned int)(guid >> 16) & 0xffff,
		 (unsigned int)guid & 0xffff);
	pr_add_str(o, key, buf);
}

void pr_add_time(struct json_object *o, const char *key, uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[64];
	long off;
	size_t n;

	if (!localtime_r(&tt, &tm)) {
		pr_add_u64(o, key, t);
		return;
	}
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	/* ISO 8601 extended offset: +hh:mm (strftime's %z has no colon). */
	off = tm.tm_gmtoff;
	snprintf(buf + n, sizeof(buf) - n, "%c%02ld:%02ld",
		 off < 0 ? '-' : '+', (off < 0 ? -off : off) / 3600,
		 ((off < 0 ? -off : off) / 60) % 60);
	pr_add_str(o, key, buf);
}

/* ---------------------------------------------------------------- text */

struct pr_text {
	const struct rdmactl *rc;
	FILE *out;
	unsigned int n;			/* fields on the current line */
};

static void pr_duration(FILE *out, int64_t s)
{
	int64_t d, h, m;

	if (s < 0)
		s = 0;
	d = s / 86400;
	h = s / 3600 % 24;
	m = s / 60 % 60;
	s %= 60;
	if (d)
		fprintf(out, "%" PRId64 "d%02" PRId64 "h%02" PRId64 "m%02" PRId64 "s", d, h, m, s);
	else if (h)
		fprintf(out, "%" PRId64 "h%02" PRId64 "m%02" PRId64 "s", h, m, s);
	else if (m)
		fprintf(out, "%" PRId64 "m%02" PRId64 "s", m, s);
	else
		fprintf(out, "%" PRId64 "s", s);
}

/*
 * A string as text: control characters (C0, DEL, and C1 as UTF-8 encodes
 * them) and the backslash escaped, so that a name or version a client
 * chose cannot move an administrator's cursor, retitle the terminal or
 * forge a line of output.  JSON output is escaped by json-c already.
 */
static void pr_text_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			fprintf(out, "\\u%04x", *++p);
		else
			fputc(*p, out);
	}
}

static void pr_text_value(FILE *out, const struct pr_field *f,
			  struct json_object *v)
{
	const char *s;
	uint64_t x;

	switch (json_object_get_type(v)) {
	case json_type_string:
		s = json_object_get_string(v);
		pr_text_string(out, f->names ? names_text(f->names, s) : s);
		return;
	case json_type_boolean:
		fputs(json_object_get_boolean(v) ? "yes" : "no", out);
		return;
	case json_type_int:
		if (f->fmt == PR_DURATION) {
			pr_duration(out, json_object_get_int64(v));
			return;
		}
		if (f->fmt == PR_HEX) {
#if PR_HAVE_U64
			x = json_object_get_uint64(v);
#else
			x = (uint64_t)json_object_get_int64(v);
#endif
			fprintf(out, "0x%" PRIx64, x);
			return;
		}
		break;
	default:
		break;
	}
	fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
					     JSON_C_TO_STRING_NOSLASHESCAPE), out);
}

/* Flag words and masks read best in hex, as ibv_devinfo prints them. */
static bool pr_key_is_bitmask(const char *key)
{
	size_t n = strlen(key);

	return strstr(key, "_flags") || strcmp(key, "page_size_cap") == 0 ||
	       (n > 5 && strcmp(key + n - 5, "_mask") == 0) ||
	       (n > 5 && strcmp(key + n - 5, "_caps") == 0);
}

static void pr_indent(FILE *out, unsigned int indent)
{
	fprintf(out, "%*s", (int)indent, "");
}

/* One scalar field: on its own line, or appended to the current one. */
static void pr_text_item(struct pr_text *t, const struct pr_layout *l,
			 unsigned int indent, const struct pr_field *f,
			 struct json_object *v)
{
	FILE *out = t->out;

	if (l->lines) {
		pr_indent(out, indent);
		fprintf(out, "%-*s ", PR_LABEL_WIDTH, f->label ? f->label : f->key);
		pr_text_value(out, f, v);
		fputc('\n', out);
		return;
	}
	if (t->n == 0) {
		pr_indent(out, indent);
	} else if (l->per_line && t->n % l->per_line == 0) {
		fputc('\n', out);
		pr_indent(out, indent);
	} else {
		fputc(' ', out);
	}
	t->n++;
	if (f->label && !(f->flags & PR_COLON))
		fprintf(out, "%s ", f->label);
	pr_text_value(out, f, v);
	if (f->flags & PR_COLON)
		fputc(':', out);
}

static void pr_text_object(struct pr_text *t, struct json_object *o,
			   const struct pr_layout *l, unsigned int indent);

static void pr_text_sub(struct pr_text *t, struct json_object *v,
			const struct pr_layout *l, unsigned int indent)
{
	size_t n;

	if (json_object_is_type(v, json_type_object)) {
		pr_text_object(t, v, l, indent + l->indent);
		return;
	}
	if (!json_object_is_type(v, json_type_array))
		return;
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++)
		pr_text_object(t, json_object_array_get_idx(v, i), l,
			       indent + l->indent);
}

static void pr_text_object(struct pr_text *t, struct json_object *o,
			   const struct pr_layout *l, unsigned int indent)
{
	const struct pr_field *f;
	struct json_object *v;

	if (!json_object_is_type(o, json_type_object))
		return;
	t->n = 0;
	if (!l->fields) {
		struct json_object_iter it;

		json_object_object_foreachC(o, it) {
			struct pr_field any = {
				.key = it.key, .label = it.key,
				.fmt = pr_key_is_bitmask(it.key) ? PR_HEX : PR_PLAIN,
			};

			if (json_object_is_type(it.val, json_type_object) ||
			    json_object_is_type(it.val, json_type_array))
				continue;
			pr_text_item(t, l, indent, &any, it.val);
		}
		if (t->n)
			fputc('\n', t->out);
		return;
	}
	for (f = l->fields; f->key; f++) {
		if (f->sub || ((f->flags & PR_DETAIL) && !t->rc->details))
			continue;
		if (json_object_object_get_ex(o, f->key, &v))
			pr_text_item(t, l, indent, f, v);
	}
	if (t->n)
		fputc('\n', t->out);
	for (f = l->fields; f->key; f++) {
		if (!f->sub || ((f->flags & PR_DETAIL) && !t->rc->details))
			continue;
		if (json_object_object_get_ex(o, f->key, &v))
			pr_text_sub(t, v, f->sub, indent);
	}
}

int pr_output(const struct rdmactl *rc, struct json_object *doc,
	      const struct pr_layout *layout)
{
	int ret = RDMACTL_OK;

	if (rc->json) {
		int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

		flags |= rc->pretty ?
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED :
			JSON_C_TO_STRING_PLAIN;
		fputs(json_object_to_json_string_ext(doc, flags), stdout);
		fputc('\n', stdout);
	} else {
		struct pr_text t = { .rc = rc, .out = stdout };
		struct pr_layout top = *layout;

		/* The top level starts at the left margin. */
		top.indent = 0;
		pr_text_sub(&t, doc, &top, 0);
	}
	json_object_put(doc);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "rdmactl: error writing the output\n");
		ret = RDMACTL_FAIL;
	}
	return ret;
}
