/*
 * http: see http.h.
 */
#include "http.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *
env(FCGX_Request *f, const char *name)
{
	const char *v = FCGX_GetParam(name, f->envp);

	return v != NULL ? v : "";
}

/* The one table of method names, indexed by enum http_method.  HTTP_OTHER
 * is any method not listed; its name is never parsed. */
static const char *const http_method_names[HTTP__MAX] = {
	[HTTP_GET] = "GET",
	[HTTP_HEAD] = "HEAD",
	[HTTP_POST] = "POST",
	[HTTP_PUT] = "PUT",
	[HTTP_DELETE] = "DELETE",
	[HTTP_PATCH] = "PATCH",
	[HTTP_OPTIONS] = "OPTIONS",
	[HTTP_OTHER] = "OTHER",
};

enum http_method
http_method_parse(const char *s)
{
	int i;

	for (i = 0; i < HTTP_OTHER; i++)
		if (strcmp(s, http_method_names[i]) == 0)
			return (enum http_method)i;
	return HTTP_OTHER;
}

const char *
http_method_name(enum http_method m)
{
	if ((int)m < 0 || m >= HTTP__MAX)
		return "OTHER";
	return http_method_names[m];
}

int
http_read(struct http_req *r, FCGX_Request *f)
{
	const char *uri, *q, *cl;
	size_t plen;
	char *end;
	int n;

	r->fcgi = f;
	r->method_name = env(f, "REQUEST_METHOD");
	r->method = http_method_parse(r->method_name);
	uri = env(f, "REQUEST_URI");
	if (*uri == '\0')
		uri = env(f, "SCRIPT_NAME");
	q = strchr(uri, '?');
	plen = q ? (size_t)(q - uri) : strlen(uri);
	if (plen >= sizeof(r->path))
		plen = sizeof(r->path) - 1;   /* routes are short; no match */
	memcpy(r->path, uri, plen);
	r->path[plen] = '\0';
	r->query = env(f, "QUERY_STRING");
	r->content_type = env(f, "CONTENT_TYPE");
	r->authorization = env(f, "HTTP_AUTHORIZATION");
	r->queue_token = FCGX_GetParam("HTTP_X_QUEUE_TOKEN", f->envp);
	r->idem_key = FCGX_GetParam("HTTP_IDEMPOTENCY_KEY", f->envp);
	r->request_id = FCGX_GetParam("REQUEST_ID", f->envp);
	if (r->request_id == NULL)
		r->request_id = FCGX_GetParam("HTTP_X_REQUEST_ID", f->envp);
	cl = FCGX_GetParam("CONTENT_LENGTH", f->envp);
	r->content_length = -1;
	if (cl != NULL && *cl != '\0') {
		long v = strtol(cl, &end, 10);

		if (*end != '\0' || v < 0)
			return 400;
		r->content_length = v;
		if (v > HTTP_MAX_BODY)
			return 413;
	}
	r->body_len = 0;
	/* Read to EOF but never past the limit (+1 to detect an overrun). */
	while (r->body_len <= HTTP_MAX_BODY) {
		n = FCGX_GetStr(r->body + r->body_len,
		    (int)(HTTP_MAX_BODY + 1 - r->body_len), f->in);
		if (n <= 0)
			break;
		r->body_len += (size_t)n;
	}
	if (r->body_len > HTTP_MAX_BODY)
		return 413;
	r->body[r->body_len] = '\0';
	return 0;
}

/* Every status the server sends, ascending; metrics.c counts exactly
 * these (and "other").  A status missing here goes out as 200 or 500.
 * HTTP_NSTATUS must say how many there are: the shared metrics counters
 * are laid out with it. */
const struct http_status http_statuses[] = {
	{ 200, "200 OK" },
	{ 201, "201 Created" },
	{ 204, "204 No Content" },
	{ 400, "400 Bad Request" },
	{ 401, "401 Unauthorized" },
	{ 402, "402 Payment Required" },
	{ 403, "403 Forbidden" },
	{ 404, "404 Not Found" },
	{ 405, "405 Method Not Allowed" },
	{ 409, "409 Conflict" },
	{ 413, "413 Payload Too Large" },
	{ 415, "415 Unsupported Media Type" },
	{ 422, "422 Unprocessable Entity" },
	{ 429, "429 Too Many Requests" },
	{ 500, "500 Internal Server Error" },
	{ 503, "503 Service Unavailable" },
};
_Static_assert(sizeof(http_statuses) / sizeof(http_statuses[0]) ==
    HTTP_NSTATUS, "HTTP_NSTATUS is not the row count of http_statuses");

int
http_status_index(int status)
{
	int i;

	for (i = 0; i < HTTP_NSTATUS; i++)
		if (http_statuses[i].code == status)
			return i;
	return -1;
}

const char *
http_status_text(int status)
{
	int i = http_status_index(status);

	if (i >= 0)
		return http_statuses[i].line;
	return http_statuses[http_status_index(status < 400 ? 200 : 500)].line;
}

void
http_json(struct http_resp *w, int status, json_object *body)
{
	if (w->body != NULL)
		json_object_put(w->body);
	w->status = status;
	w->body = body;
}

void
http_error(struct http_resp *w, int status, const char *code,
    const char *fmt, ...)
{
	json_object *o = json_object_new_object(), *e = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(e, "code", json_object_new_string(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(o, "error", e);
	http_json(w, status, o);
}

void
http_error_detail(struct http_resp *w, const char *name, json_object *v)
{
	json_object *e;

	if (w->body != NULL && json_object_object_get_ex(w->body, "error", &e))
		json_object_object_add(e, name, v);
	else
		json_object_put(v);
}

void
http_header(struct http_resp *w, const char *name, const char *value)
{
	size_t len = strlen(w->headers);

	snprintf(w->headers + len, sizeof(w->headers) - len, "%s: %s\r\n",
	    name, value);
}

void
http_write(struct http_req *r, struct http_resp *w)
{
	const char *body = "";
	char head[768];
	size_t blen = 0;
	int n;

	if (w->sent)
		return;
	if (w->body != NULL) {
		body = json_object_to_json_string_ext(w->body,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		blen = strlen(body);
	}
	n = snprintf(head, sizeof(head),
	    "Status: %s\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Length: %lu\r\n"
	    "%s\r\n",
	    http_status_text(w->status), (unsigned long)(blen + 1), w->headers);
	if (r->fcgi == NULL)
		return;
	FCGX_PutStr(head, n, r->fcgi->out);
	if (r->method != HTTP_HEAD) {
		FCGX_PutStr(body, (int)blen, r->fcgi->out);
		FCGX_PutStr("\n", 1, r->fcgi->out);
	}
}

void
http_resp_clear(struct http_resp *w)
{
	if (w->body != NULL)
		json_object_put(w->body);
	memset(w, 0, sizeof(*w));
}

static int
unhex1(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
http_query_get(const char *query, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = query;

	if (outlen == 0)   /* not even room for the NUL of an empty value */
		return -2;
	while (p != NULL && *p != '\0') {
		const char *amp = strchr(p, '&');
		const char *end = amp ? amp : p + strlen(p);

		if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 &&
		    p[klen] == '=') {
			const char *s = p + klen + 1;
			size_t o = 0;

			for (; s < end; s++) {
				int c = (unsigned char)*s;

				if (c == '+')
					c = ' ';
				else if (c == '%') {
					int hi, lo;

					if (end - s < 3 ||
					    (hi = unhex1((unsigned char)s[1])) < 0 ||
					    (lo = unhex1((unsigned char)s[2])) < 0)
						return -2;
					c = hi << 4 | lo;
					s += 2;
				}
				if (c == 0 || o + 1 >= outlen)
					return -2;
				out[o++] = (char)c;
			}
			out[o] = '\0';
			return (int)o;
		}
		if ((size_t)(end - p) == klen && strncmp(p, key, klen) == 0) {
			out[0] = '\0';
			return 0;
		}
		p = amp ? amp + 1 : NULL;
	}
	return -1;
}

const char *
http_bearer(const char *a)
{
	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return NULL;
	a += 7;
	while (*a == ' ')
		a++;
	return *a ? a : NULL;
}

int
http_is_json(const char *ct)
{
	size_t n = strlen("application/json");

	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, "application/json", n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}
