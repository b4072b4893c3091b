/* The race log of the device emulation (bt_emu_race.cpp), as the block scheduler
 * (bt_emu_device.cpp) drives it: per launch, every block's plain stores and atomics to device
 * memory, and at the launch's end a report (abort) of any byte two blocks wrote where not both
 * used atomics. On with BT_EMU_RACECHECK (docs/cuda.md, "The device emulation"). */
#ifndef BT_EMU_RACE_H
#define BT_EMU_RACE_H

#include "cuda_runtime.h"

/* The thread running the launch (the emulated runtime's lock held), before any of its blocks:
 * reads the device allocations the log watches. name: the kernel's, for the report. */
void bt_emu_race_launch_begin(const char *name, dim3 grid);
/* The host thread about to run block lb (its linear index in the grid) / done with it. */
void bt_emu_race_block_begin(unsigned lb);
void bt_emu_race_block_end(void);
/* The thread running the launch, after every block (on every host thread) is done: reports the
 * first race found and aborts; with BT_EMU_RACECHECK=2 also a changed byte no logged store covers
 * (a store the instrumentation missed). */
void bt_emu_race_launch_end(void);

#endif
