/*
 * watch_list.h - the open calls of one watch method (health Watch,
 * WatchAlerts): a singly linked list of links, each embedded first in the
 * module's own watcher struct. The module keeps the list's head and the
 * lock that guards it; these helpers only link and unlink.
 */
#ifndef DRIFTD_WATCH_LIST_H
#define DRIFTD_WATCH_LIST_H

#include <stddef.h>

#include "rpc/rpc.h"

typedef struct dd_watch_link {
  dd_call *call;
  struct dd_watch_link *next;
} dd_watch_link;

/* Puts w, for call, at the head of the list. */
static inline void dd_watch_link_push(dd_watch_link **head, dd_watch_link *w, dd_call *call) {
  w->call = call;
  w->next = *head;
  *head = w;
}

/* Unlinks the link of call and returns it (the caller frees its struct);
 * NULL when call has none. */
static inline dd_watch_link *dd_watch_link_take(dd_watch_link **head, const dd_call *call) {
  for (dd_watch_link **p = head; *p; p = &(*p)->next) {
    if ((*p)->call == call) {
      dd_watch_link *w = *p;
      *p = w->next;
      return w;
    }
  }
  return NULL;
}

#endif /* DRIFTD_WATCH_LIST_H */
