/*
 * api_meta.c - the server's own endpoints, public: GET /healthz, /metrics
 * and /openapi.json.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"

extern const unsigned char bc_data_openapi_json[];
extern const size_t bc_data_openapi_json_len;

/* GET /healthz: alive (200) with the version and, online, what the last
 * resolver check found (rwatch.h). A resolver that failed it makes the
 * status "degraded", still 200: the process works and its verdicts stay
 * safe (unknown/dns_unreliable), but the operator should look; a load
 * balancer must not take every node out because the resolver they share
 * misbehaves. */
enum MHD_Result api_health(hreq *r)
{
    sv *s = r->s;
    json_t *dns = json_null();
    wk_rstate rs;
    wk_rwatch_get(s->rwatch, &rs);
    if (!s->o->offline) {
        char at[32];
        wk_time_str(rs.checked_at, at, sizeof at);
        dns = json_pack("{s:o,s:o,s:o}", "ok", rs.ok == BC_UNKNOWN ? json_null() : json_boolean(rs.ok == BC_YES),
                        "checked_at", rs.checked_at ? json_string(at) : json_null(), "error",
                        rs.ok == BC_NO ? json_string(rs.message) : json_null());
    }
    const char *status = atomic_load(&s->stopping) ? "stopping" : rs.ok == BC_NO ? "degraded" : "ok";
    api_answer_obj(r, 200, json_pack("{s:s,s:s,s:o}", "status", status, "version", bc_version(), "dns", dns));
    return api_send(r);
}

/* GET /metrics: Prometheus text, with the jobs of the catalogue by status. */
enum MHD_Result api_metrics(hreq *r)
{
    sv *s = r->s;
    st_job *jobs = NULL;
    size_t n = 0;
    if (st_job_list(s->store, NULL, &jobs, &n) == 0) {
        int64_t c[5] = { 0 };
        for (size_t i = 0; i < n; i++) {
            if ((int)jobs[i].status >= 0 && (int)jobs[i].status < 5)
                c[jobs[i].status]++;
            st_job_clear(&jobs[i]);
        }
        free(jobs);
        for (int i = 0; i < 5; i++)
            atomic_store(&s->m.jobs[i], c[i]);
    }
    size_t len = 0;
    char *t = sv_metrics_text(s, &len);
    if (!t)
        return api_fail(r, 500, "internal", "out of memory");
    api_set_answer(r, 200, "text/plain; version=0.0.4; charset=utf-8", t, len);
    return api_send(r);
}

/* GET /openapi.json: src/server/openapi.json, compiled in. */
enum MHD_Result api_openapi(hreq *r)
{
    char *t = malloc(bc_data_openapi_json_len + 1);
    if (!t)
        return api_fail(r, 500, "internal", "out of memory");
    memcpy(t, bc_data_openapi_json, bc_data_openapi_json_len + 1);
    api_set_answer(r, 200, "application/json", t, bc_data_openapi_json_len);
    return api_send(r);
}
