/* test_ip.c - af_ip_parse and af_ip_format, form by form, against
 * inet_pton/inet_ntop as a reference on random text and random addresses,
 * and the fast path for plain IPv4 against the general path. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "near_miss.h"
#include "pipeline/ip.h"

static struct af_ip parse_ok(const char *s)
{
	struct af_ip ip;

	cr_assert(af_ip_parse(s, strlen(s), &ip), "should parse: \"%s\"", s);
	return ip;
}

static void assert_rejected(const char *s)
{
	struct af_ip ip;
	static const struct af_ip none = {{0}, AF_IP_NONE, 0};

	memset(&ip, 0xa5, sizeof ip);
	cr_assert_not(af_ip_parse(s, strlen(s), &ip), "should reject: \"%s\"", s);
	cr_assert_eq(ip.family, AF_IP_NONE, "\"%s\"", s);
	cr_assert_eq(ip.port, 0);
	cr_assert_arr_eq(ip.bytes, none.bytes, 16);
}

static const char *text(const struct af_ip *ip)
{
	static char buf[AF_IP_TEXT_MAX];

	af_ip_format(ip, buf, sizeof buf);
	return buf;
}

static void assert_bytes(const struct af_ip *ip, const char *v6_reference)
{
	uint8_t want[16];

	cr_assert_eq(inet_pton(AF_INET6, v6_reference, want), 1);
	cr_assert_arr_eq(ip->bytes, want, 16, "bytes differ from %s", v6_reference);
}

Test(ip, reads_ipv4_as_an_ipv4_mapped_value)
{
	struct af_ip ip = parse_ok("198.51.100.7");

	cr_assert_eq(ip.family, AF_IP_V4);
	cr_assert_eq(ip.port, 0);
	assert_bytes(&ip, "::ffff:198.51.100.7");
}

Test(ip, reads_the_port_after_a_single_colon_as_ipv4_port)
{
	struct af_ip ip = parse_ok("1.2.3.4:443");

	cr_assert_eq(ip.family, AF_IP_V4);
	cr_assert_eq(ip.port, 443);
	assert_bytes(&ip, "::ffff:1.2.3.4");
}

Test(ip, reads_the_edges_of_the_ipv4_and_port_ranges)
{
	cr_assert_eq(parse_ok("0.0.0.0").family, AF_IP_V4);
	cr_assert_eq(parse_ok("255.255.255.255:65535").port, 65535);
	cr_assert_eq(parse_ok("10.0.0.1:00080").port, 80);
}

Test(ip, rejects_ipv4_octets_with_leading_zeros_as_ambiguous)
{
	assert_rejected("01.2.3.4");
	assert_rejected("1.2.3.010");
	assert_rejected("1.2.00.4");
	cr_assert_eq(parse_ok("1.2.0.4").bytes[14], 0);
}

Test(ip, rejects_out_of_range_octets_and_ports)
{
	assert_rejected("256.1.1.1");
	assert_rejected("1.2.3.1000");
	assert_rejected("1.2.3.4:65536");
	assert_rejected("1.2.3.4:123456");
	assert_rejected("1.2.3.4:");
	assert_rejected("1.2.3.4:-1");
	assert_rejected("[::1]:70000");
}

Test(ip, rejects_ipv4_with_too_few_or_too_many_parts)
{
	assert_rejected("1.2.3");
	assert_rejected("1.2.3.4.5");
	assert_rejected("1..3.4");
	assert_rejected(".1.2.3.4");
	assert_rejected("1.2.3.4.");
	assert_rejected("1.2.3.4%eth0");
}

Test(ip, reads_ipv6_in_full_and_compressed_forms)
{
	struct af_ip ip = parse_ok("2001:0db8:0000:0000:0000:ff00:0042:8329");

	cr_assert_eq(ip.family, AF_IP_V6);
	assert_bytes(&ip, "2001:db8::ff00:42:8329");
	ip = parse_ok("::");
	cr_assert_eq(ip.family, AF_IP_V6);
	assert_bytes(&ip, "::");
	ip = parse_ok("::1");
	assert_bytes(&ip, "::1");
	ip = parse_ok("fe80::");
	assert_bytes(&ip, "fe80::");
	ip = parse_ok("1:2:3:4:5:6:7::");
	assert_bytes(&ip, "1:2:3:4:5:6:7:0");
	ip = parse_ok("1::2:3:4:5:6:7");
	assert_bytes(&ip, "1:0:2:3:4:5:6:7");
	ip = parse_ok("2001:DB8::A:b");
	assert_bytes(&ip, "2001:db8::a:b");
}

Test(ip, reads_an_embedded_ipv4_tail)
{
	struct af_ip ip = parse_ok("64:ff9b::192.0.2.33");

	cr_assert_eq(ip.family, AF_IP_V6);
	assert_bytes(&ip, "64:ff9b::c000:221");
	ip = parse_ok("1:2:3:4:5:6:1.2.3.4");
	assert_bytes(&ip, "1:2:3:4:5:6:102:304");
}

Test(ip, reads_an_ipv4_mapped_address_as_the_same_ipv4_value)
{
	struct af_ip a = parse_ok("::ffff:1.2.3.4");
	struct af_ip b = parse_ok("1.2.3.4");
	struct af_ip c = parse_ok("::FFFF:0102:0304");

	cr_assert_eq(a.family, AF_IP_V4);
	cr_assert_eq(c.family, AF_IP_V4);
	cr_assert_arr_eq(a.bytes, b.bytes, 16);
	cr_assert_arr_eq(c.bytes, b.bytes, 16);
	cr_assert_str_eq(text(&a), "1.2.3.4");
}

Test(ip, reads_brackets_with_and_without_a_port)
{
	struct af_ip ip = parse_ok("[2001:db8::1]:443");

	cr_assert_eq(ip.family, AF_IP_V6);
	cr_assert_eq(ip.port, 443);
	assert_bytes(&ip, "2001:db8::1");
	ip = parse_ok("[2001:db8::1]");
	cr_assert_eq(ip.port, 0);
	assert_bytes(&ip, "2001:db8::1");
	ip = parse_ok("[::ffff:10.0.0.1]:8080");
	cr_assert_eq(ip.family, AF_IP_V4);
	cr_assert_eq(ip.port, 8080);
}

Test(ip, rejects_malformed_brackets)
{
	assert_rejected("[2001:db8::1");
	assert_rejected("2001:db8::1]");
	assert_rejected("[2001:db8::1]443");
	assert_rejected("[2001:db8::1]:");
	assert_rejected("[1.2.3.4]:443");
	assert_rejected("[]");
	assert_rejected("[[::1]]");
}

Test(ip, accepts_a_zone_id_and_drops_it)
{
	struct af_ip ip = parse_ok("fe80::1%eth0");

	cr_assert_eq(ip.family, AF_IP_V6);
	assert_bytes(&ip, "fe80::1");
	ip = parse_ok("[fe80::1%25en0]:22");
	assert_bytes(&ip, "fe80::1");
	cr_assert_eq(ip.port, 22);
	assert_rejected("fe80::1%");
	assert_rejected("fe80::1%eth 0");
}

Test(ip, ignores_surrounding_blanks)
{
	struct af_ip ip = parse_ok("  1.2.3.4:80\t\r\n");

	cr_assert_eq(ip.port, 80);
	assert_bytes(&ip, "::ffff:1.2.3.4");
	ip = parse_ok(" [::1] ");
	assert_bytes(&ip, "::1");
}

Test(ip, rejects_placeholders_and_garbage_as_no_address)
{
	static const char *const bad[] = {"",
	                                  "   ",
	                                  "-",
	                                  "unknown",
	                                  "localhost",
	                                  "1.2.3.4 5",
	                                  "1.2.3.4:80:90",
	                                  ":::",
	                                  "1:::2",
	                                  "1::2::3",
	                                  ":1::2",
	                                  "1::2:",
	                                  "12345::1",
	                                  "1:2:3:4:5:6:7:8:9",
	                                  "1:2:3:4:5:6:7:8::",
	                                  "::1:2:3:4:5:6:7:8",
	                                  "1:2:3:4:5:6:7",
	                                  "g::1",
	                                  "1:2:3:4:5:6:7:1.2.3.4",
	                                  "::1.2.3",
	                                  "::1.2.3.4:5",
	                                  "::ffff:01.2.3.4",
	                                  "::a.2.3.4"};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_rejected(bad[i]);
}

Test(ip, reads_only_the_given_length_of_a_longer_buffer)
{
	const char buf[] = "10.1.2.3:4433";
	struct af_ip ip;

	cr_assert(af_ip_parse(buf, 8, &ip));
	cr_assert_eq(ip.port, 0);
	cr_assert(af_ip_parse(buf, 11, &ip));
	cr_assert_eq(ip.port, 44);
}

static void assert_formats(const char *in, const char *want)
{
	struct af_ip ip = parse_ok(in);
	char buf[AF_IP_TEXT_MAX];
	size_t n = af_ip_format(&ip, buf, sizeof buf);

	cr_assert_str_eq(buf, want, "formatting %s", in);
	cr_assert_eq(n, strlen(want));
}

Test(ip, formats_ipv4_dotted_without_the_port)
{
	assert_formats("198.51.100.7:443", "198.51.100.7");
	assert_formats("::ffff:0.0.0.0", "0.0.0.0");
}

Test(ip, formats_ipv6_per_rfc_5952)
{
	assert_formats("2001:0DB8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1");
	/* The longest zero run is compressed; the first one on a tie. */
	assert_formats("2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::");
	assert_formats("2001:0:0:1:0:0:1:1", "2001::1:0:0:1:1");
	/* A single zero group is not compressed. */
	assert_formats("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1");
	assert_formats("::", "::");
	assert_formats("::1", "::1");
	assert_formats("1::", "1::");
	assert_formats("[fe80::1%eth0]:443", "fe80::1");
	assert_formats("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	               "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

Test(ip, formats_no_address_as_empty_text)
{
	struct af_ip ip = {{0}, AF_IP_NONE, 0};
	char buf[AF_IP_TEXT_MAX] = "x";

	cr_assert_eq(af_ip_format(&ip, buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "");
}

/* xorshift64*: a fixed-seed generator, so a failure can be replayed. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545F4914F6CDD1DULL;
}

static size_t count_colons(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == ':';
	return n;
}

/* For the forms inet_pton knows (no port, zone or brackets: no colon is
 * IPv4, two or more is IPv6), both must accept the same texts and agree on
 * the bytes. Returns whether s was accepted. */
static bool cross_check(const char *s)
{
	size_t colons = count_colons(s);
	struct af_ip ip;
	uint8_t ref[16];
	bool ours = af_ip_parse(s, strlen(s), &ip);
	bool theirs;

	cr_assert_neq(colons, 1);
	if (colons == 0) {
		theirs = inet_pton(AF_INET, s, ref) == 1;
		cr_assert_eq(ours, theirs, "\"%s\": ours %d, inet_pton %d", s, ours, theirs);
		if (ours)
			cr_assert_arr_eq(ip.bytes + 12, ref, 4, "\"%s\"", s);
	} else {
		theirs = inet_pton(AF_INET6, s, ref) == 1;
		cr_assert_eq(ours, theirs, "\"%s\": ours %d, inet_pton %d", s, ours, theirs);
		if (ours)
			cr_assert_arr_eq(ip.bytes, ref, 16, "\"%s\"", s);
	}
	return ours;
}

static void random_text(uint64_t *rng, const char *alphabet, size_t max_len, char *s)
{
	size_t len = (size_t)(next_random(rng) % (max_len + 1));
	size_t n = strlen(alphabet);

	for (size_t j = 0; j < len; j++)
		s[j] = alphabet[next_random(rng) % n];
	s[len] = '\0';
}

Test(ip, agrees_with_inet_pton_on_random_ipv4_text)
{
	uint64_t rng = 0x1f2e3d4c5b6a7988ULL;
	size_t accepted = 0;

	for (int i = 0; i < 400000; i++) {
		char s[64];
		size_t parts = 3 + (size_t)(next_random(&rng) % 3);

		/* Dotted runs of 0..4 digits: near misses as well as addresses. */
		s[0] = '\0';
		for (size_t j = 0; j < parts; j++) {
			char part[8];

			random_text(&rng, "00122559", 4, part);
			if (j > 0)
				strcat(s, ".");
			strcat(s, part);
		}
		accepted += cross_check(s);
	}
	cr_assert_gt(accepted, 1000, "the generator should hit valid addresses");
}

Test(ip, agrees_with_inet_pton_on_random_ipv6_text)
{
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	size_t accepted = 0;

	for (int i = 0; i < 400000; i++) {
		char s[32];

		random_text(&rng, "0123456789abcdefABCDEF::::....", 24, s);
		if (count_colons(s) >= 2)
			accepted += cross_check(s);
	}
	cr_assert_gt(accepted, 1000, "the generator should hit valid addresses");
}

/* Random addresses, rich in zero groups, written in random valid ways:
 * parsing gives the bytes, formatting gives what inet_ntop gives (except
 * for ::/96, which glibc prints with a dotted tail and RFC 5952 does not
 * ask for), and the text parses back to the same value. */
Test(ip, agrees_with_inet_ntop_on_random_addresses)
{
	uint64_t rng = 7;

	for (int i = 0; i < 200000; i++) {
		uint8_t b[16];
		char in[64], ref[INET6_ADDRSTRLEN], buf[AF_IP_TEXT_MAX];
		struct af_ip ip, back;
		uint64_t r = next_random(&rng);

		for (int w = 0; w < 8; w++) {
			uint16_t v = (next_random(&rng) % 2) ? 0 : (uint16_t)next_random(&rng);

			b[2 * w] = (uint8_t)(v >> 8);
			b[2 * w + 1] = (uint8_t)v;
		}
		if (r % 5 == 0) {
			memset(b, 0, 10);
			b[10] = b[11] = 0xff;
		}
		/* Write it out: upper or lower case, leading zeros or not. */
		char *p = in;
		for (int w = 0; w < 8; w++) {
			unsigned v = (unsigned)b[2 * w] << 8 | b[2 * w + 1];

			p += sprintf(p, (r >> 8) & 1 ? "%s%04X" : "%s%x", w ? ":" : "", v);
		}
		cr_assert_eq(af_ip_parse(in, strlen(in), &ip), true, "%s", in);
		cr_assert_arr_eq(ip.bytes, b, 16, "%s", in);

		/* The compressed text inet_ntop writes parses to the same bytes. */
		inet_ntop(AF_INET6, b, ref, sizeof ref);
		cr_assert(af_ip_parse(ref, strlen(ref), &back), "%s", ref);
		cr_assert_arr_eq(back.bytes, b, 16, "%s", ref);

		af_ip_format(&ip, buf, sizeof buf);
		if (ip.family == AF_IP_V4) {
			char v4[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, b + 12, v4, sizeof v4);
			cr_assert_str_eq(buf, v4);
		} else {
			static const uint8_t zero12[12];

			cr_assert_eq(ip.family, AF_IP_V6);
			if (memcmp(b, zero12, 12) != 0)
				cr_assert_str_eq(buf, ref, "%s", in);
		}
		cr_assert(af_ip_parse(buf, strlen(buf), &back), "%s", buf);
		cr_assert_arr_eq(back.bytes, b, 16, "%s", buf);
		cr_assert_eq(back.family, ip.family);
	}
}

/* s read as it is (as plain IPv4, when it is that) and after a blank (the
 * general path) must give the same answer and the same struct, byte for
 * byte. */
static void assert_paths_agree(const char *s, size_t len)
{
	struct af_test_spellings sp;
	struct af_ip fast, general;

	memset(&fast, 0xa5, sizeof fast);
	memset(&general, 0x5a, sizeof general);
	af_test_spell(s, len, &sp);
	bool a = af_ip_parse(sp.exact, len, &fast);
	bool b = af_ip_parse(sp.padded, sp.padded_len, &general);
	af_test_unspell(&sp);
	cr_assert_eq(a, b, "\"%.*s\": fast path %d, general %d", (int)len, s, a, b);
	cr_assert(memcmp(&fast, &general, sizeof fast) == 0, "\"%.*s\"", (int)len, s);
}

Test(ip, reads_every_octet_spelling_alike_on_the_fast_and_the_general_path)
{
	static const char *const others[] = {"0", "7", "42", "255"};
	uint64_t rng = 0x5eed5eed5eed5eedULL;
	size_t accepted = 0;

	/* 0..999 plainly, and 00..09 and 000..099 with leading zeros, in each
	 * place, cut at every length and followed by a port. */
	for (int o = 0; o < 1110; o++) {
		char octet[16];

		if (o < 1000)
			snprintf(octet, sizeof octet, "%d", o);
		else if (o < 1010)
			snprintf(octet, sizeof octet, "%02d", o - 1000);
		else
			snprintf(octet, sizeof octet, "%03d", o - 1010);
		for (int place = 0; place < 4; place++) {
			char s[32];
			size_t len = 0;

			for (int i = 0; i < 4; i++)
				len += (size_t)sprintf(s + len, "%s%s", i ? "." : "",
				                       i == place ? octet
				                                  : others[next_random(&rng) % 4]);
			for (size_t cut = 0; cut <= len; cut++)
				assert_paths_agree(s, cut);
			struct af_ip ip;
			accepted += af_ip_parse(s, len, &ip);
			sprintf(s + len, ":%d", o * 61);
			assert_paths_agree(s, strlen(s));
		}
	}
	cr_assert_eq(accepted, 256 * 4, "each octet 0..255 in each place, no other: %zu", accepted);
}

Test(ip, leaves_every_other_form_to_the_general_path_with_the_same_answer)
{
	static const char *const bases[] = {"1.2.3.4",         "192.168.100.200", "10.0.0.1",
	                                    "255.255.255.255", "0.0.0.0",         "1.2.3.4:443",
	                                    "::ffff:1.2.3.4",  "2001:db8::1",     "[::1]:80"};
	static const char strays[] = {'0',  '1',        '9',        '.',     ':',    ' ', '\t',
	                              'a',  'F',        '[',        ']',     '%',    '-', '/',
	                              '\0', (char)0x80, (char)0xff, '0' - 1, '9' + 1};

	for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++)
		af_test_each_near_miss(bases[b], strays, sizeof strays, assert_paths_agree);
}

Test(ip, reads_random_dotted_text_alike_on_both_paths)
{
	uint64_t rng = 0x0123456789abcdefULL;

	for (int i = 0; i < 300000; i++) {
		char s[24];

		random_text(&rng, "0123456789012345678901234567890....:", 17, s);
		assert_paths_agree(s, strlen(s));
	}
}
