#ifndef CSYSTEMEVENTS_H
#define CSYSTEMEVENTS_H
// Linux epoll behind plain-int wrappers, so Swift never sees `struct epoll_event` (packed on
// x86_64, a layout Swift cannot express). Readiness is reported as CSE_* bits, not EPOLL* values.
#include <stdint.h>

#define CSE_READABLE 1
#define CSE_WRITABLE 2
#define CSE_FAILED 4

#ifdef __linux__
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

/// A new epoll instance (close-on-exec), or -errno.
static inline int cse_epoll_create(void) {
    int descriptor = epoll_create1(EPOLL_CLOEXEC);
    return descriptor >= 0 ? descriptor : -errno;
}

/// Adds `socket` one-shot and disarmed (no events until `cse_epoll_arm`); 0 or errno.
static inline int cse_epoll_add_disarmed(int epoll, int socket, uint64_t token) {
    struct epoll_event event = {.events = EPOLLONESHOT, .data.u64 = token};
    return epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event) == 0 ? 0 : errno;
}

/// Adds `descriptor` level-triggered for reading (the wake pipe); 0 or errno.
static inline int cse_epoll_add_readable(int epoll, int descriptor, uint64_t token) {
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = token};
    return epoll_ctl(epoll, EPOLL_CTL_ADD, descriptor, &event) == 0 ? 0 : errno;
}

/// Re-arms `socket`'s one-shot registration for `interest` (CSE_READABLE | CSE_WRITABLE); 0 or errno.
static inline int cse_epoll_arm(int epoll, int socket, uint64_t token, int interest) {
    uint32_t events = EPOLLONESHOT;
    if (interest & CSE_READABLE) events |= EPOLLIN;
    if (interest & CSE_WRITABLE) events |= EPOLLOUT;
    struct epoll_event event = {.events = events, .data.u64 = token};
    return epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event) == 0 ? 0 : errno;
}

/// Removes `socket`; 0 or errno.
static inline int cse_epoll_remove(int epoll, int socket) {
    struct epoll_event event = {0};
    return epoll_ctl(epoll, EPOLL_CTL_DEL, socket, &event) == 0 ? 0 : errno;
}

/// Waits (up to `timeout` ms, -1 for ever) for at most 64 events; writes each one's token and
/// CSE_* readiness and returns how many, or -errno. An error or hang-up counts as every readiness.
static inline int cse_epoll_wait(int epoll, uint64_t *tokens, int *readiness, int capacity, int timeout) {
    struct epoll_event events[64];
    if (capacity > 64) capacity = 64;
    int count = epoll_wait(epoll, events, capacity, timeout);
    if (count < 0) return -errno;
    for (int index = 0; index < count; index++) {
        uint32_t happened = events[index].events;
        int ready = 0;
        if (happened & EPOLLIN) ready |= CSE_READABLE;
        if (happened & EPOLLOUT) ready |= CSE_WRITABLE;
        if (happened & (EPOLLERR | EPOLLHUP)) ready |= CSE_READABLE | CSE_WRITABLE | CSE_FAILED;
        tokens[index] = events[index].data.u64;
        readiness[index] = ready;
    }
    return count;
}

/// A pipe whose ends are non-blocking and close-on-exec; 0 or errno.
static inline int cse_make_pipe(int *readEnd, int *writeEnd) {
    int ends[2];
    if (pipe(ends) != 0) return errno;
    for (int index = 0; index < 2; index++) {
        fcntl(ends[index], F_SETFL, fcntl(ends[index], F_GETFL) | O_NONBLOCK);
        fcntl(ends[index], F_SETFD, FD_CLOEXEC);
    }
    *readEnd = ends[0];
    *writeEnd = ends[1];
    return 0;
}
#endif

#endif
