/* ip.h - an IP address as a value: 16 bytes, IPv4 stored IPv4-mapped.
 *
 * One representation for both families keeps hashing, comparison and the
 * per-IP tables simple: an IPv4 address a.b.c.d is ::ffff:a.b.c.d, exactly as
 * an IPv4-mapped IPv6 address from a log would be, so the two forms of one
 * address are one key.
 */
#ifndef AF_IP_H
#define AF_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum af_ip_family {
	AF_IP_NONE = 0, /* no usable address in the record */
	AF_IP_V4 = 4,
	AF_IP_V6 = 6,
};

struct af_ip {
	uint8_t bytes[16]; /* network order; IPv4 as ::ffff:a.b.c.d */
	uint8_t family;    /* enum af_ip_family */
	uint16_t port;     /* 0 when the record gave none */
};

/* Longest text af_ip_format writes, with its NUL. */
#define AF_IP_TEXT_MAX 48

/* Parse an address as audit logs write it: "1.2.3.4", "1.2.3.4:443",
 * "2001:db8::1", "[2001:db8::1]:443", "[2001:db8::1]", "::ffff:1.2.3.4"
 * (family AF_IP_V4, the same value as "1.2.3.4"), "fe80::1%eth0" (the zone
 * is dropped), surrounding blanks. One colon means IPv4:port. IPv4 octets
 * with a leading zero ("01.2.3.4") are rejected as ambiguous (octal to some
 * tools), as inet_pton does. Returns true and fills ip on success. Empty,
 * "-", "unknown" or garbage text returns false and leaves ip zeroed with
 * ip->family = AF_IP_NONE: "no address" is not an error.
 * @pre s is readable for len bytes; it need not be NUL-terminated.
 * Cost: a few ns; no allocation, no locale, no getaddrinfo. */
bool af_ip_parse(const char *s, size_t len, struct af_ip *ip);

/* Write ip as text (IPv4 dotted, IPv6 RFC 5952 compressed) into buf of
 * size >= AF_IP_TEXT_MAX, without the port. Returns the length written;
 * writes "" for AF_IP_NONE. */
size_t af_ip_format(const struct af_ip *ip, char *buf, size_t size);

/* True if ip is an IPv4 address (or IPv4-mapped). */
static inline bool af_ip_is_v4(const struct af_ip *ip)
{
	return ip->family == AF_IP_V4;
}

#endif
