/* test_netlist.c - network and AS number sets, from strings and files, and
 * the built-in internal-address test: range edges, merging, the two
 * families, errors with their line numbers; both fast paths are also checked
 * against naive references on random input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/enrich/netlist.h"

static struct af_ip ip_of(const char *s)
{
	struct af_ip ip;

	cr_assert(af_ip_parse(s, strlen(s), &ip), "test address should parse: %s", s);
	return ip;
}

static struct af_netset *set_of(const char *const *cidrs)
{
	struct af_netset *set = NULL;
	char errstr[256] = "";

	cr_assert_eq(af_netset_from_strings(cidrs, &set, errstr, sizeof errstr), AF_OK, "%s",
	             errstr);
	cr_assert_not_null(set);
	return set;
}

static void assert_in(const struct af_netset *set, const char *addr)
{
	struct af_ip ip = ip_of(addr);

	cr_assert(af_netset_has(set, &ip), "%s should be in the set", addr);
}

static void assert_out(const struct af_netset *set, const char *addr)
{
	struct af_ip ip = ip_of(addr);

	cr_assert_not(af_netset_has(set, &ip), "%s should not be in the set", addr);
}

/* from_strings with one entry that must fail; returns errstr. */
static const char *rejected(const char *entry)
{
	static char errstr[256];
	const char *cidrs[] = {"192.0.2.0/24", entry, NULL};
	struct af_netset *set = (struct af_netset *)1;

	errstr[0] = '\0';
	cr_assert_eq(af_netset_from_strings(cidrs, &set, errstr, sizeof errstr), AF_E_INVALID,
	             "should reject \"%s\"", entry);
	cr_assert_null(set);
	return errstr;
}

/* ---- temporary files ---------------------------------------------------- */

static char tmpdir[64];
static char tmppath[128];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/af_netlist_XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(tmppath, sizeof tmppath, "%s/list.txt", tmpdir);
}

static void remove_tmpdir(void)
{
	unlink(tmppath);
	rmdir(tmpdir);
}

static const char *write_list(const char *text)
{
	FILE *f = fopen(tmppath, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	cr_assert_eq(fclose(f), 0);
	return tmppath;
}

/* ---- networks: membership --------------------------------------------- */

Test(netset, holds_both_edges_of_an_ipv4_network_and_nothing_beyond)
{
	struct af_netset *set = set_of((const char *const[]){"10.1.2.0/24", NULL});

	assert_in(set, "10.1.2.0");
	assert_in(set, "10.1.2.255");
	assert_out(set, "10.1.1.255");
	assert_out(set, "10.1.3.0");
	af_netset_free(set);
}

Test(netset, holds_both_edges_of_an_ipv6_network_and_nothing_beyond)
{
	struct af_netset *set = set_of((const char *const[]){"2001:db8:1::/48", NULL});

	assert_in(set, "2001:db8:1::");
	assert_in(set, "2001:db8:1:ffff:ffff:ffff:ffff:ffff");
	assert_out(set, "2001:db8:0:ffff:ffff:ffff:ffff:ffff");
	assert_out(set, "2001:db8:2::");
	af_netset_free(set);
}

Test(netset, reads_a_bare_address_as_a_single_host)
{
	struct af_netset *set = set_of((const char *const[]){"198.51.100.7", "2001:db8::7", NULL});

	assert_in(set, "198.51.100.7");
	assert_out(set, "198.51.100.6");
	assert_out(set, "198.51.100.8");
	assert_in(set, "2001:db8::7");
	assert_out(set, "2001:db8::6");
	assert_out(set, "2001:db8::8");
	cr_assert_eq(af_netset_count(set), 2);
	af_netset_free(set);
}

Test(netset, masks_host_bits_set_beyond_the_prefix)
{
	struct af_netset *set = set_of((const char *const[]){"10.0.0.1/8", "2001:db8::1/32", NULL});

	assert_in(set, "10.0.0.0");
	assert_in(set, "10.255.255.255");
	assert_out(set, "11.0.0.0");
	assert_in(set, "2001:db8::");
	assert_in(set, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_out(set, "2001:db9::");
	af_netset_free(set);
}

Test(netset, handles_prefixes_at_word_boundaries)
{
	struct af_netset *set =
	    set_of((const char *const[]){"2001:db8:0:1::/64", "2001:db8:0:2::/63",
	                                 "2001:db8::9/127", "2001:db8:0:7::/65", NULL});

	assert_in(set, "2001:db8:0:1:ffff:ffff:ffff:ffff");
	assert_out(set, "2001:db8:0:0:ffff:ffff:ffff:ffff");
	assert_in(set, "2001:db8:0:2::");
	assert_in(set, "2001:db8:0:3:ffff:ffff:ffff:ffff");
	assert_out(set, "2001:db8:0:4::");
	assert_in(set, "2001:db8::8");
	assert_in(set, "2001:db8::9");
	assert_out(set, "2001:db8::a");
	assert_in(set, "2001:db8:0:7:7fff:ffff:ffff:ffff");
	assert_out(set, "2001:db8:0:7:8000::");
	af_netset_free(set);
}

Test(netset, merges_overlapping_networks_into_one_range)
{
	struct af_netset *set =
	    set_of((const char *const[]){"10.1.0.0/16", "10.0.0.0/8", "10.200.3.0/24", NULL});

	cr_assert_eq(af_netset_count(set), 1);
	assert_in(set, "10.0.0.0");
	assert_in(set, "10.1.255.255");
	assert_in(set, "10.255.255.255");
	assert_out(set, "11.0.0.0");
	af_netset_free(set);
}

Test(netset, merges_adjacent_networks_into_one_range)
{
	struct af_netset *set =
	    set_of((const char *const[]){"10.0.1.0/24", "10.0.0.128/25", "10.0.0.0/25", NULL});

	cr_assert_eq(af_netset_count(set), 1);
	assert_in(set, "10.0.0.127");
	assert_in(set, "10.0.0.128");
	assert_in(set, "10.0.0.255");
	assert_in(set, "10.0.1.0");
	assert_in(set, "10.0.1.255");
	assert_out(set, "10.0.2.0");
	af_netset_free(set);
}

Test(netset, keeps_networks_separated_by_a_gap_apart)
{
	struct af_netset *set =
	    set_of((const char *const[]){"10.0.0.0/25", "10.0.0.130/31", "10.0.1.0/24", NULL});

	cr_assert_eq(af_netset_count(set), 3);
	assert_in(set, "10.0.0.127");
	assert_out(set, "10.0.0.128");
	assert_out(set, "10.0.0.129");
	assert_in(set, "10.0.0.130");
	assert_in(set, "10.0.0.131");
	assert_out(set, "10.0.0.132");
	assert_out(set, "10.0.0.255");
	assert_in(set, "10.0.1.0");
	af_netset_free(set);
}

Test(netset, counts_a_repeated_network_once)
{
	struct af_netset *set =
	    set_of((const char *const[]){"203.0.113.0/24", "203.0.113.0/24", "203.0.113.9", NULL});

	cr_assert_eq(af_netset_count(set), 1);
	af_netset_free(set);
}

Test(netset, merges_up_to_the_end_of_the_address_space)
{
	struct af_netset *set =
	    set_of((const char *const[]){"ffff::/16", "::/0", "ff00::/8", NULL});

	cr_assert_eq(af_netset_count(set), 1);
	assert_in(set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_in(set, "::");
	assert_in(set, "1.2.3.4");
	af_netset_free(set);
}

Test(netset, finds_an_ipv4_network_by_the_ipv4_mapped_form_of_an_address)
{
	struct af_netset *set = set_of((const char *const[]){"192.0.2.0/24", NULL});

	assert_in(set, "::ffff:192.0.2.1");
	assert_in(set, "::ffff:c000:2ff");
	af_netset_free(set);
}

Test(netset, reads_an_ipv4_mapped_network_as_the_ipv4_network)
{
	struct af_netset *set = set_of((const char *const[]){"::ffff:10.0.0.0/104", NULL});

	assert_in(set, "10.0.0.0");
	assert_in(set, "10.255.255.255");
	assert_out(set, "11.0.0.0");
	af_netset_free(set);
}

Test(netset, keeps_an_ipv4_network_apart_from_ipv6_addresses_with_the_same_bits)
{
	struct af_netset *set = set_of((const char *const[]){"10.0.0.0/8", NULL});

	assert_out(set, "::a00:1");    /* IPv4-compatible, not mapped */
	assert_out(set, "a00::1");     /* the IPv4 bits on top */
	assert_out(set, "::ffff:0:0"); /* 0.0.0.0, mapped */
	af_netset_free(set);
}

Test(netset, keeps_an_ipv6_network_apart_from_ipv4_addresses)
{
	struct af_netset *set = set_of((const char *const[]){"2001:db8::/32", "::/8", NULL});

	/* ::/8 does hold ::ffff:0:0/96, IPv4 as stored; ::/8 is written for it. */
	assert_in(set, "1.2.3.4");
	af_netset_free(set);
	set = set_of((const char *const[]){"2001:db8::/32", NULL});
	assert_out(set, "32.1.13.184"); /* 0x20010db8 as IPv4 */
	af_netset_free(set);
}

Test(netset, reads_an_ipv4_slash_zero_as_every_ipv4_address_and_no_ipv6_one)
{
	struct af_netset *set = set_of((const char *const[]){"0.0.0.0/0", NULL});

	assert_in(set, "0.0.0.0");
	assert_in(set, "255.255.255.255");
	assert_out(set, "::fffe:ffff:ffff");
	assert_out(set, "::1:0:0:0");
	assert_out(set, "2001:db8::1");
	af_netset_free(set);
}

Test(netset, reads_ipv6_slash_zero_as_every_address)
{
	struct af_netset *set = set_of((const char *const[]){"::/0", NULL});

	assert_in(set, "::");
	assert_in(set, "255.255.255.255");
	assert_in(set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	af_netset_free(set);
}

Test(netset, accepts_blanks_around_an_entry_given_as_a_string)
{
	struct af_netset *set = set_of((const char *const[]){"  192.0.2.0/24\t", NULL});

	assert_in(set, "192.0.2.9");
	af_netset_free(set);
}

Test(netset, holds_nothing_when_built_from_no_entries)
{
	struct af_netset *set = set_of((const char *const[]){NULL});

	cr_assert_eq(af_netset_count(set), 0);
	assert_out(set, "::");
	assert_out(set, "10.0.0.1");
	af_netset_free(set);
}

Test(netset, agrees_with_a_linear_scan_on_random_networks)
{
	enum { NETS = 200, PROBES = 20000 };
	struct {
		uint32_t base, mask;
	} nets[NETS];
	char text[NETS][32];
	const char *cidrs[NETS + 1];
	struct af_netset *set;

	srand(12345);
	for (int i = 0; i < NETS; i++) {
		/* Short prefixes in a small space, so ranges overlap and touch. */
		unsigned bits = 20 + (unsigned)(rand() % 13);
		uint32_t base = 0x0a000000u | ((uint32_t)rand() & 0x003fffffu);

		nets[i].mask = bits == 32 ? UINT32_MAX : ~(UINT32_MAX >> bits);
		nets[i].base = base & nets[i].mask;
		snprintf(text[i], sizeof text[i], "%u.%u.%u.%u/%u", base >> 24, base >> 16 & 255,
		         base >> 8 & 255, base & 255, bits);
		cidrs[i] = text[i];
	}
	cidrs[NETS] = NULL;
	set = set_of(cidrs);
	cr_assert_leq(af_netset_count(set), NETS);
	for (int k = 0; k < PROBES; k++) {
		uint32_t a = 0x0a000000u | ((uint32_t)rand() & 0x003fffffu);
		struct af_ip ip = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, (uint8_t)(a >> 24),
		                    (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a},
		                   AF_IP_V4,
		                   0};
		bool want = false;

		for (int i = 0; i < NETS && !want; i++)
			want = (a & nets[i].mask) == nets[i].base;
		cr_assert_eq(af_netset_has(set, &ip), want, "address %08x", a);
	}
	af_netset_free(set);
}

/* ---- networks: malformed entries -------------------------------------- */

Test(netset, rejects_text_that_is_not_an_address)
{
	cr_assert_str_eq(rejected("10.0.0.256"), "\"10.0.0.256\": not an IP address");
	rejected("example.com");
	rejected("10.0.0");
	rejected("2001:db8:::1");
	rejected("/8");
	rejected("-");
}

Test(netset, rejects_an_ipv4_prefix_longer_than_32_bits)
{
	cr_assert_str_eq(rejected("10.0.0.0/33"),
	                 "\"10.0.0.0/33\": prefix length out of range (0..32 for IPv4)");
}

Test(netset, rejects_an_ipv6_prefix_longer_than_128_bits)
{
	cr_assert_str_eq(rejected("2001:db8::/129"),
	                 "\"2001:db8::/129\": prefix length out of range (0..128 for IPv6)");
}

Test(netset, rejects_a_prefix_that_is_not_a_number)
{
	cr_assert_str_eq(rejected("10.0.0.0/"), "\"10.0.0.0/\": prefix length is not a number");
	rejected("10.0.0.0/x");
	rejected("10.0.0.0/-1");
	rejected("10.0.0.0/+8");
	rejected("10.0.0.0/8/8");
	rejected("10.0.0.0/0008");
}

Test(netset, rejects_the_port_bracket_and_zone_forms_of_log_records)
{
	rejected("10.0.0.1:443");
	rejected("10.0.0.1:0");
	rejected("[2001:db8::1]");
	rejected("[2001:db8::1]:443");
	rejected("fe80::1%eth0");
}

Test(netset, rejects_text_after_the_entry)
{
	cr_assert_str_eq(rejected("10.0.0.0/8 10.1.0.0/16"),
	                 "\"10.0.0.0/8 10.1.0.0/16\": unexpected text after the entry");
	rejected("10.0.0.0 /8");
}

Test(netset, rejects_an_empty_string)
{
	cr_assert_str_eq(rejected(" "), "\" \": empty entry");
}

/* ---- networks: files --------------------------------------------------- */

Test(netset_file, reads_entries_between_comments_blank_lines_and_blanks, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	struct af_netset *set = NULL;
	char errstr[256] = "";
	const char *path = write_list("# corporate egress\n"
	                              "\n"
	                              "   198.51.100.0/25   \n"
	                              "\t2001:db8:1::/48\t# Tokyo office\r\n"
	                              "203.0.113.7# no blank before the comment\n"
	                              "   # indented comment\n"
	                              "192.0.2.0/24"); /* no final newline */

	cr_assert_eq(af_netset_load(path, &set, errstr, sizeof errstr), AF_OK, "%s", errstr);
	cr_assert_eq(af_netset_count(set), 4);
	assert_in(set, "198.51.100.127");
	assert_out(set, "198.51.100.128");
	assert_in(set, "2001:db8:1::5");
	assert_in(set, "203.0.113.7");
	assert_out(set, "203.0.113.8");
	assert_in(set, "192.0.2.255");
	af_netset_free(set);
}

Test(netset_file, loads_an_empty_set_from_a_file_of_comments, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	struct af_netset *set = NULL;
	char errstr[256] = "";
	const char *path = write_list("# nothing yet\n\n   \n");

	cr_assert_eq(af_netset_load(path, &set, errstr, sizeof errstr), AF_OK, "%s", errstr);
	cr_assert_eq(af_netset_count(set), 0);
	af_netset_free(set);
}

static void assert_load_fails(const char *text, const char *want_after_path)
{
	struct af_netset *set = (struct af_netset *)1;
	char errstr[256] = "", want[256];
	const char *path = write_list(text);

	cr_assert_eq(af_netset_load(path, &set, errstr, sizeof errstr), AF_E_CONFIG);
	cr_assert_null(set);
	snprintf(want, sizeof want, "%s%s", path, want_after_path);
	cr_assert_str_eq(errstr, want);
}

Test(netset_file, names_the_file_and_line_of_a_bad_address, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	assert_load_fails("# header\n10.0.0.0/8\n\n10.0.0.300/24\n192.0.2.0/24\n",
	                  ":4: \"10.0.0.300/24\": not an IP address");
}

Test(netset_file, names_the_file_and_line_of_a_prefix_out_of_range, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	assert_load_fails("10.0.0.0/8\n10.0.0.0/40 # too long\n",
	                  ":2: \"10.0.0.0/40\": prefix length out of range (0..32 for IPv4)");
}

Test(netset_file, names_the_file_and_line_of_trailing_garbage, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	assert_load_fails("10.0.0.0/8, 172.16.0.0/12\n",
	                  ":1: \"10.0.0.0/8, 172.16.0.0/12\": unexpected text after the entry");
}

Test(netset_file, reports_a_missing_file_with_the_system_error, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	struct af_netset *set = (struct af_netset *)1;
	char errstr[256] = "", path[160], want[256];

	snprintf(path, sizeof path, "%s/absent.txt", tmpdir);
	cr_assert_eq(af_netset_load(path, &set, errstr, sizeof errstr), AF_E_CONFIG);
	cr_assert_null(set);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	cr_assert_str_eq(errstr, want);
}

Test(netset_file, reports_a_directory_with_the_system_error, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	struct af_netset *set = (struct af_netset *)1;
	char errstr[256] = "", want[256];

	cr_assert_eq(af_netset_load(tmpdir, &set, errstr, sizeof errstr), AF_E_CONFIG);
	cr_assert_null(set);
	snprintf(want, sizeof want, "%s: Is a directory", tmpdir);
	cr_assert_str_eq(errstr, want);
}

/* ---- AS numbers -------------------------------------------------------- */

static struct af_asnset *load_asns(const char *text)
{
	struct af_asnset *set = NULL;
	char errstr[256] = "";
	const char *path = write_list(text);

	cr_assert_eq(af_asnset_load(path, &set, errstr, sizeof errstr), AF_OK, "%s", errstr);
	cr_assert_not_null(set);
	return set;
}

static void assert_asn_load_fails(const char *text, const char *want_after_path)
{
	struct af_asnset *set = (struct af_asnset *)1;
	char errstr[256] = "", want[256];
	const char *path = write_list(text);

	cr_assert_eq(af_asnset_load(path, &set, errstr, sizeof errstr), AF_E_CONFIG);
	cr_assert_null(set);
	snprintf(want, sizeof want, "%s%s", path, want_after_path);
	cr_assert_str_eq(errstr, want);
}

Test(asnset, reads_plain_and_as_prefixed_numbers_in_either_case, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	struct af_asnset *set = load_asns("64500\nAS64511\nas64496\n  aS13335  # mixed case\n");

	cr_assert_eq(af_asnset_count(set), 4);
	cr_assert(af_asnset_has(set, 64500));
	cr_assert(af_asnset_has(set, 64511));
	cr_assert(af_asnset_has(set, 64496));
	cr_assert(af_asnset_has(set, 13335));
	cr_assert_not(af_asnset_has(set, 64501));
	cr_assert_not(af_asnset_has(set, 0));
	cr_assert_not(af_asnset_has(set, UINT32_MAX));
	af_asnset_free(set);
}

Test(asnset, counts_a_number_given_in_several_forms_once, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	struct af_asnset *set = load_asns("64500\nAS64500\nas64500\n# again\n64500\n");

	cr_assert_eq(af_asnset_count(set), 1);
	cr_assert(af_asnset_has(set, 64500));
	af_asnset_free(set);
}

Test(asnset, accepts_the_ends_of_the_32_bit_range, .init = make_tmpdir, .fini = remove_tmpdir)
{
	struct af_asnset *set = load_asns("0\nAS4294967295\n");

	cr_assert(af_asnset_has(set, 0));
	cr_assert(af_asnset_has(set, UINT32_MAX));
	cr_assert_not(af_asnset_has(set, 1));
	af_asnset_free(set);
}

Test(asnset, holds_nothing_when_the_file_has_no_entries, .init = make_tmpdir, .fini = remove_tmpdir)
{
	struct af_asnset *set = load_asns("# none\n\n");

	cr_assert_eq(af_asnset_count(set), 0);
	cr_assert_not(af_asnset_has(set, 64500));
	af_asnset_free(set);
}

Test(asnset, rejects_a_number_beyond_32_bits_with_its_line, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	assert_asn_load_fails("64500\nAS4294967296\n",
	                      ":2: \"AS4294967296\": AS number out of range (0..4294967295)");
	assert_asn_load_fails("123456789012345678901234\n",
	                      ":1: \"123456789012345678901234\": AS number out of range "
	                      "(0..4294967295)");
}

Test(asnset, rejects_text_that_is_not_an_as_number_with_its_line, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	assert_asn_load_fails("64500\n\nAS\n", ":3: \"AS\": not an AS number");
	assert_asn_load_fails("ASN64500\n", ":1: \"ASN64500\": not an AS number");
	assert_asn_load_fails("-1\n", ":1: \"-1\": not an AS number");
	assert_asn_load_fails("64500x\n", ":1: \"64500x\": not an AS number");
}

Test(asnset, rejects_text_after_the_number, .init = make_tmpdir, .fini = remove_tmpdir)
{
	assert_asn_load_fails("AS 64500\n", ":1: \"AS 64500\": unexpected text after the entry");
	assert_asn_load_fails("64500 Example\n",
	                      ":1: \"64500 Example\": unexpected text after the entry");
}

Test(asnset, reports_a_missing_file_with_the_system_error, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	struct af_asnset *set = (struct af_asnset *)1;
	char errstr[256] = "", path[160], want[256];

	snprintf(path, sizeof path, "%s/absent.txt", tmpdir);
	cr_assert_eq(af_asnset_load(path, &set, errstr, sizeof errstr), AF_E_CONFIG);
	cr_assert_null(set);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	cr_assert_str_eq(errstr, want);
}

/* ---- internal addresses ------------------------------------------------ */

static void assert_internal(const char *addr, bool want)
{
	struct af_ip ip = ip_of(addr);

	cr_assert_eq(af_ip_is_internal(&ip), want, "%s should %sbe internal", addr,
	             want ? "" : "not ");
}

/* Each range: its first and last address internal, the neighbours outside
 * not (where a neighbour exists and is not itself internal). */
static void assert_range_internal(const char *before, const char *first, const char *last,
                                  const char *after)
{
	if (before != NULL)
		assert_internal(before, false);
	assert_internal(first, true);
	assert_internal(last, true);
	if (after != NULL)
		assert_internal(after, false);
}

Test(internal, covers_the_rfc_1918_private_ranges_exactly)
{
	assert_range_internal("9.255.255.255", "10.0.0.0", "10.255.255.255", "11.0.0.0");
	assert_range_internal("172.15.255.255", "172.16.0.0", "172.31.255.255", "172.32.0.0");
	assert_range_internal("192.167.255.255", "192.168.0.0", "192.168.255.255", "192.169.0.0");
}

Test(internal, covers_ipv4_loopback_and_this_network)
{
	assert_range_internal(NULL, "0.0.0.0", "0.255.255.255", "1.0.0.0");
	assert_range_internal("126.255.255.255", "127.0.0.0", "127.255.255.255", "128.0.0.0");
}

Test(internal, covers_ipv4_link_local)
{
	assert_range_internal("169.253.255.255", "169.254.0.0", "169.254.255.255", "169.255.0.0");
}

Test(internal, covers_carrier_grade_nat)
{
	assert_range_internal("100.63.255.255", "100.64.0.0", "100.127.255.255", "100.128.0.0");
}

Test(internal, covers_multicast_reserved_and_broadcast)
{
	assert_range_internal("223.255.255.255", "224.0.0.0", "239.255.255.255", NULL);
	assert_range_internal(NULL, "240.0.0.0", "255.255.255.254", NULL);
	assert_internal("255.255.255.255", true);
}

Test(internal, does_not_cover_the_documentation_ranges)
{
	assert_internal("192.0.2.0", false);
	assert_internal("192.0.2.255", false);
	assert_internal("198.51.100.7", false);
	assert_internal("203.0.113.1", false);
	assert_internal("2001:db8::1", false);
	assert_internal("2001:db8:1:ffff::1", false);
}

Test(internal, does_not_cover_ordinary_public_addresses)
{
	assert_internal("8.8.8.8", false);
	assert_internal("1.1.1.1", false);
	assert_internal("2606:4700::1111", false);
	assert_internal("2a00:1450:4001::200e", false);
}

Test(internal, covers_ipv6_unspecified_and_loopback_but_not_their_neighbours)
{
	assert_internal("::", true);
	assert_internal("::1", true);
	assert_internal("::2", false);
	assert_internal("1::", false);
	assert_internal("::100:0", false);
}

Test(internal, covers_ipv6_link_local)
{
	assert_range_internal("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	                      "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fec0::");
}

Test(internal, covers_ipv6_unique_local)
{
	assert_range_internal("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	                      "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe00::");
}

Test(internal, covers_ipv6_multicast)
{
	assert_range_internal(NULL, "ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL);
	assert_internal("ff02::1", true);
	assert_internal("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false);
}

Test(internal, judges_ipv4_mapped_addresses_by_the_ipv4_rules)
{
	assert_internal("::ffff:10.1.2.3", true);
	assert_internal("::ffff:127.0.0.1", true);
	assert_internal("::ffff:198.51.100.7", false);
	assert_internal("::ffff:0.0.0.1", true);   /* 0/8, not the IPv6 rules */
	assert_internal("::ffff:255.0.0.1", true); /* 240/4, not ff00::/8 */
}

Test(internal, treats_an_ipv4_mapped_value_marked_ipv6_as_ipv4)
{
	struct af_ip ip = ip_of("203.0.113.9");

	ip.family = AF_IP_V6;
	cr_assert_not(af_ip_is_internal(&ip));
	ip = ip_of("192.168.1.1");
	ip.family = AF_IP_V6;
	cr_assert(af_ip_is_internal(&ip));
}

Test(internal, treats_no_address_as_internal)
{
	struct af_ip ip;

	cr_assert_not(af_ip_parse("-", 1, &ip));
	cr_assert(af_ip_is_internal(&ip), "the zero value is ::, never looked up");
}

Test(internal, agrees_with_a_set_of_the_internal_networks_on_random_addresses)
{
	static const char *const internal[] = {
	    "0.0.0.0/8",     "10.0.0.0/8",     "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	    "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4",   "240.0.0.0/4", "::/127",
	    "fc00::/7",      "fe80::/10",      "ff00::/8",      NULL};
	struct af_netset *set = set_of(internal);

	srand(54321);
	for (int k = 0; k < 100000; k++) {
		struct af_ip ip = {{0}, AF_IP_V6, 0};

		for (int i = 0; i < 16; i++)
			ip.bytes[i] = (uint8_t)rand();
		switch (k % 4) {
		case 0: /* IPv4, mapped */
			memset(ip.bytes, 0, 10);
			ip.bytes[10] = ip.bytes[11] = 0xff;
			ip.family = AF_IP_V4;
			break;
		case 1: /* IPv6 near the special prefixes */
			ip.bytes[0] = (uint8_t)(0xf8 | (ip.bytes[0] & 7));
			break;
		case 2: /* IPv6 near :: */
			memset(ip.bytes, 0, 15);
			ip.bytes[15] &= 3;
			break;
		default: /* any IPv6 */ break;
		}
		cr_assert_eq(af_ip_is_internal(&ip), af_netset_has(set, &ip), "case %d, byte0 %02x",
		             k % 4, ip.bytes[0]);
	}
	af_netset_free(set);
}
