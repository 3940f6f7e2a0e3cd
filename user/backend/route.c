// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * route.c - what answers a request: /healthz, an admin endpoint, a file
 * under --root or the origin (both through the shared cache).
 */
#include <string.h>

#include "worker.h"

/*
 * The caller counts the request once it is taken (a deferred one comes
 * here again: batch.c).
 *
 * The admin endpoints are served on the admin listener (--admin-listen) when
 * there is one, and then never on the service listener, where these paths
 * are content like any other.  Without an admin listener they are served on
 * the service listener to loopback clients only; anyone else gets 404, as
 * for a page that does not exist.
 */
void route_request(struct conn *c, const struct http_request *req)
{
	int head = req->method == HTTP_M_HEAD;
	size_t plen = strcspn(req->target, "? ");
	admin_serve_fn *serve;

	if (plen > req->target_len)
		plen = req->target_len;
	if (req->method == HTTP_M_PURGE &&
	    (c->admin || (!wk.cfg->admin_listen[0] && c->loopback))) {
		admin_purge(c, req);
		return;
	}
	if (req->method == HTTP_M_OTHER || req->method == HTTP_M_PURGE) {
		respond_text(c, 405, "Allow: GET, HEAD\r\n",
			     "405 Method Not Allowed\n", 0);
		return;
	}
	if (plen == 8 && !memcmp(req->target, "/healthz", 8)) {
		if (STAT_GET(wk.sh->draining))
			respond_text(c, 503, NULL, "draining\n", head);
		else
			respond_text(c, 200, NULL, "ok\n", head);
		return;
	}
	if (c->admin || !wk.cfg->admin_listen[0]) {
		serve = admin_route(req->target, plen);
		if (serve && (c->admin || c->loopback)) {
			serve(c, head);
			return;
		}
		if (serve || c->admin) {
			respond_error(c, 404, head);
			return;
		}
	}
	if (wk.cfg->root[0])
		serve_file(c, req->target, req->target_len, head);
	else
		serve_origin(c, req->target, req->target_len, head);
}
