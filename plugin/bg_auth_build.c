/* bg_auth_build: the findings of a diagnosis, made from its facts.
 *
 * Each fact becomes one finding (a bullet) and, where something is to be
 * done, advice under it. Which advice depends on how mail leaves: a
 * record that names an address (ip4:, PTR) is advised only for the
 * public address receivers saw; through a smarthost whose address is not
 * known the advice says what to ask its operator instead. The findings
 * hold values only (addresses, names, record texts, and catalogue keys
 * for the words around them); bg_auth_words makes the sentences.
 */
#include "bg_auth_int.h"

#include <stdio.h>
#include <string.h>

#define BG_AUTH_FID_KEY(id, key) key,
static const char *const bg_auth_fid_keys[] = {BG_AUTH_FINDING_LIST(BG_AUTH_FID_KEY)};
#undef BG_AUTH_FID_KEY

const char *bg_auth_fid_key(bg_auth_fid id)
{
    return (unsigned)id < BG_AF_COUNT ? bg_auth_fid_keys[id] : "";
}

const bg_auth_item *bg_auth_find(const bg_auth_findings *f, bg_auth_fid id)
{
    for (size_t i = 0; f && i < f->nitems; i++)
        if (f->items[i].id == id)
            return &f->items[i];
    return NULL;
}

const char *bg_auth_item_value(const bg_auth_findings *f, const bg_auth_item *it,
                               const char *name)
{
    for (unsigned i = 0; it && i < it->nvar; i++)
        if (strcmp(it->var[i].name, name) == 0)
            return f->pool + it->var[i].off;
    return NULL;
}

/* --- adding findings --------------------------------------------------- */

typedef struct bg_ab {
    bg_auth_findings *f;
    const bg_auth_input *in;
    int smarthost; /* mail leaves through a smarthost */
    int full;      /* an item or a value did not fit */
} bg_ab;

static bg_auth_item *bg_ab_add(bg_ab *b, bg_auth_fid id, int level)
{
    if (b->f->nitems >= BG_AUTH_ITEMS_MAX) {
        b->full = 1;
        return NULL;
    }
    bg_auth_item *it = &b->f->items[b->f->nitems++];
    memset(it, 0, sizeof *it);
    it->id = id;
    it->level = (unsigned char)level;
    return it;
}

/* Give it the value (or, word = 1, the catalogue key) of a placeholder;
 * an empty value is left out, so lines naming it are not used. */
static void bg_ab_set(bg_ab *b, bg_auth_item *it, const char *name, const char *value, int word)
{
    if (!it || !value || !*value)
        return;
    bg_auth_findings *f = b->f;
    size_t n = strlen(value) + 1;
    if (it->nvar >= BG_AUTH_ITEM_VARS || f->pool_used + n > sizeof f->pool) {
        b->full = 1;
        return;
    }
    memcpy(f->pool + f->pool_used, value, n);
    bg_auth_var *v = &it->var[it->nvar++];
    v->name = name;
    v->off = (unsigned short)f->pool_used;
    v->word = (unsigned char)word;
    f->pool_used += n;
}

static void bg_ab_val(bg_ab *b, bg_auth_item *it, const char *name, const char *value)
{
    bg_ab_set(b, it, name, value, 0);
}

/* A word value: the key prefix followed by an id ("addr_" "loopback"). */
static void bg_ab_word(bg_ab *b, bg_auth_item *it, const char *name, const char *prefix,
                       const char *id)
{
    char key[64];
    snprintf(key, sizeof key, "%s%s", prefix, id);
    bg_ab_set(b, it, name, key, 1);
}

static void bg_ab_num(bg_ab *b, bg_auth_item *it, const char *name, long v)
{
    char t[24];
    snprintf(t, sizeof t, "%ld", v);
    bg_ab_val(b, it, name, t);
}

static const char *const bg_ab_ip_sources[] = {"", "src_store", "src_config", "src_reply",
                                               "src_given"};

/* {ip} and {ip_source} of the address receivers saw. */
static void bg_ab_ip(bg_ab *b, bg_auth_item *it)
{
    bg_ab_val(b, it, "ip", b->f->ip);
    if ((unsigned)b->f->ip_source < 5)
        bg_ab_set(b, it, "ip_source", bg_ab_ip_sources[b->f->ip_source], 1);
}

/* {topo_source} (and {configtype}) of the topology. */
static void bg_ab_topo_source(bg_ab *b, bg_auth_item *it)
{
    const bg_auth_topo *t = &b->f->topo;
    if (t->source == BG_TOPO_SRC_CONFIG)
        bg_ab_set(b, it, "topo_source", "topo_config", 1);
    else if (t->source == BG_TOPO_SRC_GIVEN)
        bg_ab_set(b, it, "topo_source", "topo_given", 1);
    else if (t->source == BG_TOPO_SRC_DEBIAN) {
        bg_ab_set(b, it, "topo_source", "topo_debian", 1);
        bg_ab_val(b, it, "configtype", t->configtype);
    }
}

/* The mechanism that authorises the public address ("ip4:192.0.2.10"). */
static void bg_ab_mech(bg_ab *b, bg_auth_item *it, const char *ip)
{
    char mech[80];
    if (!ip[0])
        return;
    snprintf(mech, sizeof mech, "%s:%s", strchr(ip, ':') ? "ip6" : "ip4", ip);
    bg_ab_val(b, it, "mech", mech);
}

/* --- how mail leaves --------------------------------------------------- */

static void bg_ab_path(bg_ab *b)
{
    bg_auth_findings *f = b->f;
    bg_auth_item *it;
    if (b->smarthost) {
        it = bg_ab_add(b, f->ip[0] ? BG_AF_PATH_SMARTHOST : BG_AF_PATH_SMARTHOST_UNKNOWN, 0);
        bg_ab_val(b, it, "smarthost", f->topo.smarthost);
        bg_ab_topo_source(b, it);
        if (f->ip[0]) {
            bg_ab_ip(b, it);
        } else {
            bg_ab_val(b, it, "local_ip", f->local_ip);
            bg_ab_add(b, BG_AF_FIX_SENDING_IP_SMARTHOST, 1);
        }
        return;
    }
    if (f->local_ip[0]) { /* a private or loopback end: NAT or a relay in between */
        it = bg_ab_add(b, f->ip[0] ? BG_AF_PATH_HIDDEN_KNOWN : BG_AF_PATH_HIDDEN, 0);
        bg_ab_val(b, it, "local_ip", f->local_ip);
        bg_ab_word(b, it, "addr_class", "addr_", bg_auth_addr_class_id(f->local_class));
        if (f->ip[0])
            bg_ab_ip(b, it);
        else
            bg_ab_add(b, BG_AF_FIX_SENDING_IP, 1);
        return;
    }
    if (f->ip[0]) {
        /* "directly" only when said so, or when this host's own public end
         * is what receivers saw */
        int direct = f->topo.kind == BG_TOPO_DIRECT || f->ip_source == BG_AUTH_IP_STORE;
        it = bg_ab_add(b, direct ? BG_AF_PATH_DIRECT : BG_AF_PATH_ADDRESS, 0);
        bg_ab_ip(b, it);
        return;
    }
    bg_ab_add(b, BG_AF_PATH_UNKNOWN, 0);
    bg_ab_add(b, BG_AF_FIX_SENDING_IP, 1);
}

/* --- names that no receiver can look up ---------------------------------- */

/* Do receivers see this host's HELO name? Not through a smarthost, nor
 * through whatever took the mail on loopback. */
static int bg_ab_talks(const bg_ab *b)
{
    const bg_auth_findings *f = b->f;
    return !b->smarthost && !(f->local_ip[0] && f->local_class == BG_ADDR_LOOPBACK);
}

static void bg_ab_names(bg_ab *b)
{
    bg_auth_findings *f = b->f;
    bg_auth_item *it;
    if (f->envelope_domain[0] && !bg_auth_name_public(f->env_class)) {
        it = bg_ab_add(b, BG_AF_DOMAIN_NOT_PUBLIC, 0);
        bg_ab_val(b, it, "domain", f->envelope_domain);
        bg_ab_word(b, it, "name_class", "name_", bg_auth_name_class_id(f->env_class));
        bg_ab_add(b, BG_AF_DOMAIN_NOT_PUBLIC_FIX, 1);
    }
    if (f->from_domain[0] && !bg_auth_name_public(f->from_class) &&
        strcmp(f->from_domain, f->envelope_domain) != 0) {
        it = bg_ab_add(b, BG_AF_FROM_NOT_PUBLIC, 0);
        bg_ab_val(b, it, "from_domain", f->from_domain);
        bg_ab_word(b, it, "name_class", "name_", bg_auth_name_class_id(f->from_class));
        bg_ab_add(b, BG_AF_FROM_NOT_PUBLIC_FIX, 1);
    }
    if (bg_ab_talks(b) && f->helo[0] && !bg_auth_name_public(f->helo_class)) {
        it = bg_ab_add(b, BG_AF_HELO_NOT_PUBLIC, 0);
        bg_ab_val(b, it, "helo", f->helo);
        bg_ab_word(b, it, "name_class", "name_", bg_auth_name_class_id(f->helo_class));
        it = bg_ab_add(b, BG_AF_HELO_NOT_PUBLIC_FIX, 1);
        bg_ab_val(b, it, "ip", f->ip);
    }
}

/* --- SPF ----------------------------------------------------------------- */

/* {why} of an SPF result: our reason as a word, else libspf2's message. */
static void bg_ab_spf_why(bg_ab *b, bg_auth_item *it, const bg_spf_result *r)
{
    if (r->why != BG_SPF_WHY_NONE) {
        bg_ab_word(b, it, "why", "spf_why_", bg_spf_why_id(r->why));
        bg_ab_num(b, it, "count", r->nrecords);
    } else {
        bg_ab_val(b, it, "why", r->detail);
    }
}

/* The finding line of an SPF result: domain, result, record, deciding term. */
static void bg_ab_spf_line(bg_ab *b, bg_auth_fid id, const bg_spf_result *r)
{
    bg_auth_item *it = bg_ab_add(b, id, 0);
    bg_ab_val(b, it, "domain", r->domain);
    bg_ab_val(b, it, "spf_result", bg_spf_code_name(r->result));
    bg_ab_val(b, it, "record", r->record);
    if (r->mechanism[0])
        bg_ab_val(b, it, "mechanism", r->mechanism);
    else if (r->evaluated && r->record[0] && r->result != BG_SPF_TEMPERROR)
        bg_ab_set(b, it, "mechanism", "spf_default", 1);
}

/* Advice for an SPF result judged for the public address. */
static void bg_ab_spf_advice(bg_ab *b, const bg_spf_result *r)
{
    bg_auth_item *it;
    switch (r->result) {
    case BG_SPF_PASS:
        it = bg_ab_add(b, BG_AF_SPF_PASS, 1);
        bg_ab_val(b, it, "domain", r->domain);
        bg_ab_val(b, it, "ip", r->ip);
        break;
    case BG_SPF_FAIL:
    case BG_SPF_SOFTFAIL:
    case BG_SPF_NEUTRAL:
        it = bg_ab_add(b, b->smarthost ? BG_AF_SPF_FIX_SMARTHOST : BG_AF_SPF_FIX_DIRECT, 1);
        bg_ab_val(b, it, "domain", r->domain);
        bg_ab_val(b, it, "record", r->record);
        bg_ab_val(b, it, "ip", r->ip);
        bg_ab_mech(b, it, r->ip);
        if (r->result != BG_SPF_FAIL) {
            it = bg_ab_add(b, BG_AF_SPF_SOFT_NOTE, 1);
            bg_ab_val(b, it, "spf_result", bg_spf_code_name(r->result));
        }
        break;
    case BG_SPF_NONE:
        it = bg_ab_add(b, b->smarthost ? BG_AF_SPF_NONE_FIX_SMARTHOST : BG_AF_SPF_NONE_FIX, 1);
        bg_ab_spf_why(b, it, r);
        bg_ab_val(b, it, "domain", r->domain);
        bg_ab_mech(b, it, r->ip);
        break;
    case BG_SPF_PERMERROR:
        it = bg_ab_add(b, BG_AF_SPF_PERMERROR_FIX, 1);
        bg_ab_spf_why(b, it, r);
        bg_ab_val(b, it, "domain", r->domain);
        bg_ab_val(b, it, "mechanism", r->mechanism);
        break;
    case BG_SPF_TEMPERROR:
        it = bg_ab_add(b, BG_AF_SPF_TEMPERROR, 1);
        bg_ab_spf_why(b, it, r);
        bg_ab_val(b, it, "domain", r->domain);
        break;
    }
}

/* The envelope domain's record when the sending address is not known. */
static void bg_ab_spf_unjudged(bg_ab *b, const bg_spf_result *r)
{
    bg_auth_findings *f = b->f;
    bg_auth_item *it;
    if (r->result == BG_SPF_NONE && r->record[0]) {
        it = bg_ab_add(b, BG_AF_SPF_ENV_RECORD, 0);
        bg_ab_val(b, it, "domain", r->domain);
        bg_ab_val(b, it, "record", r->record);
        if (b->smarthost) {
            it = bg_ab_add(b, BG_AF_SPF_FIX_UNKNOWN_IP, 1);
            bg_ab_val(b, it, "domain", r->domain);
            bg_ab_val(b, it, "record", r->record);
        }
        if (f->hint_checked) {
            it = bg_ab_add(b, BG_AF_SPF_HINT, 1);
            bg_ab_val(b, it, "smarthost", f->topo.smarthost);
            bg_ab_val(b, it, "hint_ip", f->hint_ip);
            bg_ab_val(b, it, "domain", r->domain);
            bg_ab_val(b, it, "spf_result", bg_spf_code_name(f->spf_hint.result));
        }
        return;
    }
    bg_ab_spf_line(b, BG_AF_SPF_ENV, r);
    if (r->result == BG_SPF_NONE) {
        it = bg_ab_add(b, b->smarthost ? BG_AF_SPF_NONE_FIX_SMARTHOST : BG_AF_SPF_NONE_FIX_UNKNOWN_IP,
                       1);
        bg_ab_spf_why(b, it, r);
        bg_ab_val(b, it, "domain", r->domain);
    } else {
        bg_ab_spf_advice(b, r); /* permerror (several records) or temperror */
    }
}

static void bg_ab_spf(bg_ab *b)
{
    bg_auth_findings *f = b->f;
    if (f->env_checked) {
        if (f->ip[0]) { /* judged for the address (or no record: none for any) */
            bg_ab_spf_line(b, BG_AF_SPF_ENV, &f->spf_env);
            bg_ab_spf_advice(b, &f->spf_env);
        } else {
            bg_ab_spf_unjudged(b, &f->spf_env);
        }
    } else if (f->envelope_domain[0] && bg_auth_name_public(f->env_class)) {
        bg_auth_item *it = bg_ab_add(b, BG_AF_SPF_NOT_LOOKED_UP, 0);
        bg_ab_val(b, it, "domain", f->envelope_domain);
    }
    if (f->helo_checked) {
        bg_ab_spf_line(b, BG_AF_SPF_HELO, &f->spf_helo);
        bg_ab_spf_advice(b, &f->spf_helo);
    }
}

/* --- DMARC --------------------------------------------------------------- */

static void bg_ab_dmarc_record(bg_ab *b, bg_auth_item *it)
{
    const bg_dmarc_record *r = &b->f->dmarc;
    char tag[2] = {0, 0};
    bg_ab_val(b, it, "from_domain", r->from_domain);
    bg_ab_val(b, it, "record_domain", r->record_domain);
    bg_ab_val(b, it, "p", r->p);
    bg_ab_val(b, it, "sp", r->sp);
    tag[0] = r->adkim;
    bg_ab_val(b, it, "adkim", tag);
    tag[0] = r->aspf;
    bg_ab_val(b, it, "aspf", tag);
    bg_ab_num(b, it, "pct", r->pct);
    bg_ab_val(b, it, "record", r->record);
}

/* SPF and DKIM alignment under the record, one line each. */
static void bg_ab_dmarc_alignment(bg_ab *b)
{
    bg_auth_findings *f = b->f;
    const bg_dmarc_record *r = &f->dmarc;
    const bg_dmarc_eval *e = &f->eval;
    bg_auth_item *it;
    char tag[2] = {0, 0};
    if (f->envelope_domain[0]) {
        bg_auth_fid id = !e->spf_aligned            ? BG_AF_DMARC_SPF_UNALIGNED
                         : !f->spf_env.evaluated ? BG_AF_DMARC_SPF_ALIGNED_UNKNOWN
                         : e->spf_pass           ? BG_AF_DMARC_SPF_ALIGNED
                                                 : BG_AF_DMARC_SPF_ALIGNED_NOPASS;
        it = bg_ab_add(b, id, 1);
        bg_ab_val(b, it, "domain", f->envelope_domain);
        bg_ab_val(b, it, "from_domain", r->from_domain);
        tag[0] = r->aspf;
        bg_ab_val(b, it, "aspf", tag);
        bg_ab_set(b, it, "align_rule", r->aspf == 's' ? "align_strict" : "align_relaxed", 1);
    }
    /* with the signing side checked, the DKIM section says whether there
     * is a signature; here only its alignment */
    if (b->in->check_dkim && (f->sig_visible ? !f->dkim_domain[0] : !f->dkim_assumed[0]))
        return;
    bg_auth_fid id;
    if (f->sig_visible)
        id = !f->dkim_domain[0] ? BG_AF_DMARC_DKIM_NONE
             : e->dkim_aligned  ? BG_AF_DMARC_DKIM_ALIGNED
                                : BG_AF_DMARC_DKIM_UNALIGNED;
    else
        id = !f->dkim_assumed[0] ? BG_AF_DMARC_DKIM_UNKNOWN
             : e->dkim_aligned   ? BG_AF_DMARC_DKIM_ASSUMED_ALIGNED
                                 : BG_AF_DMARC_DKIM_ASSUMED_UNALIGNED;
    it = bg_ab_add(b, id, 1);
    bg_ab_val(b, it, "dkim_domain", f->sig_visible ? f->dkim_domain : f->dkim_assumed);
    bg_ab_val(b, it, "dkim_selector", f->dkim_selector);
    bg_ab_val(b, it, "from_domain", r->from_domain);
    tag[0] = r->adkim;
    bg_ab_val(b, it, "adkim", tag);
}

/* What the record means for this message, and the fix when it fails. */
static void bg_ab_dmarc_verdict(bg_ab *b)
{
    bg_auth_findings *f = b->f;
    const bg_dmarc_record *r = &f->dmarc;
    const bg_dmarc_eval *e = &f->eval;
    bg_auth_item *it;
    char tag[2] = {r->aspf, 0};
    if (e->dmarc_pass) {
        /* what a receiver that still reports a failure saw differently
         * depends on what made it pass: SPF (the path), DKIM (the
         * signature) or both */
        int on_spf = e->spf_pass && e->spf_aligned, on_dkim = e->dkim_aligned;
        it = bg_ab_add(b, on_spf && on_dkim ? BG_AF_DMARC_PASS_BOTH
                          : on_spf          ? BG_AF_DMARC_PASS_SPF
                                            : BG_AF_DMARC_PASS_DKIM, 1);
        bg_ab_val(b, it, "domain", f->envelope_domain);
        bg_ab_val(b, it, "from_domain", r->from_domain);
        if (!on_dkim)
            return;
        bg_ab_set(b, it, "pass_how", f->sig_visible ? "pass_dkim" : "pass_dkim_assumed", 1);
        bg_ab_val(b, it, "dkim_selector", f->sig_visible ? f->dkim_selector
                                                         : f->topo.dkim_selector);
        bg_ab_val(b, it, "dkim_domain", f->sig_visible ? f->dkim_domain : f->dkim_assumed);
        return;
    }
    if (e->spf_aligned && !f->spf_env.evaluated) {
        it = bg_ab_add(b, BG_AF_DMARC_UNDECIDED, 1);
        bg_ab_val(b, it, "domain", f->envelope_domain);
        bg_ab_val(b, it, "from_domain", r->from_domain);
        return;
    }
    int sub = strcmp(r->record_domain, r->from_domain) != 0;
    /* without the signature in sight, failing SPF is not failing DMARC */
    it = bg_ab_add(b, !f->sig_visible && !f->dkim_assumed[0] ? BG_AF_DMARC_UNDECIDED_DKIM
                      : sub                                ? BG_AF_DMARC_FAILS_SUB
                                                           : BG_AF_DMARC_FAILS, 1);
    bg_ab_val(b, it, "from_domain", r->from_domain);
    bg_ab_val(b, it, "record_domain", r->record_domain);
    bg_ab_val(b, it, "policy", e->policy);
    if (!e->spf_aligned && f->envelope_domain[0]) {
        it = bg_ab_add(b, BG_AF_DMARC_FIX_UNALIGNED, 1);
        bg_ab_val(b, it, "domain", f->envelope_domain);
        bg_ab_val(b, it, "aspf", tag);
    } else if (f->envelope_domain[0] && !e->spf_pass) {
        it = bg_ab_add(b, BG_AF_DMARC_FIX_SPF, 1);
        bg_ab_val(b, it, "domain", f->envelope_domain);
    } else {
        it = bg_ab_add(b, BG_AF_DMARC_FIX_DKIM, 1);
    }
    bg_ab_val(b, it, "from_domain", r->from_domain);
}

static void bg_ab_dmarc(bg_ab *b)
{
    bg_auth_findings *f = b->f;
    const bg_dmarc_record *r = &f->dmarc;
    bg_auth_item *it;
    if (!f->dmarc_checked) {
        if (f->from_domain[0] && bg_auth_name_public(f->from_class)) {
            it = bg_ab_add(b, BG_AF_DMARC_NOT_LOOKED_UP, 0);
            bg_ab_val(b, it, "from_domain", f->from_domain);
        }
        return;
    }
    switch (r->status) {
    case BG_DMARC_MISSING:
        it = bg_ab_add(b, BG_AF_DMARC_MISSING, 0);
        bg_ab_val(b, it, "from_domain", r->from_domain);
        it = bg_ab_add(b, BG_AF_DMARC_MISSING_FIX, 1);
        bg_ab_val(b, it, "from_domain", r->from_domain);
        return;
    case BG_DMARC_INVALID:
        it = bg_ab_add(b, BG_AF_DMARC_INVALID, 0);
        bg_ab_dmarc_record(b, it);
        if (r->why == BG_DMARC_WHY_PARSE)
            bg_ab_val(b, it, "why", r->error);
        else
            bg_ab_word(b, it, "why", "dmarc_why_", bg_dmarc_why_id(r->why));
        bg_ab_add(b, BG_AF_DMARC_INVALID_FIX, 1);
        return;
    case BG_DMARC_TEMPFAIL:
        it = bg_ab_add(b, BG_AF_DMARC_TEMPFAIL, 0);
        bg_ab_val(b, it, "from_domain", r->from_domain);
        bg_ab_val(b, it, "record_domain", r->record_domain[0] ? r->record_domain : r->from_domain);
        bg_ab_word(b, it, "why", "dmarc_why_", bg_dmarc_why_id(r->why));
        bg_ab_val(b, it, "detail", r->error);
        return;
    case BG_DMARC_FOUND:
        break;
    }
    it = bg_ab_add(b, BG_AF_DMARC_FOUND, 0);
    bg_ab_dmarc_record(b, it);
    bg_ab_dmarc_alignment(b);
    bg_ab_dmarc_verdict(b);
}

/* --- DKIM: the signing side ---------------------------------------------- */

/* One key record and what to do about it. */
static void bg_ab_key(bg_ab *b, int i)
{
    bg_auth_findings *f = b->f;
    const bg_dkim_key *k = &f->keys[i];
    bg_auth_item *it;
    if (f->key_skipped[i]) {
        it = bg_ab_add(b, BG_AF_DKIM_KEY_NOT_LOOKED_UP, 0);
        bg_ab_val(b, it, "dkim_domain", f->key_domain[i]);
        return;
    }
    static const struct {
        bg_dkim_status st;
        bg_auth_fid finding, fix;
    } rows[] = {
        {BG_DKIM_KEY_MISSING, BG_AF_DKIM_KEY_MISSING, BG_AF_DKIM_KEY_MISSING_FIX},
        {BG_DKIM_KEY_BROKEN, BG_AF_DKIM_KEY_BROKEN, BG_AF_DKIM_KEY_BROKEN_FIX},
        {BG_DKIM_KEY_REVOKED, BG_AF_DKIM_KEY_REVOKED, BG_AF_DKIM_KEY_REVOKED_FIX},
        {BG_DKIM_KEY_TEMPFAIL, BG_AF_DKIM_KEY_TEMPFAIL, BG_AF_COUNT},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        if (rows[r].st != k->status)
            continue;
        it = bg_ab_add(b, rows[r].finding, 0);
        bg_ab_val(b, it, "key_name", k->name);
        bg_ab_val(b, it, "record", k->record);
        if (k->why != BG_DKIM_WHY_NONE)
            bg_ab_word(b, it, "why", "dkim_why_", bg_dkim_why_id(k->why));
        bg_ab_val(b, it, "key_type", k->ktype);
        if (rows[r].fix != BG_AF_COUNT) {
            it = bg_ab_add(b, rows[r].fix, 1);
            bg_ab_val(b, it, "key_name", k->name);
            bg_ab_val(b, it, "dkim_selector", f->key_selector[i]);
        }
        return;
    }
    int rsa = strcmp(k->ktype, "rsa") == 0;
    bg_auth_fid id = !rsa             ? BG_AF_DKIM_KEY_ED25519
                     : k->bits < 1024 ? BG_AF_DKIM_KEY_SHORT
                     : k->bits < 2048 ? BG_AF_DKIM_KEY_WEAK
                                      : BG_AF_DKIM_KEY_OK;
    it = bg_ab_add(b, id, 0);
    bg_ab_val(b, it, "key_name", k->name);
    bg_ab_val(b, it, "key_type", k->ktype);
    bg_ab_num(b, it, "key_bits", k->bits);
    if (id == BG_AF_DKIM_KEY_SHORT)
        bg_ab_add(b, BG_AF_DKIM_KEY_SHORT_FIX, 1);
    static const bg_auth_fid notes[] = {BG_AF_DKIM_KEY_TESTING, BG_AF_DKIM_KEY_SHA1,
                                        BG_AF_DKIM_KEY_BARE};
    const int on[] = {k->testing, k->sha1_only, k->bare_rsa};
    for (int n = 0; n < 3; n++)
        if (on[n])
            bg_ab_val(b, bg_ab_add(b, notes[n], 1), "key_name", k->name);
}

static void bg_ab_dkim(bg_ab *b)
{
    bg_auth_findings *f = b->f;
    const bg_auth_topo *t = &f->topo;
    bg_auth_item *it;
    if (!b->in->check_dkim)
        return;
    int signed_ = f->dkim_domain[0] != '\0';
    it = bg_ab_add(b, signed_          ? BG_AF_DKIM_SIGNED
                      : f->sig_visible ? BG_AF_DKIM_UNSIGNED
                                       : BG_AF_DKIM_NOT_VISIBLE, 0);
    bg_ab_val(b, it, "dkim_domain", f->dkim_domain);
    bg_ab_val(b, it, "dkim_selector", f->dkim_selector);
    const char *sd = t->dkim_domain_from ? f->from_domain : t->dkim_domain;
    int configured = t->dkim_source != BG_TOPO_SRC_NONE && t->dkim_selector[0] && sd[0];
    if (configured) {
        it = bg_ab_add(b, BG_AF_DKIM_CONFIGURED, 1);
        bg_ab_val(b, it, "sign_domain", sd);
        bg_ab_val(b, it, "sign_selector", t->dkim_selector);
        bg_ab_set(b, it, "sign_source",
                  t->dkim_source == BG_TOPO_SRC_CONFIG ? "sign_config" : "sign_debian", 1);
        if (signed_ && (strcmp(sd, f->dkim_domain) != 0 ||
                        strcmp(t->dkim_selector, f->dkim_selector) != 0)) {
            it = bg_ab_add(b, BG_AF_DKIM_DIFFERS, 1);
            bg_ab_val(b, it, "dkim_domain", f->dkim_domain);
            bg_ab_val(b, it, "dkim_selector", f->dkim_selector);
            bg_ab_val(b, it, "sign_domain", sd);
            bg_ab_val(b, it, "sign_selector", t->dkim_selector);
        }
        /* Debian's remote_smtp_smarthost transport has no DKIM_* lines */
        if (b->smarthost && t->dkim_source == BG_TOPO_SRC_DEBIAN && t->source == BG_TOPO_SRC_DEBIAN)
            bg_ab_add(b, BG_AF_DKIM_DEBIAN_SMARTHOST, 1);
        else if (!signed_ && f->sig_visible)
            bg_ab_add(b, BG_AF_DKIM_UNSIGNED_CONFIGURED_FIX, 1);
    } else if (!f->sig_visible) {
        bg_ab_add(b, BG_AF_DKIM_NOT_VISIBLE_FIX, 1);
    } else if (!signed_) {
        it = bg_ab_add(b, b->smarthost ? BG_AF_DKIM_UNSIGNED_FIX_SMARTHOST : BG_AF_DKIM_UNSIGNED_FIX,
                       1);
        bg_ab_val(b, it, "from_domain", f->from_domain);
    }
    for (int i = 0; i < f->nkeys; i++)
        bg_ab_key(b, i);
}

/* --- reverse DNS --------------------------------------------------------- */

static void bg_ab_ptr(bg_ab *b)
{
    bg_auth_findings *f = b->f;
    const bg_auth_ptr *p = &f->ptr;
    bg_auth_item *it;
    const char *rr = strchr(f->ip, ':') ? "AAAA" : "A";
    if (!p->checked)
        return;
    if (!p->found) {
        it = bg_ab_add(b, p->tempfail ? BG_AF_PTR_TEMPFAIL : BG_AF_PTR_NONE, 0);
        bg_ab_val(b, it, "ip", f->ip);
        if (p->tempfail)
            return;
        it = bg_ab_add(b, b->smarthost ? BG_AF_PTR_NONE_FIX_SMARTHOST : BG_AF_PTR_NONE_FIX, 1);
        bg_ab_val(b, it, "ip", f->ip);
        bg_ab_val(b, it, "rr_type", rr);
        if (bg_auth_name_public(f->helo_class))
            bg_ab_val(b, it, "helo", f->helo);
        return;
    }
    bg_name_class pc = bg_auth_class_name(p->name);
    if (!bg_auth_name_public(pc)) {
        it = bg_ab_add(b, BG_AF_PTR_NOT_PUBLIC, 0);
        bg_ab_val(b, it, "ip", f->ip);
        bg_ab_val(b, it, "ptr_name", p->name);
        bg_ab_word(b, it, "name_class", "name_", bg_auth_name_class_id(pc));
        it = bg_ab_add(b, BG_AF_PTR_NOT_PUBLIC_FIX, 1);
        bg_ab_val(b, it, "ip", f->ip);
        return;
    }
    if (p->confirmed) {
        it = bg_ab_add(b, BG_AF_PTR_CONFIRMED, 0);
        bg_ab_val(b, it, "ip", f->ip);
        bg_ab_val(b, it, "ptr_name", p->name);
        if (bg_ab_talks(b) && f->helo[0] && bg_auth_name_public(f->helo_class) &&
            strcmp(f->helo, p->name) != 0) {
            it = bg_ab_add(b, BG_AF_PTR_HELO_DIFFERS, 1);
            bg_ab_val(b, it, "helo", f->helo);
            bg_ab_val(b, it, "ptr_name", p->name);
        }
        return;
    }
    it = bg_ab_add(b, BG_AF_PTR_UNCONFIRMED, 0);
    bg_ab_val(b, it, "ip", f->ip);
    bg_ab_val(b, it, "ptr_name", p->name);
    it = bg_ab_add(b, b->smarthost ? BG_AF_PTR_UNCONFIRMED_FIX_SMARTHOST : BG_AF_PTR_UNCONFIRMED_FIX,
                   1);
    bg_ab_val(b, it, "ip", f->ip);
    bg_ab_val(b, it, "ptr_name", p->name);
    bg_ab_val(b, it, "rr_type", rr);
}

int bg_auth_build(bg_auth_findings *f, const bg_auth_input *in)
{
    bg_ab b = {.f = f, .in = in, .smarthost = f->topo.kind == BG_TOPO_SMARTHOST};
    f->nitems = 0;
    f->pool_used = 0;
    bg_ab_num(&b, bg_ab_add(&b, BG_AF_INTRO, 0), "ms", f->elapsed_ms);
    bg_ab_path(&b);
    bg_ab_names(&b);
    bg_ab_spf(&b);
    bg_ab_dmarc(&b);
    bg_ab_dkim(&b);
    bg_ab_ptr(&b);
    return b.full ? -1 : 0;
}
