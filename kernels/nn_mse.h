/* Mean squared error, the regression loss of the neural-net families, batched over trial slots
 * (one pointer per slot). Ownership: callers own every buffer. */
#ifndef BT_KERNEL_NN_MSE_H
#define BT_KERNEL_NN_MSE_H

/* loss[s] = mean over rows of (pred - target)^2 (double sum); when dpred is non-NULL,
 * dpred[s] = 2 (pred - target) / rows. One output per row. */
void bt_nn_mse_ref(int n_slots, int rows, const float *const *pred, const float *const *target,
                   double *loss, float *const *dpred);

#endif
