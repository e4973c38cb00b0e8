/* bg_stage: which SMTP command a remote refusal answered (connection,
 * HELO/EHLO, MAIL FROM, RCPT TO, DATA), read from the words MTAs put
 * around a reply. The same reply means different things at different
 * stages: NTT docomo's "550 Unknown user" at RCPT TO is an unknown
 * address, after DATA it was (until March 2025) the recipient's reception
 * filter refusing the sender.
 */
#ifndef BG_STAGE_H
#define BG_STAGE_H

#define BG_STAGE_CONNECT 1u
#define BG_STAGE_HELO 2u
#define BG_STAGE_MAIL 4u
#define BG_STAGE_RCPT 8u
#define BG_STAGE_DATA 16u

/* The stage a text says the refusal came at, 0 when it does not say.
 * Reads a session transcript (">>> RCPT TO:..." then "<<< 550 ...": the
 * last command before the first 4xx/5xx answer) first, then the phrases of
 * Postfix ("in reply to RCPT TO command"), Exim ("after RCPT TO:"), qmail
 * ("does not like recipient") and others, the earliest in the text. Reads
 * at most len bytes of text (NUL ends it sooner). */
unsigned bg_stage_find(const char *text, unsigned long len);

/* The bit of a stage name ("connect", "helo", "mail", "rcpt", "data"),
 * 0 for another word. */
unsigned bg_stage_parse(const char *name);

/* The name of one stage bit, "" for anything else. */
const char *bg_stage_name(unsigned bit);

#endif
