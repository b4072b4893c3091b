/* bt_provenance: where a results file's numbers came from, recorded as root attributes -- the git
 * commit of the repository holding the sweep file (and whether its work tree was dirty), the
 * loaded data's digests, the user's note and tags, the CPU model, the GPUs and their driver and
 * CUDA versions. bt_record: a session's provenance and its /system sampler (sysmon.h), with what
 * an earlier session recorded carried over at a resume; both executors (runtime/exec/ and
 * runtime/program/) copy it into every checkpoint's bt_results.
 * Ownership: a bt_provenance owns its note and tags (bt_provenance_free); the rest is inline. A
 * bt_record owns its sampler and carried rows (bt_record_free). */
#ifndef BT_PROVENANCE_H
#define BT_PROVENANCE_H

#include "base/status.h"
#include "runtime/devices/sysmon.h"
#include "runtime/store/results.h"

typedef struct bt_provenance {
    char git_commit[64]; /* "" : no git, or the sweep file is in no repository */
    int git_dirty;
    char train_sha256[65], valid_sha256[65]; /* "" : no data loaded (program sweeps) */
    char *note, *tags;                       /* NULL: none given */
    char cpu_model[256];
    char gpu_names[512], driver_version[64], cuda_version[64]; /* "" : no GPU used */
} bt_provenance;

/* git -C DIR rev-parse HEAD and git -C DIR status --porcelain for the folder holding sweep_path,
 * run without a shell, each given a few seconds; git absent, no repository or a timeout leave
 * git_commit empty. */
void bt_provenance_git(bt_provenance *p, const char *sweep_path);
/* Copies p's known fields into r's provenance (r's earlier values are replaced). */
bt_status bt_provenance_to_results(const bt_provenance *p, bt_results *r);
void bt_provenance_free(bt_provenance *p);

typedef struct bt_record {
    bt_provenance prov;
    bt_sysmon *mon; /* NULL: /system off */
    /* /system rows an earlier session recorded (a resume): n_prev rows of n_prev_cols */
    char **prev_cols;
    int n_prev_cols;
    double *prev;
    int64_t n_prev;
} bt_record;

typedef struct bt_record_opts {
    const char *out_path;    /* the results file (a resume reads the earlier session's) */
    const char *sweep_path;  /* for git */
    int resumed;             /* continuing an earlier journal */
    const char *note, *tags; /* NULL: none given (a resume keeps the earlier session's) */
    double system_every;     /* seconds between /system rows; 0: none */
    double t0;               /* CLOCK_MONOTONIC seconds at journal time 0 */
    double time_offset;      /* journal time this session starts at (earlier rows end there) */
    const int *gpus;         /* CUDA indices of the GPUs in use (gpu_names is the caller's) */
    int n_gpus;
} bt_record_opts;

/* Collects git, CPU and the first GPU's driver and CUDA versions, --note and --tag (at a resume,
 * the earlier session's note, tags and /system rows up to time_offset when not given again) and
 * starts the sampler. The caller may then fill the data digests and gpu_names in m->prov. */
bt_status bt_record_start(bt_record *m, const bt_record_opts *o);
/* The provenance and /system so far (earlier rows first, in this session's columns) into r. */
bt_status bt_record_fill(bt_record *m, bt_results *r);
void bt_record_free(bt_record *m);

#endif
