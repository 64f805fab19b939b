/* "incidents" over the control socket, read from the SQLite incidents table. */
#ifndef IMMUNE_INCIDENT_CTL_H
#define IMMUNE_INCIDENT_CTL_H

#include "ctlsock.h"

struct incident_ctl;
/* The database is opened read-only on first use. NULL on out of memory. */
struct incident_ctl *incident_ctl_register(struct ctlsock *cs, const char *db_path);
void incident_ctl_free(struct incident_ctl *ic);

#endif
