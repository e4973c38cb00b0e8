/* bg_catalog_fmt: durations and dates in a catalogue's words.
 *
 * The reader of a bounce sees "3 days", "1 minute" and "26 November
 * 2026, 09:08 UTC" in their own language, so the words and the order
 * come from [common] keys of the catalogue (conf/guidance/en.conf lists
 * them): duration_under_minute, duration_minute(s), duration_hour(s),
 * duration_day(s) (the singular key for n = 1, the plural one otherwise,
 * never "0 minutes"), date_month (twelve lines), date_day_one (how day 1
 * is written: "1er" in French), date and date_time (the order, with
 * {day} {month} {year} {time}). All dates are UTC. No locale functions:
 * setlocale is process-wide inside Exim, and the catalogue is the one
 * place a translator edits. The administrator's section keeps ISO 8601
 * (bg_catalog_fmt_iso).
 */
#ifndef BG_CATALOG_FMT_H
#define BG_CATALOG_FMT_H

#include "bg_buf.h"
#include "bg_catalog.h"

/* Append a duration of secs seconds (>= 0): under a minute in words,
 * whole minutes under two hours, whole hours under two days, else whole
 * days (rounded down). 1, or 0 (out unchanged) when the catalogue has no
 * text for it. */
int bg_catalog_fmt_duration(const bg_catalog *c, long long secs, bg_buf *out);

/* Append the UTC date of unix time t: with_time 1 uses date_time, 0
 * date. 1, or 0 (out unchanged) when t is out of range or the catalogue
 * lacks the keys. */
int bg_catalog_fmt_date(const bg_catalog *c, long long t, int with_time, bg_buf *out);

/* Append t as ISO 8601 in UTC: "2026-11-26 09:08 UTC", or "2026-11-26"
 * when with_time is 0. 1, or 0 when t is out of range. */
int bg_catalog_fmt_iso(long long t, int with_time, bg_buf *out);

/* A value as a date: parse s (bg_time_parse's forms) and append it in
 * the catalogue's words (c != NULL) or as ISO 8601 (c == NULL), with the
 * time unless s is a bare "YYYY-MM-DD". 1, or 0 (out unchanged) when s
 * is not a date. */
int bg_catalog_fmt_date_text(const bg_catalog *c, const char *s, bg_buf *out);

#endif
