/*
 * libFuzzer harness for src/options.c: opts_split, opts_classify, opts_parse
 * and opts_data_string, then the values they hand on to the idmap and lowerdir
 * parsers, in the order mount.c's plan_options() uses them.
 *
 * Properties checked (abort() on violation):
 * - split never yields an empty token, and splitting the tokens joined again
 *   with commas gives the same tokens;
 * - opts_classify() answers one of the five classes for every token;
 * - a failed parse leaves ret untouched and names the problem in e.msg; a
 *   successful one leaves e empty;
 * - after a parse: no propagation bit among the flags, at most one propagation
 *   type, one data entry per key, no lowerdir=/upperdir=/workdir= and nothing
 *   but overlay data among the data entries;
 * - opts_data_string() parsed again gives the same upperdir, workdir and data
 *   (when every value stays one token on its own, i.e. has balanced quotes and
 *   no dangling backslash).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "idmap.h"
#include "layers.h"
#include "options.h"

#ifndef MS_PROPAGATION
#define MS_PROPAGATION (MS_SHARED | MS_SLAVE | MS_UNBINDABLE | MS_PRIVATE)
#endif

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static size_t key_len(const char *token)
{
	return strcspn(token, "=");
}

static void check_split(const char *input)
{
	char **tok = NULL, **again = NULL;
	size_t n = 0, n2 = 0, len = 0;
	char *joined, *p;

	if (opts_split(input, &tok, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		enum cfs_opt_class c = opts_classify(tok[i]);

		CHECK(tok[i][0] != '\0');
		CHECK(c <= CFS_OPT_DATA);
		len += strlen(tok[i]) + 1;
	}
	joined = p = malloc(len + 1);
	CHECK(joined);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(tok[i]);

		if (i)
			*p++ = ',';
		memcpy(p, tok[i], l);
		p += l;
	}
	*p = '\0';
	if (opts_split(joined, &again, &n2) == 0) {
		CHECK(n2 == n);
		for (size_t i = 0; i < n; i++)
			CHECK(strcmp(tok[i], again[i]) == 0);
		opts_strv_free(again, n2);
	}
	free(joined);
	opts_strv_free(tok, n);
}

/* True when value, followed by another option, comes back from opts_split as
 * itself: balanced quotes and no backslash left to escape the comma. */
static bool stays_one_token(const char *value)
{
	char **tok = NULL, *s;
	size_t n = 0, len;
	bool same;

	if (!value)
		return true;
	len = strlen(value);
	s = malloc(len + 3);
	CHECK(s);
	memcpy(s, value, len);
	memcpy(s + len, ",x", 3);
	if (opts_split(s, &tok, &n) < 0) {
		free(s);
		return false;
	}
	same = n == 2 && strcmp(tok[0], value) == 0 && strcmp(tok[1], "x") == 0;
	opts_strv_free(tok, n);
	free(s);
	return same;
}

static void check_parsed(const struct cfs_mount_opts *o)
{
	unsigned long prop = o->propagation & ~(unsigned long)MS_REC;

	CHECK(!(o->flags & MS_PROPAGATION));
	CHECK(prop == 0 || prop == MS_SHARED || prop == MS_SLAVE || prop == MS_PRIVATE ||
	      prop == MS_UNBINDABLE);
	CHECK(o->api == CFS_API_AUTO || o->api == CFS_API_NEW || o->api == CFS_API_LEGACY);
	for (size_t i = 0; i < o->n_data; i++) {
		const char *d = o->data[i];

		CHECK(d && d[0] != '\0');
		CHECK(opts_classify(d) == CFS_OPT_DATA);
		CHECK(strncmp(d, "lowerdir=", 9) != 0 && strncmp(d, "upperdir=", 9) != 0 &&
		      strncmp(d, "workdir=", 8) != 0);
		for (size_t j = 0; j < i; j++)
			CHECK(key_len(o->data[j]) != key_len(d) ||
			      strncmp(o->data[j], d, key_len(d)) != 0);
	}
}

/* The data string is what reaches mount(2) after "lowerdir=...,": it must mean
 * the same options when read back. */
static void check_data_string(const struct cfs_mount_opts *o)
{
	struct cfs_mount_opts back;
	struct cfs_error e = { 0 };
	char *s = NULL;
	bool stable = stays_one_token(o->upperdir) && stays_one_token(o->workdir);
	int r;

	for (size_t i = 0; stable && i < o->n_data; i++)
		stable = stays_one_token(o->data[i]);

	r = opts_data_string(o, &s);
	if (r == -ENOMEM)
		return;
	CHECK(r == 0 && s);
	if (stable) {
		memset(&back, 0, sizeof(back));
		r = opts_parse(s, &back, &e);
		if (r != -ENOMEM) {
			CHECK(r == 0);
			CHECK(str_eq(back.upperdir, o->upperdir));
			CHECK(str_eq(back.workdir, o->workdir));
			CHECK(back.n_data == o->n_data);
			for (size_t i = 0; i < o->n_data; i++)
				CHECK(strcmp(back.data[i], o->data[i]) == 0);
			CHECK(!back.lowerdir && back.flags == 0 && back.propagation == 0);
			opts_free(&back);
		}
	}
	free(s);
}

/* What plan_options() does next with the values; results are not checked
 * here (fuzz_idmap and fuzz_layers do), only that nothing crashes or leaks. */
static void hand_on(const struct cfs_mount_opts *o)
{
	static struct idmap m;
	struct cfs_error e = { 0 };
	char *path = NULL;

	if (o->uidmap)
		(void)idmap_parse("uidmap", o->uidmap, &m, &e);
	if (o->gidmap)
		(void)idmap_parse("gidmap", o->gidmap, &m, &e);
	if (o->upperdir && layers_decode_path(o->upperdir, &path) == 0)
		free(path);
	path = NULL;
	if (o->workdir && layers_decode_path(o->workdir, &path) == 0)
		free(path);
	if (o->lowerdir) {
		struct cfs_layers l = { 0 };

		if (layers_parse(o->lowerdir, &l) == 0)
			layers_free(&l);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfs_mount_opts o, sentinel;
	struct cfs_error e = { 0 };
	char *input;
	int r;

	/* The parsers take C strings: an embedded NUL simply ends the input. */
	input = malloc(size + 1);
	if (!input)
		return 0;
	memcpy(input, data, size);
	input[size] = '\0';

	check_split(input);

	memset(&o, 0xA5, sizeof(o));
	memset(&sentinel, 0xA5, sizeof(sentinel));
	r = opts_parse(input, &o, &e);
	if (r < 0) {
		CHECK(cfs_failed(&e));
		CHECK(memcmp(&o, &sentinel, sizeof(o)) == 0);
		goto out;
	}
	CHECK(r == 0);
	CHECK(!cfs_failed(&e));
	check_parsed(&o);
	check_data_string(&o);
	hand_on(&o);
	opts_free(&o);
out:
	free(input);
	return 0;
}
