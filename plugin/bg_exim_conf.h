/* bg_exim_conf: the engine (bg_engine) as every Exim entry point sees it
 * (local_scan, the transport event, the RCPT/router check): one per
 * process, so that a missing or broken file means the same thing
 * everywhere:
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
 * The engine re-reads the file when it changes (one stat per call).
 * Only the adapter (plugin/bg_exim*.c) includes this.
 */
#ifndef BG_EXIM_CONF_H
#define BG_EXIM_CONF_H

#include "bg_classify.h"
#include "bg_config.h"
#include "bg_engine.h"

#ifndef BG_CONFIG_PATH
#define BG_CONFIG_PATH "/etc/exim4/bounceguide.conf"
#endif
#define BG_CONFIG_ENV "BOUNCEGUIDE_CONFIG"

/* The engine of this process, refreshed (its config re-read when the file
 * changed). NULL only when memory runs out. */
bg_engine *bg_exim_engine(void);

/* Count the engine's loading time (BOUNCEGUIDE_TIMING); before the first
 * bg_exim_engine call. */
void bg_exim_conf_timing(int on);

/* The config of this process, refreshed: NULL when broken (*why, when
 * given, gets one line saying why). */
const bg_config *bg_exim_conf_get(const char **why);

/* The engine as the last call left it, without a stat (for a second look
 * in the same call: its rules, bg_engine_classify_text). */
bg_engine *bg_exim_conf_current(void);

/* For the event and check entry points: when the config is broken, log
 * one line per process and broken state saying that suppression is inert,
 * and return NULL; else the config. */
const bg_config *bg_exim_conf_for_store(void);

#endif
