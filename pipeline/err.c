/* err.c - text for af_err_t. */
#include "pipeline/err.h"

const char *af_err_str(af_err_t err)
{
	switch (err) {
	case AF_OK: return "success";
	case AF_EOF: return "end of input";
	case AF_E_NOMEM: return "out of memory";
	case AF_E_IO: return "input/output error";
	case AF_E_CONFIG: return "configuration error";
	case AF_E_INVALID: return "invalid argument";
	case AF_E_RECORD: return "unusable record";
	case AF_E_INTERNAL: return "internal error";
	case AF_E_AGAIN: return "full for now, try again";
	case AF_E_FORMAT: return "damaged or incompatible file";
	}
	return "unknown error";
}
