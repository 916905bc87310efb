/*
 * health.h - grpc.health.v1.Health, written by hand on the C core (gRPC's
 * C++ health service is not available to a C server): Check answers the
 * serving state of "" (the whole server) and "driftd.v1.Driftd"; Watch
 * sends it, then every change, until the client goes away.
 *
 * The state turns NOT_SERVING at shutdown and when the engine reports a lost
 * device, so an orchestrator restarts a server that can only fail.
 */
#ifndef DRIFTD_HEALTH_H
#define DRIFTD_HEALTH_H

#include "rpc/rpc.h"

/* The two methods, for the server's method table. */
extern const dd_method_group dd_health_methods;

/* Sets the serving state of every known service and tells the watchers. */
void dd_health_set_serving(int serving);
int dd_health_serving(void);

#endif /* DRIFTD_HEALTH_H */
