/* bg_exim_conf: one per-process config loader for every Exim entry point
 * (see bg_exim_conf.h for what a missing or broken file means). */
#define LOCAL_SCAN
#include <exim4/local_scan.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bg_exim_conf.h"
#include "bg_log.h"

static struct {
    char path[1024];
    int loaded;      /* a load was attempted for (path, stat) */
    int stat_errno;  /* errno of stat() when the file was not there */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    bg_config *cfg;  /* NULL when broken */
    bg_rules *rules;
    char why[400];   /* when broken */
    char warn[3][240]; /* the first warnings of this load, for bg_exim_conf_warn */
    int nwarn;
    int warned;      /* warnings of this load logged */
    int inert_said;  /* the "suppression inert" line of this load logged */
} bg_xc;

/* Collect the check's findings: the first error becomes why; warnings are
 * kept for bg_exim_conf_warn. */
static void bg_exim_conf_issue(bg_config_severity sev, unsigned line, const char *msg, void *ctx)
{
    const char *path = ctx;
    if (sev == BG_CFG_ERROR) {
        if (!bg_xc.why[0])
            snprintf(bg_xc.why, sizeof bg_xc.why, "config broken: %.200s:%u: %s", path, line, msg);
        return;
    }
    if (bg_xc.nwarn < 3)
        snprintf(bg_xc.warn[bg_xc.nwarn], sizeof bg_xc.warn[0], "%.80s:%u: %s", path, line, msg);
    if (bg_xc.nwarn < 1000)
        bg_xc.nwarn++;
}

/* (Re)load for path; st NULL when stat failed with stat_errno. */
static void bg_exim_conf_reload(const char *path, const struct stat *st, int stat_errno,
                                int missing_ok)
{
    bg_config_free(bg_xc.cfg);
    bg_rules_free(bg_xc.rules);
    bg_xc.cfg = NULL;
    bg_xc.rules = NULL;
    bg_xc.why[0] = '\0';
    bg_xc.nwarn = 0;
    bg_xc.warned = 0;
    bg_xc.inert_said = 0;
    snprintf(bg_xc.path, sizeof bg_xc.path, "%s", path);
    bg_xc.loaded = 1;
    bg_xc.stat_errno = stat_errno;
    bg_xc.ino = st ? st->st_ino : 0;
    bg_xc.dev = st ? st->st_dev : 0;
    bg_xc.size = st ? st->st_size : 0;
    if (st)
        bg_xc.mtime = st->st_mtim;

    char err[300] = "";
    if (!st && missing_ok) {
        bg_xc.cfg = bg_config_new();
    } else if (!st) {
        snprintf(bg_xc.why, sizeof bg_xc.why, "config %s: %s", path, strerror(stat_errno));
    } else if ((bg_xc.cfg = bg_config_load(path, err, sizeof err)) == NULL) {
        snprintf(bg_xc.why, sizeof bg_xc.why, "config broken: %s", err);
    } else if (bg_config_keys_check(bg_xc.cfg, bg_exim_conf_issue, (void *)path) > 0) {
        bg_config_free(bg_xc.cfg); /* a wrong value: broken, why says which */
        bg_xc.cfg = NULL;
    }
    if (!bg_xc.cfg && !bg_xc.why[0])
        snprintf(bg_xc.why, sizeof bg_xc.why, "config %s: out of memory", path);
}

const bg_config *bg_exim_conf_get(const char **why, int *reloaded)
{
    const char *env = getenv(BG_CONFIG_ENV);
    const char *path = env && *env ? env : BG_CONFIG_PATH;
    struct stat st;
    int exists = stat(path, &st) == 0;
    int stat_errno = exists ? 0 : errno;
    if (reloaded)
        *reloaded = 0;
    if (!(bg_xc.loaded && strcmp(bg_xc.path, path) == 0 &&
          ((!exists && bg_xc.ino == 0 && bg_xc.stat_errno == stat_errno) ||
           (exists && st.st_ino == bg_xc.ino && st.st_dev == bg_xc.dev && st.st_size == bg_xc.size &&
            st.st_mtim.tv_sec == bg_xc.mtime.tv_sec && st.st_mtim.tv_nsec == bg_xc.mtime.tv_nsec)))) {
        /* a missing file means the defaults only at the default path: a
         * path named in the environment must exist */
        bg_exim_conf_reload(path, exists ? &st : NULL, stat_errno,
                            stat_errno == ENOENT && !(env && *env));
        if (reloaded)
            *reloaded = 1;
    }
    if (why)
        *why = bg_xc.why;
    return bg_xc.cfg;
}

const bg_rules *bg_exim_conf_rules(void)
{
    if (!bg_xc.cfg)
        return NULL;
    if (!bg_xc.rules)
        bg_xc.rules = bg_rules_load(bg_config_get(bg_xc.cfg, NULL, "rules_file", ""));
    return bg_xc.rules;
}

void bg_exim_conf_warn(void)
{
    if (!bg_xc.cfg || bg_xc.warned || bg_xc.nwarn == 0)
        return;
    bg_xc.warned = 1;
    for (int i = 0; i < bg_xc.nwarn && i < 3; i++)
        bg_logf(BG_LOG_WARN, "config warning: %s", bg_xc.warn[i]);
    if (bg_xc.nwarn > 3)
        bg_logf(BG_LOG_WARN, "config warning: %d more; run 'bounceguide config check %s'",
                bg_xc.nwarn - 3, bg_xc.path);
}

const bg_config *bg_exim_conf_for_store(void)
{
    const char *why;
    const bg_config *cfg = bg_exim_conf_get(&why, NULL);
    if (!cfg && !bg_xc.inert_said) {
        bg_xc.inert_said = 1;
        bg_logf(BG_LOG_WARN,
                "%s; suppression is off in this process (nothing recorded, no recipient refused)",
                why);
    }
    return cfg;
}
