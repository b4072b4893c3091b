/* What the nn op-table suites (kernels/cuda/optest/nn_*.cu) share: per-slot buffers that live on
 * the host (for the C reference) and on the device (for the kernel) with the device array of
 * device pointers the launchers take, output poisoning (0xFF bytes: float NaN, so an element the
 * kernel never wrote fails the comparison), and the comparisons: exact (bytes) or float within a
 * normwise relative bound plus an elementwise bound (METHOD.md: float32 far under 1e-3, TF32 near
 * 3e-4; NaN never passes). Every bounded comparison reports its measured error to the case
 * (bt_optest_error). Internal to kernels/cuda/optest. */
#ifndef BT_NN_OPTEST_CUH
#define BT_NN_OPTEST_CUH

#include <math.h>

#include <string>
#include <vector>

#include "kernels/cuda/optest/optest.cuh"

/* Uniform float in [lo, hi). */
static inline float frand(float lo, float hi) {
    return lo + (hi - lo) * (float)urand();
}

/* Internal linkage: every suite's copy of slot_buf must record into that suite's running case
 * (the checks are per translation unit), not into whichever copy the linker would keep. */
namespace {

/* n_slots buffers of n elements each, with a device twin of every buffer and of the pointer
 * array. h[s] / refp() are the reference's side; dev() / cdev() the launcher's argument. */
template <typename T> struct slot_buf {
    int n_slots = 0;
    size_t n = 0;
    std::vector<std::vector<T>> h;
    std::vector<T *> hp; /* host pointers into h, for the reference */
    std::vector<T *> dp; /* device buffers, one per slot */
    T **dpp = NULL;      /* device array of dp */

    void init(int slots, size_t elems) {
        n_slots = slots;
        n = elems;
        h.assign((size_t)slots, std::vector<T>(elems ? elems : 1));
        hp.resize((size_t)slots);
        dp.resize((size_t)slots);
        for (int s = 0; s < slots; s++) {
            hp[(size_t)s] = h[(size_t)s].data();
            CUDA_OK(cudaMalloc((void **)&dp[(size_t)s], (elems ? elems : 1) * sizeof(T)));
        }
        CUDA_OK(cudaMalloc((void **)&dpp, (slots ? slots : 1) * sizeof(T *)));
        if (slots)
            CUDA_OK(
                cudaMemcpy(dpp, dp.data(), (size_t)slots * sizeof(T *), cudaMemcpyHostToDevice));
    }
    template <typename F> void fill(F f) {
        for (auto &v : h)
            for (size_t i = 0; i < n; i++) v[i] = f();
    }
    void upload() {
        for (int s = 0; s < n_slots; s++)
            if (n)
                CUDA_OK(cudaMemcpy(dp[(size_t)s], h[(size_t)s].data(), n * sizeof(T),
                                   cudaMemcpyHostToDevice));
    }
    void poison() {
        for (int s = 0; s < n_slots; s++) CUDA_OK(cudaMemset(dp[(size_t)s], 0xFF, n * sizeof(T)));
    }
    std::vector<T> download(int s) const {
        std::vector<T> v(n);
        CUDA_OK(cudaDeviceSynchronize());
        if (n) CUDA_OK(cudaMemcpy(v.data(), dp[(size_t)s], n * sizeof(T), cudaMemcpyDeviceToHost));
        return v;
    }
    T *const *refp() {
        return hp.data();
    }
    const T *const *crefp() {
        return (const T *const *)hp.data();
    }
    T *const *dev() {
        return dpp;
    }
    const T *const *cdev() {
        return (const T *const *)dpp;
    }
    void release() {
        for (T *p : dp) cudaFree(p);
        cudaFree(dpp);
        dp.clear();
        dpp = NULL;
    }
};

} // namespace

/* got == ref byte for byte. */
static inline bool nn_exact(const char *what, const void *got, const void *ref, size_t bytes) {
    bool ok = same_bytes(got, ref, bytes);
    CHECK_MSG(ok, "%s: not bit-identical", what);
    return ok;
}

/* got against ref: every element finite where ref is (and NaN where ref is NaN),
 * ||got - ref|| / ||ref|| <= rel_norm, and max |got - ref| <= elem * max |ref| (+ 1e-30):
 * the norm bound is METHOD.md's; the elementwise one catches a single wrong element the norm
 * would average away. An element within `floor` of ref counts as exact: the rounding of a value
 * computed on an O(1) scale and cancelled to a tiny one (softmax p - y of a confident row). The
 * error reported is the larger of the two ratios (NaN for a NaN/inf mismatch). */
static inline bool nn_close_floor(const char *what, const float *got, const float *ref, size_t n,
                                  double rel_norm, double elem, double floor) {
    double num = 0, den = 0, worst = 0, amax = 0;
    size_t worst_i = 0, bad_nan = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(ref[i]) != isnan(got[i]) || isinf(ref[i]) != isinf(got[i])) {
            bad_nan++;
            continue;
        }
        if (!isfinite(ref[i])) continue;
        double d = fabs((double)got[i] - (double)ref[i]);
        d = d > floor ? d - floor : 0.0;
        num += d * d;
        den += (double)ref[i] * ref[i];
        if (fabs(d) > worst) {
            worst = fabs(d);
            worst_i = i;
        }
        if (fabs((double)ref[i]) > amax) amax = fabs((double)ref[i]);
    }
    double rel = den > 0 ? sqrt(num / den) : sqrt(num);
    bool ok = bad_nan == 0 && rel <= rel_norm && worst <= elem * amax + 1e-30;
    bt_optest_error(bad_nan ? NAN : fmax(rel, amax > 0 ? worst / amax : worst));
    CHECK_MSG(ok,
              "%s: %zu of %zu elements NaN/inf mismatch, rel norm err %.3g (max %.3g), worst "
              "|d| %.3g at %zu (got %.9g ref %.9g; bound %.3g)",
              what, bad_nan, n, rel, rel_norm, worst, worst_i, n ? (double)got[worst_i] : 0.0,
              n ? (double)ref[worst_i] : 0.0, elem * amax);
    return ok;
}

static inline bool nn_close(const char *what, const float *got, const float *ref, size_t n,
                            double rel_norm, double elem) {
    return nn_close_floor(what, got, ref, n, rel_norm, elem, 0.0);
}

/* Relative closeness of two doubles (NaN must match NaN): |got - ref| <= abs_tol + rel * the
 * larger magnitude. The error reported is |got - ref| / (abs_tol / rel + magnitude), which is
 * within rel exactly when the check passes. */
static inline bool nn_close_d(const char *what, double got, double ref, double rel,
                              double abs_tol) {
    const double mag = fabs(ref) > fabs(got) ? fabs(ref) : fabs(got), d = fabs(got - ref);
    bool ok = (isnan(got) && isnan(ref)) || d <= abs_tol + rel * mag;
    if (!(isnan(got) && isnan(ref))) bt_optest_error(rel > 0 ? d / (abs_tol / rel + mag) : d);
    CHECK_MSG(ok, "%s: %.17g vs ref %.17g", what, got, ref);
    return ok;
}

/* Elementwise against the scale of each element's terms: |got - ref| <= tol * mag, mag being the
 * same operation on absolute values (sum of |x| |w|), the bound reduced precision (TF32, BF16)
 * and reordered float sums obey however much the terms cancel; NaN never passes. The error
 * reported is the worst |got - ref| / mag (NaN when an element is not finite). */
static inline bool nn_close_mag(const char *what, const float *got, const float *ref,
                                const float *mag, size_t n, double tol) {
    size_t bad = 0, first = 0, nonfinite = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        bool ok = isfinite(got[i]) && isfinite(ref[i]) && d <= tol * (double)mag[i] + 1e-30;
        if (!ok && bad++ == 0) first = i;
        if (!isfinite(got[i]) || !isfinite(ref[i])) nonfinite++;
        if (isfinite(d) && mag[i] > 0 && d / mag[i] > worst) worst = d / mag[i];
    }
    bt_optest_error(nonfinite ? NAN : worst);
    CHECK_MSG(bad == 0,
              "%s: %zu of %zu elements off (first at %zu: got %.9g ref %.9g scale %.3g, bound "
              "%.3g); worst relative to scale %.3g",
              what, bad, n, first, n ? (double)got[first] : 0.0, n ? (double)ref[first] : 0.0,
              n ? (double)mag[first] : 0.0, tol, worst);
    return bad == 0;
}

/* A copy of a slot buffer's host side with every value made absolute (for the scale above). */
template <typename T> static std::vector<std::vector<float>> abs_copy(const T &b) {
    std::vector<std::vector<float>> v = b.h;
    for (auto &x : v)
        for (auto &e : x) e = fabsf(e);
    return v;
}
static inline std::vector<float *> ptrs_of(std::vector<std::vector<float>> &v) {
    std::vector<float *> p;
    for (auto &x : v) p.push_back(x.data());
    return p;
}

#endif
