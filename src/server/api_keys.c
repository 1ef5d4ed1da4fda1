/*
 * api_keys.c - the caller's key and the keys of the server: GET /v1/me, and
 * for admin keys GET and POST /v1/keys and DELETE /v1/keys/{key} (who may
 * is the route table's auth: api.c). Answered from the store at once.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api.h"

/* A key as the API shows it; `full` adds created_at and revoked_at. */
static json_t *key_json(const st_key *k, bool full)
{
    json_t *o = json_pack("{s:s,s:o,s:b,s:o,s:o}", "id", k->id, "name",
                          k->name[0] ? api_cell_json(k->name, strlen(k->name)) : json_null(), "admin", k->admin,
                          "rate", k->rate > 0 ? json_real(k->rate) : json_null(), "daily",
                          k->daily > 0 ? json_integer((json_int_t)k->daily) : json_null());
    if (o && full) {
        json_object_set_new(o, "created_at", api_time_or_null(k->created_at));
        json_object_set_new(o, "revoked_at", api_time_or_null(k->revoked_at));
    }
    return o;
}

enum MHD_Result api_me(hreq *r)
{
    if (!r->key.id[0]) {
        api_answer_obj(r, 200, json_pack("{s:s,s:n}", "auth", "none", "key"));
        return api_send(r);
    }
    json_t *k = key_json(&r->key, false);
    if (k)
        json_object_set_new(k, "used_today", json_integer((json_int_t)sv_quota_used(r->s, &r->key)));
    api_answer_obj(r, 200, json_pack("{s:s,s:o}", "auth", "key", "key", k));
    return api_send(r);
}

/* An open server lists no keys. */
enum MHD_Result api_keys_list(hreq *r)
{
    json_t *arr = json_array();
    if (r->key.id[0]) {
        st_key *keys = NULL;
        size_t n = 0;
        if (st_key_list(r->s->store, &keys, &n) != 0) {
            json_decref(arr);
            return api_fail(r, 500, "internal", "the key store cannot be read");
        }
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, key_json(&keys[i], true));
        free(keys);
    }
    api_answer_obj(r, 200, json_pack("{s:o}", "keys", arr));
    return api_send(r);
}

enum MHD_Result api_keys_create(hreq *r)
{
    enum MHD_Result bad;
    json_t *o = api_body_json(r, &bad);
    if (!o)
        return bad;
    sv_key_body b;
    char err[512] = "";
    enum MHD_Result ret;
    if (sv_read_key_body(o, sizeof r->key.name, &b, err, sizeof err) != 0) {
        ret = api_fail(r, 400, "bad_request", "%s", err);
    } else {
        char secret[ST_KEY_SECRET_LEN + 1];
        st_key k;
        if (st_key_create_ex(r->s->store, b.name, b.rate, b.daily, b.admin, secret, &k, err, sizeof err) != 0) {
            wk_log("keys: %s", err);
            ret = api_fail(r, 500, "internal", "the key cannot be created");
        } else {
            sv_auth_changed(r->s);
            wk_log("key %s created through the API by %s%s", k.id, r->key.id, k.admin ? " (admin)" : "");
            json_t *res = json_pack("{s:s}", "key", secret), *kj = key_json(&k, false);
            OPENSSL_cleanse(secret, sizeof secret);
            if (res && kj && json_object_update(res, kj) != 0) {
                json_decref(res);
                res = NULL;
            }
            json_decref(kj);
            api_set_header(r, "Location", "/v1/keys/%s", k.id);
            api_answer_obj(r, 201, res);
            ret = api_send(r);
        }
    }
    json_decref(o);
    return ret;
}

enum MHD_Result api_key_revoke(hreq *r)
{
    int rc = st_key_revoke(r->s->store, r->id);
    if (rc < 0)
        return api_fail(r, 500, "internal", "the key store cannot be written");
    if (rc == 0)
        return api_fail(r, 404, "not_found", "no key %s", r->id);
    sv_auth_changed(r->s);
    wk_log("key %s revoked through the API by %s", r->id, r->key.id);
    api_set_answer(r, 204, NULL, NULL, 0);
    return api_send(r);
}
