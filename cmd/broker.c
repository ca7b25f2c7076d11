/* broker.c - `auditflow broker [--port P] [--topic NAME:PARTITIONS]...
 * [--brokers N] [--bootstrap-file FILE] [--control FIFO|-]`: a
 * Kafka-protocol broker on the loopback interface, for trying auditflow and
 * for tests, which can be broken on cue.
 *
 * Thread: the main thread parses, starts, then sleeps in sigwait() until
 * SIGINT or SIGTERM; librdkafka's mock cluster serves clients from its own
 * thread; with --port, one relay thread (below) copies bytes; with
 * --control, one thread (broker_ctl.c) reads commands.
 * In: the command line; with --control, fault-injection commands from
 * stdin ("-") or a FIFO, one a line: `down N`, `up N`, `errors REQUEST
 * COUNT ERROR`, `leader TOPIC PARTITION N`, `coordinator group|txn KEY N`,
 * `rtt N MS`, `help` (broker_ctl.c says what each does; the end of stdin
 * does not stop the broker, a FIFO takes one writer after another).
 * Out: the bootstrap address on stdout and in the --bootstrap-file, then on
 * stdout one line per command, "ok ..." or "error ...", and nothing else;
 * a status line and the retention warning on stderr.
 *
 * DESIGN: the broker is librdkafka's mock cluster (rdkafka_mock.h), a real
 * Kafka wire-protocol server that kcat and librdkafka reach over TCP. It
 * keeps everything in memory, and in librdkafka 2.0.2 each partition keeps
 * only its newest 5 MiB of record batches (as stored, so compressed batches
 * count at their compressed size) and 100,000 batches, dropping older ones
 * without a word: a consumer from "beginning" silently starts later. So the
 * partition count is the capacity, and we say so at start-up.
 *
 * DESIGN: the 2.0.2 API has no way to choose a port: every mock broker
 * binds 127.0.0.1:0 and the kernel picks. For --port P we listen on
 * 127.0.0.1:P ourselves and relay each connection, byte for byte, to broker
 * 1. A Kafka client uses its bootstrap address only to learn the cluster's
 * metadata, which names the brokers' own addresses; it then connects to
 * those for produce and fetch, so the relay carries little traffic and
 * needs no knowledge of the protocol. `kcat -L` therefore lists the
 * brokers at their kernel-chosen ports, not at P.
 */
#include "cmd/broker.h"
#include "cmd/broker_ctl.h"
#include "cmd/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "pipeline/err.h"

#define BROKER_TOPICS_MAX     64
#define BROKER_TOPIC_NAME_MAX 249 /* Kafka's limit */
#define BROKER_PARTITIONS_MAX 10000
#define BROKER_BROKERS_MAX    32
#define BROKER_DEFAULT_TOPIC  "audit"
#define BROKER_DEFAULT_PARTS  16
/* librdkafka 2.0.2, rdkafka_mock.c: a partition's log limits. */
#define BROKER_PARTITION_MIB     5
#define BROKER_PARTITION_BATCHES 100000

/* At most 64 relayed connections of 2 x 64 KiB: 8 MiB. */
#define RELAY_CONNS 64
#define RELAY_BUF   65536

struct broker_topic {
	char name[BROKER_TOPIC_NAME_MAX + 1];
	int partitions;
};

struct broker_opts {
	int port; /* 0: the kernel's choice, no relay */
	int brokers;
	const char *bootstrap_file; /* borrowed from argv, or NULL */
	const char *control;        /* borrowed from argv: "-", a FIFO, or NULL */
	size_t ntopics;
	struct broker_topic topics[BROKER_TOPICS_MAX];
	bool help;
};

/* One relayed connection; dir[s] holds bytes read from fd[s] and not yet
 * written to fd[1 - s]. fd[0] is the client, fd[1] broker 1. */
struct relay_dir {
	size_t off, len;
	bool eof;
	char buf[RELAY_BUF];
};

struct relay_conn {
	int fd[2];
	struct relay_dir dir[2];
};

struct relay {
	int listen_fd;
	int wake[2]; /* a byte on wake[1] stops the relay thread */
	struct sockaddr_in upstream;
	pthread_t thread;
	bool running;
	struct relay_conn *conns[RELAY_CONNS]; /* owned by the relay thread */
	char addr[32];                         /* "127.0.0.1:P" */
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: auditflow broker [OPTIONS]\n"
	        "\n"
	        "A Kafka-protocol broker on 127.0.0.1 (librdkafka's mock cluster) for trying\n"
	        "auditflow and for tests, not for production: it keeps everything in memory\n"
	        "and each partition only its newest ~%d MiB, dropping older messages\n"
	        "silently. Prints the bootstrap address on stdout and serves until SIGINT or\n"
	        "SIGTERM. Topics not named here are made, with 4 partitions, when a client\n"
	        "first asks for them.\n"
	        "\n"
	        "  --topic NAME:PARTITIONS  create a topic (repeatable, up to %d; default\n"
	        "                           %s:%d); give enough partitions for the data\n"
	        "  --brokers N              brokers in the cluster (1-%d, default 1)\n"
	        "  --port P                 bootstrap port on 127.0.0.1, relayed to broker 1\n"
	        "                           (default: a port the kernel picks); the brokers\n"
	        "                           themselves always use ports the kernel picks\n"
	        "  --bootstrap-file FILE    write the bootstrap address to FILE (atomically)\n"
	        "                           once ready, for scripts to wait on; removed at exit\n"
	        "  --control FIFO|-         read fault-injection commands, one a line, from\n"
	        "                           stdin (-) or a FIFO (made if absent, removed at\n"
	        "                           exit; reopened for each writer); the end of stdin\n"
	        "                           does not stop the broker\n"
	        "  -h, --help               this text\n"
	        "\n"
	        "Control commands (--control), each ended by a newline, are answered on\n"
	        "stdout by one line, \"ok ...\" or \"error ...\"; blank lines and lines\n"
	        "starting with # are skipped. Brokers are numbered from 1. E.g. start\n"
	        "`auditflow broker --control /tmp/af-ctl`, then `echo 'down 1' > /tmp/af-ctl`.\n",
	        BROKER_PARTITION_MIB, BROKER_TOPICS_MAX, BROKER_DEFAULT_TOPIC, BROKER_DEFAULT_PARTS,
	        BROKER_BROKERS_MAX);
	af_broker_ctl_usage(out);
}

/* A decimal number in [lo, hi]. */
static bool parse_int(const char *s, long lo, long hi, int *out)
{
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	char *end;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

/* A Kafka topic name: 1 to 249 of [A-Za-z0-9._-], but not "." or "..". */
static bool topic_name_ok(const char *s, size_t len)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                              "0123456789._-";
	if (len == 0 || len > BROKER_TOPIC_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr(allowed, s[i]) || s[i] == '\0')
			return false;
	return !(len <= 2 && strncmp(s, "..", len) == 0);
}

/* "NAME:PARTITIONS" */
static af_err_t parse_topic(struct broker_opts *o, const char *value, char *err, size_t err_size)
{
	const char *colon = strrchr(value, ':');
	size_t len = colon ? (size_t)(colon - value) : 0;
	int parts;
	if (!colon || len == 0 || !parse_int(colon + 1, 1, BROKER_PARTITIONS_MAX, &parts)) {
		snprintf(err, err_size, "--topic: '%s' is not NAME:PARTITIONS (1-%d partitions)",
		         value, BROKER_PARTITIONS_MAX);
		return AF_E_CONFIG;
	}
	if (!topic_name_ok(value, len)) {
		snprintf(err, err_size,
		         "--topic: '%.*s' is not a topic name (1-%d of A-Z a-z 0-9 . _ -, not . "
		         "or ..)",
		         (int)len, value, BROKER_TOPIC_NAME_MAX);
		return AF_E_CONFIG;
	}
	for (size_t i = 0; i < o->ntopics; i++) {
		if (strlen(o->topics[i].name) == len &&
		    memcmp(o->topics[i].name, value, len) == 0) {
			snprintf(err, err_size, "--topic: '%.*s' is given twice", (int)len, value);
			return AF_E_CONFIG;
		}
	}
	if (o->ntopics == BROKER_TOPICS_MAX) {
		snprintf(err, err_size, "--topic: at most %d topics", BROKER_TOPICS_MAX);
		return AF_E_CONFIG;
	}
	struct broker_topic *t = &o->topics[o->ntopics++];
	memcpy(t->name, value, len);
	t->name[len] = '\0';
	t->partitions = parts;
	return AF_OK;
}

static af_err_t apply(struct broker_opts *o, const char *name, const char *value, char *err,
                      size_t err_size)
{
	if (strcmp(name, "topic") == 0)
		return parse_topic(o, value, err, err_size);
	if (strcmp(name, "port") == 0) {
		if (!parse_int(value, 0, 65535, &o->port)) {
			snprintf(err, err_size, "--port: '%s' is not a port (0-65535)", value);
			return AF_E_CONFIG;
		}
	} else if (strcmp(name, "brokers") == 0) {
		if (!parse_int(value, 1, BROKER_BROKERS_MAX, &o->brokers)) {
			snprintf(err, err_size, "--brokers: '%s' is not a number from 1 to %d",
			         value, BROKER_BROKERS_MAX);
			return AF_E_CONFIG;
		}
	} else if (strcmp(name, "bootstrap-file") == 0) {
		if (value[0] == '\0') {
			snprintf(err, err_size, "--bootstrap-file: empty file name");
			return AF_E_CONFIG;
		}
		o->bootstrap_file = value;
	} else if (strcmp(name, "control") == 0) {
		if (value[0] == '\0') {
			snprintf(err, err_size, "--control: empty file name (- for stdin)");
			return AF_E_CONFIG;
		}
		o->control = value;
	} else {
		snprintf(err, err_size, "unknown option '--%s'", name);
		return AF_E_CONFIG;
	}
	return AF_OK;
}

static bool option_known(const char *name)
{
	static const char *const known[] = {"topic", "port", "brokers", "bootstrap-file",
	                                    "control"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(name, known[i]) == 0)
			return true;
	return false;
}

/* "--opt VALUE" and "--opt=VALUE", as `auditflow gen` takes them. */
static af_err_t parse_args(struct broker_opts *o, int argc, char **argv, char *err, size_t err_size)
{
	memset(o, 0, sizeof(*o));
	o->brokers = 1;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			o->help = true;
			return AF_OK;
		}
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			snprintf(err, err_size, "unexpected argument '%s'", arg);
			return AF_E_CONFIG;
		}
		char name[32];
		const char *value;
		if (!af_cli_split(arg, name, sizeof(name), &value)) {
			snprintf(err, err_size, "unknown option '%s'", arg);
			return AF_E_CONFIG;
		}
		if (!option_known(name)) {
			snprintf(err, err_size, "unknown option '--%s'", name);
			return AF_E_CONFIG;
		}
		if (value == NULL && i + 1 < argc) {
			value = argv[++i];
		} else if (value == NULL) {
			snprintf(err, err_size, "option '--%s' needs a value", name);
			return AF_E_CONFIG;
		}
		af_err_t e = apply(o, name, value, err, err_size);
		if (e != AF_OK)
			return e;
	}
	if (o->ntopics == 0) {
		snprintf(o->topics[0].name, sizeof(o->topics[0].name), "%s", BROKER_DEFAULT_TOPIC);
		o->topics[0].partitions = BROKER_DEFAULT_PARTS;
		o->ntopics = 1;
	}
	return AF_OK;
}

static void relay_drop(struct relay *r, size_t i)
{
	close(r->conns[i]->fd[0]);
	close(r->conns[i]->fd[1]);
	free(r->conns[i]);
	r->conns[i] = NULL;
}

static void relay_nodelay(int fd)
{
	int on = 1;
	/* Requests and responses are small and alternate: Nagle would hold each
	 * back for the peer's delayed ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* Accept one client and connect it to broker 1; a client beyond
 * RELAY_CONNS, or one broker 1 refuses, is closed and will retry. */
static void relay_accept(struct relay *r)
{
	int cfd = accept4(r->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	size_t slot = 0;
	while (slot < RELAY_CONNS && r->conns[slot])
		slot++;
	struct relay_conn *c = slot < RELAY_CONNS ? malloc(sizeof(*c)) : NULL;
	int ufd = c ? socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
	/* A blocking connect: on loopback to a listening socket it completes
	 * (or is refused) at once. */
	if (ufd < 0 ||
	    connect(ufd, (const struct sockaddr *)&r->upstream, sizeof(r->upstream)) < 0 ||
	    fcntl(ufd, F_SETFL, O_NONBLOCK) < 0)
		goto fail;
	relay_nodelay(cfd);
	relay_nodelay(ufd);
	c->fd[0] = cfd;
	c->fd[1] = ufd;
	for (int s = 0; s < 2; s++) {
		c->dir[s].off = c->dir[s].len = 0;
		c->dir[s].eof = false;
	}
	r->conns[slot] = c;
	return;
fail:
	if (ufd >= 0)
		close(ufd);
	close(cfd);
	free(c);
}

/* Move what poll() allowed on side s of c. False once the pair is done:
 * an error, or one side closed and everything it sent delivered. */
static bool relay_step(struct relay_conn *c, int s, short revents)
{
	struct relay_dir *in = &c->dir[s], *out = &c->dir[1 - s];
	if (revents & (POLLERR | POLLNVAL))
		return false;
	/* Hung up while we are not reading it: nothing more can go either way
	 * (and POLLHUP would wake us forever). */
	if ((revents & POLLHUP) && (in->len > 0 || in->eof))
		return false;
	if ((revents & (POLLIN | POLLHUP)) && in->len == 0 && !in->eof) {
		ssize_t n = recv(c->fd[s], in->buf, sizeof(in->buf), 0);
		if (n > 0) {
			in->off = 0;
			in->len = (size_t)n;
		} else if (n == 0) {
			in->eof = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			return false;
		}
	}
	if ((revents & POLLOUT) && out->len > 0) {
		ssize_t n = send(c->fd[s], out->buf + out->off, out->len, MSG_NOSIGNAL);
		if (n > 0) {
			out->off += (size_t)n;
			out->len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return false;
		}
	}
	return !((c->dir[0].eof && c->dir[0].len == 0) || (c->dir[1].eof && c->dir[1].len == 0));
}

/* The relay thread: one poll() over the wake pipe, the listener and every
 * connection. Not a data path: mostly bootstrap metadata, see DESIGN. */
static void *relay_main(void *arg)
{
	struct relay *r = arg;
	struct pollfd pfd[2 + 2 * RELAY_CONNS];
	size_t owner[2 + 2 * RELAY_CONNS];

	for (;;) {
		nfds_t n = 0;
		pfd[n++] = (struct pollfd){.fd = r->wake[0], .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = r->listen_fd, .events = POLLIN};
		for (size_t i = 0; i < RELAY_CONNS; i++) {
			struct relay_conn *c = r->conns[i];
			if (!c)
				continue;
			for (int s = 0; s < 2; s++) {
				short ev = 0;
				if (c->dir[s].len == 0 && !c->dir[s].eof)
					ev |= POLLIN;
				if (c->dir[1 - s].len > 0)
					ev |= POLLOUT;
				owner[n] = i;
				pfd[n++] = (struct pollfd){.fd = c->fd[s], .events = ev};
			}
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break;
		for (nfds_t k = 2; k < n; k += 2) {
			size_t i = owner[k];
			if (!relay_step(r->conns[i], 0, pfd[k].revents) ||
			    !relay_step(r->conns[i], 1, pfd[k + 1].revents))
				relay_drop(r, i);
		}
		if (pfd[1].revents & POLLIN)
			relay_accept(r);
	}
	return NULL;
}

/* The first "A.B.C.D:PORT" of a comma-separated list (the mock cluster's
 * bootstraps, broker 1 first). */
static bool parse_first_addr(const char *list, struct sockaddr_in *out)
{
	char text[64];
	size_t len = strcspn(list, ",");
	if (len >= sizeof(text))
		return false;
	memcpy(text, list, len);
	text[len] = '\0';
	char *colon = strrchr(text, ':');
	int port;
	if (!colon || !parse_int(colon + 1, 1, 65535, &port))
		return false;
	*colon = '\0';
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, text, &out->sin_addr) == 1;
}

/* Listen on 127.0.0.1:port and relay to upstream ("HOST:PORT", broker 1).
 * r is the caller's storage; relay_close() undoes a successful open. */
static af_err_t relay_open(struct relay *r, int port, const char *upstream, char *errstr,
                           size_t errstr_size)
{
	af_err_t e = AF_E_IO;
	memset(r, 0, sizeof(*r));
	r->listen_fd = r->wake[0] = r->wake[1] = -1;

	if (!parse_first_addr(upstream, &r->upstream)) {
		snprintf(errstr, errstr_size, "unexpected mock broker address '%s'", upstream);
		e = AF_E_INTERNAL;
		goto cleanup;
	}
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_port = htons((uint16_t)port),
	                          .sin_addr = {.s_addr = htonl(INADDR_LOOPBACK)}};
	int on = 1;
	r->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* SO_REUSEADDR: a broker restarted on the same port must not wait out
	 * the last one's TIME_WAIT connections. */
	if (r->listen_fd < 0 ||
	    setsockopt(r->listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(r->listen_fd, (const struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(r->listen_fd, 64) < 0) {
		snprintf(errstr, errstr_size, "cannot listen on 127.0.0.1:%d: %s", port,
		         strerror(errno));
		goto cleanup;
	}
	if (pipe2(r->wake, O_CLOEXEC) < 0) {
		snprintf(errstr, errstr_size, "pipe: %s", strerror(errno));
		goto cleanup;
	}
	int rc = pthread_create(&r->thread, NULL, relay_main, r);
	if (rc != 0) {
		snprintf(errstr, errstr_size, "cannot start the relay thread: %s", strerror(rc));
		goto cleanup;
	}
	r->running = true;
	snprintf(r->addr, sizeof(r->addr), "127.0.0.1:%d", port);
	return AF_OK;
cleanup:
	for (int i = 0; i < 2; i++)
		if (r->wake[i] >= 0)
			close(r->wake[i]);
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	r->listen_fd = r->wake[0] = r->wake[1] = -1;
	return e;
}

/* Stop the relay thread and close every connection. */
static void relay_close(struct relay *r)
{
	if (!r->running)
		return;
	/* A full pipe is impossible here: this is the only byte ever sent. */
	while (write(r->wake[1], "", 1) < 0 && errno == EINTR)
		;
	pthread_join(r->thread, NULL);
	for (size_t i = 0; i < RELAY_CONNS; i++)
		if (r->conns[i])
			relay_drop(r, i);
	close(r->wake[0]);
	close(r->wake[1]);
	close(r->listen_fd);
	r->running = false;
}

/* Write "ADDR\n" to path through a temporary file and rename(), so a
 * script that waits for path never reads half an address. */
static af_err_t write_bootstrap_file(const char *path, const char *addr, char *errstr,
                                     size_t errstr_size)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(errstr, errstr_size, "%s: name too long", path);
		return AF_E_CONFIG;
	}
	FILE *f = fopen(tmp, "we");
	if (!f) {
		snprintf(errstr, errstr_size, "%s.tmp: %s", path, strerror(errno));
		return AF_E_IO;
	}
	bool ok = fprintf(f, "%s\n", addr) >= 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		snprintf(errstr, errstr_size, "%s%s: %s", path, ok ? "" : ".tmp", strerror(errno));
		unlink(tmp);
		return AF_E_IO;
	}
	return AF_OK;
}

/* librdkafka's log lines (from its threads), in our prefix. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	fprintf(stderr, "auditflow broker: librdkafka: %s: %s\n", fac, buf);
}

/* The status line and the retention warning, on stderr. */
static void announce(const struct broker_opts *o, const char *addr, const char *bootstraps)
{
	long parts = 0;
	fprintf(stderr, "auditflow broker: listening on %s", addr);
	if (o->port)
		fprintf(stderr, ", relayed to broker 1 at %.*s", (int)strcspn(bootstraps, ","),
		        bootstraps);
	fputs(" (", stderr);
	if (o->brokers > 1)
		fprintf(stderr, "%d brokers: %s; ", o->brokers, bootstraps);
	fputs("topics:", stderr);
	for (size_t i = 0; i < o->ntopics; i++) {
		fprintf(stderr, "%s %s:%d", i ? "," : "", o->topics[i].name,
		        o->topics[i].partitions);
		parts += o->topics[i].partitions;
	}
	fputs(")\n", stderr);
	fprintf(stderr,
	        "auditflow broker: warning: for trying auditflow and for tests only: messages "
	        "live in memory, and each partition keeps only its newest ~%d MiB (or %d "
	        "batches) and drops older ones silently (%ld partitions here: ~%ld MiB in all); "
	        "give data more partitions (--topic NAME:N) or use a real Kafka cluster\n",
	        BROKER_PARTITION_MIB, BROKER_PARTITION_BATCHES, parts,
	        parts * BROKER_PARTITION_MIB);
}

int af_broker_main(int argc, char **argv)
{
	struct broker_opts opts, *o = &opts;
	char err[1024];
	int status = 1;
	rd_kafka_t *rk = NULL;
	rd_kafka_mock_cluster_t *mc = NULL;
	struct relay relay = {.running = false};
	struct af_broker_ctl *ctl = NULL;
	bool wrote_file = false;

	if (parse_args(o, argc, argv, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "auditflow broker: %s (--help lists the options)\n", err);
		status = 2;
		goto cleanup;
	}
	if (o->help) {
		usage(stdout);
		status = 0;
		goto cleanup;
	}

	/* Before librdkafka starts a thread, so that every thread inherits the
	 * mask and the signal waits for sigwait() below. SIGPIPE is blocked
	 * and never waited for: a control answer to a closed stdout fails
	 * with EPIPE instead of killing the broker. */
	sigset_t stop, blocked;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	blocked = stop;
	sigaddset(&blocked, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);

	/* The handle only hosts the cluster; it never connects anywhere.
	 * log_level 4 hides its notice that it has no bootstrap.servers. */
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, log_cb);
	if (rd_kafka_conf_set(conf, "log_level", "4", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "client.id", "auditflow-broker", err, sizeof(err)) !=
	        RD_KAFKA_CONF_OK ||
	    !(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
		rd_kafka_conf_destroy(conf);
		fprintf(stderr, "auditflow broker: librdkafka: %s\n", err);
		goto cleanup;
	}
	mc = rd_kafka_mock_cluster_new(rk, o->brokers);
	if (!mc) {
		fputs("auditflow broker: librdkafka could not start the mock cluster\n", stderr);
		goto cleanup;
	}
	for (size_t i = 0; i < o->ntopics; i++) {
		int replicas = o->brokers < 3 ? o->brokers : 3;
		rd_kafka_resp_err_t re = rd_kafka_mock_topic_create(
		    mc, o->topics[i].name, o->topics[i].partitions, replicas);
		if (re != RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "auditflow broker: topic '%s': %s\n", o->topics[i].name,
			        rd_kafka_err2str(re));
			goto cleanup;
		}
	}

	/* The FIFO is made and open before the address is out, so a script
	 * that waits for the address can write commands at once. */
	if (o->control) {
		af_err_t e =
		    af_broker_ctl_open(&ctl, mc, o->brokers, o->control, stdout, err, sizeof(err));
		if (e != AF_OK) {
			fprintf(stderr, "auditflow broker: --control: %s\n", err);
			status = e == AF_E_CONFIG ? 2 : 1;
			goto cleanup;
		}
	}

	const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
	const char *addr = bootstraps;
	if (o->port) {
		if (relay_open(&relay, o->port, bootstraps, err, sizeof(err)) != AF_OK) {
			fprintf(stderr, "auditflow broker: --port: %s\n", err);
			goto cleanup;
		}
		addr = relay.addr;
	}
	announce(o, addr, bootstraps);
	printf("%s\n", addr);
	fflush(stdout);
	/* From here on only the control thread writes to stdout. */
	if (ctl && af_broker_ctl_start(ctl, err, sizeof(err)) != AF_OK) {
		fprintf(stderr, "auditflow broker: --control: %s\n", err);
		goto cleanup;
	}
	if (o->bootstrap_file) {
		if (write_bootstrap_file(o->bootstrap_file, addr, err, sizeof(err)) != AF_OK) {
			fprintf(stderr, "auditflow broker: --bootstrap-file: %s\n", err);
			goto cleanup;
		}
		wrote_file = true;
	}

	int sig = 0;
	while (sigwait(&stop, &sig) != 0)
		;
	fprintf(stderr, "auditflow broker: %s, stopping\n",
	        sig == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)");
	status = 0;
cleanup:
	/* Before the cluster goes: a command may be using it. */
	af_broker_ctl_close(ctl);
	relay_close(&relay);
	if (wrote_file)
		unlink(o->bootstrap_file);
	if (mc)
		rd_kafka_mock_cluster_destroy(mc);
	if (rk)
		rd_kafka_destroy(rk);
	return status;
}
