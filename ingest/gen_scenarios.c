/* gen_scenarios.c - what the generated organisation does day by day, and
 * the attacks the scenarios embed in it.
 *
 * Thread: the caller of af_gen_run.
 * In: the organisation (gen.c). Out: events pushed to the timeline, and the
 * truth lines the attacks (and business trips) must raise.
 *
 * The baseline, per person and working day in the person's own time zone:
 *   - a working session at the office NAT, at home (the person's fixed
 *     address at a residential ISP in the same city) or, for VPN users, at
 *     the corporate VPN's egress in the same country; the session is one
 *     interactive Outlook sign-in, a few more interactive sign-ins (OWA,
 *     Office, SharePoint, Teams) and token refreshes: --signins-per-day in
 *     all (20-60 by default);
 *   - interactive sign-ins now and then mistyped (1-3 x 50126 before the
 *     success), interrupted by "stay signed in?" (50140) or asking for MFA
 *     (50074);
 *   - --sends-per-day sends (5-50) to colleagues and partner contacts, each
 *     with its message trace rows; mailbox syncs, deletions from the Inbox,
 *     rarely an inbox rule filing newsletters; partners' mail arriving any
 *     time of day;
 *   - mobile users' phones on the way to and from work and at lunch, each
 *     time another address of their carrier (IPv6 mostly), in the country;
 *   - in the evening, for some, a look at mail from home (or the VPN).
 * On the first working day everyone uses every network of theirs, so that
 * no later ordinary day shows a network the account has not used before.
 * Weekends are quiet: a few people check mail, mobile users more often.
 * Bulk senders (newsletter@ and the like: one from 10 accounts, one more
 * per 500) are service accounts: a token refresh every hour from the data
 * centre, and 150-300 single-recipient sends an hour, 08:00-17:00 on
 * working days.
 * Travellers (about 4%; at least one from 20 accounts and 10 days) fly
 * once to another office for 3-5 days, after the first third of the
 * period: last sign-in at home before a 09:00 departure, first at the
 * destination's hotel at least an hour after landing, the flight taking
 * distance / 800 km/h + 90 minutes, so no two sign-ins are ever faster
 * apart than 800 km/h; the first sign-in abroad is a new country and a new
 * ASN, and truth.jsonl says so (true alerts, benign).
 *
 * The attacks, two thirds into the period on a working day:
 *   seed-incident   DESIGN.md's case for an office worker in Hanoi: the
 *                   leaked password used from a US hosting network 90
 *                   minutes after the victim's last sign-in in Hanoi;
 *                   mailbox harvesting; two test mails hard-deleted from
 *                   Sent Items; a rule moving replies to RSS Feeds, marked
 *                   read; 300 REST sends with SaveToSentItems false, every
 *                   recipient named with the victim's own name; the
 *                   password changed five hours later; then 20 failed
 *                   sign-ins from the attacker (50126, then 50053).
 *   password-spray  one anonymizer address, one try each against up to 60
 *                   accounts (topped up with role names that do not exist,
 *                   50034, to 40) in 15 minutes.
 *   bec-inbox-rule  a New York worker's password used from Lagos an hour
 *                   after they signed in at the office, then a rule moving
 *                   a partner's payment mail to RSS Feeds, marked read.
 *   forwarding      a London worker's password used from Singapore, then
 *                   Set-Mailbox forwarding to another domain.
 *
 * DESIGN: one PRNG stream per (account, day) and one per attack: an attack
 * scenario draws every other account's days as the baseline of the same
 * seed does (though names can shift where a victim is pinned to another
 * office, and record ids are counters, so the files differ in those).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/gen_impl.h"

/* Offices, as gen.c's office_plan lists them. */
enum { OFF_FRANKFURT, OFF_LONDON, OFF_NEW_YORK, OFF_HANOI };

/* Stream tags for af_gen_rng_seed (gen.c uses 1 and 2). */
enum { TAG_DAY = 10, TAG_PLAN = 11, TAG_ATTACK = 12, TAG_TRIP = 13 };

#define SEC  AF_GEN_NS
#define MIN  AF_GEN_MIN
#define HOUR AF_GEN_HOUR

/* Where an event comes from. */
struct loc {
	uint16_t net;
	uint32_t host;
};

static bool is_weekend(const struct af_gen *g, uint32_t d)
{
	int wd = (int)((g->base_day + d + 4) % 7); /* 0 Sunday */
	return wd == 0 || wd == 6;
}

static struct loc office_loc(const struct af_gen_office *o, struct af_gen_rng *r)
{
	/* A handful of NAT addresses per office. */
	return (struct loc){o->net_office, 10 + af_gen_rng_below(r, 4)};
}

static struct loc vpn_loc(const struct af_gen_office *o, struct af_gen_rng *r)
{
	return (struct loc){o->net_vpn, 20 + af_gen_rng_below(r, 8)};
}

static struct loc home_loc(const struct af_gen_account *a)
{
	return (struct loc){a->home_net, a->home_host};
}

static struct loc mobile_loc(const struct af_gen_office *o, struct af_gen_rng *r)
{
	if (af_gen_rng_chance(r, 600))
		return (struct loc){o->net_mobile6, (uint32_t)af_gen_rng_u64(r)};
	return (struct loc){o->net_mobile4, 1 + af_gen_rng_below(r, 254)};
}

/* ---- events -------------------------------------------------------------- */

static void push_signin(struct af_gen *g, struct af_gen_rng *r, uint32_t a, int64_t ts,
                        struct loc l, enum af_gen_app app, bool interactive, int32_t code)
{
	struct af_gen_ev ev = {
	    .ts = ts,
	    .rseed = af_gen_rng_u64(r),
	    .account = a,
	    .code = code,
	    .host = l.host,
	    .net = l.net,
	    .type = AF_GEN_EV_SIGNIN,
	    .variant = (uint8_t)app,
	    .flags = interactive ? AF_GEN_EVF_INTERACTIVE : 0,
	};
	bool ual = a < g->n_acct && g->acct[a].form == AF_GEN_FORM_UAL;
	af_gen_push(g, ual ? AF_GEN_OUT_AUDIT : AF_GEN_OUT_SIGNINS, &ev);
}

/* An interactive sign-in as people do them: now and then a mistyped
 * password (1-3 tries), the "stay signed in?" interrupt or an MFA prompt
 * before the success. Returns the time of the success. */
static int64_t login(struct af_gen *g, struct af_gen_rng *r, uint32_t a, int64_t ts, struct loc l,
                     enum af_gen_app app)
{
	uint32_t roll = af_gen_rng_below(r, 1000);
	if (roll < 45) {
		uint32_t n = 1 + af_gen_rng_below(r, 3);
		for (uint32_t i = 0; i < n; i++) {
			push_signin(g, r, a, ts, l, app, true, 50126);
			ts += af_gen_rng_range(r, 8 * SEC, 40 * SEC);
		}
	} else if (roll < 75) {
		push_signin(g, r, a, ts, l, app, true, 50140);
		ts += af_gen_rng_range(r, 3 * SEC, 15 * SEC);
	} else if (roll < 130) {
		push_signin(g, r, a, ts, l, app, true, 50074);
		ts += af_gen_rng_range(r, 15 * SEC, 70 * SEC);
	}
	push_signin(g, r, a, ts, l, app, true, 0);
	return ts;
}

static void push_mail(struct af_gen *g, struct af_gen_rng *r, uint32_t a, int64_t ts, struct loc l,
                      enum af_gen_type type, uint8_t variant, enum af_gen_client client,
                      uint8_t flags)
{
	struct af_gen_ev ev = {
	    .ts = ts,
	    .rseed = af_gen_rng_u64(r),
	    .account = a,
	    .host = l.host,
	    .net = l.net,
	    .type = (uint8_t)type,
	    .variant = variant,
	    .client = (uint8_t)client,
	    .flags = flags,
	};
	af_gen_push(g, AF_GEN_OUT_AUDIT, &ev);
}

/* A Send record and, a few seconds later, its message trace. rseed: the
 * recipients' seed (for harvested recipients, the first index). */
static void push_send(struct af_gen *g, struct af_gen_rng *r, uint32_t a, int64_t ts, struct loc l,
                      enum af_gen_client client, enum af_gen_rcpt_mode mode, uint16_t nrcpt,
                      uint64_t rseed, uint8_t flags)
{
	struct af_gen_ev ev = {
	    .ts = ts,
	    .rseed = rseed,
	    .account = a,
	    .host = l.host,
	    .net = l.net,
	    .nrcpt = nrcpt,
	    .type = AF_GEN_EV_SEND,
	    .variant = (uint8_t)mode,
	    .client = (uint8_t)client,
	    .flags = flags,
	};
	af_gen_push(g, AF_GEN_OUT_AUDIT, &ev);
	ev.type = AF_GEN_EV_TRACE;
	ev.ts = ts + af_gen_rng_range(r, 800, 6000) * 1000000LL;
	af_gen_push(g, AF_GEN_OUT_TRACE, &ev);
}

static uint16_t draw_nrcpt(struct af_gen_rng *r)
{
	uint32_t roll = af_gen_rng_below(r, 1000);
	if (roll < 680)
		return 1;
	if (roll < 880)
		return 2;
	if (roll < 960)
		return 3;
	return (uint16_t)(4 + af_gen_rng_below(r, 4));
}

static void send_normal(struct af_gen *g, struct af_gen_rng *r, uint32_t a, int64_t ts,
                        struct loc l, enum af_gen_client client)
{
	push_send(g, r, a, ts, l, client, AF_GEN_RCPT_NORMAL, draw_nrcpt(r), af_gen_rng_u64(r), 0);
}

/* Mail from partners, arriving any time of the local day. */
static void inbound(struct af_gen *g, struct af_gen_rng *r, uint32_t a, int64_t mid, uint32_t max)
{
	uint32_t n = af_gen_rng_below(r, max + 1);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t seed = af_gen_rng_u64(r);
		uint32_t dom = af_gen_contact_domain(a, (uint32_t)(seed % AF_GEN_CONTACTS));
		struct af_gen_ev ev = {
		    .ts = mid + af_gen_rng_range(r, 0, AF_GEN_DAY - 1),
		    .rseed = seed,
		    .account = a,
		    .host = 10 + af_gen_rng_below(r, 40),
		    .net = g->net_partner[dom],
		    .nrcpt = 1,
		    .type = AF_GEN_EV_TRACE,
		    .variant = AF_GEN_RCPT_INBOUND,
		};
		af_gen_push(g, AF_GEN_OUT_TRACE, &ev);
	}
}

/* ---- a day's work -------------------------------------------------------- */

/* A working session's sign-ins from l between s and e, n in all: an
 * interactive Outlook sign-in at s, a few interactive ones into other apps
 * and token refreshes, all after the first success. Returns the time of
 * that first success. */
static int64_t session_signins(struct af_gen *g, struct af_gen_rng *r, uint32_t a, int64_t s,
                               int64_t e, struct loc l, uint32_t n)
{
	static const uint8_t web_apps[] = {AF_GEN_APP_OWA, AF_GEN_APP_OFFICEHOME,
	                                   AF_GEN_APP_SHAREPOINT, AF_GEN_APP_TEAMS};
	static const uint8_t token_apps[] = {AF_GEN_APP_OUTLOOK, AF_GEN_APP_TEAMS, AF_GEN_APP_TEAMS,
	                                     AF_GEN_APP_SHAREPOINT};
	int64_t ok = login(g, r, a, s, l, AF_GEN_APP_OUTLOOK);
	if (e <= ok)
		e = ok + MIN;
	uint32_t used = 1;
	uint32_t k = 1 + af_gen_rng_below(r, 3);
	for (uint32_t i = 0; i < k && used < n; i++, used++)
		login(g, r, a, af_gen_rng_range(r, ok, e), l, web_apps[af_gen_rng_below(r, 4)]);
	for (; used < n; used++)
		push_signin(g, r, a, af_gen_rng_range(r, ok, e), l,
		            token_apps[af_gen_rng_below(r, 4)], false, 0);
	return ok;
}

/* Mail work between s and e from l: sends, syncs, deletions, now and then
 * a rule that files newsletters. */
static void mail_work(struct af_gen *g, struct af_gen_rng *r, uint32_t a, int64_t s, int64_t e,
                      struct loc l, uint32_t sends)
{
	if (e <= s)
		e = s + MIN;
	for (uint32_t i = 0; i < sends; i++)
		send_normal(g, r, a, af_gen_rng_range(r, s, e), l,
		            af_gen_rng_chance(r, 150) ? AF_GEN_CL_OWA : AF_GEN_CL_OUTLOOK);
	uint32_t n = 1 + af_gen_rng_below(r, 4);
	for (uint32_t i = 0; i < n; i++)
		push_mail(g, r, a, af_gen_rng_range(r, s, e), l, AF_GEN_EV_ACCESS,
		          AF_GEN_ACCESS_SYNC, AF_GEN_CL_OUTLOOK, 0);
	n = af_gen_rng_below(r, 4);
	for (uint32_t i = 0; i < n; i++)
		push_mail(g, r, a, af_gen_rng_range(r, s, e), l, AF_GEN_EV_DELETE,
		          af_gen_rng_chance(r, 150) ? AF_GEN_DEL_SOFT : AF_GEN_DEL_INBOX,
		          AF_GEN_CL_OUTLOOK, 0);
	if (af_gen_rng_chance(r, 3))
		push_mail(g, r, a, af_gen_rng_range(r, s, e), l, AF_GEN_EV_RULE, AF_GEN_RULE_BENIGN,
		          AF_GEN_CL_OWA, 0);
}

/* A look at mail in the evening, from l. */
static void evening(struct af_gen *g, struct af_gen_rng *r, uint32_t a, int64_t mid, struct loc l)
{
	int64_t t = mid + af_gen_rng_range(r, (19 * 60 + 30) * 60, (22 * 60 + 30) * 60) * SEC;
	t = login(g, r, a, t, l, af_gen_rng_chance(r, 500) ? AF_GEN_APP_OWA : AF_GEN_APP_OUTLOOK);
	uint32_t n = 1 + af_gen_rng_below(r, 2);
	for (uint32_t i = 0; i < n; i++)
		push_signin(g, r, a, t + af_gen_rng_range(r, 0, 40 * MIN), l, AF_GEN_APP_OUTLOOK,
		            false, 0);
	n = af_gen_rng_below(r, 2);
	for (uint32_t i = 0; i < n; i++)
		send_normal(g, r, a, t + af_gen_rng_range(r, 0, 40 * MIN), l, AF_GEN_CL_OUTLOOK);
}

/* The phone, n times between s and e, a fresh carrier address each time;
 * returns how many sign-ins that was. */
static uint32_t phone(struct af_gen *g, struct af_gen_rng *r, uint32_t a, int64_t s, int64_t e,
                      uint32_t n, uint32_t sends)
{
	const struct af_gen_office *o = &g->offices[g->acct[a].office];
	for (uint32_t i = 0; i < n; i++)
		push_signin(g, r, a, af_gen_rng_range(r, s, e), mobile_loc(o, r), AF_GEN_APP_MOBILE,
		            false, 0);
	for (uint32_t i = 0; i < sends; i++)
		send_normal(g, r, a, af_gen_rng_range(r, s, e), mobile_loc(o, r), AF_GEN_CL_MOBILE);
	return n;
}

static uint32_t scaled(struct af_gen_rng *r, uint32_t n, int lo_pct, int hi_pct)
{
	return (uint32_t)((uint64_t)n * (uint64_t)af_gen_rng_range(r, lo_pct, hi_pct) / 100);
}

static void day_work(struct af_gen *g, struct af_gen_rng *r, uint32_t a, uint32_t d, bool first)
{
	const struct af_gen_account *acct = &g->acct[a];
	const struct af_gen_office *o = &g->offices[acct->office];
	int64_t mid = af_gen_midnight(g, d, o->place->tz_min);
	int64_t s = mid + (acct->day_start + af_gen_rng_range(r, -20, 25)) * MIN +
	            af_gen_rng_range(r, 0, 59) * SEC;
	int64_t e = mid + (acct->day_end + af_gen_rng_range(r, -25, 40)) * MIN;
	bool vpn = acct->profile == AF_GEN_P_VPN;
	struct loc l;
	if (first || af_gen_rng_chance(r, acct->office_pct * 10u))
		l = office_loc(o, r);
	else
		l = vpn ? vpn_loc(o, r) : home_loc(acct);

	uint32_t n = scaled(r, acct->signins, 75, 125);
	if (acct->profile == AF_GEN_P_MOBILE) {
		uint32_t used =
		    phone(g, r, a, s - 50 * MIN, s - 10 * MIN, 1 + af_gen_rng_below(r, 2), 0);
		used += phone(g, r, a, mid + 12 * HOUR, mid + 13 * HOUR + 30 * MIN,
		              1 + af_gen_rng_below(r, 2), 0);
		used += phone(g, r, a, e + 10 * MIN, e + 50 * MIN, 1 + af_gen_rng_below(r, 2),
		              af_gen_rng_below(r, 2));
		n = n > used ? n - used : 1;
	}
	int64_t ok = session_signins(g, r, a, s, e, l, n);
	uint32_t sends = scaled(r, acct->sends, 60, 140);
	mail_work(g, r, a, ok + 5 * MIN, e, l, sends);
	if (first || af_gen_rng_chance(r, acct->evening_pct * 10u))
		evening(g, r, a, mid, vpn ? vpn_loc(o, r) : home_loc(acct));
	inbound(g, r, a, mid, sends / 2 + 3);
}

static void day_weekend(struct af_gen *g, struct af_gen_rng *r, uint32_t a, uint32_t d)
{
	const struct af_gen_account *acct = &g->acct[a];
	const struct af_gen_office *o = &g->offices[acct->office];
	int64_t mid = af_gen_midnight(g, d, o->place->tz_min);
	if (acct->profile == AF_GEN_P_MOBILE && af_gen_rng_chance(r, 500)) {
		phone(g, r, a, mid + 10 * HOUR, mid + 20 * HOUR, 1 + af_gen_rng_below(r, 3),
		      af_gen_rng_below(r, 2));
	} else if (af_gen_rng_chance(r, 120)) {
		struct loc l = acct->profile == AF_GEN_P_VPN ? vpn_loc(o, r) : home_loc(acct);
		int64_t t = login(g, r, a, mid + af_gen_rng_range(r, 10 * HOUR, 21 * HOUR), l,
		                  AF_GEN_APP_OWA);
		if (af_gen_rng_chance(r, 500))
			push_signin(g, r, a, t + af_gen_rng_range(r, MIN, 30 * MIN), l,
			            AF_GEN_APP_OUTLOOK, false, 0);
		uint32_t n = af_gen_rng_below(r, 3);
		for (uint32_t i = 0; i < n; i++)
			send_normal(g, r, a, t + af_gen_rng_range(r, MIN, 30 * MIN), l,
			            AF_GEN_CL_OWA);
	}
	inbound(g, r, a, mid, 2);
}

static void day_bulk(struct af_gen *g, struct af_gen_rng *r, uint32_t a, uint32_t d)
{
	const struct af_gen_account *acct = &g->acct[a];
	const struct af_gen_office *o = &g->offices[acct->office];
	int64_t mid = af_gen_midnight(g, d, o->place->tz_min);
	struct loc l = {g->net_datacenter, 20 + a % 200};
	/* The mailing application renews its token every hour, every day. */
	int64_t minute = (int64_t)(a % 60);
	for (int h = 0; h < 24; h++)
		push_signin(g, r, a,
		            mid + h * HOUR + minute * MIN + af_gen_rng_range(r, 0, 30) * SEC, l,
		            AF_GEN_APP_MAILER, false, 0);
	if (is_weekend(g, d))
		return;
	uint32_t rate = 150 + (uint32_t)(af_gen_mix(g->opts.seed ^ a) % 151);
	/* Walk the subscriber list: nobody gets two copies in a day. */
	uint64_t k = (uint64_t)(a % 8) * 500000 + (uint64_t)d * 4000 % 500000;
	for (int h = 8; h < 17; h++) {
		uint32_t n = scaled(r, rate, 90, 110);
		for (uint32_t i = 0; i < n; i++)
			push_send(g, r, a, mid + h * HOUR + af_gen_rng_range(r, 0, HOUR - 1), l,
			          AF_GEN_CL_MAILER, AF_GEN_RCPT_SUBSCRIBER, 1, k++, 0);
	}
}

/* ---- business trips ------------------------------------------------------ */

static double distance_km(const struct af_gen_place *a, const struct af_gen_place *b)
{
	const double rad = 3.14159265358979323846 / 180.0;
	double dlat = (b->lat - a->lat) * rad, dlon = (b->lon - a->lon) * rad;
	double h = sin(dlat / 2) * sin(dlat / 2) +
	           cos(a->lat * rad) * cos(b->lat * rad) * sin(dlon / 2) * sin(dlon / 2);
	return 2 * 6371.0 * asin(sqrt(h));
}

/* Door to door: distance at 800 km/h plus 90 minutes, in whole 5 minutes. */
static int64_t flight_time(const struct af_gen_place *a, const struct af_gen_place *b)
{
	int64_t minutes = (int64_t)(distance_km(a, b) / 800.0 * 60.0) + 90;
	return (minutes + 4) / 5 * 5 * MIN;
}

static void day_trip(struct af_gen *g, struct af_gen_rng *r, uint32_t a, uint32_t d)
{
	struct af_gen_account *acct = &g->acct[a];
	const struct af_gen_office *from = &g->offices[acct->office];
	const struct af_gen_office *to = &g->offices[acct->trip_office];
	int64_t flight = flight_time(from->place, to->place);
	struct af_gen_rng tr;
	af_gen_rng_seed(&tr, g->opts.seed, TAG_TRIP, a, 0);
	struct loc hotel = {to->net_home[2], 2 + af_gen_rng_below(&tr, 253)};
	uint32_t dep = (uint32_t)acct->trip_day, ret = dep + acct->trip_len;

	if (d == dep || d == ret) {
		/* Mail before the taxi, the flight at 09:00, mail after
		 * check-in (or at home). */
		const struct af_gen_office *here = d == dep ? from : to;
		const struct af_gen_office *there = d == dep ? to : from;
		struct loc before = d == dep ? home_loc(acct) : hotel;
		struct loc after = d == dep ? hotel : home_loc(acct);
		int64_t mid = af_gen_midnight(g, d, here->place->tz_min);
		int64_t t =
		    login(g, r, a, mid + af_gen_rng_range(r, 6 * 3600, 6 * 3600 + 2400) * SEC,
		          before, AF_GEN_APP_OUTLOOK);
		push_signin(g, r, a, t + af_gen_rng_range(r, MIN, 30 * MIN), before,
		            AF_GEN_APP_OUTLOOK, false, 0);
		int64_t land = mid + 9 * HOUR + flight;
		int64_t first = land + af_gen_rng_range(r, 3600, 7200) * SEC;
		/* No typo here: the first success abroad is what the truth
		 * line points at. */
		push_signin(g, r, a, first, after, AF_GEN_APP_OWA, true, 0);
		uint32_t n = 2 + af_gen_rng_below(r, 3);
		for (uint32_t i = 0; i < n; i++)
			push_signin(g, r, a, first + af_gen_rng_range(r, MIN, 3 * HOUR), after,
			            AF_GEN_APP_OUTLOOK, false, 0);
		n = af_gen_rng_below(r, 3);
		for (uint32_t i = 0; i < n; i++)
			send_normal(g, r, a, first + af_gen_rng_range(r, MIN, 3 * HOUR), after,
			            AF_GEN_CL_OUTLOOK);
		if (d == dep) {
			char note[200];
			snprintf(
			    note, sizeof(note),
			    "benign: business trip from %s, %s to %s, %s (door to door %lld min); "
			    "first sign-in abroad",
			    here->place->city, here->place->cc, there->place->city,
			    there->place->cc, (long long)(flight / MIN));
			af_gen_truth_add(g, "new_country", a, first, first, note);
			acct->trip_truth = af_gen_truth_add(g, "new_asn", a, first, first, note);
			acct->trip_arrival = first;
		}
		return;
	}
	/* A day abroad: the office there, the hotel in the evening. */
	int64_t mid = af_gen_midnight(g, d, to->place->tz_min);
	if (is_weekend(g, d)) {
		int64_t t = mid + af_gen_rng_range(r, 9 * HOUR, 20 * HOUR);
		/* Not before the landing (see below). */
		if (t < acct->trip_arrival + HOUR)
			return;
		t = login(g, r, a, t, hotel, AF_GEN_APP_OWA);
		push_signin(g, r, a, t + af_gen_rng_range(r, MIN, HOUR), hotel, AF_GEN_APP_OUTLOOK,
		            false, 0);
		return;
	}
	int64_t s = mid + (acct->day_start + af_gen_rng_range(r, -20, 25)) * MIN +
	            af_gen_rng_range(r, 0, 59) * SEC;
	int64_t e = mid + (acct->day_end + af_gen_rng_range(r, -25, 40)) * MIN;
	/* Flying east, the first local morning may come before the landing:
	 * that day is spent arriving (the hotel sign-ins after landing). */
	if (s < acct->trip_arrival + 3 * HOUR)
		return;
	int64_t ok =
	    session_signins(g, r, a, s, e, office_loc(to, r), scaled(r, acct->signins, 75, 125));
	mail_work(g, r, a, ok + 5 * MIN, e, office_loc(to, r), scaled(r, acct->sends, 60, 140));
	if (acct->trip_truth >= 0) {
		/* The office abroad is another new ASN. */
		struct af_gen_truth *t = &g->truth[acct->trip_truth];
		if (t->to == t->from) {
			t->to = ok;
			snprintf(t->note + strlen(t->note), sizeof(t->note) - strlen(t->note),
			         "; then the office there");
		}
	}
	if (af_gen_rng_chance(r, 500))
		evening(g, r, a, mid, hotel);
}

void af_gen_baseline_day(struct af_gen *g, uint32_t a, uint32_t d)
{
	const struct af_gen_account *acct = &g->acct[a];
	struct af_gen_rng r;
	af_gen_rng_seed(&r, g->opts.seed, TAG_DAY, a, d);
	if (acct->profile == AF_GEN_P_BULK)
		day_bulk(g, &r, a, d);
	else if (acct->trip_day >= 0 && d >= (uint32_t)acct->trip_day &&
	         d <= (uint32_t)acct->trip_day + acct->trip_len)
		day_trip(g, &r, a, d);
	else if (is_weekend(g, d))
		day_weekend(g, &r, a, d);
	else
		day_work(g, &r, a, d, (int32_t)d == g->first_workday);
}

/* ---- attacks ------------------------------------------------------------- */

/* A victim at office `office`: an office worker there, or, if there is
 * none, someone made one (before names are drawn). */
static uint32_t pin(struct af_gen *g, struct af_gen_rng *r, uint8_t office, enum af_gen_form form)
{
	uint32_t count = 0, victim = 0;
	for (uint32_t i = 0; i < g->n_acct; i++)
		count += g->acct[i].office == office && g->acct[i].profile == AF_GEN_P_OFFICE;
	if (count > 0) {
		uint32_t k = af_gen_rng_below(r, count);
		for (victim = 0;; victim++)
			if (g->acct[victim].office == office &&
			    g->acct[victim].profile == AF_GEN_P_OFFICE && k-- == 0)
				break;
	} else {
		/* Anyone but a mailer (N < 10 has none) or a traveller. */
		for (uint32_t i = 0; i < g->n_acct; i++) {
			uint8_t p = g->acct[i].profile;
			if (p != AF_GEN_P_BULK && p != AF_GEN_P_TRAVELLER) {
				victim = i;
				break;
			}
		}
	}
	struct af_gen_account *v = &g->acct[victim];
	v->office = office;
	v->profile = AF_GEN_P_OFFICE;
	v->pinned = true;
	v->form = (uint8_t)form;
	return victim;
}

void af_gen_scenario_plan(struct af_gen *g)
{
	struct af_gen_attack *k = &g->atk;
	k->day = -1;
	if (g->opts.scenario == AF_GEN_BASELINE)
		return;
	/* Two thirds in, on a working day if there is one: time enough for
	 * baselines, and people at work to notice. */
	int32_t days = (int32_t)g->opts.days;
	int32_t day = days * 2 / 3;
	day = day < 1 ? 1 : day > days - 1 ? days - 1 : day;
	while (is_weekend(g, (uint32_t)day) && day + 1 <= days - 1)
		day++;
	while (is_weekend(g, (uint32_t)day) && day - 1 >= 1)
		day--;
	k->day = day;
	struct af_gen_rng r;
	af_gen_rng_seed(&r, g->opts.seed, TAG_PLAN, 0, 0);
	k->host = 2 + af_gen_rng_below(&r, 253);
	switch (g->opts.scenario) {
	case AF_GEN_SEED_INCIDENT:
		k->victim = pin(g, &r, OFF_HANOI, AF_GEN_FORM_ENTRA);
		k->net = g->net_attacker;
		k->host = 7; /* the demo's attacker address */
		break;
	case AF_GEN_PASSWORD_SPRAY: k->net = g->net_anonymizer; break;
	case AF_GEN_BEC_INBOX_RULE:
		k->victim = pin(g, &r, OFF_NEW_YORK, AF_GEN_FORM_UAL);
		k->net = g->net_bec;
		break;
	case AF_GEN_FORWARDING:
		k->victim = pin(g, &r, OFF_LONDON, AF_GEN_FORM_ENTRA);
		k->net = g->net_forward;
		break;
	default: break;
	}
}

/* A truth line about the attacker's address. */
static void truth_address(struct af_gen *g, const char *rule, int64_t from, int64_t to,
                          const char *note)
{
	int32_t i = af_gen_truth_add(g, rule, UINT32_MAX, from, to, note);
	if (i < 0)
		return;
	g->truth[i].has_address = true;
	g->truth[i].net = g->atk.net;
	g->truth[i].host = g->atk.host;
}

/* The anomalous sign-in every takeover starts with: the victim at their
 * office `before` earlier, then the attacker. Adds the three truth lines
 * of that sign-in. */
static void takeover_signin(struct af_gen *g, struct af_gen_rng *r, int64_t t1, int64_t before,
                            const char *scenario)
{
	const struct af_gen_attack *k = &g->atk;
	const struct af_gen_account *v = &g->acct[k->victim];
	const struct af_gen_office *o = &g->offices[v->office];
	const struct af_gen_net *an = &g->nets[k->net];
	push_signin(g, r, k->victim, t1 - before, office_loc(o, r), AF_GEN_APP_OUTLOOK, true, 0);
	push_signin(g, r, k->victim, t1, (struct loc){k->net, k->host}, AF_GEN_APP_ATTACKER, true,
	            0);
	char note[200];
	snprintf(note, sizeof(note), "%s: the password used from %s, %s (AS%u %s, hosting)",
	         scenario, an->place->city, an->place->cc, an->asn, an->as_org);
	af_gen_truth_add(g, "new_country", k->victim, t1, t1, note);
	af_gen_truth_add(g, "new_asn", k->victim, t1, t1, note);
	snprintf(note, sizeof(note), "%s: %s, %s %lld minutes before, %.0f km away", scenario,
	         o->place->city, o->place->cc, (long long)(before / MIN),
	         distance_km(o->place, an->place));
	af_gen_truth_add(g, "impossible_travel", k->victim, t1, t1, note);
}

static void seed_incident(struct af_gen *g, struct af_gen_rng *r, int64_t day0)
{
	const struct af_gen_attack *k = &g->atk;
	uint32_t v = k->victim;
	const struct af_gen_office *o = &g->offices[g->acct[v].office];
	struct loc atk = {k->net, k->host};
	const char *sc = "seed-incident";

	/* 10:30 in Hanoi, 23:30 the evening before in Virginia. */
	int64_t t1 = day0 + 3 * HOUR + 30 * MIN + af_gen_rng_range(r, 0, 15 * 60) * SEC;
	takeover_signin(g, r, t1, 90 * MIN, sc);
	/* Addresses harvested from five years of mail. */
	for (int i = 0; i < 6; i++)
		push_mail(g, r, v, t1 + af_gen_rng_range(r, 3 * 60, 8 * 60) * SEC, atk,
		          AF_GEN_EV_ACCESS, AF_GEN_ACCESS_BIND, AF_GEN_CL_ATTACKER_OWA, 0);
	/* Two test mails to the attacker's own box, then removed from Sent
	 * Items; later sends skip Sent Items altogether. */
	for (int i = 0; i < 2; i++)
		push_send(g, r, v, t1 + 10 * MIN + i * 40 * SEC, atk, AF_GEN_CL_ATTACKER_OWA,
		          AF_GEN_RCPT_DROP, 1, af_gen_rng_u64(r), 0);
	int64_t t_del = t1 + 13 * MIN;
	push_mail(g, r, v, t_del, atk, AF_GEN_EV_DELETE, AF_GEN_DEL_SENT, AF_GEN_CL_ATTACKER_OWA,
	          0);
	int64_t t_rule = t1 + 15 * MIN;
	push_mail(g, r, v, t_rule, atk, AF_GEN_EV_RULE, AF_GEN_RULE_HIDE, AF_GEN_CL_ATTACKER_OWA,
	          AF_GEN_EVF_PORT);
	int64_t t = t1 + 20 * MIN, first = t, last = t;
	uint64_t h = 5000 + af_gen_rng_below(r, 1000);
	uint32_t recipients = 0;
	for (int i = 0; i < 300; i++) {
		uint16_t n = af_gen_rng_chance(r, 300) ? 2 : 1;
		push_send(g, r, v, t, atk, AF_GEN_CL_ATTACKER_REST, AF_GEN_RCPT_HARVEST, n, h,
		          AF_GEN_EVF_NO_SAVE | AF_GEN_EVF_SELF_NAME | AF_GEN_EVF_PORT);
		h += n;
		recipients += n;
		last = t;
		t += af_gen_rng_range(r, 15, 21) * SEC;
	}
	/* Colleagues notice; the password is changed in the afternoon. */
	int64_t t_reset = t1 + 5 * HOUR;
	struct loc office = office_loc(o, r);
	push_mail(g, r, v, t_reset, office, AF_GEN_EV_PASSWORD, 0, AF_GEN_CL_OWA, 0);
	push_signin(g, r, v, t_reset + 2 * MIN, office, AF_GEN_APP_OWA, true, 0);
	int64_t f_first = t_reset + 40 * MIN, f_last = f_first;
	t = f_first;
	for (int i = 0; i < 20; i++) {
		/* Smart lockout answers 50053 after ten wrong passwords. */
		push_signin(g, r, v, t, atk, AF_GEN_APP_ATTACKER, true, i < 10 ? 50126 : 50053);
		f_last = t;
		/* A script, not a person: a try every 15-45 s. */
		t += af_gen_rng_range(r, 15, 45) * SEC;
	}

	char note[200];
	snprintf(note, sizeof(note),
	         "%s: 300 phishing sends in %lld minutes to %u harvested addresses", sc,
	         (long long)((last - first) / MIN), recipients);
	af_gen_truth_add(g, "mail_send_burst", v, first, last, note);
	af_gen_truth_add(g, "mass_recipients", v, first, last, note);
	af_gen_truth_add(g, "sender_name_spoof", v, first, last,
	                 "seed-incident: every recipient named with the sender's own display name");
	af_gen_truth_add(g, "sent_items_bypass", v, t_del, last,
	                 "seed-incident: test mails hard-deleted from Sent Items, then REST sends "
	                 "with SaveToSentItems false");
	af_gen_truth_add(g, "inbox_rule_tamper", v, t_rule, t_rule,
	                 "seed-incident: replies moved to RSS Feeds and marked read");
	af_gen_truth_add(g, "account_takeover", v, t1, last,
	                 "seed-incident: the new-country sign-in, then the mail abuse");
	af_gen_truth_add(
	    g, "signin_fail_burst", v, f_first, f_last,
	    "seed-incident: the attacker's tries after the password change (10 x 50126, "
	    "then 50053)");
}

static void password_spray(struct af_gen *g, struct af_gen_rng *r, int64_t day0)
{
	/* Up to 60 real accounts, topped up with guessed role names to 40. */
	uint32_t people = 0;
	uint32_t *idx = malloc(((size_t)g->n_acct + 40) * sizeof(*idx));
	if (!idx) {
		g->nomem = true;
		return;
	}
	for (uint32_t i = 0; i < g->n_acct; i++)
		if (g->acct[i].profile != AF_GEN_P_BULK)
			idx[people++] = i;
	uint32_t m = people < 60 ? people : 60;
	for (uint32_t i = 0; i < m; i++) {
		uint32_t j = i + af_gen_rng_below(r, people - i);
		uint32_t x = idx[i];
		idx[i] = idx[j];
		idx[j] = x;
	}
	g->n_ghosts = m < 40 ? 40 - m : 0;
	uint32_t total = m + g->n_ghosts;
	for (uint32_t i = 0; i < g->n_ghosts; i++)
		idx[m + i] = g->n_acct + i;
	for (uint32_t i = total; i > 1; i--) {
		uint32_t j = af_gen_rng_below(r, i);
		uint32_t x = idx[i - 1];
		idx[i - 1] = idx[j];
		idx[j] = x;
	}
	int64_t t0 = day0 + 2 * HOUR + af_gen_rng_range(r, 0, 30 * 60) * SEC;
	int64_t step = 15 * MIN / total, first = t0, last = t0;
	struct loc l = {g->atk.net, g->atk.host};
	for (uint32_t i = 0; i < total; i++) {
		bool ghost = idx[i] >= g->n_acct;
		int64_t t = t0 + (int64_t)i * step + af_gen_rng_range(r, 0, step / 2);
		t -= t % SEC; /* as the record will say */
		push_signin(g, r, idx[i], t, l, AF_GEN_APP_ROPC, true, ghost ? 50034 : 50126);
		if (i == 0)
			first = t;
		last = t;
	}
	free(idx);
	const struct af_gen_net *an = &g->nets[g->atk.net];
	char note[200];
	snprintf(note, sizeof(note),
	         "password-spray: one password against %u accounts (%u that do not exist) in %lld "
	         "minutes from %s, %s (AS%u %s, anonymizer)",
	         total, g->n_ghosts, (long long)((last - first) / MIN), an->place->city,
	         an->place->cc, an->asn, an->as_org);
	truth_address(g, "password_spray", first, last, note);
}

static void bec_inbox_rule(struct af_gen *g, struct af_gen_rng *r, int64_t day0)
{
	uint32_t v = g->atk.victim;
	struct loc atk = {g->atk.net, g->atk.host};
	const char *sc = "bec-inbox-rule";
	/* 13:00 in New York. */
	int64_t t1 = day0 + 17 * HOUR + af_gen_rng_range(r, 0, 20 * 60) * SEC;
	takeover_signin(g, r, t1, 60 * MIN, sc);
	for (int i = 0; i < 4; i++)
		push_mail(g, r, v, t1 + af_gen_rng_range(r, 2 * 60, 10 * 60) * SEC, atk,
		          AF_GEN_EV_ACCESS, AF_GEN_ACCESS_BIND, AF_GEN_CL_ATTACKER_OWA, 0);
	int64_t t_rule = t1 + af_gen_rng_range(r, 12 * 60, 15 * 60) * SEC;
	push_mail(g, r, v, t_rule, atk, AF_GEN_EV_RULE, AF_GEN_RULE_BEC, AF_GEN_CL_ATTACKER_OWA,
	          AF_GEN_EVF_PORT);
	af_gen_truth_add(
	    g, "inbox_rule_tamper", v, t_rule, t_rule,
	    "bec-inbox-rule: a partner's payment mail moved to RSS Feeds, marked read");
	af_gen_truth_add(g, "account_takeover", v, t1, t_rule,
	                 "bec-inbox-rule: the anomalous sign-in, then the hiding rule");
}

static void forwarding(struct af_gen *g, struct af_gen_rng *r, int64_t day0)
{
	uint32_t v = g->atk.victim;
	struct loc atk = {g->atk.net, g->atk.host};
	const char *sc = "forwarding";
	/* 15:00 in London. */
	int64_t t1 = day0 + 14 * HOUR + af_gen_rng_range(r, 0, 20 * 60) * SEC;
	takeover_signin(g, r, t1, 45 * MIN, sc);
	for (int i = 0; i < 2; i++)
		push_mail(g, r, v, t1 + af_gen_rng_range(r, 3 * 60, 6 * 60) * SEC, atk,
		          AF_GEN_EV_ACCESS, AF_GEN_ACCESS_SYNC, AF_GEN_CL_ATTACKER_OWA, 0);
	int64_t t_fwd = t1 + af_gen_rng_range(r, 9 * 60, 12 * 60) * SEC;
	push_mail(g, r, v, t_fwd, atk, AF_GEN_EV_FORWARD, 0, AF_GEN_CL_ATTACKER_OWA,
	          AF_GEN_EVF_PORT);
	af_gen_truth_add(g, "mailbox_forwarding", v, t_fwd, t_fwd,
	                 "forwarding: Set-Mailbox -ForwardingSmtpAddress to another domain");
	af_gen_truth_add(g, "account_takeover", v, t1, t_fwd,
	                 "forwarding: the anomalous sign-in, then forwarding out");
}

void af_gen_scenario_day(struct af_gen *g, uint32_t day)
{
	if (g->atk.day != (int32_t)day)
		return;
	struct af_gen_rng r;
	af_gen_rng_seed(&r, g->opts.seed, TAG_ATTACK, day, (uint64_t)g->opts.scenario);
	int64_t day0 = (g->base_day + day) * AF_GEN_DAY;
	switch (g->opts.scenario) {
	case AF_GEN_SEED_INCIDENT: seed_incident(g, &r, day0); break;
	case AF_GEN_PASSWORD_SPRAY: password_spray(g, &r, day0); break;
	case AF_GEN_BEC_INBOX_RULE: bec_inbox_rule(g, &r, day0); break;
	case AF_GEN_FORWARDING: forwarding(g, &r, day0); break;
	default: break;
	}
}
