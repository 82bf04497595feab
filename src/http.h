/*
 * http: one FastCGI request as the handlers see it, and the response they
 * build.  Reading is bounded (HTTP_MAX_BODY); writing is one FCGX_PutStr
 * of headers and one of the body (never FCGX_FPrintF: it has no %zu).
 */
#ifndef CONCERT_HTTP_H
#define CONCERT_HTTP_H

#include <stddef.h>
#include <fcgiapp.h>
#include <json-c/json.h>

#define HTTP_MAX_BODY   16384
#define HTTP_MAX_PATH   256

enum http_method {
	HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_PATCH,
	HTTP_OPTIONS, HTTP_OTHER, HTTP__MAX
};

struct http_req {
	FCGX_Request *fcgi;         /* NULL in unit tests */
	enum http_method method;
	const char *method_name;
	char path[HTTP_MAX_PATH];   /* REQUEST_URI without the query string */
	/* The "{name}" segment of the matched route (router_match), "" for
	 * an exact route: validate.c's PSRC_PATH rows read it. */
	char path_name[32];
	char path_value[HTTP_MAX_PATH];
	const char *query;          /* QUERY_STRING, never NULL */
	const char *content_type;   /* never NULL */
	const char *authorization;  /* never NULL */
	const char *queue_token;    /* X-Queue-Token header or NULL */
	const char *idem_key;       /* Idempotency-Key header or NULL */
	const char *request_id;     /* from the web server, or generated */
	long content_length;        /* -1 if absent */
	char body[HTTP_MAX_BODY + 1];
	size_t body_len;
	json_object *json;          /* parsed body (object) or NULL */
};

struct http_resp {
	int status;
	int sent;                   /* the handler wrote it all: don't write */
	json_object *body;          /* owned; NULL means empty body */
	char headers[256];          /* extra header lines, each ending \r\n */
};

/* Fill r from the FastCGI environment; reads at most HTTP_MAX_BODY+1 bytes
 * of the body.  Returns 0, or an HTTP status (413) to refuse with. */
int http_read(struct http_req *r, FCGX_Request *fcgi);

/* Parse a method name (case-sensitive); HTTP_OTHER if not listed. */
enum http_method http_method_parse(const char *s);

/* The name of m ("GET"; "OTHER" for HTTP_OTHER or out of range). */
const char *http_method_name(enum http_method m);

/* Set the response to the error envelope {"error":{"code","message"}}. */
void http_error(struct http_resp *w, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Add a member to the error object of an error response (e.g. "field"). */
void http_error_detail(struct http_resp *w, const char *name, json_object *v);

/* Take ownership of body and set status. */
void http_json(struct http_resp *w, int status, json_object *body);

/* Append one extra header line ("Name: value"). */
void http_header(struct http_resp *w, const char *name, const char *value);

/* Serialise w to the FastCGI output stream (nothing if w->sent: a
 * handler whose answer is not JSON, /metrics, wrote it itself). */
void http_write(struct http_req *r, struct http_resp *w);

/* The statuses the server sends, with their status line text. */
#define HTTP_NSTATUS 16
struct http_status {
	int code;
	const char *line;           /* "201 Created" */
};
extern const struct http_status http_statuses[];   /* HTTP_NSTATUS rows */

/* Index of status in http_statuses, or -1. */
int http_status_index(int status);

/* Status line text: "201 Created"; a status not in the table is sent as
 * "200 OK" below 400 and "500 Internal Server Error" from 400 up. */
const char *http_status_text(int status);

/* Free everything w owns and empty it. */
void http_resp_clear(struct http_resp *w);

/*
 * Find key in an application/x-www-form-urlencoded query string and
 * percent-decode its value into out.  Returns the decoded length, -1 if
 * absent, -2 if malformed or too long for out.
 */
int http_query_get(const char *query, const char *key, char *out, size_t outlen);

/* Extract the token of "Authorization: Bearer T".  Returns T or NULL. */
const char *http_bearer(const char *authorization);

/* 1 if the Content-Type is application/json (parameters allowed). */
int http_is_json(const char *content_type);

#endif
