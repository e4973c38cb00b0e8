/* bg_exim_conf: the process's engine for every Exim entry point (see
 * bg_exim_conf.h). The engine (bg_engine) does the loading and knows what
 * a missing or broken file means; this file only picks the path (the
 * environment, else the compiled-in default, where a missing file means
 * the defaults) and keeps one engine per process. */
#define LOCAL_SCAN
#include <exim4/local_scan.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_exim_conf.h"
#include "bg_log.h"

static struct {
    bg_engine *engine;
    char path[1024];
    int timing;
    unsigned inert_said;  /* generation whose "suppression inert" line was logged, +1 */
} bg_xc;

void bg_exim_conf_timing(int on)
{
    bg_xc.timing = on;
}

bg_engine *bg_exim_engine(void)
{
    const char *env = getenv(BG_CONFIG_ENV);
    const char *path = env && *env ? env : BG_CONFIG_PATH;
    if (bg_xc.engine && strcmp(bg_xc.path, path) != 0) {
        bg_engine_free(bg_xc.engine); /* the environment names another file */
        bg_xc.engine = NULL;
    }
    if (!bg_xc.engine) {
        snprintf(bg_xc.path, sizeof bg_xc.path, "%s", path);
        /* a missing file means the defaults only at the default path: a
         * path named in the environment must exist */
        bg_engine_opts o = {.config_path = path, .missing_ok = !(env && *env),
                            .timing = bg_xc.timing};
        bg_xc.engine = bg_engine_new(&o);
        bg_xc.inert_said = 0;
        return bg_xc.engine; /* just read */
    }
    bg_engine_refresh(bg_xc.engine, NULL);
    return bg_xc.engine;
}

const bg_config *bg_exim_conf_get(const char **why)
{
    bg_engine *e = bg_exim_engine();
    if (why)
        *why = e ? bg_engine_why(e) : "out of memory loading the config";
    return bg_engine_config(e);
}

bg_engine *bg_exim_conf_current(void)
{
    return bg_xc.engine;
}

const bg_config *bg_exim_conf_for_store(void)
{
    const char *why;
    const bg_config *cfg = bg_exim_conf_get(&why);
    unsigned gen = bg_engine_generation(bg_xc.engine) + 1;
    if (!cfg && bg_xc.inert_said != gen) {
        bg_xc.inert_said = gen;
        bg_logf(BG_LOG_WARN,
                "%s; suppression is off in this process (nothing recorded, no recipient refused)",
                why);
    }
    return cfg;
}
