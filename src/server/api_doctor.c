/*
 * api_doctor.c - GET /v1/doctor: this host as a sender (PTR, HELO, MAIL
 * FROM, port 25, blocklists; selfcheck.h). Keys apply as to /v1/dns.
 */
#include "api.h"

/* On the checks worker: a new report when the kept one is too old. */
static void doctor_task(void *arg)
{
    hreq *r = arg;
    size_t len = 0;
    bc_error st;
    char err[512] = "";
    char *text = sv_selfcheck_report(r->s->doctor, &len, &st, err, sizeof err);
    if (text)
        api_set_answer(r, 200, "application/json", text, len);
    else if (st == BC_ENET)
        sv_req_answer_error(r, 503, "unavailable", "%s", err);
    else
        sv_req_answer_error(r, 500, "internal", "the report could not be made: %s", err);
    sv_req_resume(r);
}

/* The kept report while fresh (SV_DOCTOR_TTL_S), else a new one made on
 * the checks worker. */
enum MHD_Result api_doctor(hreq *r)
{
    sv *s = r->s;
    if (s->o->offline)
        return api_fail(r, 503, "unavailable", "this server runs --offline: the doctor's checks need the network");
    size_t len = 0;
    char *kept = sv_selfcheck_cached(s->doctor, &len);
    if (kept) {
        api_set_answer(r, 200, "application/json", kept, len);
        return api_send(r);
    }
    return api_on_checks(r, doctor_task);
}
