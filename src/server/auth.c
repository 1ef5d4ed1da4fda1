/*
 * auth.c - API keys as the HTTP threads see them: bearer secrets checked
 * against the store's hashes (remembered in memory, looked up again when
 * the store changes, so `bouncecheck keys revoke` takes effect within
 * AUTH_RECHECK_MS), a token bucket per key for its rate limit and a daily
 * count for its quota.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sv.h"

#define AUTH_RECHECK_MS 200
#define KENT_MAX 4096 /* distinct secrets remembered (valid ones only) */

/* Looks at the store's change counter at most every AUTH_RECHECK_MS. Lock held. */
static int refresh(sv *s)
{
    int64_t now = sv_mono_ms();
    if (s->auth_checked_ms && now - s->auth_checked_ms < AUTH_RECHECK_MS)
        return 0;
    s->auth_checked_ms = now;
    int64_t ver = st_store_version(s->store);
    if (ver == s->store_version && s->store_version != 0)
        return 0;
    int64_t n = st_key_count(s->store);
    if (n < 0)
        return -1;
    s->store_version = ver;
    s->keys_exist = n > 0;
    for (size_t i = 0; i < s->nkent; i++)
        s->kents[i].stale = true;
    return 0;
}

sv_auth sv_auth_check(sv *s, const char *authorization, st_key *key)
{
    pthread_mutex_lock(&s->auth_lock);
    if (refresh(s) != 0) {
        pthread_mutex_unlock(&s->auth_lock);
        return SV_AUTH_ERROR;
    }
    if (!s->keys_exist) {
        pthread_mutex_unlock(&s->auth_lock);
        return SV_AUTH_OPEN;
    }
    pthread_mutex_unlock(&s->auth_lock);

    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return SV_AUTH_MISSING;
    const char *secret = authorization + 7;
    while (*secret == ' ')
        secret++;
    size_t len = strlen(secret);
    while (len && secret[len - 1] == ' ')
        len--;
    if (len == 0 || len > 256)
        return len ? SV_AUTH_UNKNOWN : SV_AUTH_MISSING;
    unsigned char hash[32];
    unsigned int hlen = 0;
    if (!EVP_Digest(secret, len, hash, &hlen, EVP_sha256(), NULL))
        return SV_AUTH_ERROR;

    pthread_mutex_lock(&s->auth_lock);
    sv_kent *e = NULL;
    for (size_t i = 0; i < s->nkent; i++) {
        if (CRYPTO_memcmp(s->kents[i].hash, hash, sizeof hash) == 0) {
            e = &s->kents[i];
            break;
        }
    }
    if (!e || e->stale) {
        st_key k;
        int found = st_key_find(s->store, secret, len, &k);
        if (found < 0) {
            pthread_mutex_unlock(&s->auth_lock);
            return SV_AUTH_ERROR;
        }
        if (found == 0) {
            if (e) /* deleted meanwhile: forget it */
                *e = s->kents[--s->nkent];
            pthread_mutex_unlock(&s->auth_lock);
            return SV_AUTH_UNKNOWN;
        }
        if (!e) {
            if (s->nkent == s->capkent) {
                size_t cap = s->capkent ? s->capkent * 2 : 16;
                sv_kent *nk = cap <= KENT_MAX ? realloc(s->kents, cap * sizeof *nk) : NULL;
                if (!nk) {
                    /* full: answer without remembering */
                    *key = k;
                    pthread_mutex_unlock(&s->auth_lock);
                    return k.revoked_at ? SV_AUTH_REVOKED : SV_AUTH_OK;
                }
                s->kents = nk;
                s->capkent = cap;
            }
            e = &s->kents[s->nkent++];
            memset(e, 0, sizeof *e);
            memcpy(e->hash, hash, sizeof hash);
            e->tokens = k.rate > 0 ? (k.rate < 1 ? 1 : k.rate) : 0;
            e->refill_ms = sv_mono_ms();
            e->day = -1;
        }
        e->k = k;
        e->stale = false;
    }
    /* e is set here: a key not in the table was found and added above, or
     * the function has returned */
    /* cppcheck-suppress nullPointerRedundantCheck */
    *key = e->k;
    /* cppcheck-suppress nullPointerRedundantCheck */
    sv_auth res = e->k.revoked_at ? SV_AUTH_REVOKED : SV_AUTH_OK;
    pthread_mutex_unlock(&s->auth_lock);
    return res;
}

static sv_kent *kent_by_id(sv *s, const char *id)
{
    for (size_t i = 0; i < s->nkent; i++)
        if (strcmp(s->kents[i].k.id, id) == 0)
            return &s->kents[i];
    return NULL;
}

int sv_rate_take(sv *s, const st_key *key)
{
    if (key->rate <= 0)
        return 0;
    pthread_mutex_lock(&s->auth_lock);
    sv_kent *e = kent_by_id(s, key->id);
    int wait = 0;
    if (e) {
        double burst = e->k.rate < 1 ? 1 : e->k.rate;
        int64_t now = sv_mono_ms();
        e->tokens += (double)(now - e->refill_ms) * e->k.rate / 1000.0;
        if (e->tokens > burst)
            e->tokens = burst;
        e->refill_ms = now;
        if (e->tokens >= 1) {
            e->tokens -= 1;
        } else {
            double secs = (1 - e->tokens) / e->k.rate;
            wait = (int)ceil(secs);
            if (wait < 1)
                wait = 1;
        }
    }
    pthread_mutex_unlock(&s->auth_lock);
    return wait;
}

int sv_quota_take(sv *s, const st_key *key, int64_t n)
{
    if (key->daily <= 0)
        return 0;
    int64_t now = wk_now();
    int64_t day = now / 86400;
    char dstr[16];
    wk_time_str(now, dstr, sizeof dstr);
    dstr[10] = '\0'; /* YYYY-MM-DD */
    int wait = 0;
    pthread_mutex_lock(&s->auth_lock);
    sv_kent *e = kent_by_id(s, key->id);
    if (e && e->day != day) {
        int64_t used = st_usage_add(s->store, key->id, dstr, 0);
        e->used = used < 0 ? 0 : used;
        e->day = day;
    }
    int64_t used = e ? e->used : st_usage_add(s->store, key->id, dstr, 0);
    if (used + n > key->daily) {
        wait = (int)((day + 1) * 86400 - now);
        if (wait < 1)
            wait = 1;
    } else {
        int64_t total = st_usage_add(s->store, key->id, dstr, n);
        if (e)
            e->used = total >= 0 ? total : e->used + n;
    }
    pthread_mutex_unlock(&s->auth_lock);
    return wait;
}

/* The server itself changed a key (POST or DELETE /v1/keys): PRAGMA
 * data_version only moves for other connections' commits, so forget the
 * version seen and the next check looks at the store again, exactly as
 * after a `bouncecheck keys` run. */
void sv_auth_changed(sv *s)
{
    pthread_mutex_lock(&s->auth_lock);
    s->auth_checked_ms = 0;
    s->store_version = 0;
    pthread_mutex_unlock(&s->auth_lock);
}

/* Today's verifications of key (from memory when known, else the store). */
int64_t sv_quota_used(sv *s, const st_key *key)
{
    int64_t now = wk_now();
    char dstr[16];
    wk_time_str(now, dstr, sizeof dstr);
    dstr[10] = '\0'; /* YYYY-MM-DD */
    pthread_mutex_lock(&s->auth_lock);
    sv_kent *e = kent_by_id(s, key->id);
    int64_t used = e && e->day == now / 86400 ? e->used : st_usage_add(s->store, key->id, dstr, 0);
    pthread_mutex_unlock(&s->auth_lock);
    return used < 0 ? 0 : used;
}

void sv_auth_free(sv *s)
{
    free(s->kents);
    s->kents = NULL;
    s->nkent = s->capkent = 0;
}
