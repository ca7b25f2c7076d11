/* scratch.h - a scratch directory for a libFuzzer target's files.
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

/* Make "<base>/<name>.XXXXXX" into dir (size bytes), and have cleanup
 * (which removes what the target put there) run at exit and when a
 * sanitizer ends the process. False on failure. */
static inline bool af_fuzz_scratch(char *dir, size_t size, const char *name, void (*cleanup)(void))
{
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
