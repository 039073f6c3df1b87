// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privdrop.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int keep_only_cap_bpf(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	data[CAP_BPF / 32].effective = data[CAP_BPF / 32].permitted = 1u << (CAP_BPF % 32);
	return (int)syscall(SYS_capset, &hdr, data);
}

int gw_drop_privileges(const char *user, int keep_bpf, const char *const *must_write, char *err,
		       size_t errlen)
{
	struct passwd *pw = getpwnam(user);
	size_t i;

	if (!pw) {
		snprintf(err, errlen,
			 "user '%s' does not exist (create it: useradd --system --no-create-home "
			 "--shell /usr/sbin/nologin %s)",
			 user, user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user '%s' is root: nothing would be dropped", user);
		return -1;
	}
	if (keep_bpf && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)) {
		snprintf(err, errlen, "prctl(PR_SET_KEEPCAPS): %s", strerror(errno));
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		snprintf(err, errlen, "cannot become user '%s': %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errlen, "could become root again after dropping to '%s'", user);
		return -1;
	}
	if (keep_bpf && keep_only_cap_bpf()) {
		snprintf(err, errlen, "cannot keep CAP_BPF as '%s': %s", user, strerror(errno));
		return -1;
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	for (i = 0; must_write && must_write[i]; i++) {
		if (!must_write[i][0])
			continue;
		if (access(must_write[i], W_OK | X_OK)) {
			snprintf(err, errlen, "%s is not writable by user '%s' (chown %s %s)",
				 must_write[i], user, user, must_write[i]);
			return -1;
		}
	}
	return 0;
}
