/* Batch normalization over the rows of a (rows x c) activation, batched over trial slots (one
 * pointer per slot): training forward (batch statistics, running-average update as PyTorch:
 * unbiased variance, run = (1 - momentum) run + momentum batch), evaluation forward (running
 * statistics) and backward. Ownership: callers own every buffer. */
#ifndef BT_KERNEL_NN_BATCHNORM_H
#define BT_KERNEL_NN_BATCHNORM_H

/* y = gamma xhat + beta, xhat = (x - mean) * inv_std over the batch; saves xhat (rows x c) and
 * inv_std (c) for the backward pass and updates run_mean / run_var. Sums in double, in row order.
 */
void bt_nn_bn_train_fwd_ref(int n_slots, int rows, int c, float momentum, float eps,
                            const float *const *x, const float *const *gamma,
                            const float *const *beta, float *const *run_mean, float *const *run_var,
                            float *const *xhat, float *const *inv_std, float *const *y);

/* y = gamma (x - run_mean) / sqrt(run_var + eps) + beta. */
void bt_nn_bn_eval_fwd_ref(int n_slots, int rows, int c, float eps, const float *const *x,
                           const float *const *gamma, const float *const *beta,
                           const float *const *run_mean, const float *const *run_var,
                           float *const *y);

/* dx = gamma inv_std / rows (rows dy - sum dy - xhat sum(dy xhat)); dgamma = sum dy xhat,
 * dbeta = sum dy (overwritten). dx may alias dy. */
void bt_nn_bn_bwd_ref(int n_slots, int rows, int c, const float *const *xhat,
                      const float *const *inv_std, const float *const *gamma,
                      const float *const *dy, float *const *dx, float *const *dgamma,
                      float *const *dbeta);

/* The same three functions with the loops turned row-major (blocks of 16 channels walk the rows
 * once per pass instead of once per channel) and OpenMP over (slot, channel block): every channel
 * is still summed in double in row order, so the results are bit-identical to the _ref functions
 * for any thread count. threads >= 1. */
void bt_nn_bn_train_fwd_cpu(int n_slots, int rows, int c, float momentum, float eps,
                            const float *const *x, const float *const *gamma,
                            const float *const *beta, float *const *run_mean, float *const *run_var,
                            float *const *xhat, float *const *inv_std, float *const *y,
                            int threads);
void bt_nn_bn_eval_fwd_cpu(int n_slots, int rows, int c, float eps, const float *const *x,
                           const float *const *gamma, const float *const *beta,
                           const float *const *run_mean, const float *const *run_var,
                           float *const *y, int threads);
void bt_nn_bn_bwd_cpu(int n_slots, int rows, int c, const float *const *xhat,
                      const float *const *inv_std, const float *const *gamma,
                      const float *const *dy, float *const *dx, float *const *dgamma,
                      float *const *dbeta, int threads);

#if BT_HAVE_CUDA
/* ---- CUDA twins (kernels/cuda/nn_batchnorm.cu): every argument a device array of device
 * pointers (one per slot); stream is a cudaStream_t. A block owns a tile of channels of one slot
 * over all rows: column sums in double (another order than the reference: the mean and variance
 * may differ in the last double bits), every float expression rounded as the reference's (no
 * fused multiply-adds). Evaluation forward is bit-identical. rows >= 1. --------------------- */
#include "base/status.h"
#ifdef __cplusplus
extern "C" {
#endif

bt_status bt_nn_bn_train_fwd_cuda(int n_slots, int rows, int c, float momentum, float eps,
                                  const float *const *x, const float *const *gamma,
                                  const float *const *beta, float *const *run_mean,
                                  float *const *run_var, float *const *xhat, float *const *inv_std,
                                  float *const *y, void *stream);
bt_status bt_nn_bn_eval_fwd_cuda(int n_slots, int rows, int c, float eps, const float *const *x,
                                 const float *const *gamma, const float *const *beta,
                                 const float *const *run_mean, const float *const *run_var,
                                 float *const *y, void *stream);
bt_status bt_nn_bn_bwd_cuda(int n_slots, int rows, int c, const float *const *xhat,
                            const float *const *inv_std, const float *const *gamma,
                            const float *const *dy, float *const *dx, float *const *dgamma,
                            float *const *dbeta, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* BT_HAVE_CUDA */

#endif
