// SPDX-License-Identifier: BSD-2-Clause
/*
 * Load generator for the Postfix policy delegation protocol, the same for
 * greywalld and postgrey: C connections, each sending requests one at a time
 * (as a Postfix smtpd does) for a fixed count. Every request is a new triplet
 * unless -R repeats them. Prints decisions per second and the answers seen.
 *
 *   policy_load -h 127.0.0.1 -p 10023 -c 8 -n 20000 [-R]
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1";
static int port = 10023, conns = 8, repeat;
static long total = 20000;
static long defer_count, dunno_count, other_count, errors;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
	long id = (long)arg, i, n = total / conns, d = 0, u = 0, o = 0;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char req[512], buf[1024];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, host, &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		__atomic_add_fetch(&errors, n, __ATOMIC_RELAXED);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		long k = repeat ? i % 100 : i;
		int len =
		    snprintf(req, sizeof(req),
			     "request=smtpd_access_policy\nprotocol_state=RCPT\n"
			     "protocol_name=ESMTP\nclient_address=198.18.%ld.%ld\n"
			     "client_name=unknown\nhelo_name=mx%ld.example\n"
			     "sender=s%ld@sender%ld.example\nrecipient=r%ld@receiver.example\n\n",
			     (id * 7 + k) % 250, (k % 250) + 1, id, k, id, k);
		size_t got = 0;

		if (write(fd, req, (size_t)len) != len)
			break;
		/* the answer ends with an empty line */
		while (got < 4 || memcmp(buf + got - 2, "\n\n", 2) != 0) {
			ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);

			if (r <= 0)
				goto out;
			got += (size_t)r;
		}
		buf[got] = 0;
		if (strstr(buf, "DEFER_IF_PERMIT") || strstr(buf, "action=450") ||
		    strstr(buf, "DEFER"))
			d++;
		else if (strstr(buf, "DUNNO") || strstr(buf, "PREPEND"))
			u++;
		else
			o++;
	}
out:
	close(fd);
	pthread_mutex_lock(&lock);
	defer_count += d;
	dunno_count += u;
	other_count += o;
	errors += n - (d + u + o);
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[256];
	struct timespec a, b;
	double el;
	int opt, i;

	while ((opt = getopt(argc, argv, "h:p:c:n:R")) != -1) {
		switch (opt) {
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'c':
			conns = atoi(optarg);
			break;
		case 'n':
			total = atol(optarg);
			break;
		case 'R':
			repeat = 1;
			break;
		default:
			fprintf(stderr,
				"usage: policy_load [-h host] [-p port] [-c conns] [-n requests] "
				"[-R]\n");
			return 2;
		}
	}
	if (conns < 1 || conns > 256 || total < conns) {
		fprintf(stderr,
			"policy_load: need 1..256 connections and at least one request each\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < conns; i++)
		pthread_create(&th[i], NULL, worker, (void *)(long)i);
	for (i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	el = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
	printf("%.0f decisions/s (%ld requests, %d connections, %.2f s; defer=%ld dunno=%ld "
	       "other=%ld errors=%ld)\n",
	       (double)(defer_count + dunno_count + other_count) / el, total, conns, el,
	       defer_count, dunno_count, other_count, errors);
	return errors ? 1 : 0;
}
