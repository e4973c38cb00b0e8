/* bg_rules: the classification rules, as data.
 *
 * Rules are data (conf/rules.conf, compiled in as the default, plus one
 * rule per code of the status registry, conf/status-codes.conf); an admin
 * file of the same syntax extends or overrides them. Matching is one pass
 * over the text with a multi-pattern automaton, whatever the rule count.
 * This module finds the rule that fits; bg_classify turns it into a
 * verdict.
 */
#ifndef BG_RULES_H
#define BG_RULES_H

#include <stddef.h>

#define BG_RULE_NAME_MAX 64

typedef struct bg_rules bg_rules; /* opaque, immutable once built: share it */

/* Build the rule set from the built-in rules plus, when admin_path is not
 * NULL or "", the admin's file. A missing or broken admin file logs one
 * warning (bg_log) and the built-in rules are used alone. Returns NULL only
 * when memory runs out. */
bg_rules *bg_rules_load(const char *admin_path);

/* Build from a text in the rules syntax (origin names it in messages).
 * With base != NULL the text extends/overrides base. Returns NULL and fills
 * err (when given, errlen bytes) with "origin:line: reason" on a syntax
 * error. */
bg_rules *bg_rules_parse(const bg_rules *base, const char *text, size_t len,
                         const char *origin, char *err, size_t errlen);

/* The built-in set parsed from text: conf/rules.conf and the registry's
 * rules (what the compiled-in image holds). NULL with err on an error. */
bg_rules *bg_rules_parse_builtin(char *err, size_t errlen);

void bg_rules_free(bg_rules *r);

/* Number of rules (for tests and `bounceguide rules`). */
size_t bg_rules_count(const bg_rules *r);

/* The built-in rules text (conf/rules.conf as compiled in). */
const char *bg_rules_builtin_text(void);

#endif
