#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layers.h"
#include "util.h"

void layers_free(struct cfs_layers *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int layers_decode_path(const char *raw, char **ret_path)
{
	struct cfs_layers one = { 0 };
	int r;

	r = layers_parse(raw, &one);
	if (r == 0 && (one.n != 1 || one.v[0].data_only))
		r = -EINVAL;
	if (r == 0)
		*ret_path = TAKE_PTR(one.v[0].path);
	layers_free(&one);
	return r;
}

int layers_parse(const char *lowerdir, struct cfs_layers *ret)
{
	struct cfs_layers l = { 0 };
	size_t len = strlen(lowerdir);
	_cleanup_free_ char *buf = malloc(len + 1);
	const char *p = lowerdir;
	bool data_only = false;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	/* At most one layer per separator plus one: allocate once, no realloc storm. */
	size_t cap = 1;
	for (const char *q = lowerdir; *q; q++)
		if (*q == ':')
			cap++;
	l.v = calloc(cap < OVL_MAX_LAYERS + 1 ? cap : OVL_MAX_LAYERS + 1, sizeof(*l.v));
	if (!l.v)
		return -ENOMEM;

	for (;;) {
		size_t n = 0;

		for (; *p && *p != ':'; p++) {
			if (*p == '\\' && p[1])
				p++;
			buf[n++] = *p;
		}
		buf[n] = '\0';
		if (n == 0) {
			r = -EINVAL;
			goto fail;
		}
		if (l.n == OVL_MAX_LAYERS) {
			r = -E2BIG;
			goto fail;
		}
		l.v[l.n].path = strdup(buf);
		if (!l.v[l.n].path) {
			r = -ENOMEM;
			goto fail;
		}
		l.v[l.n++].data_only = data_only;
		if (!*p)
			break;
		p++;
		if (*p == ':') {
			/* "::" precedes each data-only layer (Linux 6.5+). */
			data_only = true;
			p++;
		} else if (data_only) {
			/* Overlay refuses it: "regular lower layers cannot follow data
			 * lower layers". */
			r = -EINVAL;
			goto fail;
		}
	}
	*ret = l;
	return 0;
fail:
	layers_free(&l);
	return r;
}

size_t layers_escape(const char *path, char *buf)
{
	size_t n = 0;

	for (; *path; path++) {
		if (*path == ':' || *path == ',' || *path == '\\')
			buf[n++] = '\\';
		buf[n++] = *path;
	}
	return n;
}

int layers_join(const struct cfs_layers *l, size_t strip, char **ret)
{
	size_t size = 1;
	char *s, *p;

	for (size_t i = 0; i < l->n; i++)
		size += 2 * strlen(l->v[i].path) + 2;
	s = p = malloc(size);
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		const char *path = l->v[i].path;

		if (i > 0) {
			*p++ = ':';
			if (l->v[i].data_only)
				*p++ = ':';
		}
		if (strip && strlen(path) > strip) {
			path += strip;
			/* "dir//x" is still x under dir, and "dir//" is dir itself:
			 * a leading slash left here would make the path absolute. */
			while (*path == '/')
				path++;
			if (!*path)
				path = ".";
		}
		p += layers_escape(path, p);
	}
	*p = '\0';
	*ret = s;
	return 0;
}

int layers_common_dir(const struct cfs_layers *l, char **ret_dir)
{
	size_t len;
	char *dir;

	if (l->n == 0)
		return -ENOENT;
	len = strlen(l->v[0].path);
	for (size_t i = 1; i < l->n && len > 0; i++) {
		const char *a = l->v[0].path, *b = l->v[i].path;
		size_t j = 0;

		while (j < len && a[j] && a[j] == b[j])
			j++;
		len = j;
	}
	/* Back off to the parent of the common prefix (path.Dir in containerd). */
	while (len > 0 && l->v[0].path[len - 1] != '/')
		len--;
	while (len > 1 && l->v[0].path[len - 1] == '/')
		len--;
	if (len == 0 || (len == 1 && l->v[0].path[0] == '/'))
		return -ENOENT;
	dir = strndup(l->v[0].path, len);
	if (!dir)
		return -ENOMEM;
	if (!strcmp(dir, ".")) {
		free(dir);
		return -ENOENT;
	}
	*ret_dir = dir;
	return 0;
}

size_t layers_data_limit(void)
{
	long page = sysconf(_SC_PAGESIZE);

	return (size_t)(page > 0 ? page : 4096) - PAGE_SLACK;
}
