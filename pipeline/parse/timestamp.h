/* timestamp.h - event times as the audit exports write them.
 *
 * Accepted forms (all normalised to nanoseconds since the Unix epoch, UTC):
 *   2025-08-25T05:58:00           no zone: UTC
 *   2025-08-25T05:58:00Z          Z
 *   2025-08-25T05:58:00+07:00     offset (also +0700 and +07)
 *   2025-08-25 05:58:00.1234567   a space instead of T; 0 to 9 fraction digits
 *   /Date(1724565480000)/         .NET JSON date (ms), optionally /Date(ms+0000)/
 *   8/25/2025 5:58:00 AM          Purview CSV's US form (12 hour, AM/PM;
 *                                 also 24 hour without AM/PM; M, D, h may
 *                                 have 1 or 2 digits)
 * Surrounding blanks are allowed. Times from 1970-01-01T00:00:00Z up to the
 * int64 ns limit, 2262-04-11T23:47:16.854775807Z, after applying the offset.
 * Second 60 (a leap second) is read as 59.999999999 of the same minute. The
 * .NET offset (+0000) is ignored: the ms are UTC already. Anything else, or an
 * impossible date (Feb 30, hour 25, 10 fraction digits), is rejected.
 */
#ifndef AF_TIMESTAMP_H
#define AF_TIMESTAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse s[0..len) into *ns. Returns false for anything not a valid time.
 * @pre s readable for len bytes; need not be NUL-terminated.
 * Cost: tens of ns; no allocation, no locale, no timegm. */
bool af_ts_parse(const char *s, size_t len, int64_t *ns);

/* Longest text af_ts_format writes, with its NUL. */
#define AF_TS_TEXT_MAX 32

/* Write ns as RFC 3339 UTC with the fraction trimmed to what is non-zero in
 * groups of 3 digits ("2025-08-25T05:58:00Z", "...00.120Z"), NUL-terminated.
 * Returns the length written, without the NUL. Any int64 is accepted
 * (negative: before 1970).
 * @pre size >= AF_TS_TEXT_MAX. */
size_t af_ts_format(int64_t ns, char *buf, size_t size);

#endif
