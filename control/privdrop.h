/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * greywalld starts as root to open what it needs (tables, the relay filter's
 * maps, sockets) and then runs as an unprivileged user, as OpenBSD's spamd
 * does, so a bug in the code that parses what strangers send (the policy
 * protocol, the filter's events) does not run as root.
 */
#ifndef GREYWALL_CONTROL_PRIVDROP_H
#define GREYWALL_CONTROL_PRIVDROP_H

#include <stddef.h>

/*
 * Become user (its primary group only). With keep_bpf, CAP_BPF stays in the
 * effective set (and nothing else) for the relay filter's map writes: before
 * Linux 6.5 every bpf(2) command, even on an fd already open, needs it while
 * kernel.unprivileged_bpf_disabled is set (Debian 12's default). 6.18 here
 * checks only at open, so this machine cannot show the difference. Each directory in must_write[]
 * (NULL-terminated; empty strings skipped) must then be writable, or it is an
 * error naming it. Returns 0, or -1 with err.
 */
int gw_drop_privileges(const char *user, int keep_bpf, const char *const *must_write, char *err,
		       size_t errlen);

#endif /* GREYWALL_CONTROL_PRIVDROP_H */
