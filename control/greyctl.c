// SPDX-License-Identifier: BSD-2-Clause
/*
 * greyctl: the admin's tool. Reads the same configuration as greywalld, works
 * on the same table files greywall-dp and greywalld share, edits the list
 * files atomically and tells running daemons to reload them.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "greywall/lists.h"
#include "greywall/relay.h"
#include "relay_maps.h"
#include "greywall/table_file.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define GW_NAMES_BATCH 400 /* fingerprints per "names" request: fits GW_CONTROL_LINE_MAX */

static const char usage_text[] =
    "Usage: greyctl [-c FILE] [--json] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  stats                      table sizes, fill and counters (and the relay filter's\n"
    "                             counters when relay_maps is set)\n"
    "  triplets list [--limit N]  entries of the triplet table: fingerprint, state,\n"
    "                             first and last seen, count\n"
    "                             and, when greywalld knows it, the triplet's client,\n"
    "                             sender and recipient\n"
    "  triplets show FINGERPRINT  one triplet, as 'list' prints it (exit 1 if absent)\n"
    "  triplets del FINGERPRINT   forget one triplet (hex, as 'list' prints it)\n"
    "  triplets flush             forget every triplet (auto-whitelist kept)\n"
    "  whitelist add ENTRY...     add entries to the whitelist file, then reload\n"
    "  whitelist del ENTRY...     remove entries, then reload\n"
    "  whitelist list             print the whitelist\n"
    "  whitelist push FILE        check FILE and make it the whitelist, then reload\n"
    "  blacklist add|del|list|push  the same for the blacklist (550 5.7.1)\n"
    "  report                     senders greylisted at least report_after ago and never\n"
    "                             retried, grouped by client network and sender domain:\n"
    "                             the broken MTAs (or spamware) to look at (greywalld)\n"
    "  reload                     greywalld reloads its lists (over the control socket,\n"
    "                             and says if a file is bad); greywall-dp gets SIGHUP\n"
    "  snapshot                   greywalld writes its snapshot now and says where\n"
    "  ping                       check that greywalld answers on the control socket\n"
    "\n"
    "An ENTRY is 'client CIDR', 'sender ADDRESS|@DOMAIN' or 'recipient ADDRESS|@DOMAIN',\n"
    "one shell argument each, e.g.  greyctl whitelist add 'client 198.18.0.0/24'\n"
    "Entries are checked with the parser the daemons use before a file is touched;\n"
    "files are replaced atomically (write, fsync, rename).\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE   configuration (default " GW_CONF_DEFAULT_PATH "; built-in\n"
    "                      defaults if it does not exist)\n"
    "  -j, --json          machine-readable output (anywhere on the command line)\n"
    "  -h, --help          this text\n"
    "\n"
    "With relay_maps set (the XDP/TC relay filter's pinned maps), the tables are its maps,\n"
    "and when no greywalld answers, greyctl publishes the lists into them itself.\n"
    "\n"
    "greyctl talks to greywalld over control_socket (mode 0660, group control_group):\n"
    "run it as root or as a member of that group. Without a socket (an older daemon, or\n"
    "control_socket empty) reload and snapshot fall back to SIGHUP and SIGUSR1.\n"
    "\n"
    "Exit status: 0 done; 1 failed (named on stderr: bad entry, entry not listed,\n"
    "unreadable file, no table, permission denied, greywalld refused); 2 usage error.\n";

static struct gw_daemon_config cfg;
static int json;

static int usage_error(const char *what)
{
	fprintf(stderr, "greyctl: %s\nTry 'greyctl --help'.\n", what);
	return EXIT_USAGE;
}

/* Signal every running greywalld (unless skip_daemon) and, for SIGHUP, greywall-dp. */
static int signal_processes(int sig, int skip_daemon)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[300], comm[64] = "";
		FILE *f;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
		if (((!skip_daemon && !strcmp(comm, "greywalld")) ||
		     (sig == SIGHUP && !strcmp(comm, "greywall-dp"))) &&
		    kill(atoi(de->d_name), sig) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static int signal_daemons(int sig)
{
	return signal_processes(sig, 0);
}

enum control_result { CTL_DONE = 0, CTL_REFUSED = 1, CTL_ABSENT = 2 };

/*
 * One command over greywalld's control socket. The answer goes to out. A
 * missing socket or a daemon that is not there is CTL_ABSENT (the caller may
 * fall back to signals); no permission is CTL_REFUSED, said on stderr.
 */
static enum control_result control_request(const char *cmd, char *out, size_t cap)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = 0;
	int fd;

	out[0] = 0;
	if (!cfg.control_socket[0] || strlen(cfg.control_socket) >= sizeof(sa.sun_path))
		return CTL_ABSENT;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cfg.control_socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return CTL_ABSENT;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		close(fd);
		if (e == EACCES || e == EPERM) {
			fprintf(
			    stderr,
			    "greyctl: permission denied on the control socket %s: run as root or "
			    "as a member of group '%s'\n",
			    cfg.control_socket, cfg.control_group);
			return CTL_REFUSED;
		}
		return CTL_ABSENT;
	}
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) || write(fd, "\n", 1) != 1) {
		close(fd);
		return CTL_ABSENT;
	}
	while (len + 1 < cap) {
		ssize_t r = read(fd, out + len, cap - 1 - len);

		if (r <= 0)
			break;
		len += (size_t)r;
	}
	out[len] = 0;
	close(fd);
	return CTL_DONE;
}

/* Print greywalld's answer; 0 if it began with "ok". */
static int control_answer(const char *what, const char *answer)
{
	int ok = !strncmp(answer, "ok", 2) && (answer[2] == '\n' || !answer[2]);
	const char *detail = ok ? answer + 2 + (answer[2] == '\n') : answer;
	char line[1024];
	size_t n = strcspn(detail, "\n");

	snprintf(line, sizeof(line), "%.*s", (int)n, detail);
	if (json)
		printf("{\"%s\": %s, \"greywalld\": \"%s\"}\n", what, ok ? "true" : "false", line);
	else if (ok)
		printf("greyctl: greywalld: %s\n", line[0] ? line : "done");
	else
		fprintf(stderr, "greyctl: greywalld: %s\n", line);
	return ok ? 0 : -1;
}

/* No greywalld: publish the list files into the relay filter's maps ourselves. */
static int relay_publish(void)
{
	struct gw_relay_sync_stats st;
	char err[1024];

	if (gw_relay_publish_files(cfg.relay_maps, cfg.whitelist_path, cfg.blacklist_path, &st, err,
				   sizeof(err))) {
		fprintf(stderr, "greyctl: relay filter: %s; its lists are unchanged\n", err);
		return EXIT_FAIL;
	}
	if (json)
		printf("{\"relay_published\": %llu, \"generation\": %u}\n", st.entries, st.gen);
	else
		printf("greyctl: relay filter: %llu entries published (list generation %u)\n",
		       st.entries, st.gen);
	return EXIT_OK;
}

static int report_reload(void)
{
	char answer[4096];
	enum control_result r = control_request("reload", answer, sizeof(answer));
	int n, rc = EXIT_OK;

	if (r == CTL_REFUSED)
		return EXIT_FAIL;
	if (r == CTL_DONE && control_answer("reloaded", answer))
		rc = EXIT_FAIL;
	/* greywall-dp has no socket: it reloads on SIGHUP between bursts */
	n = signal_processes(SIGHUP, r == CTL_DONE);
	if (r == CTL_DONE) {
		if (n && !json)
			printf("greyctl: %d greywall-dp told to reload\n", n);
		return rc;
	}
	if (cfg.relay_maps[0])
		return relay_publish();
	if (json)
		printf("{\"reloaded\": %d}\n", n);
	else if (n)
		printf("greyctl: %d daemon%s told to reload\n", n, n == 1 ? "" : "s");
	else
		printf(
		    "greyctl: no greywalld or greywall-dp running; they read the file at start\n");
	return EXIT_OK;
}

/* An entry in canonical spacing and without its comment: "kind value". */
static int canonical(const char *in, char *out, size_t len)
{
	char kind[32], value[600];
	char buf[700];
	char *hash;

	snprintf(buf, sizeof(buf), "%s", in);
	hash = strchr(buf, '#');
	if (hash)
		*hash = 0;
	if (sscanf(buf, "%31s %599s", kind, value) != 2)
		return -1;
	snprintf(out, len, "%s %s", kind, value);
	return 0;
}

static int write_atomic(const char *path, char **lines, size_t n, char *err, size_t errlen)
{
	char tmp[GW_PATH_MAX + 16];
	FILE *f;
	size_t i;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.greyctl.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (i = 0; i < n; i++)
		fputs(lines[i], f);
	if (fflush(f) || fsync(fd) || fclose(f) || rename(tmp, path)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static char **read_lines(const char *path, size_t *n)
{
	char **v = NULL, line[1024];
	FILE *f = fopen(path, "r");

	*n = 0;
	if (!f)
		return errno == ENOENT ? calloc(1, sizeof(char *)) : NULL;
	while (fgets(line, sizeof(line), f)) {
		v = realloc(v, (*n + 2) * sizeof(char *));
		v[(*n)++] = strdup(line);
	}
	fclose(f);
	return v ? v : calloc(1, sizeof(char *));
}

static int cmd_list_file(const char *name, const char *path, int argc, char **argv)
{
	char err[600], canon[700], other[700];
	size_t n, i;
	char **lines;
	int a, rc = EXIT_OK;

	if (!path[0]) {
		fprintf(stderr, "greyctl: no %s_path in the configuration\n", name);
		return EXIT_FAIL;
	}
	if (argc < 1)
		return usage_error("which action: add, del, list or push?");
	if (!strcmp(argv[0], "list")) {
		struct gw_lists *l = gw_lists_new();

		if (access(path, F_OK) == 0 &&
		    gw_lists_load_file(l, GW_WHITE, path, err, sizeof(err)) < 0) {
			fprintf(stderr, "greyctl: %s\n", err);
			gw_lists_free(l);
			return EXIT_FAIL;
		}
		gw_lists_free(l);
		lines = read_lines(path, &n);
		if (json)
			printf("{\"%s\": [", name);
		for (i = 0, a = 0; i < n; i++) {
			if (canonical(lines[i], canon, sizeof(canon)))
				continue;
			if (json)
				printf("%s\"%s\"", a++ ? ", " : "", canon);
			else
				printf("%s\n", canon);
		}
		if (json)
			printf("]}\n");
		return EXIT_OK;
	}
	if (!strcmp(argv[0], "push")) {
		struct gw_lists *l = gw_lists_new();
		int count;

		if (argc != 2)
			return usage_error("push takes one FILE");
		count = gw_lists_load_file(l, GW_WHITE, argv[1], err, sizeof(err));
		gw_lists_free(l);
		if (count < 0) {
			fprintf(stderr, "greyctl: %s; %s left unchanged\n", err, path);
			return EXIT_FAIL;
		}
		lines = read_lines(argv[1], &n);
		if (!lines || write_atomic(path, lines, n, err, sizeof(err))) {
			fprintf(stderr, "greyctl: %s\n", lines ? err : "cannot read the file");
			return EXIT_FAIL;
		}
		if (!json)
			printf("greyctl: %s now has %d entries\n", path, count);
		report_reload();
		return EXIT_OK;
	}
	if (strcmp(argv[0], "add") && strcmp(argv[0], "del"))
		return usage_error("actions are add, del, list and push");
	if (argc < 2)
		return usage_error("add and del take one or more ENTRY arguments");
	lines = read_lines(path, &n);
	if (!lines) {
		fprintf(stderr, "greyctl: %s: %s\n", path, strerror(errno));
		return EXIT_FAIL;
	}
	for (a = 1; a < argc; a++) {
		struct gw_lists *l = gw_lists_new();
		int bad = gw_lists_add(l, GW_WHITE, argv[a], err, sizeof(err));

		gw_lists_free(l);
		if (bad || canonical(argv[a], canon, sizeof(canon))) {
			fprintf(stderr, "greyctl: '%s': %s; nothing changed\n", argv[a],
				bad ? err : "expected 'kind value'");
			return EXIT_FAIL;
		}
		for (i = 0; i < n; i++)
			if (!canonical(lines[i], other, sizeof(other)) && !strcmp(canon, other))
				break;
		if (!strcmp(argv[0], "add")) {
			if (i < n) {
				fprintf(stderr, "greyctl: '%s' is already listed\n", canon);
				continue;
			}
			lines = realloc(lines, (n + 2) * sizeof(char *));
			lines[n] = malloc(strlen(canon) + 2);
			sprintf(lines[n++], "%s\n", canon);
		} else {
			if (i == n) {
				fprintf(stderr, "greyctl: '%s' is not listed\n", canon);
				rc = EXIT_FAIL;
				continue;
			}
			free(lines[i]);
			memmove(&lines[i], &lines[i + 1], (n - i - 1) * sizeof(char *));
			n--;
		}
	}
	if (write_atomic(path, lines, n, err, sizeof(err))) {
		fprintf(stderr, "greyctl: %s\n", err);
		return EXIT_FAIL;
	}
	report_reload();
	return rc;
}

static int open_table(struct gw_table_map *m, const char *path, u32 kind)
{
	char err[512];

	if (gw_table_map_open(m, path, 0, kind, 0, NULL, err, sizeof(err))) {
		fprintf(stderr, "greyctl: %s\n", err);
		return -1;
	}
	return 0;
}

static void print_table_stats(const char *name, const struct gw_table_map *m, int last)
{
	const struct gw_table_stats *s = &m->table.hdr->stats;
	u64 live, tomb, slots = m->table.nbuckets * GW_SLOTS_PER_BUCKET;

	gw_table_count(&m->table, &live, &tomb);
	if (json)
		printf("\"%s\": {\"slots\": %llu, \"live\": %llu, \"tombstones\": %llu, "
		       "\"inserts\": %llu, \"full\": %llu, \"expired\": %llu, \"evicted\": %llu, "
		       "\"contended\": %llu, \"bytes\": %zu}%s",
		       name, (unsigned long long)slots, (unsigned long long)live,
		       (unsigned long long)tomb, (unsigned long long)s->inserts,
		       (unsigned long long)s->full, (unsigned long long)s->expired,
		       (unsigned long long)s->evicted, (unsigned long long)s->contended,
		       gw_table_bytes(m->table.nbuckets), last ? "" : ", ");
	else
		printf(
		    "%-15s %llu live of %llu slots (%.1f %%), %llu tombstones; inserts %llu, "
		    "expired %llu, evicted %llu, full (fail open) %llu, contended %llu; %.1f MiB\n",
		    name, (unsigned long long)live, (unsigned long long)slots,
		    100.0 * (double)live / (double)slots, (unsigned long long)tomb,
		    (unsigned long long)s->inserts, (unsigned long long)s->expired,
		    (unsigned long long)s->evicted, (unsigned long long)s->full,
		    (unsigned long long)s->contended,
		    (double)gw_table_bytes(m->table.nbuckets) / 1048576.0);
}

/* The relay filter's counters, summed over CPUs. */
static int print_relay_stats(void)
{
	static const char *const names[] = {GW_RELAY_STAT_NAMES};
	unsigned long long vals[GW_RS_COUNT];
	struct gw_relay_maps rm;
	char err[1024];
	int i;

	if (gw_relay_maps_open(&rm, cfg.relay_maps, err, sizeof(err)) ||
	    gw_relay_read_stats(&rm, vals)) {
		fprintf(stderr, "greyctl: %s\n", err);
		return -1;
	}
	gw_relay_maps_close(&rm);
	if (json)
		printf("\"relay\": {");
	else
		printf("relay filter counters (%s):\n", cfg.relay_maps);
	for (i = 0; i < GW_RS_COUNT; i++) {
		if (json)
			printf("%s\"%s\": %llu", i ? ", " : "", names[i], vals[i]);
		else
			printf("  %-24s %llu\n", names[i], vals[i]);
	}
	if (json)
		printf("}");
	return 0;
}

/*
 * The cluster and PostgreSQL sync live in greywalld, not in the tables: its
 * own figures, as its stats page gives them (name value, one a line).
 */
static void print_sync_stats(void)
{
	static char page[65536];
	char *line, *save = NULL;
	int first = 1;

	if ((!cfg.cluster_redis[0] && !cfg.lists_pg[0]) ||
	    control_request("stats", page, sizeof(page)) != CTL_DONE) {
		if (cfg.cluster_redis[0] || cfg.lists_pg[0])
			fprintf(stderr, "greyctl: greywalld does not answer: no sync state\n");
		return;
	}
	for (line = strtok_r(page, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "greywall_cluster_", 17) &&
		    strncmp(line, "greywall_lists_pg_", 18))
			continue;
		if (json) {
			const char *ch;

			printf("%s\"", first ? ", \"sync\": [" : ", ");
			for (ch = line; *ch; ch++)
				printf(*ch == '"' || *ch == '\\' ? "\\%c" : "%c", *ch);
			printf("\"");
		} else
			printf("%s%s\n", first ? "sync (greywalld):\n  " : "  ", line);
		first = 0;
	}
	if (json && !first)
		printf("]");
}

static int cmd_stats(void)
{
	struct gw_table_map t, a;

	if (open_table(&t, cfg.table_path, GW_TABLE_TRIPLETS) ||
	    open_table(&a, cfg.awl_path, GW_TABLE_AWL))
		return EXIT_FAIL;
	if (json)
		printf("{");
	print_table_stats("triplets", &t, 0);
	print_table_stats("auto-whitelist", &a, !cfg.relay_maps[0]);
	if (cfg.relay_maps[0] && print_relay_stats()) {
		gw_table_map_close(&t);
		gw_table_map_close(&a);
		return EXIT_FAIL;
	}
	print_sync_stats();
	if (json)
		printf("}\n");
	gw_table_map_close(&t);
	gw_table_map_close(&a);
	return EXIT_OK;
}

static void fmt_time(u64 t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Cut line at its tabs into f[0, n). Returns how many fields it has, at most n. */
static int split_tabs(char *line, char **f, int n)
{
	int k;

	for (k = 0; k < n && line; k++) {
		f[k] = line;
		line = strchr(line, '\t');
		if (line)
			*line++ = 0;
	}
	return k;
}

/* A triplet's text as greywalld knows it. */
struct triplet_name {
	u64 fp;
	char client[64], sender[GW_ADDR_MAX + 1], rcpt[GW_ADDR_MAX + 1];
};

/* Ask greywalld for the names of fps[0, n); unknown ones keep fp 0. Quiet if it is not there. */
static void fetch_names(const u64 *fps, size_t n, struct triplet_name *out)
{
	static char answer[1 << 20];
	char cmd[GW_NAMES_BATCH * 17 + 8];
	size_t i, done;

	memset(out, 0, n * sizeof(*out));
	for (done = 0; done < n; done += GW_NAMES_BATCH) {
		size_t len = (size_t)snprintf(cmd, sizeof(cmd), "names");
		char *line, *save = NULL;

		for (i = done; i < n && i < done + GW_NAMES_BATCH; i++)
			len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " %016llx",
						(unsigned long long)fps[i]);
		if (control_request(cmd, answer, sizeof(answer)) != CTL_DONE ||
		    strncmp(answer, "ok\n", 3))
			return;
		for (line = strtok_r(answer + 3, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			struct triplet_name nm = {0};
			char *f[4];

			if (split_tabs(line, f, 4) < 4)
				continue;
			nm.fp = strtoull(f[0], NULL, 16);
			snprintf(nm.client, sizeof(nm.client), "%s", f[1]);
			snprintf(nm.sender, sizeof(nm.sender), "%s", f[2]);
			snprintf(nm.rcpt, sizeof(nm.rcpt), "%s", f[3]);
			for (i = done; i < n && i < done + GW_NAMES_BATCH; i++)
				if (fps[i] == nm.fp)
					out[i] = nm;
		}
	}
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* The table's entries (only fp's, if not 0), with their names when greywalld has them. */
static int list_triplets(struct gw_table_map *t, u64 limit, u64 only)
{
	static const char *const kinds[] = {"new", "greylisted", "passed", "dying"};
	struct triplet_name *nm = NULL;
	u64 *fps = NULL, *sts = NULL, i, n = 0, cap = 0;
	u32 s;

	for (i = 0; i < t->table.nbuckets && n < limit; i++) {
		for (s = 0; s < GW_SLOTS_PER_BUCKET && n < limit; s++) {
			struct gw_slot *sl = &t->table.buckets[i].slot[s];
			u64 fp = gw_load64(&sl->fp), st;

			if (fp <= GW_FP_TOMBSTONE || (only && fp != only) ||
			    !gw_slot_read(sl, fp, &st))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				fps = realloc(fps, cap * sizeof(*fps));
				sts = realloc(sts, cap * sizeof(*sts));
				if (!fps || !sts) {
					fprintf(stderr, "greyctl: out of memory\n");
					return EXIT_FAIL;
				}
			}
			fps[n] = fp;
			sts[n++] = st;
		}
	}
	if (only && !n) {
		fprintf(stderr, "greyctl: %016llx is not in the table\n", (unsigned long long)only);
		gw_table_map_close(t);
		return EXIT_FAIL;
	}
	nm = calloc(n ? n : 1, sizeof(*nm));
	if (!nm) {
		fprintf(stderr, "greyctl: out of memory\n");
		return EXIT_FAIL;
	}
	fetch_names(fps, n, nm);
	if (json)
		printf("[");
	for (i = 0; i < n; i++) {
		char first[32], last[32];
		u64 st = sts[i];

		fmt_time(t->table.epoch + gw_state_first(st), first, sizeof(first));
		fmt_time(t->table.epoch + (u64)gw_state_last_min(st) * 60, last, sizeof(last));
		if (json) {
			printf("%s{\"fingerprint\": \"%016llx\", \"state\": \"%s\", "
			       "\"first_seen\": \"%s\", \"last_seen\": \"%s\", \"count\": %u",
			       i ? ", " : "", (unsigned long long)fps[i], kinds[gw_state_kind(st)],
			       first, last, gw_state_count(st));
			if (nm[i].fp) {
				printf(", \"client\": ");
				json_string(nm[i].client);
				printf(", \"sender\": ");
				json_string(nm[i].sender);
				printf(", \"recipient\": ");
				json_string(nm[i].rcpt);
			}
			printf("}");
		} else {
			printf("%016llx  %-10s  first %s  last %s  count %u",
			       (unsigned long long)fps[i], kinds[gw_state_kind(st)], first, last,
			       gw_state_count(st));
			if (nm[i].fp)
				printf("  %s <%s> -> <%s>", nm[i].client, nm[i].sender, nm[i].rcpt);
			putchar('\n');
		}
	}
	if (json)
		printf("]\n");
	free(fps);
	free(sts);
	free(nm);
	gw_table_map_close(t);
	return EXIT_OK;
}

/* greywalld's report of senders that were greylisted and never came back. */
static int cmd_report(void)
{
	static char answer[1 << 20];
	enum control_result r = control_request("report", answer, sizeof(answer));
	char *line, *save = NULL;
	int shown = 0;

	if (r == CTL_REFUSED)
		return EXIT_FAIL;
	if (r == CTL_ABSENT) {
		fprintf(stderr,
			"greyctl: report needs greywalld (it keeps the triplets' names); "
			"no answer on %s\n",
			cfg.control_socket);
		return EXIT_FAIL;
	}
	if (strncmp(answer, "ok\n", 3))
		return control_answer("report", answer) ? EXIT_FAIL : EXIT_OK;
	if (json)
		printf("[");
	else
		printf("%-20s %-28s %8s  %-20s %-20s %s\n", "client network", "sender domain",
		       "triplets", "first", "last", "a recipient");
	for (line = strtok_r(answer + 3, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[6], first[32], last[32];

		if (split_tabs(line, f, 6) < 6)
			continue;
		fmt_time(strtoull(f[3], NULL, 10), first, sizeof(first));
		fmt_time(strtoull(f[4], NULL, 10), last, sizeof(last));
		if (json) {
			printf("%s{\"network\": ", shown ? ", " : "");
			json_string(f[0]);
			printf(", \"sender_domain\": ");
			json_string(f[1]);
			printf(", \"triplets\": %s, \"first\": \"%s\", \"last\": \"%s\", "
			       "\"recipient\": ",
			       f[2], first, last);
			json_string(f[5]);
			printf("}");
		} else {
			printf("%-20s %-28s %8s  %-20s %-20s %s\n", f[0], f[1], f[2], first, last,
			       f[5]);
		}
		shown++;
	}
	if (json)
		printf("]\n");
	else if (!shown)
		printf("(no triplet greylisted over report_after ago and never retried)\n");
	return EXIT_OK;
}

static int cmd_triplets(int argc, char **argv)
{
	struct gw_table_map t;
	u64 i, limit = ~0ULL, removed = 0;
	u32 s;

	if (argc < 1)
		return usage_error("which action: list, show, del or flush?");
	if (open_table(&t, cfg.table_path, GW_TABLE_TRIPLETS))
		return EXIT_FAIL;
	if (!strcmp(argv[0], "list")) {
		if (argc == 3 && !strcmp(argv[1], "--limit"))
			limit = strtoull(argv[2], NULL, 10);
		else if (argc != 1)
			return usage_error("list takes only --limit N");
		return list_triplets(&t, limit, 0);
	}
	if (!strcmp(argv[0], "show")) {
		char *end;
		u64 fp;

		if (argc != 2)
			return usage_error("show takes one FINGERPRINT");
		fp = strtoull(argv[1], &end, 16);
		if (*end || fp <= GW_FP_TOMBSTONE)
			return usage_error("a FINGERPRINT is 16 hex digits, as 'list' prints");
		return list_triplets(&t, 1, fp);
	}
	if (!strcmp(argv[0], "del") || !strcmp(argv[0], "flush")) {
		u64 want = 0;
		char *end;

		if (!strcmp(argv[0], "del")) {
			if (argc != 2)
				return usage_error("del takes one FINGERPRINT");
			want = strtoull(argv[1], &end, 16);
			if (*end || want <= GW_FP_TOMBSTONE)
				return usage_error(
				    "a FINGERPRINT is 16 hex digits, as 'list' prints");
		}
		for (i = 0; i < t.table.nbuckets; i++) {
			for (s = 0; s < GW_SLOTS_PER_BUCKET; s++) {
				struct gw_slot *sl = &t.table.buckets[i].slot[s];
				u64 fp = gw_load64(&sl->fp), st;

				if (fp <= GW_FP_TOMBSTONE || (want && fp != want) ||
				    !gw_slot_read(sl, fp, &st) || gw_state_kind(st) == GW_ST_DYING)
					continue;
				removed += gw_table_remove(&t.table, sl, fp, st);
			}
		}
		gw_table_map_close(&t);
		if (json)
			printf("{\"removed\": %llu}\n", (unsigned long long)removed);
		else
			printf("greyctl: %llu triplet%s removed\n", (unsigned long long)removed,
			       removed == 1 ? "" : "s");
		if (want && !removed) {
			fprintf(stderr, "greyctl: %s is not in the table\n", argv[1]);
			return EXIT_FAIL;
		}
		return EXIT_OK;
	}
	gw_table_map_close(&t);
	return usage_error("triplets actions are list, show, del and flush");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	char err[600];
	int opt, i, j;

	/* --json is welcome anywhere: "greyctl stats --json" reads naturally */
	for (i = 1, j = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json = 1;
		else
			argv[j++] = argv[i];
	}
	argc = j;
	argv[argc] = NULL;

	/* options come before the command, so the command's own words are left alone */
	while ((opt = getopt_long(argc, argv, "+c:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'greyctl --help'.\n");
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage_error("no command given");
	gw_daemon_config_defaults(&cfg);
	if ((path || access(GW_CONF_DEFAULT_PATH, F_OK) == 0) &&
	    gw_daemon_config_load(&cfg, path ? path : GW_CONF_DEFAULT_PATH, err, sizeof(err))) {
		fprintf(stderr, "greyctl: %s\n", err);
		return EXIT_FAIL;
	}
	if (cfg.user[0] && getpwnam(cfg.user)) /* greywalld's user may own the lists */
		gw_lists_trust_owner(getpwnam(cfg.user)->pw_uid);
	if (!strcmp(argv[0], "stats"))
		return argc == 1 ? cmd_stats() : usage_error("stats takes no arguments");
	if (!strcmp(argv[0], "report"))
		return cmd_report();
	if (!strcmp(argv[0], "triplets"))
		return cmd_triplets(argc - 1, argv + 1);
	if (!strcmp(argv[0], "whitelist"))
		return cmd_list_file("whitelist", cfg.whitelist_path, argc - 1, argv + 1);
	if (!strcmp(argv[0], "blacklist"))
		return cmd_list_file("blacklist", cfg.blacklist_path, argc - 1, argv + 1);
	if (!strcmp(argv[0], "reload"))
		return report_reload();
	if (!strcmp(argv[0], "ping")) {
		char answer[256];
		enum control_result r = control_request("ping", answer, sizeof(answer));

		if (r == CTL_REFUSED)
			return EXIT_FAIL;
		if (r == CTL_ABSENT) {
			fprintf(stderr, "greyctl: greywalld does not answer on %s\n",
				cfg.control_socket[0] ? cfg.control_socket
						      : "(control_socket is off)");
			return EXIT_FAIL;
		}
		return control_answer("alive", answer) ? EXIT_FAIL : EXIT_OK;
	}
	if (!strcmp(argv[0], "snapshot")) {
		char answer[4096];
		enum control_result r = control_request("snapshot", answer, sizeof(answer));
		int n;

		if (r == CTL_REFUSED)
			return EXIT_FAIL;
		if (r == CTL_DONE)
			return control_answer("snapshot", answer) ? EXIT_FAIL : EXIT_OK;
		n = signal_daemons(SIGUSR1);

		if (!n) {
			fprintf(stderr, "greyctl: no greywalld running\n");
			return EXIT_FAIL;
		}
		printf("greyctl: snapshot requested\n");
		return EXIT_OK;
	}
	snprintf(err, sizeof(err), "unknown command '%s'", argv[0]);
	return usage_error(err);
}
