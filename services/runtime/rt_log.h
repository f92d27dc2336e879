// rt_log: one line per event on stderr:
//
//     2026-11-26T08:12:01.123Z info civic-points call.failed method=… code=NOT_FOUND
//
// a level, the service, a short event id and key=value fields. Library code
// returns errors; the edge that handles one logs it once. Never log a token
// or a phone number.
#ifndef RT_LOG_H
#define RT_LOG_H

enum { RT_LOG_DEBUG, RT_LOG_INFO, RT_LOG_WARN, RT_LOG_ERROR };

// rt_log_init sets the service name and the lowest level written.
void rt_log_init(const char *service, int level);

// rt_log_level_parse returns the level named s ("debug", "info", "warn",
// "error"), or -1.
int rt_log_level_parse(const char *s);

// rt_log_enabled tells whether lines of this level are written.
int rt_log_enabled(int level);

// rt_log writes one line: event, then fmt's key=value fields.
void rt_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
