// SPDX-License-Identifier: BSD-2-Clause
/* greyctl whitelist|blacklist: the list files, edited atomically, then a reload. */
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
	char tmp[GW_CONF_PATH_MAX + 16];
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
			if (json) {
				printf("%s", a++ ? ", " : "");
				json_string(canon);
			} else
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

static int run_whitelist(int argc, char **argv)
{
	int first, rc = command_words(&greyctl_whitelist, argc, argv, argc, &first);

	return rc >= 0 ? rc
		       : cmd_list_file("whitelist", cfg.whitelist_path, argc - first, argv + first);
}

static int run_blacklist(int argc, char **argv)
{
	int first, rc = command_words(&greyctl_blacklist, argc, argv, argc, &first);

	return rc >= 0 ? rc
		       : cmd_list_file("blacklist", cfg.blacklist_path, argc - first, argv + first);
}

#define LIST_HELP(name, file)                                                                      \
	"  add ENTRY...   add entries to " file ", then reload\n"                                  \
	"  del ENTRY...   remove entries, then reload\n"                                           \
	"  list           print the " name "\n"                                                    \
	"  push FILE      check FILE and make it the " name ", then reload\n"                      \
	"\n"                                                                                       \
	"An ENTRY is 'client CIDR', 'sender ADDRESS|@DOMAIN' or 'recipient ADDRESS|@DOMAIN',\n"    \
	"one shell argument each, e.g.  greyctl " name " add 'client 198.18.0.0/24'\n"             \
	"Entries are checked with the parser the daemons use before the file is touched; it\n"     \
	"is replaced atomically (write, fsync, rename). The reload is greyctl reload's: this\n"    \
	"configuration's greywalld and greywall-dp say how many entries are in force.\n"

const struct greyctl_command greyctl_whitelist = {
    "whitelist",
    "add|del|list|push [ENTRY...|FILE]",
    "  whitelist add ENTRY...     add entries to the whitelist file, then reload\n"
    "  whitelist del ENTRY...     remove entries, then reload\n"
    "  whitelist list             print the whitelist\n"
    "  whitelist push FILE        check FILE and make it the whitelist, then reload\n",
    LIST_HELP("whitelist", "whitelist_path"),
    run_whitelist,
};

const struct greyctl_command greyctl_blacklist = {
    "blacklist",
    "add|del|list|push [ENTRY...|FILE]",
    "  blacklist add|del|list|push  the same for the blacklist (550 5.7.1)\n",
    LIST_HELP("blacklist", "blacklist_path") "Blacklisted triplets are refused with 550 5.7.1.\n",
    run_blacklist,
};
