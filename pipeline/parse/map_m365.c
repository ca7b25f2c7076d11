/* map_m365.c - the Management Activity API common schema (Unified Audit
 * Log), as the API, Purview exports and Log Analytics' OfficeActivity table
 * write it.
 *
 * Thread: the parser's owner.
 * In: slots. Out: an event whose kind comes from Operation:
 *   UserLoggedIn / UserLoginFailed   sign-ins (AzureActiveDirectoryStsLogon)
 *   Send / SendAs / SendOnBehalf     mail_send, with SaveToSentItems,
 *                                    ClientInfoString, recipients
 *   HardDelete / SoftDelete /
 *   MoveToDeletedItems               mail_delete, noting Sent Items
 *   New-/Set-InboxRule,
 *   UpdateInboxRules                 inbox_rule, with what the rule does
 *   Set-Mailbox (forwarding)         mailbox_forward
 *   MailItemsAccessed                mail_access
 *   File* on SharePoint/OneDrive     file_access
 *   anything else                    other (kept, counted, not an error)
 *
 * DESIGN: a failed sign-in is told from Operation, ErrorNumber and
 * LogonError, never from ResultStatus: the service writes
 * ResultStatus "Success" on UserLoginFailed records (the record was
 * written successfully), so trusting it would hide every failure.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pipeline/parse/mapper.h"

static bool is_sent_items(const char *s, size_t len)
{
	return af_map_iends(s, len, "Sent Items") || af_map_iends(s, len, "SentItems");
}

/* Folders an attacker's rule hides mail in. */
static const char *const hiding_folders[] = {
    "Deleted Items", "DeletedItems", "RSS Feeds", "RSS Subscriptions",   "RSSFeeds",
    "Archive",       "Junk Email",   "JunkEmail", "Conversation History"};
#define N_HIDING_FOLDERS (sizeof(hiding_folders) / sizeof(hiding_folders[0]))

/* True if the folder path s ends in a hiding folder. */
static bool is_hiding_folder(const char *s, size_t len)
{
	for (size_t i = 0; i < N_HIDING_FOLDERS; i++)
		if (af_map_iends(s, len, hiding_folders[i]))
			return true;
	return false;
}

/* True if a hiding folder is named anywhere in s: UpdateInboxRules writes
 * the rule's actions as text (JSON), where the folder is not at the end. */
static bool mentions_hiding_folder(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		for (size_t k = 0; k < N_HIDING_FOLDERS; k++) {
			size_t n = strlen(hiding_folders[k]);
			if (n <= len - i && strncasecmp(s + i, hiding_folders[k], n) == 0)
				return true;
		}
	}
	return false;
}

static bool value_true(const struct af_jval *v)
{
	bool b = false;
	return af_jval_bool(v, &b) && b;
}

/* Marks AF_EV_FORWARD, and AF_EV_FORWARD_EXTERNAL when some address in the
 * value ("smtp:a@b.com", "a@b.com;c@d.com", "\"Name\" [SMTP:a@b]") is in
 * another domain than the account's. */
static void note_forward(struct af_event *ev, const char *s, size_t len)
{
	size_t adlen;
	const char *ad = af_map_domain(ev->account, strlen(ev->account), &adlen);
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '@')
			continue;
		size_t j = i + 1;
		while (j < len && s[j] != ';' && s[j] != ',' && s[j] != ']' && s[j] != ' ' &&
		       s[j] != '"' && s[j] != '>')
			j++;
		if (adlen == 0 || j - i - 1 != adlen || strncasecmp(s + i + 1, ad, adlen) != 0)
			ev->flags |= AF_EV_FORWARD_EXTERNAL;
		i = j;
	}
	if (len > 0)
		ev->flags |= AF_EV_FORWARD;
}

struct param_ctx {
	struct af_event *ev;
	bool mailbox; /* Set-Mailbox: only forwarding parameters matter */
};

static bool on_param(void *vctx, const struct af_jval *nv)
{
	struct param_ctx *ctx = vctx;
	struct af_event *ev = ctx->ev;
	const struct af_jval *name = &nv[AF_NV_NAME];
	const struct af_jval *value = &nv[AF_NV_VALUE];
	if (name->type != AF_J_STRING)
		return true;
	const char *n = name->s;
	size_t nl = name->len;
	bool has_value = value->type == AF_J_STRING && value->len > 0;
	if (ctx->mailbox) {
		if ((af_map_ieq(n, nl, "ForwardingSmtpAddress") ||
		     af_map_ieq(n, nl, "ForwardingAddress")) &&
		    has_value) {
			note_forward(ev, value->s, value->len);
			const char *addr = value->s;
			size_t al = value->len;
			if (al > 5 && strncasecmp(addr, "smtp:", 5) == 0) {
				addr += 5;
				al -= 5;
			}
			af_map_copy_text(ev, ev->recipient, sizeof(ev->recipient), addr, al, true);
		}
		return true;
	}
	if (af_map_ieq(n, nl, "DeleteMessage") || af_map_ieq(n, nl, "SoftDeleteMessage")) {
		if (value_true(value))
			ev->flags |= AF_EV_RULE_DELETE;
	} else if (af_map_ieq(n, nl, "MarkAsRead")) {
		if (value_true(value))
			ev->flags |= AF_EV_RULE_MARK_READ;
	} else if (af_map_ieq(n, nl, "MoveToFolder") || af_map_ieq(n, nl, "CopyToFolder")) {
		if (has_value && is_hiding_folder(value->s, value->len))
			ev->flags |= AF_EV_RULE_MOVE;
	} else if (af_map_ieq(n, nl, "ForwardTo") || af_map_ieq(n, nl, "ForwardAsAttachmentTo") ||
	           af_map_ieq(n, nl, "RedirectTo")) {
		if (has_value)
			note_forward(ev, value->s, value->len);
	} else if (af_map_ieq(n, nl, "RuleActions") && has_value) {
		/* UpdateInboxRules (Outlook): the actions as text. */
		if (memmem(value->s, value->len, "Delete", 6))
			ev->flags |= AF_EV_RULE_DELETE;
		if (memmem(value->s, value->len, "MarkAsRead", 10))
			ev->flags |= AF_EV_RULE_MARK_READ;
		if (memmem(value->s, value->len, "Forward", 7) ||
		    memmem(value->s, value->len, "Redirect", 8))
			note_forward(ev, value->s, value->len);
		if (memmem(value->s, value->len, "Move", 4) &&
		    mentions_hiding_folder(value->s, value->len))
			ev->flags |= AF_EV_RULE_MOVE;
	}
	return true;
}

static void map_params(struct af_map *m, struct af_event *ev, enum af_field f, bool mailbox)
{
	struct param_ctx ctx = {.ev = ev, .mailbox = mailbox};
	af_map_each(m, f, f == AF_F_PARAMETERS ? AF_A_PARAMETERS : AF_A_OPERATION_PROPERTIES,
	            m->nv_spec, on_param, &ctx);
}

struct rcpt_ctx {
	struct af_event *ev;
	const struct af_jval *sender_name;
	struct af_jval first_name; /* the first recipient's display name */
	bool names_differ;
	uint32_t count;
};

static bool on_recipient(void *vctx, const struct af_jval *r)
{
	struct rcpt_ctx *ctx = vctx;
	ctx->count++;
	const struct af_jval *name = &r[AF_RCPT_NAME];
	if (name->type != AF_J_STRING || name->len == 0) {
		ctx->names_differ = true;
		return true;
	}
	/* Compare with the first name rather than hash each: one hash at
	 * the end serves the whole list. */
	if (ctx->count == 1)
		ctx->first_name = *name;
	else if (!ctx->names_differ &&
	         (name->len != ctx->first_name.len ||
	          strncasecmp(name->s, ctx->first_name.s, name->len) != 0))
		ctx->names_differ = true;
	const struct af_jval *sn = ctx->sender_name;
	if (sn->type == AF_J_STRING && name->len == sn->len &&
	    strncasecmp(name->s, sn->s, sn->len) == 0)
		ctx->ev->flags |= AF_EV_NAME_SELF;
	return true;
}

static void map_send(struct af_map *m, struct af_event *ev)
{
	ev->kind = AF_KIND_MAIL_SEND;
	bool save;
	if (af_jval_bool(af_map_slot(m, AF_F_SAVE_TO_SENT), &save)) {
		ev->flags |= AF_EV_SAVE_SENT_KNOWN;
		if (save)
			ev->flags |= AF_EV_SAVE_SENT;
	}
	af_map_copy(ev, ev->app, sizeof(ev->app), af_map_slot(m, AF_F_CLIENT_INFO));
	af_map_copy(ev, ev->folder, sizeof(ev->folder), af_map_slot(m, AF_F_ITEM_FOLDER));

	const struct af_jval *sender = af_map_slot(m, AF_F_LOGON_USER_DISPLAY_NAME);
	if (sender->type == AF_J_STRING)
		ev->name_hash = af_map_hash_lower(sender->s, sender->len);
	struct rcpt_ctx ctx = {.ev = ev, .sender_name = sender};
	uint32_t total = af_map_each(m, AF_F_RECIPIENT_LIST, AF_A_RECIPIENTS, m->rcpt_spec,
	                             on_recipient, &ctx);
	if (ctx.count > 1 && !ctx.names_differ)
		ev->rcpt_name_hash = af_map_hash_lower(ctx.first_name.s, ctx.first_name.len);
	int64_t n;
	if (af_jval_int(af_map_slot(m, AF_F_RECIPIENT_COUNT), &n) && n > 0)
		ev->recipient_count = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	else
		ev->recipient_count = total;
}

static bool on_affected_item(void *vctx, const struct af_jval *item)
{
	struct af_event *ev = vctx;
	const struct af_jval *f = &item[AF_ITEM_FOLDER];
	if (f->type == AF_J_STRING && is_sent_items(f->s, f->len)) {
		ev->flags |= AF_EV_FROM_SENT_ITEMS;
		return false;
	}
	return true;
}

static void map_delete(struct af_map *m, struct af_event *ev)
{
	ev->kind = AF_KIND_MAIL_DELETE;
	const struct af_jval *folder = af_map_slot(m, AF_F_FOLDER_PATH);
	af_map_copy(ev, ev->folder, sizeof(ev->folder), folder);
	af_map_copy(ev, ev->app, sizeof(ev->app), af_map_slot(m, AF_F_CLIENT_INFO));
	if (folder->type == AF_J_STRING && is_sent_items(folder->s, folder->len))
		ev->flags |= AF_EV_FROM_SENT_ITEMS;
	if (!(ev->flags & AF_EV_FROM_SENT_ITEMS))
		af_map_each(m, AF_F_AFFECTED_ITEMS, AF_A_AFFECTED_ITEMS, m->item_spec,
		            on_affected_item, ev);
}

static void map_signin(struct af_map *m, struct af_event *ev, bool failed_op)
{
	int64_t code = 0;
	bool has_code = af_jval_int(af_map_slot(m, AF_F_ERROR_NUMBER), &code) && code != 0;
	const struct af_jval *logon_error = af_map_slot(m, AF_F_LOGON_ERROR);
	bool has_logon_error = af_jval_has_str(logon_error) &&
	                       !af_map_ieq(logon_error->s, logon_error->len, "None");
	bool failed = failed_op || has_code || has_logon_error;
	ev->kind = failed ? AF_KIND_SIGNIN_FAILED : AF_KIND_SIGNIN_OK;
	ev->outcome = failed ? AF_OUTCOME_FAILURE : AF_OUTCOME_SUCCESS;
	if (has_code)
		ev->error_code = (int32_t)code;
	ev->flags |= AF_EV_INTERACTIVE;
}

struct ext_ctx {
	struct af_event *ev;
};

static bool on_ext_prop(void *vctx, const struct af_jval *nv)
{
	struct ext_ctx *ctx = vctx;
	const struct af_jval *name = &nv[AF_NV_NAME];
	const struct af_jval *value = &nv[AF_NV_VALUE];
	if (name->type == AF_J_STRING && af_map_ieq(name->s, name->len, "UserAgent") &&
	    value->type == AF_J_STRING)
		ctx->ev->ua_hash = af_map_hash_raw(value->s, value->len);
	return true;
}

enum af_reason af_map_m365(struct af_map *m, struct af_event *ev)
{
	ev->schema = AF_SCHEMA_M365;
	enum af_reason r = af_map_time(m, ev, af_map_slot(m, AF_F_CREATION_TIME), "CreationTime");
	if (r != AF_REASON_NONE)
		return r;
	static const enum af_field account_fields[] = {AF_F_USER_ID, AF_F_MAILBOX_OWNER_UPN};
	const struct af_jval *acct = af_map_first(m, account_fields, 2);
	r = af_map_account(m, ev, acct ? acct : af_map_slot(m, AF_F_USER_ID), "UserId");
	if (r != AF_REASON_NONE)
		return r;
	const struct af_jval *op = af_map_slot(m, AF_F_OPERATION);
	if (op->type != AF_J_STRING) {
		m->detail = "Operation";
		return AF_REASON_WRONG_TYPE;
	}
	af_map_copy(ev, ev->action, sizeof(ev->action), op);
	af_map_copy(ev, ev->record_id, sizeof(ev->record_id), af_map_slot(m, AF_F_ID));
	static const enum af_field ip_fields[] = {AF_F_CLIENT_IP, AF_F_ACTOR_IP};
	af_map_ip(ev, af_map_first(m, ip_fields, 2));
	const struct af_jval *ua = af_map_slot(m, AF_F_USER_AGENT);
	if (ua->type == AF_J_STRING)
		ev->ua_hash = af_map_hash_raw(ua->s, ua->len);

	const char *o = op->s;
	size_t ol = op->len;
	if (af_map_ieq(o, ol, "UserLoggedIn") || af_map_ieq(o, ol, "UserLoginFailed")) {
		map_signin(m, ev, af_map_ieq(o, ol, "UserLoginFailed"));
		struct ext_ctx ctx = {ev};
		af_map_each(m, AF_F_EXTENDED_PROPERTIES, AF_A_EXTENDED_PROPERTIES, m->nv_spec,
		            on_ext_prop, &ctx);
	} else if (af_map_ieq(o, ol, "Send") || af_map_ieq(o, ol, "SendAs") ||
	           af_map_ieq(o, ol, "SendOnBehalf")) {
		map_send(m, ev);
	} else if (af_map_ieq(o, ol, "HardDelete") || af_map_ieq(o, ol, "SoftDelete") ||
	           af_map_ieq(o, ol, "MoveToDeletedItems")) {
		map_delete(m, ev);
	} else if (af_map_ieq(o, ol, "New-InboxRule") || af_map_ieq(o, ol, "Set-InboxRule") ||
	           af_map_ieq(o, ol, "UpdateInboxRules")) {
		ev->kind = AF_KIND_INBOX_RULE;
		map_params(m, ev, AF_F_PARAMETERS, false);
		map_params(m, ev, AF_F_OPERATION_PROPERTIES, false);
	} else if (af_map_ieq(o, ol, "Set-Mailbox")) {
		map_params(m, ev, AF_F_PARAMETERS, true);
		if (ev->flags & AF_EV_FORWARD)
			ev->kind = AF_KIND_MAILBOX_FORWARD;
	} else if (af_map_ieq(o, ol, "MailItemsAccessed")) {
		ev->kind = AF_KIND_MAIL_ACCESS;
		af_map_copy(ev, ev->app, sizeof(ev->app), af_map_slot(m, AF_F_CLIENT_INFO));
	} else if (ol > 4 && af_map_ieq_n(o, "File", 4)) {
		const struct af_jval *w = af_map_slot(m, AF_F_WORKLOAD);
		if (af_map_val_ieq(w, "SharePoint") || af_map_val_ieq(w, "OneDrive"))
			ev->kind = AF_KIND_FILE_ACCESS;
	}
	if (ev->outcome == AF_OUTCOME_UNKNOWN) {
		const struct af_jval *rs = af_map_slot(m, AF_F_RESULT_STATUS);
		if (af_map_val_ieq(rs, "Succeeded") || af_map_val_ieq(rs, "Success") ||
		    af_map_val_ieq(rs, "True"))
			ev->outcome = AF_OUTCOME_SUCCESS;
		else if (af_map_val_ieq(rs, "Failed") || af_map_val_ieq(rs, "Failure") ||
		         af_map_val_ieq(rs, "False"))
			ev->outcome = AF_OUTCOME_FAILURE;
	}
	return AF_REASON_NONE;
}
