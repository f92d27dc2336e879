// Line-at-a-time logging: each line is formatted whole and written with one
// write(2), so lines from many threads never interleave.
#include "rt_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *service = "civic";
static int min_level = RT_LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

void
rt_log_init(const char *name, int level)
{
    service = name;
    min_level = level;
}

int
rt_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int
rt_log_enabled(int level)
{
    return level >= min_level;
}

void
rt_log(int level, const char *event, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[level], service, event);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t) n < sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t) n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t) n >= sizeof line - 1)
        n = (int) sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t) n);
    (void) w;
}
