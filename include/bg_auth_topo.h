/* bg_auth_topo: how mail leaves this host, and what it signs with.
 *
 * On a host that sends directly (Debian's dc_eximconfig_configtype
 * 'internet') receivers see the address Exim sends from; on a satellite
 * or smarthost host ('satellite', 'smarthost': Debian's
 * remote_smtp_smarthost transport) they see the smarthost's address,
 * which this host cannot see, and the HELO name and PTR that matter are
 * the smarthost's. This module finds out which, from bounceguide.conf
 * (diagnose_topology, diagnose_smarthost) or else from Debian's
 * update-exim4.conf.conf (dc_eximconfig_configtype, dc_smarthost), and
 * what DKIM domain and selector the transport signs with, from
 * bounceguide.conf (diagnose_dkim_domain, diagnose_dkim_selector) or else
 * from Debian's DKIM_DOMAIN / DKIM_SELECTOR macros when they are plain
 * values (exim4.conf.localmacros, conf.d/main/000_localmacros). It reads
 * only local files and does no DNS.
 */
#ifndef BG_AUTH_TOPO_H
#define BG_AUTH_TOPO_H

#include "bg_config.h"

#define BG_AUTH_EXIM_DIR "/etc/exim4"

typedef enum {
    BG_TOPO_UNKNOWN = 0, /* not said anywhere: judged by the sending address */
    BG_TOPO_DIRECT,      /* this host talks to the receivers */
    BG_TOPO_SMARTHOST    /* mail leaves through a smarthost */
} bg_topo_kind;

typedef enum {
    BG_TOPO_SRC_NONE = 0,
    BG_TOPO_SRC_CONFIG,  /* bounceguide.conf */
    BG_TOPO_SRC_DEBIAN,  /* Debian's update-exim4.conf.conf or macros */
    BG_TOPO_SRC_GIVEN    /* the command line of `bounceguide diagnose` */
} bg_topo_source;

typedef struct bg_auth_topo {
    bg_topo_kind kind;
    bg_topo_source source;
    char configtype[32];       /* Debian's dc_eximconfig_configtype, "" when not read */
    char smarthost[256];       /* the first smarthost (name or address, no port), "" */
    char dkim_domain[256];     /* what the transport signs with, "" when not known */
    int dkim_domain_from;      /* 1: the From: domain (DKIM_DOMAIN from $h_from:) */
    char dkim_selector[128];   /* "" when not known */
    bg_topo_source dkim_source;
} bg_auth_topo;

/* Fill out for mail from sender_domain ("" = defaults): config keys
 * diagnose_topology (auto, direct, smarthost), diagnose_smarthost,
 * diagnose_dkim_domain, diagnose_dkim_selector, and the Debian files in
 * diagnose_exim_dir (default BG_AUTH_EXIM_DIR) for what they leave open.
 * cfg may be NULL (Debian files only). */
void bg_auth_topo_load(const bg_config *cfg, const char *sender_domain, bg_auth_topo *out);

/* The Debian part alone, from the text of update-exim4.conf.conf. */
void bg_auth_topo_parse_debconf(const char *text, bg_auth_topo *out);

/* The DKIM macros alone, from the text of a macro file (later wins). */
void bg_auth_topo_parse_macros(const char *text, bg_auth_topo *out);

const char *bg_auth_topo_kind_name(bg_topo_kind k);

#endif
