/*
 * clock - milliseconds from the two clocks berth reads.
 *
 * CLOCK_MONOTONIC for deadlines, delays and ages: one clock for every
 * process on the machine, so values may travel between processes (a
 * session snapshot's IDLE start, authd's hold stamps).  CLOCK_REALTIME
 * only for what is stored or shown as a date.
 */
#ifndef BERTH_CLOCK_H
#define BERTH_CLOCK_H

long long clock_mono_ms(void);
long long clock_wall_ms(void);

#endif
