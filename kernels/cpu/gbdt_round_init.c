/* C reference of the device-side round init (kernels/gbdt_round_init.h): the trees of a launch
 * one after another, each by the same BT_HD function the CUDA twin's threads run. */
#include "kernels/gbdt_round_init.h"

void bt_gbdt_round_init_ref(const bt_gbdt_round_init_args *a) {
    for (int32_t j = 0; j < a->n_trees; j++) bt_gbdt_round_init_tree_run(a, j);
}
