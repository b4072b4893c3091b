/* `batchtune report --html`: the page's frame (report.css and report.js, embedded at build time)
 * and its data, one JSON object per results file: summary, parameters, trials (columns), curves,
 * rungs, importance, machine metrics (report_data.c computes the last four). Written atomically
 * when it goes to a file, so a browser reloading it during a sweep never sees half a page. */
#include "runtime/store/report_html.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/store/report.h"
#include "runtime/store/report_data.h"
#include "runtime/store/report_extra.h"
#include "runtime/store/wopen.h"
#include "sweeps/spec/spec.h"

static const unsigned char report_js[] = {
#include "runtime/store/report_js.inc"
    0};
static const unsigned char report_css[] = {
#include "runtime/store/report_css.inc"
    0};

static void key(FILE *o, const char *k) {
    bt_report_json_string(o, k, 1);
    fputc(':', o);
}

static void kv_str(FILE *o, const char *k, const char *v) {
    key(o, k);
    if (v)
        bt_report_json_string(o, v, 1);
    else
        fputs("null", o);
    fputc(',', o);
}

/* Parameter metadata from the sweep recorded in the results (NULL spec: the file's kinds only):
 * log axes for log distributions, the listed values of categorical ones in the sweep's order. */
static void emit_params(FILE *o, const bt_results *r, const bt_spec *sp) {
    key(o, "params");
    fputc('[', o);
    for (int j = 0; j < r->n_params; j++) {
        static const char *const kinds[] = {"none", "int", "float", "string", "bool"};
        const bt_result_param *p = &r->params[j];
        int k = p->kind >= 0 && p->kind < 5 ? (int)p->kind : 0;
        fputs(j ? "," : "", o);
        fputc('{', o);
        kv_str(o, "name", p->name);
        kv_str(o, "kind", kinds[k]);
        int si = sp ? bt_spec_param_index(sp, p->name) : -1;
        const bt_param_spec *ps = si >= 0 ? &sp->params[si] : NULL;
        int log =
            ps &&
            (ps->dist == BT_DIST_LOG_UNIFORM || ps->dist == BT_DIST_LOG_UNIFORM_VALUES ||
             ps->dist == BT_DIST_Q_LOG_UNIFORM || ps->dist == BT_DIST_Q_LOG_UNIFORM_VALUES ||
             ps->dist == BT_DIST_INV_LOG_UNIFORM || ps->dist == BT_DIST_INV_LOG_UNIFORM_VALUES ||
             ps->dist == BT_DIST_LOG_NORMAL || ps->dist == BT_DIST_Q_LOG_NORMAL);
        fprintf(o, "\"log\":%s", log ? "true" : "false");
        if (ps && (ps->dist == BT_DIST_CATEGORICAL || ps->dist == BT_DIST_CONSTANT)) {
            fputs(",\"values\":[", o);
            for (int v = 0; v < ps->n_values; v++) {
                if (v) fputc(',', o);
                bt_report_json_value(o, ps->values[v]);
            }
            fputc(']', o);
        }
        fputc('}', o);
    }
    fputs("],", o);
}

static void emit_trials(FILE *o, const bt_results *r) {
    int64_t n = r->n_trials;
    key(o, "trials");
    fputs("{\"id\":[", o);
    for (int64_t t = 0; t < n; t++)
        fprintf(o, t ? ",%lld" : "%lld", (long long)r->trials[t].trial_id);
    fputs("],\"status\":[", o);
    for (int64_t t = 0; t < n; t++)
        fprintf(o, t ? ",\"%s\"" : "\"%s\"", bt_trial_status_name(r->trials[t].status));
    fputs("],\"metric\":[", o);
    for (int64_t t = 0; t < n; t++) {
        if (t) fputc(',', o);
        bt_report_json_num(o, r->trials[t].metric, 8);
    }
    fputs("],\"resource\":[", o);
    for (int64_t t = 0; t < n; t++)
        fprintf(o, t ? ",%lld" : "%lld", (long long)r->trials[t].resource);
    fputs("],\"bracket\":[", o);
    for (int64_t t = 0; t < n; t++) fprintf(o, t ? ",%d" : "%d", (int)r->trials[t].bracket);
    fputs("],\"seconds\":[", o);
    for (int64_t t = 0; t < n; t++) {
        if (t) fputc(',', o);
        bt_report_json_num(o, r->trials[t].seconds, 4);
    }
    fputs("],\"p\":[", o);
    for (int j = 0; j < r->n_params; j++) {
        fputs(j ? ",[" : "[", o);
        for (int64_t t = 0; t < n; t++) {
            if (t) fputc(',', o);
            bt_report_json_value(o, r->trials[t].params[j]);
        }
        fputc(']', o);
    }
    fputs("]},", o);
}

/* POSIX shell quoting of one word, for the export command line shown to copy. */
static void shell_word(char *buf, size_t n, const char *s) {
    size_t k = 0;
    int plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%", *p))
            plain = 0;
    if (plain) {
        snprintf(buf, n, "%s", s);
        return;
    }
    if (k + 1 < n) buf[k++] = '\'';
    for (const char *p = s; *p && k + 5 < n; p++) {
        if (*p == '\'') {
            memcpy(buf + k, "'\\''", 4);
            k += 4;
        } else
            buf[k++] = *p;
    }
    if (k + 1 < n) buf[k++] = '\'';
    buf[k] = '\0';
}

static void emit_best(FILE *o, const bt_results *r, const char *path) {
    int64_t b = -1;
    for (int64_t t = 0; t < r->n_trials && r->best_trial >= 0; t++)
        if (r->trials[t].trial_id == r->best_trial) b = t;
    key(o, "best");
    if (b < 0) {
        fputs("null,", o);
        return;
    }
    const bt_trial_row *tr = &r->trials[b];
    fprintf(o, "{\"trial\":%lld,\"resource\":%lld,\"metric\":", (long long)tr->trial_id,
            (long long)tr->resource);
    bt_report_json_num(o, tr->metric, 17);
    fputs(",\"params\":{", o);
    for (int j = 0; j < r->n_params; j++) {
        if (j) fputc(',', o);
        key(o, r->params[j].name);
        bt_report_json_value(o, tr->params[j]);
    }
    fputs("},", o);
    /* program sweeps have no model to export */
    int exportable = r->model_type && r->model_type[0] && strcmp(r->model_type, "program") != 0;
    char q[1024], cmd[1200];
    shell_word(q, sizeof q, path ? path : "RESULTS.h5");
    snprintf(cmd, sizeof cmd, "batchtune export %s --trial %lld -o model.json", q,
             (long long)tr->trial_id);
    kv_str(o, "export", exportable ? cmd : NULL);
    fputs("\"x\":0},", o);
}

static void emit_summary(FILE *o, const bt_results *r, const bt_spec *sp, const char *path,
                         const bt_report_extra *x) {
    kv_str(o, "path", path);
    kv_str(o, "name", sp && sp->name ? sp->name : NULL);
    kv_str(o, "description", sp && sp->description ? sp->description : NULL);
    kv_str(o, "method", sp ? bt_method_name(sp->method) : NULL);
    kv_str(o, "scheduler", r->scheduler);
    kv_str(o, "resource", sp && sp->sched.resource ? sp->sched.resource : NULL);
    kv_str(o, "metric", bt_report_metric_name(r));
    kv_str(o, "metric_as_written", r->metric_as_written);
    kv_str(o, "goal", r->maximize ? "maximize" : "minimize");
    kv_str(o, "model", r->model_type);
    kv_str(o, "version", r->batchtune_version);
    kv_str(o, "created", r->created);
    kv_str(o, "host", r->host);
    kv_str(o, "device", r->device);
    kv_str(o, "command_line", r->command_line);
    fprintf(o, "\"seed\":\"%llu\",", (unsigned long long)r->seed);
    if (r->run_cap_override > 0) fprintf(o, "\"run_cap\":%lld,", (long long)r->run_cap_override);
    key(o, "attrs");
    fputc('{', o);
    for (int i = 0; i < x->n_attrs; i++) {
        if (i) fputc(',', o);
        key(o, x->attr_name[i]);
        bt_report_json_string(o, x->attr_value[i], 1);
    }
    fputs("},", o);
}

static bt_status emit_sweep(FILE *o, const bt_results *r, const char *path) {
    bt_report_extra x;
    memset(&x, 0, sizeof x);
    /* a file the caller just read: a failure here only loses the optional parts */
    if (path && bt_report_extra_read(path, &x) != BT_STATUS_OK) memset(&x, 0, sizeof x);
    bt_spec spec;
    bt_diags d;
    bt_diags_init(&d);
    int have_spec = r->sweep_text && r->sweep_text[0] &&
                    bt_spec_parse(r->sweep_path && r->sweep_path[0] ? r->sweep_path : "sweep.json",
                                  r->sweep_text, &spec, &d) == BT_STATUS_OK;
    bt_diags_free(&d);
    fputc('{', o);
    emit_summary(o, r, have_spec ? &spec : NULL, path, &x);
    emit_params(o, r, have_spec ? &spec : NULL);
    emit_trials(o, r);
    emit_best(o, r, path);
    bt_status s = bt_report_emit_analysis(o, r, &x);
    fputs("\"end\":0}", o);
    if (have_spec) bt_spec_free(&spec);
    bt_report_extra_free(&x);
    return s;
}

bt_status bt_report_html_write(const bt_results *const *rs, const char *const *paths, int n,
                               FILE *out, int refresh_s) {
    if (!rs || n < 1 || !out) return BT_FAIL(BT_STATUS_INTERNAL, "report: no results");
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n", out);
    if (refresh_s > 0) fprintf(out, "<meta http-equiv=\"refresh\" content=\"%d\">\n", refresh_s);
    /* Errors land in #bt-errors, visible on the page and to a test reading the DOM. */
    fputs("<title>batchtune report</title>\n<script>window.btErrors=[];"
          "function btError(m){window.btErrors.push(String(m));var e=document.getElementById("
          "'bt-errors');if(e){e.textContent=window.btErrors.join('\\n');e.style.display='block';}}"
          "window.onerror=function(m,s,l){btError(m+' (line '+l+')');};"
          "window.addEventListener('unhandledrejection',function(e){btError(e.reason);});"
          "(function(){var c=console.error;console.error=function(){btError(Array.prototype.join."
          "call(arguments,' '));c.apply(console,arguments);};})();</script>\n<style>\n",
          out);
    fputs((const char *)report_css, out);
    fputs("</style></head>\n<body>\n<pre id=\"bt-errors\" class=\"errors\"></pre>\n"
          "<div id=\"app\">Loading the report (it needs JavaScript).</div>\n"
          "<script id=\"bt-data\" type=\"application/json\">{",
          out);
    char now[32];
    time_t t = time(NULL);
    struct tm tmv;
    gmtime_r(&t, &tmv);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    kv_str(out, "generated", now);
    fprintf(out, "\"refresh\":%d,\"sweeps\":[", refresh_s > 0 ? refresh_s : 0);
    bt_status s = BT_STATUS_OK;
    for (int i = 0; i < n && s == BT_STATUS_OK; i++) {
        if (i) fputs(",\n", out);
        s = emit_sweep(out, rs[i], paths ? paths[i] : NULL);
    }
    fputs("]}</script>\n<script>\n", out);
    fputs((const char *)report_js, out);
    fputs("</script>\n</body></html>\n", out);
    if (s == BT_STATUS_OK && (fflush(out) != 0 || ferror(out)))
        s = BT_FAIL(BT_STATUS_IO, "report: cannot write the page");
    return s;
}

bt_status bt_report_html_live(const bt_results *r, const char *results_path, const char *html_path,
                              double every_s) {
    double s = every_s > 0 ? ceil(every_s) : 30;
    int refresh = s < 5 ? 5 : s > 300 ? 300 : (int)s;
    return bt_report_html_file(&r, &results_path, 1, html_path, refresh);
}

bt_status bt_report_html_file(const bt_results *const *rs, const char *const *paths, int n,
                              const char *out_path, int refresh_s) {
    size_t len = strlen(out_path) + 32;
    char *tmp = malloc(len);
    BT_CHECK_ALLOC(tmp);
    snprintf(tmp, len, "%s.tmp.%ld", out_path, (long)getpid());
    struct stat st;
    if (lstat(tmp, &st) == 0 && S_ISREG(st.st_mode)) unlink(tmp); /* our own leftover */
    FILE *f = bt_wfopen(tmp, "x");
    if (!f) {
        bt_status e = BT_FAIL(BT_STATUS_IO, "%s: %s", tmp, bt_wopen_error(errno));
        free(tmp);
        return e;
    }
    bt_status s = bt_report_html_write(rs, paths, n, f, refresh_s);
    if (s == BT_STATUS_OK && fsync(fileno(f)) != 0)
        s = BT_FAIL(BT_STATUS_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (fclose(f) != 0 && s == BT_STATUS_OK)
        s = BT_FAIL(BT_STATUS_IO, "%s: write failed: %s", tmp, strerror(errno));
    /* rename replaces whatever is at out_path (a link itself, never its target) */
    if (s == BT_STATUS_OK && rename(tmp, out_path) != 0)
        s = BT_FAIL(BT_STATUS_IO, "%s: cannot rename %s over it: %s", out_path, tmp,
                    strerror(errno));
    if (s != BT_STATUS_OK) unlink(tmp);
    free(tmp);
    return s;
}
