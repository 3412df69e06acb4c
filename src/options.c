#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include <libmount/libmount.h>

#include "options.h"
#include "util.h"

void opts_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int opts_split(const char *optstr, char ***ret_tokens, size_t *ret_n)
{
	char **tokens = NULL;
	size_t n = 0, cap = 0;
	const char *p = optstr ? optstr : "";

	while (*p) {
		const char *start = p;
		bool quoted = false;

		for (; *p; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				continue;
			}
			if (*p == '"')
				quoted = !quoted;
			else if (*p == ',' && !quoted)
				break;
		}
		if (p > start) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				char **nt = realloc(tokens, ncap * sizeof(*nt));

				if (!nt)
					goto oom;
				tokens = nt;
				cap = ncap;
			}
			tokens[n] = strndup(start, (size_t)(p - start));
			if (!tokens[n])
				goto oom;
			n++;
		}
		if (*p == ',')
			p++;
	}
	*ret_tokens = tokens;
	*ret_n = n;
	return 0;
oom:
	opts_strv_free(tokens, n);
	return -ENOMEM;
}

/* Matches token against a libmount map entry name: "foo", "foo=" (value
 * required), "foo[=]" (value optional), or a prefix such as "x-". */
static bool optmap_entry_matches(const struct libmnt_optmap *ent, const char *token)
{
	const char *name = ent->name;
	size_t len = strcspn(name, "=[");
	const char *tail = name + len;

	if (ent->mask & MNT_PREFIX)
		return strncmp(token, name, strlen(name)) == 0;
	if (strncmp(token, name, len) != 0)
		return false;
	if (*tail == '\0')
		return token[len] == '\0';
	if (*tail == '=')
		return token[len] == '=';
	return token[len] == '\0' || token[len] == '='; /* "[=]" */
}

static const struct libmnt_optmap *optmap_lookup(int map_id, const char *token)
{
	const struct libmnt_optmap *ent = mnt_get_builtin_optmap(map_id);

	for (; ent && ent->name; ent++)
		if (optmap_entry_matches(ent, token))
			return ent;
	return NULL;
}

static bool is_helper_option(const char *token)
{
	/* Bare "uidmap" and "loop=DEV" are ours too, so that they are refused here
	 * rather than sent to the kernel or to utab. */
	return strncmp(token, "uidmap", 6) == 0 || strncmp(token, "gidmap", 6) == 0 ||
	       strcmp(token, "loop") == 0 || strncmp(token, "loop=", 5) == 0 ||
	       strcmp(token, "direct-io") == 0 || strncmp(token, "cfs.", 4) == 0;
}

enum cfs_opt_class opts_classify(const char *token)
{
	const struct libmnt_optmap *ent;

	/* Before the user-space map: it claims "loop" for mount(8)'s own loop setup. */
	if (is_helper_option(token))
		return CFS_OPT_HELPER;
	ent = optmap_lookup(MNT_LINUX_MAP, token);
	if (ent)
		return (ent->id & MS_PROPAGATION) ? CFS_OPT_PROPAGATION : CFS_OPT_FLAG;
	ent = optmap_lookup(MNT_USERSPACE_MAP, token);
	if (ent)
		return ent->id == 0 ? CFS_OPT_FLAG /* "defaults" */ : CFS_OPT_USERSPACE;
	return CFS_OPT_DATA;
}

/* Helper option values may be double-quoted to protect commas and spaces. */
static char *unquote_dup(const char *v)
{
	size_t len = strlen(v);

	if (len >= 2 && v[0] == '"' && v[len - 1] == '"')
		return strndup(v + 1, len - 2);
	return strdup(v);
}

static int replace_str(char **slot, char *value)
{
	if (!value)
		return -ENOMEM;
	free(*slot);
	*slot = value;
	return 0;
}

static int append_csv(char **list, const char *token)
{
	char *n;

	if (*list) {
		if (asprintf(&n, "%s,%s", *list, token) < 0)
			return -ENOMEM;
	} else if (!(n = strdup(token)))
		return -ENOMEM;
	free(*list);
	*list = n;
	return 0;
}

static size_t key_len(const char *token)
{
	return strcspn(token, "=");
}

/* Overlay options other than the layer paths: a later "key" replaces an earlier
 * one, so "index=on,index=off" sends only index=off. */
static int add_data(struct cfs_mount_opts *o, const char *token)
{
	size_t klen = key_len(token);
	char *dup = strdup(token);
	char **nd;

	if (!dup)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_data; i++) {
		if (key_len(o->data[i]) == klen && strncmp(o->data[i], token, klen) == 0) {
			free(o->data[i]);
			memmove(&o->data[i], &o->data[i + 1], (o->n_data - i - 1) * sizeof(char *));
			o->data[o->n_data - 1] = dup;
			return 0;
		}
	}
	nd = realloc(o->data, (o->n_data + 1) * sizeof(char *));
	if (!nd) {
		free(dup);
		return -ENOMEM;
	}
	o->data = nd;
	o->data[o->n_data++] = dup;
	return 0;
}

static int parse_bool(const char *v, bool *ret)
{
	if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "true"))
		*ret = true;
	else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "false"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_helper(struct cfs_mount_opts *o, const char *token, struct cfs_error *e)
{
	const char *v = strchr(token, '=');
	int r = 0;

	v = v ? v + 1 : NULL;
	if (!strncmp(token, "uidmap=", 7))
		r = replace_str(&o->uidmap, unquote_dup(v));
	else if (!strncmp(token, "gidmap=", 7))
		r = replace_str(&o->gidmap, unquote_dup(v));
	else if (!strcmp(token, "uidmap") || !strcmp(token, "gidmap"))
		return cfs_fail(e, CFS_STAGE_USAGE, 0,
				"option %s needs a value (CONTAINER:HOST:SIZE)", token);
	else if (!strcmp(token, "loop"))
		o->loop = true;
	else if (!strncmp(token, "loop=", 5))
		return cfs_fail(e, CFS_STAGE_USAGE, 0,
				"bad option %s: loop takes no device, image layers get their own",
				token);
	else if (!strcmp(token, "direct-io"))
		o->direct_io = true;
	else if (!strncmp(token, "cfs.userns=", 11))
		r = replace_str(&o->userns, unquote_dup(v));
	else if (!strncmp(token, "cfs.tmpdir=", 11))
		r = replace_str(&o->tmpdir, unquote_dup(v));
	else if (!strncmp(token, "cfs.api=", 8)) {
		if (!strcmp(v, "auto"))
			o->api = CFS_API_AUTO;
		else if (!strcmp(v, "new"))
			o->api = CFS_API_NEW;
		else if (!strcmp(v, "legacy"))
			o->api = CFS_API_LEGACY;
		else
			return cfs_fail(e, CFS_STAGE_USAGE, 0,
					"bad option %s: expected cfs.api=auto, new or legacy",
					token);
	} else if (!strncmp(token, "cfs.rmdir=", 10)) {
		if (parse_bool(v, &o->rmdir) < 0)
			return cfs_fail(e, CFS_STAGE_USAGE, 0,
					"bad option %s: expected cfs.rmdir=yes or no", token);
	} else
		return cfs_fail(e, CFS_STAGE_USAGE, 0, "unknown option %s", token);

	if (r < 0)
		return cfs_fail(e, CFS_STAGE_INTERNAL, r, "cannot parse options");
	if (v && !*v)
		return cfs_fail(e, CFS_STAGE_USAGE, 0, "option %s needs a value", token);
	return 0;
}

static int parse_one(struct cfs_mount_opts *o, const char *token, struct cfs_error *e)
{
	const struct libmnt_optmap *ent;
	int r = 0;

	switch (opts_classify(token)) {
	case CFS_OPT_HELPER: return parse_helper(o, token, e);
	case CFS_OPT_FLAG:
		ent = optmap_lookup(MNT_LINUX_MAP, token);
		if (!ent) /* "defaults" */
			return 0;
		if (ent->mask & MNT_INVERT)
			o->flags &= ~(unsigned long)ent->id;
		else
			o->flags |= (unsigned long)ent->id;
		return 0;
	case CFS_OPT_PROPAGATION:
		/* mount(2) takes one propagation type per call: the last one wins. */
		o->propagation = (unsigned long)optmap_lookup(MNT_LINUX_MAP, token)->id;
		return 0;
	case CFS_OPT_USERSPACE:
		ent = optmap_lookup(MNT_USERSPACE_MAP, token);
		if ((ent->id & (MNT_MS_USER | MNT_MS_USERS | MNT_MS_OWNER | MNT_MS_GROUP)) &&
		    !(ent->mask & MNT_INVERT))
			o->user_mount = true;
		if (ent->id == MNT_MS_NOFAIL)
			o->nofail = true;
		/* helper= is ours to set; the rest goes to utab unless libmount skips it there. */
		if (!(ent->mask & MNT_NOMTAB) && strncmp(token, "helper=", 7) != 0)
			r = append_csv(&o->utab_opts, token);
		break;
	case CFS_OPT_DATA:
		/* Our splitter honours libmount's quotes, the kernel's does not:
		 * the two strategies would read such a token differently. */
		if (strchr(token, '"'))
			return cfs_fail(
				e, CFS_STAGE_USAGE, 0,
				"bad option %s: overlay does not understand double quotes; "
				"escape a comma or colon in a path with a backslash (\\, \\:)",
				token);
		/* lowerdir+, datadir+ and any later "key+" append a layer: it would
		 * reach overlay around the idmap and the read-only clone. */
		if (key_len(token) > 0 && token[key_len(token) - 1] == '+')
			return cfs_fail(
				e, CFS_STAGE_USAGE, 0,
				"option %s is refused: layers come only from lowerdir=", token);
		if (!strncmp(token, "lowerdir=", 9))
			r = replace_str(&o->lowerdir, strdup(token + 9));
		else if (!strncmp(token, "upperdir=", 9))
			r = replace_str(&o->upperdir, strdup(token + 9));
		else if (!strncmp(token, "workdir=", 8))
			r = replace_str(&o->workdir, strdup(token + 8));
		else
			r = add_data(o, token);
		break;
	}
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_INTERNAL, r, "cannot parse options");
	return 0;
}

int opts_parse(const char *optstr, struct cfs_mount_opts *ret, struct cfs_error *e)
{
	struct cfs_mount_opts o = { .rmdir = true };
	char **tokens = NULL;
	size_t n = 0;
	int r;

	r = opts_split(optstr, &tokens, &n);
	if (r < 0)
		return cfs_fail(e, CFS_STAGE_INTERNAL, r, "cannot parse options");
	for (size_t i = 0; i < n; i++) {
		r = parse_one(&o, tokens[i], e);
		if (r < 0)
			goto out;
	}
	if (o.flags & MS_PROPAGATION) { /* only through a map change; kept defensive */
		r = cfs_fail(e, CFS_STAGE_INTERNAL, 0, "propagation flag mixed into mount flags");
		goto out;
	}
	*ret = o;
	memset(&o, 0, sizeof(o));
out:
	opts_strv_free(tokens, n);
	opts_free(&o);
	return r;
}

void opts_free(struct cfs_mount_opts *o)
{
	free(o->lowerdir);
	free(o->upperdir);
	free(o->workdir);
	opts_strv_free(o->data, o->n_data);
	free(o->utab_opts);
	free(o->uidmap);
	free(o->gidmap);
	free(o->userns);
	free(o->tmpdir);
	memset(o, 0, sizeof(*o));
}

static int append_kv(char **list, const char *key, const char *value)
{
	_cleanup_free_ char *tok = NULL;

	if (asprintf(&tok, "%s=%s", key, value) < 0)
		return -ENOMEM;
	return append_csv(list, tok);
}

int opts_data_string(const struct cfs_mount_opts *o, char **ret)
{
	_cleanup_free_ char *s = NULL;
	int r = 0;

	if (o->upperdir)
		r = append_kv(&s, "upperdir", o->upperdir);
	if (r == 0 && o->workdir)
		r = append_kv(&s, "workdir", o->workdir);
	for (size_t i = 0; r == 0 && i < o->n_data; i++)
		r = append_csv(&s, o->data[i]);
	if (r < 0)
		return r;
	if (!s && !(s = strdup("")))
		return -ENOMEM;
	*ret = TAKE_PTR(s);
	return 0;
}
