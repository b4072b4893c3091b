/* A stand-in training program in C for batchtune's program-mode tests: reads --lr=X (W&B's
 * ${args}) and reports {"epoch": e, "val_loss": lr / e} for --epochs=N (default 4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    double lr = 1;
    int epochs = 4;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--lr=", 5) == 0) lr = atof(argv[i] + 5);
        if (strncmp(argv[i], "--epochs=", 9) == 0) epochs = atoi(argv[i] + 9);
    }
    for (int e = 1; e <= epochs; e++) {
        printf("{\"epoch\": %d, \"val_loss\": %.17g}\n", e, lr / e);
        fflush(stdout);
    }
    return 0;
}
