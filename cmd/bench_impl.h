/* bench_impl.h - what the parts of `auditflow bench` share: the options,
 * the corpus, the generated networks and the measurements.
 *
 * Thread: the main thread (the runtime's threads only ever see the corpus
 * buffer, read-only, through the source's fill).
 * bench.c reads the options, runs the rest and prints the report;
 * bench_corpus.c generates the corpus and its geo databases;
 * bench_measure.c times the stages, the floor and the runtime over it.
 */
#ifndef AF_CMD_BENCH_IMPL_H
#define AF_CMD_BENCH_IMPL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/config.h"
#include "pipeline/enrich/geo.h"
#include "pipeline/err.h"
#include "pipeline/ip.h"

/* Longest path of a file in the work directory, with its NUL. */
#define AF_BENCH_PATH_MAX 4096

struct af_bench_opts {
	uint32_t accounts;  /* the generator's --accounts */
	uint32_t days;      /* the generator's --days */
	uint64_t seed;      /* the generator's --seed (and the address draws') */
	uint64_t events;    /* keep the first this many records; 0 = all */
	uint64_t addresses; /* sign-in addresses to draw from; 0 = keep gen's */
	unsigned runs;      /* each measurement this many times; the median counts */
	bool json;
};

/* One network of the generated organisation (a line of networks.jsonl),
 * with the values the databases give its addresses. */
struct af_bench_net {
	struct af_ip base; /* its first address */
	unsigned bits;     /* prefix length over the 128-bit form (IPv4 + 96) */
	char cidr[AF_IP_TEXT_MAX + 8];
	char *city; /* GeoIP2-City value (JSON), owned */
	char *asn;  /* GeoLite2-ASN value, owned */
	char *anon; /* GeoIP2-Anonymous-IP value, owned; NULL: unflagged */
	bool corporate;
};

struct af_bench_nets {
	struct af_bench_net *v;
	size_t n;
};

/* The corpus: the scenario's three record files merged by event time into
 * one stream, as one input of the replay would hold them. */
struct af_bench_corpus {
	char *buf;    /* records, each ending in '\n', then AF_JSON_PADDING zero bytes */
	size_t len;   /* bytes before the padding */
	size_t bytes; /* record bytes, newlines excluded (the MB/s figures) */
	uint64_t records;
	uint64_t invalid; /* records the parser refused while merging */
	uint64_t distinct_addresses;
	uint64_t rewritten; /* sign-ins given a drawn address (--addresses) */
	uint32_t days;      /* days generated: more than asked if --events needed them */
	uint64_t generated; /* records the generator wrote, before --events cut */
	char *path;         /* buf written to a file, for the framing stage; owned */
	struct af_bench_nets nets;
};

/* Generate o's corpus in dir (a fresh work directory; the generator's big
 * files are removed again once read) into *c, with max_record_bytes from
 * cfg. stop: checked between phases. Returns AF_OK, AF_E_CONFIG (options
 * the generator refuses), AF_E_IO, AF_E_NOMEM, AF_E_INTERNAL (stopped);
 * errstr says which. Cost: the generator's time plus one parse of every
 * record; about twice the corpus in memory while merging. */
af_err_t af_bench_corpus_build(const struct af_bench_opts *o, const struct af_config *cfg,
                               const char *dir, const sigset_t *stop, struct af_bench_corpus *c,
                               char *errstr, size_t errstr_size);
void af_bench_corpus_fini(struct af_bench_corpus *c);

/* Write City, ASN and (when a network is flagged) Anonymous-IP databases
 * and a corporate network list for c's networks into dir, with
 * pipeline/enrich/mmdb_write.h, and point cfg's geo keys at them. The
 * networks that --addresses drew from are in them too. Returns AF_OK or
 * the writer's error with errstr. */
af_err_t af_bench_geo_write(const struct af_bench_corpus *c, const char *dir, struct af_config *cfg,
                            char *errstr, size_t errstr_size);

/* Whether a signal of stop is pending (blocked, so it waits for us). */
bool af_bench_stopped(const sigset_t *stop);

/* One single-threaded pass over the corpus: seconds spent in each stage. */
struct af_bench_pass {
	double parse_s, enrich_s, detect_s;
	uint64_t parsed; /* records given to the parser */
	uint64_t events; /* of them, events (enriched and detected) */
	uint64_t alerts;
	uint64_t alert_digest;          /* order-free digest of the alert lines */
	uint64_t accounts;              /* held by the shard at the end */
	size_t state_alloc;             /* af_shard_stats bytes: allocated at the caps */
	int64_t state_resident;         /* resident growth while detecting */
	struct af_geo_reader_stats geo; /* the enrich stage's counters */
};

/* One end-to-end run at threads threads. */
struct af_bench_e2e {
	double seconds; /* af_runtime_start to af_runtime_wait */
	uint64_t events_in, events_ok, invalid;
	double p50_s, p99_s; /* batch latency */
	uint64_t peak_rss;   /* VmHWM after the run */
	bool peak_reset;     /* VmHWM was reset before the run (else: since start) */
	uint64_t alerts, alert_digest, accounts;
};

/* The file reader (ingest/file.h) over c->path: seconds and records.
 * AF_OK, AF_E_IO, or AF_E_INTERNAL when stopped. */
af_err_t af_bench_framing(const struct af_bench_corpus *c, const struct af_config *cfg,
                          const sigset_t *stop, double *seconds, uint64_t *records, char *errstr,
                          size_t errstr_size);

/* parse, enrich (hub may be NULL: no databases) and detect over c on this
 * thread, batch by batch. */
af_err_t af_bench_stages(const struct af_bench_corpus *c, const struct af_config *cfg,
                         struct af_geo_hub *hub, const sigset_t *stop, struct af_bench_pass *p,
                         char *errstr, size_t errstr_size);

/* One pass of the floor: per record, the bare simdjson On-Demand loop of
 * bench/parse_bare.h over its bytes, then MMDB_lookup_sockaddr in each
 * database on its client address (none when it has no address). */
struct af_bench_floor {
	double seconds;    /* the timed loop alone */
	uint64_t records;  /* given to the bare loop */
	uint64_t rejected; /* of them, records simdjson refused */
	uint64_t lookups;  /* MMDB_lookup_sockaddr calls */
	uint64_t found;    /* of them, answered */
	unsigned dbs;      /* databases looked up in: cfg's City and ASN, when set */
	uint64_t checksum; /* of everything read, so that no read can be dropped */
};

/* The floor over c on this thread. The databases (cfg->geo.city and
 * cfg->geo.asn, those set) are opened with MMDB_open and every record's
 * client address (as af_parse_record finds it) made a socket address
 * before the clock starts; both are let go again before returning, so
 * nothing of the floor is resident during the other figures. kernel: the
 * simdjson stage 1 kernel to run, af_parser_kernel()'s. Returns AF_OK,
 * AF_E_IO (a database libmaxminddb refuses), AF_E_NOMEM (memory, or the
 * bare loop's set-up) or AF_E_INTERNAL (stopped), with errstr.
 * Cost: one af_parse_record a record before the clock; about 32 bytes a
 * record meanwhile. */
af_err_t af_bench_floor(const struct af_bench_corpus *c, const struct af_config *cfg,
                        const char *kernel, const sigset_t *stop, struct af_bench_floor *f,
                        char *errstr, size_t errstr_size);

/* The runtime over c at threads threads, alerts into alerts_path. */
af_err_t af_bench_e2e(const struct af_bench_corpus *c, const struct af_config *cfg,
                      struct af_geo_hub *hub, uint32_t threads, const char *alerts_path,
                      const sigset_t *stop, struct af_bench_e2e *e, char *errstr,
                      size_t errstr_size);

#endif
