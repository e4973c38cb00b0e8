/* bg_dsn: delivery-status and feedback-report fields, the returned
 * original message, per-recipient text explanations (see bg_dsn.h).
 *
 * Field groups are header blocks, so the header layer does the unfolding;
 * this file only says what each field means. It does not decide the kind
 * of the message (bg_bounce does).
 */
#include "bg_dsn.h"

#include <string.h>
#include <strings.h>

#include "bg_addr.h"
#include "bg_buf.h"
#include "bg_header.h"
#include "bg_mime.h"

#define BG_DSN_TEXT_RCPTS 64 /* recipients whose explanation is looked up in the text */

/* Which field a name is. Tables as data, sentinel-ended. */
typedef enum {
    BG_DF_NONE = 0,
    BG_DF_REPORTING_MTA,
    BG_DF_RECEIVED_FROM_MTA,
    BG_DF_ARRIVAL_DATE,
    BG_DF_ENVELOPE_ID,
    BG_DF_FINAL_RCPT,
    BG_DF_ORIGINAL_RCPT,
    BG_DF_ACTION,
    BG_DF_STATUS,
    BG_DF_DIAG,
    BG_DF_REMOTE_MTA,
    BG_DF_LAST_ATTEMPT,
    BG_DF_WILL_RETRY
} bg_dsn_field;

static const struct {
    const char *name;
    bg_dsn_field f;
} bg_dsn_fields[] = {
    {"Reporting-MTA", BG_DF_REPORTING_MTA},
    {"Received-From-MTA", BG_DF_RECEIVED_FROM_MTA},
    {"Arrival-Date", BG_DF_ARRIVAL_DATE},
    {"Original-Envelope-Id", BG_DF_ENVELOPE_ID},
    {"Final-Recipient", BG_DF_FINAL_RCPT},
    {"Original-Recipient", BG_DF_ORIGINAL_RCPT},
    {"Action", BG_DF_ACTION},
    {"Status", BG_DF_STATUS},
    {"Diagnostic-Code", BG_DF_DIAG},
    {"Remote-MTA", BG_DF_REMOTE_MTA},
    {"Last-Attempt-Date", BG_DF_LAST_ATTEMPT},
    {"Will-Retry-Until", BG_DF_WILL_RETRY},
    {NULL, BG_DF_NONE},
};

/* Field name to meaning, case-insensitive. */
static bg_dsn_field bg_dsn_lookup(const char *name, size_t len)
{
    for (int i = 0; bg_dsn_fields[i].name; i++)
        if (strlen(bg_dsn_fields[i].name) == len && !strncasecmp(bg_dsn_fields[i].name, name, len))
            return bg_dsn_fields[i].f;
    return BG_DF_NONE;
}

/* "dns; host.example" -> "host.example"; "smtp; 550 ..." -> type + text.
 * A type is a short token before ';'. */
static const char *bg_dsn_split_type(const char *v, char *type, size_t typelen)
{
    const char *semi = strchr(v, ';');
    if (type && typelen)
        type[0] = '\0';
    if (!semi || semi - v > 24 || semi == v)
        return v;
    for (const char *q = v; q < semi; q++) {
        unsigned char c = (unsigned char)*q;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ' '))
            return v;
    }
    if (type && typelen) {
        size_t o = 0;
        for (const char *q = v; q < semi && o + 1 < typelen; q++)
            if (*q != ' ')
                type[o++] = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
        type[o] = '\0';
    }
    semi++;
    while (*semi == ' ')
        semi++;
    return semi;
}

/* Lower-case first token (Action). */
static void bg_dsn_token(const char *v, char *out, size_t outlen)
{
    size_t o = 0;
    for (; *v && *v != ' ' && *v != ';' && *v != '(' && o + 1 < outlen; v++)
        out[o++] = (char)(*v >= 'A' && *v <= 'Z' ? *v + 32 : *v);
    out[o] = '\0';
}

/* Copy a cleaned single-line value (already clean: just bound it). */
static void bg_dsn_set(char *dst, size_t dstlen, const char *v)
{
    bg_text_clean(dst, dstlen, v, strlen(v), 0);
}

/* RFC 6533 utf-8-addr-xtext / unitext: "\\x{HEX}" stands for one Unicode
 * character. Decoded in place (UTF-8 is never longer than the escape). */
static void bg_dsn_unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '\\' && r[1] == 'x' && r[2] == '{') {
            unsigned long cp = 0;
            char *q = r + 3;
            int n = 0;
            while (n < 6 && ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                             (*q >= 'A' && *q <= 'F'))) {
                cp = cp * 16 + (unsigned long)(*q <= '9' ? *q - '0' : (*q | 32) - 'a' + 10);
                q++;
                n++;
            }
            if (*q == '}' && n > 0 && cp >= 0x20 && cp <= 0x10ffff &&
                !(cp >= 0xd800 && cp <= 0xdfff)) {
                if (cp < 0x80)
                    *w++ = (char)cp;
                else if (cp < 0x800) {
                    *w++ = (char)(0xc0 | (cp >> 6));
                    *w++ = (char)(0x80 | (cp & 0x3f));
                } else if (cp < 0x10000) {
                    *w++ = (char)(0xe0 | (cp >> 12));
                    *w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
                    *w++ = (char)(0x80 | (cp & 0x3f));
                } else {
                    *w++ = (char)(0xf0 | (cp >> 18));
                    *w++ = (char)(0x80 | ((cp >> 12) & 0x3f));
                    *w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
                    *w++ = (char)(0x80 | (cp & 0x3f));
                }
                r = q + 1;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = '\0';
}

/* Each group of fields is a header block; a new group starts a new recipient. */
size_t bg_dsn_parse(bg_bounce *b, const char *p, size_t off, size_t end, char eol, int spans)
{
    size_t added = 0, i = off;
    char v[BG_DIAG_MAX * 2];
    while (i < end) {
        size_t next, ce = bg_line_end(p, i, end, eol, &next);
        if (ce == i) {
            i = next;
            continue;
        }
        bg_hdrs h;
        if (bg_hdrs_parse(&h, p, i, end, eol) == 0) {
            bg_hdrs_free(&h);
            i = next; /* a line that is not a field: skip it */
            continue;
        }
        bg_rcpt *cur = NULL; /* a new group starts a new recipient */
        for (size_t k = 0; k < h.n; k++) {
            const bg_hfield *f = &h.f[k];
            bg_dsn_field which = bg_dsn_lookup(p + f->off, f->name_len);
            if (which == BG_DF_NONE)
                continue;
            bg_hdrs_raw(&h, k, v, sizeof v);
            switch (which) {
            case BG_DF_REPORTING_MTA:
                if (!b->reporting_mta[0])
                    bg_dsn_set(b->reporting_mta, sizeof b->reporting_mta,
                               bg_dsn_split_type(v, NULL, 0));
                continue;
            case BG_DF_RECEIVED_FROM_MTA:
                if (!b->received_from_mta[0])
                    bg_dsn_set(b->received_from_mta, sizeof b->received_from_mta,
                               bg_dsn_split_type(v, NULL, 0));
                continue;
            case BG_DF_ARRIVAL_DATE:
                if (!b->arrival_date[0])
                    bg_dsn_set(b->arrival_date, sizeof b->arrival_date, v);
                continue;
            case BG_DF_ENVELOPE_ID:
                if (!b->envelope_id[0])
                    bg_dsn_set(b->envelope_id, sizeof b->envelope_id, v);
                continue;
            default:
                break;
            }
            /* per-recipient fields */
            if (!cur || (which == BG_DF_FINAL_RCPT && cur->recipient[0]) ||
                (which == BG_DF_ORIGINAL_RCPT && cur->original_recipient[0])) {
                cur = bg_bounce_add_rcpt(b);
                if (!cur)
                    break;
                added++;
            }
            switch (which) {
            case BG_DF_FINAL_RCPT: {
                char type[32];
                bg_dsn_split_type(v, type, sizeof type);
                bg_dsn_unescape(v);
                bg_addr_extract(v, strlen(v), cur->recipient, sizeof cur->recipient);
                /* an X.400 address, or Exchange's encapsulation of one
                 * (IMCEAEX-...@domain), is no mailbox to name: the
                 * Original-Recipient (when there is one) is */
                if ((type[0] && strcmp(type, "rfc822") != 0 && strcmp(type, "utf-8") != 0) ||
                    !strncasecmp(cur->recipient, "imcea", 5))
                    cur->final_not_rfc822 = 1;
                break;
            }
            case BG_DF_ORIGINAL_RCPT:
                bg_dsn_unescape(v);
                bg_addr_extract(v, strlen(v), cur->original_recipient,
                                sizeof cur->original_recipient);
                break;
            case BG_DF_ACTION:
                bg_dsn_token(v, cur->action, sizeof cur->action);
                break;
            case BG_DF_STATUS: {
                const char *s = v;
                while (*s == ' ')
                    s++;
                size_t n = 0;
                while (s[n] && s[n] != ' ' && s[n] != '(' && n + 1 < sizeof cur->status)
                    n++;
                memcpy(cur->status, s, n);
                cur->status[n] = '\0';
                /* "Status: 5.4.4 (Illegal host/domain name found)": the
                 * comment explains when no Diagnostic-Code does */
                const char *cm = strchr(s, '(');
                if (cm && !cur->diagnostic[0]) {
                    const char *cz = strrchr(cm, ')');
                    size_t cl = cz ? (size_t)(cz - cm - 1) : strlen(cm + 1);
                    bg_text_clean(cur->diagnostic, sizeof cur->diagnostic, cm + 1, cl, 0);
                }
                if (spans) {
                    cur->status_field.off = f->off;
                    cur->status_field.len = f->end - f->off;
                }
                break;
            }
            case BG_DF_DIAG: {
                const char *t = bg_dsn_split_type(v, cur->diag_type, sizeof cur->diag_type);
                bg_dsn_set(cur->diagnostic, sizeof cur->diagnostic, t);
                break;
            }
            case BG_DF_REMOTE_MTA:
                bg_dsn_set(cur->remote_mta, sizeof cur->remote_mta, bg_dsn_split_type(v, NULL, 0));
                break;
            case BG_DF_LAST_ATTEMPT:
                bg_dsn_set(cur->last_attempt, sizeof cur->last_attempt, v);
                break;
            case BG_DF_WILL_RETRY:
                bg_dsn_set(cur->will_retry_until, sizeof cur->will_retry_until, v);
                break;
            default:
                break;
            }
        }
        size_t body = h.body_off;
        bg_hdrs_free(&h);
        i = body > i ? body : next;
    }
    /* recipients without any address are of no use; Original-Recipient
     * stands in for a missing Final-Recipient */
    size_t w = b->nrcpt - added;
    for (size_t r = b->nrcpt - added; r < b->nrcpt; r++) {
        bg_rcpt *rc = &b->rcpts[r];
        if ((!rc->recipient[0] || rc->final_not_rfc822) && rc->original_recipient[0])
            memcpy(rc->recipient, rc->original_recipient, sizeof rc->recipient);
        if (!rc->recipient[0])
            continue;
        if (w != r)
            b->rcpts[w] = *rc;
        w++;
    }
    added -= b->nrcpt - w;
    b->nrcpt = w;
    return added;
}

/* ARF fields are header blocks too; recipients come from Original-Rcpt-To. */
size_t bg_dsn_arf(bg_bounce *b, const char *p, size_t off, size_t end, char eol,
                  char *feedback_type, size_t ftlen)
{
    size_t added = 0, i = off;
    char v[BG_ADDR_MAX * 2];
    if (ftlen)
        feedback_type[0] = '\0';
    while (i < end) {
        size_t next, ce = bg_line_end(p, i, end, eol, &next);
        if (ce == i) {
            i = next;
            continue;
        }
        bg_hdrs h;
        if (bg_hdrs_parse(&h, p, i, end, eol) == 0) {
            bg_hdrs_free(&h);
            i = next;
            continue;
        }
        for (size_t k = 0; k < h.n; k++) {
            const bg_hfield *f = &h.f[k];
            const char *name = p + f->off;
            size_t nl = f->name_len;
            bg_hdrs_raw(&h, k, v, sizeof v);
            if (nl == 13 && !strncasecmp(name, "Feedback-Type", nl)) {
                if (ftlen && !feedback_type[0])
                    bg_dsn_token(v, feedback_type, ftlen);
            } else if (nl == 13 && !strncasecmp(name, "Reporting-MTA", nl)) {
                if (!b->reporting_mta[0])
                    bg_dsn_set(b->reporting_mta, sizeof b->reporting_mta,
                               bg_dsn_split_type(v, NULL, 0));
            } else if ((nl == 12 && !strncasecmp(name, "Arrival-Date", nl)) ||
                       (nl == 13 && !strncasecmp(name, "Received-Date", nl))) {
                if (!b->arrival_date[0])
                    bg_dsn_set(b->arrival_date, sizeof b->arrival_date, v);
            } else if ((nl == 16 && !strncasecmp(name, "Original-Rcpt-To", nl)) ||
                       (nl == 17 && !strncasecmp(name, "Removal-Recipient", nl))) {
                bg_rcpt *rc = bg_bounce_add_rcpt(b);
                if (!rc)
                    break;
                bg_addr_extract(v, strlen(v), rc->recipient, sizeof rc->recipient);
                if (!rc->recipient[0]) {
                    b->nrcpt--;
                    continue;
                }
                added++;
            }
        }
        size_t body = h.body_off;
        bg_hdrs_free(&h);
        i = body > i ? body : next;
    }
    for (size_t r = b->nrcpt - added; r < b->nrcpt; r++)
        if (ftlen)
            bg_dsn_set(b->rcpts[r].diagnostic, sizeof b->rcpts[r].diagnostic, feedback_type);
    return added;
}

/* d= and s= of a DKIM-Signature tag list. */
static void bg_dsn_dkim(const char *v, bg_original *o)
{
    const char *s = v;
    while (*s) {
        while (*s == ' ' || *s == ';')
            s++;
        const char *t = s;
        while (*s && *s != '=' && *s != ';')
            s++;
        const char *te = s;
        while (te > t && te[-1] == ' ')
            te--;
        if (*s != '=') {
            continue;
        }
        s++;
        while (*s == ' ')
            s++;
        const char *val = s;
        while (*s && *s != ';')
            s++;
        const char *ve = s;
        while (ve > val && ve[-1] == ' ')
            ve--;
        if (te - t == 1 && (*t == 'd' || *t == 's')) {
            char *dst = *t == 'd' ? o->dkim_domain : o->dkim_selector;
            size_t dl = *t == 'd' ? sizeof o->dkim_domain : sizeof o->dkim_selector;
            if (!dst[0]) {
                /* values hold no blanks: drop folding leftovers */
                char tmp[BG_FIELD_MAX];
                size_t n = 0;
                for (const char *q = val; q < ve && n + 1 < sizeof tmp; q++)
                    if (*q != ' ')
                        tmp[n++] = *q;
                bg_text_clean(dst, dl, tmp, n, 0);
            }
        }
    }
}

/* The returned message's headers; at least one useful field makes it present. */
int bg_dsn_original(bg_original *o, const char *p, size_t off, size_t end, char eol)
{
    /* an mbox "From " line is not a header */
    if (end - off > 5 && !memcmp(p + off, "From ", 5)) {
        size_t next;
        bg_line_end(p, off, end, eol, &next);
        off = next;
    }
    /* blank lines before the headers (some MTAs add one) */
    while (off < end) {
        size_t next, ce = bg_line_end(p, off, end, eol, &next);
        if (ce != off)
            break;
        off = next;
    }
    bg_hdrs h;
    if (bg_hdrs_parse(&h, p, off, end, eol) == 0) {
        bg_hdrs_free(&h);
        return 0;
    }
    char v[BG_HDR_MAX * 4];
    int useful = 0;
    if (bg_hdrs_get_decoded(&h, "Subject", o->subject, sizeof o->subject))
        useful = 1;
    if (bg_hdrs_get_decoded(&h, "From", o->from, sizeof o->from))
        useful = 1;
    if (bg_hdrs_get_decoded(&h, "To", o->to, sizeof o->to))
        useful = 1;
    bg_hdrs_get_decoded(&h, "Cc", o->cc, sizeof o->cc);
    if (bg_hdrs_get(&h, "Date", o->date, sizeof o->date))
        useful = 1;
    if (bg_hdrs_get(&h, "Message-ID", o->message_id, sizeof o->message_id))
        useful = 1;
    if (bg_hdrs_get(&h, "Return-Path", v, sizeof v))
        bg_addr_extract(v, strlen(v), o->return_path, sizeof o->return_path);
    if (bg_hdrs_get(&h, "DKIM-Signature", v, sizeof v))
        bg_dsn_dkim(v, o);
    /* the topmost Received: is the last hop's, ours: its date (after the
     * last ';') is when the message entered the reporting server */
    if (bg_hdrs_get(&h, "Received", v, sizeof v)) {
        const char *semi = strrchr(v, ';');
        if (semi)
            bg_dsn_set(o->received, sizeof o->received, semi + 1);
    }
    if (h.n >= 2)
        useful = 1;
    bg_hdrs_free(&h);
    if (useful)
        o->present = 1;
    return useful;
}

/* Lines that introduce the copy of the original in plain-text bounces. */
static const char *const bg_dsn_copy_markers[] = {
    "This is a copy of the message, including all the headers",
    "Below this line is a copy of the message",
    "Original message follows",
    "original message is following",
    "The original message was",
    "----- Original message -----",
    "Unsent Message below",
    "Undelivered Message Headers",
    "Original message header",
    "The header of the original message",
    "Headers of the original message",
    "Start of returned message",
    NULL,
};

/* The first marker line at or after from: every marker holds the word
 * "message", so only lines with that word are tested. Returns the offset
 * of the line after the marker, or len. */
static size_t bg_dsn_next_marker(const char *text, size_t len, size_t from)
{
    while (from < len) {
        const char *w = bg_memcasemem(text + from, len - from, "message");
        if (!w)
            return len;
        size_t pos = (size_t)(w - text), ls = pos, next;
        while (ls > 0 && text[ls - 1] != '\n')
            ls--;
        size_t le = bg_line_end(text, pos, len, '\n', &next);
        for (int i = 0; bg_dsn_copy_markers[i]; i++)
            if (bg_memcasemem(text + ls, le - ls, bg_dsn_copy_markers[i]))
                return next;
        from = next;
    }
    return len;
}

/* Plain-text bounces: the headers after a copy marker line. */
int bg_dsn_inline_original(bg_original *o, const char *text, size_t len)
{
    /* "The original message was received at ..." is a sentence, not a
     * marker: when no headers follow, look for the next marker */
    for (size_t at = bg_dsn_next_marker(text, len, 0); at < len;
         at = bg_dsn_next_marker(text, len, at))
        if (bg_dsn_original(o, text, at, len, '\n'))
            return 1;
    return 0;
}

/* Leading blanks of a line. */
static size_t bg_dsn_indent(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && (s[n] == ' ' || s[n] == '\t'))
        n++;
    return n;
}

/* 1 when the trimmed line is one address ("a@b" or "<a@b>"). */
static int bg_dsn_is_addr_line(const char *s, size_t len)
{
    size_t a = bg_dsn_indent(s, len), e = len;
    while (e > a && (s[e - 1] == ' ' || s[e - 1] == '\t'))
        e--;
    if (e <= a || !memchr(s + a, '@', e - a))
        return 0;
    for (size_t i = a; i < e; i++)
        if (s[i] == ' ' || s[i] == '\t')
            return 0;
    return 1;
}

/* The explanation after the line holding addr (its first occurrence at
 * the start of a line). */
static size_t bg_dsn_diag_for(const char *text, size_t len, const char *addr, char *out,
                              size_t outlen)
{
    size_t al = strlen(addr);
    size_t from = 0;
    while (from < len) {
        const char *m = bg_memcasemem(text + from, len - from, addr);
        if (!m)
            return 0;
        size_t pos = (size_t)(m - text);
        from = pos + al;
        /* only blanks, '<' or quotes before the address on its line, or
         * Exim's "save to " / "pipe to " for file and pipe deliveries.
         * Looking backwards over those few bytes only keeps this linear. */
        size_t ls = pos;
        while (ls > 0 && (text[ls - 1] == '<' || text[ls - 1] == '"'))
            ls--;
        if (ls >= 8 && (!strncmp(text + ls - 8, "save to ", 8) ||
                        !strncmp(text + ls - 8, "pipe to ", 8)))
            ls -= 8;
        while (ls > 0 && (text[ls - 1] == ' ' || text[ls - 1] == '\t'))
            ls--;
        if (ls > 0 && text[ls - 1] != '\n')
            continue;
        size_t indent = bg_dsn_indent(text + ls, pos - ls);
        bg_buf acc;
        bg_buf_init(&acc);
        size_t next, ce = bg_line_end(text, pos + al, len, '\n', &next);
        size_t r = pos + al;
        while (r < ce && (text[r] == '>' || text[r] == '"' || text[r] == ':' || text[r] == ' ' ||
                          text[r] == '\t' || text[r] == ','))
            r++;
        bg_buf_add(&acc, text + r, ce - r);
        size_t i = next;
        for (int lines = 0; i < len && lines < 12 && acc.len < outlen * 2; lines++) {
            size_t nx, le = bg_line_end(text, i, len, '\n', &nx);
            size_t ind = bg_dsn_indent(text + i, le - i);
            if (ind == le - i) /* blank */
                break;
            if (ind < indent || (ind == indent && (indent == 0 ||
                                                   bg_dsn_is_addr_line(text + i, le - i))))
                break;
            if (text[i + ind] == '-' && le - i - ind > 3 && text[i + ind + 1] == '-')
                break; /* a separator line */
            bg_buf_addc(&acc, ' ');
            bg_buf_add(&acc, text + i + ind, le - i - ind);
            i = nx;
        }
        size_t n = bg_text_clean(out, outlen, bg_buf_str(&acc), acc.len, 0);
        bg_buf_free(&acc);
        if (n)
            return n;
    }
    return 0;
}

/* CommuniGate Pro: "Failed to deliver to '<addr>'", then "<MODULE>
 * module(...) reports:" (and " host X says:") and the reply, up to a blank
 * line. The framing lines (ending in "reports:" or "says:") are left out. */
static size_t bg_dsn_cgp(const char *text, size_t len, const char *addr, char *out, size_t outlen)
{
    static const char head[] = "Failed to deliver to '";
    size_t hl = sizeof head - 1, al = strlen(addr), from = 0;
    while (from < len) {
        const char *m = bg_memcasemem(text + from, len - from, head);
        if (!m)
            return 0;
        size_t i = (size_t)(m - text) + hl, next;
        from = i;
        size_t ce = bg_line_end(text, i, len, '\n', &next);
        if (i < ce && text[i] == '<')
            i++;
        if (ce - i < al || strncasecmp(text + i, addr, al) != 0 ||
            (i + al < ce && text[i + al] != '\'' && text[i + al] != '>'))
            continue;
        bg_buf acc;
        bg_buf_init(&acc);
        i = next;
        for (int lines = 0; i < len && lines < 12 && acc.len < outlen * 2; lines++) {
            size_t le = bg_line_end(text, i, len, '\n', &next);
            size_t a = i + bg_dsn_indent(text + i, le - i), e = le;
            while (e > a && (text[e - 1] == ' ' || text[e - 1] == '\t'))
                e--;
            if (a == e)
                break;
            i = next;
            if ((e - a >= 8 && !strncasecmp(text + e - 8, "reports:", 8)) ||
                (e - a >= 5 && !strncasecmp(text + e - 5, "says:", 5)))
                continue;
            if (acc.len)
                bg_buf_addc(&acc, ' ');
            bg_buf_add(&acc, text + a, e - a);
        }
        size_t n = bg_text_clean(out, outlen, bg_buf_str(&acc), acc.len, 0);
        bg_buf_free(&acc);
        if (n)
            return n;
    }
    return 0;
}

/* Exim: "The following text was generated during the delivery attempt:"
 * then a "------ address ------" line, then the text. */
static size_t bg_dsn_exim_generated(const char *text, size_t len, char *out, size_t outlen)
{
    const char *m =
        bg_memcasemem(text, len, "The following text was generated during the delivery");
    if (!m)
        return 0;
    size_t i = (size_t)(m - text), next;
    bg_line_end(text, i, len, '\n', &next);
    i = next;
    /* skip blank lines and the "------ address ------" header (it may wrap) */
    while (i < len && bg_line_end(text, i, len, '\n', &next) == i)
        i = next;
    if (len - i >= 6 && !strncmp(text + i, "------", 6)) {
        for (int lines = 0; i < len && lines < 6; lines++) {
            size_t ls = i, ce = bg_line_end(text, i, len, '\n', &next);
            i = next;
            if (ce >= ls + 12 && !strncmp(text + ce - 6, "------", 6))
                break; /* the line that closes the header */
        }
    }
    while (i < len && bg_line_end(text, i, len, '\n', &next) == i)
        i = next;
    bg_buf acc;
    bg_buf_init(&acc);
    for (int lines = 0; i < len && lines < 12; lines++) {
        size_t ce = bg_line_end(text, i, len, '\n', &next);
        if (ce == i || !strncmp(text + i, "------", 6))
            break;
        if (acc.len)
            bg_buf_addc(&acc, ' ');
        bg_buf_add(&acc, text + i, ce - i);
        i = next;
    }
    size_t n = bg_text_clean(out, outlen, bg_buf_str(&acc), acc.len, 0);
    bg_buf_free(&acc);
    return n;
}

/* Sendmail: the paragraph after "----- Transcript of session follows -----",
 * without the ">>>" command lines and the "<<<" markers. */
static size_t bg_dsn_transcript(const char *text, size_t len, char *out, size_t outlen)
{
    const char *m = bg_memcasemem(text, len, "Transcript of session follows");
    if (!m)
        return 0;
    size_t i = (size_t)(m - text), next;
    bg_line_end(text, i, len, '\n', &next);
    i = next;
    while (i < len && bg_line_end(text, i, len, '\n', &next) == i)
        i = next;
    bg_buf acc;
    bg_buf_init(&acc);
    for (int lines = 0; i < len && lines < 12; lines++) {
        size_t ce = bg_line_end(text, i, len, '\n', &next);
        if (ce == i || (ce - i >= 5 && !strncmp(text + i, "-----", 5)) ||
            (ce - i >= 8 && !strncmp(text + i, "   -----", 8)))
            break;
        size_t a = i;
        if (ce - a >= 3 && !strncmp(text + a, ">>>", 3)) {
            i = next;
            continue;
        }
        if (ce - a >= 3 && !strncmp(text + a, "<<<", 3))
            a += 3;
        if (acc.len)
            bg_buf_addc(&acc, ' ');
        bg_buf_add(&acc, text + a, ce - a);
        i = next;
    }
    size_t n = bg_text_clean(out, outlen, bg_buf_str(&acc), acc.len, 0);
    bg_buf_free(&acc);
    return n;
}

/* Exim context first, then per-address explanations, then a Sendmail transcript. */
size_t bg_dsn_text_diag(bg_bounce *b, const char *text, size_t len)
{
    size_t filled = 0;
    if (!text || !len)
        return 0;
    /* Exim's Diagnostic-Code drops the context its text part gives
     * ("SMTP error from remote mail server after EHLO ...: 550 ..."): when
     * the text holds the same reply with that context, take the text */
    if (strstr(b->boundary, "-eximdsn-")) {
        for (size_t r = 0; r < b->nrcpt && r < BG_DSN_TEXT_RCPTS; r++) {
            bg_rcpt *rc = &b->rcpts[r];
            char t[BG_DIAG_MAX];
            size_t dl = strlen(rc->diagnostic);
            if (dl < 3 || !bg_dsn_diag_for(text, len, rc->recipient, t, sizeof t))
                continue;
            size_t tl = strlen(t), cmp = dl < 24 ? dl : 24;
            if (tl > dl && strstr(t, "SMTP error from remote") && bg_memcasemem(t, tl, "after") &&
                memmem(t, tl, rc->diagnostic, cmp))
                memcpy(rc->diagnostic, t, tl + 1);
        }
    }
    /* one recipient and Exim's generated text */
    if (b->nrcpt == 1 && !b->rcpts[0].diagnostic[0] &&
        bg_dsn_exim_generated(text, len, b->rcpts[0].diagnostic, sizeof b->rcpts[0].diagnostic))
        return 1;
    /* each recipient searches the text: bound the count (linear time) */
    for (size_t r = 0; r < b->nrcpt && r < BG_DSN_TEXT_RCPTS; r++) {
        bg_rcpt *rc = &b->rcpts[r];
        if (rc->diagnostic[0] || !rc->recipient[0])
            continue;
        if (bg_dsn_cgp(text, len, rc->recipient, rc->diagnostic, sizeof rc->diagnostic) ||
            bg_dsn_diag_for(text, len, rc->recipient, rc->diagnostic, sizeof rc->diagnostic) ||
            (rc->original_recipient[0] &&
             bg_dsn_diag_for(text, len, rc->original_recipient, rc->diagnostic,
                             sizeof rc->diagnostic)))
            filled++;
    }
    if (b->nrcpt == 1 && !b->rcpts[0].diagnostic[0] &&
        bg_dsn_transcript(text, len, b->rcpts[0].diagnostic, sizeof b->rcpts[0].diagnostic))
        filled++;
    for (size_t r = 0; r < b->nrcpt; r++) {
        bg_rcpt *rc = &b->rcpts[r];
        if (rc->recipient[0] == '@' && rc->diagnostic[0]) {
            /* "Final-Recipient: rfc822; @domain": the reply may name it */
            char a[BG_ADDR_MAX];
            bg_addr_extract(rc->diagnostic, strlen(rc->diagnostic), a, sizeof a);
            if (a[0] && a[0] != '@' && strchr(a, '@'))
                memcpy(rc->recipient, a, sizeof a);
        }
    }
    return filled;
}

/* First occurrence of name at the start of a line in text, or len. */
static size_t bg_dsn_line_start(const char *text, size_t len, const char *name)
{
    size_t from = 0, nl = strlen(name);
    while (from < len) {
        const char *m = bg_memcasemem(text + from, len - from, name);
        if (!m)
            return len;
        size_t pos = (size_t)(m - text);
        if (pos == 0 || text[pos - 1] == '\n')
            return pos;
        from = pos + nl;
    }
    return len;
}

/* Flattened reports: parse from the first recipient field found at a line start. */
size_t bg_dsn_embedded(bg_bounce *b, const char *text, size_t len)
{
    /* one pass for both names: find "Recipient:" where a line starts with
     * "Final-" or "Original-" just before it */
    size_t first = len, from = 0;
    while (from < len) {
        const char *m = bg_memcasemem(text + from, len - from, "-Recipient:");
        if (!m)
            break;
        size_t pos = (size_t)(m - text);
        if (pos >= 5 && !strncasecmp(text + pos - 5, "Final", 5) &&
            (pos == 5 || text[pos - 6] == '\n')) {
            first = pos - 5;
            break;
        }
        if (pos >= 8 && !strncasecmp(text + pos - 8, "Original", 8) &&
            (pos == 8 || text[pos - 9] == '\n')) {
            first = pos - 8;
            break;
        }
        from = pos + 11;
    }
    if (first >= len)
        return 0;
    size_t rm = bg_dsn_line_start(text, first, "Reporting-MTA:");
    return bg_dsn_parse(b, text, rm < first ? rm : first, len, '\n', 0);
}
