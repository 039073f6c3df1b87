/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef GW_SD_NOTIFY_H
#define GW_SD_NOTIFY_H

/*
 * Tell systemd (Type=notify) about a state change, e.g. "READY=1" once every socket
 * is open and the snapshot is restored, "STOPPING=1" when shutdown begins. Without
 * $NOTIFY_SOCKET (not started by systemd) it does nothing and returns 0; -1 with errno
 * if the message could not be sent.
 */
int gw_sd_notify(const char *state);

#endif
