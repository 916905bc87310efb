/*
 * http_assets.h - the dashboard's files (the .html, .css and .js files of
 * server/http_assets) compiled into driftd as byte arrays by a build step
 * (server/http_assets/embed.cmake), so the pages stay readable files in the
 * source tree and need nothing beside the binary but Chart.js.
 */
#ifndef DRIFTD_HTTP_ASSETS_H
#define DRIFTD_HTTP_ASSETS_H

#include <stddef.h>

typedef struct dd_http_asset {
  const char *name; /* file name: "fleet.html", "style.css", ... */
  const char *type; /* Content-Type */
  const unsigned char *data;
  size_t len;
} dd_http_asset;

extern const dd_http_asset dd_http_assets[];
extern const size_t dd_http_n_assets;

#endif /* DRIFTD_HTTP_ASSETS_H */
