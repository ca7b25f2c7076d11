/* loopback.h - a loopback TCP port nobody listens on, for the sink tests
 * that aim an output at a peer that is not there (yet). Shared by
 * tests/sinks/test_kafka.c and tests/sinks/test_deliver.c. Header-only,
 * like sinks_test.h.
 *
 * Thread: the test's (asserts with Criterion).
 * Out: a port number, free when asked for: the kernel chose it for a
 * socket that is closed again, so nothing answers there until a test
 * binds it itself.
 */
#ifndef AF_TESTS_SINKS_LOOPBACK_H
#define AF_TESTS_SINKS_LOOPBACK_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

static inline uint16_t af_test_closed_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

#endif
