// SPDX-License-Identifier: BSD-2-Clause
/*
 * Load a BPF object the way bpftool does and print what the verifier said:
 * instructions processed per program, or the tail of the log on a refusal
 * (all of it at log level 2 and above).
 * Usage: verifier_log OBJECT [log_level [PROGRAM]]
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_SIZE ((1u << 30) - 1) /* the kernel caps a log at UINT_MAX >> 2 */

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	char *log;
	int err, level = argc > 2 ? atoi(argv[2]) : 1;
	const char *only = argc > 3 ? argv[3] : NULL;

	if (argc < 2) {
		fprintf(stderr, "usage: %s OBJECT [log_level]\n", argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "%s: cannot open: %s\n", argv[1], strerror(errno));
		return 1;
	}
	log = calloc(1, LOG_SIZE);
	if (!log)
		return 1;
	bpf_object__for_each_program(prog, obj)
	{
		bpf_program__set_log_buf(prog, log, LOG_SIZE);
		bpf_program__set_log_level(prog, level | 4);
		if (only && strcmp(bpf_program__name(prog), only))
			bpf_program__set_autoload(prog, false);
	}
	err = bpf_object__load(obj);
	if (err) {
		size_t n = strlen(log);
		const char *tail = n > 6000 && level < 2 ? log + n - 6000 : log;

		fprintf(stderr, "%s: the verifier refused it (%s):\n%s\n", argv[1], strerror(-err),
			tail);
		return 1;
	}
	{
		char *stats = strstr(log, "processed ");

		printf("%s: %s\n", only ? only : "object", stats ? stats : "loaded");
	}
	bpf_object__close(obj);
	free(log);
	return 0;
}
