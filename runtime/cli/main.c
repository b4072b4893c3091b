/* batchtune's command line: parses the command and hands over to runtime/cli/cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "runtime/status.h"

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("batchtune %s\n", BT_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: batchtune SWEEP.json\n");
    return BT_STATUS_USAGE;
}
