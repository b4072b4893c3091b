/* Reading a sweep file from disk: bt_spec_load reads the file whole and hands its text to the
 * pure parser (bt_spec_parse, sweeps/spec/spec.h), which does no I/O.
 * Ownership: as bt_spec_parse -- on success *out is filled and released with bt_spec_free; the
 * messages added to diags belong to the list. */
#ifndef BT_SWEEP_FILE_H
#define BT_SWEEP_FILE_H

#include "base/status.h"
#include "sweeps/spec/spec.h"

/* Loads and validates path. On BT_STATUS_BAD_INPUT every problem is in diags (which the caller
 * initialized); on BT_STATUS_NO_INPUT the file is missing or unreadable. On success *out is
 * filled and must be released with bt_spec_free. */
bt_status bt_spec_load(const char *path, bt_spec *out, bt_diags *diags);

#endif
