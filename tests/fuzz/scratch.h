/* scratch.h - a scratch directory for a libFuzzer target's files, and the
 * CHECK its promises are held to.
 *
 * Thread: the fuzzer's (LLVMFuzzerInitialize). In: the target's name. Out:
 * a fresh directory in /dev/shm (memory, so the target's many small writes
 * cost no disk) or in /tmp when /dev/shm is missing or read-only.
 */
#ifndef AF_FUZZ_SCRATCH_H
#define AF_FUZZ_SCRATCH_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

/* The target's name and cleanup, as af_fuzz_scratch was given them, for
 * CHECK; and, for a target that runs each input several ways, which way
 * is running (printed with a failed check; NULL: none). */
static const char *af_fuzz_name = "fuzz";
static void (*af_fuzz_cleanup)(void);
static const char *af_fuzz_stage;

/* A promise of the code under test is broken: say which, clean up, and
 * abort (libFuzzer keeps the input). */
static inline void af_fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s: %s:%d: %s%scheck failed: %s\n", af_fuzz_name, file, line,
	        af_fuzz_stage ? af_fuzz_stage : "", af_fuzz_stage ? " run: " : "", what);
	if (af_fuzz_cleanup != NULL)
		af_fuzz_cleanup();
	abort();
}

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			af_fuzz_fail(__FILE__, __LINE__, #cond);                                   \
	} while (0)

/* Make "<base>/<name>.XXXXXX" into dir (size bytes), and have cleanup
 * (which removes what the target put there) run at exit, when a
 * sanitizer ends the process, and when a CHECK fails. False on failure. */
static inline bool af_fuzz_scratch(char *dir, size_t size, const char *name, void (*cleanup)(void))
{
	af_fuzz_name = name;
	af_fuzz_cleanup = cleanup;
	struct stat st;
	const char *base =
	    stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
	        ? "/dev/shm"
	        : "/tmp";

	snprintf(dir, size, "%s/%s.XXXXXX", base, name);
	if (mkdtemp(dir) == NULL)
		return false;
	atexit(cleanup);
	__sanitizer_set_death_callback(cleanup);
	return true;
}

#endif
