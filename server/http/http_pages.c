/*
 * http_pages.c - the dashboard's pages and static files:
 *
 *   GET /                  the fleet page (fleet.html)
 *   GET /models/{id}       one model's page (model.html); 404 for an unknown model
 *   GET /static/{name}     the pages' CSS and JavaScript (compiled in), and
 *   GET /static/chart.js   Chart.js, read from the chartjs_path setting
 *                          (Debian's libjs-chart.js by default)
 *
 * Pages are static: their scripts read the JSON API. Only names in the
 * compiled-in table are served, and chart.js from the one configured path:
 * no request path ever names a file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "http/http_assets.h"

static const dd_http_asset *asset(const char *name) {
  for (size_t i = 0; i < dd_http_n_assets; i++)
    if (strcmp(dd_http_assets[i].name, name) == 0) return &dd_http_assets[i];
  return NULL;
}

static int serve_asset(dd_http_resp *out, const char *name) {
  const dd_http_asset *a = asset(name);
  if (!a) return 0;
  out->type = a->type;
  out->data = a->data;
  out->len = a->len;
  out->cache = strstr(name, ".html") ? "no-cache" : "max-age=300";
  return 1;
}

static void serve_chartjs(dd_http_req *r, dd_http_resp *out) {
  const char *path = r->app->cfg.chartjs_path;
  FILE *f = fopen(path, "rb");
  if (!f) {
    dd_http_error(out, 500, NULL,
                  "cannot read Chart.js at %s (the chartjs_path setting; Debian: apt install "
                  "libjs-chart.js)",
                  path);
    return;
  }
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) dd_buf_put(&out->body, chunk, n);
  fclose(f);
  out->type = "text/javascript; charset=utf-8";
  out->cache = "max-age=3600";
}

int dd_http_pages(dd_http_req *r, dd_http_resp *out) {
  const char *p = r->path;
  if (strcmp(p, "/") == 0) return serve_asset(out, "fleet.html");
  if (strcmp(p, "/static/chart.js") == 0) {
    serve_chartjs(r, out);
    return 1;
  }
  if (strncmp(p, "/static/", 8) == 0) {
    const char *name = p + 8;
    return !strstr(name, ".html") && serve_asset(out, name);
  }
  if (strncmp(p, "/models/", 8) == 0) {
    const char *id = p + 8;
    dd_err err;
    if (strchr(id, '/') || dd_model_id_check("model", id, &err)) return 0;
    if (!dd_http_model_allowed(r, id, out)) return 1;
    dd_model *m = dd_registry_get(&r->app->models, id, NULL);
    if (!m) {
      dd_http_error(out, 404, NULL, "no model \"%s\"", id);
      return 1;
    }
    dd_model_unref(m);
    return serve_asset(out, "model.html");
  }
  return 0;
}
