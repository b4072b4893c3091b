/* One YAML scalar as a cJSON value: plain scalars resolved by YAML 1.2's core schema, quoted and
 * block scalars as strings, and the tags !!str, !!int, !!float, !!bool, !!null converting (an
 * impossible conversion is an error). Independent of libyaml, so the rules are tested everywhere.
 * Ownership: the returned item and *lit (malloc'd) are the caller's. */
#ifndef BT_YAML_SCALAR_H
#define BT_YAML_SCALAR_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* The tags as libyaml writes !!int and friends. */
#define BT_YAML_TAG(name) "tag:yaml.org,2002:" name

/* s (n bytes and a NUL, as libyaml gives it) with tag (NULL or "!" for none; a full tag otherwise);
 * plain: written without quotes (only an untagged plain scalar is resolved by the schema). For
 * numbers *lit is how JSON would write the value, so integer-ness and the exact integer survive
 * (0x1F -> "31", !!float 3 -> "3.0", .inf -> ".inf"), else NULL. NULL on an impossible
 * conversion or an unknown tag, with the reason in err; also NULL (err "") when out of memory. */
cJSON *bt_yaml_scalar(const char *s, size_t n, int plain, const char *tag, char **lit, char *err,
                      size_t n_err);

/* "!!int" for "tag:yaml.org,2002:int", else the tag itself. */
const char *bt_yaml_tag_name(const char *tag, char *buf, size_t n);

#endif
