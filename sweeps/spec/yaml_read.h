/* Reading a YAML sweep file (what W&B users have) into the same cJSON tree the JSON path builds,
 * with a bt_jpos position map filled from libyaml's marks, so every later message keeps
 * "FILE:LINE:COL: path: message". Plain scalars follow YAML 1.2's core schema (1e-3, .5, 0x1F,
 * .inf, true, null, ~ are numbers, booleans, null; everything else and every quoted scalar is a
 * string); the tags !!str !!int !!float !!bool !!null convert; merge keys (<<) merge as PyYAML
 * does. Refused with their position: a second document, an alias inside its own anchor, an alias
 * expansion past 1,000,000 values or 64 MiB of text, nesting past 500, duplicate keys, complex
 * keys, other tags. Pure: the text is handed in. Without libyaml at build time every YAML file
 * gets one clear message naming libyaml-dev.
 * Ownership: on success *root (cJSON_Delete) and *pos (bt_jpos_free, borrows text) are the
 * caller's; on failure nothing is left to free. */
#ifndef BT_YAML_READ_H
#define BT_YAML_READ_H

#include <cjson/cJSON.h>

#include "base/status.h"
#include "sweeps/spec/json_locate.h"
#include "sweeps/spec/spec.h"

/* Whether a sweep file is read as YAML: a .yaml or .yml name (any case) always, a .json name
 * never; any other name when its first character (after a byte order mark, spaces and line
 * breaks) is not '{' or '[', which every JSON sweep file starts with. */
int bt_yaml_is_yaml(const char *path, const char *text);

/* Parses text, one YAML document. On BT_STATUS_BAD_INPUT every problem is in diags as
 * "FILE:LINE:COL: [path: ]message" (file names them); BT_STATUS_INTERNAL when out of memory. */
bt_status bt_yaml_read(const char *file, const char *text, cJSON **root, bt_jpos *pos,
                       bt_diags *diags);

/* libyaml's version ("0.2.5"), or NULL when this build reads no YAML. */
const char *bt_yaml_version(void);

#endif
