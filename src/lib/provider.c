/*
 * provider.c - MX host suffix -> provider. Only MX names are used: the
 * provider is whoever runs the mail servers, which is what decides how RCPT
 * answers should be read. Nothing is fetched from the web.
 */
#include <string.h>

#include "provider.h"

static const struct {
    const char *suffix; /* matches the whole host or a subdomain of it */
    const char *provider;
} suffixes[] = {
    { "google.com", "google" },
    { "googlemail.com", "google" },
    { "protection.outlook.com", "microsoft" },
    { "outlook.com", "microsoft" },
    { "hotmail.com", "microsoft" },
    { "yahoodns.net", "yahoo" },
    { "yahoo.com", "yahoo" },
    { "icloud.com", "apple" },
    { "me.com", "apple" },
    { "zoho.com", "zoho" },
    { "zoho.eu", "zoho" },
    { "protonmail.ch", "proton" },
    { "yandex.net", "yandex" },
    { "yandex.ru", "yandex" },
    { "mail.ru", "mailru" },
    { "messagingengine.com", "fastmail" },
    { "gmx.net", "gmx" },
    { "web.de", "webde" },
    { "aol.com", "aol" },
    { "mimecast.com", "mimecast" },
    { "pphosted.com", "proofpoint" },
    { "ppe-hosted.com", "proofpoint" },
    { "barracudanetworks.com", "barracuda" },
    { "iphmx.com", "cisco" },
    { "secureserver.net", "godaddy" },
    { "ovh.net", "ovh" },
    { "ionos.com", "ionos" },
    { "kundenserver.de", "ionos" },
};

const char *bc_provider_for_mx(const char *host)
{
    if (!host)
        return NULL;
    size_t hl = strlen(host);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t sl = strlen(suffixes[i].suffix);
        if (hl < sl || strcmp(host + hl - sl, suffixes[i].suffix) != 0)
            continue;
        if (hl == sl || host[hl - sl - 1] == '.')
            return suffixes[i].provider;
    }
    return NULL;
}
