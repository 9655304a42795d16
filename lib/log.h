/*
 * log.h: one line per event on stderr, with a level.
 *
 * Format: "2026-11-23T02:10:44.123Z warn ingest: message".  The level is
 * checked before formatting, so a debug line costs nothing when off.  Device
 * bytes must pass through escape.h before they reach a log line.
 */
#ifndef GA_LIB_LOG_H
#define GA_LIB_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the program name shown on each line (borrowed; keep it alive). */
void log_set_name(const char *name);

/* Sets the lowest level that is printed (default LOG_INFO). */
void log_set_level(enum log_level level);

/* True when lines of this level are printed. */
bool log_enabled(enum log_level level);

/*
 * Routes libevent's own warnings into our log (call once per process).
 */
void log_hook_libevent(void);

/* The printf-style format attribute is GCC/Clang's; it makes -Wformat check
 * every call site. */
void log_line(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_line(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...)  do { if (log_enabled(LOG_INFO))  log_line(LOG_INFO, __VA_ARGS__); } while (0)
#define log_warn(...)  do { if (log_enabled(LOG_WARN))  log_line(LOG_WARN, __VA_ARGS__); } while (0)
#define log_error(...) log_line(LOG_ERROR, __VA_ARGS__)

#endif
