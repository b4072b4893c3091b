/* tests/cuda/test_executor_cuda.c, the executor's GPU test, in a CPU-only build: the library's
 * executor, bench and device choice run their GPU paths against one emulated GPU
 * (tests/emu/emu_devices.c), whose gbdt pack is the CUDA pack's host code over the emulated
 * runtime and the kernels' C references (tests/emu/emu_kernels.c). It proves the executor's side --
 * device choice and labels, per-thread device selection, packs on several streams stepped side
 * by side, usage sampling, results -- not the kernels (emu.h). */
#include "tests/cuda/test_executor_cuda.c"
