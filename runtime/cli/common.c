/* Helpers shared by the commands: loading a sweep with its diagnostics printed. */
#include <stdio.h>

#include "runtime/cli/cli.h"
#include "sweeps/spec/spec.h"

int bt_cli_load_spec(const char *path, bt_spec *out) {
    bt_diags d;
    bt_diags_init(&d);
    bt_status st = bt_spec_load(path, out, &d);
    if (st != BT_STATUS_OK) {
        for (int i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.msgs[i]);
        if (d.n == 0)
            bt_cli_error(st);
        else
            fprintf(stderr, "batchtune: %d problem%s in %s\n", d.n, d.n == 1 ? "" : "s", path);
    }
    bt_diags_free(&d);
    return (int)st;
}
