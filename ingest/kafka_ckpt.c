/* kafka_ckpt.c - the Kafka source's part of a checkpoint: where each
 * partition stands, and where a resumed run starts it.
 *
 * Thread: the source thread (save, between two batches) and the
 * controlling thread before the run starts (restore).
 * In/out: the open section of a snapshot (pipeline/snapshot.h).
 *
 * DESIGN: the position of a partition is what this process has handed on:
 * seen (the offset after the last message cut whole) and, when the cursor
 * is part-way through a message of it, that message and the records of it
 * handed on. Those are the fields a partition taken away and given back
 * resumes from (kafka_fill.c); a restored input gets them, plus resume,
 * the offset its first assignment in the new process starts at instead of
 * opts.offset or the group's committed offset. So the records after the
 * position are read, once, and those before it never again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/kafka_impl.h"
#include "pipeline/snapshot.h"

/* A topic name longer than Kafka allows (249) is damage. */
#define KCKPT_TOPIC_MAX 255u

void af_kafka_src_save(const struct af_kafka_src *s, struct af_snap_writer *w)
{
	af_snap_put_u32(w, s->ninputs);
	for (uint32_t i = 0; i < s->ninputs; i++) {
		const struct af_kafka_input *in = &s->in[i];
		int64_t seen = in->seen, part = in->part;
		uint64_t part_records = in->part_records;

		if (s->cur.msg != NULL && s->cur.input == i && s->cur.sp.index > 0) {
			part = s->cur.msg->offset;
			part_records = s->cur.sp.index;
		}
		/* Never cut: a restored input not assigned since keeps where
		 * its checkpoint put it. */
		if (seen < 0 && part < 0 && in->resume >= 0)
			seen = in->resume;
		size_t len = strlen(in->topic);
		af_snap_put_u32(w, (uint32_t)len);
		af_snap_put(w, in->topic, len);
		af_snap_put_u32(w, (uint32_t)in->partition);
		af_snap_put_u64(w, (uint64_t)seen);
		af_snap_put_u64(w, (uint64_t)part);
		af_snap_put_u64(w, part < 0 ? 0 : part_records);
	}
}

af_err_t af_kafka_src_restore(struct af_kafka_src *s, struct af_snap_view *v, char *errstr,
                              size_t errstr_size)
{
	uint32_t n;
	char topic[KCKPT_TOPIC_MAX + 1];

	if (s->ninputs != 0) {
		snprintf(errstr, errstr_size, "kafka: restore after partitions were numbered");
		return AF_E_INVALID;
	}
	if (!af_snap_take_u32(v, &n))
		return AF_E_FORMAT;
	if (n > s->max_inputs) {
		snprintf(errstr, errstr_size,
		         "the checkpoint numbers %" PRIu32
		         " partitions; this run takes at most %" PRIu32 " (kafka.max_partitions)",
		         n, s->max_inputs);
		return AF_E_CONFIG;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len, partition;
		uint64_t seen, part, part_records;

		if (!af_snap_take_u32(v, &len) || len == 0 || len > KCKPT_TOPIC_MAX ||
		    !af_snap_take(v, topic, len))
			return AF_E_FORMAT;
		topic[len] = '\0';
		if (memchr(topic, '\0', len) != NULL || !af_snap_take_u32(v, &partition) ||
		    (int32_t)partition < 0 || !af_snap_take_u64(v, &seen) ||
		    !af_snap_take_u64(v, &part) || !af_snap_take_u64(v, &part_records))
			return AF_E_FORMAT;
		if ((int64_t)seen < -1 || (int64_t)part < -1 ||
		    ((int64_t)part >= 0 && (part_records == 0 || (int64_t)part < (int64_t)seen)))
			return AF_E_FORMAT;
		if (af_kafka_input_find(s, topic, (int32_t)partition) != KSRC_NONE)
			return AF_E_FORMAT;
		uint32_t k = af_kafka_input_get(s, topic, (int32_t)partition);
		if (k == KSRC_NONE) {
			snprintf(errstr, errstr_size, "%s", s->fatal_msg);
			return s->fatal;
		}
		struct af_kafka_input *in = &s->in[k];
		in->seen = (int64_t)seen;
		in->part = (int64_t)part;
		in->part_records = part_records;
		in->resume = in->part >= 0 ? in->part : in->seen;
	}
	return AF_OK;
}
