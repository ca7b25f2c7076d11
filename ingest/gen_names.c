/* gen_names.c - the generator's people: account names in six languages,
 * the service and sprayed names, and the outside world's addresses
 * (partners' contacts, newsletter subscribers, harvested addresses), from
 * which every message's recipients are derived.
 *
 * Thread: the caller of af_gen_run.
 * In: indices and an event's seed. Out: addresses and display names.
 *
 * DESIGN: uniqueness is built in, not checked: the k-th name of a list is
 * (first k mod F, last (k div F + k mod F) mod L), which is one-to-one for
 * k < F x L, and a number follows beyond that; last names are disjoint
 * between the lists, so accounts never share an address. Display names
 * keep their accents (UTF-8); addresses are ASCII. Recipients are drawn
 * from the event's seed, so the Send record and its trace rows, written
 * apart, name the same people.
 */
#include <stdio.h>
#include <string.h>

#include "ingest/gen_impl.h"

struct name {
	const char *display; /* UTF-8 */
	const char *ascii;   /* lower-case, for addresses */
};

#define NAMES 24
struct name_group {
	struct name first[NAMES];
	struct name last[NAMES];
	bool family_first; /* Vietnamese order: family, middle, given */
};

/* clang-format off */
static const struct name_group groups[AF_GEN_NAME_GROUPS] = {
	{ /* English */
	 {{"James", "james"}, {"Olivia", "olivia"}, {"William", "william"}, {"Emma", "emma"},
	  {"Oliver", "oliver"}, {"Amelia", "amelia"}, {"Jack", "jack"}, {"Isla", "isla"},
	  {"Henry", "henry"}, {"Sophie", "sophie"}, {"Thomas", "thomas"}, {"Grace", "grace"},
	  {"George", "george"}, {"Chloe", "chloe"}, {"Daniel", "daniel"}, {"Lucy", "lucy"},
	  {"Samuel", "samuel"}, {"Hannah", "hannah"}, {"Michael", "michael"}, {"Emily", "emily"},
	  {"David", "david"}, {"Ella", "ella"}, {"Joseph", "joseph"}, {"Charlotte", "charlotte"}},
	 {{"Smith", "smith"}, {"Johnson", "johnson"}, {"Williams", "williams"}, {"Brown", "brown"},
	  {"Taylor", "taylor"}, {"Davies", "davies"}, {"Wilson", "wilson"}, {"Evans", "evans"},
	  {"Roberts", "roberts"}, {"Walker", "walker"}, {"Wright", "wright"}, {"Robinson", "robinson"},
	  {"Thompson", "thompson"}, {"White", "white"}, {"Hughes", "hughes"}, {"Edwards", "edwards"},
	  {"Green", "green"}, {"Hall", "hall"}, {"Wood", "wood"}, {"Harris", "harris"},
	  {"Clarke", "clarke"}, {"Jackson", "jackson"}, {"Turner", "turner"}, {"Cooper", "cooper"}},
	 false},
	{ /* German */
	 {{"Lukas", "lukas"}, {"Anna", "anna"}, {"Jonas", "jonas"}, {"Lea", "lea"},
	  {"Felix", "felix"}, {"Hanna", "hanna"}, {"Maximilian", "maximilian"}, {"Laura", "laura"},
	  {"Paul", "paul"}, {"Lena", "lena"}, {"Leon", "leon"}, {"Marie", "marie"},
	  {"Finn", "finn"}, {"Sophia", "sophia"}, {"Elias", "elias"}, {"Mia", "mia"},
	  {"J\xc3\xbcrgen", "juergen"}, {"Katrin", "katrin"}, {"Stefan", "stefan"}, {"Sabine", "sabine"},
	  {"Tobias", "tobias"}, {"Julia", "julia"}, {"Matthias", "matthias"}, {"J\xc3\xb6rg", "joerg"}},
	 {{"M\xc3\xbcller", "mueller"}, {"Schmidt", "schmidt"}, {"Schneider", "schneider"},
	  {"Fischer", "fischer"}, {"Weber", "weber"}, {"Meyer", "meyer"}, {"Wagner", "wagner"},
	  {"Becker", "becker"}, {"Schulz", "schulz"}, {"Hoffmann", "hoffmann"},
	  {"Sch\xc3\xa4" "fer", "schaefer"}, {"Koch", "koch"}, {"Bauer", "bauer"},
	  {"Richter", "richter"}, {"Klein", "klein"}, {"Wolf", "wolf"},
	  {"Schr\xc3\xb6" "der", "schroeder"}, {"Neumann", "neumann"}, {"Schwarz", "schwarz"},
	  {"Zimmermann", "zimmermann"}, {"Braun", "braun"}, {"Kr\xc3\xbcger", "krueger"},
	  {"Hofmann", "hofmann"}, {"Hartmann", "hartmann"}},
	 false},
	{ /* Vietnamese: given names first here, family names second */
	 {{"An", "an"}, {"Binh", "binh"}, {"Chi", "chi"}, {"Dung", "dung"}, {"Giang", "giang"},
	  {"Hai", "hai"}, {"Hanh", "hanh"}, {"Hieu", "hieu"}, {"Hoa", "hoa"}, {"Hung", "hung"},
	  {"Huong", "huong"}, {"Khanh", "khanh"}, {"Lan", "lan"}, {"Linh", "linh"},
	  {"Long", "long"}, {"Mai", "mai"}, {"Minh", "minh"}, {"Nam", "nam"}, {"Ngoc", "ngoc"},
	  {"Phuong", "phuong"}, {"Quang", "quang"}, {"Thao", "thao"}, {"Trang", "trang"},
	  {"Tuan", "tuan"}},
	 {{"Nguyen", "nguyen"}, {"Tran", "tran"}, {"Le", "le"}, {"Pham", "pham"},
	  {"Hoang", "hoang"}, {"Huynh", "huynh"}, {"Phan", "phan"}, {"Vu", "vu"}, {"Vo", "vo"},
	  {"Dang", "dang"}, {"Bui", "bui"}, {"Do", "do"}, {"Ho", "ho"}, {"Ngo", "ngo"},
	  {"Duong", "duong"}, {"Ly", "ly"}, {"Dinh", "dinh"}, {"Truong", "truong"},
	  {"Cao", "cao"}, {"Lam", "lam"}, {"Trinh", "trinh"}, {"Ha", "ha"}, {"Luong", "luong"},
	  {"Ta", "ta"}},
	 true},
	{ /* Japanese */
	 {{"Haruto", "haruto"}, {"Yui", "yui"}, {"Sota", "sota"}, {"Hina", "hina"},
	  {"Yuto", "yuto"}, {"Mei", "mei"}, {"Riku", "riku"}, {"Sakura", "sakura"},
	  {"Kaito", "kaito"}, {"Aoi", "aoi"}, {"Ren", "ren"}, {"Yuna", "yuna"},
	  {"Hiroshi", "hiroshi"}, {"Yuki", "yuki"}, {"Takashi", "takashi"}, {"Akiko", "akiko"},
	  {"Kenji", "kenji"}, {"Naoko", "naoko"}, {"Daiki", "daiki"}, {"Emi", "emi"},
	  {"Shota", "shota"}, {"Mao", "mao"}, {"Koji", "koji"}, {"Rina", "rina"}},
	 {{"Sato", "sato"}, {"Suzuki", "suzuki"}, {"Takahashi", "takahashi"}, {"Tanaka", "tanaka"},
	  {"Watanabe", "watanabe"}, {"Ito", "ito"}, {"Yamamoto", "yamamoto"},
	  {"Nakamura", "nakamura"}, {"Kobayashi", "kobayashi"}, {"Kato", "kato"},
	  {"Yoshida", "yoshida"}, {"Yamada", "yamada"}, {"Sasaki", "sasaki"},
	  {"Yamaguchi", "yamaguchi"}, {"Matsumoto", "matsumoto"}, {"Inoue", "inoue"},
	  {"Kimura", "kimura"}, {"Hayashi", "hayashi"}, {"Shimizu", "shimizu"},
	  {"Yamazaki", "yamazaki"}, {"Mori", "mori"}, {"Abe", "abe"}, {"Ikeda", "ikeda"},
	  {"Hashimoto", "hashimoto"}},
	 false},
	{ /* Portuguese (Brazil) */
	 {{"Jo\xc3\xa3o", "joao"}, {"Maria", "maria"}, {"Pedro", "pedro"}, {"Ana", "ana"},
	  {"Lucas", "lucas"}, {"Beatriz", "beatriz"}, {"Gabriel", "gabriel"},
	  {"J\xc3\xbalia", "julia"}, {"Rafael", "rafael"}, {"Larissa", "larissa"},
	  {"Mateus", "mateus"}, {"Camila", "camila"}, {"Gustavo", "gustavo"},
	  {"Fernanda", "fernanda"}, {"Thiago", "thiago"}, {"Let\xc3\xad" "cia", "leticia"},
	  {"Bruno", "bruno"}, {"Mariana", "mariana"}, {"Felipe", "felipe"},
	  {"Isabela", "isabela"}, {"Diego", "diego"}, {"Vit\xc3\xb3ria", "vitoria"},
	  {"Rodrigo", "rodrigo"}, {"Luana", "luana"}},
	 {{"Silva", "silva"}, {"Santos", "santos"}, {"Oliveira", "oliveira"}, {"Souza", "souza"},
	  {"Rodrigues", "rodrigues"}, {"Ferreira", "ferreira"}, {"Alves", "alves"},
	  {"Pereira", "pereira"}, {"Lima", "lima"}, {"Gomes", "gomes"}, {"Costa", "costa"},
	  {"Ribeiro", "ribeiro"}, {"Martins", "martins"}, {"Carvalho", "carvalho"},
	  {"Almeida", "almeida"}, {"Lopes", "lopes"}, {"Soares", "soares"},
	  {"Fernandes", "fernandes"}, {"Vieira", "vieira"}, {"Barbosa", "barbosa"},
	  {"Rocha", "rocha"}, {"Dias", "dias"}, {"Nascimento", "nascimento"},
	  {"Ara\xc3\xbajo", "araujo"}},
	 false},
	{ /* Indian */
	 {{"Aarav", "aarav"}, {"Ananya", "ananya"}, {"Vihaan", "vihaan"}, {"Diya", "diya"},
	  {"Arjun", "arjun"}, {"Isha", "isha"}, {"Rohan", "rohan"}, {"Priya", "priya"},
	  {"Karan", "karan"}, {"Neha", "neha"}, {"Rahul", "rahul"}, {"Pooja", "pooja"},
	  {"Vikram", "vikram"}, {"Kavya", "kavya"}, {"Aditya", "aditya"}, {"Sneha", "sneha"},
	  {"Sanjay", "sanjay"}, {"Divya", "divya"}, {"Amit", "amit"}, {"Meera", "meera"},
	  {"Nikhil", "nikhil"}, {"Lakshmi", "lakshmi"}, {"Suresh", "suresh"}, {"Deepa", "deepa"}},
	 {{"Sharma", "sharma"}, {"Verma", "verma"}, {"Gupta", "gupta"}, {"Iyer", "iyer"},
	  {"Reddy", "reddy"}, {"Nair", "nair"}, {"Patel", "patel"}, {"Rao", "rao"},
	  {"Kumar", "kumar"}, {"Singh", "singh"}, {"Mehta", "mehta"}, {"Joshi", "joshi"},
	  {"Menon", "menon"}, {"Pillai", "pillai"}, {"Bhat", "bhat"}, {"Kulkarni", "kulkarni"},
	  {"Desai", "desai"}, {"Chopra", "chopra"}, {"Malhotra", "malhotra"},
	  {"Agarwal", "agarwal"}, {"Krishnan", "krishnan"}, {"Banerjee", "banerjee"},
	  {"Mishra", "mishra"}, {"Naidu", "naidu"}},
	 false},
};
/* clang-format on */

static const char *const vn_middle[] = {"Van",  "Thi",   "Duc",  "Minh",
                                        "Ngoc", "Thanh", "Quoc", "Thu"};

/* The outside world's people (partners, subscribers, harvested). */
#define WORLD 32
static const char *const world_first[WORLD] = {
    "alex",  "maria", "chris", "sarah",  "daniel", "laura",  "kevin",  "nina",
    "marco", "elena", "omar",  "fatima", "lars",   "ingrid", "pierre", "claire",
    "diego", "sofia", "wei",   "mei",    "hiro",   "aiko",   "raj",    "anita",
    "tom",   "julia", "ivan",  "olga",   "sam",    "ruth",   "ben",    "zoe"};
static const char *const world_last[WORLD] = {
    "anderson", "martin", "garcia", "rossi",     "dubois", "novak",     "kowalski", "jensen",
    "larsen",   "moreau", "ricci",  "fernandez", "lopez",  "chen",      "wang",     "kim",
    "park",     "ali",    "khan",   "haddad",    "cohen",  "levy",      "murphy",   "kelly",
    "byrne",    "ivanov", "petrov", "nielsen",   "berg",   "lindqvist", "moretti",  "bianchi"};

const char *const af_gen_partner_domains[] = {"fabrikam.example",       "northwindtraders.example",
                                              "tailspintoys.example",   "adatum.example",
                                              "litwareinc.example",     "woodgrovebank.example",
                                              "proseware.example",      "wingtiptoys.example",
                                              "alpineskihouse.example", "fourthcoffee.example"};
const uint32_t af_gen_partner_count =
    sizeof(af_gen_partner_domains) / sizeof(af_gen_partner_domains[0]);

/* Mailbox providers of private persons (RFC 2606 names). */
static const char *const consumer_domains[] = {"example.com", "example.net", "example.org"};
#define N_CONSUMER 3

#define CONTACTS AF_GEN_CONTACTS

/* Split k one-to-one into (first < f, last < l, rest). */
static void split(uint32_t k, uint32_t f, uint32_t l, uint32_t *first, uint32_t *last,
                  uint32_t *rest)
{
	uint32_t q = k / f;
	*first = k % f;
	*last = (q + *first) % l;
	*rest = q / l;
}

/* Capitalise the ASCII word s into out (for display names of outsiders). */
static void capitalised(const char *s, char *out, size_t size)
{
	snprintf(out, size, "%s", s);
	if (out[0] >= 'a' && out[0] <= 'z')
		out[0] = (char)(out[0] - 'a' + 'A');
}

void af_gen_name_person(struct af_gen_account *a, unsigned group, uint32_t k)
{
	const struct name_group *ng = &groups[group];
	uint32_t fi, li, n;
	split(k, NAMES, NAMES, &fi, &li, &n);
	const struct name *f = &ng->first[fi], *l = &ng->last[li];
	char num[16] = "";
	char tag[16] = "";
	if (n > 0) {
		/* Namesakes get a number in the address and in the name, as
		 * directories tell them apart. */
		snprintf(num, sizeof(num), "%u", (unsigned)n + 1);
		snprintf(tag, sizeof(tag), " (%u)", (unsigned)n + 1);
	}
	snprintf(a->upn, sizeof(a->upn), "%s.%s%s@%s", f->ascii, l->ascii, num, AF_GEN_DOMAIN);
	if (ng->family_first)
		snprintf(a->name, sizeof(a->name), "%s %s %s%s", l->display,
		         vn_middle[(k / 7) % (sizeof(vn_middle) / sizeof(vn_middle[0]))],
		         f->display, tag);
	else
		snprintf(a->name, sizeof(a->name), "%s %s%s", f->display, l->display, tag);
}

void af_gen_name_bulk(struct af_gen_account *a, uint32_t b)
{
	static const char *const local[] = {"newsletter", "notifications", "events",
	                                    "careers",    "billing",       "updates"};
	static const char *const display[] = {"Contoso Newsletter", "Contoso Notifications",
	                                      "Contoso Events",     "Contoso Careers",
	                                      "Contoso Billing",    "Contoso Product Updates"};
	const uint32_t n = sizeof(local) / sizeof(local[0]);
	char num[16] = "";
	if (b >= n)
		snprintf(num, sizeof(num), "%u", (unsigned)(b / n + 1));
	snprintf(a->upn, sizeof(a->upn), "%s%s@%s", local[b % n], num, AF_GEN_DOMAIN);
	snprintf(a->name, sizeof(a->name), "%s%s%s", display[b % n], num[0] ? " " : "", num);
}

void af_gen_name_ghost(uint32_t k, char *upn, size_t size)
{
	/* What spray lists guess: role mailboxes, none of which exists here. */
	static const char *const local[] = {
	    "admin",     "administrator", "test",      "info",        "sales",     "support",
	    "hr",        "finance",       "it",        "office",      "contact",   "scanner",
	    "reception", "accounts",      "marketing", "service",     "helpdesk",  "backup",
	    "user",      "guest",         "training",  "demo",        "webmaster", "postmaster",
	    "noc",       "security",      "payroll",   "procurement", "legal",     "ceo"};
	const uint32_t n = sizeof(local) / sizeof(local[0]);
	if (k < n)
		snprintf(upn, size, "%s@%s", local[k], AF_GEN_DOMAIN);
	else
		snprintf(upn, size, "%s%u@%s", local[k % n], (unsigned)(k / n), AF_GEN_DOMAIN);
}

/* The k-th outsider at one of the domains: one-to-one in k. */
static void outsider(uint32_t k, const char *const *domains, uint32_t n_domains,
                     struct af_gen_rcpt *out)
{
	uint32_t fi, li, rest;
	split(k, WORLD, WORLD, &fi, &li, &rest);
	const char *dom = domains[rest % n_domains];
	uint32_t num = rest / n_domains;
	char f[32], l[32];
	capitalised(world_first[fi], f, sizeof(f));
	capitalised(world_last[li], l, sizeof(l));
	if (num == 0)
		snprintf(out->addr, sizeof(out->addr), "%s.%s@%s", world_first[fi], world_last[li],
		         dom);
	else
		snprintf(out->addr, sizeof(out->addr), "%s.%s%u@%s", world_first[fi],
		         world_last[li], (unsigned)num, dom);
	snprintf(out->name, sizeof(out->name), "%s %s", f, l);
}

uint32_t af_gen_contact_domain(uint32_t a, uint32_t k)
{
	return (uint32_t)(af_gen_mix((uint64_t)a << 8 | k) % af_gen_partner_count);
}

/* Contact k of account a: someone at a partner. */
static void contact(uint32_t a, uint32_t k, struct af_gen_rcpt *out)
{
	uint64_t h = af_gen_mix((uint64_t)a << 8 | k);
	const char *dom = af_gen_partner_domains[h % af_gen_partner_count];
	const char *f = world_first[(h >> 16) % WORLD];
	const char *l = world_last[(h >> 24) % WORLD];
	char fc[32], lc[32];
	capitalised(f, fc, sizeof(fc));
	capitalised(l, lc, sizeof(lc));
	snprintf(out->addr, sizeof(out->addr), "%s.%s@%s", f, l, dom);
	snprintf(out->name, sizeof(out->name), "%s %s", fc, lc);
}

void af_gen_inbound_sender(const struct af_gen *g, const struct af_gen_ev *ev,
                           struct af_gen_rcpt *out)
{
	(void)g;
	contact(ev->account, (uint32_t)(ev->rseed % CONTACTS), out);
}

static bool seen(const struct af_gen_rcpt *out, size_t n, const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(out[i].addr, addr) == 0)
			return true;
	return false;
}

size_t af_gen_recipients(const struct af_gen *g, const struct af_gen_ev *ev,
                         struct af_gen_rcpt *out, size_t max)
{
	const struct af_gen_account *self = &g->acct[ev->account];
	size_t want = ev->nrcpt < max ? ev->nrcpt : max;
	size_t n = 0;
	switch (ev->variant) {
	case AF_GEN_RCPT_HARVEST: {
		/* Contacts from years of mail: partners and private persons. */
		static const char *const doms[] = {
		    "fabrikam.example",    "example.com",           "northwindtraders.example",
		    "example.net",         "adatum.example",        "litwareinc.example",
		    "example.org",         "woodgrovebank.example", "proseware.example",
		    "tailspintoys.example"};
		for (; n < want; n++) {
			outsider((uint32_t)ev->rseed + (uint32_t)n, doms,
			         sizeof(doms) / sizeof(doms[0]), &out[n]);
			/* The incident's tell: every recipient named as the
			 * sender. */
			if (ev->flags & AF_GEN_EVF_SELF_NAME)
				snprintf(out[n].name, sizeof(out[n].name), "%s", self->name);
		}
		return n;
	}
	case AF_GEN_RCPT_SUBSCRIBER:
		if (want > 0)
			outsider((uint32_t)ev->rseed, consumer_domains, N_CONSUMER, &out[n++]);
		return n;
	case AF_GEN_RCPT_DROP:
		if (want > 0) {
			snprintf(out[0].addr, sizeof(out[0].addr), "delivery.check@example.net");
			snprintf(out[0].name, sizeof(out[0].name), "Delivery Check");
			n = 1;
		}
		return n;
	case AF_GEN_RCPT_INBOUND:
		if (want > 0) {
			snprintf(out[0].addr, sizeof(out[0].addr), "%s", self->upn);
			snprintf(out[0].name, sizeof(out[0].name), "%s", self->name);
			n = 1;
		}
		return n;
	default: break;
	}
	/* Colleagues two times in three, otherwise one of the sender's
	 * contacts; never the sender, never a mailer, never twice. */
	struct af_gen_rng r;
	af_gen_rng_seed(&r, ev->rseed, ev->account, 0, 0);
	for (size_t tries = 0; n < want && tries < 4 * want + 4; tries++) {
		struct af_gen_rcpt c;
		if (g->n_acct > 1 && af_gen_rng_chance(&r, 650)) {
			uint32_t k = af_gen_rng_below(&r, g->n_acct);
			const struct af_gen_account *o = &g->acct[k];
			if (k == ev->account || o->profile == AF_GEN_P_BULK)
				continue;
			snprintf(c.addr, sizeof(c.addr), "%s", o->upn);
			snprintf(c.name, sizeof(c.name), "%s", o->name);
		} else {
			contact(ev->account, af_gen_rng_below(&r, CONTACTS), &c);
		}
		if (seen(out, n, c.addr))
			continue;
		out[n++] = c;
	}
	return n;
}
