/* bg_engine_int: the engine handle, shared by bg_engine.c (loading,
 * classification) and bg_engine_run.c (one message). Not a public header. */
#ifndef BG_ENGINE_INT_H
#define BG_ENGINE_INT_H

#include <sys/types.h>
#include <time.h>

#include "bg_engine.h"

#define BG_ENGINE_WARN_KEEP 3 /* config warnings logged by name; the rest counted */

struct bg_engine {
    char *config_path;  /* NULL: no file */
    int missing_ok;
    char *rules_path;   /* NULL: the config's rules_file */
    char *catalog_path; /* NULL: the config's guidance_file */
    int timing;
    long long load_ns;

    /* the file the config was read from */
    int loaded;
    int stat_errno;     /* errno of stat() when it was not there */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    unsigned generation;

    /* one load */
    bg_config *cfg;     /* NULL when broken */
    char why[400];      /* when broken */
    char warn[BG_ENGINE_WARN_KEEP][240];
    int nwarn;
    int warned;
    bg_rules *rules;    /* on first use */
    bg_lang *langs;     /* on first use */
    int langs_tried;
    char langs_why[300];
};

#endif
