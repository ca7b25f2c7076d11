/* map_msgtrace.c - Exchange Online message trace rows (Get-MessageTrace /
 * the reporting web service, PascalCase; Graph's camelCase form).
 *
 * Thread: the parser's owner.
 * In: slots. Out: one mail_send event per (message, recipient) row: the
 * account is the sender, ev->recipient the recipient, the source address
 * FromIP, the action the delivery Status.
 *
 * DESIGN: one message to N recipients is N rows sharing MessageTraceId, so
 * the duplicate key is the id together with the recipient; the id alone
 * would fold every recipient after the first into "duplicates".
 */
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "pipeline/parse/mapper.h"

enum af_reason af_map_msgtrace(struct af_map *m, struct af_event *ev)
{
	ev->schema = AF_SCHEMA_MSGTRACE;
	ev->kind = AF_KIND_MAIL_SEND;
	enum af_reason r = af_map_time(m, ev, af_map_slot(m, AF_F_RECEIVED), "Received");
	if (r != AF_REASON_NONE)
		return r;
	r = af_map_account(m, ev, af_map_slot(m, AF_F_SENDER), "SenderAddress");
	if (r != AF_REASON_NONE)
		return r;
	const struct af_jval *rcpt = af_map_slot(m, AF_F_RECIPIENT);
	if (rcpt->type != AF_J_STRING || rcpt->len == 0) {
		m->detail = "RecipientAddress";
		return rcpt->type == AF_J_ABSENT || rcpt->type == AF_J_NULL || rcpt->len == 0
		               ? AF_REASON_MISSING_FIELD
		               : AF_REASON_WRONG_TYPE;
	}
	size_t copied =
	    af_map_copy_text(ev, ev->recipient, sizeof(ev->recipient), rcpt->s, rcpt->len, true);
	ev->recipient_count = 1;
	af_map_ip(ev, af_map_slot(m, AF_F_FROM_IP));
	static const enum af_field id_fields[] = {AF_F_MESSAGE_TRACE_ID, AF_F_ID};
	const struct af_jval *id = af_map_first(m, id_fields, 2);
	af_map_copy(ev, ev->record_id, sizeof(ev->record_id), id);
	if (id && id->type == AF_J_STRING && id->len > 0)
		ev->dedup_key = (XXH3_64bits(id->s, id->len) ^
		                 af_map_hash_lowered(rcpt->s, rcpt->len, ev->recipient, copied) *
		                     0x9E3779B97F4A7C15ULL) |
		                1;
	const struct af_jval *status = af_map_slot(m, AF_F_STATUS);
	if (status->type == AF_J_STRING) {
		af_map_copy(ev, ev->action, sizeof(ev->action), status);
		if (af_map_val_ieq(status, "Delivered") || af_map_val_ieq(status, "Expanded"))
			ev->outcome = AF_OUTCOME_SUCCESS;
		else if (af_map_val_ieq(status, "Failed") ||
		         af_map_val_ieq(status, "FilteredAsSpam") ||
		         af_map_val_ieq(status, "Quarantined"))
			ev->outcome = AF_OUTCOME_FAILURE;
	} else {
		af_map_copy_text(ev, ev->action, sizeof(ev->action), "MessageTrace", 12, false);
	}
	return AF_REASON_NONE;
}
