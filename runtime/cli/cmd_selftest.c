/* `batchtune selftest`: checks this machine's GPU, driver and build -- every CUDA kernel of the
 * op table against its C reference, then a short pack round per family against the CPU pack --
 * and prints a table; 0 all pass, 70 a mismatch (named), 69 no usable GPU (and why). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/cli/cli.h"
#include "runtime/devices/selftest.h"

static const char help[] =
    "usage: batchtune selftest [--device cuda:N] [--only NAME] [--ops | --packs] [--all-packs]\n"
    "                          [--seed N] [--quiet]\n"
    "\n"
    "Checks the GPU before you trust it: runs every CUDA kernel of the op table against its C\n"
    "reference on fresh random inputs (small shapes, seconds in all), then trains a few trials of\n"
    "each family for a few rounds with the GPU pack and with the CPU pack and compares their\n"
    "validation metrics. Prints one line per case and a summary.\n"
    "\n"
    "Options:\n"
    "  --device cuda:N   the GPU to test (default cuda:0)\n"
    "  --only NAME       only ops and families whose name contains NAME (e.g. gbdt, nn_linear)\n"
    "  --ops, --packs    only the op table, or only the pack rounds\n"
    "  --all-packs       also the experimental GPU packs (mlp, resnet; execution.gpu_packs all)\n"
    "  --seed N          inputs of every case (default: from the clock; printed, to replay)\n"
    "  --quiet           print failures and the summary only\n"
    "\n"
    "Exit: 0 every case agrees, 70 a GPU result differs from the CPU's (the op, the case and the\n"
    "worst error are printed), 69 no usable GPU (no CUDA module, no driver, no GPU, or a driver\n"
    "that refuses: the reason is printed).\n\n";

typedef struct printer {
    int quiet;
} printer;

static void print_row(void *ctx, const bt_selftest_row *row) {
    const printer *p = ctx;
    if (p->quiet && row->passed) return;
    char err[32] = "";
    if (row->r.worst > 0 || isnan(row->r.worst))
        snprintf(err, sizeof err, "err %.2g", row->r.worst);
    printf("%s  %-4s  %-18s %-62.62s %6.2f s  %s\n", row->passed ? "pass" : "FAIL", row->part,
           row->name, row->desc, row->seconds, err);
    if (!row->passed)
        printf("      %s\n", row->r.status != BT_STATUS_OK ? row->r.status_msg : row->r.first);
    fflush(stdout);
}

static int parse_device(const char *s, int *gpu) {
    if (strcmp(s, "cuda") == 0 || strcmp(s, "auto") == 0) {
        *gpu = 0;
        return 1;
    }
    char *end = NULL;
    if (strncmp(s, "cuda:", 5) != 0) return 0;
    long v = strtol(s + 5, &end, 10);
    if (!end || *end || end == s + 5 || v < 0 || v > 65535) return 0;
    *gpu = (int)v;
    return 1;
}

int bt_cmd_selftest(int argc, char **argv) {
    bt_selftest_opts o = {.gpu = 0, .seed = (uint64_t)time(NULL), .ops = 1, .packs = 1};
    printer pr = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (bt_cli_is_help(a)) {
            fputs(help, stdout);
            fputs(bt_cli_exit_codes, stdout);
            return 0;
        } else if (strcmp(a, "--device") == 0 && more) {
            if (!parse_device(argv[++i], &o.gpu)) {
                fprintf(stderr, "batchtune selftest: --device takes cuda or cuda:N, got '%s'\n",
                        argv[i]);
                return BT_STATUS_USAGE;
            }
        } else if (strcmp(a, "--only") == 0 && more) {
            o.only = argv[++i];
        } else if (strcmp(a, "--ops") == 0) {
            o.packs = 0;
        } else if (strcmp(a, "--packs") == 0) {
            o.ops = 0;
        } else if (strcmp(a, "--all-packs") == 0) {
            o.experimental = 1;
        } else if (strcmp(a, "--seed") == 0 && more) {
            char *end = NULL;
            o.seed = strtoull(argv[++i], &end, 10);
            if (!end || *end || end == argv[i]) {
                fprintf(stderr, "batchtune selftest: --seed takes an integer\n");
                return BT_STATUS_USAGE;
            }
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            pr.quiet = 1;
        } else {
            fprintf(stderr, "batchtune selftest: unexpected '%s' (see --help)\n", a);
            return BT_STATUS_USAGE;
        }
    }
    if (!o.ops && !o.packs) o.ops = o.packs = 1; /* --ops --packs: both */
    printf("selftest: cuda:%d, seed %" PRIu64 " (--seed %" PRIu64 " replays it)\n", o.gpu, o.seed,
           o.seed);
    fflush(stdout);
    bt_selftest_summary sum;
    bt_status st = bt_selftest_run(&o, print_row, &pr, &sum);
    if (st != BT_STATUS_OK) {
        fprintf(stderr, "batchtune selftest: %s\n", bt_status_message());
        return st;
    }
    if (sum.rows == 0) {
        fprintf(stderr, "batchtune selftest: nothing matched --only %s\n", o.only ? o.only : "");
        return BT_STATUS_USAGE;
    }
    printf("selftest: %d of %d cases agree with the CPU\n", sum.rows - sum.failed, sum.rows);
    if (sum.failed) {
        fprintf(stderr, "batchtune selftest: %d case%s differ from the CPU; first: %s\n",
                sum.failed, sum.failed == 1 ? "" : "s", sum.first_failure);
        return BT_STATUS_INTERNAL;
    }
    return 0;
}
