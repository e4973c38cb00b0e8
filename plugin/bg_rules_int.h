/* bg_rules_int: the inside of a rule set, shared by bg_rules.c (parser,
 * compiler, matcher) and bg_classify.c / bg_cli_rules.c. Not a public
 * header: other modules use bg_rules.h.
 */
#ifndef BG_RULES_INT_H
#define BG_RULES_INT_H

#include <stddef.h>
#include <stdint.h>
#include "bg_ac.h"
#include "bg_category.h"
#include "bg_rules.h"
#include "bg_status.h"

#define BG_RULES_TEXT_MAX 8192 /* bytes of each text scanned for phrases */

#define BG_RULE_STATUS_N 12 /* status patterns per rule */
#define BG_RULE_REPLY_N 12  /* reply-code patterns per rule */
#define BG_RULE_PARSER_N 8  /* parser names per rule */
#define BG_RULE_PARSER_LEN 32
#define BG_RULE_MTA_N 8     /* remote MTA domains per rule */
#define BG_RULE_MTA_LEN 64
#define BG_RULE_TYPE_N 4    /* diagnostic types per rule */

/* One rule as written. A rule matches when every condition it has holds:
 * one of its phrases occurs (as words), the real enhanced status matches
 * one of its status patterns, the reply code one of its reply patterns, the
 * parser is one of its parsers, the remote MTA is (under) one of its
 * domains, the diagnostic type is one of its types. */
typedef struct bg_rule {
    char name[BG_RULE_NAME_MAX];
    int admin;                  /* 1 = from the admin file */
    unsigned line;              /* line of "rule" in its file */
    unsigned order;             /* position among the rules of its origin */
    const bg_category *cat;
    int priority;               /* higher is tried first */
    int suppress;               /* -1 = the category's default, else a bg_suppress */
    int side;                   /* -1 = the category's, else a bg_side (bg_registry.h) */
    size_t nstatus;
    char status[BG_RULE_STATUS_N][BG_STATUS_MAX]; /* "5.1.1", "5.7.*", "5.*.*" */
    size_t nreply;
    char reply[BG_RULE_REPLY_N][4];               /* "550", "55x", "5xx" */
    size_t nparser;
    char parser[BG_RULE_PARSER_N][BG_RULE_PARSER_LEN];
    size_t nmta;
    char mta[BG_RULE_MTA_N][BG_RULE_MTA_LEN];     /* "docomo.ne.jp": that host or under it */
    size_t ntype;
    char type[BG_RULE_TYPE_N][BG_RULE_PARSER_LEN]; /* Diagnostic-Code type: "x-unix" */
    unsigned stage;             /* BG_STAGE_* bits the refusal must have come at, 0 = any */
    char **phrase;              /* as written, lower case, single spaces; '*' ends allowed */
    size_t nphrase, capphrase;
} bg_rule;

/* One phrase of the compiled set: which rule, and where word boundaries
 * are required. */
typedef struct bg_phrase {
    unsigned rule;
    unsigned char left_word;  /* 1 = must start at a word boundary */
    unsigned char right_word; /* 1 = must end at a word boundary */
} bg_phrase;

/* The built-in rules already compiled (rules in precedence order, phrase
 * table, automaton): tools/rulesgen.c writes it at build time from the
 * same conf/rules.conf that is embedded, as build/gen/bg_rules_image.c.
 * Loading it costs nothing, where parsing and building the automaton cost
 * milliseconds in every new Exim process. It is a weak reference: a
 * binary linked without the image (the generator itself, the fuzz build)
 * parses the embedded text instead. */
#define BG_RULES_IMAGE_NOT_BOUNCE 0xffff /* cat[] value for "not-a-bounce" */

typedef struct bg_rules_image {
    const bg_rule *rule;   /* cat and phrase are NULL here: see the two below */
    size_t nrule;
    const uint16_t *cat;   /* per rule: index into bg_categories */
    char *const *const *phrase; /* per rule: its phrases */
    const bg_phrase *ph;
    size_t nph;
    bg_ac_frozen ac;
    size_t text_len; /* length of the rules text it was made from */
} bg_rules_image;

extern const bg_rules_image bg_rules_image_builtin __attribute__((weak));

/* The category table, for the image's references into it. */
extern const bg_category bg_categories[];
extern const bg_category bg_category_not_bounce;

/* A rule's category and phrases (wherever the rule comes from: use these,
 * not ->cat and ->phrase). */
const bg_category *bg_rule_cat(const bg_rule *ru);
char *const *bg_rule_phrases(const bg_rule *ru);

/* The image's parts of a rule set (for tools/rulesgen); 0 on success. */
int bg_rules_parts(const bg_rules *r, const bg_phrase **ph, size_t *nph, const bg_ac_frozen **ac);

/* The rules in precedence order (index 0 is tried first). */
const bg_rule *bg_rules_at(const bg_rules *r, size_t i);

/* What classify hands the matcher. texts are scanned for phrases (NULL or
 * "" entries are skipped); status is the real enhanced code or ""; reply
 * 0 when none; parser "" when unknown. */
/* The SMTP stage of a refusal, read from its texts only when a rule with a
 * stage condition is tried (few are). */
typedef struct bg_stage_ctx {
    const char *texts[3];
    int done;
    unsigned stage;
} bg_stage_ctx;

typedef struct bg_match_input {
    const char *texts[2];
    const char *status;
    int reply;
    const char *parser;
    const char *remote_mta; /* "" when unknown */
    const char *diag_type;  /* "" when unknown */
    bg_stage_ctx *stage;    /* NULL: the stage is unknown */
} bg_match_input;

/* A compiled rule set (bg_rules.c builds it, bg_rules_match.c reads it). */
struct bg_rules {
    bg_rule *rule;
    size_t nrule, caprule;
    bg_ac *ac;
    bg_phrase *ph;
    size_t nph;
    int image; /* 1 = rule and ph point into bg_rules_image_builtin */
    unsigned *timing; /* indices of the timing rules (category expired), ascending */
    size_t ntiming;
    /* rules without phrases, so that matching tries only those whose code
     * can hold: exact status codes sorted by code, status patterns with a
     * '*', and the rest (reply, parser or type alone) */
    struct bg_code_ix *code;  /* sorted by key */
    size_t ncode;
    unsigned *wild;           /* phrase-less rules with a '*' status pattern */
    size_t nwild;
    unsigned *plain;          /* phrase-less rules without a status condition */
    size_t nplain;
};

/* One exact status code of a phrase-less rule: key = class, subject and
 * detail packed (bg_rules_code_key), and the rule's index. */
struct bg_code_ix {
    unsigned key;
    unsigned rule;
};

/* The index above, built after the rules are sorted (bg_rules.c calls it
 * beside the timing index); -1 when memory runs out. */
int bg_rules_index_codes(bg_rules *r);
void bg_rules_free_codes(bg_rules *r);

/* Letters and digits make words. So does '-': "X-Virus-Scanned" or
 * "Received-SPF" in a quoted header is not the word "virus" or "spf". */
static inline int bg_is_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-';
}

/* The first rule (in precedence order) that matches, or NULL. */
const bg_rule *bg_rules_match(const bg_rules *r, const bg_match_input *in);

/* Cause and timing are two facts: a rule of category "expired" says the
 * sender's server gave up, not why. One pass finds the first rule that
 * names a cause and the first timing rule; either may be NULL. */
typedef struct bg_match_result {
    const bg_rule *cause;
    const bg_rule *timing;
} bg_match_result;
void bg_rules_match_split(const bg_rules *r, const bg_match_input *in, bg_match_result *res);

/* 1 for a timing rule (category "expired"). */
int bg_rule_is_timing(const bg_rule *ru);

/* 1 when a status pattern ("5.7.*", "5.1.1", "4.*.*") accepts status. */
int bg_rule_status_match(const char *pattern, const char *status);
/* 1 when a reply pattern ("550", "55x", "4xx") accepts the code. */
int bg_rule_reply_match(const char *pattern, int code);

#endif
