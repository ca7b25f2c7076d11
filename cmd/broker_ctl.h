/* broker_ctl.h - the control channel of `auditflow broker`: one-line
 * commands that break the mock cluster on cue (a broker down, injected
 * request errors, a moved partition leader or coordinator, a slow broker),
 * so that end-to-end tests and people can watch a client recover.
 *
 * Thread: af_broker_ctl_open, _start and _close from the broker's main
 * thread; the commands run on the channel's own thread (librdkafka's mock
 * API hands each call to the cluster's thread, so any thread may call it).
 * In: command lines from stdin ("-") or a FIFO. Out: one answer line per
 * command ("ok ..." or "error ...") on the answers stream.
 */
#ifndef AF_CMD_BROKER_CTL_H
#define AF_CMD_BROKER_CTL_H

#include <stddef.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "pipeline/err.h"

struct af_broker_ctl;

/* Open the control channel. path "-" reads stdin; any other path names a
 * FIFO, made (mode 0600) when nothing is there, and then removed by
 * af_broker_ctl_close; an existing FIFO is used as it is and left. The
 * FIFO is opened for reading here, so a writer may open it as soon as this
 * returns; nothing is read until af_broker_ctl_start.
 * mc: borrowed, must outlive the channel; brokers: its broker count (ids
 * 1..brokers). answers: borrowed, where each answer goes (flushed per
 * line). path: copied.
 * Returns AF_OK with *ctlp set (close it with af_broker_ctl_close), or
 * AF_E_CONFIG (path is neither absent nor a FIFO) or AF_E_IO, with errstr.
 * Thread: the broker's main thread. */
af_err_t af_broker_ctl_open(struct af_broker_ctl **ctlp, rd_kafka_mock_cluster_t *mc, int brokers,
                            const char *path, FILE *answers, char *errstr, size_t errstr_size);

/* Start the thread that reads commands and answers them. The end of stdin
 * ends reading, not the broker; a FIFO is reopened after each writer
 * closes it, for the next one. Returns AF_OK, or AF_E_INTERNAL with errstr.
 * @pre the calling thread blocks the signals the process waits for (the
 *      new thread inherits its mask). */
af_err_t af_broker_ctl_start(struct af_broker_ctl *ctl, char *errstr, size_t errstr_size);

/* Stop the thread (a command being run is finished first), close the
 * channel and remove the FIFO it made. Safe on NULL. Takes ownership. */
void af_broker_ctl_close(struct af_broker_ctl *ctl);

/* Run one command line (without its newline) against mc and write its
 * answer, one line without a newline, into answer[answer_size]: "ok " and
 * what was done, or "error " and why. Never fails otherwise: a bad line
 * only gets an error answer. Blank lines and lines starting with '#' are
 * not commands: answer[0] is '\0' and nothing is answered.
 * line is modified (split into words). Thread: any.
 * @pre answer_size > 0. */
void af_broker_ctl_exec(rd_kafka_mock_cluster_t *mc, int brokers, char *line, char *answer,
                        size_t answer_size);

/* The commands, as `auditflow broker --help` lists them: lines of text
 * indented by two spaces. */
void af_broker_ctl_usage(FILE *out);

#endif
