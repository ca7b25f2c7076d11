/* broker_ctl.c - the control channel of `auditflow broker --control`:
 * fault injection on cue. Commands, one a line:
 *
 *   down BROKER|all                 close its connections, refuse new ones
 *   up BROKER|all                   take connections again
 *   errors REQUEST COUNT ERROR      fail the next COUNT requests of a type
 *   errors REQUEST clear            forget the errors not yet used
 *   leader TOPIC PARTITION BROKER|none
 *   coordinator group|txn KEY BROKER
 *   rtt BROKER|all MS               delay every response of the broker
 *   help
 *
 * Each command gets one answer line, "ok ..." or "error ...", so a script
 * or a test can wait for it; a bad command is only answered "error".
 *
 * Thread: af_broker_ctl_open/_start/_close on the broker's main thread;
 * reading and the commands on the channel's own thread (ctl_main).
 * In: stdin ("-") or a FIFO. Out: the answers on the stream given (stdout).
 *
 * DESIGN: the channel thread polls the input and a wake pipe, like the
 * bootstrap relay in broker.c, so the main thread can stop it whatever the
 * input does: a terminal that never sends end of file, a FIFO that no one
 * opens. The end of stdin ends reading only: a broker started from a
 * script with stdin at /dev/null, or whose feeding pipe closes, keeps
 * serving until a signal. A FIFO reader sees end of file each time its
 * last writer closes it, so it is reopened for the next writer; it is
 * opened non-blocking so neither open nor poll waits for a writer (Linux
 * reports no hang-up on a FIFO that has had no writer since it was opened).
 *
 * DESIGN: every command goes through librdkafka's mock API, which posts it
 * to the cluster's thread and waits for the result, so this thread needs
 * no lock: when "ok" is printed, the fault is in place for the next
 * request a client sends.
 */
#include "cmd/broker_ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CTL_LINE_MAX   1024 /* bytes in a command line, without the newline */
#define CTL_WORDS_MAX  6    /* the longest command has 4; more is an error */
#define CTL_ANSWER_MAX 1024
#define CTL_ERRORS_MAX 100000 /* per `errors` command */
#define CTL_RTT_MAX_MS 600000
#define ERRORS_USAGE   "errors REQUEST COUNT ERROR, or errors REQUEST clear"

struct af_broker_ctl {
	rd_kafka_mock_cluster_t *mc; /* borrowed */
	int brokers;
	FILE *answers; /* borrowed */
	char *path;    /* the FIFO (owned), or NULL for stdin */
	bool made_fifo;
	int fd;      /* the input, -1 between a FIFO's writers or after stdin's end */
	int wake[2]; /* a byte on wake[1] stops the thread */
	pthread_t thread;
	bool running;
	/* The line being read (the channel thread's only). */
	size_t len;
	bool too_long; /* over CTL_LINE_MAX: skipped to its newline */
	char line[CTL_LINE_MAX + 1];
};

/* One command being run: its words (arg[0] is the command) and where its
 * answer goes. */
struct ctl_call {
	rd_kafka_mock_cluster_t *mc;
	int brokers;
	char **arg;
	int nargs; /* words after the command */
	char *answer;
	size_t answer_size;
};

static void reply(const struct ctl_call *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void reply(const struct ctl_call *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->answer, c->answer_size, fmt, ap);
	va_end(ap);
}

/* A decimal integer word in [lo, hi]. */
static bool word_long(const char *w, long lo, long hi, long *out)
{
	const char *digits = w[0] == '-' ? w + 1 : w;
	char *end;

	if (*digits < '0' || *digits > '9')
		return false;
	errno = 0;
	long v = strtol(w, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* A broker id: 1..brokers, or -1 for the word all_word ("all", "none")
 * when given. Answers the error itself and returns false. */
static bool word_broker(const struct ctl_call *c, const char *w, const char *all_word, int32_t *id)
{
	long v;

	if (all_word && strcasecmp(w, all_word) == 0) {
		*id = -1;
		return true;
	}
	if (!word_long(w, 1, c->brokers, &v)) {
		char range[16] = "1";
		if (c->brokers > 1)
			snprintf(range, sizeof(range), "1-%d", c->brokers);
		reply(c, "error %s: '%.64s' is not a broker (%s%s%s)", c->arg[0], w, range,
		      all_word ? ", or " : "", all_word ? all_word : "");
		return false;
	}
	*id = (int32_t)v;
	return true;
}

/* The mock's answer to a command. */
static void reply_mock(const struct ctl_call *c, rd_kafka_resp_err_t re, const char *done)
{
	if (re == RD_KAFKA_RESP_ERR_NO_ERROR)
		reply(c, "ok %s", done);
	else
		reply(c, "error %s: %s", c->arg[0], rd_kafka_err2str(re));
}

static void cmd_updown(const struct ctl_call *c)
{
	int32_t id;
	char done[64];

	if (!word_broker(c, c->arg[1], "all", &id))
		return;
	bool up = strcasecmp(c->arg[0], "up") == 0;
	rd_kafka_resp_err_t re =
	    up ? rd_kafka_mock_broker_set_up(c->mc, id) : rd_kafka_mock_broker_set_down(c->mc, id);
	if (id < 0)
		snprintf(done, sizeof(done), "%s all", up ? "up" : "down");
	else
		snprintf(done, sizeof(done), "%s %d", up ? "up" : "down", (int)id);
	reply_mock(c, re, done);
}

/* The request types librdkafka 2.0.2's mock serves, by Kafka ApiKey. */
static const struct {
	const char *name;
	int16_t key;
} ctl_requests[] = {
    {"Produce", 0},
    {"Fetch", 1},
    {"ListOffsets", 2},
    {"Metadata", 3},
    {"OffsetCommit", 8},
    {"OffsetFetch", 9},
    {"FindCoordinator", 10},
    {"JoinGroup", 11},
    {"Heartbeat", 12},
    {"LeaveGroup", 13},
    {"SyncGroup", 14},
    {"ApiVersions", 18},
    {"InitProducerId", 22},
    {"OffsetForLeaderEpoch", 23},
    {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25},
    {"EndTxn", 26},
    {"TxnOffsetCommit", 28},
};

#define CTL_NREQUESTS (sizeof(ctl_requests) / sizeof(ctl_requests[0]))

/* The ctl_requests index of a request name (any case), or -1. */
static int request_find(const char *w)
{
	for (size_t i = 0; i < CTL_NREQUESTS; i++)
		if (strcasecmp(w, ctl_requests[i].name) == 0)
			return (int)i;
	return -1;
}

/* Errors a broker can send: Kafka's own (UNKNOWN is -1, the rest
 * positive), and librdkafka's _TRANSPORT, which the mock turns into a
 * dropped connection. Other local errors mean nothing on the wire. */
static bool error_sendable(rd_kafka_resp_err_t code)
{
	return code > 0 || code == RD_KAFKA_RESP_ERR_UNKNOWN ||
	       code == RD_KAFKA_RESP_ERR__TRANSPORT;
}

/* An error by librdkafka's name (NOT_LEADER_FOR_PARTITION, any case, the
 * RD_KAFKA_RESP_ERR_ prefix allowed) or by code, looked up in librdkafka's
 * own table so every error it knows is accepted. */
static bool error_find(const char *w, rd_kafka_resp_err_t *out)
{
	static const char prefix[] = "RD_KAFKA_RESP_ERR_";
	const struct rd_kafka_err_desc *descs;
	size_t ndescs;
	long code;
	bool by_code = word_long(w, INT16_MIN, INT16_MAX, &code);

	if (strncasecmp(w, prefix, sizeof(prefix) - 1) == 0)
		w += sizeof(prefix) - 1;
	rd_kafka_get_err_descs(&descs, &ndescs);
	for (size_t i = 0; i < ndescs; i++) {
		if (!descs[i].name || !error_sendable(descs[i].code))
			continue;
		if (by_code ? descs[i].code == code : strcasecmp(w, descs[i].name) == 0) {
			*out = descs[i].code;
			return true;
		}
	}
	return false;
}

static void cmd_errors(const struct ctl_call *c)
{
	int r = request_find(c->arg[1]);
	long count;
	rd_kafka_resp_err_t code;

	if (r < 0) {
		size_t off =
		    (size_t)snprintf(c->answer, c->answer_size,
		                     "error errors: '%.64s' is not a request type (", c->arg[1]);
		for (size_t i = 0; i < CTL_NREQUESTS && off < c->answer_size; i++)
			off += (size_t)snprintf(c->answer + off, c->answer_size - off, "%s%s",
			                        ctl_requests[i].name,
			                        i + 1 < CTL_NREQUESTS ? ", " : ")");
		return;
	}
	const char *name = ctl_requests[r].name;
	int16_t key = ctl_requests[r].key;
	if (c->nargs == 2) {
		if (strcasecmp(c->arg[2], "clear") != 0) {
			reply(c, "error usage: %s", ERRORS_USAGE);
			return;
		}
		rd_kafka_mock_clear_request_errors(c->mc, key);
		reply(c, "ok errors %s clear", name);
		return;
	}
	if (!word_long(c->arg[2], 1, CTL_ERRORS_MAX, &count)) {
		reply(c, "error errors: '%.64s' is not a count (1-%d)", c->arg[2], CTL_ERRORS_MAX);
		return;
	}
	if (!error_find(c->arg[3], &code)) {
		reply(c,
		      "error errors: '%.64s' is not a Kafka error (a name such as "
		      "NOT_LEADER_FOR_PARTITION, or its code; or _TRANSPORT)",
		      c->arg[3]);
		return;
	}
	/* In slices from the stack: the mock copies each one. */
	rd_kafka_resp_err_t slice[64];
	for (size_t i = 0; i < sizeof(slice) / sizeof(slice[0]); i++)
		slice[i] = code;
	for (long left = count; left > 0;) {
		size_t n = left < 64 ? (size_t)left : 64;
		rd_kafka_mock_push_request_errors_array(c->mc, key, n, slice);
		left -= (long)n;
	}
	reply(c, "ok errors %s %ld %s", name, count, rd_kafka_err2name(code));
}

static void cmd_leader(const struct ctl_call *c)
{
	long part;
	int32_t id;
	char done[CTL_ANSWER_MAX / 2];

	if (!word_long(c->arg[2], 0, INT32_MAX, &part)) {
		reply(c, "error leader: '%.64s' is not a partition (0 or more)", c->arg[2]);
		return;
	}
	if (!word_broker(c, c->arg[3], "none", &id))
		return;
	rd_kafka_resp_err_t re =
	    rd_kafka_mock_partition_set_leader(c->mc, c->arg[1], (int32_t)part, id);
	if (id < 0)
		snprintf(done, sizeof(done), "leader %.300s %ld none", c->arg[1], part);
	else
		snprintf(done, sizeof(done), "leader %.300s %ld %d", c->arg[1], part, (int)id);
	reply_mock(c, re, done);
}

static void cmd_coordinator(const struct ctl_call *c)
{
	int32_t id;
	const char *type;
	char done[CTL_ANSWER_MAX / 2];

	if (strcasecmp(c->arg[1], "group") == 0) {
		type = "group";
	} else if (strcasecmp(c->arg[1], "txn") == 0 || strcasecmp(c->arg[1], "transaction") == 0) {
		type = "transaction";
	} else {
		reply(c, "error coordinator: '%.64s' is not group or txn", c->arg[1]);
		return;
	}
	if (!word_broker(c, c->arg[3], NULL, &id))
		return;
	rd_kafka_resp_err_t re = rd_kafka_mock_coordinator_set(c->mc, type, c->arg[2], id);
	snprintf(done, sizeof(done), "coordinator %s %.300s %d", type[0] == 'g' ? "group" : "txn",
	         c->arg[2], (int)id);
	reply_mock(c, re, done);
}

static void cmd_rtt(const struct ctl_call *c)
{
	int32_t id;
	long ms;
	char done[64];

	if (!word_broker(c, c->arg[1], "all", &id))
		return;
	if (!word_long(c->arg[2], 0, CTL_RTT_MAX_MS, &ms)) {
		reply(c, "error rtt: '%.64s' is not a delay in ms (0-%d)", c->arg[2],
		      CTL_RTT_MAX_MS);
		return;
	}
	rd_kafka_resp_err_t re = rd_kafka_mock_broker_set_rtt(c->mc, id, (int)ms);
	if (id < 0)
		snprintf(done, sizeof(done), "rtt all %ld", ms);
	else
		snprintf(done, sizeof(done), "rtt %d %ld", (int)id, ms);
	reply_mock(c, re, done);
}

static void cmd_help(const struct ctl_call *c);

/* The commands: name, words after it, usage, and what it does (for
 * --help; continuation lines start with "\n"). */
static const struct ctl_cmd {
	const char *name;
	int nargs_min, nargs_max;
	const char *usage;
	const char *help;
	void (*run)(const struct ctl_call *c);
} ctl_cmds[] = {
    {"down", 1, 1, "down BROKER|all",
     "close the broker's connections and refuse new ones (it keeps its data\n"
     "and stays leader: clients wait and retry)",
     cmd_updown},
    {"up", 1, 1, "up BROKER|all", "take connections again", cmd_updown},
    {"errors", 2, 3, ERRORS_USAGE,
     "fail the next COUNT requests of type REQUEST, from any client to any\n"
     "broker, with ERROR: a Kafka error name (NOT_LEADER_FOR_PARTITION,\n"
     "REQUEST_TIMED_OUT, NOT_COORDINATOR, ...) or its code; _TRANSPORT drops\n"
     "the connection instead; clear: forget those not yet used",
     cmd_errors},
    {"leader", 3, 3, "leader TOPIC PARTITION BROKER|none",
     "move the partition's leadership (none: leaderless); makes TOPIC, with\n"
     "PARTITION+1 partitions, if no client has yet",
     cmd_leader},
    {"coordinator", 3, 3, "coordinator group|txn KEY BROKER",
     "make BROKER the coordinator of consumer group (or transactional id) KEY", cmd_coordinator},
    {"rtt", 2, 2, "rtt BROKER|all MS", "delay each of the broker's responses by MS ms (0: none)",
     cmd_rtt},
    {"help", 0, 0, "help", "list the commands on one line", cmd_help},
};

#define CTL_NCMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static void cmd_help(const struct ctl_call *c)
{
	size_t off = (size_t)snprintf(c->answer, c->answer_size, "ok commands:");

	for (size_t i = 0; i < CTL_NCMDS && off < c->answer_size; i++)
		off += (size_t)snprintf(c->answer + off, c->answer_size - off, "%s %s",
		                        i ? ";" : "", ctl_cmds[i].usage);
}

void af_broker_ctl_usage(FILE *out)
{
	for (size_t i = 0; i < CTL_NCMDS; i++) {
		fprintf(out, "  %s\n      ", ctl_cmds[i].usage);
		for (const char *h = ctl_cmds[i].help; *h; h++) {
			if (*h == '\n')
				fputs("\n      ", out);
			else
				fputc(*h, out);
		}
		fputc('\n', out);
	}
	fputs("  REQUEST is one of", out);
	for (size_t i = 0, col = 20; i < CTL_NREQUESTS; i++) {
		size_t w = strlen(ctl_requests[i].name) + 2;
		if (col + w > 78) {
			fputs("\n     ", out);
			col = 5;
		}
		fprintf(out, " %s%s", ctl_requests[i].name, i + 1 < CTL_NREQUESTS ? "," : "\n");
		col += w;
	}
}

void af_broker_ctl_exec(rd_kafka_mock_cluster_t *mc, int brokers, char *line, char *answer,
                        size_t answer_size)
{
	char *arg[CTL_WORDS_MAX], *save = NULL;
	int n = 0;

	answer[0] = '\0';
	for (char *w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		if (n < CTL_WORDS_MAX)
			arg[n] = w;
		n++;
	}
	if (n == 0 || arg[0][0] == '#')
		return;
	struct ctl_call c = {.mc = mc,
	                     .brokers = brokers,
	                     .arg = arg,
	                     .nargs = n - 1,
	                     .answer = answer,
	                     .answer_size = answer_size};
	for (size_t i = 0; i < CTL_NCMDS; i++) {
		const struct ctl_cmd *cmd = &ctl_cmds[i];
		if (strcasecmp(arg[0], cmd->name) != 0)
			continue;
		if (c.nargs < cmd->nargs_min || c.nargs > cmd->nargs_max)
			reply(&c, "error usage: %s", cmd->usage);
		else
			cmd->run(&c);
		return;
	}
	reply(&c, "error unknown command '%.64s' (help lists the commands)", arg[0]);
}

/* The line read so far is whole: run it and answer. */
static void ctl_line_end(struct af_broker_ctl *ctl)
{
	char answer[CTL_ANSWER_MAX];

	if (ctl->too_long) {
		snprintf(answer, sizeof(answer), "error line longer than %d bytes", CTL_LINE_MAX);
	} else {
		ctl->line[ctl->len] = '\0';
		af_broker_ctl_exec(ctl->mc, ctl->brokers, ctl->line, answer, sizeof(answer));
	}
	ctl->len = 0;
	ctl->too_long = false;
	if (answer[0] != '\0') {
		/* A reader that went away (EPIPE, SIGPIPE is blocked) loses
		 * answers; the commands still take effect. */
		fprintf(ctl->answers, "%s\n", answer);
		fflush(ctl->answers);
	}
}

static void ctl_feed(struct af_broker_ctl *ctl, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n')
			ctl_line_end(ctl);
		else if (ctl->len < CTL_LINE_MAX)
			ctl->line[ctl->len++] = p[i];
		else
			ctl->too_long = true;
	}
}

/* Open the FIFO for reading without waiting for a writer. */
static int ctl_fifo_open(const char *path)
{
	return open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
}

/* The channel thread: poll the wake pipe and the input, run each line. */
static void *ctl_main(void *arg)
{
	struct af_broker_ctl *ctl = arg;
	char buf[4096];

	for (;;) {
		if (ctl->fd < 0) {
			ctl->fd = ctl_fifo_open(ctl->path);
			if (ctl->fd < 0) {
				fprintf(
				    stderr,
				    "auditflow broker: --control: cannot reopen %s: %s; no more "
				    "commands\n",
				    ctl->path, strerror(errno));
				break;
			}
		}
		struct pollfd pfd[2] = {{.fd = ctl->wake[0], .events = POLLIN},
		                        {.fd = ctl->fd, .events = POLLIN}};
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break;
		if (!pfd[1].revents)
			continue;
		ssize_t n = read(ctl->fd, buf, sizeof(buf));
		if (n > 0) {
			ctl_feed(ctl, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			fprintf(stderr, "auditflow broker: --control: %s: %s\n",
			        ctl->path ? ctl->path : "stdin", strerror(errno));
		/* The end of one writer's input: a last line without a newline
		 * is still a command. */
		if (ctl->len > 0 || ctl->too_long)
			ctl_line_end(ctl);
		if (!ctl->path) {
			/* fd 0 stays open: it is the process's, not ours. */
			fputs("auditflow broker: --control: end of stdin, no more commands (still "
			      "serving)\n",
			      stderr);
			break;
		}
		if (n < 0)
			break;
		close(ctl->fd);
		ctl->fd = -1;
	}
	return NULL;
}

af_err_t af_broker_ctl_open(struct af_broker_ctl **ctlp, rd_kafka_mock_cluster_t *mc, int brokers,
                            const char *path, FILE *answers, char *errstr, size_t errstr_size)
{
	af_err_t e = AF_E_IO;
	struct af_broker_ctl *ctl = calloc(1, sizeof(*ctl));
	struct stat st;

	if (!ctl) {
		snprintf(errstr, errstr_size, "out of memory");
		return AF_E_NOMEM;
	}
	ctl->mc = mc;
	ctl->brokers = brokers;
	ctl->answers = answers;
	ctl->fd = ctl->wake[0] = ctl->wake[1] = -1;
	if (pipe2(ctl->wake, O_CLOEXEC) < 0) {
		snprintf(errstr, errstr_size, "pipe: %s", strerror(errno));
		goto cleanup;
	}
	if (strcmp(path, "-") == 0) {
		ctl->fd = STDIN_FILENO;
		*ctlp = ctl;
		return AF_OK;
	}
	if (!(ctl->path = strdup(path))) {
		snprintf(errstr, errstr_size, "out of memory");
		e = AF_E_NOMEM;
		goto cleanup;
	}
	if (mkfifo(path, 0600) == 0) {
		ctl->made_fifo = true;
	} else if (errno != EEXIST) {
		snprintf(errstr, errstr_size, "cannot make the FIFO %s: %s", path, strerror(errno));
		goto cleanup;
	}
	/* Checked on the open file, not the name, so nothing can swap it. */
	ctl->fd = ctl_fifo_open(path);
	if (ctl->fd < 0 || fstat(ctl->fd, &st) < 0) {
		snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISFIFO(st.st_mode)) {
		snprintf(errstr, errstr_size, "%s exists and is not a FIFO", path);
		e = AF_E_CONFIG;
		goto cleanup;
	}
	*ctlp = ctl;
	return AF_OK;
cleanup:
	af_broker_ctl_close(ctl);
	return e;
}

af_err_t af_broker_ctl_start(struct af_broker_ctl *ctl, char *errstr, size_t errstr_size)
{
	int rc = pthread_create(&ctl->thread, NULL, ctl_main, ctl);

	if (rc != 0) {
		snprintf(errstr, errstr_size, "cannot start the control thread: %s", strerror(rc));
		return AF_E_INTERNAL;
	}
	ctl->running = true;
	return AF_OK;
}

void af_broker_ctl_close(struct af_broker_ctl *ctl)
{
	if (!ctl)
		return;
	if (ctl->running) {
		/* The only byte ever sent: the pipe cannot be full. */
		while (write(ctl->wake[1], "", 1) < 0 && errno == EINTR)
			;
		pthread_join(ctl->thread, NULL);
	}
	if (ctl->path && ctl->fd >= 0)
		close(ctl->fd);
	if (ctl->made_fifo)
		unlink(ctl->path);
	for (int i = 0; i < 2; i++)
		if (ctl->wake[i] >= 0)
			close(ctl->wake[i]);
	free(ctl->path);
	free(ctl);
}
