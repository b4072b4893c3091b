/* Metric names as people write them (spec_internal.h): the aliases of the canonical names the
 * models compute -- acc for accuracy, loss for the task's own loss, error for merror on a
 * multiclass task, ... -- and suggestions for unknown names among canonical names and aliases,
 * which never offer auc for an accuracy. The table is documented in docs/sweep-format.md. */
#include <string.h>

#include "sweeps/spec/didyoumean.h"
#include "sweeps/spec/spec_internal.h"

/* Canonical names an alias may stand for that depend on the task. */
#define TASK_DEFAULT "(default)" /* the task's default metric: logloss, mlogloss, rmse */
#define TASK_LOGLOSS "(logloss)" /* logloss (binary), mlogloss (multiclass) */
#define TASK_ERROR "(error)"     /* error (binary), merror (multiclass) */

static const struct {
    const char *alias, *canonical;
} aliases[] = {
    {"acc", "accuracy"},
    {"loss", TASK_DEFAULT},
    {"error", TASK_ERROR},
    {"err", TASK_ERROR},
    {"logloss", TASK_LOGLOSS},
    {"log_loss", TASK_LOGLOSS},
    {"cross_entropy", TASK_LOGLOSS},
    {"crossentropy", TASK_LOGLOSS},
    {"nll", TASK_LOGLOSS},
    {"f1_score", "f1"},
    {"f1score", "f1"},
    {"prec", "precision"},
    {"roc_auc", "auc"},
    {"auroc", "auc"},
    {"mean_squared_error", "mse"},
    {"root_mean_squared_error", "rmse"},
    {"mean_absolute_error", "mae"},
};
#define N_ALIASES ((int)(sizeof aliases / sizeof aliases[0]))

static const char *resolve(const char *canonical, bt_task task, const char *task_default) {
    if (strcmp(canonical, TASK_DEFAULT) == 0) return task_default;
    if (strcmp(canonical, TASK_LOGLOSS) == 0)
        return task == BT_TASK_MULTICLASS ? "mlogloss" : "logloss";
    if (strcmp(canonical, TASK_ERROR) == 0) return task == BT_TASK_MULTICLASS ? "merror" : "error";
    return canonical;
}

const char *bt_spec_metric_alias(const char *norm, bt_task task, const char *task_default) {
    for (int i = 0; i < N_ALIASES; i++)
        if (strcmp(aliases[i].alias, norm) == 0)
            return resolve(aliases[i].canonical, task, task_default);
    return NULL;
}

static int in_list(const char *const *l, const char *s) {
    for (int i = 0; l && l[i]; i++)
        if (strcmp(l[i], s) == 0) return 1;
    return 0;
}

const char *bt_spec_metric_suggest(const char *norm, const char *const *known, bt_task task,
                                   const char *task_default) {
    /* the candidates: the known names, then the aliases of known names; a suggested alias is
     * shown as the name it stands for */
    const char *cands[64 + N_ALIASES];
    const char *shown[64 + N_ALIASES];
    int n = 0;
    for (int i = 0; known && known[i] && n < 64; i++) cands[n] = shown[n] = known[i], n++;
    for (int i = 0; i < N_ALIASES; i++) {
        const char *c = resolve(aliases[i].canonical, task, task_default);
        if (!in_list(known, c)) continue;
        cands[n] = aliases[i].alias;
        shown[n++] = c;
    }
    const char *best = bt_didyoumean_prefix(norm, cands, n);
    for (int i = 0; best && i < n; i++)
        if (cands[i] == best) best = shown[i];
    /* an accuracy spelled wrong is still an accuracy, never an AUC */
    if (best && strcmp(best, "auc") == 0 && strstr(norm, "acc"))
        best = in_list(known, "accuracy") ? "accuracy" : NULL;
    return best;
}
