/* bg_exim_conf: the plugin config as every Exim entry point sees it
 * (local_scan, the transport event, the RCPT/router check). One loader, so
 * that a missing or broken file means the same thing everywhere:
 *
 *   - the file at the default path (BG_CONFIG_PATH) does not exist: the
 *     built-in defaults (the key table, bg_config_keys_table);
 *   - the file cannot be read, does not parse, has a value of the wrong
 *     type, or $BOUNCEGUIDE_CONFIG names a file that does not exist: the
 *     config is broken, and every entry point is inert -- bounces pass
 *     unchanged, nothing is recorded, no recipient is refused -- with one
 *     log line (per bounce in local_scan, per process elsewhere). Nothing
 *     is then suppressed that the last valid config would not suppress.
 *
 * Cached per process, re-read when the file changes (one stat per call).
 * Only the adapter (plugin/bg_exim*.c) includes this.
 */
#ifndef BG_EXIM_CONF_H
#define BG_EXIM_CONF_H

#include "bg_classify.h"
#include "bg_config.h"

#ifndef BG_CONFIG_PATH
#define BG_CONFIG_PATH "/etc/exim4/bounceguide.conf"
#endif
#define BG_CONFIG_ENV "BOUNCEGUIDE_CONFIG"

/* The config of this process: NULL when broken (*why, when given, gets
 * one line saying why). *reloaded (when given) is 1 when this call read the
 * file (again). */
const bg_config *bg_exim_conf_get(const char **why, int *reloaded);

/* The classification rules for the current config (rules_file; loaded on
 * first use after each reload). NULL when broken or out of memory. */
const bg_rules *bg_exim_conf_rules(void);

/* Log the config's warnings (unknown keys, global keys in a [domain]
 * section), once per load. local_scan calls it. */
void bg_exim_conf_warn(void);

/* For the event and check entry points: when the config is broken, log
 * one line per process and broken state saying that suppression is inert,
 * and return NULL; else the config. */
const bg_config *bg_exim_conf_for_store(void);

#endif
