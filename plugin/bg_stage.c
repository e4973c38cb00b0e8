/* bg_stage: the SMTP command a refusal answered, from the words around
 * the reply (see bg_stage.h). A table of phrases, case ignored; a
 * transcript, when there is one, says it more exactly than any phrase.
 */
#include "bg_stage.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* The words around a reply sit near it: a report's first 16 KB is enough,
 * and bounds the time a hostile one can cost. */
#define BG_STAGE_SCAN_MAX 16384ul

typedef struct bg_stage_phrase {
    const char *words;
    unsigned stage;
} bg_stage_phrase;

/* What MTAs write next to the reply. Postfix: "(in reply to RCPT TO
 * command)"; Exim: "SMTP error from remote mail server after RCPT
 * TO:<a>:"; qmail-remote: "does not like recipient", "failed on DATA
 * command", "but sender was rejected", "but my name was rejected", "but
 * greeting failed"; Postfix and others: "refused to talk to me". */
static const bg_stage_phrase bg_stage_phrases[] = {
    {"in reply to rcpt to command", BG_STAGE_RCPT},
    {"after rcpt to:", BG_STAGE_RCPT},
    {"after pipelined rcpt to", BG_STAGE_RCPT},
    {"does not like recipient", BG_STAGE_RCPT},
    {"in reply to end of data command", BG_STAGE_DATA},
    {"in reply to data command", BG_STAGE_DATA},
    {"after end of data", BG_STAGE_DATA},
    {"after pipelined data", BG_STAGE_DATA},
    {"after data", BG_STAGE_DATA},
    {"failed on data command", BG_STAGE_DATA},
    {"failed after i sent the message", BG_STAGE_DATA},
    {"in reply to mail from command", BG_STAGE_MAIL},
    {"after mail from:", BG_STAGE_MAIL},
    {"after pipelined mail from", BG_STAGE_MAIL},
    {"but sender was rejected", BG_STAGE_MAIL},
    {"in reply to ehlo command", BG_STAGE_HELO},
    {"in reply to helo command", BG_STAGE_HELO},
    {"after ehlo", BG_STAGE_HELO},
    {"after helo", BG_STAGE_HELO},
    {"but my name was rejected", BG_STAGE_HELO},
    {"after initial connection", BG_STAGE_CONNECT},
    {"refused to talk to me", BG_STAGE_CONNECT},
    {"but greeting failed", BG_STAGE_CONNECT},
    {"in reply to initial greeting", BG_STAGE_CONNECT},
};

static const struct {
    const char *name;
    unsigned bit;
} bg_stage_names[] = {
    {"connect", BG_STAGE_CONNECT}, {"helo", BG_STAGE_HELO}, {"mail", BG_STAGE_MAIL},
    {"rcpt", BG_STAGE_RCPT},       {"data", BG_STAGE_DATA},
};

unsigned bg_stage_parse(const char *name)
{
    for (size_t i = 0; i < sizeof bg_stage_names / sizeof bg_stage_names[0]; i++)
        if (strcasecmp(name, bg_stage_names[i].name) == 0)
            return bg_stage_names[i].bit;
    return 0;
}

const char *bg_stage_name(unsigned bit)
{
    for (size_t i = 0; i < sizeof bg_stage_names / sizeof bg_stage_names[0]; i++)
        if (bg_stage_names[i].bit == bit)
            return bg_stage_names[i].name;
    return "";
}

/* The stage of an SMTP command word as a transcript prints it. */
static unsigned bg_stage_of_command(const char *p, const char *end)
{
    static const struct {
        const char *cmd;
        unsigned stage;
    } cmds[] = {{"rcpt", BG_STAGE_RCPT}, {"data", BG_STAGE_DATA}, {"mail", BG_STAGE_MAIL},
                {"ehlo", BG_STAGE_HELO}, {"helo", BG_STAGE_HELO}, {"lhlo", BG_STAGE_HELO}};
    if (p < end && *p == '.' && (p + 1 == end || isspace((unsigned char)p[1])))
        return BG_STAGE_DATA; /* Sendmail shows the end of the message as ">>> ." */
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        size_t n = strlen(cmds[i].cmd);
        if ((size_t)(end - p) >= n && strncasecmp(p, cmds[i].cmd, n) == 0 &&
            (p + n == end || !isalpha((unsigned char)p[n])))
            return cmds[i].stage;
    }
    return 0;
}

/* A transcript: the last ">>> COMMAND" before the first "<<< 4xx/5xx". */
static unsigned bg_stage_transcript(const char *text, const char *end)
{
    unsigned last = 0;
    const char *p = text;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *q = p;
        while (q < eol && (*q == ' ' || *q == '\t'))
            q++;
        if (eol - q >= 4 && memcmp(q, ">>> ", 4) == 0) {
            last = bg_stage_of_command(q + 4, eol);
        } else if (eol - q >= 7 && memcmp(q, "<<< ", 4) == 0 && (q[4] == '4' || q[4] == '5') &&
                   isdigit((unsigned char)q[5]) && isdigit((unsigned char)q[6])) {
            if (last)
                return last;
        }
        p = eol < end ? eol + 1 : end;
    }
    return 0;
}

/* Case-insensitive search of whole words within [text, end), white space
 * runs as one space ("after data" is not in "after datagram"). */
static const char *bg_stage_search(const char *text, const char *end, const char *w)
{
    size_t wl = strlen(w);
    for (const char *p = text; p < end; p++) {
        if (p > text && isalnum((unsigned char)p[-1]))
            continue;
        const char *a = p, *b = w;
        while (*b && a < end) {
            if (*b == ' ') {
                if (!isspace((unsigned char)*a))
                    break;
                while (a < end && isspace((unsigned char)*a))
                    a++;
                b++;
                continue;
            }
            if (tolower((unsigned char)*a) != *b)
                break;
            a++, b++;
        }
        if (!*b && !(isalnum((unsigned char)w[wl - 1]) && a < end && isalnum((unsigned char)*a)))
            return p;
    }
    return NULL;
}

unsigned bg_stage_find(const char *text, unsigned long len)
{
    if (!text)
        return 0;
    if (len > BG_STAGE_SCAN_MAX)
        len = BG_STAGE_SCAN_MAX;
    const char *end = text + strnlen(text, len);
    unsigned t = bg_stage_transcript(text, end);
    if (t)
        return t;
    const char *best = NULL;
    unsigned stage = 0;
    for (size_t i = 0; i < sizeof bg_stage_phrases / sizeof bg_stage_phrases[0]; i++) {
        const char *at = bg_stage_search(text, end, bg_stage_phrases[i].words);
        if (at && (!best || at < best)) {
            best = at;
            stage = bg_stage_phrases[i].stage;
        }
    }
    return stage;
}
