// SPDX-License-Identifier: BSD-2-Clause
/* What greyctl's commands share: the control sockets, reloads, the tables, output helpers. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "greyctl.h"
#include "../json.h"

int usage_error(const char *what)
{
	fprintf(stderr, "greyctl: %s\nTry 'greyctl --help'.\n", what);
	return EXIT_USAGE;
}

int command_help(const struct greyctl_command *c)
{
	printf("Usage: greyctl [-c FILE] [--json] %s%s%s\n\n%s", c->name, c->args[0] ? " " : "",
	       c->args, c->help);
	return EXIT_OK;
}

int command_usage_error(const struct greyctl_command *c, const char *what)
{
	if (what)
		fprintf(stderr, "greyctl %s: %s\n", c->name, what);
	fprintf(stderr, "Try 'greyctl %s --help'.\n", c->name);
	return EXIT_USAGE;
}

int command_words(const struct greyctl_command *c, int argc, char **argv, int max_words, int *first)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	optind = 0; /* a fresh scan: greyctl's own options were parsed before */
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1)
		return opt == 'h' ? command_help(c) : command_usage_error(c, NULL);
	if (argc - optind > max_words)
		return command_usage_error(c,
					   max_words ? "too many arguments" : "takes no arguments");
	*first = optind;
	return -1;
}

/*
 * The greywalld of this configuration, by the lock it holds on the table
 * file: never by process name, which would reach every instance on the host.
 * 0 if none holds it (or the table is the relay filter's map).
 */
long greywalld_pid(void)
{
	return gw_table_path_is_bpf(cfg.table_path) ? 0 : gw_table_lock_holder(cfg.table_path);
}

/*
 * One command over greywalld's control socket. The answer goes to out. A
 * missing socket or a daemon that is not there is GW_CONTROL_ABSENT (the
 * caller may fall back to signals); no permission is GW_CONTROL_REFUSED, said
 * on stderr.
 */
enum gw_control_result control_request(const char *cmd, char *out, size_t cap)
{
	enum gw_control_result r = gw_control_ask(cfg.control_socket, cmd, out, cap);

	if (r == GW_CONTROL_REFUSED)
		fprintf(stderr,
			"greyctl: permission denied on the control socket %s: run as root or "
			"as a member of group '%s'\n",
			cfg.control_socket, cfg.control_group);
	return r;
}

/* The same over greywall-dp's control socket (dp_control_socket). */
enum gw_control_result dp_request(const char *cmd, char *out, size_t cap)
{
	enum gw_control_result r = gw_control_ask(cfg.dp_control_socket, cmd, out, cap);

	if (r == GW_CONTROL_REFUSED)
		fprintf(stderr,
			"greyctl: permission denied on greywall-dp's control socket %s: run as "
			"root or as a member of group '%s'\n",
			cfg.dp_control_socket, cfg.control_group);
	return r;
}

/* Print who's answer (greywalld or greywall-dp); 0 if it began with "ok". */
int answer_line(const char *answer, char *line, size_t cap)
{
	int ok = !strncmp(answer, "ok", 2) && (answer[2] == '\n' || !answer[2]);
	const char *detail = ok ? answer + 2 + (answer[2] == '\n') : answer;

	snprintf(line, cap, "%.*s", (int)strcspn(detail, "\n"), detail);
	return ok;
}

int control_answer_from(const char *who, const char *what, const char *answer)
{
	char line[1024];
	int ok = answer_line(answer, line, sizeof(line));

	if (json) {
		/* the daemon's line may quote a file name or a list entry: escaped */
		printf("{\"%s\": %s, \"%s\": ", what, ok ? "true" : "false", who);
		json_string(line);
		printf("}\n");
	} else if (ok)
		printf("greyctl: %s: %s\n", who, line[0] ? line : "done");
	else
		fprintf(stderr, "greyctl: %s: %s\n", who, line);
	return ok ? 0 : -1;
}

/* Print greywalld's answer; 0 if it began with "ok". */
int control_answer(const char *what, const char *answer)
{
	return control_answer_from("greywalld", what, answer);
}

/* No greywalld: publish the list files into the relay filter's maps ourselves. */
int relay_publish(void)
{
	struct gw_relay_sync_stats st;
	char err[1024];

	if (gw_relay_publish_files(cfg.relay_maps, cfg.whitelist_path, cfg.blacklist_path,
				   cfg.pools_path, &st, err, sizeof(err))) {
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

/*
 * Tell this configuration's greywalld and greywall-dp to reload, each over its
 * own control socket, and print what each says: the entry count or the
 * refusal. Without a greywalld socket, the greywalld holding the table's lock
 * gets SIGHUP; with the relay filter and no greywalld, greyctl publishes.
 */
int report_reload(void)
{
	static const char *const who[2] = {"greywalld", "greywall-dp"};
	char answer[4096], said[2][1024];
	enum gw_control_result r[2];
	int ok[2] = {0, 0}, i, rc = EXIT_OK;
	long pid;

	r[0] = control_request("reload", answer, sizeof(answer));
	if (r[0] == GW_CONTROL_DONE)
		ok[0] = answer_line(answer, said[0], sizeof(said[0]));
	r[1] = dp_request("reload", answer, sizeof(answer));
	if (r[1] == GW_CONTROL_DONE)
		ok[1] = answer_line(answer, said[1], sizeof(said[1]));
	for (i = 0; i < 2; i++)
		if (r[i] == GW_CONTROL_REFUSED || (r[i] == GW_CONTROL_DONE && !ok[i]))
			rc = EXIT_FAIL;
	if (r[0] == GW_CONTROL_DONE || r[1] == GW_CONTROL_DONE) {
		/* one object for both: a script reads one JSON document */
		if (json)
			printf("{\"reloaded\": %s", rc == EXIT_OK ? "true" : "false");
		for (i = 0; i < 2; i++) {
			if (r[i] != GW_CONTROL_DONE)
				continue;
			if (json) {
				printf(", \"%s\": ", who[i]);
				json_string(said[i]);
			} else if (ok[i]) {
				printf("greyctl: %s: %s\n", who[i], said[i][0] ? said[i] : "done");
			} else {
				fprintf(stderr, "greyctl: %s: %s\n", who[i], said[i]);
			}
		}
		if (json)
			printf("}\n");
		return rc;
	}
	if (r[0] != GW_CONTROL_ABSENT || r[1] != GW_CONTROL_ABSENT)
		return rc; /* refused, and said so */
	pid = greywalld_pid();
	if (pid > 0 && kill((pid_t)pid, SIGHUP) == 0) {
		if (json)
			printf("{\"reloaded\": 1}\n");
		else
			printf("greyctl: greywalld (pid %ld, holding %s) told to reload\n", pid,
			       cfg.table_path);
		return rc;
	}
	if (cfg.relay_maps[0])
		return relay_publish();
	if (json)
		printf("{\"reloaded\": 0}\n");
	else
		printf("greyctl: no greywalld answers on %s and no greywall-dp on %s; they read "
		       "the files at start\n",
		       cfg.control_socket[0] ? cfg.control_socket : "(control_socket is off)",
		       cfg.dp_control_socket[0] ? cfg.dp_control_socket
						: "(dp_control_socket is off)");
	return rc;
}

int open_table(struct gw_table_map *m, const char *path, u32 kind)
{
	char err[512];

	if (gw_table_map_open(m, path, 0, kind, 0, NULL, err, sizeof(err))) {
		fprintf(stderr, "greyctl: %s\n", err);
		return -1;
	}
	return 0;
}

void fmt_time(u64 t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Cut line at its tabs into f[0, n). Returns how many fields it has, at most n. */
int split_tabs(char *line, char **f, int n)
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

/* Names are the client's bytes, not always UTF-8: json.h makes them strict JSON. */
void json_string(const char *s)
{
	gw_json_string(stdout, s, strlen(s));
}
